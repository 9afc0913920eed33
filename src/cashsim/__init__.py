"""cashsim: calibrated Monte Carlo forecasts of customer collections against a smoothed cash target.

Data flows one way (docs/design.md): files -> ledger -> behaviour -> levers -> simulate -> targets / kpi ->
compare -> plots -> report / panel. The main verbs are available from the package itself, imported on first use
(``import cashsim`` stays light, so the command line starts fast):

>>> import cashsim
>>> params = cashsim.load_params("params/demo.yml")                 # doctest: +SKIP
>>> run = cashsim.forecast(params, n_paths=500)                     # doctest: +SKIP
>>> run.targets.months[["month", "p_target_met", "expected_shortfall"]]   # doctest: +SKIP
>>> sorted(cashsim.__all__)[:3]
['Book', 'CashsimError', 'CutOffThreat']
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

#: public name -> "module:attribute" (attribute omitted = the module itself).
_EXPORTS = {
    # parameters and data
    "load_params": "cashsim.params:load_params",
    "Params": "cashsim.params:Params",
    "read_ledger": "cashsim.ledger:read_ledger",
    "Ledger": "cashsim.ledger:Ledger",
    "read_ibm_late_payments": "cashsim.adapters:read_ibm_late_payments",
    "demo_company": "cashsim.demo:demo_company",
    "demo_ledger": "cashsim.demo:demo_ledger",
    # payer behaviour and the engine
    "fit_behaviour": "cashsim.behaviour:fit_behaviour",
    "PayerModel": "cashsim.behaviour:PayerModel",
    "Book": "cashsim.simulate:Book",
    "simulate": "cashsim.simulate:simulate",
    "Simulation": "cashsim.simulate:Simulation",
    # the chain in one call
    "prepare": "cashsim.pipeline:prepare",
    "forecast": "cashsim.pipeline:run_from_params",
    "study_levers": "cashsim.pipeline:study_levers",
    # targets, levers, comparison
    "smoothed_targets": "cashsim.targets:smoothed_targets",
    "target_report": "cashsim.targets:target_report",
    "EarlyPaymentDiscount": "cashsim.levers:EarlyPaymentDiscount",
    "DunningPlan": "cashsim.levers:DunningPlan",
    "DunningStep": "cashsim.levers:DunningStep",
    "Deposit": "cashsim.levers:Deposit",
    "DirectDebit": "cashsim.levers:DirectDebit",
    "PromiseCalls": "cashsim.levers:PromiseCalls",
    "CutOffThreat": "cashsim.levers:CutOffThreat",
    "Financing": "cashsim.levers:Financing",
    "apply_levers": "cashsim.levers:apply_levers",
    "compare_levers": "cashsim.compare:compare_levers",
    "cheapest_plan": "cashsim.compare:cheapest_plan",
    # KPIs, backtest, report
    "kpi": "cashsim.kpi",
    "run_backtest": "cashsim.backtest:run_backtest",
    "run_monthly_report": "cashsim.report:run_monthly_report",
    # errors
    "CashsimError": "cashsim.errors:CashsimError",
    "ParamsError": "cashsim.errors:ParamsError",
    "LedgerError": "cashsim.errors:LedgerError",
    "ModelError": "cashsim.errors:ModelError",
    "ReportError": "cashsim.errors:ReportError",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    target = _EXPORTS.get(name)
    if target is None:
        raise AttributeError(f"module 'cashsim' has no attribute {name!r}")
    module, _, attribute = target.partition(":")
    value = importlib.import_module(module)
    if attribute:
        value = getattr(value, attribute)
    globals()[name] = value  # resolved once
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
