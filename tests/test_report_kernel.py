"""The report's kernel and papermill engine: the kernel imports the notebook's modules as it starts, papermill writes
the running notebook sparingly, and the kernel is gone once the report is written (the timings are benchmarks')."""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import papermill.engines
import pytest

from cashsim import report
from cashsim.report.kernel import ALLOW_IRI_GRAMMAR, IRI_GRAMMAR, PLOTLY_RENDERERS, SKIP_IRI_GRAMMAR, top_level_imports

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


@pytest.mark.skipif(importlib.util.find_spec(IRI_GRAMMAR) is None, reason="rfc3987-syntax not installed")
def test_nbformat_loads_without_the_iri_grammar_which_stays_importable():
    # a fresh interpreter: this one has loaded jsonschema already
    code = ("import sys\nfrom cashsim.report.kernel import IRI_GRAMMAR, without_iri_grammar\n"
            "with without_iri_grammar():\n    import nbformat, papermill\n"
            "loaded = IRI_GRAMMAR in sys.modules\nimport jsonschema\n"
            "nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('x = 1')])\nnbformat.validate(nb)\n"
            "import rfc3987_syntax\n"
            "print(loaded, 'iri' in jsonschema.FormatChecker().checkers, rfc3987_syntax.__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env=os.environ | {"PYTHONPATH": str(ROOT / "src")})
    assert out.stdout.split() == ["False", "False", "rfc3987_syntax"]


def test_the_kernel_skips_the_iri_grammar_only_while_it_imports(monkeypatch):
    monkeypatch.delitem(sys.modules, IRI_GRAMMAR, raising=False)  # as in a fresh kernel (restored afterwards)
    namespace = {}
    exec(SKIP_IRI_GRAMMAR, namespace)
    with pytest.raises(ImportError):
        importlib.import_module(IRI_GRAMMAR)
    exec(ALLOW_IRI_GRAMMAR, namespace)
    assert IRI_GRAMMAR not in sys.modules  # importable again
    assert set(namespace) == {"__builtins__"}  # no name left in the notebook's namespace
    lines = report.kernel.start_lines(report.packaged_notebook())
    assert lines[0] == SKIP_IRI_GRAMMAR and lines[-1] == ALLOW_IRI_GRAMMAR and PLOTLY_RENDERERS in lines


def test_cashsim_report_starts_its_kernel_before_it_loads_the_fit_cache_and_passes_no_cache_on(tmp_path):
    """The kernel is launched before the driver imports cashsim.cache (scipy: a second on the critical path), and
    --no-cache still reaches the kernel's environment (the variable cashsim.cache reads)."""
    from cashsim.cache.store import ENV_OFF
    from cashsim.commands import report as command

    assert command.NO_CACHE_ENV == ENV_OFF
    code = ("import os, sys\nimport cashsim.report.kernel as k\n"
            "def launch(self, *a, **kw):\n"
            "    print('cache' in ' '.join(m for m in sys.modules if m.startswith('cashsim.cache')) or 'none',\n"
            "          'scipy.stats' in sys.modules, os.environ.get('CASHSIM_NO_CACHE'))\n"
            "    raise SystemExit(0)\n"
            "k.WarmKernel.__init__ = launch\nimport cashsim.cli\n"
            f"cashsim.cli.main(['report', '--params', {str(DEMO_PARAMS)!r}, '--month', '2026-11', '--output', "
            f"{str(tmp_path)!r}, '--no-cache'])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={k: v for k, v in os.environ.items() if k != "CASHSIM_NO_CACHE"}
                         | {"PYTHONPATH": str(ROOT / "src")})
    assert out.stdout.split() == ["none", "False", "1"]
