"""The :class:`Ledger`: the validated tables and what they say at any date (no look-ahead).

``known_at(as_of)`` keeps what was known at the end of that day; ``status(as_of)`` derives per invoice
``paid_to_date``, ``outstanding``, ``paid_date`` (first date cumulative payments reach ``|amount| - tol``),
``status``, ``days_late``, ``days_overdue`` and ``age_days`` (calendar days), ``credited`` and ``settled_by``
(:mod:`cashsim.ledger.settlement`); ``open_book`` is the *balance âgée*; ``customer_credits`` what customers have
paid or been credited that no invoice took (:mod:`cashsim.ledger.credits`); ``accounting`` checks rows read = rows
used + rows rejected. The semantics are in the package docstring.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from cashsim.errors import LedgerError
from cashsim.ledger.columns import ALLOCATION_COLUMNS, CREDIT_COLUMNS, OPEN_STATUSES, STATUSES, TABLES
from cashsim.ledger.credits import _empty
from cashsim.ledger.notes import _empty_notes
from cashsim.ledger.settlement import _settlement
from cashsim.ledger.tables import _main_currency

#: Days whose status table a ledger keeps (:meth:`Ledger.status`).
STATUS_MEMO = 4


def _day(as_of: Any) -> pd.Timestamp:
    try:
        day = pd.Timestamp(as_of)
    except (TypeError, ValueError) as exc:
        raise LedgerError.of("as_of {value} is not a date ({problem}); use e.g. '2026-10-31'", value=repr(as_of),
                             problem=exc) from None
    if pd.isna(day):
        raise LedgerError.of("as_of is missing; give a date such as '2026-10-31'")
    return day.tz_localize(None).normalize() if day.tzinfo else day.normalize()


def _blank_after(dates: pd.Series, as_of: pd.Timestamp) -> pd.Series:
    return dates.where(dates <= as_of)


@dataclass(frozen=True)
class Ledger:
    """A company's receivables history in canonical columns (see module docstring for the semantics).

    ``source_rows`` is rows read per table and ``rows_used`` rows kept (the customers table also holds customers
    seen only on invoices, and one payment on account can be several payment rows, so lengths cannot tell the rows
    used); ``accounting()`` checks that every row read was either used or rejected. ``notes`` lists the cells of
    used rows that were replaced or redirected (:mod:`cashsim.ledger.notes`). These describe the read and are kept
    unchanged by :meth:`known_at`. ``credits`` (CREDIT_COLUMNS) and ``allocations`` (ALLOCATION_COLUMNS) are cash on
    account and credit notes and where they went (:mod:`cashsim.ledger.credits`); :meth:`known_at` keeps those dated
    <= as_of.
    """

    invoices: pd.DataFrame
    payments: pd.DataFrame
    promises: pd.DataFrame
    dunning: pd.DataFrame
    customers: pd.DataFrame
    rejections: pd.DataFrame
    source_rows: dict[str, int]
    rows_used: dict[str, int] = field(default_factory=dict)
    notes: pd.DataFrame = field(default_factory=_empty_notes)
    credits: pd.DataFrame = field(default_factory=lambda: _empty(CREDIT_COLUMNS))
    allocations: pd.DataFrame = field(default_factory=lambda: _empty(ALLOCATION_COLUMNS))

    def __repr__(self) -> str:
        return (f"Ledger({len(self.invoices):,} invoices, {len(self.payments):,} payments, "
                f"{len(self.promises):,} promises, {len(self.dunning):,} dunning actions, "
                f"{len(self.customers):,} customers, {len(self.rejections):,} rejected rows)")

    # ---- time travel -------------------------------------------------------------------------------------------
    def known_at(self, as_of: Any) -> Ledger:
        """What was known at the end of ``as_of``: no look-ahead anywhere downstream.

        Invoices issued <= as_of; payments, promises, dunning, credits and allocations dated <= as_of; a dispute
        opened after as_of is unflagged (type blanked); resolutions and write-offs after as_of are blanked.

        **Undated disputes** (a flag without ``dispute_opened``, e.g. the IBM sample): the data cannot say when the
        flag became known, only that it is known at the extraction date (taken as :attr:`latest_date`). Before that
        date the flag is kept only on an invoice *closed by as_of* (fully paid, or written off, by as_of: the flag
        is then history) and is unflagged on an invoice still open at as_of (it may have been raised after as_of:
        keeping it would let the forecast of that invoice see its future). Example: an undated flag on an invoice
        paid 40 days after as_of is not known at as_of; on one paid before as_of it is.
        """
        day = _day(as_of)
        inv = self.invoices[(self.invoices["issue_date"] <= day).to_numpy()]
        not_yet = (inv["dispute_opened"] > day).to_numpy()
        undated = inv["disputed"].to_numpy(bool) & inv["dispute_opened"].isna().to_numpy()
        if undated.any():
            latest = self.latest_date
            if latest is None or day < latest:
                pays = self.payments[(self.payments["payment_date"] <= day).to_numpy()]
                given = self.allocations[(self.allocations["date"] <= day).to_numpy()]
                paid_date = _settlement(inv, pays, _credit_events(given)).paid_date
                closed = ~np.isnat(paid_date) | (inv["write_off_date"] <= day).to_numpy()
                not_yet = not_yet | (undated & ~closed)
        inv = inv.assign(
            disputed=inv["disputed"].to_numpy() & ~not_yet,
            dispute_opened=inv["dispute_opened"].where(~not_yet),
            dispute_type=inv["dispute_type"].where(~not_yet),
            dispute_resolved=_blank_after(inv["dispute_resolved"], day),
            write_off_date=_blank_after(inv["write_off_date"], day),
        ).reset_index(drop=True)
        return replace(
            self, invoices=inv,
            payments=self.payments[(self.payments["payment_date"] <= day).to_numpy()].reset_index(drop=True),
            promises=self.promises[(self.promises["made_date"] <= day).to_numpy()].reset_index(drop=True),
            dunning=self.dunning[(self.dunning["action_date"] <= day).to_numpy()].reset_index(drop=True),
            credits=self.credits[(self.credits["date"] <= day).to_numpy()].reset_index(drop=True),
            allocations=self.allocations[(self.allocations["date"] <= day).to_numpy()].reset_index(drop=True),
        )

    # ---- derived state -----------------------------------------------------------------------------------------
    def status(self, as_of: Any) -> pd.DataFrame:
        """One row per invoice issued <= as_of, with what was known at the end of that day.

        Adds ``paid_to_date`` (sum of payments), ``outstanding`` (amount - paid_to_date - credited; 0 once written
        off), ``paid_date`` (the date it was settled, :mod:`cashsim.ledger.settlement`; NaT unless by as_of),
        ``status`` (see :data:`STATUSES`; ``paid`` = settled, by cash or credit), ``days_late`` (paid_date - due_date,
        signed calendar days, NaN if not paid, a credit note, or settled by a credit note), ``days_overdue`` (as_of -
        due_date, NaN if paid or a credit note; negative = not yet due), ``age_days`` (as_of - issue_date),
        ``credited`` (credit notes given to it, signed like the amount; 0 without allocated credit notes) and
        ``settled_by`` (``payment`` | ``credit``, NA unless paid). ``customer_type`` and ``owner`` come with the
        invoice ("company" / "" when the table lacks them).

        The table of a day is computed once per ledger and kept for the :data:`STATUS_MEMO` days asked last (a
        report asks for its as-of date's status some fifty times); each call returns its own copy. A ledger's tables
        are never modified in place (it is frozen; :meth:`known_at` and ``dataclasses.replace`` make new ledgers).
        """
        day = _day(as_of)
        memo = self.__dict__.setdefault("_status_memo", {})  # not a dataclass field: digests and replace() ignore it
        if day in memo:
            memo[day] = memo.pop(day)  # most recently used last
        else:
            memo[day] = self._status(day)
            while len(memo) > STATUS_MEMO:
                memo.pop(next(iter(memo)))
        return memo[day].copy()

    def _status(self, day: pd.Timestamp) -> pd.DataFrame:
        known = self.known_at(day)
        inv = known.invoices
        amount = inv["amount"].to_numpy(dtype=float)
        settled = _settlement(inv, known.payments, _credit_events(known.allocations))
        paid_to_date, paid_date = settled.paid, settled.paid_date
        is_paid = ~np.isnat(paid_date)
        credit = amount < 0
        written_off = inv["write_off_date"].notna().to_numpy() & ~is_paid
        due = inv["due_date"].to_numpy()
        overdue = ~is_paid & ~written_off & ~credit & (due < np.datetime64(day))
        status = np.select([is_paid, written_off, overdue], ["paid", "written_off", "overdue"], "open_not_due")
        one_day = np.timedelta64(1, "D")
        days_late = np.where(is_paid & ~credit & ~settled.by_credit, (paid_date - due) / one_day, np.nan)
        days_overdue = np.where(~is_paid & ~credit, (np.datetime64(day) - due) / one_day, np.nan)
        age = (np.datetime64(day) - inv["issue_date"].to_numpy()) / one_day
        settled_by = np.where(is_paid, np.where(settled.by_credit, "credit", "payment"), None)
        if "customer_type" not in inv or "owner" not in inv:  # a table built without read_ledger
            inv = inv.assign(customer_type=inv.get("customer_type", "company"), owner=inv.get("owner", ""))
        return inv.assign(
            paid_to_date=paid_to_date,
            outstanding=np.where(written_off, 0.0, amount - paid_to_date - settled.credited),
            paid_date=pd.Series(paid_date, dtype="datetime64[ns]"),
            status=pd.Categorical(status, categories=STATUSES),
            days_late=days_late, days_overdue=days_overdue, age_days=age,
            credited=settled.credited, settled_by=pd.Series(settled_by, dtype="str"),
        )

    def open_book(self, as_of: Any) -> pd.DataFrame:
        """The open items at the end of ``as_of`` (*balance âgée*): status rows that are open_not_due or overdue.

        Open credit notes are included with a negative ``outstanding`` (they net the customer's balance); filter
        ``amount > 0`` before simulating inflows.
        """
        st = self.status(as_of)
        return st[st["status"].isin(OPEN_STATUSES).to_numpy()].reset_index(drop=True)

    def credits_left(self, as_of: Any = None) -> pd.DataFrame:
        """:attr:`credits` with ``left``: what of each credit row (cash on account, a credit note) no invoice has
        taken in :attr:`allocations` (those dated <= ``as_of`` when given, as ``known_at(as_of)`` keeps them),
        rounded to the cent (0 once fully allocated)."""
        cr = self.credits
        key = ["table", "file", "row"]
        given = self.allocations if as_of is None else self.allocations[(self.allocations["date"] <= _day(as_of))
                                                                        .to_numpy()]
        used = given.groupby(key)["amount"].sum()
        left = (cr["amount"] - used.reindex(pd.MultiIndex.from_frame(cr[key])).fillna(0.0).to_numpy()).round(2)
        return cr.assign(left=left.to_numpy())

    @property
    def customer_credits(self) -> pd.DataFrame:
        """Customer credit balances (*avoirs et acomptes non imputés*): per customer, what it paid on account or was
        credited that no invoice has taken, at the end of the ledger (``known_at(d).customer_credits`` for a date d).

        Columns: customer_id, amount (= cash + credit_notes, > 0), cash, credit_notes (these remainders are also the
        open negative items of their credit notes in the open book), rows (the source rows, e.g. "payments row 12").
        """
        cr = self.credits_left()
        cr = cr[cr["left"].to_numpy() > 0]
        cr = cr.assign(cash=cr["left"].where(cr["kind"] == "cash", 0.0),
                       credit_notes=cr["left"].where(cr["kind"] == "credit", 0.0),
                       rows=cr["table"] + " row " + cr["row"].astype(str))
        out = cr.groupby("customer_id", sort=True).agg(amount=("left", "sum"), cash=("cash", "sum"),
                                                       credit_notes=("credit_notes", "sum"), rows=("rows", "; ".join))
        return out.reset_index().astype({"customer_id": "str", "amount": float, "cash": float,
                                         "credit_notes": float, "rows": "str"})

    # ---- reporting ---------------------------------------------------------------------------------------------
    @property
    def currency(self) -> str | None:
        """The ledger's single currency (the minority ones were rejected)."""
        return _main_currency(self.invoices["currency"])

    @property
    def latest_date(self) -> pd.Timestamp | None:
        """The standing date by default: the latest date posted in the books — invoice (or credit note) issue,
        payment, write-off — at midnight; None for an empty ledger. Operational logs (dispute dates, dunning,
        promises) can be planned or typed ahead, so they never move it.

        One rule for ``cashsim validate``, ``forecast``, ``report`` (:func:`cashsim.pipeline.resolve_as_of`) and the
        backtest's last known date (:func:`cashsim.backtest.ledger_last_date`); docs/design.md."""
        dates = [self.invoices["issue_date"].max(), self.payments["payment_date"].max(),
                 self.invoices["write_off_date"].max()]
        dates = [d for d in dates if pd.notna(d)]
        return pd.Timestamp(max(dates)).normalize() if dates else None

    def accounting(self) -> pd.DataFrame:
        """Rows read, used and rejected per table; ``balanced`` is True when read = used + rejected."""
        rejected = self.rejections["table"].value_counts()
        out = pd.DataFrame({
            "rows_read": pd.Series(self.source_rows, dtype="int64"),
            "rows_used": pd.Series(self.rows_used, dtype="int64"),
        }).reindex(list(TABLES)).fillna(0).astype("int64")
        out["rows_rejected"] = rejected.reindex(out.index).fillna(0).astype("int64")
        out["balanced"] = out["rows_read"] == out["rows_used"] + out["rows_rejected"]
        out.index.name = "table"
        return out

    def summary(self, as_of: Any = None) -> dict[str, Any]:
        """Headline figures for ``cashsim validate``: counts, open and overdue amounts at ``as_of`` (default: the
        latest date in the ledger), date range, rejections and notes by reason, and the row accounting.

        ``open_amount`` nets open credit notes (as the open book does); ``cash_on_account`` is cash no invoice has
        taken at ``as_of``, so a customer balance is ``open_amount - cash_on_account``; ``customer_credit`` adds the
        credit notes' remainders (``customers_in_credit`` customers). ``payments`` counts payment rows used.
        ``segments`` counts segment "all" too (the customers without a client group, modelled together);
        ``client_groups`` leaves it out and ``customers_without_group`` counts its customers."""
        day = _day(as_of) if as_of is not None else (self.latest_date or pd.Timestamp("today").normalize())
        st = self.status(day)
        open_ = st[st["status"].isin(OPEN_STATUSES).to_numpy()]
        overdue = st[(st["status"] == "overdue").to_numpy()]
        acc = self.accounting()
        credits = self.known_at(day).customer_credits
        return {
            "as_of": day,
            "currency": self.currency,
            "customers": int(self.invoices["customer_id"].nunique()),
            "segments": int(self.invoices["segment"].nunique()),
            "client_groups": int(self.invoices.loc[self.invoices["segment"] != "all", "segment"].nunique()),
            "customers_without_group": int(self.invoices.loc[self.invoices["segment"] == "all",
                                                             "customer_id"].nunique()),
            "invoices": len(self.invoices),
            "credit_notes": int((self.invoices["amount"] < 0).sum()),
            "payments": int(self.rows_used.get("payments", len(self.payments))),
            "promises": len(self.promises),
            "dunning_actions": len(self.dunning),
            "first_date": self.invoices["issue_date"].min() if len(self.invoices) else None,
            "last_date": self.latest_date,
            "invoiced_amount": float(self.invoices["amount"].sum()),
            "open_invoices": len(open_),
            "open_amount": float(open_["outstanding"].sum()),
            "overdue_invoices": len(overdue),
            "overdue_amount": float(overdue["outstanding"].sum()),
            "written_off_invoices": int((st["status"] == "written_off").sum()),
            "disputed_open": int(open_["disputed"].sum()),
            "cash_on_account": float(credits["cash"].sum()),
            "customer_credit": float(credits["amount"].sum()),
            "customers_in_credit": len(credits),
            "rows_read": int(acc["rows_read"].sum()),
            "rows_rejected": len(self.rejections),
            "rejections_by_reason": self.rejections["reason"].value_counts().to_dict(),
            "balanced": bool(acc["balanced"].all()),
            "rows_noted": len(self.notes),
            "notes_by_reason": self.notes["reason"].value_counts().to_dict(),
        }



def _credit_events(allocations: pd.DataFrame) -> pd.DataFrame:
    """Credit notes given to invoices, as settlement events of both: the invoice (+amount) and the credit note
    (the part of it used)."""
    notes = allocations[(allocations["kind"] == "credit").to_numpy()]
    return pd.DataFrame({
        "invoice_id": np.concatenate([notes["invoice_id"].to_numpy(dtype=object),
                                      notes["source_id"].to_numpy(dtype=object)]),
        "date": np.concatenate([notes["date"].to_numpy("datetime64[ns]")] * 2),
        "amount": np.concatenate([notes["amount"].to_numpy(float)] * 2)})
