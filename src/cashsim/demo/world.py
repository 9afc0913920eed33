"""The whole demo company drawn at once (customers, invoices, disputes, payments, dunning, promises, credit notes,
write-offs), and its ledger tables cut at ``AS_OF``.

Each part draws from its own child stream of ``SeedSequence(seed)`` (customers, invoices, month shocks, disputes,
payments, instalments and write-offs; the seventh seeds the truth Monte Carlo), so the same seed gives the same
tables bit for bit. A never-paid invoice is written off on the business day 180 to 300 days after its due date.
Some undisputed transfer/cheque invoices (``INSTALMENT_SHARE``) are paid in two instalments, the second on the
full-payment day. The cut keeps what was known at the end of ``as_of``: later invoices, payments, promises and
dunning actions are removed, later dispute openings, resolutions and write-offs blanked.

Example::

    >>> tables = _cut(_build_world(7))
    >>> sorted(tables)
    ['customers', 'dunning', 'invoices', 'payments', 'promises']
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cashsim.calendar import next_business_day
from cashsim.demo.customers import _customers
from cashsim.demo.disputes import _disputes
from cashsim.demo.invoices import _invoices, month_effects
from cashsim.demo.laws import _NEVER, AS_OF, DUNNING_PLAN, FIRST_INSTALMENT_GAP, INSTALMENT_SHARE, RHO_MONTH
from cashsim.demo.payments import _settle, _Settled, next_payment_run
from cashsim.ledger import INVOICE_COLUMNS
from cashsim.seeding import SeedLike, child, seed_sequence


@dataclass(frozen=True)
class _World:
    """Everything the generator drew, before the cut at AS_OF."""

    customers: pd.DataFrame      # with true parameters
    invoices: pd.DataFrame       # full life of every invoice incl. after AS_OF (ledger columns + truth columns)
    payments: pd.DataFrame       # every payment row (invoice_id, payment_date, amount), also after AS_OF
    promises: pd.DataFrame
    dunning: pd.DataFrame
    months: pd.DataFrame         # month shocks
    truth_seed: np.random.SeedSequence  # stream of the truth Monte Carlo


def _to_ts(days: np.ndarray) -> np.ndarray:
    """int day numbers -> datetime64[ns] (``_NEVER`` and negative sentinels -> NaT)."""
    days = np.asarray(days, dtype=np.int64)
    out = days.astype("datetime64[D]").astype("datetime64[ns]")
    return np.where((days >= _NEVER) | (days < 0), np.datetime64("NaT", "ns"), out)


def _build_world(seed: SeedLike, history_seed: int | None = None) -> _World:
    """Draw the whole company: customers, invoices, disputes, payments, dunning, promises, credit notes.

    ``history_seed`` (default: ``seed``) redraws the month shocks, disputes and payments of the same customers and
    invoices: another history of the same company, for studies of the spread of monthly collections.
    """
    *streams, truth_seed = seed_sequence(seed).spawn(7)
    if history_seed is not None:
        streams[2:] = child(seed, history_seed).spawn(4)
    r_cust, r_inv, r_month, r_disp, r_pay, r_split = (np.random.default_rng(s) for s in streams)
    cust = _customers(r_cust)
    inv = _invoices(r_inv, cust)
    months = month_effects(r_month)
    c = inv["cust"].to_numpy()
    issue, due = inv["issue"].to_numpy(), inv["due"].to_numpy()
    run1, run2 = cust["run_day_1"].to_numpy()[c], cust["run_day_2"].to_numpy()[c]
    disp = _disputes(r_disp, inv, cust["dispute_rate"].to_numpy()[c])
    due_month = pd.DatetimeIndex(_to_ts(due)).strftime("%Y-%m")
    m = months.loc[due_month]
    scale = cust["scale"].to_numpy()[c]
    shock = scale * np.sqrt(RHO_MONTH) * m["M"].to_numpy() + m["effect"].to_numpy()
    direct_debit = cust["payment_method"].to_numpy()[c] == "direct_debit"
    settled = _settle(r_pay, issue=issue, due=due, mu=cust["mu"].to_numpy()[c], scale=scale, shock=shock,
                      p_never=cust["p_never"].to_numpy()[c], direct_debit=direct_debit, run1=run1, run2=run2,
                      disputed=disp["disputed"].to_numpy(), ready=disp["ready"].to_numpy(),
                      promise_rate=cust["promise_rate"].to_numpy()[c], promise_keep=cust["promise_keep"].to_numpy()[c])
    n = len(inv)
    year = pd.DatetimeIndex(_to_ts(issue)).year.to_numpy()
    seq = pd.Series(np.ones(n, int)).groupby(year).cumsum().to_numpy()
    ids = np.char.add(np.char.add(np.char.add("F", year.astype(str)), "-"), np.char.zfill(seq.astype(str), 5))
    amount = inv["amount"].to_numpy()
    paid = ~settled.never
    write_off, split, first_day, first_amt = _write_offs_and_instalments(
        r_split, issue=issue, due=due, amount=amount, settled=settled, disputed=disp["disputed"].to_numpy(),
        direct_debit=direct_debit, run1=run1, run2=run2)

    # payments: full on the pay day, or two instalments (the second on the pay day)
    pay_rows = pd.DataFrame({
        "invoice_id": np.concatenate([ids[split], ids[paid]]),
        "payment_date": _to_ts(np.concatenate([first_day[split], settled.pay[paid]])),
        "amount": np.concatenate([first_amt[split], np.where(split, amount - first_amt, amount)[paid]]).round(2),
    })

    # credit notes (avoirs): negative invoices dated at the resolution of some price disputes
    cn = disp["credit_note"].to_numpy() & paid
    cn_year = pd.DatetimeIndex(_to_ts(disp["resolved"].to_numpy()[cn])).year.to_numpy()
    cn_seq = pd.Series(np.ones(cn.sum(), int)).groupby(cn_year).cumsum().to_numpy()
    cn_ids = np.char.add(np.char.add(np.char.add("AV", cn_year.astype(str)), "-"), np.char.zfill(cn_seq.astype(str), 5))

    name, seg = cust["customer_name"].to_numpy(), cust["segment"].to_numpy()
    method, cid = cust["payment_method"].to_numpy(), cust["customer_id"].to_numpy()
    disputed = disp["disputed"].to_numpy()
    full = pd.DataFrame({
        "invoice_id": ids, "customer_id": cid[c], "customer_name": name[c], "segment": seg[c],
        "issue_date": _to_ts(issue), "due_date": _to_ts(due), "amount": amount, "currency": "EUR",
        "payment_method": method[c], "disputed": disputed,
        "dispute_opened": _to_ts(np.where(disputed, disp["opened"], -1)),
        "dispute_resolved": _to_ts(np.where(disputed, disp["resolved"], -1)),
        "dispute_type": pd.Series(np.where(disputed, disp["dispute_type"], None), dtype="str"),
        "write_off_date": _to_ts(write_off),
        # truth columns (dropped from the ledger)
        "paid_date": _to_ts(settled.pay), "never_paid": settled.never, "due_month": due_month,
        "normal_month": m["effect"].to_numpy() == 0, "direct_debit": direct_debit,
        "promise": settled.promise, "promise_kept": settled.kept, "instalments": np.where(split, 2, 1),
    })
    cn_src = np.flatnonzero(cn)
    credit_notes = pd.DataFrame({
        "invoice_id": cn_ids, "customer_id": cid[c[cn_src]], "customer_name": name[c[cn_src]],
        "segment": seg[c[cn_src]], "issue_date": _to_ts(disp["resolved"].to_numpy()[cn_src]),
        "due_date": _to_ts(disp["resolved"].to_numpy()[cn_src]),
        "amount": -np.round(amount[cn_src] * disp["credit_share"].to_numpy()[cn_src], 2), "currency": "EUR",
        "payment_method": method[c[cn_src]], "disputed": False, "dispute_opened": pd.NaT, "dispute_resolved": pd.NaT,
        "dispute_type": pd.Series([None] * cn_src.size, dtype="str"), "write_off_date": pd.NaT,
        "paid_date": pd.NaT, "never_paid": False, "due_month": pd.DatetimeIndex(
            _to_ts(disp["resolved"].to_numpy()[cn_src])).strftime("%Y-%m"),
        "normal_month": True, "direct_debit": False, "promise": False, "promise_kept": False, "instalments": 0,
    })
    full = pd.concat([full, credit_notes], ignore_index=True).sort_values(["issue_date", "invoice_id"],
                                                                          ignore_index=True)
    dun_i, dun_l = np.nonzero(settled.taken)
    dunning = pd.DataFrame({"invoice_id": ids[dun_i], "action_date": _to_ts(settled.action[dun_i, dun_l]),
                            "level": (dun_l + 1).astype(np.int64),
                            "channel": DUNNING_PLAN["channel"].to_numpy()[dun_l].astype(str)})
    p = np.flatnonzero(settled.promise)
    made = settled.action[p, 1]
    already = np.where(split[p] & (first_day[p] <= made), first_amt[p], 0.0)
    promises = pd.DataFrame({"invoice_id": ids[p], "made_date": _to_ts(made),
                             "promised_date": _to_ts(settled.promised[p]), "amount": np.round(amount[p] - already, 2)})
    return _World(customers=cust, invoices=full, payments=pay_rows.sort_values(["payment_date", "invoice_id"],
                                                                               ignore_index=True),
                  promises=promises, dunning=dunning.sort_values(["action_date", "invoice_id"], ignore_index=True),
                  months=months, truth_seed=truth_seed)


def _write_offs_and_instalments(rng: np.random.Generator, *, issue, due, amount, settled: _Settled, disputed,
                                direct_debit, run1, run2) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Write-off day of the never-paid invoices (business day 180-300 days after due; -1 for the others), and the
    instalments: ``split`` (paid in two), the first instalment's day and amount (the second is on the pay day)."""
    n = issue.size
    write_off = np.where(settled.never, next_business_day(due + rng.integers(180, 301, n)), -1)
    split = ~settled.never & ~disputed & ~direct_debit & (rng.random(n) < INSTALMENT_SHARE)
    gap = rng.integers(*FIRST_INSTALMENT_GAP, n)   # days before the last instalment
    first_day = next_payment_run(np.maximum(issue + 1, settled.pay - gap), run1, run2)
    split &= first_day < settled.pay
    first_amt = np.round(amount * rng.uniform(0.3, 0.7, n), 2)
    return write_off, split, first_day, first_amt


def _cut(world: _World, as_of: pd.Timestamp = AS_OF) -> dict[str, pd.DataFrame]:
    """The ledger tables as known at the end of ``as_of``: later events removed or blanked."""
    inv = world.invoices
    inv = inv.loc[inv["issue_date"] <= as_of, list(INVOICE_COLUMNS)].reset_index(drop=True)
    opened_later = inv["dispute_opened"] > as_of
    inv.loc[opened_later, "disputed"] = False
    inv.loc[opened_later, ["dispute_opened", "dispute_resolved"]] = pd.NaT
    inv.loc[opened_later, "dispute_type"] = None
    inv.loc[inv["dispute_resolved"] > as_of, "dispute_resolved"] = pd.NaT
    inv.loc[inv["write_off_date"] > as_of, "write_off_date"] = pd.NaT
    pay, prom, dun = world.payments, world.promises, world.dunning
    customers = world.customers[["customer_id", "customer_name", "segment", "credit_limit"]].copy()
    return {
        "invoices": inv,
        "payments": pay.loc[pay["payment_date"] <= as_of].reset_index(drop=True),
        "promises": prom.loc[prom["made_date"] <= as_of].sort_values(["made_date", "invoice_id"], ignore_index=True),
        "dunning": dun.loc[dun["action_date"] <= as_of].reset_index(drop=True),
        "customers": customers,
    }
