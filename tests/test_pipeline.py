"""The chain from params to targets: horizon arithmetic, reproducibility, common random numbers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cashsim import pipeline
from cashsim.params import load_params

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def base(demo):
    return pipeline.prepare(load_params(ROOT / "params" / "demo.yml"), ledger=demo.ledger)


@pytest.mark.parametrize(("as_of", "months", "end"), [
    ("2026-10-31", 4, "2027-02-28"),   # the first forecast month is the month of as_of + 1
    ("2026-10-15", 1, "2026-10-31"),
    ("2026-12-31", 3, "2027-03-31"),
])
def test_horizon_end(as_of, months, end):
    assert pipeline.horizon_end(pd.Timestamp(as_of), months) == pd.Timestamp(end)


def test_baseline_uses_the_params_as_of_and_horizon(base):
    assert base.as_of == pd.Timestamp("2026-10-31")
    assert base.horizon_end == pd.Timestamp("2027-02-28")
    assert base.book.n_invoices > 0
    # every open invoice of the ledger at as_of is in the book, nothing else from the past
    open_ids = set(base.ledger.known_at(base.as_of).open_book(base.as_of).query("amount > 0")["invoice_id"])
    past = base.book.invoices.loc[~base.book.invoices["is_future"], "invoice_id"]
    assert set(past) <= open_ids


def test_same_seed_same_numbers_and_other_seed_differs(base):
    a = pipeline.simulate_book(base, base.book, n_paths=200, seed=3)
    b = pipeline.simulate_book(base, base.book, n_paths=200, seed=3)
    c = pipeline.simulate_book(base, base.book, n_paths=200, seed=4)
    np.testing.assert_array_equal(a.sim.daily, b.sim.daily)
    pd.testing.assert_frame_equal(a.targets.months, b.targets.months)
    assert not np.array_equal(a.sim.daily, c.sim.daily)


def test_forecast_months_cover_the_horizon_and_money_is_bounded(base):
    run = pipeline.simulate_book(base, base.book, n_paths=200, seed=1)
    months = run.targets.months.loc[~run.targets.months["is_past"], "month"].astype(str).tolist()
    assert months == ["2026-11", "2026-12", "2027-01", "2027-02"]
    # no path collects more than the whole book (open + planned sales), discounts aside
    assert run.sim.daily.sum(axis=1).max() <= base.book.total_to_collect() + 1e-6


def test_per_customer_run_adds_up_to_the_total_and_changes_no_number(base, demo):
    from cashsim.params import load_params

    params = load_params(ROOT / "params" / "demo.yml")
    plain = pipeline.run_from_params(params, n_paths=200, seed=5, ledger=demo.ledger)
    split = pipeline.run_from_params(params, n_paths=200, seed=5, ledger=demo.ledger, by_customer=True)
    np.testing.assert_array_equal(plain.sim.daily, split.sim.daily)
    assert plain.customer_labels is None and len(split.customer_labels) == split.sim.group_monthly.shape[1]
    # every euro of every path and month belongs to exactly one customer
    np.testing.assert_allclose(split.sim.group_monthly.sum(axis=1), split.sim.monthly().to_numpy(), rtol=1e-9)


def test_lever_study_on_the_forecast_book_has_the_forecast_as_its_baseline(base):
    """The report's lever study (``extra_days=0``) runs on the forecast's own book: its baseline row is the
    forecast's P(target met) month by month, exactly; its levers carry the company's own figures (hourly cost,
    gross margin) where the params leave them unset, and leave disputed invoices flagged in the book."""
    run = pipeline.simulate_book(base, base.book, n_paths=200, seed=5)
    study = pipeline.study_levers(base, n_paths=200, seed=5, plan=False, extra_days=0)
    baseline = study.table.loc[study.table["scenario"] == "baseline"].set_index("month")["p_target_met"]
    months = run.targets.months.loc[~run.targets.months["is_past"].astype(bool)].set_index("month")
    np.testing.assert_array_equal(baseline.to_numpy(), months.loc[baseline.index, "p_target_met"].to_numpy())
    assert study.plan is None and study.book.invoices["disputed"].any()
    fin = base.params.finance
    adapted = 0
    for name, levers in base.params.scenarios.items():
        for given, used in zip(levers, study.scenarios[name], strict=True):
            if given.kind == "promise_calls" and "hourly_cost" not in given.model_fields_set:
                assert used.hourly_cost == fin.hourly_cost
                adapted += 1
            if given.kind == "cutoff_threat" and "gross_margin" not in given.model_fields_set:
                assert used.gross_margin == fin.gross_margin
                adapted += 1
    assert adapted > 0


def test_the_levers_command_and_the_report_make_one_plan_number_for_number(base, tmp_path, monkeypatch):
    """``cashsim levers`` and the monthly report both call :func:`cashsim.pipeline.study_levers` with the params'
    paths and seed and its defaults (the same book, the same plan paths): the same table, the same plan."""
    import json

    from cashsim.cli import main
    from cashsim.compare import to_json

    monkeypatch.setattr(pipeline, "prepare", lambda params, cache=True: base)  # the command's own fit of the ledger
    out = tmp_path / "levers.json"
    assert main(["levers", "--params", str(ROOT / "params" / "demo.yml"), "--json", str(out),
                 "--paths", "100"]) == 0
    command = json.loads(out.read_text(encoding="utf-8"))
    study = pipeline.study_levers(base, n_paths=100, seed=base.params.simulation.seed)   # the report's call
    report = json.loads(to_json(study.table, study.plan))
    assert command["plan"] == report["plan"]
    assert command["scenarios"] == report["scenarios"]
    assert command["plan"]["levers"] and {"recovered", "brought_forward"} <= set(command["scenarios"][0])
