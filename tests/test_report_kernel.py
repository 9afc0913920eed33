"""The report's kernel and papermill engine: the kernel imports the notebook's modules as it starts, papermill writes
the running notebook sparingly, and the kernel is gone once the report is written (the timings are benchmarks')."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import papermill.engines

from cashsim import report
from cashsim.report.kernel import PLOTLY_RENDERERS, top_level_imports

ROOT = Path(__file__).resolve().parents[1]
DEMO_PARAMS = ROOT / "params" / "demo.yml"


def _notebook(path: Path, *sources: str, tags: tuple[list[str], ...] = ()) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in sources]
    for cell, cell_tags in zip(nb.cells, tags, strict=False):
        cell.metadata["tags"] = cell_tags
    nb.cells.insert(1, nbformat.v4.new_markdown_cell("import nothing_from_markdown"))
    nbformat.write(nb, path)
    return path


def test_the_kernel_imports_what_the_notebook_imports_at_top_level(tmp_path):
    path = _notebook(tmp_path / "nb.ipynb",
                     "import os  # parameters are not imports to warm",
                     "import json\nx = 1\nfrom pathlib import Path\nif x:\n    import csv\n",
                     "def broken(:\n    import zlib",
                     "from . import sibling\nimport collections.abc as cabc",
                     tags=(["parameters"],))
    assert top_level_imports(path) == ["import json", "from pathlib import Path", "import collections.abc as cabc"]
    lines = top_level_imports(report.packaged_notebook())
    assert "from cashsim import kpi, plots, report" in lines and lines[-1] == PLOTLY_RENDERERS


def test_the_running_notebook_is_written_sparingly_and_the_kernel_ends(tmp_path, monkeypatch):
    writes = []
    real = papermill.engines.write_ipynb
    monkeypatch.setattr(papermill.engines, "write_ipynb", lambda nb, path: writes.append(path) or real(nb, path))
    started = []
    real_init = report.kernel.WarmKernel.__init__

    def init(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        started.append(self)

    monkeypatch.setattr(report.kernel.WarmKernel, "__init__", init)
    source = _notebook(tmp_path / "light.ipynb",
                       'params_path = ""\nmonth = ""\nas_of = ""\nn_paths = None\nseed = None',
                       "import os\nimport json",
                       *[f"x{k} = {k}" for k in range(8)],
                       f"display({{{report.SUMMARY_MIMETYPE!r}: {{'modules': [m for m in ('os', 'json') "
                       "if m in globals()]}}, raw=True)",
                       tags=(["parameters"], [], *[[]] * 8, ["summary"]))
    folder = report.run_monthly_report(DEMO_PARAMS, "2026-11", output_root=tmp_path / "out", notebook=source)
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    assert summary["modules"] == ["os", "json"]
    # papermill writes before and after each of the 12 cells (28 writes with SAVE_EVERY = 0); here every 5 s at most
    assert len(writes) <= 3
    executed = nbformat.read(folder / "cashsim-report-2026-11.ipynb", as_version=4)
    assert [c.execution_count for c in executed.cells if c.cell_type == "code"] == list(range(1, 13))
    assert len(started) == 1 and not started[0].manager.has_kernel  # the engine shut the given kernel down
