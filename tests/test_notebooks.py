"""The notebooks: committed clean (no outputs), parameters first, and each one runs top to bottom on the demo.

``monthly_report.ipynb`` is executed end to end by tests/test_report.py (through ``cashsim report``); here the three
exploration notebooks run through papermill with few paths, the way ``cashsim report`` runs the report: kernel
``python3`` of this interpreter, absolute paths, the notebook's folder as working directory.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import papermill as pm
import pytest

from cashsim import report
from cashsim.errors import ReportError

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
OURS = ("01_history.ipynb", "02_forecast.ipynb", "03_levers.ipynb", "monthly_report.ipynb")
PARAMETERS = ["params_path", "month", "as_of", "n_paths", "seed"]
EXTRA_KEYS = "metadata.papermill cell.metadata.papermill cell.metadata.execution"


def committed_notebooks() -> list[Path]:
    return sorted(NOTEBOOKS.glob("*.ipynb"))


def test_committed_notebooks_have_no_outputs():
    paths = [str(p) for p in committed_notebooks()]
    done = subprocess.run([sys.executable, "-m", "nbstripout", "--verify", "--keep-id", "--extra-keys", EXTRA_KEYS,
                           *paths], capture_output=True, text=True)
    assert done.returncode == 0, f"notebooks with outputs, run nbstripout on them: {done.stdout}{done.stderr}"
    for path in paths:  # the same, said plainly
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            assert cell.get("outputs", []) == [] and cell.get("execution_count") is None, path
            assert "injected-parameters" not in cell.metadata.get("tags", []), path


@pytest.mark.parametrize("name", OURS)
def test_parameters_cell_first(name):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    assert nb.cells[0].metadata.get("tags") == ["parameters"]
    # the monthly report also takes the folder `cashsim report` gives it for the workbook and the PDF summary
    # and its company's reports folder, to find last month's forecast (report.hindsight), and the file of the lever
    # study its driver computes (report.handoff)
    extra = ["handouts_dir", "reports_dir", "levers_file"] if name == "monthly_report.ipynb" else []
    assert list(report.notebook_parameters(NOTEBOOKS / name)) == PARAMETERS + extra
    assert nb.metadata["kernelspec"]["name"] == "python3"
    # short glue only: no function or class defined in a notebook
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert "def " not in cell.source and "class " not in cell.source, (name, cell.source)


def test_notebooks_and_demo_params_exist_once():
    """`cashsim report` and `cashsim demo` run the repository's own files from a checkout: no copy in the package."""
    assert not (ROOT / "src" / "cashsim" / "notebooks").exists(), "the notebooks live in notebooks/ only"
    assert report.packaged_notebook() == NOTEBOOKS / "monthly_report.ipynb"
    assert report.packaged_notebook("scenario_panel.ipynb") == NOTEBOOKS / "scenario_panel.ipynb"
    assert report.packaged_params() == ROOT / "params" / "demo.yml"
    assert (report.template_dir() / "cashsim_report" / "index.html.j2").is_file()
    with pytest.raises(ReportError, match="reinstall cashsim"):
        report.packaged_notebook("no_such_notebook.ipynb")


def test_a_missing_packaged_notebook_is_one_line_in_the_readers_language(tmp_path, monkeypatch, capsys):
    """The report's notebook missing from the install: ``cashsim report`` says so in French (the default), one line,
    exit 2, naming the file and the fix; English with --locale en_GB."""
    from cashsim.cli import main
    from cashsim.report import resources

    monkeypatch.setattr(resources, "CHECKOUT", tmp_path)   # neither a wheel's copy nor a checkout's
    argv = ["report", "--params", str(ROOT / "params" / "demo.yml"), "--month", "2026-11",
            "--output", str(tmp_path / "reports")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith("cashsim report\u00a0: erreur\u00a0: "), err
    assert err.endswith("le fichier cashsim/notebooks/monthly_report.ipynb livré avec cashsim est introuvable (ni à "
                        f"{tmp_path / 'notebooks' / 'monthly_report.ipynb'} d’une copie du dépôt)\u00a0: réinstallez "
                        "cashsim"), err
    assert main([*argv, "--locale", "en_GB"]) == 2
    assert capsys.readouterr().err.strip().endswith("of a checkout): reinstall cashsim")
    assert not (tmp_path / "reports").exists()


@pytest.mark.parametrize("name", ["01_history.ipynb", "02_forecast.ipynb", "03_levers.ipynb"])
def test_notebook_runs_on_the_demo(name, tmp_path):
    out = tmp_path / name
    pm.execute_notebook(str(NOTEBOOKS / name), str(out), kernel_name="python3", language="python",
                        parameters={"params_path": str(ROOT / "params" / "demo.yml"), "n_paths": 200},
                        cwd=str(NOTEBOOKS), progress_bar=False, execution_timeout=600)
    nb = nbformat.read(out, as_version=4)
    outputs = [o for c in nb.cells for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    figures = sum("application/vnd.plotly.v1+json" in o.get("data", {}) for o in outputs)
    tables = sum("<table" in str(o.get("data", {}).get("text/html", "")) for o in outputs)
    assert figures >= 2 and tables >= 2, (figures, tables)
