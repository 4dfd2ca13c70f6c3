"""The explorers as a researcher uses them: JupyterLab in headless Chromium, with no network.

One JupyterLab server (the project's venv and kernel) runs on 127.0.0.1 over a temporary copy
of notebooks/explore/ (JupyterLab saves what it runs; the repository's notebooks stay
stripped). For each explorer, on the sample clients and on a client folder made here that is
not a sample (other touchpoint names, another purchase touchpoint, CSV files), the test:

* opens it in Chromium with every request that is not to 127.0.0.1/localhost aborted and
  recorded, runs all cells and waits until the kernel is idle with every cell run;
* checks the charts drew marks (svg marks or a painted canvas), that no output is an error
  or a traceback, that no widget failed to render and that nothing left localhost;
* changes every control of the explorer once (a dropdown to another option, a toggle, a
  slider one step, a text box to a new value + Enter; costly controls then their button) and
  checks each time that the output changed, with no error; the time each reaction took (the
  issue's 2 s on the sample clients) is recorded, not asserted: timed assertions are banned
  from tests, and ``benchmarks/bench_explorers.py`` (``make bench``) checks the recorded times;
* types a bad value into a text box and checks one line says what is expected;
* saves the notebook (JupyterLab saves the widgets' state, as ``make lab`` configures it),
  opens it again in a fresh page without running anything and checks the explorer's charts
  draw from the saved state, still with nothing loaded from outside localhost.

Screenshots go to tests/artifacts/explorers/ (git-ignored). Chromium is Debian's
(``make browser``); a missing chromium fails the test, it does not skip.
"""

from __future__ import annotations

import atexit
import contextlib
import copy
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import nbformat
import polars as pl
import pytest

from cxlab.config import NOTEBOOKS_DIR, PROJECT_ROOT, SAMPLE_DIR
from cxlab.io.client import load_client

pytestmark = [pytest.mark.browser, pytest.mark.notebook, pytest.mark.slow]

EXPLORERS = sorted((NOTEBOOKS_DIR / "explore").glob("*.ipynb"))
ARTIFACTS = PROJECT_ROOT / "tests" / "artifacts" / "explorers"
REACTION_LIMIT_S = 2.0
RUN_ALL_LIMIT_S = 600  # generous: CI shares 2 cores; time is recorded, not asserted
# touchpoints of the made-up client: none of the sample funnel's names survive
OWN_TOUCHPOINTS = {
    "site_visit": "club_tour",
    "add_to_cart": "plan_chosen",
    "checkout": "join_form",
    "purchase": "membership_start",
    "checkout_error": "join_form_error",
}


def chromium_path() -> str:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    pytest.fail("Debian's chromium is missing: run `make browser` (make test does it).")


def make_own_client(folder: Path) -> Path:
    """A gym chain's client folder: the telecom sample's customers under other touchpoint names, as CSV."""
    src = load_client(SAMPLE_DIR / "telecom")
    out = folder / "northfield_gyms"
    out.mkdir(parents=True)
    rename = pl.col("touchpoint").replace(OWN_TOUCHPOINTS)
    src.events.with_columns(rename).drop("source_row").write_csv(out / "events.csv")
    src.feedback.with_columns(rename).drop("source_row").write_csv(out / "feedback.csv")
    src.customers.drop("source_row", "email_address").write_csv(out / "customers.csv")
    (out / "client.toml").write_text(
        'name = "Northfield Gyms"\nindustry = "Gyms"\ntimezone = "UTC"\n'
        "as_of = 2025-09-30T23:59:59Z\n\n"
        '[files]\nevents = "events.csv"\nfeedback = "feedback.csv"\ncustomers = "customers.csv"\n\n'
        '[journey]\nuse_default_map = true\npurchase_touchpoints = ["membership_start"]\n\n'
        '[journey.map]\nclub_tour = "consideration"\nplan_chosen = "consideration"\n'
        'join_form = "purchase"\njoin_form_error = "purchase"\nmembership_start = "purchase"\n\n'
        '[churn]\nmethod = "column"\n',
        encoding="utf-8",
    )
    twin = folder / "southfield_gyms"  # a second client to switch to
    shutil.copytree(out, twin)
    toml = (twin / "client.toml").read_text(encoding="utf-8").replace("Northfield", "Southfield")
    (twin / "client.toml").write_text(toml, encoding="utf-8")
    return folder


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    """A JupyterLab server on 127.0.0.1 over copies of the explorers (samples/ and own/).

    Session-scoped: under xdist the explorers are split over the workers per notebook
    (tests/conftest.py), so a worker may come back to this file; it starts one server."""
    if not (SAMPLE_DIR / "telecom" / "client.toml").exists():
        pytest.fail("sample data missing: run `make sample`")
    root = tmp_path_factory.mktemp("lab")
    own = make_own_client(root / "own_clients")
    for sub, clients_dir in (("samples", None), ("own", str(own))):
        (root / sub).mkdir()
        for nb_path in EXPLORERS:
            nb = nbformat.read(nb_path, as_version=4)
            params = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
            assert params, f"{nb_path.name} has no cell tagged 'parameters'"
            if clients_dir:
                params[0].source += f"\nclients_dir = {clients_dir!r}"
            nbformat.write(nb, root / sub / nb_path.name)
    port, token = free_port(), secrets.token_hex(16)
    env = {k: v for k, v in os.environ.items() if k != "CXLAB_CLIENTS"}
    env["JUPYTER_CONFIG_DIR"] = str(root / ".jupyter")  # no user settings
    env["JUPYTER_DATA_DIR"] = str(root / ".jupyter" / "data")  # its own notebook trust database
    env["JUPYTERLAB_SETTINGS_DIR"] = str(root / ".jupyter" / "lab" / "user-settings")
    env["JUPYTERLAB_WORKSPACES_DIR"] = str(root / ".jupyter" / "lab" / "workspaces")
    settings = root / ".jupyter" / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(
        '{"fetchNews": "false"}'
    )  # no news prompt
    widgets = (
        root / ".jupyter" / "lab" / "user-settings" / "@jupyter-widgets" / "jupyterlab-manager"
    )
    widgets.mkdir(parents=True)
    (widgets / "plugin.jupyterlab-settings").write_text(
        '{"saveState": true}'
    )  # saving keeps the widgets' state, as make lab sets it: charts draw when reopened
    log = (root / "lab.log").open("w")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--port={port}",
            "--ServerApp.port_retries=0",  # taken meanwhile: fail here, never another port
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root}",
            "--allow-root",
            "--LabApp.expose_app_in_browser=True",
            "--LabApp.extension_manager=readonly",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ],
        cwd=root,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: the server and every kernel it starts
        preexec_fn=_stop_with_parent,
    )
    # a pytest stopped mid-run leaves nothing running: Ctrl-C and SIGTERM tear this fixture
    # down (tests/conftest.py), an error ends in atexit, SIGKILL in PR_SET_PDEATHSIG
    atexit.register(_kill_group, server)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if server.poll() is not None:
                pytest.fail(f"jupyter lab exited: {(root / 'lab.log').read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("jupyter lab did not start within 90 s")
        yield {
            "url": f"http://127.0.0.1:{port}",
            "token": token,
            "root": root,
            "data_dir": root / ".jupyter" / "data",
        }
    finally:
        _kill_group(server)
        log.close()


@pytest.fixture(autouse=True)
def _kernels_shut_down(lab):
    """After each test, shut down every kernel it started (through the server's API, as
    JupyterLab's "Shut Down All Kernels" does): the next explorer starts on a quiet machine
    and no kernel outlives its test."""
    yield
    for session in _lab_api(lab, "GET", "/api/sessions"):  # deleting one stops its kernel
        _lab_api(lab, "DELETE", f"/api/sessions/{session['id']}")
    for kernel in _lab_api(lab, "GET", "/api/kernels"):
        _lab_api(lab, "DELETE", f"/api/kernels/{kernel['id']}")
    assert _lab_api(lab, "GET", "/api/kernels") == [], "a kernel is still running"


def _lab_api(lab: dict, method: str, path: str):
    """One call to the lab server's REST API (localhost, with its token); the JSON answer."""
    from urllib.request import Request, urlopen

    request = Request(
        f"{lab['url']}{path}", method=method, headers={"Authorization": f"token {lab['token']}"}
    )
    with urlopen(request, timeout=60) as answer:  # noqa: S310 - 127.0.0.1 only
        body = answer.read()
    return json.loads(body) if body else None


def _stop_with_parent() -> None:
    """In the server's process, before it starts: Linux sends it SIGTERM when the pytest
    process that started it dies, even by SIGKILL (an xdist worker whose controller went
    away); on SIGTERM JupyterLab shuts its kernels down."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):  # not Linux: atexit and SIGTERM only
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _kill_group(server: subprocess.Popen) -> None:
    """Stop JupyterLab and every kernel it started (each kernel runs in a session of its own,
    so the server's process group alone does not reach them): SIGTERM, SIGKILL after 20 s."""
    import psutil  # the test extra installs it

    if server.poll() is not None:  # already stopped and reaped: its pid may be another's now
        return
    try:
        kernels = psutil.Process(server.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        kernels = []
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=20)
    for kernel in kernels:  # those the server did not shut down itself
        with contextlib.suppress(psutil.NoSuchProcess):
            kernel.kill()
    psutil.wait_procs(kernels, timeout=20)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    exe = chromium_path()
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, headless=True, args=["--no-sandbox"])
        try:
            yield b
        finally:
            b.close()


# --------------------------------------------------------------------------- page helpers
JS_STATE = """() => {
  const app = window.jupyterapp;
  const panel = app && app.shell.currentWidget;
  if (!panel || !panel.sessionContext || !panel.content || !panel.content.widgets) return {ready: false};
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  const cells = panel.content.widgets.filter(c => c.model.type === 'code');
  const outputs = [];
  for (const c of cells) for (const o of c.model.outputs.toJSON()) outputs.push(o);
  return {
    ready: true,
    kernel: kernel ? kernel.status : 'none',
    pending: cells.filter(c => c.model.executionCount === null || c.promptNode?.textContent?.includes('*')).length,
    errors: outputs.filter(o => o.output_type === 'error').map(o => o.ename + ': ' + o.evalue),
    tracebacks: outputs.filter(o => o.output_type === 'stream' && /Traceback/.test(o.text)).map(o => o.text.slice(0, 300)),
  };
}"""

JS_MARKS = """(root) => {
  const scope = root || document;
  const charts = [...scope.querySelectorAll('.vega-embed')];
  const drawn = charts.filter(e => {
    const svg = e.querySelector('svg');
    if (svg) return svg.querySelectorAll('g[class^="mark-"] path, g[class^="mark-"] rect, g[class^="mark-"] line, g[class^="mark-"] symbol, g[class*="mark-"] > *').length > 0;
    const cv = e.querySelector('canvas');
    if (!cv || !cv.width || !cv.height) return false;
    const d = cv.getContext('2d').getImageData(0, 0, cv.width, cv.height).data;
    for (let i = 3; i < d.length; i += 4 * 97) if (d[i] !== 0) return true;
    return false;
  });
  return {charts: charts.length, drawn: drawn.length};
}"""

# An explorer page may hold several explorers (02 has the funnel explorer and, below it, the
# conversion-over-time one): a reaction is judged on the explorer whose control changed.
JS_SIGNATURE = """(k) => {
  const ex = document.querySelectorAll('.cx-explorer')[k || 0];
  if (!ex) return null;
  const out = ex.querySelector('.cx-explorer-out');
  const status = ex.querySelector('.cx-explorer-status');
  if (!out) return null;
  const parts = [...out.querySelectorAll('.vega-embed')].map(e => {
    const svg = e.querySelector('svg');
    if (svg) return svg.innerHTML.length + ':' + svg.innerHTML.slice(-200);
    const cv = e.querySelector('canvas');
    return cv ? cv.toDataURL().length + ':' + cv.toDataURL().slice(-400) : '';
  });
  const text = out.innerText;
  return parts.join('|') + '#' + text + '#' + (status ? status.innerText : '');
}"""

BAD_TEXT = {"window": "2 weeks"}

#: The control texts (toggle buttons, labels) whose text is cut ("in that per…").
JS_CUT = """() => [...document.querySelectorAll(
    '.cx-explorer .widget-toggle-button, .cx-explorer .widget-label, .cx-explorer .widget-html')]
  .filter((e) => e.offsetParent !== null && e.scrollWidth > e.clientWidth + 1)
  .map((e) => `${e.innerText.trim()} (${e.scrollWidth} > ${e.clientWidth} px)`)"""


def wait_idle(page, limit_s: float) -> dict:
    """Wait until the kernel is idle and no cell is queued; return the page state."""
    deadline = time.monotonic() + limit_s
    idle_since = None
    while time.monotonic() < deadline:
        st = page.evaluate(JS_STATE)
        if st.get("ready") and st["kernel"] == "idle" and st["pending"] == 0:
            idle_since = idle_since or time.monotonic()
            if time.monotonic() - idle_since > 0.3:
                return st
        else:
            idle_since = None
        page.wait_for_timeout(50)
    pytest.fail(f"kernel not idle after {limit_s} s: {page.evaluate(JS_STATE)}")


def wait_changed(page, before: str, limit_s: float, k: int = 0) -> tuple[float, str]:
    """Seconds until explorer ``k``'s output differs from ``before`` and is drawn, kernel idle."""
    start = time.monotonic()
    deadline = start + limit_s
    while time.monotonic() < deadline:
        sig = page.evaluate(JS_SIGNATURE, k)
        if sig is not None and sig != before:
            st = page.evaluate(JS_STATE)
            out = page.query_selector_all(".cx-explorer")[k].query_selector(".cx-explorer-out")
            marks = page.evaluate(JS_MARKS, out)
            if st["kernel"] == "idle" and marks["drawn"] == marks["charts"]:
                page.wait_for_timeout(150)  # settled: the same signature a moment later
                again = page.evaluate(JS_SIGNATURE, k)
                if again == sig:
                    return time.monotonic() - start - 0.15, sig
        page.wait_for_timeout(25)
    return time.monotonic() - start, page.evaluate(JS_SIGNATURE, k) or ""


def change_control(page, control, index: int) -> str:
    """Change one explorer control as a person would; returns what was done."""
    cls = control.get_attribute("class") or ""
    if "widget-dropdown" in cls:
        select = control.query_selector("select")
        options = select.eval_on_selector_all("option", "os => os.map(o => o.value)")
        current = select.evaluate("s => s.value")
        nxt = [o for o in options if o != current]
        choice = nxt[min(index, len(nxt) - 1)] if nxt else current
        select.select_option(choice)
        return f"dropdown -> {choice}"
    if "widget-toggle-buttons" in cls:
        buttons = control.query_selector_all("button:not(.mod-active)")
        buttons[0].click()
        return f"toggle -> {buttons[0].inner_text()}"
    if "widget-checkbox" in cls:
        control.query_selector("input").click()
        return "checkbox"
    if "widget-select-multiple" in cls:
        select = control.query_selector("select")
        options = select.eval_on_selector_all("option", "os => os.map(o => o.value)")
        chosen = select.eval_on_selector_all("option:checked", "os => os.map(o => o.value)")
        new = sorted(set(chosen) ^ {options[-1]}) or options[:1]
        select.select_option(new)
        return f"select multiple -> {new}"
    if "widget-text" in cls:
        box = control.query_selector("input")
        value = box.input_value()
        new = {"14d": "7d", "7d": "14d"}.get(value.strip())
        if new is None:  # a comma-separated step list: drop the last step
            steps = [s.strip() for s in value.split(",") if s.strip()]
            new = ", ".join(steps[:-1]) if len(steps) > 2 else ", ".join(reversed(steps))
        box.click()
        box.fill(new)
        box.press("Enter")  # applies the value (the box does not update on keystrokes)
        box.evaluate("b => b.blur()")
        return f"text -> {new}"
    if "widget-slider" in cls or "widget-hslider" in cls:
        handles = control.query_selector_all(".noUi-handle")
        handle = handles[0]
        handle.focus()
        handle.press("ArrowRight")
        return "slider +1"
    raise AssertionError(f"unknown control: {cls}")


def screenshot(page, path: Path) -> None:
    """The explorer (controls, status line, output) from its top, as far as the window shows."""
    el = page.query_selector(".cx-explorer")
    el.evaluate("e => e.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(200)
    box = el.bounding_box()
    view = page.viewport_size
    top = max(box["y"] - 8, 0)
    page.screenshot(
        path=str(path),
        clip={
            "x": max(box["x"] - 8, 0),
            "y": top,
            "width": min(box["width"] + 16, 1100),
            "height": min(box["height"] + 16, view["height"] - top - 30),
        },
    )


def check_page(page, where: str, requests_out: list) -> None:
    st = page.evaluate(JS_STATE)
    assert not st["errors"], f"{where}: error outputs {st['errors']}"
    assert not st["tracebacks"], f"{where}: tracebacks {st['tracebacks']}"
    text = page.inner_text("body")
    for bad in ("Error displaying widget", "Error loading script", "JavaScript Error", "Traceback"):
        assert bad not in text, f"{where}: the page shows {bad!r}"
    assert not requests_out, f"{where}: requests left localhost: {requests_out[:5]}"


def explore(browser, lab, sub: str, nb_name: str, timed: bool, every_control: bool = True) -> dict:
    context = browser.new_context(viewport={"width": 1400, "height": 1400})
    outside: list[str] = []

    def route(r):
        host = urlparse(r.request.url).hostname or ""
        if r.request.url.startswith(("data:", "blob:")) or host in ("127.0.0.1", "localhost"):
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on(
        "websocket",
        lambda ws: (
            None
            if urlparse(ws.url).hostname in ("127.0.0.1", "localhost")
            else outside.append(ws.url)
        ),
    )
    stem = f"{sub}-{Path(nb_name).stem}"
    try:
        page.goto(f"{lab['url']}/lab/tree/{sub}/{nb_name}?token={lab['token']}&reset")
        page.wait_for_function(
            "() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
            " && window.jupyterapp.shell.currentWidget.sessionContext"
            " && window.jupyterapp.shell.currentWidget.sessionContext.session"
            " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel"
            " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle'",
            timeout=180_000,
        )
        started = time.monotonic()
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        page.wait_for_timeout(500)
        wait_idle(page, RUN_ALL_LIMIT_S)
        run_all = time.monotonic() - started
        page.wait_for_selector(".cx-explorer-out", timeout=60_000)
        # every chart on the page drew marks
        page.wait_for_timeout(500)
        marks = page.evaluate(JS_MARKS, None)
        deadline = time.monotonic() + 60
        while marks["drawn"] < marks["charts"] and time.monotonic() < deadline:
            page.wait_for_timeout(200)
            marks = page.evaluate(JS_MARKS, None)
        assert marks["charts"] > 0 and marks["drawn"] == marks["charts"], (
            f"{stem}: charts without marks {marks}"
        )
        check_page(page, f"{stem} after run all", outside)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        screenshot(page, ARTIFACTS / f"{stem}.png")
        # on a laptop's 1100 px no control's text is cut
        page.set_viewport_size({"width": 1100, "height": 1400})
        page.wait_for_timeout(300)
        cut = page.evaluate(JS_CUT)
        page.set_viewport_size({"width": 1400, "height": 1400})
        assert not cut, f"{stem}: control texts cut at 1100 px: {cut}"

        reactions = []
        controls = page.query_selector_all(".cx-explorer .cx-control")
        assert controls, f"{stem}: no explorer controls"
        order = sorted(
            range(len(controls)),
            key=lambda i: "cx-client" in (controls[i].get_attribute("class") or ""),
        )
        if not every_control:  # only the client switch
            order = [i for i in order if "cx-client" in (controls[i].get_attribute("class") or "")]
        for i in order:
            control = page.query_selector_all(".cx-explorer .cx-control")[i]
            k = control.evaluate(
                "c => [...document.querySelectorAll('.cx-explorer')].indexOf(c.closest('.cx-explorer'))"
            )
            explorer = page.query_selector_all(".cx-explorer")[k]
            before = page.evaluate(JS_SIGNATURE, k)
            what = change_control(page, control, 0)
            costly = "cx-costly" in (control.get_attribute("class") or "")
            if costly:  # the page says the output is out of date and what to press
                explorer.wait_for_selector(".cx-explorer-status:has-text('press')", timeout=120_000)
                before = page.evaluate(JS_SIGNATURE, k)
                explorer.query_selector(".cx-redraw").click()
            seconds, after = wait_changed(page, before, 120, k)
            assert after != before, f"{stem}: explorer {k}'s output did not change after {what}"
            check_page(page, f"{stem} after {what}", outside)
            kernel_s = explorer.evaluate(
                "e => e.querySelector('.cx-explorer-status .cx-seconds')?.textContent"
            )
            reactions.append((what, round(seconds, 3), costly, kernel_s))
        # bad input: one line saying what is expected
        for box in page.query_selector_all(".cx-explorer .cx-control.widget-text input"):
            label = box.evaluate("b => b.closest('.widget-text').innerText.trim()")
            if "window" not in label.lower():
                continue
            explorer = box.evaluate_handle("b => b.closest('.cx-explorer')").as_element()
            box.fill(BAD_TEXT["window"])
            box.press("Enter")
            error = explorer.wait_for_selector(".cx-explorer-status .cx-error", timeout=30_000)
            line = error.inner_text()
            assert "2 weeks" in line and "7d" in line and "\n" not in line.strip(), line
            check_page(page, f"{stem} after a bad window", outside)
        screenshot(page, ARTIFACTS / f"{stem}-after.png")
        page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
        page.wait_for_function(
            "() => !window.jupyterapp.shell.currentWidget.context.model.dirty", timeout=60_000
        )
    finally:
        context.close()
    saved = reopen_saved(browser, lab, sub, nb_name) if timed else None
    return {
        "run_all_s": round(run_all, 1),
        "reactions": reactions,
        "limit_s": REACTION_LIMIT_S,
        "reopened": saved,
    }


def reopen_saved(browser, lab, sub: str, nb_name: str) -> dict:
    """Open the saved notebook in a fresh page, run nothing: the charts draw from saved state."""
    context = browser.new_context(viewport={"width": 1400, "height": 1400})
    outside: list[str] = []
    context.route("**/*", lambda r: _local_only(r, outside))
    page = context.new_page()
    stem = f"{sub}-{Path(nb_name).stem}-reopened"
    try:
        page.goto(f"{lab['url']}/lab/tree/{sub}/{nb_name}?token={lab['token']}&reset")
        page.wait_for_selector(".cx-explorer-out", timeout=180_000)
        deadline = time.monotonic() + 90
        marks = page.evaluate(JS_MARKS, page.query_selector(".cx-explorer-out"))
        while (
            not marks["charts"] or marks["drawn"] < marks["charts"]
        ) and time.monotonic() < deadline:
            page.wait_for_timeout(300)
            marks = page.evaluate(JS_MARKS, page.query_selector(".cx-explorer-out"))
        assert marks["charts"] > 0 and marks["drawn"] == marks["charts"], (
            f"{stem}: the saved explorer's charts did not draw {marks}"
        )
        st = page.evaluate(JS_STATE)
        assert not st["errors"], f"{stem}: error outputs {st['errors']}"
        text = page.inner_text("body")
        for bad in ("Error displaying widget", "Error loading script", "model not found"):
            assert bad not in text, f"{stem}: the page shows {bad!r}"
        assert not outside, f"{stem}: requests left localhost: {outside[:5]}"
        screenshot(page, ARTIFACTS / f"{stem}.png")
        return marks
    finally:
        context.close()


def _local_only(r, outside: list) -> None:
    host = urlparse(r.request.url).hostname or ""
    if r.request.url.startswith(("data:", "blob:")) or host in ("127.0.0.1", "localhost"):
        r.continue_()
    else:
        outside.append(r.request.url)
        r.abort()


@pytest.mark.parametrize("notebook", EXPLORERS, ids=[p.stem for p in EXPLORERS])
def test_explorer_in_jupyterlab_offline(browser, lab, notebook):
    result = explore(browser, lab, "samples", notebook.name, timed=True)
    (ARTIFACTS / f"samples-{notebook.stem}.json").write_text(json.dumps(result, indent=1))


@pytest.mark.parametrize("notebook", EXPLORERS, ids=[p.stem for p in EXPLORERS])
def test_explorer_on_own_clients_folder(browser, lab, notebook):
    result = explore(browser, lab, "own", notebook.name, timed=False, every_control=False)
    (ARTIFACTS / f"own-{notebook.stem}.json").write_text(json.dumps(result, indent=1))


@pytest.mark.parametrize("notebook", EXPLORERS, ids=[p.stem for p in EXPLORERS])
def test_executed_explorer_reopens_with_its_charts_offline(
    browser, lab, notebook, executed_explorer
):
    """An explorer executed outside JupyterLab (widget state saved; the same execution
    tests/test_notebooks.py checks), trusted, then opened without a kernel run: its offline
    charts draw."""
    from nbformat.sign import NotebookNotary

    result = executed_explorer(notebook)  # tests/conftest.py: executed once per session
    assert result.ok, result.failure
    nb = copy.deepcopy(result.notebook)
    NotebookNotary(data_dir=str(lab["data_dir"])).sign(nb)  # trusted by the lab server only
    (lab["root"] / "executed").mkdir(exist_ok=True)
    nbformat.write(nb, lab["root"] / "executed" / notebook.name)
    marks = reopen_saved(browser, lab, "executed", notebook.name)
    assert marks["drawn"] == marks["charts"] > 0
