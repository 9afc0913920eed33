"""``cashsim validate PARAMS.yml [--as-of DATE] [--rejections OUT.csv] [--show N]``: check a parameter file and the
ledger it points to, and print the ledger summary.

Prints customers, invoices, open and overdue amounts, the date range, the row accounting (rows read = rows used +
rows rejected), credit no invoice has taken (cash on account, credit notes), rejections by reason and the first
rejected rows, then notes by reason and the first notes (cells replaced or redirected on rows that were used), in
the language of the output (:mod:`cashsim.commands`), each column named as the user's file names it (the params'
mapping undone); the ``--rejections`` CSV keeps English machine columns and values: ``column`` is cashsim's name of
the column, ``header`` the file's.
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

from cashsim import commands, fmt, i18n
from cashsim.commands import SUMMARIES, _, check_writable
from cashsim.ledger import Ledger, as_in_the_file, wording
from cashsim.sources import ledger_from_params


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("validate", help=_(SUMMARIES["validate"]),
                              description=_("Check a parameter file and the ledger it points to, and print the "
                                            "ledger summary."))
    p.add_argument("params", metavar="PARAMS.yml", help=_("parameter file (e.g. params/demo.yml)"))
    p.add_argument("--as-of", default=None, metavar="DATE",
                   help=_("date of the open book (default: as_of of the params file, else the ledger's latest "
                          "date)"))
    p.add_argument("--rejections", default=None, metavar="OUT.csv",
                   help=_("write every rejected row to this CSV, English machine columns (a text starting a formula "
                          "gets a quote in front)"))
    p.add_argument("--show", type=int, default=10, metavar="N",
                   help=_("rejected rows and notes to print (default 10)"))
    p.set_defaults(func=run)


def _groups_text(summary: dict[str, Any], tr, num) -> str:
    """"in 4 client groups, incl. 1 customer without a group": the customers without a client group (segment
    "all", modelled together) are no client group of their own."""
    groups, alone = summary["client_groups"], summary["customers_without_group"]
    n_ = tr.ngettext
    if not groups:
        return tr.gettext("no client group given")
    text = n_("in {n} client group", "in {n} client groups", groups).format(n=num(groups))
    if alone:
        text += n_(", incl. {n} customer without a group", ", incl. {n} customers without a group", alone).format(
            n=num(alone))
    return text


def summary_text(summary: dict[str, Any], *, company: str = "", locale: str = fmt.DEFAULT_LOCALE) -> str:
    """The ledger summary (``Ledger.summary()``) as a few aligned lines for the terminal, in the language and
    number formats of ``locale``."""
    tr = i18n.translator(locale)
    _, n_ = tr.gettext, tr.ngettext
    cur = summary["currency"] or "EUR"

    def money(x: float) -> str:
        return fmt.money(x, locale=locale, currency=cur)

    def num(x: float) -> str:
        return fmt.number(x, locale=locale)

    def day(d: Any) -> str:
        return fmt.date(d, locale=locale) if d is not None and pd.notna(d) else "-"

    rows = [  # (label, figure, comment)
        (_("customers"), num(summary["customers"]), _groups_text(summary, tr, num)),
        (_("invoices"), num(summary["invoices"]),
         n_("incl. {n} credit note", "incl. {n} credit notes", summary["credit_notes"]).format(
             n=num(summary["credit_notes"]))),
        (_("payments"), num(summary["payments"]), ""),
        (_("promises / dunning"), f"{num(summary['promises'])} / {num(summary['dunning_actions'])}", ""),
        (_("dates"), f"{day(summary['first_date'])} -> {day(summary['last_date'])}", ""),
        (_("open receivables"), money(summary["open_amount"]),
         "(" + n_("{n} invoice", "{n} invoices", summary["open_invoices"]).format(
             n=num(summary["open_invoices"])) + ")"),
        (_("overdue amount"), money(summary["overdue_amount"]),
         "(" + n_("{n} invoice", "{n} invoices", summary["overdue_invoices"]).format(
             n=num(summary["overdue_invoices"])) + ")"),
    ]
    if summary["customer_credit"]:
        rows.append((_("unallocated credit"), money(summary["customer_credit"]),
                     "(" + n_("{n} customer; cash on account {amount}", "{n} customers; cash on account {amount}",
                              summary["customers_in_credit"]).format(
                         n=num(summary["customers_in_credit"]), amount=money(summary["cash_on_account"])) + ")"))
    rows.append((_("rows read / rejected"), f"{num(summary['rows_read'])} / {num(summary['rows_rejected'])}",
                 _("every row accounted for") if summary["balanced"] else _("ROWS UNACCOUNTED FOR")))
    width = max(len(label) for label, _f, _c in rows)
    lines = [(_("Ledger of {company}, as of {date}") if company else _("Ledger, as of {date}")).format(
        company=company, date=day(summary["as_of"]))]
    lines += [f"  {label:<{width}} {figure:>18}   {comment}".rstrip() for label, figure, comment in rows]
    if summary["rejections_by_reason"]:
        lines.append(_("Rejections by reason"))
        lines += [f"  {num(count):>8}  {_(reason)}" for reason, count in summary["rejections_by_reason"].items()]
    if summary["notes_by_reason"]:
        lines.append(_("Notes by reason (rows used, a cell replaced or redirected)"))
        lines += [f"  {num(count):>8}  {_(reason)}" for reason, count in summary["notes_by_reason"].items()]
    return "\n".join(lines)


def _first_rows(table, n: int, heading: str, more: str, locale: str, text_cols: tuple[str, ...]) -> str:
    """The first ``n`` rows of a rejections or notes table for the reader: file names shortened to their base name,
    columns named by the file's own headers (:func:`cashsim.ledger.as_in_the_file`), headers and reasons
    translated, details and notes in the locale's words and number formats (:func:`cashsim.ledger.wording.translate`).
    """
    if table.empty or n <= 0:
        return ""
    _ = i18n.translator(locale).gettext
    shown = as_in_the_file(table.head(n).drop(columns="table"))
    shown["file"] = [Path(f).name if "/" in str(f) else str(f) for f in shown["file"]]
    shown["row"] = [str(int(r)) for r in shown["row"]]
    shown["reason"] = [_(str(r)) for r in shown["reason"]]
    for col in text_cols:  # a template's text in the locale's words; a single word (a fallback label) looked up
        shown[col] = [t if (t := wording.translate(x, locale)) != str(x) else _(str(x)) for x in shown[col]]
    shown = shown.rename(columns={c: _(c) for c in shown.columns})
    head = more.format(n=len(shown), total=fmt.number(len(table), locale=locale)) if len(table) > n else heading
    return head + "\n" + "\n".join(line.rstrip() for line in
                                    shown.to_string(index=False, max_colwidth=80).split("\n"))


def rejections_text(ledger: Ledger, n: int, locale: str = fmt.DEFAULT_LOCALE) -> str:
    """The first ``n`` rejected rows (file, row, column, value, reason, detail)."""
    _ = i18n.translator(locale).gettext
    return _first_rows(ledger.rejections, n, _("Rejected rows"), _("First {n} of {total} rejected rows"), locale,
                       ("detail",))


def afterwards(ledger: Ledger, notes: pd.DataFrame, as_of: Any, locale: str = fmt.DEFAULT_LOCALE) -> list[str]:
    """What became of the rest a note put on account (``NoteReason.MORE_THAN_OWED``), one text per note row: the
    invoices the allocation gave it to later, oldest due first (amount, invoice, date), and what is still on account
    at ``as_of``; "" for the other notes. Without it "350.00 on account" reads as cash still unapplied while the
    summary's cash on account is 0."""
    from cashsim.ledger.notes import NoteReason

    if all(r.reason != NoteReason.MORE_THAN_OWED for r in notes.itertuples()):
        return [""] * len(notes)   # no rest on account: no credits to group
    _ = i18n.translator(locale).gettext
    day = pd.Timestamp(as_of).normalize() if as_of is not None else None
    alloc, credits = ledger.allocations, ledger.credits_left(day)   # every note's credit, allocations up to as_of
    if day is not None:
        alloc = alloc[alloc["date"] <= day]

    def money(x: float) -> str:
        return fmt.number(x, locale=locale, decimals=2)

    out = []
    for r in notes.itertuples():
        if r.reason != NoteReason.MORE_THAN_OWED:
            out.append("")
            continue
        key = (r.table, r.file, r.row)
        mine = credits[(credits["table"] == key[0]) & (credits["file"] == key[1]) & (credits["row"] == key[2])]
        given = alloc[(alloc["table"] == key[0]) & (alloc["file"] == key[1]) & (alloc["row"] == key[2])]
        said = [_("{amount} to {invoice} on {date}").format(amount=money(g.amount), invoice=g.invoice_id,
                                                               date=fmt.date(g.date, locale=locale))
                for g in given.itertuples()]
        left = float(mine["left"].sum())   # the remainder the summary's cash on account counts (Ledger.credits_left)
        if day is not None and (mine["date"] > day).all():
            # a credit dated after as_of is not known at that date: the summary's cash on account leaves it out
            said.append(_("{amount} dated after {as_of}, not counted at that date").format(
                amount=money(left), as_of=fmt.date(day, locale=locale)))
        elif left > 0:
            said.append(_("{amount} still on account").format(amount=money(left)))
        out.append(_("then: {pieces}").format(pieces=", ".join(said)) if said else "")
    return out


def notes_text(ledger: Ledger, n: int, locale: str = fmt.DEFAULT_LOCALE, as_of: Any = None) -> str:
    """The first ``n`` notes (file, row, column, value, used, reason), and what became afterwards of a rest put on
    account (:func:`afterwards`, at ``as_of``) when a shown note put one there."""
    _ = i18n.translator(locale).gettext
    notes = ledger.notes
    then = afterwards(ledger, notes.head(n), as_of, locale) if n > 0 else []
    if any(then):
        notes = notes.assign(afterwards=then + [""] * (len(notes) - len(then)))
    return _first_rows(notes, n, _("Notes"), _("First {n} of {total} notes"), locale, ("used",))


def run(args: argparse.Namespace) -> int:
    from cashsim.export import write_csv

    if args.rejections:
        check_writable(args.rejections, "--rejections")
    params = commands.load(args.params)
    ledger = ledger_from_params(params)
    summary = ledger.summary(args.as_of or params.as_of)  # a bad --as-of raises LedgerError: exit 2
    loc = commands.locale()
    print(summary_text(summary, company=params.company, locale=loc))
    for shown in (rejections_text(ledger, args.show, loc), notes_text(ledger, args.show, loc, summary["as_of"])):
        if shown:
            print(shown)
    if args.rejections:
        out = write_csv(ledger.rejections, args.rejections)
        print(_("all {n} rejected rows written to {path}").format(n=commands.num(len(ledger.rejections)), path=out))
    return 0
