"""Checks across the rows of one table and the tables' final shape: duplicate ids (the first row is kept), minority
currencies (the most frequent currency is the ledger's; ties: alphabetical), invoice defaults that need other rows
(``disputed`` from dispute dates/types; segment, name, customer_type and owner from the customers table, else
"all" / the id / "company" / "" = unassigned), the customers table (the file's, plus customers seen only on
invoices) and empty tables with the canonical dtypes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cashsim.ledger import wording as W
from cashsim.ledger.columns import CUSTOMER_COLUMNS
from cashsim.ledger.fields import FIELDS
from cashsim.ledger.files import _Raw
from cashsim.ledger.notes import NoteReason
from cashsim.ledger.rejections import Reason, _Sink, _sparse_detail


def _drop_duplicates(raw: _Raw, work: pd.DataFrame, key: str, sink: _Sink) -> pd.DataFrame:
    """Keep the first row of each id; later rows are rejected with the first row's number in ``detail``."""
    dup = work[key].duplicated(keep="first").to_numpy()
    if not dup.any():
        return work
    first_pos = work.groupby(key, sort=False)["_pos"].transform("first").to_numpy()
    detail = _sparse_detail(dup, lambda i: [W.say(W.FIRST_AT_ROW, row=str(r)) for r in raw.rows[first_pos[i]]])
    return sink.take(raw, work, dup, key, Reason.DUPLICATE_ID, detail)


def _main_currency(currency: pd.Series) -> str | None:
    """The currency of the most invoices (ties: alphabetical)."""
    if currency.empty:
        return None
    counts = currency.value_counts()
    return str(sorted(counts.index[counts == counts.max()])[0])


def _finish_invoices(raw: _Raw, work: pd.DataFrame, customers: pd.DataFrame | None, sink: _Sink) -> pd.DataFrame:
    """Invoice checks across rows (duplicate ids, minority currencies), then the defaults that need other rows:
    ``disputed`` from dispute dates/types; segment, name, customer_type and owner from the customers table, else
    "all" / the id / "company" / ""."""
    work = _drop_duplicates(raw, work, "invoice_id", sink)
    main = _main_currency(work["currency"])
    if main is not None:
        other = (work["currency"] != main).to_numpy()
        work = sink.take(raw, work, other, "currency", Reason.MINORITY_CURRENCY,
                         W.say(W.MAIN_CURRENCY, currency=main))
    disputed = work["disputed"].to_numpy(dtype=bool) | work["dispute_opened"].notna().to_numpy() | (
        work["dispute_type"].notna().to_numpy())
    work = work.assign(disputed=disputed)
    if customers is not None and len(customers):
        lookup = customers.set_index("customer_id")
        work = work.assign(**{c: work[c].fillna(work["customer_id"].map(lookup[c]))
                              for c in ("segment", "customer_name", "customer_type", "owner")})
    work = work.assign(segment=work["segment"].fillna("all").astype("str"),
                       customer_name=work["customer_name"].fillna(work["customer_id"]).astype("str"),
                       customer_type=work["customer_type"].fillna("company").astype("str"),
                       owner=work["owner"].fillna("").astype("str"))
    return work


def _note_no_group(inv_raw: _Raw, inv: pd.DataFrame, cust_raw: _Raw | None, cust: pd.DataFrame | None,
                   sink: _Sink) -> None:
    """Note each customer whose invoices got the segment "all" (no client group) while other invoices have one
    (:attr:`NoteReason.NO_CLIENT_GROUP`): on its customers-file row when that row has no segment, else on its first
    invoice; ``used`` names the customer. Nothing when no invoice has a client group (the whole book is "all")."""
    seg = inv["segment"].astype(str)
    if not (seg != "all").any():
        return
    ids = pd.Index(pd.unique(inv.loc[seg == "all", "customer_id"].astype(str)))
    if ids.empty:
        return
    names = inv.drop_duplicates("customer_id").set_index("customer_id")["customer_name"].astype(str)

    def used(customers: pd.Series) -> np.ndarray:
        return np.array([W.say(W.NO_GROUP_USED, customer=c if names.get(c, c) == c else f"{c} {names[c]}")
                         for c in customers.astype(str)], dtype=object)

    in_file = pd.DataFrame(columns=["customer_id", "_pos"])
    if cust is not None and cust_raw is not None and len(cust):
        in_file = cust.loc[cust["customer_id"].astype(str).isin(ids) & cust["segment"].isna()]
        sink.note(cust_raw, in_file["_pos"].to_numpy(), "segment", used(in_file["customer_id"]),
                  NoteReason.NO_CLIENT_GROUP)
    rest = inv.loc[inv["customer_id"].astype(str).isin(ids.difference(in_file["customer_id"].astype(str)))]
    first = rest.sort_values("_pos", kind="stable").drop_duplicates("customer_id")
    sink.note(inv_raw, first["_pos"].to_numpy(), "segment", used(first["customer_id"]), NoteReason.NO_CLIENT_GROUP)


def _customers_table(given: pd.DataFrame | None, invoices: pd.DataFrame) -> pd.DataFrame:
    """Customers from the customers file, plus those only seen on invoices (name, segment, customer_type and owner
    of their latest invoice, no credit limit)."""
    latest = invoices.sort_values("issue_date", kind="stable").groupby("customer_id", sort=True).agg(
        customer_name=("customer_name", "last"), segment=("segment", "last"),
        customer_type=("customer_type", "last"), owner=("owner", "last")).reset_index()
    latest["credit_limit"] = np.nan
    if given is None or given.empty:
        return latest[list(CUSTOMER_COLUMNS)].astype({"customer_id": "str"})
    given = given.assign(customer_name=given["customer_name"].fillna(given["customer_id"]),
                         segment=given["segment"].fillna("all"), owner=given["owner"].fillna("").astype("str"),
                         customer_type=given["customer_type"].fillna("company"))
    extra_cols = [c for c in given.columns if c not in CUSTOMER_COLUMNS and c != "_pos"]
    only_invoiced = latest[~latest["customer_id"].isin(given["customer_id"])]
    out = pd.concat([given[list(CUSTOMER_COLUMNS) + extra_cols], only_invoiced], ignore_index=True)
    return out.reset_index(drop=True)


def _final(work: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    extras = [c for c in work.columns if c not in columns and not c.startswith("_")]
    return work[list(columns) + extras].reset_index(drop=True)


def _empty_table(table: str) -> pd.DataFrame:
    fields = {f.name: f for f in FIELDS[table]}
    dtypes = {"date": "datetime64[ns]", "number": float, "int": np.int64, "bool": bool}
    return pd.DataFrame({name: pd.Series(dtype=dtypes.get(f.kind, "str")) for name, f in fields.items()})
