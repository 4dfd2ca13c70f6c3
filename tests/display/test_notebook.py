"""cxlab.display.notebook: what every explorer notebook calls.

The browser test of the same helpers, in JupyterLab, is tests/test_explorers_lab.py.
"""

from __future__ import annotations

import polars as pl
import pytest

from cxlab.display import notebook as ui
from cxlab.errors import DataError, ParameterError


def test_display_label_examples():
    assert ui.display_label("checkout_error") == "Checkout error"
    assert ui.display_label("nps") == "NPS"
    # one label function for explorers and reports (cxlab.display.labels)
    assert ui.display_label("drop_not_touched") == "Peers who went no further"
    assert ui.display_label("ci_high") == "95% interval, high"
    assert ui.display_label("segment", {"segment": "Customer group"}) == "Customer group"


def _client(folder, name):
    (folder / name).mkdir(parents=True)
    (folder / name / "client.toml").write_text('name = "x"\n')


def test_clients_folder_parameter_then_environment_then_samples(tmp_path, monkeypatch):
    from cxlab.config import SAMPLE_DIR

    own, env = tmp_path / "own", tmp_path / "env"
    own.mkdir()
    env.mkdir()
    monkeypatch.delenv(ui.CLIENTS_ENV, raising=False)
    assert ui.clients_folder(None) == SAMPLE_DIR
    monkeypatch.setenv(ui.CLIENTS_ENV, str(env))
    assert ui.clients_folder(None) == env
    assert ui.clients_folder(own) == own  # the parameter wins over the environment
    monkeypatch.setenv(ui.CLIENTS_ENV, str(tmp_path / "missing"))
    with pytest.raises(
        DataError, match="CXLAB_CLIENTS environment variable.*does not exist|missing.*CXLAB_CLIENTS"
    ):
        ui.clients_folder(None)


def test_list_clients_lists_every_folder_with_a_client_toml(tmp_path):
    _client(tmp_path, "zeta_gyms")
    _client(tmp_path, "acme")
    (tmp_path / "notes").mkdir()  # no client.toml: not a client
    assert ui.list_clients(tmp_path) == ["acme", "zeta_gyms"]
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="No client folder in .*empty.*client.toml"):
        ui.list_clients(empty)


def test_default_funnel_steps_exist_in_the_client():
    # consideration touchpoints by customers: tour 3 (a, b, c), plan 2 (a, b), form 1 (a);
    # purchase touchpoint "join" reached by a; "ad" is awareness; "sale" is a purchase
    # touchpoint of the map that nobody reached, so it is not used
    ev = pl.DataFrame(
        {
            "customer_id": ["a", "a", "a", "a", "a", "b", "b", "b", "c"],
            "touchpoint": ["ad", "tour", "plan", "form", "join", "tour", "plan", "tour", "tour"],
        }
    )
    jmap = {
        "ad": "awareness",
        "tour": "consideration",
        "plan": "consideration",
        "form": "consideration",
        "join": "purchase",
        "sale": "purchase",
    }
    assert ui.default_funnel_steps(ev, jmap, ["sale", "join"]) == ["tour", "plan", "form", "join"]
    assert ui.default_funnel_steps(ev, jmap, ["join"], max_steps=3) == ["tour", "plan", "join"]
    # no consideration touchpoint: awareness ones
    only_ads = ev.filter(pl.col("touchpoint").is_in(["ad", "join"]))
    assert ui.default_funnel_steps(only_ads, jmap, ["join"]) == ["ad", "join"]


def test_unknown_steps_are_named_not_dropped_silently():
    known, unknown = ui.parse_steps(
        "site_visit, chekout, purchase", ["site_visit", "checkout", "purchase"]
    )
    assert (known, unknown) == (["site_visit", "purchase"], ["chekout"])
    note = ui.unknown_steps_note(unknown, ["site_visit", "checkout", "purchase"], "bookshop")
    assert "'chekout'" in note and "bookshop" in note and "checkout" in note
    assert ui.unknown_steps_note([], ["a"], "x") == ""


def test_labelled_table_uses_display_labels_formats_and_escapes():
    df = pl.DataFrame({"touchpoint": ["<script>x</script>"], "reach": [0.25], "nps": [12.346]})
    html = ui.labelled_table_html(df, caption="Top", percent=["reach"])
    assert "<th>Touchpoint</th><th>Reach</th><th>NPS</th>" in html
    assert "25.0%" in html and "12.35" in html  # percent, then 2 decimals
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "dtype" not in html and "---" not in html  # no polars repr


def test_text_boxes_change_on_enter_not_on_every_keystroke():
    assert ui.text_box("14d", "Window").continuous_update is False


def test_explorer_redraws_once_per_change_and_shows_one_error_line():
    import ipywidgets as widgets

    from cxlab.events import parse_duration

    window = ui.text_box("14d", "Window")
    k = widgets.IntSlider(value=1, min=1, max=5)

    def render(v):
        parse_duration(v["window"], "window")
        yield f"k={v['k']} window={v['window']}"

    ex = ui.Explorer({"k": k, "window": window}, render, caption=lambda v: f"Showing k {v['k']}")
    ex.refresh()
    assert ex.shown == ["k=1 window=14d"] and ex.reactions == 1
    assert "Showing k 1" in ex.status.value
    k.value = 2
    assert ex.shown == ["k=2 window=14d"] and ex.reactions == 2
    window.value = "2 weeks"  # bad: one red line, the previous output stays
    assert ex.shown == ["k=2 window=14d"]
    assert ex.status.value.count('class="cx-line cx-error"') == 1
    assert (
        "&#x27;2 weeks&#x27;" in ex.status.value
        and "7d" in ex.status.value
        and "Traceback" not in ex.status.value
    )
    window.value = "7d"
    assert ex.shown == ["k=2 window=7d"] and "cx-error" not in ex.status.value


def test_explorer_hook_sets_other_controls_with_one_redraw():
    import ipywidgets as widgets

    client = widgets.Dropdown(options=["a", "b"], value="a")
    segment = widgets.Dropdown(options=["a1", "a2"], value="a1")
    seen = []

    def render(v):
        seen.append((v["client"], v["segment"]))
        return []

    ex = ui.Explorer({"client": client, "segment": segment}, render)
    ex.on("client", lambda name: setattr(segment, "options", [f"{name}1", f"{name}2"]))
    ex.refresh()
    client.value = "b"
    # the segment change made by the hook did not redraw with a stale client
    assert seen == [("a", "a1"), ("b", "b1")]


def test_costly_controls_wait_for_the_button():
    import ipywidgets as widgets

    k = widgets.Dropdown(options=["auto", 2, 3], value="auto")
    ex = ui.Explorer({"k": k}, lambda v: [f"k={v['k']}"], costly=["k"], button="Fit clusters")
    ex.refresh()
    k.value = 3
    assert ex.shown == ["k=auto"] and "Fit clusters" in ex.status.value  # says what to do
    ex.button.click()
    assert ex.shown == ["k=3"]
    with pytest.raises(ParameterError, match="not controls"):
        ui.Explorer({"k": k}, lambda v: [], costly=["kk"])


@pytest.mark.slow
def test_setup_notebook_charts_load_nothing_from_the_internet():
    import re

    import altair as alt

    ui.setup_notebook()
    assert alt.renderers.active == "jupyter"
    esm = alt.JupyterChart._esm
    assert "vegaEmbed" in esm or "vega_embed" in esm or "embed" in esm
    assert not re.search(r"""(import|from)\s*\(?\s*["']https?://""", esm), "a CDN import is left"


def test_explorer_reuses_its_chart_widgets():
    import altair as alt

    ui.setup_notebook()
    size = {"n": 1}
    chart = lambda: (  # noqa: E731
        alt.Chart(pl.DataFrame({"x": list(range(size["n"]))})).mark_point().encode(x="x")
    )
    ex = ui.Explorer({}, lambda v: [chart()])
    ex.refresh()
    first = ex.out.children[0].model_id
    size["n"] = 3
    ex.refresh()
    again = ex.out.children[0].model_id
    assert first == again  # the same widget, a new spec: the vega bundle is not sent again
    assert len(ex._pool[0].spec["datasets"][next(iter(ex._pool[0].spec["datasets"]))]) == 3


def test_explorer_builds_a_cached_charts_spec_once():
    import altair as alt

    ui.setup_notebook()
    same = alt.Chart(pl.DataFrame({"x": [1, 2]})).mark_point().encode(x="x")
    built = []
    real = type(same).to_dict

    def counting(self, *args, **kwargs):
        built.append(id(self))
        return real(self, *args, **kwargs)

    ex = ui.Explorer({}, lambda v: [same])
    ex.refresh()  # the first chart makes the widget (altair builds that spec itself)
    type(same).to_dict = counting
    try:
        ex.refresh()  # the spec is built once for the widget's update ...
        ex.refresh()  # ... and not again when the same chart object is shown again
    finally:
        type(same).to_dict = real
    assert built == [id(same)]
    other = alt.Chart(pl.DataFrame({"x": [3]})).mark_point().encode(x="x")
    ex._render = lambda v: [other]
    ex.refresh()  # a new chart object: its own spec
    assert len(ex._pool[0].spec["datasets"][next(iter(ex._pool[0].spec["datasets"]))]) == 1


def test_explorer_builds_charts_without_altairs_debug_validation():
    import altair as alt

    seen = []

    def render(v):
        seen.append(alt.utils.schemapi.DEBUG_MODE)
        return ["drawn"]

    ex = ui.Explorer({}, render)
    ex.refresh()
    assert seen == [False]  # charts built while rendering skip altair's per-part validation
    assert alt.utils.schemapi.DEBUG_MODE is True  # and the notebook's own charts keep it


def test_explorer_preloads_the_clients_after_the_first_draw():
    loaded = []

    def load(name):
        if name == "broken":
            raise DataError("broken client")  # left for the switch to show
        loaded.append(name)

    ex = ui.Explorer({}, lambda v: [f"drawn after {len(loaded)} loads"])
    ex.preload(load, ["bank", "broken", "bookshop", "telecom"], limit=3)
    assert ex.preloading is None  # nothing runs before the page is shown
    ex.show()
    assert ex.shown == ["drawn after 0 loads"]  # the first draw does not wait for it
    ex.preloading.join(timeout=10)
    assert loaded == ["bank", "bookshop"]  # the first 3 names; the broken one is skipped


def test_explorer_leaves_big_clients_to_load_when_chosen(tmp_path):
    for name, size in (("small", 1_000), ("big", 3_000_000)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "events.csv").write_bytes(b"x" * size)
    ex = ui.Explorer({}, lambda v: ["drawn"])
    ex.preload(lambda name: None, ["big", "small", "missing"], folder=tmp_path, max_mb=2)
    assert ex._preload[1] == ["small", "missing"]  # 3 MB > 2 MB; a missing folder counts 0


def test_explorer_sends_only_what_changed():
    """A change updates the widgets of what it changed; the others (an unchanged chart, an
    unchanged line) send nothing, so the browser does not draw them again, and the output
    keeps its widgets (before, the whole output area was replaced: every chart re-embedded)."""
    import altair as alt
    import ipywidgets as widgets

    ui.setup_notebook()
    fixed = alt.Chart(pl.DataFrame({"x": [1, 2]})).mark_point().encode(x="x")

    def render(v):
        yield "the same line"
        yield fixed
        yield f"k is {v['k']}"
        yield alt.Chart(pl.DataFrame({"x": list(range(v["k"]))})).mark_bar().encode(x="x")

    k = widgets.IntSlider(value=1)
    ex = ui.Explorer({"k": k}, render)
    ex.refresh()
    children = ex.out.children
    sent = []
    for i, w in enumerate(children):
        w.observe(lambda c, i=i: sent.append((i, c["name"])), names=["spec", "outputs"])
    k.value = 3
    assert ex.out.children == children  # the same four widgets, in order
    assert sent == [(2, "outputs"), (3, "spec")]  # the line and the chart that changed
    assert children[2].outputs[0]["data"]["text/plain"] == "k is 3"


def test_explorer_tables_show_values_as_the_charts_do():
    """Explorer 04's "NPS by segment" table read "mass market" under a legend "Mass market"."""
    df = pl.DataFrame(
        {
            "segment": ["mass market", "iPhone user", "VIP"],
            "metric": ["nps", "nps", "csat"],
            "comment": ["great service", "slow app", "ok"],
        }
    )
    html = ui.labelled_table_html(df)
    for cell in ("Mass market", "iPhone user", "VIP", "NPS", "CSAT", "great service"):
        assert f"<td>{cell}</td>" in html  # a comment is quoted as written
    assert "<td>mass market</td>" not in html
