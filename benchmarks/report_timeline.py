"""A timeline of one ``cashsim report`` on the demo: when each phase of the driver and each cell of the notebook
starts and ends, in seconds from the command's launch, with the CPU time of the whole command.

``python -m benchmarks.report_timeline [--cold] [--keep DIR]``: runs ``python -m cashsim.cli report --params
params/demo.yml --month 2026-11`` in a fresh process (as ``python -m benchmarks report`` does), the fit cache warmed
first by a run of its own unless ``--cold``, into a temporary folder (``--keep DIR``: into DIR, kept). The steps of
the driver (``[driver]``: its phases and its lever-study thread) and of the kernel (``[kernel]``: its start imports,
``load_run``, the views built ahead, the wait for the driver's study, the PDF and the workbook) are marked by
wrappers put around functions when their module is imported (no product code changes): :data:`HOOKS` is the
``sitecustomize`` of the driver and, inherited through ``PYTHONPATH``, of its kernel; a step's CPU is its process's
(all threads) over the step. The cells' times are papermill's (``metadata.papermill.start_time/end_time``); a cell
line shows its first source line. CPU time is user + system of the command and every process it waited for (kernel,
Chromium).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.__main__ import children_cpu

ROOT = Path(__file__).resolve().parents[1]

#: The sitecustomize of the driver and its kernel: wraps their steps as their modules are imported; the marks go to
#: the file named by CASHSIM_TIMELINE as JSON lines (process, name, seconds since the epoch, its CPU seconds).
HOOKS = r"""
import importlib.abc, importlib.util, json, os, sys, time
OUT = open(os.environ["CASHSIM_TIMELINE"], "a", encoding="utf-8")
WHO = os.environ.get("CASHSIM_TIMELINE_WHO", "kernel")
os.environ["CASHSIM_TIMELINE_WHO"] = "kernel"  # the processes the driver starts: its kernel

def mark(name):
    OUT.write(json.dumps([WHO, name, time.time(), time.process_time()]) + "\n"); OUT.flush()

mark("python started")
import atexit
atexit.register(mark, "atexit handlers done (interpreter teardown next)")  # registered first: runs last

def wrap(module, attr, label):
    owner = module
    for part in attr.split(".")[:-1]:
        owner = getattr(owner, part)
    name = attr.split(".")[-1]
    inner = getattr(owner, name)

    def timed(*args, **kwargs):
        mark(label + " start")
        try:
            return inner(*args, **kwargs)
        finally:
            mark(label + " end")
    setattr(owner, name, timed)

PATCHES = {
    "cashsim.commands.report": [("check_options", "check options")],
    "cashsim.report.kernel": [("WarmKernel.__init__", "kernel launch")],
    "cashsim.report.runner": [("check_parameters", "read the parameters cell, check the parameters"),
                              ("read_summary", "read summary"), ("_replace_dir", "move into place")],
    "papermill": [("execute_notebook", "papermill execute")],
    "cashsim.report.html": [("export_html", "nbconvert HTML export")],
    "cashsim.report.handoff": [("compute_and_write", "lever study (driver thread)"),
                               ("read_driver_study", "wait for the driver's lever study")],
    "cashsim.report": [("load_all", "imports of cashsim.report (kernel start)")],
    "cashsim.report.views": [("load_run", "load_run")],
    "cashsim.report.ahead": [("build_ahead", "views built ahead")],
    "cashsim.report.lever_views": [("study_of", "lever study (kernel)")],
    "cashsim.report.handouts": [("print_html", "PDF print page"), ("write_pdf", "Chromium prints the PDF"),
                                ("write_workbook", "workbook")],
}

class Hook(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path, target=None):
        if fullname not in PATCHES:
            return None
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None:
            return spec
        run = spec.loader.exec_module

        def exec_module(module):
            run(module)
            for attr, label in PATCHES[fullname]:
                wrap(module, attr, label)
        spec.loader.exec_module = exec_module
        return spec

sys.meta_path.insert(0, Hook())
"""

#: Run in the child after HOOKS (not in the kernel): the CLI.
CLI = r"""
import atexit, sys
from sitecustomize import mark
import cashsim.cli
mark("CLI imported")
atexit.register(mark, "driver exit (atexit handlers begin)")
sys.argv = ["cashsim"] + sys.argv[1:]
sys.exit(cashsim.cli.main(sys.argv[1:]) if hasattr(cashsim.cli, "main") else 0)
"""


def _epoch(stamp: str) -> float:
    return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def run_once(out: Path, env: dict[str, str], marks: Path) -> tuple[float, float, float]:
    """(launch epoch, wall seconds, CPU seconds of the command and its children) of one report run."""
    command = [sys.executable, "-c", CLI, "report", "--params", str(ROOT / "params" / "demo.yml"), "--month",
               "2026-11", "--output", str(out)]
    site = marks.with_suffix(".site")  # HOOKS as the sitecustomize of the driver and its kernel
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(HOOKS, encoding="utf-8")
    path = os.pathsep.join(p for p in (str(site), env.get("PYTHONPATH", "")) if p)
    env = env | {"CASHSIM_TIMELINE": str(marks), "CASHSIM_TIMELINE_WHO": "driver", "PYTHONPATH": path}
    c0 = children_cpu()
    launch = time.time()
    t0 = time.perf_counter()
    subprocess.run(command, check=True, env=env, capture_output=True)
    wall = time.perf_counter() - t0
    return launch, wall, children_cpu() - c0


def timeline(launch: float, marks: Path, notebook: Path) -> list[tuple[float, float, str]]:
    """(start, end, what) rows in seconds from the launch, driver phases and notebook cells, by start."""
    rows, opened = [], {}
    for text in marks.read_text(encoding="utf-8").splitlines():
        who, name, when, cpu = json.loads(text)
        when -= launch
        if name.endswith(" start"):
            opened[who, name[:-6]] = (when, cpu)
        elif name.endswith(" end"):
            start, cpu0 = opened.pop((who, name[:-4]))
            rows.append((start, when, f"[{who}] {name[:-4]} ({who} CPU {cpu - cpu0:.2f} s, all its threads)"))
        else:
            rows.append((when, when, f"[{who}] {name} ({who} CPU so far {cpu:.2f} s)"))
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    for i, cell in enumerate(nb["cells"]):
        meta = cell.get("metadata", {}).get("papermill", {})
        if not meta.get("start_time"):
            continue
        source = "".join(cell["source"]).strip().splitlines()
        first = next((line for line in source if not line.startswith("#")), source[0] if source else "")
        rows.append((_epoch(meta["start_time"]) - launch, _epoch(meta["end_time"]) - launch,
                     f"[cell {i:2d}] {first[:70]}"))
    return sorted(rows)


def ended(launch: float, wall: float) -> tuple[float, float, str]:
    """The row of the command's end as its parent saw it (its pipes closed, after the interpreter's teardown)."""
    return wall, wall, "[driver] process ended"


def main(argv: list[str]) -> int:
    cold = "--cold" in argv
    keep = Path(argv[argv.index("--keep") + 1]) if "--keep" in argv else None
    with tempfile.TemporaryDirectory() as tmp:
        env = os.environ | {"CASHSIM_CACHE_DIR": str(Path(tmp) / "cache")}  # never the user's cache
        if not cold:
            run_once(Path(tmp) / "warm-up", env, Path(tmp) / "warm-up.jsonl")
        out = keep or Path(tmp) / "run"
        marks = Path(tmp) / "marks.jsonl"
        launch, wall, cpu = run_once(out, env, marks)
        notebook = next(out.glob("*/2026-11*/cashsim-report-2026-11.ipynb"))
        print(f"cashsim report, demo, fit cache {'cold' if cold else 'warm'}: {wall:.2f} s wall, {cpu:.2f} s CPU "
              f"(user+sys, all processes); load average {os.getloadavg()[0]:.1f}")
        print(f"{'start':>6} {'end':>6} {'dur':>5}  what")
        for start, end, what in [*timeline(launch, marks, notebook), ended(launch, wall)]:
            print(f"{start:6.2f} {end:6.2f} {end - start:5.2f}  {what}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
