"""The monthly report (*rapport mensuel de trésorerie*): the papermill run that writes ``reports/<company>/YYYY-MM/``
(:mod:`~cashsim.report.runner`), its HTML export (:mod:`~cashsim.report.html`) and ``summary.json``
(:mod:`~cashsim.report.summary`), and the short glue the report notebooks call (:mod:`~cashsim.report.views`,
:mod:`~cashsim.report.ledger_views`, :mod:`~cashsim.report.lever_views`).

Every name is importable from ``cashsim.report``; the notebooks do ``from cashsim import report`` and call
``report.load_run(...)``, ``report.answer_html(...)``, ``report.call_list_view(...)``...

Example::

    >>> from cashsim.report import run_monthly_report             # doctest: +SKIP
    >>> folder = run_monthly_report("params/demo.yml", "2026-11", n_paths=500)  # doctest: +SKIP
    >>> sorted(p.name for p in folder.iterdir())                    # doctest: +SKIP
    ['cashsim-report-2026-11.html', 'cashsim-report-2026-11.ipynb', 'plan-de-bataille-2026-11.xlsx', 'summary.json',
     'synthese-2026-11.pdf']
"""

# The package loads its modules on first use (PEP 562): ``cashsim report``'s driver imports the runner, the kernel and
# the HTML export only - not the views, the lever study or numba, which the notebook's kernel loads (it calls
# :func:`load_all` as it starts, :mod:`cashsim.report.kernel`); a name is looked up in its module once, then kept.

from __future__ import annotations

import importlib
import pkgutil

from cashsim.report.ahead import AHEAD as _AHEAD  # standard library only: the package stays light
from cashsim.report.ahead import prebuilt as _prebuilt

#: Module of the package (``cashsim.report.<module>``) -> the names it gives to ``cashsim.report``.
_MODULES = {
    "accounts": ("account_kpis", "account_kpis_view", "accounts_table", "accounts_view", "burn_view", "claims_period",
                 "owners", "promises_table", "promises_view", "split_table", "split_view"),
    "ahead": ("build_ahead", "prebuilt", "start_levers"),
    "figures": ("a4_figure", "aged_figure", "dso_figure", "forecast_figure", "p_met_figure", "report_figure",
                "weekly_figure"),
    "handouts": ("pdf_pages", "print_html", "print_parts", "start_pdf", "workbook_sheets", "write_handouts",
                 "write_pdf", "write_workbook"),
    "hindsight": ("hindsight_view", "run_forecast"),
    "html": ("export_html", "HIDDEN_TAGS"),
    "ledger_views": ("accounting_view", "aged_wide", "alerts_view", "call_list_view", "claims_view",
                     "customer_cost_view", "customers_view", "disputes_view", "kpi_view", "ledger_view",
                     "rejections_view", "segments_view"),
    "lever_views": ("actions_view", "levers", "levers_figures", "levers_month", "levers_view", "plan_summary",
                    "plan_view"),
    "resources": ("packaged_notebook", "packaged_params", "template_dir"),
    "runner": ("CELL_TIMEOUT", "check_month", "check_parameters", "company_slug", "html_path", "month_lock",
               "next_destination", "notebook_parameters", "params_hash", "report_as_of", "REPORT_ENV",
               "run_monthly_report", "versions"),
    "summary": ("read_summary", "summary_bundle", "SUMMARY_MIMETYPE"),
    "texts": ("section", "section_text", "SECTIONS", "title_text"),
    "views": ("answer_html", "forecast_months", "headline", "load_run", "month_figures", "months_view", "params_for",
              "report_month", "shortfall_view", "weekly_view"),
    "window": ("top_actions", "window_frame", "window_html", "window_summary"),
}
#: The views the report notebook calls that need no plan: their result is looked up among those built ahead while
#: the lever study runs (:mod:`cashsim.report.ahead`), else built now; the modules' own functions are left as they are.
_PREBUILT = frozenset(name for _, name, _ in _AHEAD)
_HOME = {name: module for module, names in _MODULES.items() for name in names}
#: The package's modules, importable as attributes (``report.kernel``) even before anything imported them.
_SUBMODULES = frozenset(m.name for m in pkgutil.iter_modules(__path__))

__all__ = sorted(_HOME, key=str.lower)


def __getattr__(name: str):
    """``cashsim.report.<name>``: the name from its module (imported now), or one of the package's modules."""
    module = _HOME.get(name)
    if module is None:
        if name in _SUBMODULES:
            return importlib.import_module(f"{__name__}.{name}")
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    if name in _PREBUILT:
        value = _prebuilt(value)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOME) | _SUBMODULES)


def load_all() -> None:
    """Load every module of the package and every name now (the report's kernel does as it starts)."""
    for name in __all__:
        if name not in globals():
            __getattr__(name)
