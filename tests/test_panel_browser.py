"""`cashsim panel`: the notebook it serves, the Voilà command line, and the page in a real headless Chromium.

The browser test starts Voilà on a free localhost port (a subprocess, always terminated), opens the page, moves the
discount slider with the keyboard, and checks that the collections chart changed and the page raised no error.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
from pathlib import Path

import nbformat
import pytest

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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, proc: subprocess.Popen, timeout: float) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"voila exited with code {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"voila did not listen on port {port} within {timeout} s")


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
    nb = prepare_panel_notebook(PARAMS, tmp_path, n_paths=200)
    port = _free_port()
    log = (tmp_path / "voila.log").open("w")
    proc = subprocess.Popen(voila_argv(nb, port, show_tracebacks=True), cwd=tmp_path, stdout=log,
                            stderr=subprocess.STDOUT)
    try:
        _wait_for_port(port, proc, timeout=60)
        page = browser.new_page(viewport={"width": 1500, "height": 1400})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"http://127.0.0.1:{port}/", timeout=60_000)
        _wait_for_chart(page, tmp_path / "voila.log", timeout=180)
        page.wait_for_function(f"({MEDIAN_JS})() !== null", timeout=60_000)
        before = page.evaluate(MEDIAN_JS)
        slider = page.locator(".widget-slider", has_text="Discount rate")
        handle = slider.locator(".noUi-handle")
        handle.focus()
        for _ in range(8):                                           # 8 steps of 0.25 %: a 2 % discount
            page.keyboard.press("ArrowRight")
        # each key press is one value change (one update in the kernel); a discount brings cash in earlier
        page.wait_for_function(f"(({MEDIAN_JS})() || [0])[0] > {before[0]}", timeout=90_000)
        assert "2.00%" in slider.inner_text()
        _wait_until_idle(page, timeout=90)
        assert page.evaluate(MEDIAN_JS)[0] > before[0]
        status = page.locator(".cashsim-status").inner_text()
        assert "Erreur" not in status and "Error" not in status
        page.screenshot(path=str(tmp_path / "panel.png"), full_page=True)
        assert not errors, errors
        page.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()
