"""``write_fec``: a FEC of a :class:`~cashsim.ledger.Ledger`, to test the reader and to try the FEC path on the
demo company.

Entries written (customer account 411000 with the customer as auxiliary account ``CompAuxNum``):

* sales journal ``VE``: an invoice debits 411 and credits 706000 (amount / (1 + ``vat_rate``)) and 445710 (the
  VAT); a credit note the reverse. ``PieceRef`` = invoice id, ``PieceDate`` = ``EcritureDate`` = issue date;
* bank journal ``BQ``: a payment credits 411 and debits 512000; a refund (negative payment) the reverse. With
  ``merge_payments``, the payments of one customer on one day that settle invoices in full are one bank line (one
  transfer paying several invoices), so lettering groups hold several invoices;
* ``OD``: a write-off credits 411 with what was still owed and debits 654000; money received after a write-off is
  a recovery (512000 / 771400) that does not touch 411;
* lettering: the lines of each group of invoices and payments that settles in full by ``as_of`` share an upper-case
  code (``DateLet`` = its last date); a group that does not yet is lettered in lower case (partial lettering);
* with ``year_end`` ("12-31"), one file per fiscal year named ``<siren>FEC<closing YYYYMMDD>.txt`` in the folder
  ``path``; each year after the first opens with an ``AN`` entry: one line per item still open at the previous
  closing (``PieceRef`` and ``PieceDate`` of the item, its lettering code) balanced by 890000.

Amounts with a decimal comma (``decimal``), ``sep`` tab or ``|``, ``amounts="montant_sens"`` for the Montant + Sens
layout, any ``encoding``, CR+LF line ends by default.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from cashsim.adapters.fec.lines import FEC_COLUMNS
from cashsim.errors import LedgerError
from cashsim.ledger import Ledger

CUSTOMER_ACCOUNT, SALES_ACCOUNT, VAT_ACCOUNT, BANK_ACCOUNT = "411000", "706000", "445710", "512000"
LOSS_ACCOUNT, RECOVERY_ACCOUNT, OPENING_ACCOUNT = "654000", "771400", "890000"
ACCOUNT_LABELS = {CUSTOMER_ACCOUNT: "Clients", SALES_ACCOUNT: "Prestations de services", VAT_ACCOUNT: "TVA collectée",
                  BANK_ACCOUNT: "Banque", LOSS_ACCOUNT: "Pertes sur créances irrécouvrables",
                  RECOVERY_ACCOUNT: "Recouvrement de créances amorties", OPENING_ACCOUNT: "Bilan d'ouverture"}
JOURNAL_LABELS = {"VE": "Ventes", "BQ": "Banque", "OD": "Opérations diverses", "AN": "A nouveaux"}


def _code(k: int) -> str:
    """Bijective base-26 lettering code: 0 -> 'A', 25 -> 'Z', 26 -> 'AA'."""
    out = ""
    k += 1
    while k:
        k, r = divmod(k - 1, 26)
        out = chr(65 + r) + out
    return out


def _settlement(inv: pd.DataFrame, pay: pd.DataFrame, merge: bool) -> dict[str, Any]:
    """Write-offs, bank lines and lettering groups of the invoices and payments known at the cut."""
    n = len(inv)
    amount = inv["amount"].to_numpy()
    pos = pd.Index(inv["invoice_id"]).get_indexer(pay["invoice_id"])
    wo = inv["write_off_date"].to_numpy()[pos]
    recovery = ~np.isnat(wo) & (pay["payment_date"].to_numpy() > wo)
    cust_pay = pay[~recovery].assign(_inv=pos[~recovery])
    paid = np.bincount(cust_pay["_inv"], weights=cust_pay["amount"], minlength=n)
    wo_amount = np.where(inv["write_off_date"].notna().to_numpy() & (amount > 0), np.round(amount - paid, 2), 0.0)
    wo_amount = np.where(wo_amount > 0.005, wo_amount, 0.0)
    settled = np.abs(amount - paid - wo_amount) < 0.005
    inv_pos = cust_pay["_inv"].to_numpy()
    mergeable = merge & settled[inv_pos] & (cust_pay["amount"].to_numpy() > 0)
    key = np.where(mergeable, inv["customer_id"].to_numpy()[inv_pos] + "|" + cust_pay["payment_date"].astype(str),
                   "row|" + pd.Series(np.arange(len(cust_pay))).astype(str).to_numpy())
    bank_id, bank_keys = pd.factorize(pd.Series(key))
    m = len(bank_keys)
    graph = coo_matrix((np.ones(len(inv_pos)), (inv_pos, n + bank_id)), shape=(n + m, n + m))
    _, comp = connected_components(graph, directed=False)
    inv_comp = comp[:n]
    comp_complete = pd.Series(settled).groupby(inv_comp).all()
    comp_settling = pd.Series(np.r_[wo_amount > 0, np.ones(m, bool)]).groupby(comp).any()
    first = inv.groupby(inv_comp)["issue_date"].min()
    customer = inv.groupby(inv_comp)["customer_id"].first()
    comps = pd.DataFrame({"customer": customer, "first": first, "complete": comp_complete,
                          "settling": comp_settling.reindex(customer.index)})
    comps = comps[comps["settling"]].sort_values(["customer", "first"], kind="stable")
    rank = comps.groupby("customer").cumcount()
    codes = pd.Series([_code(k) for k in rank], index=comps.index)
    codes = codes.where(comps["complete"], codes.str.lower())
    return {"wo_amount": wo_amount, "recoveries": pay[recovery], "cust_pay": cust_pay, "bank_id": bank_id,
            "inv_code": pd.Series(inv_comp).map(codes).fillna("").to_numpy(),
            "bank_code": pd.Series(comp[n + np.arange(m)]).map(codes).fillna("").to_numpy(),
            "complete_comp": comps["complete"], "inv_comp": inv_comp, "bank_comp": comp[n:]}


def _lines(inv: pd.DataFrame, s: dict[str, Any], vat_rate: float) -> pd.DataFrame:
    """Every entry line (customer and counterpart) with a signed amount (debit > 0) and an entry key."""
    names = inv.set_index("customer_id")["customer_name"].groupby(level=0).last()
    amount = inv["amount"].to_numpy()
    net = np.round(amount / (1 + vat_rate), 2)
    sale = pd.DataFrame({"journal": "VE", "date": inv["issue_date"], "piece_ref": inv["invoice_id"],
                         "piece_date": inv["issue_date"], "customer": inv["customer_id"],
                         "label": np.where(amount > 0, "Facture ", "Avoir ") + inv["invoice_id"],
                         "amount": amount, "letter": s["inv_code"], "entry": "VE|" + inv["invoice_id"]})
    parts = [sale.assign(account=CUSTOMER_ACCOUNT),
             sale.assign(account=SALES_ACCOUNT, amount=-net, customer="", letter=""),
             sale.assign(account=VAT_ACCOUNT, amount=-np.round(amount - net, 2), customer="", letter="")]
    cp = s["cust_pay"]
    bank = cp.groupby(s["bank_id"]).agg(date=("payment_date", "first"), amount=("amount", "sum"),
                                        customer=("invoice_id", "first"))
    bank["customer"] = inv.set_index("invoice_id").loc[bank["customer"], "customer_id"].to_numpy()
    ref = "REG" + pd.Series(np.arange(1, len(bank) + 1)).astype(str).str.zfill(6).to_numpy()
    bank = pd.DataFrame({"journal": "BQ", "date": bank["date"].to_numpy(), "piece_ref": ref,
                         "piece_date": bank["date"].to_numpy(), "customer": bank["customer"].to_numpy(),
                         "label": np.where(bank["amount"] > 0, "Règlement ", "Remboursement ") + ref,
                         "amount": -np.round(bank["amount"].to_numpy(), 2), "letter": s["bank_code"],
                         "entry": "BQ|" + ref})
    parts += [bank.assign(account=CUSTOMER_ACCOUNT), bank.assign(account=BANK_ACCOUNT, amount=-bank["amount"],
                                                                 customer="", letter="")]
    w = s["wo_amount"] > 0
    if w.any():
        ids, day = inv["invoice_id"][w], inv["write_off_date"][w]
        wo = pd.DataFrame({"journal": "OD", "date": day, "piece_ref": "PERTE-" + ids, "piece_date": day,
                           "customer": inv["customer_id"][w], "label": "Créance irrécouvrable " + ids,
                           "amount": -s["wo_amount"][w], "letter": s["inv_code"][w], "entry": "OD|" + ids})
        parts += [wo.assign(account=CUSTOMER_ACCOUNT), wo.assign(account=LOSS_ACCOUNT, amount=-wo["amount"],
                                                                 customer="", letter="")]
    rec = s["recoveries"]
    if len(rec):
        ids, day = rec["invoice_id"].to_numpy(), rec["payment_date"].to_numpy()
        r = pd.DataFrame({"journal": "BQ", "date": day, "piece_ref": "REC-" + ids, "piece_date": day, "customer": "",
                          "label": "Recouvrement " + ids, "amount": rec["amount"].to_numpy(), "letter": "",
                          "entry": "BQ|REC" + pd.Series(np.arange(len(rec))).astype(str).to_numpy()})
        parts += [r.assign(account=BANK_ACCOUNT), r.assign(account=RECOVERY_ACCOUNT, amount=-r["amount"])]
    out = pd.concat(parts, ignore_index=True)
    out["aux_lib"] = out["customer"].map(names).fillna("")
    return out


def _opening(inv: pd.DataFrame, s: dict[str, Any], closing: pd.Timestamp) -> pd.DataFrame:
    """The AN entry of the year after ``closing``: each item still open then, balanced by 890000."""
    cp = s["cust_pay"]
    paid = np.bincount(cp["_inv"], weights=np.where(cp["payment_date"] <= closing, cp["amount"], 0.0),
                       minlength=len(inv))
    written = np.where(inv["write_off_date"].le(closing).to_numpy(), s["wo_amount"], 0.0)
    remaining = np.round(inv["amount"].to_numpy() - paid - written, 2)
    keep = (inv["issue_date"] <= closing).to_numpy() & (np.abs(remaining) > 0.005)
    day = closing + pd.Timedelta(days=1)
    items = pd.DataFrame({"journal": "AN", "date": day, "piece_ref": inv["invoice_id"][keep],
                          "piece_date": inv["issue_date"][keep], "customer": inv["customer_id"][keep],
                          "label": "A nouveau " + inv["invoice_id"][keep], "amount": remaining[keep],
                          "letter": s["inv_code"][keep], "entry": "AN|1", "account": CUSTOMER_ACCOUNT})
    if items.empty:
        return items
    total = -round(float(items["amount"].sum()), 2)
    balance = pd.DataFrame({"journal": ["AN"], "date": [day], "piece_ref": ["AN"], "piece_date": [day],
                            "customer": [""], "label": ["Bilan d'ouverture"], "amount": [total], "letter": [""],
                            "entry": ["AN|1"], "account": [OPENING_ACCOUNT]})
    return pd.concat([items, balance], ignore_index=True)


def _format(lines: pd.DataFrame, date_let: pd.Series, decimal: str, amounts: str) -> pd.DataFrame:
    """The FEC columns as text."""
    lines = lines.sort_values(["date", "journal", "entry", "account"], kind="stable").reset_index(drop=True)
    num = lines.groupby("journal")["entry"].transform(lambda e: pd.factorize(e)[0] + 1)
    ymd = lines["date"].dt.strftime("%Y%m%d")

    def money(x: pd.Series) -> pd.Series:
        return x.map("{:.2f}".format).str.replace(".", decimal, regex=False)

    cust = lines["customer"] != ""
    out = pd.DataFrame({
        "JournalCode": lines["journal"], "JournalLib": lines["journal"].map(JOURNAL_LABELS),
        "EcritureNum": lines["journal"] + num.astype(str).str.zfill(6), "EcritureDate": ymd,
        "CompteNum": lines["account"], "CompteLib": lines["account"].map(ACCOUNT_LABELS),
        "CompAuxNum": lines["customer"], "CompAuxLib": lines["aux_lib"], "PieceRef": lines["piece_ref"],
        "PieceDate": lines["piece_date"].dt.strftime("%Y%m%d"), "EcritureLib": lines["label"],
        "Debit": money(lines["amount"].clip(lower=0)), "Credit": money((-lines["amount"]).clip(lower=0)),
        "EcritureLet": lines["letter"],
        "DateLet": np.where(cust & lines["letter"].str.isupper(), lines["letter_key"].map(date_let).fillna(""), ""),
        "ValidDate": ymd, "Montantdevise": "", "Idevise": ""})
    if amounts == "montant_sens":
        out = out.rename(columns={"Debit": "Montant", "Credit": "Sens"})
        out["Montant"] = money(lines["amount"].abs())
        out["Sens"] = np.where(lines["amount"] >= 0, "D", "C")
    return out


def _closings(first: pd.Timestamp, last: pd.Timestamp, year_end: str) -> list[pd.Timestamp]:
    try:
        month, day = (int(x) for x in str(year_end).split("-"))
        pd.Timestamp(2001, month, day)
    except (ValueError, TypeError):
        raise LedgerError(f"year_end {year_end!r}: give the closing day as MM-DD, e.g. '12-31'") from None
    out = [pd.Timestamp(first.year - 1, month, day)]
    while out[-1] < last:
        out.append(pd.Timestamp(out[-1].year + 1, month, day))
    return [c for c in out if c >= first]


def write_fec(ledger: Ledger, path: str | Path, *, as_of: Any = None, year_end: str | None = None,
              siren: str = "000000000", sep: str = "\t", decimal: str = ",", encoding: str = "utf-8",
              amounts: str = "debit_credit", line_end: str = "\r\n", vat_rate: float = 0.20,
              merge_payments: bool = True) -> list[Path]:
    """Write ``ledger`` as it stands at the end of ``as_of`` (default: its latest date) as one FEC file at ``path``,
    or with ``year_end`` one file per fiscal year in the folder ``path``. Returns the files written.

    >>> from cashsim.demo import demo_ledger
    >>> write_fec(demo_ledger(7), "out", as_of="2026-10-31", year_end="12-31")  # doctest: +SKIP
    [PosixPath('out/000000000FEC20231231.txt'), ..., PosixPath('out/000000000FEC20261231.txt')]
    """
    if amounts not in ("debit_credit", "montant_sens"):
        raise LedgerError(f"amounts {amounts!r}: use 'debit_credit' or 'montant_sens'")
    day = pd.Timestamp(as_of).normalize() if as_of is not None else ledger.latest_date
    inv = ledger.invoices[(ledger.invoices["issue_date"] <= day).to_numpy()].reset_index(drop=True)
    inv = inv.assign(write_off_date=inv["write_off_date"].where(inv["write_off_date"] <= day))
    pay = ledger.payments[(ledger.payments["payment_date"] <= day).to_numpy()
                          & ledger.payments["invoice_id"].isin(inv["invoice_id"]).to_numpy()].reset_index(drop=True)
    s = _settlement(inv, pay, merge_payments)
    lines = _lines(inv, s, vat_rate)
    lines["letter_key"] = lines["customer"] + "|" + lines["letter"]
    date_let = lines[lines["letter"] != ""].groupby("letter_key")["date"].max().dt.strftime("%Y%m%d")
    path = Path(path)
    if year_end is None:
        files = [(path, lines)]
    else:
        path.mkdir(parents=True, exist_ok=True)
        closings = _closings(lines["date"].min(), lines["date"].max(), year_end)
        files, start = [], None
        for closing in closings:
            part = lines[((lines["date"] > start) if start is not None else True) & (lines["date"] <= closing)]
            if start is not None:
                opening = _opening(inv, s, start)
                opening["aux_lib"] = opening["customer"].map(
                    inv.set_index("customer_id")["customer_name"].groupby(level=0).last()).fillna("")
                part = pd.concat([opening.assign(letter_key=opening["customer"] + "|" + opening["letter"]), part],
                                 ignore_index=True)
            files.append((path / f"{siren}FEC{closing:%Y%m%d}.txt", part))
            start = closing
    written = []
    for target, part in files:
        text = _format(part, date_let, decimal, amounts)
        body = [sep.join(text.columns)] + [sep.join(row) for row in text.to_numpy(dtype=object).astype(str).tolist()]
        target.write_bytes((line_end.join(body) + line_end).encode(encoding))
        written.append(target)
    return written


__all__ = ["FEC_COLUMNS", "write_fec"]
