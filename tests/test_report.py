"""The monthly report driver: versions, --force, the month lock, failed cells, parameters, escaping, summary.

The machinery is tested on a small stand-in notebook (same parameters as monthly_report.ipynb, one chart, one
table with a ``<script>`` customer name, the summary output) so each run costs one kernel start; the real report
runs end to end once, on the demo company with a hostile customer name, in :func:`demo_report`.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pandas as pd
import pytest
import yaml

from cashsim import report
from cashsim.cli import main
from cashsim.errors import ParamsError, ReportError

ROOT = Path(__file__).resolve().parents[1]
DEMO_PARAMS = ROOT / "params" / "demo.yml"
HOSTILE = "<script>alert('pwned')</script> SARL"
N_PATHS = 200


def stand_in_notebook(path: Path, *, fail: bool = False, light: bool = False) -> Path:
    """A small report notebook with the real one's parameters; ``fail`` adds a cell that raises.

    ``light`` imports nothing (a kernel start only, for tests of the folder logic); otherwise it shows a plotly
    chart and a table with a hostile customer name through cashsim.fmt.
    """
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('params_path = ""\nmonth = ""\nas_of = ""\nn_paths = None\nseed = None')
    params.metadata["tags"] = ["parameters"]
    summary = nbformat.v4.new_code_cell(
        f"display({{{report.SUMMARY_MIMETYPE!r}: {{'month': month, 'as_of': as_of, 'n_paths': n_paths}}}}, raw=True)")
    summary.metadata["tags"] = ["summary"]
    if light:
        nb.cells = [params, *([nbformat.v4.new_code_cell("raise RuntimeError('deliberate failure for the test')")]
                              if fail else []), summary]
        nbformat.write(nb, path)
        return path
    cells = [params, nbformat.v4.new_markdown_cell("# Stand-in report"),
             nbformat.v4.new_code_cell(
                 "import pandas as pd\nimport plotly.graph_objects as go\nfrom cashsim import fmt, report\n"
                 "go.Figure(go.Bar(x=['a', 'b'], y=[1, 2]))"),
             nbformat.v4.new_code_cell(
                 f"fmt.table(pd.DataFrame({{'customer_name': [{HOSTILE!r}], 'amount': [1234567.891]}}),"
                 " money_cols=['amount'])")]
    if fail:
        cells.append(nbformat.v4.new_code_cell("raise RuntimeError('deliberate failure for the test')"))
    nb.cells = [*cells, summary]
    nb.metadata["kernelspec"] = {"name": "some-venv-kernel", "display_name": "x", "language": "python"}
    nbformat.write(nb, path)
    return path


@pytest.fixture
def stand_in(tmp_path) -> Path:
    return stand_in_notebook(tmp_path / "stand_in.ipynb")


@pytest.fixture
def light(tmp_path) -> Path:
    return stand_in_notebook(tmp_path / "light.ipynb", light=True)


def test_report_folder_versions_and_force(tmp_path, light):
    out = tmp_path / "reports"
    first = report.run_monthly_report(DEMO_PARAMS, "2026-11", output_root=out, notebook=light, n_paths=7)
    assert first == out / "2026-11"
    names = sorted(p.name for p in first.iterdir())
    assert names == ["cashsim-report-2026-11.html", "cashsim-report-2026-11.ipynb", "summary.json"]
    summary = json.loads((first / "summary.json").read_text())
    assert summary["month"] == "2026-11" and summary["as_of"] == "2026-10-31" and summary["n_paths"] == 7
    assert summary["seed"] == 42 and len(summary["params_sha256"]) == 64 and summary["versions"]["plotly"]
    # the notebook saw the driver's parameters (a saved kernel name 'some-venv-kernel' did not matter)
    executed = nbformat.read(first / "cashsim-report-2026-11.ipynb", as_version=4)
    injected = next(c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", []))
    assert f'params_path = "{DEMO_PARAMS}"' in injected.source and "n_paths = 7" in injected.source

    second = report.run_monthly_report(DEMO_PARAMS, "2026-11", output_root=out, notebook=light, n_paths=8)
    third = report.run_monthly_report(DEMO_PARAMS, "2026-11", output_root=out, notebook=light, n_paths=9)
    assert (second.name, third.name) == ("2026-11-v2", "2026-11-v3")
    assert json.loads((first / "summary.json").read_text())["n_paths"] == 7  # never overwritten

    forced = report.run_monthly_report(DEMO_PARAMS, "2026-11", output_root=out, notebook=light, n_paths=10,
                                       force=True)
    assert forced == first and json.loads((first / "summary.json").read_text())["n_paths"] == 10
    # nothing half-written left behind: no temporary folders, only the lock file and the report folders
    assert sorted(p.name for p in out.iterdir()) == [".2026-11.lock", "2026-11", "2026-11-v2", "2026-11-v3"]


def test_html_has_no_code_no_parameters_and_escapes_names(tmp_path, stand_in):
    folder = report.run_monthly_report(DEMO_PARAMS, "2026-11", output_root=tmp_path, notebook=stand_in)
    html = report.html_path(folder).read_text(encoding="utf-8")
    assert "<script>alert(" not in html
    assert "&lt;script&gt;alert('pwned')&lt;/script&gt; SARL" in html  # nbconvert re-serialises &#39; as '
    assert "1\u202f234\u202f568\xa0€" in html  # fr-FR money, narrow no-break spaces
    assert "params_path" not in html and "import plotly" not in html and "display(report" not in html
    code_cells = re.findall(r'class="jp-Cell jp-CodeCell[^"]*"', html)
    assert code_cells and all("jp-mod-noInput" in c for c in code_cells)  # no code shown at all
    assert '<html lang="fr">' in html
    assert "cdnjs.cloudflare.com" not in html and "require.min.js" not in html
    assert html.count("window.PlotlyConfig") == 1  # plotly.js embedded exactly once


def test_failed_cell_exits_non_zero_and_keeps_the_notebook(tmp_path, monkeypatch, capsys):
    broken = stand_in_notebook(tmp_path / "broken.ipynb", fail=True, light=True)
    monkeypatch.setattr(report, "packaged_notebook", lambda name="monthly_report.ipynb": broken)
    out = tmp_path / "reports"
    code = main(["report", "--params", str(DEMO_PARAMS), "--month", "2026-11", "--output", str(out)])
    assert code == 2
    err = capsys.readouterr().err
    assert "failed in cell" in err and "RuntimeError: deliberate failure" in err
    kept = list(out.glob("2026-11.*.failed.ipynb"))
    assert len(kept) == 1 and str(kept[0]) in err
    failed = nbformat.read(kept[0], as_version=4)
    assert any(o.get("ename") == "RuntimeError" for c in failed.cells for o in c.get("outputs", []))
    assert not (out / "2026-11").exists()  # no report folder for a failed run
    assert [p.name for p in out.iterdir() if p.is_dir()] == []  # and no temporary folder either


def test_a_second_run_of_the_same_month_fails_fast(tmp_path, light):
    out = tmp_path / "reports"
    out.mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from filelock import FileLock; l = FileLock(sys.argv[1]); "
         "l.acquire(); print('locked', flush=True); time.sleep(60)", str(out / ".2026-11.lock")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        started = time.perf_counter()
        with pytest.raises(ReportError, match=r"another cashsim report for 2026-11 is running"):
            report.run_monthly_report(DEMO_PARAMS, "2026-11", output_root=out, notebook=light)
        assert time.perf_counter() - started < 5
        # another month is not blocked by it
        assert report.run_monthly_report(DEMO_PARAMS, "2026-12", output_root=out, notebook=light).exists()
    finally:
        holder.kill()
        holder.wait()


def test_unknown_parameters_are_refused_before_running(stand_in):
    with pytest.raises(ReportError, match=r"unknown parameter\(s\) \['n_path'\]"):
        report.check_parameters(stand_in, {"params_path": "x", "n_path": 3})
    report.check_parameters(report.packaged_notebook(), {"params_path": "x", "month": "2026-11", "as_of": "",
                                                         "n_paths": 5, "seed": 1})


def test_month_and_as_of_rules(tmp_path):
    with pytest.raises(ReportError, match="YYYY-MM"):
        report.check_month("2026-13")
    with pytest.raises(ReportError, match=r"outside the forecast horizon 2026-11\.\.2027-02"):
        report.run_monthly_report(DEMO_PARAMS, "2027-05", output_root=tmp_path)
    with pytest.raises(ParamsError, match="cannot read"):
        report.run_monthly_report(tmp_path / "missing.yml", "2026-11", output_root=tmp_path)


def test_next_destination(tmp_path):
    assert report.next_destination(tmp_path, "2026-11", force=False) == tmp_path / "2026-11"
    (tmp_path / "2026-11").mkdir()
    (tmp_path / "2026-11-v2").mkdir()
    assert report.next_destination(tmp_path, "2026-11", force=False) == tmp_path / "2026-11-v3"
    assert report.next_destination(tmp_path, "2026-11", force=True) == tmp_path / "2026-11"
