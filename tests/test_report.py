"""The monthly report driver: versions, --force, the month lock, failed cells, parameters, escaping, summary.

The machinery is tested on a small stand-in notebook (same parameters as monthly_report.ipynb and its summary
output) so each run costs one kernel start; the real report runs end to end once, on the demo company with a
``<script>`` customer name, in :func:`demo_report`, and a copy of it with a failing cell checks the failure path.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
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
#: The demo's company folder under the output root: company_slug("Atelier Démo SAS").
COMPANY = "atelier-demo-sas"
HOSTILE = "<script>alert('pwned')</script> SARL"
#: An owner typed into the customers file as a spreadsheet formula: must reach the workbook as text.
FORMULA_OWNER = '=HYPERLINK("http://evil.example","x")'
OWNERS = ("Claire Martin", FORMULA_OWNER, "")
N_PATHS = 200


def stand_in_notebook(path: Path, *, fail: bool = False) -> Path:
    """A report notebook that imports nothing (a kernel start only, for tests of the folder logic), with the real
    one's parameters, its summary output, no kernelspec (the driver's kernel_name must do); ``fail`` adds a cell
    that raises."""
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('params_path = ""\nmonth = ""\nas_of = ""\nn_paths = None\nseed = None')
    params.metadata["tags"] = ["parameters"]
    summary = nbformat.v4.new_code_cell(
        "import os\n"
        f"display({{{report.SUMMARY_MIMETYPE!r}: {{'month': month, 'as_of': as_of, 'n_paths': n_paths, "
        "'env': [os.environ.get('TQDM_DISABLE'), os.environ.get('PLOTLY_RENDERER')]}}, raw=True)")
    summary.metadata["tags"] = ["summary"]
    failing = [nbformat.v4.new_code_cell("raise RuntimeError('deliberate failure for the test')")] if fail else []
    nb.cells = [params, *failing, summary]
    nbformat.write(nb, path)
    return path


@pytest.fixture
def light(tmp_path) -> Path:
    return stand_in_notebook(tmp_path / "light.ipynb")


def test_report_folder_versions_and_force(tmp_path, light):
    out = tmp_path / "reports"
    first = report.run_monthly_report(DEMO_PARAMS, "2026-11", output_root=out, notebook=light, n_paths=7)
    assert first == out / COMPANY / "2026-11"
    names = sorted(p.name for p in first.iterdir())
    assert names == ["cashsim-report-2026-11.html", "cashsim-report-2026-11.ipynb", "summary.json"]
    summary = json.loads((first / "summary.json").read_text())
    assert summary["month"] == "2026-11" and summary["as_of"] == "2026-10-31" and summary["n_paths"] == 7
    assert summary["seed"] == 42 and len(summary["params_sha256"]) == 64 and summary["versions"]["plotly"]
    assert summary["env"] == ["1", "plotly_mimetype+notebook"]  # the kernel ran with the report environment
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
    assert [p.name for p in out.iterdir()] == [COMPANY]
    assert sorted(p.name for p in (out / COMPANY).iterdir()) == [".2026-11.lock", "2026-11", "2026-11-v2",
                                                                  "2026-11-v3"]


def broken_copy(path: Path) -> Path:
    """The real report notebook with a failing cell inserted after its setup cell."""
    nb = nbformat.read(report.packaged_notebook(), as_version=4)
    nb.cells.insert(2, nbformat.v4.new_code_cell("raise RuntimeError('deliberate failure for the test')"))
    nbformat.write(nb, path)
    return path


def test_failed_cell_exits_non_zero_and_keeps_the_notebook(tmp_path, monkeypatch, capsys):
    broken = broken_copy(tmp_path / "broken.ipynb")
    monkeypatch.setattr(report.runner, "packaged_notebook", lambda name="monthly_report.ipynb": broken)
    out = tmp_path / "reports"
    code = main(["report", "--params", str(DEMO_PARAMS), "--month", "2026-11", "--output", str(out),
                 "--paths", "50"])
    assert code == 2
    err = capsys.readouterr().err
    assert "a échoué dans la cellule" in err and "RuntimeError: deliberate failure" in err   # French: the params
    kept = list((out / COMPANY).glob("2026-11.*.failed.ipynb"))
    assert len(kept) == 1 and str(kept[0]) in err
    failed = nbformat.read(kept[0], as_version=4)
    assert any(o.get("ename") == "RuntimeError" for c in failed.cells for o in c.get("outputs", []))
    assert not (out / COMPANY / "2026-11").exists()  # no report folder for a failed run
    assert [p.name for p in (out / COMPANY).iterdir() if p.is_dir()] == []  # and no temporary folder either


def test_a_second_run_of_the_same_month_fails_fast(tmp_path, light):
    out = tmp_path / "reports"
    (out / COMPANY).mkdir(parents=True)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from filelock import FileLock; l = FileLock(sys.argv[1]); "
         "l.acquire(); print('locked', flush=True); time.sleep(60)", str(out / COMPANY / ".2026-11.lock")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        started = time.perf_counter()
        with pytest.raises(ReportError, match=r"another cashsim report for 2026-11 is running") as held:
            report.run_monthly_report(DEMO_PARAMS, "2026-11", output_root=out, notebook=light)
        assert time.perf_counter() - started < 5
        assert held.value.file == str(out / COMPANY / ".2026-11.lock")   # a field, not words to parse
        # another month is not blocked by it
        assert report.run_monthly_report(DEMO_PARAMS, "2026-12", output_root=out, notebook=light).exists()
    finally:
        holder.kill()
        holder.wait()


def test_unknown_parameters_are_refused_before_running(light):
    with pytest.raises(ReportError, match=r"unknown parameter\(s\) \['n_path'\]"):
        report.check_parameters(light, {"params_path": "x", "n_path": 3})
    report.check_parameters(report.packaged_notebook(), {"params_path": "x", "month": "2026-11", "as_of": "",
                                                         "n_paths": 5, "seed": 1})


def test_month_and_as_of_rules(tmp_path):
    with pytest.raises(ReportError, match="YYYY-MM"):
        report.check_month("2026-13")
    with pytest.raises(ReportError, match=r"outside the forecast horizon 2026-11\.\.2027-02"):
        report.run_monthly_report(DEMO_PARAMS, "2027-05", output_root=tmp_path)
    with pytest.raises(ParamsError, match="cannot read"):
        report.run_monthly_report(tmp_path / "missing.yml", "2026-11", output_root=tmp_path)


def test_the_runners_errors_are_built_from_their_msgid(tmp_path):
    """The runner raises ``ReportError.of``: the command line translates the message from its template and values
    (no English text parsed back), and the error carries where the problem is as attributes."""
    from cashsim import i18n

    french = i18n.translator("fr_FR").gettext
    with pytest.raises(ReportError) as outside:
        report.run_monthly_report(DEMO_PARAMS, "2027-05", output_root=tmp_path)
    assert outside.value.option == "--month"
    assert outside.value.translated(french) == (
        "le mois 2027-05 sort de l’horizon 2026-11..2027-02 d’une prévision au 2026-10-31\u00a0: choisissez un mois "
        "de cet horizon, ou changez as_of / horizon_months dans le fichier de paramètres")
    with pytest.raises(ReportError) as bad:
        report.check_month("2026-13")
    assert bad.value.option == "--month" and bad.value.translated(french).startswith(
        "--month '2026-13'\u00a0: donnez le mois du rapport sous la forme AAAA-MM")


@pytest.mark.parametrize("month", ["2026-11\n", "2026-11 ", " 2026-11", "2026-1", "2026-011", "2026-00",
                                   "\uff12\uff10\uff12\uff16-11", "2026/11", "2026-11-01"])
def test_a_month_is_yyyy_mm_exactly(month, tmp_path, capsys):
    """`--month $'2026-11\\n'` used to pass (``re.match`` with ``$`` accepts a final newline) and leave a lock and a
    failed notebook with a newline in their names: refused at once, on one line, exit 2, nothing written."""
    with pytest.raises(ReportError, match="give the report month as YYYY-MM"):
        report.check_month(month)
    out = tmp_path / "reports"
    assert main(["report", "--params", str(DEMO_PARAMS), "--month", month, "--output", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.endswith("\n") and "\n" not in err[:-1] and "AAAA-MM" in err   # French: the params' locale
    assert not out.exists()


def test_the_next_run_removes_temporary_folders_of_killed_runs(tmp_path, light):
    """A killed run (SIGKILL, SIGTERM) leaves reports/.YYYY-MM-tmp-*; the next run of that month removes them once
    it holds the month's lock. The last good report and other months' folders stay."""
    out = tmp_path / "reports"
    good = report.run_monthly_report(DEMO_PARAMS, "2026-11", output_root=out, notebook=light, n_paths=7)
    stale = out / COMPANY / ".2026-11-tmp-k1ll3d"
    (stale / "sub").mkdir(parents=True)
    (stale / "sub" / "cashsim-report-2026-11.ipynb").write_text("{}")
    other_month = out / COMPANY / ".2026-12-tmp-running"  # its lock is not ours: maybe a live run
    other_month.mkdir()
    again = report.run_monthly_report(DEMO_PARAMS, "2026-11", output_root=out, notebook=light, n_paths=8)
    assert not stale.exists() and other_month.exists()
    assert again == out / COMPANY / "2026-11-v2" and json.loads((again / "summary.json").read_text())["n_paths"] == 8
    assert json.loads((good / "summary.json").read_text())["n_paths"] == 7  # the last good report stays
    with report.month_lock(out / COMPANY, "2026-11"):
        assert report.runner.remove_stale_work(out / COMPANY, "2026-11") == []


def _children(pid: int) -> list[int]:
    """Direct children of ``pid`` (Linux /proc; empty elsewhere)."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(x) for x in path.read_text().split()] if path.exists() else []


def _a_cell_ran(notebook: Path) -> bool:
    """Whether papermill's autosave of ``notebook`` shows an executed cell (the kernel is up and running)."""
    try:
        nb = json.loads(notebook.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # not written yet, or caught mid-write
        return False
    return any(c.get("execution_count") for c in nb.get("cells", []))


def test_a_sigkilled_report_is_cleaned_up_by_the_next_run(tmp_path, light):
    """`cashsim report` killed with SIGKILL mid-run leaves its temporary folder (no code runs on SIGKILL); the next
    run of the month removes it and writes its report."""
    import signal

    out = tmp_path / "reports"
    argv = [sys.executable, "-m", "cashsim.cli", "report", "--params", str(DEMO_PARAMS), "--month", "2026-11",
            "--output", str(out), "--paths", "50"]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    kernels: list[int] = []
    try:
        deadline = time.monotonic() + 180
        while not any(_a_cell_ran(nb) for nb in out.glob(f"{COMPANY}/.2026-11-tmp-*/cashsim-report-2026-11.ipynb")):
            assert proc.poll() is None, "the report ended before it could be killed"
            assert time.monotonic() < deadline, "the report's kernel ran no cell within 180 s"
            time.sleep(0.2)
        kernels = _children(proc.pid)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid in kernels:  # the kernel would also exit by itself, on noticing its parent died
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    left = list((out / COMPANY).glob(".2026-11-tmp-*"))
    assert left and not (out / COMPANY / "2026-11").exists()  # what the killed run left behind
    folder = report.run_monthly_report(DEMO_PARAMS, "2026-11", output_root=out, notebook=light, n_paths=7)
    assert folder == out / COMPANY / "2026-11" and (folder / "summary.json").exists()
    assert not any(p.exists() for p in left) and list((out / COMPANY).glob(".2026-11-tmp-*")) == []


def test_company_slug():
    assert report.company_slug("Atelier Démo SAS") == COMPANY
    assert report.company_slug("Société Bêta & Fils <SARL>") == "societe-beta-fils-sarl"
    assert report.company_slug("ÉTS. L'Œuvre -- Nord/Sud 2") == "ets-l-oeuvre-nord-sud-2"
    assert report.company_slug("../../etc") == "etc"
    assert report.company_slug("x" * 300) == "x" * 80
    # nothing ASCII left: a hash of the name, so two such companies still get two folders
    one, two = report.company_slug("株式会社"), report.company_slug("有限会社")
    assert one.startswith("company-") and two.startswith("company-") and one != two


def test_two_companies_never_share_a_report_folder(tmp_path, light):
    """Two params files (two companies) writing to one --output: each its own company folder, both version 1."""
    raw = yaml.safe_load(DEMO_PARAMS.read_text(encoding="utf-8"))
    raw["company"] = "Société Bêta"
    other = tmp_path / "beta.yml"
    other.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    out = tmp_path / "reports"
    a = report.run_monthly_report(DEMO_PARAMS, "2026-11", output_root=out, notebook=light, n_paths=7)
    b = report.run_monthly_report(other, "2026-11", output_root=out, notebook=light, n_paths=8)
    assert (a, b) == (out / COMPANY / "2026-11", out / "societe-beta" / "2026-11")
    assert json.loads((a / "summary.json").read_text())["n_paths"] == 7
    assert json.loads((b / "summary.json").read_text())["n_paths"] == 8


def test_next_destination(tmp_path):
    assert report.next_destination(tmp_path, "2026-11", force=False) == tmp_path / "2026-11"
    (tmp_path / "2026-11").mkdir()
    (tmp_path / "2026-11-v2").mkdir()
    assert report.next_destination(tmp_path, "2026-11", force=False) == tmp_path / "2026-11-v3"
    assert report.next_destination(tmp_path, "2026-11", force=True) == tmp_path / "2026-11"


# ---------------------------------------------------------------------------------------------- end to end

def hostile_params(folder: Path) -> Path:
    """The demo company as files, with the first customer of the call list renamed to a ``<script>`` name."""
    from cashsim import kpi
    from cashsim.demo import demo_tables
    from cashsim.ledger import read_ledger

    tables = demo_tables(7)
    ledger = read_ledger(**{k: v.copy() for k, v in tables.items()})
    first = kpi.call_list(ledger, pd.Timestamp("2026-10-31"))["customer_id"].iloc[0]
    for name in ("invoices", "customers"):
        t = tables[name]
        t.loc[t["customer_id"] == first, "customer_name"] = HOSTILE
    customers = tables["customers"]
    customers["owner"] = [OWNERS[i % len(OWNERS)] for i in range(len(customers))]  # collectors; blank = unassigned
    folder.mkdir(parents=True, exist_ok=True)
    data = {"source": "files"}
    for name, t in tables.items():
        t.to_csv(folder / f"{name}.csv", index=False)
        data[name] = f"{name}.csv"
    raw = yaml.safe_load(DEMO_PARAMS.read_text(encoding="utf-8"))
    raw["data"] = data
    path = folder / "params.yml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def build_demo_report(shared: Path) -> tuple[Path, Path, float]:
    """Run the real monthly report once per test session (shared by test_report_browser.py and pytest-xdist
    workers through a lock): (params file, report folder, seconds it took)."""
    from filelock import FileLock

    shared.mkdir(parents=True, exist_ok=True)
    with FileLock(str(shared / "demo-report.lock")):
        done = shared / "demo-report.json"
        if done.exists():
            info = json.loads(done.read_text())
            return Path(info["params"]), Path(info["folder"]), info["seconds"]
        params = hostile_params(shared / "data")
        started = time.perf_counter()
        folder = report.run_monthly_report(params, "2026-11", n_paths=N_PATHS, output_root=shared / "reports")
        seconds = time.perf_counter() - started
        done.write_text(json.dumps({"params": str(params), "folder": str(folder), "seconds": seconds}))
        return params, folder, seconds


def shared_dir(tmp_path_factory) -> Path:
    """This session's folder for the demo report: shared by pytest-xdist workers (their basetemps' parent is the
    session's), never reused by a later session."""
    base = tmp_path_factory.getbasetemp()
    return (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "cashsim-demo-report"


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory):
    return build_demo_report(shared_dir(tmp_path_factory))


#: Headings of the French report, in order (markdown sections; the first screen is HTML of its own).
FRENCH_SECTIONS = ("La réponse du mois", "Créances ouvertes\xa0: échues ou non, payeurs fiables ou non",
                   "Plan de trésorerie hebdomadaire", "Prévision face à l’objectif", "Prévision contre réalisé",
                   "Les leviers comparés",
                   "Liste d’appels par compte client", "Indicateurs du poste clients", "Alertes",
                   "D’où vient le manque", "Qualité des données")
#: English that must not appear in the text of the French report (whole words, case-sensitive where it matters).
ENGLISH = (r"\bthe\b", r"\bThe\b", r"\band\b", r"\bof\b", r"\bwith\b", r"\bcustomer", r"\btarget\b",
           r"\bshortfall", r"\bCall list", r"\bWeekly\b", r"\boverdue\b", r"\bnext step", r"\bunassigned\b",
           r"\bformal notice", r"\bphone call", r"\breminder", r"\bdeposit\b", r"\bTrue\b", r"\bFalse\b",
           r"\bkey_accounts\b", r"\bpaths\b", r"\bclaimable\b", r"\bLevers\b", r"\bpromises\b", r"\bowner\b")


def visible_text(page: str) -> str:
    """The text a reader sees in an HTML page: scripts, styles and tags removed, entities decoded."""
    import html as html_lib

    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return html_lib.unescape(re.sub(r"<[^>]+>", "\n", page))


def test_demo_report_end_to_end(demo_report):
    params, folder, seconds = demo_report
    html = report.html_path(folder).read_text(encoding="utf-8")
    assert "<script>alert('pwned')" not in html
    assert "&lt;script&gt;alert('pwned')&lt;/script&gt; SARL" in html  # in the call list, as text
    for section in FRENCH_SECTIONS:
        assert f">{section}<a" in html, section
    positions = [html.index(f">{section}<a") for section in FRENCH_SECTIONS]
    assert positions == sorted(positions)
    assert html.index("Toute la période en un coup d’œil") < positions[0]  # the first screen comes first
    assert "Novembre 2026" in html and "Plan recommandé" in html and "1\u202f" in html  # fr-FR figures
    # no code, no parameters, no summary cell; plotly.js once; nothing fetched from the internet
    code_cells = re.findall(r'class="jp-Cell jp-CodeCell[^"]*"', html)
    assert code_cells and all("jp-mod-noInput" in c for c in code_cells)
    assert "params_path" not in html and "report.load_run" not in html and report.SUMMARY_MIMETYPE not in html
    assert "handouts_dir" not in html and "write_handouts" not in html
    assert '<html lang="fr">' in html
    assert html.count("window.PlotlyConfig") == 1
    assert "cdnjs.cloudflare.com" not in html and "require.min.js" not in html and "unpkg.com" not in html


def test_french_report_reads_in_french(demo_report):
    """No English word or sentence in the text of the French report (customer names and codes aside)."""
    _, folder, _ = demo_report
    text = visible_text(report.html_path(folder).read_text(encoding="utf-8"))
    text = text.replace(HOSTILE, "")
    found = {pattern: re.findall(rf".{{0,40}}{pattern}.{{0,40}}", text)[:3] for pattern in ENGLISH}
    assert {k: v for k, v in found.items() if v} == {}
    for words in ("non échues, payeurs fiables", "échues, payeurs moins fiables", "promesses rompues",
                  "responsable", "non attribué", "Claire Martin", "Les trois actions prioritaires",
                  "sur 2,9 ans", "salaires et charges sociales", "manque encore non rattrapé"):
        assert words in text, words


def test_the_demo_report_keeps_its_tables_where_the_messy_company_says_why(demo_report):
    """The sentences for an empty or all-zero table (tests/test_report_messy.py) show only when their condition
    holds: the demo has promises, reliable payers and paths that miss November."""
    _, folder, _ = demo_report
    text = visible_text(report.html_path(folder).read_text(encoding="utf-8"))
    for said in ("aucun manque à expliquer", "n’enregistre aucune promesse", "n’atteint le seuil de fiabilité"):
        assert said not in text, said
    assert "l’objectif est manqué sur" in text and "promesses de règlement" in text


def test_first_screen_states_every_month(demo_report):
    """The first screen gives each forecast month its verdict without and with the plan and what is left to finance,
    as summary.json records."""
    _, folder, _ = demo_report
    html = report.html_path(folder).read_text(encoding="utf-8")
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    start = html.index('<div class="cashsim-window')
    screen = visible_text(html[start:html.index("</div>", start)])
    months = [m["month"] for m in summary["months"]]
    assert [w["month"] for w in summary["window"]] == months and len(months) >= 3
    from cashsim import fmt

    for row in summary["window"]:
        line = fmt.month_name(row["month"]).capitalize()
        assert line in screen, line
        assert fmt.percent(row["p_target_met"]) in screen and fmt.percent(row["p_with_plan"]) in screen
        assert fmt.money(row["financing_needed"], decimals=0) in screen
    assert screen.count("Sans plan") == 1 and "Financement à prévoir" in screen
    assert "Les trois actions prioritaires" in screen and screen.count("responsable\xa0:") == 3


def test_forecast_against_actual(demo_report):
    """summary.json keeps each month's forecast for the next report to score; the report sets October 2026 (the
    month just closed by the as-of date 2026-10-31) recomputed as of 2026-09-30 (no earlier report) against what
    came in."""
    from cashsim import fmt
    from cashsim.backtest import actual_monthly
    from cashsim.params import load_params
    from cashsim.report.hindsight import ledger_sha256
    from cashsim.sources import ledger_from_params

    params, folder, _ = demo_report
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    forecast = summary["forecast"]
    assert forecast["as_of"] == "2026-10-31" and forecast["n_paths"] == N_PATHS and forecast["seed"] == 42
    assert list(forecast["months"]) == [m["month"] for m in summary["months"]] and len(forecast["levels"]) == 101
    for row in summary["months"]:
        month = forecast["months"][row["month"]]
        assert len(month["quantiles"]) == 101 and month["quantiles"] == sorted(month["quantiles"])
        assert month["p50"] == pytest.approx(row["collections_p50"], abs=0.01)
    ledger = ledger_from_params(load_params(params))
    assert forecast["ledger_sha256"] == ledger_sha256(ledger, "2026-10-31")
    html = report.html_path(folder).read_text(encoding="utf-8")
    part = visible_text(html[html.index(">Prévision contre réalisé<a"):html.index(">Les leviers comparés<a")])
    actual = actual_monthly(ledger, pd.Timestamp("2026-09-30"), ["2026-10"])[0]
    for words in ("Octobre 2026", "Prévision (médiane)", "Réalisé", "recalculée", "Prévision au 30 sept. 2026",
                  fmt.money(actual, decimals=0)):
        assert words in part, words


def test_battle_plan_workbook(demo_report):
    """The workbook beside the report: the window, one sheet of actions per owner, the call list, the split, the
    KPIs; an owner typed as a formula is text, and no cell anywhere starts a formula."""
    from openpyxl import load_workbook

    _, folder, _ = demo_report
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    kinds = {h["kind"]: h for h in summary["handouts"]}
    assert kinds["workbook"]["written"] and (folder / kinds["workbook"]["file"]).exists()
    book = load_workbook(folder / "plan-de-bataille-2026-11.xlsx", read_only=True)
    names = book.sheetnames
    assert names[0] == "Période" and "Liste d’appels" in names and "Répartition des créances" in names
    assert "Indicateurs par compte" in names and "Indicateurs par famille" in names
    owners = [n for n in names if n.startswith("Actions ") and n != "Actions du plan"]
    assert "Actions Claire Martin" in owners and "Actions non attribué" in owners and len(owners) == 3
    seen_formula_owner = False
    for sheet in book.worksheets:
        for row in sheet.iter_rows(values_only=True):
            for value in row:
                if isinstance(value, str):
                    assert not value.startswith(("=", "+", "@")), (sheet.title, value)
                    seen_formula_owner |= value == "'" + FORMULA_OWNER
    assert seen_formula_owner
    window = list(book["Période"].iter_rows(values_only=True))
    assert len(window) == 1 + len(summary["months"]) and window[0][0] == "mois"
    groups = [r[0] for r in list(book["Indicateurs par famille"].iter_rows(values_only=True))[1:]]
    calls = list(book["Liste d’appels"].iter_rows(values_only=True))
    group_col = calls[0].index("famille de clients")
    assert "grands comptes" in groups and "PME" in {r[group_col] for r in calls[1:]}   # client groups in French
    assert not {"key_accounts", "sme", "micro"} & (set(groups) | {r[group_col] for r in calls[1:]})


def test_summary_matches_the_library(demo_report):
    """summary.json holds the same numbers as the pipeline run directly with the same paths and seed."""
    from cashsim.params import load_params
    from cashsim.pipeline import run_from_params

    params, folder, _ = demo_report
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    assert summary["month"] == "2026-11" and summary["n_paths"] == N_PATHS and summary["seed"] == 42
    assert summary["params_sha256"] == report.params_hash(params) and summary["run_uuid"]
    assert {"target_p50", "collections_p10", "collections_p50", "collections_p90", "p_target_met",
            "expected_shortfall"} <= set(summary["answer"])
    assert summary["plan"]["levers"] and math.isfinite(summary["plan"]["cost"])  # may be < 0: a plan can save costs
    run = run_from_params(load_params(params), n_paths=N_PATHS)
    row = run.targets.months.set_index("month").loc["2026-11"]
    for key in ("target_p50", "collections_p50", "p_target_met", "expected_shortfall"):
        assert summary["answer"][key] == pytest.approx(float(row[key]), rel=1e-12), key


def test_demo_command_runs_the_report_of_the_month_after_as_of(tmp_path, light, monkeypatch, capsys):
    """`cashsim demo` wiring (the real notebook runs in test_demo_report_end_to_end): params, month, output."""
    from cashsim.commands import demo

    assert demo.demo_params_path() == DEMO_PARAMS
    assert demo.default_output(DEMO_PARAMS) == ROOT / "reports"
    monkeypatch.setattr(report.runner, "packaged_notebook", lambda name="monthly_report.ipynb": light)
    assert main(["demo", "--paths", "50", "--output", str(tmp_path)]) == 0
    printed = capsys.readouterr().out.strip().splitlines()
    assert printed[-1] == str(tmp_path / COMPANY / "2026-11" / "cashsim-report-2026-11.html")
    summary = json.loads((tmp_path / COMPANY / "2026-11" / "summary.json").read_text())
    assert summary["n_paths"] == 50 and summary["as_of"] == "2026-10-31"


def test_scheduling_docs_commands_parse():
    """The exact cron and systemd lines of docs/scheduling.md are valid `cashsim report` command lines."""
    import shlex

    from cashsim.cli import build_parser

    text = (ROOT / "docs" / "scheduling.md").read_text(encoding="utf-8")
    cron = next(line for line in text.splitlines() if line.startswith("0 6 3 * * "))
    execstart = next(line for line in text.splitlines() if line.startswith("ExecStart="))
    assert '"$(date +\\%Y-\\%m)"' in cron and '"$(date +%%Y-%%m)"' in execstart  # % escaped for each
    assert "OnCalendar=*-*-03 06:00:00" in text and "Persistent=true" in text
    for line in (cron, execstart):
        command = line[line.index("cashsim report"):].split(" >>")[0].rstrip("'")
        argv = shlex.split(re.sub(r'"\$\(date [^)]*\)"', "2026-11", command))[1:]
        args = build_parser().parse_args(argv)
        assert (args.command, args.month, args.force) == ("report", "2026-11", False)
        assert args.params == "/srv/cashsim/params/company.yml"


def test_answer_in_the_report_locale(demo_report):
    """The month's answer follows params.report.locale: French typography by default, English for en_GB."""
    from types import SimpleNamespace

    from cashsim.params import load_params
    from cashsim.pipeline import run_from_params

    params, _, _ = demo_report
    run = run_from_params(load_params(params), n_paths=50)
    french = report.answer_html(run, "2026-11", {"levers": ["<b>deposit</b>"], "cost": 1234.5,
                                                 "p_target_met": 0.81, "gap": None})
    assert "Objectif lissé\xa0: <span" in french and "Novembre 2026" in french
    assert "&lt;b&gt;deposit&lt;/b&gt;" in french and "1\u202f234\xa0€" in french  # escaped, half to even
    english = SimpleNamespace(params=run.params.model_copy(update={"report": run.params.report.model_copy(
        update={"locale": "en_GB"})}), targets=run.targets, as_of=run.as_of)
    text = report.answer_html(english, "2026-11")
    assert "November 2026: " in text and "Smoothed target: <span class=\"figure\">€" in text


def test_pdf_is_skipped_with_a_note_without_chromium(tmp_path, monkeypatch):
    """No Chromium: no PDF, a note in the folder saying why, and no exception (the report must not fail)."""
    monkeypatch.setenv("CASHSIM_CHROMIUM", str(tmp_path / "no-such-chromium"))
    path, reason = report.write_pdf("<html><body>x</body></html>", tmp_path / "synthese-2026-11.pdf")
    assert path is None and "Chromium not found" in reason
    assert not (tmp_path / "synthese-2026-11.pdf").exists()
    assert "Chromium not found" in (tmp_path / "PDF-NON-GENERE.txt").read_text(encoding="utf-8")


def test_the_english_report_views(demo_report):
    """With report.locale en_US the first screen, the split and the accounts read in English with US figures."""
    from types import SimpleNamespace

    from cashsim.params import load_params

    params, _, _ = demo_report
    run = report.load_run(params, n_paths=50)
    english = run.params.model_copy(update={"report": run.params.report.model_copy(update={"locale": "en_US"})})
    en = SimpleNamespace(**{k: getattr(run, k) for k in ("ledger", "as_of", "model", "sim", "targets", "base")},
                         params=english)
    assert load_params(params).report.locale == "fr_FR"
    table, plan = report.levers(run)
    screen = report.window_html(en, plan)
    assert "The whole window at a glance" in screen and "Without the plan" in screen and "€1," in screen
    assert "The three actions that matter most" in screen and "owner: " in screen
    split = report.split_view(en).to_html()
    assert "not yet due, reliable payers" in split and "overdue, less reliable payers" in split
    accounts = report.accounts_table(en)
    assert {"Claire Martin", "unassigned"} <= set(accounts["owner"])
    assert accounts["overdue"].is_monotonic_decreasing
    french = report.accounts_table(run)
    assert "non attribué" in set(french["owner"]) and "unassigned" not in set(french["owner"])


def test_the_parameters_cell_is_read_as_papermill_reads_it():
    """The driver reads the parameters cell itself (ast, no papermill import): the names and defaults papermill's
    translator finds in the report notebook (papermill misses a default followed by a comment, ast does not)."""
    from papermill.translators import PythonTranslator

    for path in [report.packaged_notebook()]:
        nb = nbformat.read(path, as_version=4)
        cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
        assert report.notebook_parameters(path) == {p.name: p.default for p in PythonTranslator.inspect(cell)}, path


@pytest.mark.parametrize("takes_levers", [True, False])
def test_the_parameters_cell_is_read_once_and_the_lever_study_starts_one_way(takes_levers, tmp_path, monkeypatch):
    """One reading of the parameters cell decides everything (unknown names, the hand-outs' folder, the lever study's
    file), and the driver's lever study starts at one place, only when the notebook takes its file."""
    import threading
    from types import SimpleNamespace

    from cashsim.report import handoff, runner

    nb = nbformat.read(stand_in_notebook(tmp_path / "light.ipynb"), as_version=4)
    if takes_levers:
        nb.cells[0].source += '\nlevers_file = ""'
    nbformat.write(nb, tmp_path / "light.ipynb")
    reads, studies, delivered = [], [], []
    real = runner.notebook_parameters
    monkeypatch.setattr(runner, "notebook_parameters", lambda path: reads.append(path) or real(path))

    def study(*args, **kwargs):
        studies.append(args)
        return SimpleNamespace(deliver_to=delivered.append, close=lambda: None, thread=threading.Thread())

    monkeypatch.setattr(handoff, "start_driver_study", study)
    folder = report.run_monthly_report(DEMO_PARAMS, "2026-11", output_root=tmp_path / "out",
                                       notebook=tmp_path / "light.ipynb")
    assert folder.exists() and len(reads) == 1
    assert len(studies) == len(delivered) == int(takes_levers)
    if takes_levers:
        assert Path(delivered[0]).name == handoff.LEVERS_FILE


def test_every_report_error_is_built_from_its_msgid(tmp_path):
    """No report error is an English f-string any more: the folder without a report and the notebook without its
    summary read in French on the command line, like the runner's other errors."""
    from cashsim import i18n

    french = i18n.translator("fr_FR").gettext
    with pytest.raises(ReportError) as empty:
        report.html_path(tmp_path)
    assert empty.value.translated(french) == f"{tmp_path}\u00a0: aucun fichier cashsim-report-*.html dans ce dossier"
    with pytest.raises(ReportError) as silent:
        report.read_summary(nbformat.v4.new_notebook())
    assert silent.value.translated(french).startswith(f"le notebook du rapport n’a affiché aucune sortie "
                                                      f"{report.SUMMARY_MIMETYPE}\u00a0: sa dernière cellule")
