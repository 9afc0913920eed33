"""The scenario panel measured in a real browser: page open -> first chart drawn, control release -> chart redrawn.

``python -m benchmarks panel-browser`` starts Voilà as ``cashsim panel`` does (one pre-heated kernel: the notebook,
and so the fit, runs before a page asks for it), opens the page once to take the kernel started with the server,
waits until Voilà's replacement kernel has run the notebook (its CPU time stops growing), then opens the page again
in headless Chromium (Debian's, as the browser tests) and measures, with the page's own clock (``performance.now()``,
ms since navigation start):

- **first chart**: navigation start -> every chart drawn with the kernel's first update (goal 5 s);
- **update**: a slider moved with the keyboard (a release) -> every chart showing the kernel's new update
  (``layout.meta.version``, see :meth:`cashsim.panel.ScenarioPanel.chart_state`), median of 5 (goal 300 ms).

Kept out of the test suite (timings depend on the machine).
"""

from __future__ import annotations

import socket
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"

#: performance.now() once every chart shows the kernel's latest update ``v`` or later, else null.
DRAWN_JS = """(v) => {
  const el = document.querySelector('.cashsim-state');
  if (!el || !el.textContent) return null;
  const st = JSON.parse(el.textContent);
  if (st.version < v) return null;
  const shown = Array.from(document.querySelectorAll('.js-plotly-plot'))
    .filter(gd => gd.layout && gd.layout.meta && gd.layout.meta.version === st.version);
  return shown.length >= Object.keys(st.charts).length ? performance.now() : null;
}"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 120) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"voila exited with code {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"voila did not listen on port {port} within {timeout} s")


def _wait_for_idle_kernels(proc: subprocess.Popen, known: set[int], timeout: float = 300) -> None:
    """Wait for a kernel started after ``known`` and for its CPU time to stop growing (the notebook has run)."""
    import psutil

    end = time.monotonic() + timeout
    last, still = None, 0
    while time.monotonic() < end:
        kids = [p for p in psutil.Process(proc.pid).children(recursive=True) if p.pid not in known]
        if kids:
            cpu = sum(sum(p.cpu_times()[:2]) for p in kids if p.is_running())
            still = still + 1 if last is not None and cpu - last < 0.02 else 0
            last = cpu
            if still >= 4:
                return
        time.sleep(0.5)
    raise TimeoutError("the pre-heated kernel did not become idle")


def _open(browser, port: int) -> tuple:
    page = browser.new_page(viewport={"width": 1024, "height": 768})
    page.goto(f"http://127.0.0.1:{port}/", timeout=300_000, wait_until="commit")
    first = page.wait_for_function(DRAWN_JS, arg=1, timeout=300_000, polling="raf").json_value()
    return page, float(first)


def measure(params: Path = ROOT / "params" / "demo.yml", n_paths: int | None = None, updates: int = 5
            ) -> tuple[float, float, list[float]]:
    """(cold first chart ms, warm first chart ms, update ms list) on a fresh Voilà server."""
    import psutil
    from playwright.sync_api import sync_playwright

    from cashsim.commands.panel import prepare_panel_notebook, voila_argv

    with tempfile.TemporaryDirectory(prefix="cashsim-bench-") as tmp:
        nb = prepare_panel_notebook(params, tmp, n_paths=n_paths)
        port = free_port()
        log = (Path(tmp) / "voila.log").open("w")
        proc = subprocess.Popen(voila_argv(nb, port), cwd=tmp, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for_port(port, proc)
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
                known = {p.pid for p in psutil.Process(proc.pid).children(recursive=True)}
                page, cold = _open(browser, port)          # takes the kernel started with the server
                page.close()
                _wait_for_idle_kernels(proc, known)        # the replacement kernel has run the notebook
                page, warm = _open(browser, port)
                state = page.evaluate("() => JSON.parse(document.querySelector('.cashsim-state').textContent)")
                version = state["version"]
                page.locator(".cashsim-control-discount_rate .noUi-handle").focus()
                times = []
                for _ in range(updates):
                    t0 = page.evaluate("performance.now()")
                    page.keyboard.press("ArrowRight")
                    version += 1
                    t1 = page.wait_for_function(DRAWN_JS, arg=version, timeout=120_000, polling="raf").json_value()
                    times.append(float(t1) - float(t0))
                browser.close()
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
            log.close()
    return cold, warm, times


def bench_panel_browser() -> None:
    from benchmarks.__main__ import line

    cold, warm, times = measure()
    median = statistics.median(times)
    line("panel-browser", f"first chart {warm / 1000:.1f} s", "< 5 s", warm / 5000,
         f"page open -> every chart drawn, pre-heated kernel; the page opened with the server: {cold / 1000:.1f} s")
    line("panel-browser", f"{median:.0f} ms per update", "< 300 ms", median / 300,
         f"slider release -> every chart redrawn in Chromium, median of {len(times)} "
         f"({', '.join(f'{t:.0f}' for t in times)} ms)")
