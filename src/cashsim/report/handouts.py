"""The hand-outs written beside the HTML report: the *plan de bataille* workbook and a short A4 PDF summary.

- ``plan-de-bataille-YYYY-MM.xlsx`` (openpyxl through :func:`cashsim.export.write_xlsx`, every text cell safe from
  formula injection): the whole window (one row per month), one sheet of actions per owner (collector or sales rep;
  *non attribué* when the customers file names none), the call list per account, the open-receivables split, the
  plan's actions, the KPIs per account and per client group. Sheet names are at most 31 characters (Excel's limit),
  without ``[]:*?/\\``, unique.
- ``synthese-YYYY-MM.pdf``: a dedicated print page (A4 portrait, 12 mm margins, two charts of 17 cm with their
  legends below the plot) printed by headless Chromium (``chromium --headless --print-to-pdf``); 2-3 pages. When no
  Chromium is found (``CASHSIM_CHROMIUM`` or ``chromium`` / ``chromium-browser`` / ``google-chrome`` on PATH) or it
  fails, the PDF is skipped: :func:`write_pdf` writes ``PDF-NON-GENERE.txt`` saying why, and the report still
  succeeds.

Example::

    >>> files = write_handouts(run, plan, folder, "2026-11")          # doctest: +SKIP
    >>> [f["file"] for f in files]                                  # doctest: +SKIP
    ['plan-de-bataille-2026-11.xlsx', 'synthese-2026-11.pdf']
"""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pandas as pd

from cashsim import export, fmt
from cashsim.report.views import forecast_months
from cashsim.report.words import action_text, bucket_labels, lever_name, run_locale, tr, translate_values

#: Seconds Chromium may take to print the summary.
PDF_TIMEOUT = 120
#: Accounts of the call list on the print page: with its caption (why its promise columns show zeros or dashes, that
#: the ledger records no dunning) the demo's summary stays on 3 A4 pages (12 made it 4).
PRINT_ACCOUNTS = 10
_BAD_SHEET = re.compile(r"[\[\]:*?/\\]")

PRINT_CSS = """
@page { size: A4 portrait; margin: 12mm; }
body { font-family: "DejaVu Sans", Arial, sans-serif; font-size: 9pt; color: #222; margin: 0; }
h1 { font-size: 15pt; margin: 0 0 2mm 0; } h2 { font-size: 12pt; margin: 4mm 0 1.5mm 0; }
h3 { font-size: 10pt; margin: 3mm 0 1mm 0; } p { margin: 1mm 0; }
table { border-collapse: collapse; width: 100%; margin: 1mm 0 2mm 0; page-break-inside: auto; }
tr { page-break-inside: avoid; }
th, td { border-bottom: 0.3pt solid #bbb; padding: 0.6mm 1.2mm; text-align: right; font-size: 8pt; }
th:first-child, td:first-child { text-align: left; }
thead th { background: #eef2f7; }
caption { caption-side: bottom; text-align: left; font-size: 7.5pt; color: #555; }
.cashsim-met { color: #1a7f37; font-weight: bold; } .cashsim-missed { color: #b42318; font-weight: bold; }
.cashsim-owner { color: #555; font-size: 8pt; }
.chart { width: 180mm; height: 80mm; page-break-inside: avoid; }
.page-break { page-break-before: always; }
"""


def _sheet_name(name: str, used: set[str]) -> str:
    base = _BAD_SHEET.sub("-", str(name)).strip("'") or "-"
    base = base[:31]
    out, k = base, 2
    while out.lower() in used:
        suffix = f" ({k})"
        out, k = base[:31 - len(suffix)] + suffix, k + 1
    used.add(out.lower())
    return out


def _labelled(frame: pd.DataFrame, labels: dict[str, str]) -> pd.DataFrame:
    return frame[[c for c in labels if c in frame.columns]].rename(columns=labels)


def workbook_sheets(run, plan) -> dict[str, pd.DataFrame]:
    """The workbook's sheets (name -> frame), in the reader's language; figures stay numbers (euros, shares). The
    call-list sheets carry the page's sentences in ``attrs["notes"]`` (no promise recorded, no dunning recorded),
    which :func:`cashsim.export.write_xlsx` writes below the table."""
    from cashsim.report.accounts import account_kpis, accounts_table, call_list_notes, split_table
    from cashsim.report.window import window_frame

    _ = tr(run)
    loc = run.params.report.locale
    used: set[str] = set()
    sheets: dict[str, pd.DataFrame] = {}
    win = window_frame(run, plan)
    win["month"] = [fmt.month_name(m, locale=loc) for m in win["month"]]
    sheets[_sheet_name(_("Window"), used)] = _labelled(win, {
        "month": _("month"), "target_p50": _("target"), "collections_p50": _("forecast (median)"),
        "p_target_met": _("P(target met) without the plan"), "p_with_plan": _("P(target met) with the plan"),
        "required_probability": _("required probability"), "expected_shortfall": _("expected shortfall"),
        "financing_needed": _("financing to bridge")})
    accounts = translate_values(accounts_table(run), run, ["segment"])  # client groups in the reader's words
    acc_labels = {"rank": "#", "customer_id": _("customer id"), "customer_name": _("customer"), "owner": _("owner"),
                  "segment": _("client group"), "open": _("open"), "overdue": _("overdue"),
                  "max_days_overdue": _("days overdue (oldest)"), "next_action": _("next step"),
                  "promises_pending": _("promises pending"), "promises_broken": _("promises broken"),
                  "keep_rate": _("promises kept"), "disputes_past_sla": _("disputes past SLA"),
                  "claimable": _("claimable penalties")}
    work = accounts.loc[accounts["overdue"] > 0]

    def noted(frame: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:  # the page's sentences, below the table
        frame.attrs["notes"] = call_list_notes(run, rows)
        return frame

    for owner, rows in work.groupby("owner", sort=True):
        name = _sheet_name(_("Actions {owner}").format(owner=owner), used)
        sheets[name] = noted(_labelled(rows.assign(done="", comment=""), acc_labels | {"done": _("done"),
                                                                                       "comment": _("comment")}), rows)
    sheets[_sheet_name(_("Call list"), used)] = noted(_labelled(accounts, acc_labels), accounts)
    split = split_table(run)
    names = {"not_due_reliable": _("not yet due, reliable payers"),
             "not_due_less_reliable": _("not yet due, less reliable payers"),
             "overdue_reliable": _("overdue, reliable payers"),
             "overdue_less_reliable": _("overdue, less reliable payers"), "total": _("total")}
    split["quadrant"] = split["quadrant"].map(names)
    split_labels = {"quadrant": _("open receivables"), "n_customers": _("customers"), "n_invoices": _("invoices"),
                    "amount": _("amount"), "share": _("share")}
    split_labels |= {c: _("expected in {month}").format(month=fmt.month_name(c.removeprefix("expected_"), locale=loc))
                     for c in split.columns if c.startswith("expected_")}
    sheets[_sheet_name(_("Receivables split"), used)] = _labelled(split, split_labels)
    acts = getattr(plan, "actions", None)
    if acts is not None and len(acts):
        from cashsim import kpi

        shown = acts.assign(lever=[lever_name(x, loc) for x in acts["lever"]],
                            action=[action_text(x, loc) for x in acts["action"]],
                            customer=acts["customer_id"].map(kpi.customer_names(run.ledger)))
        sheets[_sheet_name(_("Plan actions"), used)] = _labelled(shown, {
            "lever": _("lever"), "customer_id": _("customer id"), "customer": _("customer"),
            "invoice_id": _("invoice"), "amount": _("amount"), "action": _("action")})
    kpi_labels = {"group": _("customer id"), "customer_name": _("customer"), "ar": _("receivables"),
                  "dso_countback": _("DSO (countback, days)")} | bucket_labels(run)
    kpi_labels |= {"late_rate_count": _("late (count)"), "late_rate_amount": _("late (amount)"),
                   "dispute_days": _("median days to resolve a dispute")}
    sheets[_sheet_name(_("KPIs per account"), used)] = _labelled(account_kpis(run, "customer_id"), kpi_labels)
    sheets[_sheet_name(_("KPIs per group"), used)] = _labelled(
        translate_values(account_kpis(run, "segment"), run, ["group"]), kpi_labels | {"group": _("client group")})
    return sheets


def write_workbook(run, plan, path: str | Path) -> Path:
    """The *plan de bataille* workbook (:func:`workbook_sheets`) at ``path``, formula-injection safe."""
    return export.write_xlsx(workbook_sheets(run, plan), path)


def _figure_div(fig, div_id: str, include_js: bool) -> str:
    fig = fig.update_layout(width=680, height=300, margin=dict(l=60, r=20, t=40, b=70),
                            legend=dict(orientation="h", yanchor="top", y=-0.2, x=0, font=dict(size=10)))
    return fig.to_html(full_html=False, include_plotlyjs=include_js, div_id=div_id,
                       config={"staticPlot": True, "displayModeBar": False})


def print_html(run, plan, month: str) -> str:
    """The print page of the summary: the whole window, the three actions, the receivables split, the first
    accounts of the call list, promises, the burn and two charts (forecast fan, P(target met)) sized for A4. Only
    the window needs the plan: the rest (:func:`print_parts`) is built ahead, while the lever study runs
    (:mod:`cashsim.report.ahead`), when the report's notebook runs."""
    from cashsim.report.ahead import prebuilt
    from cashsim.report.window import window_html

    before, after = prebuilt(print_parts)(run, month)
    return "\n".join([before, window_html(run, plan, print_version=True), after])


def print_parts(run, month: str) -> tuple[str, str]:
    """The print page (:func:`print_html`) before and after its window, which needs the plan: the head, title and
    data stamp; then the two charts, the receivables split, the call list's first accounts, promises and burn."""
    from cashsim.report.accounts import accounts_view, burn_view, promises_view, split_view
    from cashsim.report.figures import a4_figure, collections_fan, p_met_bars

    _ = tr(run)
    loc = run_locale(run)
    fan = a4_figure(collections_fan(run), forecast_months(run), prefix="collections_")
    bars = a4_figure(p_met_bars(run))
    title = _("{company}: cash collections, {month}").format(
        company=run.params.company, month=fmt.month_name(month, locale=loc["locale"]))
    stamp = _("Data as of {date}; {paths} simulated paths.").format(
        date=fmt.date(run.as_of, locale=loc["locale"]), paths=fmt.number(run.sim.n_paths, locale=loc["locale"]))
    before = [f'<!DOCTYPE html><html lang="{fmt.parse_locale(loc["locale"]).language}"><head><meta charset="utf-8">',
              f"<title>{html.escape(title)}</title><style>{PRINT_CSS}</style></head><body>",
              f"<h1>{html.escape(title)}</h1><p>{html.escape(stamp)}</p>"]
    after = [f"<h2>{html.escape(_('Forecast against the target'))}</h2>",
             f'<div class="chart">{_figure_div(fan, "fan", True)}</div>',
             f'<div class="chart">{_figure_div(bars, "bars", False)}</div>',
             f'<h2>{html.escape(_("Open receivables: due or not, reliable or not"))}</h2>',
             split_view(run).to_html(),
             f"<h2>{html.escape(_('Call list by account'))}</h2>",
             accounts_view(run, top=PRINT_ACCOUNTS).to_html(),
             f"<h2>{html.escape(_('Promises to pay'))}</h2>", promises_view(run).to_html(),
             f"<h2>{html.escape(_('What must be paid out'))}</h2>", burn_view(run).to_html(),
             "</body></html>"]
    return "\n".join(before), "\n".join(after)


def find_chromium() -> str | None:
    """The Chromium to print with: ``CASHSIM_CHROMIUM`` if set, else the first of chromium, chromium-browser,
    google-chrome on PATH (None when there is none)."""
    given = os.environ.get("CASHSIM_CHROMIUM")
    if given:
        return given if Path(given).exists() or shutil.which(given) else None
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


def write_pdf(page: str, path: str | Path) -> tuple[Path | None, str | None]:
    """Print the HTML ``page`` to the PDF ``path`` with headless Chromium: (path, None), or (None, the reason) when
    it could not (no Chromium, a failure, a timeout); the reason is also written to ``PDF-NON-GENERE.txt`` beside."""
    path = Path(path)
    browser = find_chromium()
    reason = None
    if browser is None:
        reason = ("Chromium not found (install the chromium package or set CASHSIM_CHROMIUM): the PDF summary was "
                  "not written; the HTML report and the workbook are complete.")
    else:
        with tempfile.TemporaryDirectory(prefix="cashsim-print-") as tmp:
            source = Path(tmp) / "print.html"
            source.write_text(page, encoding="utf-8")
            command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
                       f"--user-data-dir={Path(tmp) / 'profile'}", "--virtual-time-budget=20000",
                       f"--print-to-pdf={path}", source.as_uri()]
            try:
                done = subprocess.run(command, capture_output=True, timeout=PDF_TIMEOUT, check=False)
                if done.returncode != 0 or not path.exists() or path.stat().st_size == 0:
                    reason = (f"Chromium ({browser}) could not print the PDF summary (exit {done.returncode}): "
                              f"{done.stderr.decode(errors='replace')[-400:].strip()}")
            except (OSError, subprocess.TimeoutExpired) as exc:
                reason = f"Chromium ({browser}) could not print the PDF summary: {type(exc).__name__}: {exc}"
    if reason is not None:
        (path.parent / "PDF-NON-GENERE.txt").write_text(reason + "\n", encoding="utf-8")
        if path.exists():
            path.unlink()
        return None, reason
    return path, None


def pdf_pages(path: str | Path) -> int:
    """Pages of a PDF, counted as ``/Type /Page`` objects (not ``/Pages``): enough for Chromium's output."""
    data = Path(path).read_bytes()
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", data))


def start_pdf(run, plan, folder: str | Path, month: str) -> Future:
    """Start printing the PDF summary into ``folder``: the print page (:func:`print_html`) is built now, Chromium
    prints it in a background thread while the caller goes on (the report notebook starts it as soon as the plan is
    known, so the print runs beside the report's remaining cells); :func:`write_handouts` collects it. The future's
    result is :func:`write_pdf`'s."""
    page = print_html(run, plan, month)
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cashsim-pdf")
    try:
        return pool.submit(write_pdf, page, Path(folder) / f"synthese-{month}.pdf")
    finally:
        pool.shutdown(wait=False)  # the thread ends with the print


def write_handouts(run, plan, folder: str | Path, month: str, printing: Future | None = None) -> list[dict]:
    """Write the workbook and the PDF summary into ``folder``; returns what summary.json lists under ``handouts``:
    ``[{"kind", "file", "written", "reason"}]``. The PDF is the one :func:`start_pdf` started (``printing``), else
    it is started now: Chromium (a process of its own, a second or two) prints while the workbook is built."""
    folder = Path(folder)
    out = []
    printing = printing if printing is not None else start_pdf(run, plan, folder, month)
    xlsx = write_workbook(run, plan, folder / f"plan-de-bataille-{month}.xlsx")
    pdf, reason = printing.result()
    out.append({"kind": "workbook", "file": xlsx.name, "written": True, "reason": None})
    out.append({"kind": "pdf_summary", "file": f"synthese-{month}.pdf", "written": pdf is not None,
                "reason": reason, **({"pages": pdf_pages(pdf)} if pdf is not None else {})})
    return out
