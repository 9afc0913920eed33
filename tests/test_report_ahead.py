"""The report's lever study in the background and the views built meanwhile (report.ahead): the notebook gets the
same tables, each built once, and the study started for its run."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from cashsim import report
from cashsim.report import ahead, lever_views

ROOT = Path(__file__).resolve().parents[1]
MONTH = "2026-11"


@pytest.fixture(scope="module")
def run():
    return report.load_run(ROOT / "params" / "demo.yml", n_paths=50)


def _same(built, fresh) -> bool:
    """Two views alike: the frames, or the Stylers' data and HTML (the Styler's random table id aside)."""
    if isinstance(built, pd.DataFrame):
        return built.equals(fresh)
    if hasattr(built, "to_plotly_json"):  # a figure
        return built.to_json() == fresh.to_json()
    if isinstance(built, str | tuple) or not hasattr(built, "to_html"):  # a sentence (Markdown), HTML parts
        return re.sub(r"T_[0-9a-f]{5}", "T_", str(built)) == re.sub(r"T_[0-9a-f]{5}", "T_", str(fresh))
    html = [re.sub(r"T_[0-9a-f]{5}", "T_", x.to_html()) for x in (built, fresh)]
    return built.data.equals(fresh.data) and html[0] == html[1]


def test_each_view_built_ahead_is_the_notebooks_call_once(run):
    assert report.build_ahead(run, MONTH, "") == len(ahead.AHEAD)
    for module, name, kwargs in ahead.AHEAD:
        kwargs = {k: {ahead.MONTH: MONTH, ahead.REPORTS_DIR: ""}.get(v, v) for k, v in kwargs.items()}
        built = getattr(report, name)(run, **kwargs)  # the notebook's call: the object built ahead
        fresh = getattr(getattr(report, module), name)(run, **kwargs)
        assert built is not fresh and _same(built, fresh), name
    assert not ahead._ahead(run).views  # every one handed out
    again = report.accounts_view(run, top=25)
    assert _same(again, report.accounts.accounts_view(run, top=25))  # built anew: nothing is kept


def test_a_call_is_matched_by_its_arguments_not_their_spelling(run, monkeypatch):
    calls = []
    real = report.ledger_views.claims_view
    monkeypatch.setattr(report.ledger_views, "claims_view", lambda r, top=15: calls.append(top) or real(r, top))
    monkeypatch.setattr(ahead, "AHEAD", (("ledger_views", "claims_view", {"top": 15}),))
    report.build_ahead(run, MONTH)
    wrapped = ahead.prebuilt(report.ledger_views.claims_view)
    wrapped(run, top=10)   # other arguments: built now
    wrapped(run, 15)       # positional: the one built ahead
    wrapped(run)           # the default is 15, but the one built ahead is gone: built now
    assert calls == [15, 10, 15]


def test_a_view_that_fails_ahead_fails_in_the_notebooks_cell(run, monkeypatch):
    def broken(r, top=30):
        raise ValueError("bad rejections file")

    monkeypatch.setattr(report.ledger_views, "rejections_view", broken)
    monkeypatch.setattr(ahead, "AHEAD", (("ledger_views", "rejections_view", {"top": 30}),
                                         ("views", "months_view", {})))
    assert report.build_ahead(run, MONTH) == 1
    with pytest.raises(ValueError, match="bad rejections file"):
        ahead.prebuilt(report.ledger_views.rejections_view)(run, top=30)
    ahead._ahead(run).views.clear()


class _Run:
    def __init__(self, backend: str = "local") -> None:
        self.params = SimpleNamespace(simulation=SimpleNamespace(backend=backend))


def test_levers_collects_the_study_started_for_its_run(monkeypatch):
    calls = []

    def study_of(run):
        calls.append(run)
        return SimpleNamespace(table=len(calls), plan=run)

    monkeypatch.setattr(lever_views, "study_of", study_of)
    one, other = _Run(), _Run()
    report.start_levers(one).result()       # started in the background (waited for here)
    assert calls == [one]
    assert report.levers(other)[1] is other  # another run: its own study, run now
    assert report.levers(one) == (1, one)    # the one started for it, collected...
    assert calls == [one, other]
    assert report.levers(one) == (3, one)    # ...once: then run now
    assert report.start_levers(_Run(backend="dask")) is None  # a cluster is left to the notebook's thread


def test_the_report_notebook_starts_the_study_and_builds_ahead_in_the_lever_cell():
    import json

    cells = json.loads(report.packaged_notebook().read_text(encoding="utf-8"))["cells"]
    lever_cell = next("".join(c["source"]) for c in cells if "report.levers(run)" in "".join(c["source"]))
    order = [lever_cell.index(x) for x in ("report.start_levers(run, levers_file)",
                                           "report.build_ahead(run, month, reports_dir)", "report.levers(run)")]
    assert order == sorted(order)


def test_account_kpis_are_computed_once_per_run_and_handed_out_as_copies(run, monkeypatch):
    """The views built ahead and the workbook (after the lever study) show the same KPI tables: computed once per
    run and grouping, each caller getting its own copy."""
    from cashsim.report import accounts, ahead

    calls = []
    real = accounts._account_kpis
    monkeypatch.setattr(accounts, "_account_kpis", lambda r, by: calls.append(by) or real(r, by))
    monkeypatch.setattr(ahead, "_RUNS", {})
    first = accounts.account_kpis(run, "segment")
    first.iloc[:, 1:] = -1.0  # a caller changing its table
    second = accounts.account_kpis(run, "segment")
    accounts.account_kpis(run, "customer_id")
    accounts.account_kpis(run)
    assert calls == ["segment", "customer_id"]
    pd.testing.assert_frame_equal(second, real(run, "segment"), check_exact=True)
    other = report.load_run(ROOT / "params" / "demo.yml", n_paths=50)  # another run: its own tables
    accounts.account_kpis(other, "segment")
    assert calls == ["segment", "customer_id", "segment"]
    del other
    import gc

    gc.collect()
    assert set(ahead._RUNS) == {id(run)}                                  # the other run's tables went with it
    assert set(ahead._RUNS[id(run)].kpis) == {"segment", "customer_id"}
