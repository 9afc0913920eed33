"""``read_fec``: one or more FEC files (one per fiscal year) read into a :class:`FecLedger`, a
:class:`~cashsim.ledger.Ledger` that also says where every customer line went.

Steps: read and check the lines (:mod:`.lines`), give each customer line its customer (:mod:`.customers`) and its
kind (:mod:`.journals`), skip opening lines an earlier file already details, settle from the lettering
(:mod:`.settle`), date the invoices' due dates from the payment terms (:mod:`cashsim.terms`), then hand the
invoices and payments to :func:`cashsim.ledger.read_ledger` with the optional side tables.

**Several years.** Opening (AN) lines repeat the open items of the year before. When the file of that year is read
too (it closes at most 62 days before the AN lines), they are skipped and counted as "opening balance already read
in <file>"; otherwise an AN debit becomes an invoice (issue date = ``PieceDate``, else the AN entry date) and an AN
credit an open credit. Lettering codes are read across files, so a group is complete when both years are read.

**Ids and dates.** ``invoice_id`` = ``PieceRef`` (else ``<journal>-<entry number>``), made unique with ``-2``, ``-3``...
Issue date = ``PieceDate`` when given, else ``EcritureDate``; due date from the customer's terms (``terms_table``)
else the default ``terms``; credit notes are due when issued. The invoices keep ``terms`` (the text used),
``gross_amount`` (before credit notes), ``credit_netted`` (credit notes netted into ``amount``; named apart from
the ``credited`` of ``Ledger.status``, which is 0 here: nothing is left to apply), ``fec_kind``, ``fec_file`` and
``fec_row`` as extra columns; payments keep ``fec_file`` and ``fec_row`` of their bank line. Currency: the FEC's
amounts are in the company's currency (``currency``, EUR by default).
Payment methods are not in a FEC: all are transfers.

**Rows.** Every line on a customer account is used (``ledger.fec_lines``) or in ``ledger.rejections`` (table "fec",
file, row = line number with the header as 1, column, value, reason); ``ledger.accounting()`` shows customer lines
read = used + rejected. Other accounts are ignored by design and counted in ``ledger.fec_accounts``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cashsim.adapters.fec.customers import customer_ids, customer_names, customer_type
from cashsim.adapters.fec.journals import journal_roles, line_kinds, opening_coverage
from cashsim.adapters.fec.lines import (
    AMOUNT_FIELDS,
    CUSTOMER_PREFIXES,
    parse_customer_lines,
    read_fec_file,
)
from cashsim.adapters.fec.settle import DEBIT_KINDS, NOTE_KINDS, Settlement, settle
from cashsim.errors import LedgerError, ParamsError
from cashsim.ledger import REJECTION_COLUMNS, Ledger, Reason, parse_dates, read_ledger
from cashsim.terms import PaymentTerms, due_dates, parse_terms

#: Kinds of line that become a ledger invoice or credit note (and need a readable PieceDate).
ITEM_KINDS = (*DEBIT_KINDS, *NOTE_KINDS)
#: Side tables a FEC read can take (invoices and payments come from the FEC).
SIDE_TABLES = ("promises", "dunning", "customers")


@dataclass(frozen=True, repr=False)
class FecLedger(Ledger):
    """A :class:`Ledger` read from FEC files, with the audit of the read (all unchanged by ``known_at``).

    ``fec_lines``: every used customer line (file, row, journal, entry, date, account, customer_id, letter, amount =
    debit - credit, role, kind, invoice_id of the item it became, note). ``fec_allocations``: where each credit, payment
    and refund line went (line = position in ``fec_lines``). ``fec_credits``: cash on account with nothing open
    to allocate, per payment line. ``lettering``: per lettering group, Σdebit - Σcredit and whether it is complete.
    ``fec_files``: encoding, separator, closing date, lines and which file covers its opening lines.
    ``fec_accounts``: lines read per file and account class.
    """

    fec_lines: pd.DataFrame = field(default_factory=pd.DataFrame)
    fec_allocations: pd.DataFrame = field(default_factory=pd.DataFrame)
    fec_credits: pd.DataFrame = field(default_factory=pd.DataFrame)
    lettering: pd.DataFrame = field(default_factory=pd.DataFrame)
    fec_files: pd.DataFrame = field(default_factory=pd.DataFrame)
    fec_accounts: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def customer_credits(self) -> pd.DataFrame:
        """Cash on account per payment line (``fec_credits``: customer_id, customer_name, file, row, date, amount,
        reason) with the columns of :attr:`cashsim.ledger.Ledger.customer_credits` (``cash`` = amount,
        ``credit_notes`` = 0: the FEC nets credit notes into invoices, ``rows``)."""
        cr = self.fec_credits
        if cr.empty:
            return cr.assign(cash=pd.Series(dtype=float), credit_notes=pd.Series(dtype=float),
                             rows=pd.Series(dtype=str))
        return cr.assign(cash=cr["amount"].astype(float), credit_notes=0.0,
                         rows=cr["file"].astype(str) + " row " + cr["row"].astype(str))

    def accounting(self) -> pd.DataFrame:
        """Rows read, used and rejected: the FEC's customer lines first (+ unreadable lines), then the side tables.
        The invoices and payments tables are derived from the FEC and shown only if the ledger rejected a row."""
        out = super().accounting()
        out = out[~(out.index.isin(["invoices", "payments"]) & (out["rows_rejected"] == 0))]
        read, used = self.source_rows.get("fec", 0), self.rows_used.get("fec", 0)
        rejected = int((self.rejections["table"] == "fec").sum())
        fec = pd.DataFrame({"rows_read": [read], "rows_used": [used], "rows_rejected": [rejected],
                            "balanced": [read == used + rejected]}, index=pd.Index(["fec"], name="table"))
        return pd.concat([fec.astype(out.dtypes.to_dict()), out])

    def reconciliation(self) -> pd.DataFrame:
        """Per customer, at the latest date: ``fec_balance`` (Σ debit - credit of the used lines, skipped opening
        lines aside) = ``ledger_outstanding`` (Σ outstanding of ``status``: open items, residuals of paid ones, 0
        when written off) - ``customer_credit``; ``difference`` is 0 to the cent when everything is accounted for."""
        lines = self.fec_lines[self.fec_lines["kind"] != "opening_skipped"]
        fec = lines.groupby("customer_id")["amount"].sum()
        st = self.status(self.latest_date) if self.latest_date is not None else self.invoices.assign(outstanding=0.0)
        ledger = st.groupby("customer_id")["outstanding"].sum()
        credit = self.customer_credits.groupby("customer_id")["amount"].sum()
        ids = fec.index.union(ledger.index).union(credit.index)
        out = pd.DataFrame({"fec_balance": fec, "ledger_outstanding": ledger, "customer_credit": credit},
                           index=ids).fillna(0.0)
        out["difference"] = (out["fec_balance"] - out["ledger_outstanding"] + out["customer_credit"]).round(2)
        return out.rename_axis("customer_id")


def read_terms_table(source: str | Path | pd.DataFrame) -> dict[str, PaymentTerms]:
    """Per-customer payment terms from a CSV (``customer`` or ``customer_id``, and ``terms`` columns; ``;``, ``,``
    or tab separated) or a DataFrame. A term not understood is a :class:`ParamsError` naming the file, row and
    value; so is a customer given twice."""
    if isinstance(source, pd.DataFrame):
        frame, label = source.astype(str), "terms table (DataFrame)"
    else:
        path = Path(source)
        label = str(path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ParamsError(f"{label}: cannot read the terms table ({exc.strerror})") from None
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("cp1252", errors="replace")
        head = text.split("\n", 1)[0]
        sep = max((";", ",", "\t", "|"), key=head.count)
        frame = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False)
    cols = {str(c).strip().lower(): c for c in frame.columns}
    cust = next((cols[c] for c in ("customer", "customer_id", "client") if c in cols), None)
    term = next((cols[c] for c in ("terms", "conditions") if c in cols), None)
    if cust is None or term is None:
        raise ParamsError(f"{label}: the terms table needs a 'customer' and a 'terms' column "
                          f"(columns: {', '.join(map(str, frame.columns))})")
    out: dict[str, PaymentTerms] = {}
    first_row: dict[str, int] = {}
    for i, (c, t) in enumerate(zip(frame[cust].str.strip(), frame[term], strict=True)):
        if not c:
            continue
        row = i + 2
        if c in out:
            raise ParamsError(f"{label} row {row}: customer {c!r} already has terms (row {first_row[c]})")
        out[c], first_row[c] = parse_terms(t, f"{label} row {row}, customer {c}"), row
    return out


def _unique_ids(base: pd.Series, first: pd.Series) -> pd.Series:
    """Make ``base`` unique (``F1``, ``F1-2``, ...), giving the plain id to rows where ``first`` is True first."""
    order = np.lexsort((np.arange(len(base)), ~first.to_numpy()))
    used: set[str] = set()
    out = np.empty(len(base), dtype=object)
    values = base.to_numpy()
    for i in order:
        candidate, k = values[i], 1
        while candidate in used:
            k += 1
            candidate = f"{values[i]}-{k}"
        used.add(candidate)
        out[i] = candidate
    return pd.Series(out, index=base.index, dtype="str")


def _files_table(lines: pd.DataFrame, infos: list[dict]) -> pd.DataFrame:
    """Per file: closing date (name, else latest non-opening date), first opening date, date range, covering file."""
    files = pd.DataFrame(infos).set_index("file", drop=False)
    dated = lines[lines["date"].notna()]
    regular = dated[dated["role"] != "opening"].groupby("file")["date"]
    files["first_date"], files["last_date"] = regular.min(), regular.max()
    files["first_opening"] = dated[dated["role"] == "opening"].groupby("file")["date"].min()
    files["closing"] = files["closing_from_name"].fillna(files["last_date"])
    files["lines"] = lines.groupby("file").size()
    ranges = files.dropna(subset=["first_date"]).sort_values("first_date")
    overlap = ranges["first_date"].to_numpy()[1:] <= ranges["last_date"].to_numpy()[:-1]
    if overlap.any():
        k = int(np.flatnonzero(overlap)[0])
        raise LedgerError(f"{ranges['file'].iloc[k]} and {ranges['file'].iloc[k + 1]} hold entries of the same dates; "
                          "give each fiscal year's FEC once")
    files["opening_covered_by"] = opening_coverage(files.reset_index(drop=True)).to_numpy()
    return files.reset_index(drop=True).drop(columns="closing_from_name")


def _account_classes(lines: pd.DataFrame) -> pd.DataFrame:
    """Lines read per file and account class (customers, class 1-9, unreadable)."""
    first = lines["account"].str[:1]
    cls = np.where(~lines["readable"], "unreadable",
                   np.where(lines["account"].str.startswith(CUSTOMER_PREFIXES), "411/416 customers",
                            np.where(first.str.isdigit(), "class " + first, "other")))
    return lines.assign(account_class=cls).groupby(["file", "account_class"]).size().rename("lines").reset_index()


def _due(lines: pd.DataFrame, default: PaymentTerms, table: dict[str, PaymentTerms]) -> tuple[pd.Series, pd.Series]:
    """Due dates and the terms text of debit items (credit items: due when issued, no terms)."""
    debit = lines["kind"].isin(DEBIT_KINDS)
    terms = lines["customer_id"].map(lambda c: table.get(c, default))
    due = lines["issue_date"].copy()
    for t in terms[debit].unique():
        idx = lines.index[debit & (terms == t)]
        due[idx] = due_dates(lines.loc[idx, "issue_date"], t)
    return due, terms.map(str).where(debit)


def _side_tables(mapping: dict[str, dict[str, str]] | None) -> dict[str, dict[str, str]]:
    mapping = dict(mapping or {})
    wrong = sorted(set(mapping) - set(SIDE_TABLES))
    if wrong:
        raise ParamsError(f"mapping: {', '.join(wrong)} cannot be mapped for a FEC source (invoices and payments "
                          f"come from the FEC); map only {', '.join(SIDE_TABLES)}")
    return mapping


def read_fec(paths: str | Path | list[str | Path], *, terms: str = "30j fin de mois",
             terms_table: str | Path | pd.DataFrame | None = None, customers: Any = None, promises: Any = None,
             dunning: Any = None, mapping: dict[str, dict[str, str]] | None = None,
             journals: dict[str, list[str]] | None = None, encoding: str | None = None,
             currency: str = "EUR") -> FecLedger:
    """Read FEC files (one per fiscal year) into a :class:`FecLedger` (rules in the package and module docstrings).

    ``terms``: the default payment terms ("30j fin de mois"); ``terms_table``: per-customer terms (CSV with columns
    customer, terms); ``customers`` / ``promises`` / ``dunning``: side tables as for
    :func:`~cashsim.ledger.read_ledger` (invoice ids are the FEC's ``PieceRef``), renamed with ``mapping``;
    ``journals``: journal codes by role, overriding the default classification; ``encoding``: force one encoding.

    >>> led = read_fec(["123456789FEC20251231.txt", "123456789FEC20261231.txt"],
    ...                terms="45j fin de mois")  # doctest: +SKIP
    >>> led.accounting().loc["fec", "balanced"], led.reconciliation()["difference"].abs().max()  # doctest: +SKIP
    (True, 0.0)
    """
    side_mapping = _side_tables(mapping)
    default_terms = parse_terms(terms, "terms")
    table = read_terms_table(terms_table) if terms_table is not None else {}
    paths = [paths] if isinstance(paths, str | Path) else list(paths)
    if not paths:
        raise LedgerError("read_fec: give at least one FEC file")
    read = [read_fec_file(p, encoding=encoding) for p in paths]
    infos = [info for _, info in read]
    if len({i["file"] for i in infos}) < len(infos):
        raise LedgerError("read_fec: the same FEC file is given twice")
    everything = pd.concat([lines for lines, _ in read], ignore_index=True)
    everything["role"] = journal_roles(everything, journals)
    everything["date"] = parse_dates(everything["date_text"])[0].to_numpy()
    customer = everything["account"].str.startswith(CUSTOMER_PREFIXES) | ~everything["readable"]
    parsed = [parse_customer_lines(everything[customer.to_numpy() & (everything["file"] == i["file"]).to_numpy()],
                                   next(p for p in AMOUNT_FIELDS if "/".join(p) == i["amounts"])) for i in infos]
    lines = pd.concat([k for k, _ in parsed], ignore_index=True)
    rejections = [r for _, r in parsed]
    files = _files_table(everything[everything["readable"]], infos)

    lines["customer_id"] = customer_ids(lines)
    lines["kind"] = line_kinds(lines, everything[everything["readable"]])
    covered = lines["file"].map(files.set_index("file")["opening_covered_by"])
    skip = lines["kind"].isin(["opening_debit", "opening_credit"]) & (covered != "")
    lines.loc[skip, "kind"] = "opening_skipped"
    short = {f: Path(f).name for f in covered.unique()}
    lines["note"] = np.where(skip, "opening balance already read in " + covered.map(short), "")
    bad_piece = lines["piece_date_bad"] & lines["kind"].isin(ITEM_KINDS)
    if bad_piece.any():
        sub = lines[bad_piece]
        rejections.append(pd.DataFrame({"table": "fec", "file": sub["file"], "row": sub["row"], "column": "PieceDate",
                                        "header": "PieceDate",
                                        "value": sub["piece_date_text"], "reason": str(Reason.BAD_DATE),
                                        "detail": "expected a date YYYYMMDD (the invoice date)"}))
        lines = lines[~bad_piece].reset_index(drop=True)
    lines["issue_date"] = lines["piece_date"].fillna(lines["date"])
    lines["due_date"], lines["terms"] = _due(lines, default_terms, table)
    base = lines["piece_ref"].where(lines["piece_ref"] != "", lines["journal"] + "-" + lines["entry"])
    base = base.where(base != "", lines["journal"] + "-L" + lines["row"].astype(str))
    lines["invoice_id"] = _unique_ids(base, lines["kind"].isin(ITEM_KINDS))
    result = settle(lines)
    return _ledger(lines, result, files, everything, rejections, customers, promises, dunning, side_mapping,
                   currency)


def _ledger(lines: pd.DataFrame, result: Settlement, files: pd.DataFrame, everything: pd.DataFrame,
            rejections: list[pd.DataFrame], customers: Any, promises: Any, dunning: Any,
            mapping: dict[str, dict[str, str]], currency: str) -> FecLedger:
    """Hand the settled invoices and payments to read_ledger, then attach the FEC audit."""
    names = customer_names(lines)
    inv = result.invoices[result.invoices["amount"] != 0].sort_values(["issue_date", "invoice_id"], kind="stable")
    inv = inv.reset_index(drop=True)
    src = lines.loc[inv["line"]]
    invoices = pd.DataFrame({
        "invoice_id": inv["invoice_id"], "customer_id": inv["customer_id"],
        "customer_name": inv["customer_id"].map(names), "issue_date": inv["issue_date"],
        "due_date": inv["due_date"], "amount": inv["amount"], "currency": currency,
        "write_off_date": inv["write_off_date"], "terms": src["terms"].to_numpy(),
        "gross_amount": inv["gross_amount"], "credit_netted": inv["credited"], "fec_kind": inv["kind"],
        "fec_file": src["file"].to_numpy(), "fec_row": src["row"].to_numpy()})
    pay = result.payments.sort_values(["payment_date", "invoice_id"], kind="stable").reset_index(drop=True)
    pay_src = lines.loc[pay["line"]]
    payments = pay[["invoice_id", "payment_date", "amount"]].assign(
        fec_file=pay_src["file"].to_numpy(), fec_row=pay_src["row"].to_numpy())
    ledger = read_ledger(invoices, payments, promises=promises, dunning=dunning, customers=customers,
                         mapping=mapping or None)
    rej = ledger.rejections
    for table, frame in (("invoices", invoices), ("payments", payments)):  # derived rows: name the FEC line
        mine = (rej["table"] == table).to_numpy()
        if mine.any():
            pos = rej.loc[mine, "row"].to_numpy() - 2
            rej.loc[mine, "detail"] = (rej.loc[mine, "detail"].astype(str) + " (from " + frame["fec_file"].iloc[pos]
                                       .to_numpy() + " line " + frame["fec_row"].iloc[pos].astype(str).to_numpy()
                                       + ")")
    fec_rej = pd.concat([r for r in rejections if len(r)] or [pd.DataFrame(columns=list(REJECTION_COLUMNS))],
                        ignore_index=True).sort_values(["file", "row"], kind="stable")
    rejections_all = pd.concat([fec_rej[list(REJECTION_COLUMNS)], rej], ignore_index=True).astype({"row": "int64"})
    cust = ledger.customers
    unnamed = cust["customer_name"] == cust["customer_id"]   # a customers table without names: the FEC's
    cust = cust.assign(customer_name=cust["customer_name"].mask(unnamed, cust["customer_id"].map(names))
                       .fillna(cust["customer_name"]))
    given = cust["customer_type"] if "customer_type" in cust else pd.Series(np.nan, index=cust.index)
    inferred = cust["customer_name"].map(customer_type)
    # "company" is also the ledger's fallback for a customer without a type: the name rules may refine it
    cust = cust.assign(customer_type=given.where(given.notna() & ~given.isin(["", "company"]), inferred))
    credits = result.customer_credits
    credit_src = lines.loc[credits["line"]]
    credits = pd.DataFrame({"customer_id": credits["customer_id"], "customer_name": credits["customer_id"].map(names),
                            "file": credit_src["file"].to_numpy(), "row": credit_src["row"].to_numpy(),
                            "date": credits["date"], "amount": credits["amount"], "reason": credits["reason"]})
    item_id = pd.Series(result.invoices["invoice_id"].to_numpy(), index=result.invoices["line"].to_numpy())
    fec_lines = lines[["file", "row", "journal", "entry", "date", "account", "customer_id", "letter", "amount", "role",
                       "kind", "note"]].assign(invoice_id=pd.Series(lines.index.map(item_id), dtype="str").fillna(""))
    n_customer = int((everything["account"].str.startswith(CUSTOMER_PREFIXES) | ~everything["readable"]).sum())
    base = {f.name: getattr(ledger, f.name) for f in fields(Ledger)}
    base.update(customers=cust, rejections=rejections_all.reset_index(drop=True),
                source_rows={"fec": n_customer, **ledger.source_rows},
                rows_used={"fec": len(fec_lines), **ledger.rows_used})
    return FecLedger(**base, fec_lines=fec_lines, fec_allocations=result.allocations, fec_credits=credits,
                     lettering=result.lettering, fec_files=files, fec_accounts=_account_classes(everything))
