"""The public API: ``import cashsim`` gives the main verbs, lazily, and exactly the names it promises."""

from __future__ import annotations

import subprocess
import sys

import cashsim

EXPECTED = {
    "load_params", "Params", "read_ledger", "Ledger", "read_ibm_late_payments", "demo_company", "demo_ledger",
    "fit_behaviour", "PayerModel", "Book", "simulate", "Simulation", "prepare", "forecast", "study_levers",
    "smoothed_targets", "target_report", "EarlyPaymentDiscount", "DunningPlan", "DunningStep", "Deposit",
    "DirectDebit", "PromiseCalls", "CutOffThreat", "Financing", "apply_levers", "compare_levers", "cheapest_plan",
    "kpi", "run_backtest", "run_monthly_report", "CashsimError", "ParamsError", "LedgerError", "ModelError",
    "ReportError",
}


def test_exported_names_are_exactly_the_promised_ones():
    assert set(cashsim.__all__) == EXPECTED
    assert set(cashsim.__all__) <= set(dir(cashsim))


def test_every_exported_name_resolves_to_the_object_of_its_module():
    from cashsim import errors, levers, pipeline

    for name in cashsim.__all__:
        assert getattr(cashsim, name) is not None, name
    assert cashsim.forecast is pipeline.run_from_params
    assert cashsim.EarlyPaymentDiscount is levers.EarlyPaymentDiscount
    assert issubclass(cashsim.ParamsError, errors.CashsimError)
    assert callable(cashsim.kpi.aged_balance)


def test_unknown_attribute_is_an_attribute_error():
    try:
        cashsim.no_such_verb  # noqa: B018
    except AttributeError as exc:
        assert "no_such_verb" in str(exc)
    else:
        raise AssertionError("expected AttributeError")


def test_import_cashsim_stays_light():
    code = "import sys, cashsim; print(sorted(m for m in ('numba', 'pandas', 'scipy') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_readme_example_runs_on_the_demo():
    params = cashsim.load_params("params/demo.yml")
    run = cashsim.forecast(params, n_paths=50)
    months = run.targets.months
    assert {"month", "p_target_met", "expected_shortfall"} <= set(months.columns)
    assert months.loc[~months["is_past"], "month"].tolist() == ["2026-11", "2026-12", "2027-01", "2027-02"]
