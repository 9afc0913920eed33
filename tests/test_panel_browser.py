"""`cashsim panel`: the notebook it serves, the Voilà command line, and the page in a real headless Chromium.

The browser test starts Voilà on a free localhost port (a subprocess, always terminated), opens the page, moves the
discount slider with the keyboard, and checks that the collections chart changed and the page raised no error; the
second moves several controls several times at 1024x768 and checks every chart against the kernel's data.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
from pathlib import Path

import nbformat
import pytest

from benchmarks.panel_browser import free_port, wait_for_port
from cashsim.cli import build_parser
from cashsim.commands.panel import PANEL_NOTEBOOK, panel_notebook, prepare_panel_notebook, voila_argv
from cashsim.errors import ParamsError

ROOT = Path(__file__).resolve().parents[1]
PARAMS = ROOT / "params" / "demo.yml"


def test_packaged_notebook_is_the_repository_notebook_without_outputs():
    repo = ROOT / "notebooks" / PANEL_NOTEBOOK
    assert panel_notebook().read_bytes() == repo.read_bytes()
    nb = nbformat.read(repo, as_version=4)
    first = nb.cells[0]
    assert first.cell_type == "code" and "parameters" in first.metadata.get("tags", [])
    assert "params_path" in first.source
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


def test_prepared_notebook_injects_the_absolute_params_path(tmp_path):
    nb_path = prepare_panel_notebook(PARAMS, tmp_path, n_paths=123)
    nb = nbformat.read(nb_path, as_version=4)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1
    assert nb.cells.index(injected[0]) == 1                        # right after the `parameters` cell
    assert json.dumps(str(PARAMS.resolve())) in injected[0].source or repr(str(PARAMS.resolve())) in \
        injected[0].source
    assert "n_paths = 123" in injected[0].source
    assert "output_dir = " in injected[0].source                 # absolute: the kernel runs in a temp folder


def test_a_bad_params_file_fails_before_serving(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("horizon_months: 4\nburn:\n  salaries: 1000\n")
    with pytest.raises(ParamsError, match="salaries"):
        prepare_panel_notebook(bad, tmp_path)


def test_voila_listens_on_localhost_only():
    argv = voila_argv("x.ipynb", 9999)
    assert "--Voila.ip=127.0.0.1" in argv and "--port=9999" in argv and "--strip_sources=True" in argv
    args = build_parser().parse_args(["panel", "--params", str(PARAMS)])
    assert args.port == 8866 and args.func.__module__ == "cashsim.commands.panel"


@contextlib.contextmanager
def _served_panel(tmp_path: Path, start_timeout: float):
    """Voilà serving the demo's panel notebook (200 paths) on a free port, its log in ``tmp_path/voila.log``;
    stopped (terminate, then kill) whatever the test does."""
    nb = prepare_panel_notebook(PARAMS, tmp_path, n_paths=200)
    port = free_port()
    with (tmp_path / "voila.log").open("w") as log:
        proc = subprocess.Popen(voila_argv(nb, port, show_tracebacks=True), cwd=tmp_path, stdout=log,
                                stderr=subprocess.STDOUT)
        try:
            wait_for_port(port, proc, timeout=start_timeout)
            yield port
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def _wait_for_chart(page, log: Path, timeout: float) -> None:
    """Wait for the first plotly chart; fail at once with the kernel's error when a cell raised."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if page.locator(".js-plotly-plot").count():
            return
        text = log.read_text(errors="replace") if log.exists() else ""
        if "Traceback" in text or "Traceback" in page.inner_text("body"):
            pytest.fail("the panel notebook failed in Voilà:\n" + text[-3000:])
        time.sleep(1.0)
    pytest.fail(f"no chart within {timeout} s; voila log:\n" + log.read_text(errors="replace")[-3000:])


def _wait_until_idle(page, timeout: float) -> None:
    """Wait until the kernel has shown its last update: status "... (N ms)" and the chart still for 3 s."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        state = (page.locator(".cashsim-status").inner_text(), page.evaluate(MEDIAN_JS))
        if state[0].endswith("ms)"):
            time.sleep(3.0)
            if (page.locator(".cashsim-status").inner_text(), page.evaluate(MEDIAN_JS)) == state:
                return
        time.sleep(0.5)
    pytest.fail(f"the panel was still busy after {timeout} s")


MEDIAN_JS = """() => {
  const el = document.querySelector('.js-plotly-plot');
  if (!el || !el.data) return null;
  const t = el.data.find(d => d.name === 'médiane');
  return t ? Array.from(t.y) : null;
}"""


@pytest.mark.browser
@pytest.mark.slow
def test_voila_page_moves_a_slider_and_the_chart_follows(browser, tmp_path):
    with _served_panel(tmp_path, start_timeout=60) as port:
        page = browser.new_page(viewport={"width": 1500, "height": 1400})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"http://127.0.0.1:{port}/", timeout=60_000)
        _wait_for_chart(page, tmp_path / "voila.log", timeout=180)
        page.wait_for_function(f"({MEDIAN_JS})() !== null", timeout=60_000)
        before = page.evaluate(MEDIAN_JS)
        handle = page.locator(".cashsim-control-discount_rate .noUi-handle")
        handle.focus()
        for _ in range(8):                                           # 8 steps of 0.25 %: a 2 % discount
            page.keyboard.press("ArrowRight")
        # each key press is one value change (one update in the kernel); a discount brings cash in earlier
        page.wait_for_function(f"(({MEDIAN_JS})() || [0])[0] > {before[0]}", timeout=90_000)
        _wait_until_idle(page, timeout=90)
        assert page.locator(".cashsim-control-discount_rate input").last.input_value() == "2"   # percent
        assert page.evaluate(MEDIAN_JS)[0] > before[0]
        status = page.locator(".cashsim-status").inner_text()
        assert "Erreur" not in status and "Error" not in status
        page.screenshot(path=str(tmp_path / "panel.png"), full_page=True)
        assert not errors, errors
        page.close()


#: What the page shows: the kernel's hidden state (version, control values, expected chart data) and, per plotly
#: graph, the update it draws (``layout.meta``) and its traces' y.
SHOWN_JS = """() => {
  const el = document.querySelector('.cashsim-state');
  if (!el || !el.textContent) return null;
  const st = JSON.parse(el.textContent);
  const charts = {};
  for (const gd of document.querySelectorAll('.js-plotly-plot')) {
    const meta = gd.layout && gd.layout.meta;
    if (!meta || !meta.chart || !gd.data) continue;
    const r = gd.getBoundingClientRect();
    charts[meta.chart] = {version: meta.version, box: [r.left, r.right, r.width],
      y: gd.data.map(t => t.y ? Array.from(t.y, v => (v === null || v === undefined || Number.isNaN(Number(v)))
                                                       ? null : Number(v)) : [])};
  }
  return {version: st.version, values: st.values, expected: st.charts, charts: charts,
          status: (document.querySelector('.cashsim-status') || {}).innerText || ''};
}"""

#: True once the kernel has drawn update ``v`` (or later) and every chart shows the kernel's latest update.
SYNCED_JS = f"""(v) => {{
  const s = ({SHOWN_JS})();
  if (!s || s.version < v) return false;
  const names = Object.keys(s.expected);
  return names.every(k => s.charts[k] && s.charts[k].version === s.version);
}}"""


def _check_every_chart(page, version: int) -> dict:
    """Wait until the page shows update ``version`` on every chart, then compare every trace with the kernel's."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(SYNCED_JS, arg=version, timeout=180_000, polling=200)
    except PlaywrightTimeout:
        s = page.evaluate(SHOWN_JS) or {}
        pytest.fail(f"update {version} not drawn on every chart: kernel at {s.get('version')}, charts at "
                    f"{ {k: c['version'] for k, c in s.get('charts', {}).items()} }, status {s.get('status')!r}")
    shown = page.evaluate(SHOWN_JS)
    for key, expected in shown["expected"].items():
        got = shown["charts"][key]["y"]
        assert len(got) == len(expected), key
        for i, (a, b) in enumerate(zip(got, expected, strict=True)):
            a = [float("nan") if v is None else v for v in a]
            b = [float("nan") if v is None else v for v in b]
            assert a == pytest.approx(b, rel=1e-9, abs=1e-9, nan_ok=True), f"chart {key} trace {i} is stale"
    return shown


def _type(page, name: str, text: str) -> None:
    box = page.locator(f".cashsim-control-{name} input").last
    box.fill(text)
    box.press("Enter")


@pytest.mark.browser
@pytest.mark.slow
def test_every_chart_follows_every_control_at_1024x768(browser, tmp_path):
    """Several controls moved several times (typed percent, out of range, keyboard on a slider, a dropdown, a new
    horizon): after each move EVERY chart shows the kernel's data of that very update; the page fits 1024x768."""
    with _served_panel(tmp_path, start_timeout=120) as port:
        page = browser.new_page(viewport={"width": 1024, "height": 768})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"http://127.0.0.1:{port}/", timeout=120_000)
        _wait_for_chart(page, tmp_path / "voila.log", timeout=300)
        shown = _check_every_chart(page, 1)
        version = shown["version"]
        left, right, width = shown["charts"]["collections"]["box"]
        assert 0 <= left and right <= 1024 and width >= 500, shown["charts"]["collections"]["box"]
        page.screenshot(path=str(tmp_path / "panel-1024.png"))
        if Path("/work/refs").is_dir():
            page.screenshot(path="/work/refs/panel17-1024.png")
        moves = [("discount_rate", "2"), ("deposit_share", "20"), ("discount_rate", "3"), ("promise_calls", "30"),
                 ("deposit_share", "10"), ("discount_rate", "0.5"), ("horizon_months", "6"), ("deposit_share", "0")]
        for name, text in moves:
            _type(page, name, text)
            version += 1
            shown = _check_every_chart(page, version)
            assert shown["values"][name] == pytest.approx(float(text)), (name, shown["values"])
        # out of range: refused with a message, nothing redrawn, the box shows the value in force again
        _type(page, "discount_rate", "9")
        page.wait_for_function("() => document.querySelector('.cashsim-status').innerText.includes('9 %')",
                               timeout=60_000, polling=200)
        assert page.locator(".cashsim-control-discount_rate input").last.input_value() in ("0.5", "0.50")
        assert page.evaluate(SHOWN_JS)["version"] == version
        # the highest dunning rung (a dropdown) and a slider moved with the keyboard
        page.locator(".cashsim-control-dunning_rung select").select_option(label="contentieux")
        version += 1
        _check_every_chart(page, version)
        page.locator(".cashsim-control-deposit_share .noUi-handle").focus()
        page.keyboard.press("ArrowRight")
        version += 1
        shown = _check_every_chart(page, version)
        assert shown["values"]["deposit_share"] == pytest.approx(5)
        assert not errors, errors
        page.close()
