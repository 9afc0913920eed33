"""FEC files read into one tidy table of lines (*lignes d'écritures*), nothing interpreted yet.

Format (LPF art. A47 A-1, BOI-CF-IOR-60-40-20): first line = the field names, then one line per entry line.

* **Encoding**, per file: UTF-8 (with or without BOM) when the bytes decode as UTF-8; else Windows-1252 when a byte
  in 0x80-0x9F occurs (C1 controls never occur in ISO-8859 text, and cp1252 puts € and œ there); else
  ISO-8859-15 (€ = 0xA4). ``encoding=`` overrides.
* **Separator**, per file: tab or ``|``, whichever the header line holds more of. CR+LF or LF.
* **Columns** are found by name (case ignored), so the 18 standard fields may be followed by extra ones
  (``CodeEtablissement``...). Amounts are ``Debit`` and ``Credit`` or ``Montant`` + ``Sens`` (D/C).
* **Lines**: blank lines are skipped; a line with more fields than the header, or too few to reach
  ``EcritureLet``, is unreadable; shorter lines are padded with empty fields. Surrounding double quotes are removed.

Only lines on customer accounts (:data:`CUSTOMER_PREFIXES`) are checked cell by cell: ``EcritureDate`` must be a date
(``YYYYMMDD``; ``dd/mm/yyyy`` and ISO are read too), amounts numbers with a decimal comma or point and no thousands
separator, ``Sens`` D or C, and the signed amount ``debit - credit`` not zero. A negative ``Debit`` counts as a
credit. Lines on other accounts are kept for context (the counterpart of an entry) but never rejected.

>>> _amounts(pd.Series(["1234,56", "", "12.5", "1 000,00", "x"]))[0].tolist()
[1234.56, 0.0, 12.5, 1000.0, nan]
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from cashsim.errors import LedgerError
from cashsim.ledger import REJECTION_COLUMNS, Reason, parse_dates

#: The 18 standard fields, in order (Debit/Credit may be Montant/Sens).
FEC_COLUMNS = ("JournalCode", "JournalLib", "EcritureNum", "EcritureDate", "CompteNum", "CompteLib", "CompAuxNum",
               "CompAuxLib", "PieceRef", "PieceDate", "EcritureLib", "Debit", "Credit", "EcritureLet", "DateLet",
               "ValidDate", "Montantdevise", "Idevise")
#: FEC field -> our column name (the fields we use).
FIELD_NAMES = {"JournalCode": "journal", "JournalLib": "journal_lib", "EcritureNum": "entry",
               "EcritureDate": "date_text", "CompteNum": "account", "CompteLib": "account_lib", "CompAuxNum": "aux",
               "CompAuxLib": "aux_lib", "PieceRef": "piece_ref", "PieceDate": "piece_date_text",
               "EcritureLib": "label", "EcritureLet": "letter"}
AMOUNT_FIELDS = (("Debit", "Credit"), ("Montant", "Sens"))
#: Accounts of customers: 411 *clients*, 416 *clients douteux ou litigieux*.
CUSTOMER_PREFIXES = ("411", "416")
FEC_NAME = re.compile(r"FEC(\d{8})", re.IGNORECASE)
_C1 = re.compile(rb"[\x80-\x9f]")


def decode(data: bytes, label: str, encoding: str | None = None) -> tuple[str, str]:
    """The file's text and the encoding used (rule in the module docstring)."""
    if encoding:
        try:
            return data.decode(encoding), encoding
        except (UnicodeDecodeError, LookupError) as exc:
            raise LedgerError(f"{label}: cannot decode the file as {encoding} ({exc})") from None
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    if _C1.search(data):
        try:
            return data.decode("cp1252"), "cp1252"
        except UnicodeDecodeError:
            return data.decode("latin-1"), "latin-1"
    return data.decode("iso-8859-15"), "iso-8859-15"


def _clean(values: pd.Series) -> pd.Series:
    """Cells without surrounding blanks and double quotes, stripped once per distinct value."""
    codes, uniques = pd.factorize(values.fillna(""))
    clean = np.array([str(u).strip().strip('"').strip() for u in uniques] + [""], dtype=object)
    return pd.Series(clean[codes], index=values.index, dtype="str")


def read_fec_file(path: str | Path, *, encoding: str | None = None) -> tuple[pd.DataFrame, dict]:
    """The lines of one FEC file: our column names (:data:`FIELD_NAMES`) as text, plus ``file``, ``row`` (line
    number, header = 1), ``readable`` (False: wrong number of fields) and the raw amount cells.

    Returns ``(lines, info)`` with ``info`` = encoding, separator, amount layout, closing date from the file name
    (``<SIREN>FEC<YYYYMMDD>.txt``, else None). Raises :class:`LedgerError` for a missing file or a header that is
    not a FEC header.
    """
    path = Path(path)
    label = str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LedgerError(f"{label}: cannot read the FEC file ({exc.strerror})") from None
    text, used = decode(data, label, encoding)
    raw_lines = text.split("\n")
    header = raw_lines[0].rstrip("\r")
    sep = "\t" if header.count("\t") >= header.count("|") else "|"
    names = [n.strip().strip('"').strip() for n in header.split(sep)]
    lower = {n.lower(): i for i, n in reversed(list(enumerate(names)))}
    layout = next((pair for pair in AMOUNT_FIELDS if all(p.lower() in lower for p in pair)), None)
    missing = [f for f in FIELD_NAMES if f.lower() not in lower]
    if header.count(sep) == 0 or missing or layout is None:
        what = ", ".join(missing + ([] if layout else ["Debit/Credit (or Montant/Sens)"]))
        raise LedgerError(f"{label}: not a FEC file: the first line lacks {what}; it must hold the field names "
                          f"separated by tabs or '|': {'|'.join(FEC_COLUMNS)}")
    kept = [(i + 2, line.rstrip("\r")) for i, line in enumerate(raw_lines[1:]) if line.strip()]
    rows = np.array([i for i, _ in kept], dtype=np.int64)
    n_fields = np.array([line.count(sep) + 1 for _, line in kept], dtype=np.int64)
    needed = max(lower[f.lower()] for f in (*FIELD_NAMES, *layout)) + 1
    readable = (n_fields <= len(names)) & (n_fields >= needed)
    good = "\n".join(line for (_, line), ok in zip(kept, readable, strict=True) if ok)
    cells = pd.read_csv(io.StringIO(good), sep=sep, header=None, names=range(len(names)), dtype=str,
                        keep_default_na=False, quoting=csv.QUOTE_NONE, engine="c") if good else pd.DataFrame(
                            columns=range(len(names)), dtype=str)
    out = pd.DataFrame({"file": label, "row": rows, "readable": readable})
    for field, ours in {**FIELD_NAMES, layout[0]: "amount1_text", layout[1]: "amount2_text"}.items():
        column = pd.Series("", index=out.index, dtype=object)
        column[readable] = cells[lower[field.lower()]].to_numpy(dtype=object)
        out[ours] = _clean(column)
    closing = FEC_NAME.search(path.name)
    info = {"file": label, "encoding": used, "separator": sep, "amounts": "/".join(layout),
            "closing_from_name": pd.to_datetime(closing[1], format="%Y%m%d", errors="coerce") if closing else None}
    return out, info


def _amounts(texts: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Amount cells -> floats (empty = 0) and the mask of unreadable cells (decimal comma or point, no thousands
    separator; spaces are ignored)."""
    clean = texts.str.replace(r"[\s\u00a0\u202f]", "", regex=True).str.replace(",", ".", regex=False)
    ok = clean.str.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)") | (clean == "")
    value = pd.to_numeric(clean.where(ok & (clean != ""), "0"), errors="coerce").to_numpy(dtype=float)
    return np.where(ok.to_numpy(), value, np.nan), ~ok.to_numpy()


def _reject(lines: pd.DataFrame, mask: np.ndarray, column: str, source: str, reason: str, detail: str) -> pd.DataFrame:
    sub = lines[mask]
    return pd.DataFrame({"table": "fec", "file": sub["file"].to_numpy(), "row": sub["row"].to_numpy(),
                         "column": column, "header": column,  # a FEC's own field name
                         "value": sub[source].to_numpy() if source else "", "reason": reason,
                         "detail": detail})


def parse_customer_lines(lines: pd.DataFrame, amount_fields: tuple[str, str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Typed ``date``, ``piece_date`` (NaT when empty or unreadable; ``piece_date_bad`` flags unreadable),
    ``amount`` (signed, debit - credit, euros) for lines on customer accounts, and the rejections of those that
    fail, each for its first problem: unreadable line, EcritureDate missing or unreadable, amount unreadable,
    Sens not D/C, zero amount. Returns ``(kept, rejections)``.
    """
    parts = [_reject(lines, ~lines["readable"].to_numpy(), "", "", Reason.BAD_LINE,
                     "more fields than the header or too few to reach EcritureLet; check the separator")]
    work = lines[lines["readable"].to_numpy()].reset_index(drop=True)
    date, bad_date = parse_dates(work["date_text"])
    piece_date, bad_piece = parse_dates(work["piece_date_text"])
    first, bad_first = _amounts(work["amount1_text"])
    if amount_fields == ("Debit", "Credit"):
        second, bad_second = _amounts(work["amount2_text"])
        signed = first - second
        second_reason, second_detail = Reason.BAD_NUMBER, "expected a number such as 1234,56 or 1234.56"
    else:
        sens = work["amount2_text"].str.upper().str[:1]
        bad_second = ~sens.isin(["D", "C"]).to_numpy()
        signed = np.where(sens == "C", -first, first)
        second_reason, second_detail = Reason.BAD_VALUE, "Sens is D (debit) or C (credit)"
    checks = (
        (work["date_text"].eq("").to_numpy(), "EcritureDate", "date_text", Reason.MISSING_VALUE,
         "EcritureDate is required"),
        (bad_date, "EcritureDate", "date_text", Reason.BAD_DATE, "expected a date YYYYMMDD"),
        (bad_first, amount_fields[0], "amount1_text", Reason.BAD_NUMBER,
         "expected a number such as 1234,56 or 1234.56"),
        (bad_second, amount_fields[1], "amount2_text", second_reason, second_detail),
        (np.round(np.nan_to_num(signed, nan=1.0), 2) == 0, amount_fields[0], "amount1_text", Reason.ZERO_AMOUNT,
         "an amount of 0 moves no money"),
    )
    taken = np.zeros(len(work), dtype=bool)
    for mask, column, source, reason, detail in checks:
        mask = np.asarray(mask, dtype=bool) & ~taken
        if mask.any():
            parts.append(_reject(work, mask, column, source, reason, detail))
        taken |= mask
    kept = work.assign(date=date, piece_date=piece_date, piece_date_bad=bad_piece,
                       amount=np.round(signed, 2))[~taken].reset_index(drop=True)
    rejections = pd.concat([p for p in parts if len(p)] or [pd.DataFrame(columns=list(REJECTION_COLUMNS))],
                           ignore_index=True)
    return kept, rejections[list(REJECTION_COLUMNS)]
