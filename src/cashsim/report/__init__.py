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

from cashsim.report.accounts import (
                                     account_kpis,
                                     account_kpis_view,
                                     accounts_table,
                                     accounts_view,
                                     burn_view,
                                     claims_period,
                                     owners,
                                     promises_table,
                                     promises_view,
                                     split_table,
                                     split_view,
)
from cashsim.report.ahead import build_ahead, prebuilt, start_levers
from cashsim.report.figures import (
                                     a4_figure,
                                     aged_figure,
                                     dso_figure,
                                     forecast_figure,
                                     p_met_figure,
                                     report_figure,
                                     weekly_figure,
)
from cashsim.report.handouts import (
                                     pdf_pages,
                                     print_html,
                                     start_pdf,
                                     workbook_sheets,
                                     write_handouts,
                                     write_pdf,
                                     write_workbook,
)
from cashsim.report.hindsight import hindsight_view, run_forecast
from cashsim.report.html import HIDDEN_TAGS, export_html
from cashsim.report.ledger_views import (
                                     accounting_view,
                                     aged_wide,
                                     alerts_view,
                                     call_list_view,
                                     claims_view,
                                     customer_cost_view,
                                     customers_view,
                                     disputes_view,
                                     kpi_view,
                                     ledger_view,
                                     rejections_view,
                                     segments_view,
)
from cashsim.report.lever_views import (
                                     actions_view,
                                     levers,
                                     levers_figures,
                                     levers_month,
                                     levers_view,
                                     plan_summary,
                                     plan_view,
)
from cashsim.report.resources import packaged_notebook, packaged_params, template_dir
from cashsim.report.runner import (
                                     CELL_TIMEOUT,
                                     REPORT_ENV,
                                     check_month,
                                     check_parameters,
                                     company_slug,
                                     html_path,
                                     month_lock,
                                     next_destination,
                                     notebook_parameters,
                                     params_hash,
                                     report_as_of,
                                     run_monthly_report,
                                     versions,
)
from cashsim.report.summary import SUMMARY_MIMETYPE, read_summary, summary_bundle
from cashsim.report.texts import SECTIONS, section, section_text, title_text
from cashsim.report.views import (
                                     answer_html,
                                     forecast_months,
                                     headline,
                                     load_run,
                                     month_figures,
                                     months_view,
                                     params_for,
                                     report_month,
                                     shortfall_view,
                                     weekly_view,
)
from cashsim.report.window import top_actions, window_frame, window_html, window_summary

# The views the report notebook calls that need no plan: their result is looked up among those built ahead while
# the lever study runs (report.ahead), else built now; the modules' own functions are left as they are.
months_view = prebuilt(months_view)
weekly_view = prebuilt(weekly_view)
hindsight_view = prebuilt(hindsight_view)
accounts_view = prebuilt(accounts_view)
weekly_figure = prebuilt(weekly_figure)
forecast_figure = prebuilt(forecast_figure)
p_met_figure = prebuilt(p_met_figure)
dso_figure = prebuilt(dso_figure)
aged_figure = prebuilt(aged_figure)
kpi_view = prebuilt(kpi_view)
account_kpis_view = prebuilt(account_kpis_view)
disputes_view = prebuilt(disputes_view)
claims_view = prebuilt(claims_view)
customer_cost_view = prebuilt(customer_cost_view)
alerts_view = prebuilt(alerts_view)
call_list_view = prebuilt(call_list_view)
shortfall_view = prebuilt(shortfall_view)
accounting_view = prebuilt(accounting_view)
rejections_view = prebuilt(rejections_view)

__all__ = ["CELL_TIMEOUT", "HIDDEN_TAGS", "REPORT_ENV", "SUMMARY_MIMETYPE", "accounting_view", "actions_view",
           "aged_wide", "alerts_view", "answer_html", "call_list_view", "check_month", "check_parameters",
           "claims_view", "company_slug", "customer_cost_view", "customers_view", "disputes_view", "export_html",
           "forecast_months", "headline", "html_path", "kpi_view", "ledger_view", "levers", "levers_figures",
           "levers_month", "levers_view", "load_run", "month_figures", "month_lock", "months_view", "next_destination",
           "notebook_parameters", "packaged_notebook", "packaged_params", "params_for", "params_hash", "plan_summary",
           "plan_view", "read_summary", "rejections_view", "report_as_of", "report_month", "run_monthly_report",
           "segments_view", "shortfall_view", "summary_bundle", "template_dir", "versions", "weekly_view",
           "SECTIONS", "a4_figure", "account_kpis", "account_kpis_view", "accounts_table", "accounts_view", "burn_view",
           "claims_period", "owners", "pdf_pages", "print_html", "promises_table", "promises_view", "report_figure",
           "section", "section_text", "split_table", "split_view", "start_pdf", "title_text", "top_actions",
           "window_frame", "window_html", "window_summary", "workbook_sheets", "write_handouts", "write_pdf",
           "write_workbook", "hindsight_view", "run_forecast", "build_ahead", "start_levers",
           "aged_figure", "dso_figure", "forecast_figure", "p_met_figure", "weekly_figure"]
