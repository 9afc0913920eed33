"""``cashsim validate PARAMS.yml [--as-of DATE] [--rejections OUT.csv] [--show N]``: check a parameter file and the
ledger it points to, and print the ledger summary.

Prints customers, invoices, open and overdue amounts, the date range, the row accounting (rows read = rows used +
rows rejected), credit no invoice has taken (cash on account, credit notes), rejections by reason and the first
rejected rows, then notes by reason and the first notes (cells replaced or redirected on rows that were used).
Rejected rows are not fatal (exit 0); an invalid parameter file or an unreadable ledger
(:class:`~cashsim.errors.ParamsError`, :class:`~cashsim.errors.LedgerError`) is: ``cashsim.cli.main`` prints the
message and exits 2.

Example::

    cashsim validate params/demo.yml --rejections reports/rejections.csv
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pandas as pd

from cashsim import fmt
from cashsim.commands import check_writable
from cashsim.ledger import Ledger
from cashsim.params import load_params
from cashsim.sources import ledger_from_params


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("validate", help="check a params file and its ledger; print the ledger summary",
                              description=__doc__.splitlines()[0])
    p.add_argument("params", metavar="PARAMS.yml", help="parameter file (e.g. params/demo.yml)")
    p.add_argument("--as-of", default=None, metavar="DATE",
                   help="date of the open book (default: as_of of the params file, else the ledger's latest date)")
    p.add_argument("--rejections", default=None, metavar="OUT.csv",
                   help="write every rejected row to this CSV (a text starting a formula gets a quote in front)")
    p.add_argument("--show", type=int, default=10, metavar="N", help="rejected rows and notes to print (default 10)")
    p.set_defaults(func=run)


def summary_text(summary: dict[str, Any], *, company: str = "", locale: str = fmt.DEFAULT_LOCALE) -> str:
    """The ledger summary (``Ledger.summary()``) as a few aligned lines for the terminal."""
    cur = summary["currency"] or "EUR"

    def money(x: float) -> str:
        return fmt.money(x, locale=locale, currency=cur)

    def day(d: Any) -> str:
        return fmt.date(d, locale=locale) if d is not None and pd.notna(d) else "-"

    lines = [
        f"Ledger{' of ' + company if company else ''}, as of {day(summary['as_of'])}",
        f"  customers            {summary['customers']:>10,}   in {summary['segments']} segment(s)",
        f"  invoices             {summary['invoices']:>10,}   incl. {summary['credit_notes']:,} credit note(s)",
        f"  payments             {summary['payments']:>10,}",
        f"  promises / dunning   {summary['promises']:>10,} / {summary['dunning_actions']:,}",
        f"  dates                {day(summary['first_date'])} -> {day(summary['last_date'])}",
        f"  open amount          {money(summary['open_amount']):>16}   ({summary['open_invoices']:,} invoices)",
        f"  overdue amount       {money(summary['overdue_amount']):>16}   ({summary['overdue_invoices']:,} invoices)",
        f"  rows read / rejected {summary['rows_read']:>10,} / {summary['rows_rejected']:,}"
        f"   {'every row accounted for' if summary['balanced'] else 'ROWS UNACCOUNTED FOR'}",
    ]
    if summary.get("customer_credit"):
        lines.insert(-1, f"  unallocated credit   {money(summary['customer_credit']):>16}   "
                         f"({summary['customers_in_credit']:,} customer(s); cash on account "
                         f"{money(summary['cash_on_account'])})")
    if summary["rejections_by_reason"]:
        lines.append("Rejections by reason")
        lines += [f"  {count:>8,}  {reason}" for reason, count in summary["rejections_by_reason"].items()]
    if summary.get("notes_by_reason"):
        lines.append("Notes by reason (rows used, a cell replaced or redirected)")
        lines += [f"  {count:>8,}  {reason}" for reason, count in summary["notes_by_reason"].items()]
    return "\n".join(lines)


def _first_rows(table, n: int, what: str, heading: str) -> str:
    """The first ``n`` rows of a rejections or notes table, file names shortened to their base name."""
    if table.empty or n <= 0:
        return ""
    shown = table.head(n).assign(file=table["file"].head(n).map(lambda f: Path(f).name if "/" in f else f))
    head = f"First {len(shown)} of {len(table):,} {what}" if len(table) > n else heading
    return head + "\n" + shown.drop(columns="table").to_string(index=False, max_colwidth=50)


def rejections_text(ledger: Ledger, n: int) -> str:
    """The first ``n`` rejected rows (file, row, column, value, reason, detail)."""
    return _first_rows(ledger.rejections, n, "rejected rows", "Rejected rows")


def notes_text(ledger: Ledger, n: int) -> str:
    """The first ``n`` notes (file, row, column, value, used, reason)."""
    return _first_rows(ledger.notes, n, "notes", "Notes")


def run(args: argparse.Namespace) -> int:
    from cashsim.export import write_csv

    if args.rejections:
        check_writable(args.rejections, "--rejections")
    params = load_params(args.params)
    ledger = ledger_from_params(params)
    summary = ledger.summary(args.as_of or params.as_of)  # a bad --as-of raises LedgerError: exit 2
    print(summary_text(summary, company=params.company, locale=params.report.locale))
    for shown in (rejections_text(ledger, args.show), notes_text(ledger, args.show)):
        if shown:
            print(shown)
    if args.rejections:
        out = write_csv(ledger.rejections, args.rejections)
        print(f"all {len(ledger.rejections):,} rejected rows written to {out}")
    return 0
