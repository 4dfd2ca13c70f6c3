"""What every explorer notebook shares: offline charts, the client picker, one update model.

The explorer notebooks (``notebooks/explore/``) only call these; everything here is tested
without a browser (``tests/display/test_notebook.py``), and in JupyterLab by
``tests/test_explorers_lab.py``.

* :func:`setup_notebook` -- call first: altair charts render with no network (altair's
  ``JupyterChart`` widget with the vega bundle ``vl-convert`` ships, inlined; no CDN).
* :func:`clients_folder`, :func:`list_clients` -- the clients folder: a notebook parameter,
  else the ``CXLAB_CLIENTS`` environment variable, else the sample clients; every sub-folder
  with a ``client.toml`` is a client.
* :func:`default_funnel_steps`, :func:`parse_steps` -- funnel steps that exist in the chosen
  client (from its journey map and its events); unknown steps are named, never dropped silently.
* :func:`display_label` -- the one place a column or code becomes a reader's label
  (``"checkout_error"`` -> ``"Checkout error"``).
* :func:`labelled_table` -- a small frame as the report's table (escaped, formatted numbers,
  display labels), for notebooks.
* :class:`Explorer` -- the one update model: cheap controls redraw at once, text boxes on
  Enter (or leaving the box), an explicit button only for a recompute that costs seconds; bad
  input shows one line saying what is expected, and the page says which client it shows.
"""

from __future__ import annotations

import html
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import polars as pl

from cxlab.display.labels import (
    display_label,  # the one label function (re-exported)
    label_values,
)
from cxlab.display.tables import table_html
from cxlab.errors import CxlabError, DataError, ParameterError, did_you_mean

__all__ = [
    "CLIENTS_ENV",
    "Explorer",
    "client_picker",
    "clients_folder",
    "control_grid",
    "default_funnel_steps",
    "display_label",
    "follows_note",
    "labelled_table",
    "labelled_table_html",
    "note_html",
    "list_clients",
    "parse_steps",
    "setup_notebook",
    "text_box",
    "unknown_steps_note",
]

#: Environment variable naming the folder of client folders the explorers list.
CLIENTS_ENV = "CXLAB_CLIENTS"


# ---------------------------------------------------------------------------- offline charts
def setup_notebook(max_rows: int = 5000) -> None:
    """Make altair charts render offline in JupyterLab, VS Code and Jupyter Notebook 7.

    Charts become altair ``JupyterChart`` widgets whose JavaScript (vega, vega-lite and
    vega-embed, from ``vl-convert``) is inlined, so nothing is loaded from the internet
    (altair's default for Vega-Lite 6 loads it from a CDN). The report's HTML export does not
    need this (it embeds its own bundle, see :func:`cxlab.report.display.setup`).

    Parameters
    ----------
    max_rows : int
        altair's guard against event-level data in a chart (charts take aggregates).

    Examples
    --------
    >>> import altair as alt
    >>> setup_notebook()
    >>> alt.renderers.active, alt.JupyterChart._is_offline
    ('jupyter', True)
    >>> "cdn.jsdelivr" in alt.JupyterChart._esm or "esm.sh" in alt.JupyterChart._esm
    False
    """
    import altair as alt

    from cxlab.display import theme

    theme.enable()
    alt.JupyterChart.enable_offline(True)
    alt.renderers.enable("jupyter", offline=True)
    alt.data_transformers.enable("default", max_rows=max_rows)


# ---------------------------------------------------------------------------- clients
def clients_folder(folder: str | os.PathLike[str] | None = None) -> Path:
    """The folder of client folders: ``folder``, else ``$CXLAB_CLIENTS``, else the samples.

    Examples
    --------
    >>> from cxlab.config import SAMPLE_DIR
    >>> clients_folder(None) == SAMPLE_DIR or CLIENTS_ENV in os.environ
    True
    """
    chosen = folder if folder not in (None, "") else os.environ.get(CLIENTS_ENV) or None
    if chosen is None:
        from cxlab.config import SAMPLE_DIR

        return SAMPLE_DIR
    path = Path(chosen).expanduser()
    if not path.is_dir():
        source = (
            f"the {CLIENTS_ENV} environment variable"
            if folder in (None, "")
            else "the clients folder parameter"
        )
        raise DataError(
            f"The clients folder {str(path)!r} (from {source}) does not exist or is not a folder. "
            f"Point it at a folder holding one sub-folder per client, each with a client.toml "
            f"(e.g. export {CLIENTS_ENV}=~/clients), or unset it to use the sample clients."
        )
    return path


def list_clients(folder: str | os.PathLike[str] | None = None) -> list[str]:
    """Names of the client folders (sub-folders with a ``client.toml``), sorted.

    Examples
    --------
    >>> from cxlab.config import SAMPLE_DIR
    >>> list_clients(SAMPLE_DIR)  # doctest: +SKIP
    ['bank', 'bookshop', 'telecom']
    """
    root = clients_folder(folder)
    names = sorted(p.parent.name for p in root.glob("*/client.toml") if p.is_file())
    if not names:
        raise DataError(
            f"No client folder in {str(root)!r}: a client is a sub-folder with a client.toml. "
            "Add a client folder there (see the README, client.toml), or unset the folder to use the sample clients (`make sample` makes them)."
        )
    return names


def client_picker(clients: Sequence[str], value: str | None = None) -> Any:
    """The client dropdown: every client folder, ``value`` (or the first) selected.

    Examples
    --------
    >>> client_picker(["bank", "bookshop"]).value
    'bank'
    """
    import ipywidgets as widgets

    if value is not None and value not in clients:
        raise ParameterError(
            f"The 'client_name' parameter must be one of {list(clients)}. Got {value!r} instead."
            f"{did_you_mean(str(value), list(clients))}"
        )
    return widgets.Dropdown(options=list(clients), value=value or clients[0], description="Client")


# ---------------------------------------------------------------------------- funnel steps
def default_funnel_steps(
    events: pl.DataFrame | pl.LazyFrame,
    journey_map: Mapping[str, str],
    purchase_touchpoints: Sequence[str],
    max_steps: int = 4,
) -> list[str]:
    """Funnel steps that exist in this client: its most-reached consideration touchpoints, then its purchase.

    Up to ``max_steps - 1`` touchpoints that the journey map puts in the consideration stage
    (awareness when it has none), most customers first (ties by name), then the purchase
    touchpoint reached by most customers. Only touchpoints present in ``events`` are used.

    Examples
    --------
    >>> ev = pl.DataFrame({"customer_id": ["a", "a", "a", "b", "b", "c"],
    ...     "touchpoint": ["site_visit", "basket", "order", "site_visit", "basket", "site_visit"]})
    >>> default_funnel_steps(ev, {"site_visit": "consideration", "basket": "consideration",
    ...                           "order": "purchase", "ad": "awareness"}, ["order"])
    ['site_visit', 'basket', 'order']
    """
    lf = events.lazy() if isinstance(events, pl.DataFrame) else events
    reach = (
        lf.group_by(pl.col("touchpoint").cast(pl.String))
        .agg(pl.col("customer_id").n_unique().alias("customers"))
        .filter(pl.col("touchpoint").is_not_null())
        .with_columns(
            pl.col("touchpoint")
            .replace_strict(dict(journey_map), default=None, return_dtype=pl.String)
            .alias("stage")
        )
        .sort(["customers", "touchpoint"], descending=[True, False])
        .collect()
    )
    purchases = reach.filter(pl.col("touchpoint").is_in(list(purchase_touchpoints)))
    before = reach.filter(pl.col("stage") == "consideration")
    if before.height == 0:
        before = reach.filter(pl.col("stage") == "awareness")
    steps = before.get_column("touchpoint").head(max(max_steps - 1, 1)).to_list()
    steps += purchases.get_column("touchpoint").head(1).to_list()
    return steps


def parse_steps(text: str, known: Iterable[str]) -> tuple[list[str], list[str]]:
    """Steps typed as ``"a, b, c"``: (the known ones in order, the unknown ones).

    Examples
    --------
    >>> parse_steps("site_visit, chekout , purchase,", ["site_visit", "checkout", "purchase"])
    (['site_visit', 'purchase'], ['chekout'])
    """
    names = set(known)
    typed = [s.strip() for s in str(text).split(",") if s.strip()]
    return [s for s in typed if s in names], [s for s in typed if s not in names]


def unknown_steps_note(unknown: Sequence[str], known: Sequence[str], client: str) -> str:
    """One sentence naming the typed steps that are not touchpoints of ``client`` ('' when none).

    Examples
    --------
    >>> unknown_steps_note(["chekout"], ["checkout", "purchase"], "bookshop")
    "Left out of the funnel: 'chekout' is not a touchpoint of bookshop (did you mean 'checkout'?)."
    """
    if not unknown:
        return ""
    parts = []
    for s in unknown:
        hint = did_you_mean(s, list(known)).strip()
        hint = hint.removeprefix("Did you mean ").removesuffix("?")
        parts.append(f"{s!r}" + (f" (did you mean {hint}?)" if hint else ""))
    verb = "is not a touchpoint" if len(unknown) == 1 else "are not touchpoints"
    listed = ", ".join(parts)
    if len(unknown) == 1 and "(" in listed:
        name, hint = listed.split(" (", 1)
        return f"Left out of the funnel: {name} {verb} of {client} ({hint}."
    return f"Left out of the funnel: {listed} {verb} of {client}."


# ---------------------------------------------------------------------------- tables
_TABLE_STYLE = (
    "<style>.cx-explore table.cx-table{border-collapse:collapse;margin:.4rem 0;font-size:.85rem}"
    ".cx-explore .cx-table th,.cx-explore .cx-table td{border-bottom:1px solid #ddd;padding:.25rem .6rem;"
    "text-align:left;vertical-align:top}.cx-explore .cx-table th{background:#f3f5f8}"
    ".cx-explore .cx-table td.cx-num{text-align:right;font-variant-numeric:tabular-nums}"
    ".cx-explore .cx-table caption{caption-side:top;text-align:left;color:#555;padding-bottom:.2rem}"
    ".cx-explore .cx-note{color:#555;font-size:.85rem}</style>"
)


#: Columns whose values are codes or values from the client's data, shown with their display
#: labels in explorer tables as in charts ("mass market" -> "Mass market", as the legend).
VALUE_COLUMNS = ("stage", "touchpoint", "channel", "segment", "plan", "step_name", "metric")


def labelled_table_html(
    df: pl.DataFrame,
    *,
    caption: str | None = None,
    percent: Sequence[str] = (),
    labels: Mapping[str, str] | None = None,
    max_rows: int = 50,
    decimals: int = 2,
    escaped: Sequence[str] = (),
    values: Sequence[str] = VALUE_COLUMNS,
) -> str:
    """HTML of :func:`labelled_table` (the report's :func:`~cxlab.display.tables.table_html`).

    The values of the ``values`` columns (default :data:`VALUE_COLUMNS`) are shown with their
    display labels, as in the charts (:func:`~cxlab.display.labels.label_values`).

    Examples
    --------
    >>> t = labelled_table_html(pl.DataFrame({"touchpoint": ["<b>x</b>"], "nps": [12.5]}))
    >>> "<th>Touchpoint</th><th>NPS</th>" in t and "&lt;b&gt;" in t and "12.5" in t
    True
    >>> "<td>Mass market</td>" in labelled_table_html(pl.DataFrame({"segment": ["mass market"]}))
    True
    """
    df = label_values(df, [c for c in values if c not in escaped], labels)
    shown = df.rename({c: display_label(c, labels) for c in df.columns})
    lab = {c: display_label(c, labels) for c in df.columns}
    body = table_html(
        shown,
        caption=caption,
        max_rows=max_rows,
        decimals=decimals,
        percent=[lab[c] for c in percent if c in lab],
        escaped=[lab[c] for c in escaped if c in lab],
    )
    return f'{_TABLE_STYLE}<div class="cx-explore">{body}</div>'


def labelled_table(df: pl.DataFrame, **kwargs: Any) -> Any:
    """A small frame as a labelled, formatted, escaped table for a notebook (an ``IPython`` HTML).

    Keyword arguments as :func:`labelled_table_html` (``caption``, ``percent`` …).
    """
    from IPython.display import HTML

    return HTML(labelled_table_html(df, **kwargs))


def note_html(text: str, kind: str = "note") -> str:
    """One escaped line: ``kind`` "note" (grey), "error" (red) or "shows" (what the page shows).

    Examples
    --------
    >>> note_html("window: expected '14d'; got <x>", "error")
    '<div class="cx-line cx-error" style="color:#a12;">window: expected &#x27;14d&#x27;; got &lt;x&gt;</div>'
    """
    style = {"note": "color:#555;", "error": "color:#a12;", "shows": "color:#333;font-weight:600;"}[
        kind
    ]
    return f'<div class="cx-line cx-{kind}" style="{style}">{html.escape(str(text))}</div>'


def error_line(err: BaseException) -> str:
    """The first line of an error message, for the one-line display.

    Examples
    --------
    >>> error_line(ParameterError("The 'window' parameter must be a string like '7d'.\\nmore"))
    "The 'window' parameter must be a string like '7d'."
    """
    text = str(err).strip() or type(err).__name__
    return text.splitlines()[0]


def text_box(value: str, description: str, *, width: str = "40%", placeholder: str = "") -> Any:
    """A text box whose value changes on Enter or when it loses focus, not on every keystroke.

    Examples
    --------
    >>> text_box("14d", "window").continuous_update
    False
    """
    import ipywidgets as widgets

    return widgets.Text(
        value=value,
        description=description,
        placeholder=placeholder,
        continuous_update=False,
        layout=widgets.Layout(width=width),
        style={"description_width": "initial"},
    )


# ---------------------------------------------------------------------------- the update model
Render = Callable[[dict[str, Any]], Iterable[Any]]


class Explorer:
    """Controls, one status line and one output area, redrawn by a single ``render`` function.

    ``render(values)`` gets ``{name: control.value}`` and yields what to show (charts, tables,
    ``str`` for a grey note line). Every control redraws as soon as its value changes (text
    boxes made by :func:`text_box` change on Enter). Controls named in ``costly`` only mark the
    page as out of date; the ``button`` redraws. A :class:`~cxlab.errors.CxlabError` (or
    ``ValueError``) from ``render`` shows one red line, and the previous output stays with a
    note saying it is the previous selection.

    Parameters
    ----------
    controls : mapping of str to widget
        The widgets, by the name ``render`` reads.
    render : callable
        ``values -> iterable`` of things to display.
    caption : callable, optional
        ``values -> str``: the line above the output saying what it shows.
    costly : sequence of str
        Controls whose change waits for the button.
    button : str, optional
        Text of the explicit redraw button (only when ``costly`` is not empty).
    layout : sequence of sequence of str, optional
        Rows of control names (default: all on one row).
    grid : bool
        Lay the rows out as one grid (see :func:`control_grid`): columns aligned, labels of
        one width, each control filling its cell. For explorers with many short controls.

    Examples
    --------
    >>> import ipywidgets as widgets
    >>> k = widgets.IntSlider(value=2)
    >>> ex = Explorer({"k": k}, lambda v: [f"k is {v['k']}"])
    >>> ex.refresh(); ex.shown
    ['k is 2']
    >>> k.value = 3; ex.shown, ex.reactions
    (['k is 3'], 2)
    """

    def __init__(
        self,
        controls: Mapping[str, Any],
        render: Render,
        *,
        caption: Callable[[dict[str, Any]], str] | None = None,
        costly: Sequence[str] = (),
        button: str | None = None,
        layout: Sequence[Sequence[str]] | None = None,
        grid: bool = False,
    ) -> None:
        import ipywidgets as widgets

        unknown = [c for c in costly if c not in controls]
        if unknown:
            raise ParameterError(
                f"Explorer: 'costly' names {unknown}, which are not controls ({list(controls)})."
            )
        self.controls = dict(controls)
        self._render = render
        self._caption = caption
        self.costly = tuple(costly)
        self.status = widgets.HTML(value="")
        # one widget per shown item, kept from one reaction to the next: a change updates
        # only the charts and lines that changed (see _widget)
        self.out = widgets.VBox([])
        self.button = (
            widgets.Button(description=button or "Redraw", button_style="primary")
            if costly
            else None
        )
        self.shown: list[Any] = []
        self.reactions = 0
        self.last_seconds = 0.0
        self._held = 0
        self._stale = False
        self._pool: list[Any] = []  # chart widgets, reused in order
        self._used: list[Any] = []
        self._boxes: list[Any] = []  # one-output widgets for what is not a chart, in order
        self._boxed = 0
        self._specs: dict[int, tuple[Any, dict[str, Any]]] = {}  # id(chart) -> (chart, spec)
        self._started: float | None = None  # when the change being answered came in
        self._hooks: dict[str, list[Callable[[Any], None]]] = {}
        self._preload: tuple[Callable[[str], Any], list[str]] | None = None
        self.preloading: Any = None  # the background loading thread, see preload()
        for name, control in self.controls.items():
            control.observe(self._handler(name), names="value")
        if self.button is not None:
            self.button.on_click(lambda _: self.refresh())
        # classes the browser test (and a reader's CSS) find things by
        for name, control in self.controls.items():
            control.add_class("cx-control")
            if name in self.costly:
                control.add_class("cx-costly")
            if name == "client":
                control.add_class("cx-client")
        self.status.add_class("cx-explorer-status")
        self.out.add_class("cx-explorer-out")
        if self.button is not None:
            self.button.add_class("cx-redraw")
        rows = layout or [list(self.controls)]
        if grid:
            boxes = [control_grid(self.controls, rows)]
        else:
            boxes = [widgets.HBox([self.controls[n] for n in row]) for row in rows]
        if self.button is not None:
            boxes.append(widgets.HBox([self.button]))
        self.widget = widgets.VBox([*boxes, self.status, self.out])
        self.widget.add_class("cx-explorer")

    # -- state
    def values(self) -> dict[str, Any]:
        """The controls' current values by name."""
        return {name: c.value for name, c in self.controls.items()}

    @contextmanager
    def hold(self):
        """Change several controls (e.g. new options for a new client) with one redraw after."""
        self._held += 1
        try:
            yield self
        finally:
            self._held -= 1

    def on(self, name: str, fn: Callable[[Any], None]) -> None:
        """Call ``fn(new_value)`` when control ``name`` changes, before the one redraw.

        For controls that set others (a new client: new segments, weeks, default steps);
        what ``fn`` changes does not redraw by itself.
        """
        if name not in self.controls:
            raise ParameterError(f"Explorer.on: {name!r} is not a control ({list(self.controls)}).")
        self._hooks.setdefault(name, []).append(fn)

    def _handler(self, name: str) -> Callable[[Any], None]:
        def handler(change: Any) -> None:
            if self._held:
                return
            self._started = time.perf_counter()
            try:
                with self.hold():
                    for fn in self._hooks.get(name, []):
                        fn(change["new"])
            except (CxlabError, ValueError) as err:
                self.status.value = note_html(error_line(err), "error")
                return
            if name in self.costly:
                self._on_costly()
            else:
                self.refresh()

        return handler

    def _on_costly(self, _change: Any = None) -> None:
        if self._held:
            return
        self._stale = True
        label = self.button.description if self.button is not None else "Redraw"
        self.status.value = note_html(
            f"Settings changed: press “{label}” to recompute (it takes a few seconds).", "note"
        )

    # -- drawing
    def _widget(self, item: Any) -> Any:
        """The widget showing ``item``: the k-th chart widget, or the k-th one-output widget.

        Both are kept from one reaction to the next, so the browser redraws only what changed:
        a chart gets its new spec (an unchanged spec sends nothing and redraws nothing), a line
        or a table its new output. Replacing the whole output area instead made the browser
        tear down and embed every chart again on each change, twice for a changed one.
        """
        import ipywidgets as widgets

        if isinstance(item, widgets.Widget):
            return item
        import altair as alt

        if isinstance(item, alt.TopLevelMixin) and alt.renderers.active == "jupyter":
            # the k-th chart reuses the k-th chart widget: only the new spec goes to the
            # browser (a new widget would send the ~1 MB vega bundle again)
            k = len(self._used)
            if k < len(self._pool):
                # the spec only: setting .chart would validate it against the Vega-Lite
                # schema again (0.1-0.9 s a chart; cxlab's charts are tested). An unchanged
                # spec is equal to the widget's: nothing is sent, nothing redraws.
                self._pool[k].spec = self._spec(item)
            else:
                self._pool.append(alt.JupyterChart(item))
            self._used.append(self._pool[k])
            return self._pool[k]
        k, self._boxed = self._boxed, self._boxed + 1
        if k == len(self._boxes):
            self._boxes.append(widgets.Output())
        output = _display_data(item)
        if self._boxes[k].outputs != (output,):  # an unchanged line is not sent again
            self._boxes[k].outputs = (output,)
        return self._boxes[k]

    def _spec(self, chart: Any) -> dict[str, Any]:
        """The chart's Vega-Lite spec; remembered for a chart object shown again.

        A notebook that caches its charts (``functools.lru_cache`` on what each chart depends
        on) hands the same object back when a change does not concern it: its spec is not
        built again (``to_dict`` costs 10-150 ms a chart).
        """
        hit = self._specs.get(id(chart))
        if hit is not None and hit[0] is chart:
            return hit[1]
        spec = chart.to_dict(validate=False)
        self._specs[id(chart)] = (chart, spec)  # the chart is kept: its id stays its own
        while len(self._specs) > 64:
            self._specs.pop(next(iter(self._specs)))
        return spec

    def refresh(self) -> None:
        """Recompute and redraw with the current values (what every change and the button call)."""
        values = self.values()
        started, self._started = self._started or time.perf_counter(), None
        self._used, self._boxed = [], 0
        try:
            with _no_chart_validation():
                shown = list(self._render(values))
                caption = self._caption(values) if self._caption else ""
                children = tuple(self._widget(item) for item in shown)
        except (CxlabError, ValueError) as err:
            self.status.value = note_html(error_line(err), "error") + note_html(
                "The output below still shows the previous selection.", "note"
            )
            self.reactions += 1
            self.last_seconds = time.perf_counter() - started
            return
        self.shown = shown
        self._stale = False
        if self.out.children != children:  # the same widgets: nothing to send
            self.out.children = children
        self.reactions += 1
        self.last_seconds = time.perf_counter() - started
        self.status.value = (note_html(caption, "shows") if caption else "") + (
            f'<span class="cx-seconds" style="display:none">{self.last_seconds:.3f}</span>'
        )

    def preload(
        self,
        load: Callable[[str], Any],
        clients: Sequence[str],
        *,
        folder: str | os.PathLike[str] | None = None,
        limit: int = 4,
        max_mb: float = 50,
    ) -> None:
        """Load the first ``limit`` clients in the background once the first draw is shown.

        ``load`` is the notebook's per-client cache (``prepared(name)``, an ``lru_cache``):
        switching to a client it already holds costs its charts only, not its loading (0.5-3 s
        a sample client). With ``folder`` (the clients folder), a client whose files hold more
        than ``max_mb`` megabytes is left to load when chosen (memory). The loading runs in a
        daemon thread (polars works outside Python's lock), so the page stays responsive; an
        error is left for the switch to that client to show as its one line.
        ``self.preloading`` is the thread (``None`` before :meth:`show`).
        """
        names = list(clients)
        if folder is not None:
            root = Path(folder)
            names = [n for n in names if _folder_mb(root / n) <= max_mb]
        self._preload = (load, names[: max(limit, 0)])

    def _start_preload(self) -> None:
        import threading

        load, names = self._preload or (None, [])
        if load is None or not names:
            return

        def run() -> None:
            for name in names:
                try:
                    load(name)
                except Exception:  # noqa: BLE001 -- the switch to this client shows it
                    continue

        self.preloading = threading.Thread(target=run, name="cxlab-preload", daemon=True)
        self.preloading.start()

    def show(self) -> Any:
        """Draw once and return the widget to display (the cell's last expression)."""
        self.refresh()
        self._start_preload()
        return self.widget


def _display_data(item: Any) -> dict[str, Any]:
    """One ``display_data`` output for what is not a chart widget (a line, a table, an object).

    Examples
    --------
    >>> _display_data("<b>note</b>")["data"]["text/plain"]
    '<b>note</b>'
    >>> _display_data(pl.DataFrame({"a": [1]}))["data"]["text/plain"]
    '<table: 1 rows>'
    """
    if isinstance(item, str):
        data: dict[str, Any] = {"text/html": note_html(item), "text/plain": item}
    elif isinstance(item, pl.DataFrame):
        data = {
            "text/html": labelled_table_html(item),
            "text/plain": f"<table: {item.height} rows>",
        }
    elif hasattr(item, "_repr_mimebundle_"):
        bundle = item._repr_mimebundle_()
        data = bundle[0] if isinstance(bundle, tuple) else bundle
    elif hasattr(item, "_repr_html_"):
        data = {"text/html": item._repr_html_(), "text/plain": repr(item)}
    else:
        from IPython.core.formatters import format_display_data

        data = format_display_data(item)[0]
    return {"output_type": "display_data", "data": data, "metadata": {}}


def control_grid(
    controls: Mapping[str, Any], rows: Sequence[Sequence[str]], *, label_width: str = "6em"
) -> Any:
    """Controls in one grid, a column per position in ``rows``: tidy at 1100 px and narrower.

    Each control fills its cell and its label takes ``label_width`` (labels line up down a
    column); the buttons of a toggle share about 216 px beside their label (at 1100 px a
    notebook's output is ~970 px wide: cells of ~310 px, labels of ~80 px).
    A short row leaves its last
    cells empty. ipywidgets' default rows of fixed-width controls wrap unevenly instead (a
    toggle's label above its buttons, columns that do not line up).

    Examples
    --------
    >>> import ipywidgets as widgets
    >>> g = control_grid({"a": widgets.Dropdown(options=["x"]), "b": widgets.ToggleButtons(
    ...     options=["p", "q"])}, [["a", "b"], ["a"]])
    >>> g.layout.grid_template_columns, len(g.children)
    ('repeat(2, minmax(0, 1fr))', 4)
    """
    import ipywidgets as widgets

    columns = max(len(row) for row in rows)
    cells = []
    for row in rows:
        for name in row:
            control = controls[name]
            control.layout.width = "auto"
            control.style.description_width = label_width
            if isinstance(control, widgets.ToggleButtons):  # its buttons share ~216 px
                control.style.button_width = _button_width(control)
                if control.description:  # a toggle puts its own label above its buttons
                    label = widgets.HTML(
                        f'<div style="text-align:right;padding-right:8px">'
                        f"{html.escape(control.description)}</div>",
                        layout=widgets.Layout(width=label_width, flex="0 0 auto"),
                    )
                    control.description = ""
                    control = widgets.HBox([label, control])
            cells.append(control)
        cells += [widgets.Box() for _ in range(columns - len(row))]
    return widgets.GridBox(
        cells,
        layout=widgets.Layout(
            grid_template_columns=f"repeat({columns}, minmax(0, 1fr))",
            grid_gap="4px 16px",
            width="100%",
            max_width="1100px",
        ),
    )


def _button_width(toggle: Any) -> str:
    """A toggle's button width: its share of ~216 px, or more when a label needs it (about
    7 px a character plus padding at JupyterLab's 13 px font), so that no label is cut."""
    labels = [str(label) for label in toggle._options_labels] or [""]
    share = 216 // len(labels) - 4
    return f"{max(share, 7 * max(len(label) for label in labels) + 12)}px"


def _folder_mb(folder: Path) -> float:
    """Megabytes of the files in ``folder`` (not its sub-folders); 0 when it is missing."""
    if not folder.is_dir():
        return 0.0
    return sum(f.stat().st_size for f in folder.iterdir() if f.is_file()) / 1e6


@contextmanager
def _no_chart_validation():
    """Build charts without altair's check of every part against the Vega-Lite schema.

    altair's debug mode validates each encoding, scale and condition as it is made (about
    half the time of building an explorer's charts on the sample clients); cxlab's charts are
    validated by their own tests, and the explorer sends their specs unvalidated already.
    """
    import altair as alt

    with alt.utils.schemapi.debug_mode(False):
        yield


def follows_note(client: str, parameter: str = "client_name") -> str:
    """The sentence under the explorer saying which client the static sections show.

    Examples
    --------
    >>> follows_note("bookshop")
    "The sections below show bookshop (the notebook's client_name parameter), not the explorer's selection: set client_name in the parameters cell and run all cells to see another client."
    """
    return (
        f"The sections below show {client} (the notebook's {parameter} parameter), not the explorer's "
        f"selection: set {parameter} in the parameters cell and run all cells to see another client."
    )
