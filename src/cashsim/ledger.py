"""The receivables ledger (*créances clients*): invoices, payments, promises, dunning, read without losing a row.

:func:`read_ledger` reads CSV/.txt/.xlsx files or DataFrames into a :class:`Ledger` whose tables have our canonical
columns. Every input row ends up in exactly one place: the table it belongs to, or ``ledger.rejections`` with the
file, the spreadsheet row (1-based, header = row 1), the column, the raw value and a reason from :class:`Reason`.
``ledger.accounting()`` shows ``rows read = rows used + rows rejected`` per table.

French exports read as they come: ``;`` separators (sniffed from the header line), decimal commas, spaces,
no-break spaces (U+00A0) and narrow no-break spaces (U+202F) as thousands separators, ``dd/mm/yyyy`` dates (a column
is read month-first only when it is clearly ``m/d/yyyy``: some second field > 12 and no first field > 12), ISO dates,
UTF-8 with or without BOM, cp1252/latin-1 as fallbacks.

Semantics (money in euros incl. VAT, or the ledger's single currency; days are calendar days)

* **Tolerance** ``tol = max(0.01, 0.5 % x |amount|)`` (:func:`payment_tolerance`).
* **Partial payments** (*règlements partiels*): several payment rows per invoice. ``paid_to_date`` is their sum;
  the invoice is **fully paid** (*soldée*) on the date cumulative payments first reach ``|amount| - tol``.
* **Overpayments**: payments are taken in date order; a payment that takes the cumulative total above
  ``|amount| + tol`` is rejected (``Reason.OVERPAYMENT``), as is every later payment of that invoice. Within the
  tolerance the payment is kept and ``outstanding`` is slightly negative.
* **Credit notes** (*avoirs*): negative amounts. Their payments (refunds) are negative too; a payment of the other
  sign is rejected. A credit note is never late nor overdue (``days_late`` / ``days_overdue`` are NaN): until it is
  refunded it stays ``open_not_due`` in the open book with a negative ``outstanding``, so customer balances net it.
  Downstream stages must not simulate it as an inflow.
* **Write-offs** (*passage en perte*, *créance irrécouvrable*): from ``write_off_date`` on, an invoice not fully paid
  is ``written_off`` and its ``outstanding`` is 0 (the loss is ``amount - paid_to_date``). Later recoveries still
  count in ``paid_to_date``; if they pay it in full the invoice becomes ``paid``.
* **Status** at ``as_of`` (end of that day): ``paid`` if fully paid by ``as_of``, else ``written_off`` if written off
  by then, else ``overdue`` (*échue*) if ``as_of > due_date`` (and not a credit note), else ``open_not_due``.
  Statuses only move forward in time: open_not_due -> overdue -> written_off -> paid (:data:`STATUSES`).
* ``disputed`` (*litige*) is True when the flag says so or a dispute opening date or type is given.

Validation, in this order; a rejected row is reported once, for its first problem, and takes no part in later
checks (a duplicate of a row rejected for a bad date is therefore kept):

1. per row (parsers + a pandera schema per table): empty row, CSV line with too many fields, unreadable date or
   number or yes/no, missing required cell, value not allowed (payment method, dispute type, currency code, dunning
   level), zero amount, due date before issue date, dispute resolved before opened, promise due before it was made;
2. invoices: duplicate ``invoice_id`` (the first row is kept), then currencies other than the most frequent one;
3. payments, promises, dunning: invoice rejected, invoice unknown, dated before the invoice's issue date; payments
   also: sign opposite to the invoice, overpayment beyond the tolerance (rule above); customers: duplicate id.

Numbers: the decimal mark is decided per column by majority (``1 234,56`` votes ',', ``1,234.56`` votes '.';
``1,234`` alone is ambiguous and does not vote); a value contradicting it (``12.50`` among ``1 234,56``) is rejected
rather than guessed. Defaults: segment from the customers table else "all", customer_name from the customers table
else the id, currency "EUR", payment_method "transfer", disputed False, dunning level = rank of the action among
the invoice's actions, dunning channel "other". Columns the company has beyond ours are kept, as text, after ours.

``rejections`` has the design's columns (file, row, column, value, reason) plus ``table`` first and ``detail`` last
(what the cell should look like, the first row of a duplicate, the invoice row that was rejected, ...).

Example::

    >>> import pandas as pd
    >>> inv = pd.DataFrame({"invoice_id": ["F1"], "customer_id": ["C1"], "issue_date": ["01/03/2026"],
    ...                     "due_date": ["31/03/2026"], "amount": ["1 200,00"]})
    >>> pay = pd.DataFrame({"invoice_id": ["F1"], "payment_date": ["2026-04-03"], "amount": [1200.0]})
    >>> led = read_ledger(inv, pay)
    >>> st = led.status("2026-04-30")
    >>> st.loc[0, "status"], float(st.loc[0, "days_late"])
    ('paid', 3.0)
"""

from __future__ import annotations

import datetime as dt
import difflib
import io
import re
import unicodedata
import warnings
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandas.api import types as ptypes

from cashsim.errors import LedgerError

__all__ = [
    "CUSTOMER_COLUMNS", "DISPUTE_TYPES", "DUNNING_COLUMNS", "INVOICE_COLUMNS", "OPEN_STATUSES", "PAYMENT_COLUMNS",
    "PAYMENT_METHODS", "PROMISE_COLUMNS", "REJECTION_COLUMNS", "STATUSES", "TABLES", "Ledger", "Reason",
    "payment_tolerance", "parse_dates", "parse_numbers", "read_ledger",
]

INVOICE_COLUMNS = ("invoice_id", "customer_id", "customer_name", "segment", "issue_date", "due_date", "amount",
                   "currency", "payment_method", "disputed", "dispute_opened", "dispute_resolved", "dispute_type",
                   "write_off_date")
PAYMENT_COLUMNS = ("invoice_id", "payment_date", "amount")
PROMISE_COLUMNS = ("invoice_id", "made_date", "promised_date", "amount")
DUNNING_COLUMNS = ("invoice_id", "action_date", "level", "channel")
CUSTOMER_COLUMNS = ("customer_id", "customer_name", "segment", "credit_limit")
REJECTION_COLUMNS = ("table", "file", "row", "column", "value", "reason", "detail")
TABLES = ("invoices", "payments", "promises", "dunning", "customers")

PAYMENT_METHODS = ("transfer", "direct_debit", "cheque", "card")
DISPUTE_TYPES = ("price", "technical", "delivery", "other")
#: Statuses in the only order an invoice can move through them as ``as_of`` advances.
STATUSES = ("open_not_due", "overdue", "written_off", "paid")
OPEN_STATUSES = ("open_not_due", "overdue")
#: Columns status() adds; a company column with one of these names is kept as ``<name>_source``.
DERIVED_COLUMNS = ("paid_to_date", "outstanding", "paid_date", "status", "days_late", "days_overdue", "age_days")

#: Relative payment tolerance (0.5 %) and its floor in currency units (one cent).
TOLERANCE_SHARE, TOLERANCE_FLOOR = 0.005, 0.01


class Reason(StrEnum):
    """Why a row was rejected: the fixed vocabulary of ``ledger.rejections.reason`` (details go in ``detail``)."""

    EMPTY_ROW = "empty row"
    BAD_LINE = "wrong number of fields"
    MISSING_VALUE = "missing value"
    BAD_DATE = "unparseable date"
    BAD_NUMBER = "not a number"
    BAD_VALUE = "value not allowed"
    ZERO_AMOUNT = "zero amount"
    DUE_BEFORE_ISSUE = "due date before issue date"
    RESOLVED_BEFORE_OPENED = "dispute resolved before it was opened"
    PROMISED_BEFORE_MADE = "promised date before the promise was made"
    DUPLICATE_ID = "duplicate id"
    MINORITY_CURRENCY = "minority currency"
    UNKNOWN_INVOICE = "unknown invoice"
    REJECTED_INVOICE = "invoice rejected"
    BEFORE_ISSUE = "dated before the invoice was issued"
    OPPOSITE_SIGN = "sign opposite to the invoice"
    OVERPAYMENT = "payments exceed the amount"


# --------------------------------------------------------------------------------------------------------------
# Column specifications


@dataclass(frozen=True)
class _Field:
    """One canonical column: how to parse it, whether it must be present, and its default when absent or empty."""

    name: str
    kind: str  # id | text | date | number | int | bool | choice | currency | channel
    required: bool = False
    default: Any = None
    synonyms: dict[str, str] | None = None


def _norm_key(text: str) -> str:
    """Lower-case ASCII key: 'Prélèvement SEPA' -> 'prelevement_sepa'."""
    ascii_ = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "_".join("".join(c if c.isalnum() else " " for c in ascii_.lower()).split())


def _synonyms(table: dict[str, tuple[str, ...]]) -> dict[str, str]:
    return {_norm_key(alias): canon for canon, aliases in table.items() for alias in (canon, *aliases)}


_PAYMENT_METHOD_SYNONYMS = _synonyms({
    "transfer": ("virement", "vir", "virement sepa", "vir sepa", "bank transfer", "wire", "sepa credit transfer"),
    # LCR (lettre de change relevé) is drawn by the supplier's bank on the due date, like a direct debit.
    "direct_debit": ("direct debit", "prelevement", "prelevement sepa", "prlv", "sepa direct debit", "sdd", "dd",
                     "lcr", "traite", "effet"),
    "cheque": ("check", "chq", "cheque bancaire"),
    "card": ("carte", "cb", "carte bancaire", "credit card"),
})
_DISPUTE_TYPE_SYNONYMS = _synonyms({
    "price": ("prix", "tarif", "pricing", "commercial"),
    "technical": ("technique", "tech", "quality", "qualite"),
    "delivery": ("livraison", "logistique", "shipping", "logistics"),
    "other": ("autre", "autres", "divers", "admin", "administratif"),
})
_CHANNEL_SYNONYMS = _synonyms({
    "email": ("mail", "e mail", "courriel"),
    "letter": ("courrier", "lettre", "post"),
    "phone": ("telephone", "tel", "appel", "call"),
    "sms": ("texto",),
    "formal_notice": ("mise en demeure", "lrar", "recommande", "registered letter"),
    "other": ("autre",),
})
_CURRENCY_SYNONYMS = {"€": "EUR", "EURO": "EUR", "EUROS": "EUR", "$": "USD", "£": "GBP"}

FIELDS: dict[str, tuple[_Field, ...]] = {
    "invoices": (
        _Field("invoice_id", "id", required=True),
        _Field("customer_id", "id", required=True),
        _Field("customer_name", "text"),  # default: the customers table, else the customer id
        _Field("segment", "text"),  # default: the customers table, else "all"
        _Field("issue_date", "date", required=True),
        _Field("due_date", "date", required=True),
        _Field("amount", "number", required=True),
        _Field("currency", "currency", default="EUR"),
        _Field("payment_method", "choice", default="transfer", synonyms=_PAYMENT_METHOD_SYNONYMS),
        _Field("disputed", "bool", default=False),
        _Field("dispute_opened", "date"),
        _Field("dispute_resolved", "date"),
        _Field("dispute_type", "choice", synonyms=_DISPUTE_TYPE_SYNONYMS),
        _Field("write_off_date", "date"),
    ),
    "payments": (
        _Field("invoice_id", "id", required=True),
        _Field("payment_date", "date", required=True),
        _Field("amount", "number", required=True),
    ),
    "promises": (
        _Field("invoice_id", "id", required=True),
        _Field("made_date", "date", required=True),
        _Field("promised_date", "date", required=True),
        _Field("amount", "number"),  # NaN = the whole outstanding amount
    ),
    "dunning": (
        _Field("invoice_id", "id", required=True),
        _Field("action_date", "date", required=True),
        _Field("level", "int"),  # default: 1 for the invoice's first action, 2 for the second, ...
        _Field("channel", "channel", default="other", synonyms=_CHANNEL_SYNONYMS),
    ),
    "customers": (
        _Field("customer_id", "id", required=True),
        _Field("customer_name", "text"),
        _Field("segment", "text"),
        _Field("credit_limit", "number"),  # NaN = no limit
    ),
}

#: Wide (row-wise) checks: reason -> (later column, earlier column); the later one is reported.
_ORDER_CHECKS: dict[str, tuple[tuple[Reason, str, str], ...]] = {
    "invoices": ((Reason.DUE_BEFORE_ISSUE, "due_date", "issue_date"),
                 (Reason.RESOLVED_BEFORE_OPENED, "dispute_resolved", "dispute_opened")),
    "promises": ((Reason.PROMISED_BEFORE_MADE, "promised_date", "made_date"),),
}
#: The column that dates an event row, per table (checked against the invoice's issue date).
_EVENT_DATE = {"payments": "payment_date", "promises": "made_date", "dunning": "action_date"}


def payment_tolerance(amount: np.ndarray | pd.Series | float) -> np.ndarray:
    """Payment tolerance in currency units: ``max(0.01, 0.5 % x |amount|)``.

    >>> payment_tolerance(np.array([1.0, 1000.0])).tolist()
    [0.01, 5.0]
    """
    return np.maximum(TOLERANCE_FLOOR, TOLERANCE_SHARE * np.abs(np.asarray(amount, dtype=float)))


# --------------------------------------------------------------------------------------------------------------
# Cell parsers. Each works on the column's *distinct* values (pandas.factorize), with numpy's vectorised string
# functions (numpy.strings), and returns (values, bad): bad marks non-empty cells that could not be read.


def _text(values: pd.Series) -> pd.Series:
    """Cells as stripped text, missing -> '' (for the few cells shown in rejections and blank-row checks)."""
    codes, texts = _distinct(values)
    return pd.Series(texts.astype(object)[codes], dtype="str")


def _distinct(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """``(codes, texts)`` with ``texts[codes]`` the stripped text of each cell; missing cells point to a final ''.

    >>> codes, texts = _distinct(pd.Series([" a", None, "b", "a"]))
    >>> texts[codes].tolist()
    ['a', '', 'b', 'a']
    """
    codes, uniques = pd.factorize(values.reset_index(drop=True))
    texts = np.strings.strip(np.asarray(uniques, dtype=object).astype(np.dtypes.StringDType()))
    texts = np.append(texts, np.array([""], dtype=np.dtypes.StringDType()))
    return np.where(codes < 0, len(texts) - 1, codes), texts


def _is_scalar_type(values: pd.Series, types: tuple[type, ...]) -> np.ndarray:
    """Mask of cells of the given Python types (only object columns, e.g. read from Excel, mix types)."""
    if not ptypes.is_object_dtype(values.dtype):
        return np.zeros(len(values), dtype=bool)
    return values.map(lambda v: isinstance(v, types) and not isinstance(v, bool)).to_numpy(dtype=bool)


_DATE_RE = (r"^(?P<a>\d{1,4})[/.\-](?P<b>\d{1,2})[/.\-](?P<c>\d{1,4})"
            r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
_COMPACT_RE = r"^(?P<a>\d{4})(?P<b>\d{2})(?P<c>\d{2})$"


def _date_strings(texts: np.ndarray) -> np.ndarray:
    """Parse distinct date strings: ISO ``yyyy-mm-dd``, ``yyyymmdd``, ``dd/mm/yyyy`` (or ``m/d/yyyy`` when clear).

    Separators ``/ . -``, optional time of day (dropped); two-digit years are 19xx from 70 on, else 20xx. A column
    is month-first only if some value has its second field > 12 and none has its first field > 12.
    Unreadable -> NaT.
    """
    texts = pd.Series(texts.astype(object), dtype="str")
    parts = texts.str.extract(_DATE_RE).fillna(texts.str.extract(_COMPACT_RE))
    iso = (parts["a"].str.len() == 4).to_numpy()
    a, b, c = (pd.to_numeric(parts[k]).to_numpy(dtype=float) for k in "abc")
    dmy = ~iso & ~np.isnan(a)
    day_first_evidence = bool(np.any(dmy & (a > 12) & (b <= 12)))
    month_first = bool(np.any(dmy & (b > 12) & (a <= 12))) and not day_first_evidence
    year = np.where(iso, a, np.where(c < 100, np.where(c < 70, 2000 + c, 1900 + c), c))
    year = np.where((year >= FIRST_YEAR) & (year < END_YEAR), year, np.nan)
    month = np.where(iso, b, a if month_first else b)
    day = np.where(iso, c, b if month_first else a)
    ymd = pd.DataFrame({"year": year, "month": month, "day": day})
    return pd.to_datetime(ymd, errors="coerce").to_numpy(dtype="datetime64[ns]")


def parse_dates(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Dates (normalised to midnight, ``datetime64[ns]``) and the mask of non-empty cells that are not dates.

    Text is parsed once per distinct value, so a million rows of a few thousand dates cost little.

    >>> d, bad = parse_dates(pd.Series(["31/01/2026", "2026-02-01", "", "32/01/2026"]))
    >>> [str(x.date()) if pd.notna(x) else None for x in d], bad.tolist()
    (['2026-01-31', '2026-02-01', None, None], [False, False, False, True])
    """
    values = values.reset_index(drop=True)
    if ptypes.is_datetime64_any_dtype(values.dtype):
        return _plausible_days(values)
    is_date = _is_scalar_type(values, (np.datetime64, dt.date))
    codes, texts = _distinct(values.where(~is_date, None) if is_date.any() else values)
    out = _date_strings(texts)[codes]
    bad = (texts != "")[codes] & np.isnat(out)
    if is_date.any():
        typed, typed_bad = _plausible_days(pd.to_datetime(values[is_date]))
        out[is_date], bad[is_date] = typed.to_numpy(), typed_bad
    return pd.Series(out, dtype="datetime64[ns]"), bad


#: Dates outside these years are typos (``01/01/2999``), and would overflow ``datetime64[ns]``.
FIRST_YEAR, END_YEAR = 1900, 2200


def _plausible_days(dates: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Datetime cells at midnight (timezone dropped) as ``datetime64[ns]``; years outside
    [FIRST_YEAR, END_YEAR) become NaT and are flagged bad."""
    dates = dates.reset_index(drop=True)
    if getattr(dates.dt, "tz", None) is not None:
        dates = dates.dt.tz_localize(None)
    year = dates.dt.year
    bad = (dates.notna() & ((year < FIRST_YEAR) | (year >= END_YEAR))).to_numpy()
    return dates.where(~bad).dt.normalize().astype("datetime64[ns]"), bad


def _drop_chars(texts: np.ndarray, chars: tuple[str, ...]) -> np.ndarray:
    """Remove each of ``chars`` (touching only the values that contain it)."""
    for ch in chars:
        has = np.strings.find(texts, ch) >= 0
        if has.any():
            texts[has] = np.strings.replace(texts[has], ch, "")
    return texts


def _separators(texts: np.ndarray) -> dict[str, np.ndarray]:
    """Per value: counts of ',' and '.', which comes last, and how many characters follow the last one."""
    last_comma, last_dot = np.strings.rfind(texts, ","), np.strings.rfind(texts, ".")
    last = np.maximum(last_comma, last_dot)
    return {"commas": np.strings.count(texts, ","), "dots": np.strings.count(texts, "."),
            "comma_last": last_comma > last_dot, "after": np.where(last >= 0, np.strings.str_len(texts) - last - 1, -1)}


def _decimal_mark(sep: dict[str, np.ndarray]) -> str | None:
    """The column's decimal mark, by majority of the values that show it.

    A value votes for ',' when it holds both marks with ',' last, repeats '.', or has one ',' not followed by
    exactly 3 digits; symmetrically for '.'. ``1,234`` alone is ambiguous and does not vote. None: no votes, each
    value's single separator is then its decimal mark.
    """
    both = (sep["commas"] > 0) & (sep["dots"] > 0)
    lone_comma = (sep["commas"] == 1) & (sep["dots"] == 0) & (sep["after"] != 3)
    lone_dot = (sep["dots"] == 1) & (sep["commas"] == 0) & (sep["after"] != 3)
    comma = int(np.sum((both & sep["comma_last"]) | (sep["dots"] > 1) | lone_comma))
    dot = int(np.sum((both & ~sep["comma_last"]) | (sep["commas"] > 1) | lone_dot))
    return "," if comma > dot else "." if dot > comma else None


_NUMBER_NOISE = (" ", "\u00a0", "\u202f", "\t", "'", "\u2019", "€", "$", "£", "EUR", "USD", "GBP")


def _numbers_from_strings(texts: np.ndarray) -> np.ndarray:
    """Parse distinct number strings: thousands separators (space, U+00A0, U+202F, apostrophe, or the non-decimal
    mark), decimal comma or dot (the column's, see :func:`_decimal_mark`), currency signs, ``(12,50)`` and
    ``12,50-`` as negatives. Unreadable, or contradicting the column's decimal mark (``12.50`` among
    ``1 234,56``) -> NaN.

    >>> _numbers_from_strings(np.array(["1 234,50", "(3,5)", "7-", "x", "12.50"])).tolist()
    [1234.5, -3.5, -7.0, nan, nan]
    """
    core = _drop_chars(texts.astype(np.dtypes.StringDType()), _NUMBER_NOISE)
    paren = np.strings.startswith(core, "(") & np.strings.endswith(core, ")")
    trailing = np.strings.endswith(core, "-") & (np.strings.str_len(core) > 1)
    core[paren] = np.strings.slice(core[paren], 1, -1)
    core[trailing] = np.strings.slice(core[trailing], 0, -1)
    sep = _separators(core)
    mark = _decimal_mark(sep)
    if mark == ",":
        contradict = ~sep["comma_last"] & (sep["dots"] == 1) & (sep["after"] != 3)
        core = np.strings.replace(_drop_chars(core, (".",)), ",", ".")
    elif mark == ".":
        contradict = sep["comma_last"] & (sep["commas"] == 1) & (sep["after"] != 3)
        core = _drop_chars(core, (",",))
    else:
        contradict = np.zeros(len(core), dtype=bool)
        core = np.strings.replace(core, ",", ".")
    core = np.where((core == "") | contradict, "nan", core)
    try:
        number = core.astype(float)
    except ValueError:  # some cell is not a number: parse cell by cell, unreadable -> NaN
        number = np.array(pd.to_numeric(pd.Series(core.astype(object)), errors="coerce"), dtype=float)
    number[~np.isfinite(number)] = np.nan
    return np.where(paren | trailing, -number, number)


def parse_numbers(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Floats and the mask of non-empty cells that are not numbers (French or English formatting).

    >>> x, bad = parse_numbers(pd.Series(["1\u202f234,56", "-12,5", "", "abc"]))
    >>> x.tolist()[:2], bad.tolist()
    ([1234.56, -12.5], [False, False, False, True])
    """
    values = values.reset_index(drop=True)
    if ptypes.is_numeric_dtype(values.dtype) and not ptypes.is_bool_dtype(values.dtype):
        return values.astype(float), np.zeros(len(values), dtype=bool)
    is_num = _is_scalar_type(values, (int, float, np.number))
    codes, texts = _distinct(values.where(~is_num, None) if is_num.any() else values)
    out = _numbers_from_strings(texts)[codes]
    if is_num.any():
        out[is_num] = pd.to_numeric(values[is_num]).to_numpy(dtype=float)
    bad = (texts != "")[codes] & np.isnan(out) & ~is_num
    return pd.Series(out, dtype=float), bad


def _as_str(texts: np.ndarray, codes: np.ndarray) -> pd.Series:
    """Text cells as a pandas ``str`` Series, '' -> missing."""
    objs = texts.astype(object)
    objs[texts == ""] = None
    return pd.Series(objs[codes], dtype="str")


def _parse_ids(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Identifiers as text; integral numbers lose their '.0' (Excel reads 611365 as 611365.0). Empty -> NA."""
    values = values.reset_index(drop=True)
    if ptypes.is_float_dtype(values.dtype) or _is_scalar_type(values, (float,)).any():
        as_num = pd.to_numeric(values, errors="coerce")
        integral = (as_num.notna() & (as_num == np.round(as_num))).to_numpy()
        values = values.astype(object)
        values[integral] = as_num[integral].round().astype(np.int64).astype(str)
    codes, texts = _distinct(values)
    return _as_str(texts, codes), np.zeros(len(values), dtype=bool)


_TRUE = ("1", "1.0", "true", "vrai", "yes", "y", "oui", "o", "x", "t", "disputed", "litige")
_FALSE = ("", "0", "0.0", "false", "faux", "no", "n", "non", "f", "nan", "none")


def _parse_bools(values: pd.Series, default: bool) -> tuple[pd.Series, np.ndarray]:
    """Yes/no cells (yes/no, oui/non, true/false, vrai/faux, 1/0, x); empty -> ``default``."""
    values = values.reset_index(drop=True)
    if ptypes.is_bool_dtype(values.dtype):
        return values.fillna(default).astype(bool), np.zeros(len(values), dtype=bool)
    codes, texts = _distinct(values)
    lower = np.strings.lower(texts)
    true, false = np.isin(lower, _TRUE), np.isin(lower, _FALSE)
    value = np.where(texts == "", default, true)
    return pd.Series(value[codes], dtype=bool), (~true & ~false)[codes]


def _parse_choices(values: pd.Series, synonyms: dict[str, str], default: str | None) -> pd.Series:
    """Map cells onto canonical values through ``synonyms`` (accents, case and punctuation ignored); empty ->
    ``default``; unknown values are kept (normalised) so the schema check reports them."""
    codes, texts = _distinct(values)
    keys = [_norm_key(t) for t in texts.tolist()]  # distinct values only: a handful
    mapped = np.array([synonyms.get(k, k) if k else default for k in keys], dtype=object)
    return pd.Series(mapped[codes], dtype="str")


def _parse_currency(values: pd.Series, default: str) -> pd.Series:
    codes, texts = _distinct(values)
    upper = [_CURRENCY_SYNONYMS.get(t, t) or default for t in np.strings.upper(texts).tolist()]
    return pd.Series(np.array(upper, dtype=object)[codes], dtype="str")


def _parse_field(raw: pd.DataFrame, f: _Field) -> tuple[pd.Series, np.ndarray]:
    """Parse one canonical column (or build its default when the column is absent)."""
    n = len(raw)
    if f.name not in raw.columns:
        if f.kind == "date":
            return pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]"), np.zeros(n, bool)
        if f.kind in ("number", "int"):
            return pd.Series(np.nan, index=range(n), dtype=float), np.zeros(n, bool)
        if f.kind == "bool":
            return pd.Series(np.full(n, bool(f.default))), np.zeros(n, bool)
        return pd.Series([f.default] * n, dtype="str"), np.zeros(n, bool)
    col = raw[f.name]
    if f.kind == "id":
        return _parse_ids(col)
    if f.kind == "date":
        return parse_dates(col)
    if f.kind in ("number", "int"):
        return parse_numbers(col)
    if f.kind == "bool":
        return _parse_bools(col, bool(f.default))
    if f.kind in ("choice", "channel"):
        return _parse_choices(col, f.synonyms or {}, f.default), np.zeros(n, bool)
    if f.kind == "currency":
        return _parse_currency(col, f.default), np.zeros(n, bool)
    codes, texts = _distinct(col)
    return _as_str(texts, codes), np.zeros(n, bool)


_PARSE_REASON = {"date": Reason.BAD_DATE, "number": Reason.BAD_NUMBER, "int": Reason.BAD_NUMBER,
                 "bool": Reason.BAD_VALUE}


# --------------------------------------------------------------------------------------------------------------
# Reading sources


@dataclass(frozen=True)
class _Raw:
    """One input table as read: cells (our column names), where it came from, and each row's spreadsheet number."""

    table: str
    label: str
    frame: pd.DataFrame
    rows: np.ndarray  # spreadsheet row number of each frame row (header = 1)
    bad_lines: np.ndarray  # CSV lines with the wrong number of fields (not in frame)

    def cells(self, column: str, pos: np.ndarray) -> pd.Series:
        """Raw cell text at positions (as the user sees it in the file), '' when the column is absent."""
        if column not in self.frame.columns:
            return pd.Series([""] * len(pos), dtype="str")
        return _text(self.frame[column].iloc[pos].reset_index(drop=True))


def _decode(data: bytes, label: str) -> str:
    """Text of a file: UTF-8 (BOM or not), else Windows-1252, else latin-1."""
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise LedgerError(f"{label}: cannot decode the file as UTF-8 or latin-1")  # pragma: no cover (latin-1 total)


def _sniff_separator(text: str) -> str:
    """The field separator: the candidate most frequent in the header line (';' beats ',' in French exports,
    where commas are decimal marks and csv.Sniffer is misled)."""
    header = text.split("\n", 1)[0]
    counts = {sep: header.count(sep) for sep in (";", ",", "\t", "|")}
    best = max(counts, key=lambda s: counts[s])
    return best if counts[best] > 0 else ","


def _read_csv(path: Path, label: str) -> tuple[pd.DataFrame, np.ndarray]:
    """Read a delimited text file as strings; lines with too many fields are returned apart, not lost."""
    try:
        text = _decode(path.read_bytes(), label)
    except OSError as exc:
        raise LedgerError(f"{label}: cannot read the file ({exc.strerror})") from None
    if not text.strip():
        raise LedgerError(f"{label}: the file is empty; export the table with its header line")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", pd.errors.ParserWarning)
        try:
            frame = pd.read_csv(io.StringIO(text), sep=_sniff_separator(text), dtype=str, keep_default_na=False,
                                skip_blank_lines=False, on_bad_lines="warn")
        except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
            raise LedgerError(f"{label}: not a readable CSV file ({exc})") from None
    bad = [int(m.group(1)) for w in caught if (m := re.search(r"line (\d+)", str(w.message)))]
    return frame, np.array(sorted(bad), dtype=np.int64)


def _read_excel(path: Path, label: str) -> pd.DataFrame:
    try:
        return pd.read_excel(path, sheet_name=0, dtype=object, engine="openpyxl")
    except Exception as exc:  # openpyxl raises many types for a broken workbook
        raise LedgerError(f"{label}: cannot read the Excel workbook ({type(exc).__name__}: {exc})") from None


def _load(source: Any, table: str) -> tuple[pd.DataFrame, str, np.ndarray]:
    """Cells of one input (path or DataFrame), its label for messages, and CSV lines that were malformed."""
    if isinstance(source, pd.DataFrame):
        return source.reset_index(drop=True), f"{table} (DataFrame)", np.zeros(0, np.int64)
    if not isinstance(source, str | Path):
        raise LedgerError(f"{table}: expected a file path or a pandas DataFrame, got {type(source).__name__}")
    path = Path(source)
    label = str(path)
    if not path.is_file():
        raise LedgerError(f"{label}: {table} file not found; check the path (relative paths in a params file "
                          "are relative to that file's folder)")
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return _read_excel(path, label), label, np.zeros(0, np.int64)
    if suffix in (".csv", ".txt", ".tsv", ""):
        frame, bad = _read_csv(path, label)
        return frame, label, bad
    raise LedgerError(f"{label}: cannot read '{suffix}' files; export the {table} as .csv, .txt or .xlsx")


def _closest(name: str, options: list[str]) -> str:
    close = difflib.get_close_matches(name, options, n=1, cutoff=0.5)
    return f"; did you mean {close[0]!r}?" if close else ""


def _apply_mapping(frame: pd.DataFrame, table: str, label: str, mapping: dict[str, str]) -> pd.DataFrame:
    """Rename the company's columns onto ours (mapping is ours -> theirs); check required columns are there."""
    frame = frame.rename(columns=lambda c: str(c).strip().lstrip("\ufeff"))
    ours = [f.name for f in FIELDS[table]]
    columns = list(frame.columns)
    for our, their in mapping.items():
        if our not in ours:
            raise LedgerError(f"mapping.{table}.{our}: {our!r} is not a cashsim {table} column"
                              f"{_closest(our, ours)} (valid: {', '.join(ours)})")
        if str(their).strip() not in columns:
            raise LedgerError(f"{label}: mapping.{table}.{our} points to column {their!r}, which is not in the "
                              f"file{_closest(str(their), columns)} (columns: {', '.join(columns)})")
    rename = {str(their).strip(): our for our, their in mapping.items()}
    # a column of the file that already bears one of our mapped names is kept, renamed out of the way
    clash = {c: f"{c}_unmapped" for c in columns if c in mapping and c not in rename}
    frame = frame.rename(columns={**clash, **rename})
    frame = frame.rename(columns={c: f"{c}_source" for c in frame.columns if c in DERIVED_COLUMNS})
    for f in FIELDS[table]:
        if f.required and f.name not in frame.columns:
            raise LedgerError(f"{label}: missing required {table} column {f.name!r}{_closest(f.name, columns)} "
                              f"(columns: {', '.join(columns)}); rename it or map yours in the params file: "
                              f"data.mapping.{table}.{f.name}: <your column>")
    return frame


def _spreadsheet_rows(n: int, bad_lines: np.ndarray) -> np.ndarray:
    """Row numbers of the parsed rows: lines 2, 3, ... skipping the malformed lines read apart."""
    lines = np.arange(2, 2 + n + len(bad_lines))
    return np.setdiff1d(lines, bad_lines, assume_unique=True) if len(bad_lines) else lines


def _read_raw(source: Any, table: str, mapping: dict[str, str]) -> _Raw:
    frame, label, bad_lines = _load(source, table)
    frame = _apply_mapping(frame, table, label, mapping)
    return _Raw(table, label, frame, _spreadsheet_rows(len(frame), bad_lines), bad_lines)


# --------------------------------------------------------------------------------------------------------------
# Rejections


def _rejections(raw: _Raw, pos: np.ndarray, column: str, reason: str, detail: Any = "") -> pd.DataFrame:
    """Rejection rows for the rows at ``pos`` of ``raw``."""
    pos = np.asarray(pos, dtype=np.int64)
    return pd.DataFrame({
        "table": raw.table, "file": raw.label, "row": raw.rows[pos], "column": column,
        "value": raw.cells(column, pos).to_numpy(), "reason": str(reason),
        "detail": np.asarray(detail, dtype=object) if not isinstance(detail, str) else detail,
    }, index=range(len(pos)))


def _empty_rejections() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="int64" if c == "row" else "str") for c in REJECTION_COLUMNS})


class _Sink:
    """Collects rejection frames; ``take`` moves the masked rows of a working table into the rejections."""

    def __init__(self) -> None:
        self.parts: list[pd.DataFrame] = []

    def take(self, raw: _Raw, work: pd.DataFrame, mask: Any, column: str, reason: Reason,
             detail: Any = "") -> pd.DataFrame:
        mask = np.asarray(mask, dtype=bool)
        if mask.any():
            if not isinstance(detail, str):
                detail = np.asarray(detail, dtype=object)[mask]
            self.parts.append(_rejections(raw, work["_pos"].to_numpy()[mask], column, reason, detail))
            return work[~mask].reset_index(drop=True)
        return work

    def frame(self) -> pd.DataFrame:
        parts = [p for p in self.parts if len(p)]
        if not parts:
            return _empty_rejections()
        out = pd.concat(parts, ignore_index=True)
        order = pd.Series(out["table"]).map({t: i for i, t in enumerate(TABLES)})
        out = out.assign(_t=order).sort_values(["_t", "row"], kind="stable").drop(columns="_t")
        return out.reset_index(drop=True).astype({"row": "int64"})


# --------------------------------------------------------------------------------------------------------------
# Per-table parsing + pandera schema


def _iso_currency(codes: pd.Series) -> pd.Series:
    """True where the cell is a 3-letter upper-case code (checked once per distinct value)."""
    valid = [c for c in codes.unique() if isinstance(c, str) and len(c) == 3 and c.isalpha() and c.isupper()]
    return codes.isin(valid)


def _schema(table: str) -> pa.DataFrameSchema:
    """Per-column rules of a parsed table: required cells present, allowed values, non-zero amounts, dates in order.

    Unreadable cells are caught by the parsers before (they know the raw text); this schema sees typed columns.
    """
    columns = {}
    for f in FIELDS[table]:
        checks = []
        if f.kind == "choice":
            allowed = tuple(dict.fromkeys((f.synonyms or {}).values()))     # the canonical values
            checks.append(pa.Check(lambda s, ok=allowed: s.isin(ok), name="allowed"))
        elif f.kind == "currency":
            checks.append(pa.Check(_iso_currency, name="allowed"))
        elif f.kind == "int":
            checks.append(pa.Check(lambda s: (s >= 1) & (s == np.round(s)), name="allowed", ignore_na=True))
        elif f.name == "credit_limit":
            checks.append(pa.Check(lambda s: s >= 0, name="allowed", ignore_na=True))
        elif f.name == "amount":
            checks.append(pa.Check(lambda s: s != 0, name="nonzero", ignore_na=True))
        nullable = not f.required  # optional cells are filled with their default by the parsers
        if checks or not nullable:  # a nullable column without checks has nothing to validate
            columns[f.name] = pa.Column(nullable=nullable, checks=checks, required=True)
    wide = [pa.Check(lambda df, a=later, b=earlier: ~(df[a] < df[b]), name=str(reason))
            for reason, later, earlier in _ORDER_CHECKS.get(table, ())]
    return pa.DataFrameSchema(columns, checks=wide, strict=False, coerce=False)


_SCHEMAS = {table: _schema(table) for table in TABLES}
_WIDE_COLUMN = {str(r): later for checks in _ORDER_CHECKS.values() for r, later, _ in checks}


def _schema_problems(table: str, typed: pd.DataFrame) -> pd.DataFrame:
    """Failures of the pandera schema as (pos, column, reason, priority) rows."""
    try:
        _SCHEMAS[table].validate(typed, lazy=True)
        return pd.DataFrame(columns=["pos", "column", "reason", "priority"])
    except pa.errors.SchemaErrors as exc:
        fc = exc.failure_cases
    fc = fc[fc["index"].notna()]
    check = fc["check"].astype(str)
    wide = check.isin(list(_WIDE_COLUMN))
    reason = np.select([check == "not_nullable", check == "nonzero", wide],
                       [str(Reason.MISSING_VALUE), str(Reason.ZERO_AMOUNT), check], str(Reason.BAD_VALUE))
    column = np.where(wide, check.map(_WIDE_COLUMN), fc["column"].astype(str))
    priority = np.select([check == "not_nullable", wide], [1, 3], 2)
    return pd.DataFrame({"pos": fc["index"].astype(np.int64).to_numpy(), "column": column, "reason": reason,
                         "priority": priority})


def _parse_table(raw: _Raw, sink: _Sink) -> pd.DataFrame:
    """Typed canonical columns (+ the company's extra columns as text) of the rows that pass the per-row checks.

    Each rejected row is reported once, for its first problem: empty row, unreadable cell, missing required cell,
    value not allowed / zero amount, dates out of order.
    """
    fields = FIELDS[raw.table]
    n = len(raw.frame)
    typed, problems = {}, []
    for f in fields:
        values, bad = _parse_field(raw.frame, f)
        typed[f.name] = values
        if bad.any():
            problems.append(pd.DataFrame({"pos": np.flatnonzero(bad), "column": f.name,
                                          "reason": str(_PARSE_REASON[f.kind]), "priority": 0}))
    work = pd.DataFrame(typed, index=range(n))
    problems.append(_schema_problems(raw.table, work))
    # a blank row has no id: only those candidates are checked cell by cell
    blank = work[fields[0].name].isna().to_numpy(copy=True)
    for c in raw.frame.columns:
        if blank.any():
            blank[blank] = (_text(raw.frame[c][blank]) == "").to_numpy()
    problems.append(pd.DataFrame({"pos": np.flatnonzero(blank), "column": "", "reason": str(Reason.EMPTY_ROW),
                                  "priority": -1}))
    found = pd.concat([p for p in problems if len(p)] or [problems[-1]], ignore_index=True)
    found = found.sort_values(["pos", "priority"], kind="stable").drop_duplicates("pos")
    for (column, reason), grp in found.groupby(["column", "reason"], sort=False):
        sink.parts.append(_rejections(raw, grp["pos"].to_numpy(), column, reason, _why(raw.table, column, reason)))
    if len(raw.bad_lines):
        sink.parts.append(pd.DataFrame({
            "table": raw.table, "file": raw.label, "row": raw.bad_lines, "column": "", "value": "",
            "reason": str(Reason.BAD_LINE), "detail": "more fields than the header; check the separator and quotes"}))
    extras = [c for c in raw.frame.columns if c not in typed]
    work = pd.concat([work, raw.frame[extras].reset_index(drop=True)], axis=1).assign(_pos=np.arange(n))
    return work.drop(index=found["pos"].to_numpy()).reset_index(drop=True)


_ALLOWED_HINT = {
    "payment_method": "allowed: transfer, direct_debit, cheque, card (virement, prélèvement, LCR, chèque, carte)",
    "dispute_type": "allowed: price, technical, delivery, other (prix, technique, livraison, autre)",
    "currency": "a 3-letter ISO code such as EUR",
    "disputed": "yes/no, oui/non, true/false or 1/0",
    "level": "a whole number >= 1",
    "credit_limit": "a number >= 0",
}


def _why(table: str, column: str, reason: str) -> str:
    """The ``detail`` of a per-row problem: what the cell should look like."""
    if reason == Reason.BAD_DATE:
        return "expected dd/mm/yyyy or yyyy-mm-dd"
    if reason == Reason.BAD_NUMBER:
        return "expected a number such as 1 234,56 or 1234.56"
    if reason == Reason.MISSING_VALUE:
        return f"{column} is required in the {table} table"
    if reason == Reason.ZERO_AMOUNT:
        return "an amount of 0 moves no cash"
    if reason == Reason.BAD_VALUE:
        return _ALLOWED_HINT.get(column, "")
    return ""


# --------------------------------------------------------------------------------------------------------------
# Cross-table checks


def _drop_duplicates(raw: _Raw, work: pd.DataFrame, key: str, sink: _Sink) -> pd.DataFrame:
    """Keep the first row of each id; later rows are rejected with the first row's number in ``detail``."""
    dup = work[key].duplicated(keep="first").to_numpy()
    if not dup.any():
        return work
    first_pos = work.groupby(key, sort=False)["_pos"].transform("first").to_numpy()
    detail = _sparse_detail(dup, lambda i: [f"first at row {r}" for r in raw.rows[first_pos[i]]])
    return sink.take(raw, work, dup, key, Reason.DUPLICATE_ID, detail)


def _main_currency(currency: pd.Series) -> str | None:
    """The currency of the most invoices (ties: alphabetical)."""
    if currency.empty:
        return None
    counts = currency.value_counts()
    return str(sorted(counts.index[counts == counts.max()])[0])


def _finish_invoices(raw: _Raw, work: pd.DataFrame, customers: pd.DataFrame | None, sink: _Sink) -> pd.DataFrame:
    """Invoice checks across rows (duplicate ids, minority currencies), then the defaults that need other rows:
    ``disputed`` from dispute dates/types, segment and name from the customers table, else "all" / the id."""
    work = _drop_duplicates(raw, work, "invoice_id", sink)
    main = _main_currency(work["currency"])
    if main is not None:
        other = (work["currency"] != main).to_numpy()
        work = sink.take(raw, work, other, "currency", Reason.MINORITY_CURRENCY,
                         f"the ledger's currency is {main}; convert or remove these rows")
    disputed = work["disputed"].to_numpy(dtype=bool) | work["dispute_opened"].notna().to_numpy() | (
        work["dispute_type"].notna().to_numpy())
    work = work.assign(disputed=disputed)
    if customers is not None and len(customers):
        lookup = customers.set_index("customer_id")
        work = work.assign(segment=work["segment"].fillna(work["customer_id"].map(lookup["segment"])),
                           customer_name=work["customer_name"].fillna(
                               work["customer_id"].map(lookup["customer_name"])))
    work = work.assign(segment=work["segment"].fillna("all").astype("str"),
                       customer_name=work["customer_name"].fillna(work["customer_id"]).astype("str"))
    return work


def _sparse_detail(mask: np.ndarray, make: Any) -> np.ndarray:
    """A detail column that is '' except where ``mask``, filled by ``make(indices)`` (only the few bad rows)."""
    detail = np.full(len(mask), "", dtype=object)
    idx = np.flatnonzero(mask)
    if len(idx):
        detail[idx] = np.asarray(make(idx), dtype=object)
    return detail


def _link_events(raw: _Raw, work: pd.DataFrame, invoices: pd.DataFrame, raw_invoice_ids: pd.Series,
                 rejected_why: pd.Series, sink: _Sink) -> pd.DataFrame:
    """Reject events (payments, promises, dunning) whose invoice is rejected, unknown, or issued after them.

    Returns the surviving events with ``_inv``, the position of their invoice in ``invoices``.
    """
    work = work.assign(_inv=pd.Index(invoices["invoice_id"]).get_indexer(work["invoice_id"]))
    missing = (work["_inv"] < 0).to_numpy()
    if missing.any():
        rejected = missing & work["invoice_id"].isin(raw_invoice_ids).to_numpy()
        ids = work["invoice_id"].to_numpy(dtype=object)
        work = sink.take(raw, work, rejected, "invoice_id", Reason.REJECTED_INVOICE,
                         _sparse_detail(rejected, lambda i: rejected_why.reindex(ids[i]).fillna("").to_numpy()))
        work = sink.take(raw, work, (work["_inv"] < 0).to_numpy(), "invoice_id", Reason.UNKNOWN_INVOICE,
                         "no invoice with this id in the invoices table")
    date_col = _EVENT_DATE[raw.table]
    issued = invoices["issue_date"].to_numpy()[work["_inv"].to_numpy()]
    early = work[date_col].to_numpy() < issued
    return sink.take(raw, work, early, date_col, Reason.BEFORE_ISSUE,
                     _sparse_detail(early, lambda i: pd.Series(issued[i]).dt.strftime("invoice issued %Y-%m-%d")))


def _group_cumsum(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Cumulative sum within runs of equal ``groups`` (already sorted)."""
    if len(values) == 0:
        return values.copy()
    total = np.cumsum(values)
    starts = np.r_[0, np.flatnonzero(np.diff(groups)) + 1]
    offset = np.repeat(total[starts] - values[starts], np.diff(np.r_[starts, len(values)]))
    return total - offset


def _check_payments(raw: _Raw, work: pd.DataFrame, invoices: pd.DataFrame, sink: _Sink) -> pd.DataFrame:
    """Reject payments of the opposite sign to their invoice, then those that overpay it beyond the tolerance.

    Payments are taken in (date, file order); from the first whose cumulative total exceeds ``|amount| + tol``,
    that payment and every later one of the same invoice are rejected.
    """
    amount = invoices["amount"].to_numpy()
    opposite = np.sign(work["amount"].to_numpy()) != np.sign(amount[work["_inv"].to_numpy()])
    work = sink.take(raw, work, opposite, "amount", Reason.OPPOSITE_SIGN,
                     "a refund or reversal must be netted with the payment it cancels")
    inv_pos = work["_inv"].to_numpy()
    order = np.lexsort((work["_pos"].to_numpy(), work["payment_date"].to_numpy(), inv_pos))
    group = inv_pos[order]
    cum = _group_cumsum(np.abs(work["amount"].to_numpy()[order]), group)
    owed = np.abs(amount[group])
    tol = payment_tolerance(owed)
    crossed = cum > owed + tol + 1e-9
    crossed = _group_cumsum(crossed.astype(np.int64), group) > 0  # the crossing payment and every later one
    over = np.zeros(len(work), dtype=bool)
    over[order[crossed]] = True
    at = np.empty(len(work), dtype=np.int64)
    at[order] = np.arange(len(order))  # row -> its place in the sorted order
    detail = _sparse_detail(over, lambda i: [f"cumulative {cum[k]:,.2f} > amount {owed[k]:,.2f} + tolerance "
                                             f"{tol[k]:,.2f}" for k in at[i]])
    return sink.take(raw, work, over, "amount", Reason.OVERPAYMENT, detail)


def _customers_table(given: pd.DataFrame | None, invoices: pd.DataFrame) -> pd.DataFrame:
    """Customers from the customers file, plus those only seen on invoices (name and segment of their latest
    invoice, no credit limit)."""
    latest = invoices.sort_values("issue_date", kind="stable").groupby("customer_id", sort=True).agg(
        customer_name=("customer_name", "last"), segment=("segment", "last")).reset_index()
    latest["credit_limit"] = np.nan
    if given is None or given.empty:
        return latest[list(CUSTOMER_COLUMNS)].astype({"customer_id": "str"})
    given = given.assign(customer_name=given["customer_name"].fillna(given["customer_id"]),
                         segment=given["segment"].fillna("all"))
    extra_cols = [c for c in given.columns if c not in CUSTOMER_COLUMNS and c != "_pos"]
    only_invoiced = latest[~latest["customer_id"].isin(given["customer_id"])]
    out = pd.concat([given[list(CUSTOMER_COLUMNS) + extra_cols], only_invoiced], ignore_index=True)
    return out.reset_index(drop=True)


def _default_levels(dunning: pd.DataFrame) -> pd.DataFrame:
    """Dunning level: as given, else (an empty cell, or no level column: all empty) the rank of the action among
    the invoice's actions (1 = first reminder)."""
    rank = dunning.sort_values(["action_date", "_pos"]).groupby("invoice_id").cumcount() + 1
    level = dunning["level"].fillna(rank.reindex(dunning.index))
    return dunning.assign(level=level.astype(np.int64))


def _final(work: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    extras = [c for c in work.columns if c not in columns and not c.startswith("_")]
    return work[list(columns) + extras].reset_index(drop=True)


def _empty_table(table: str) -> pd.DataFrame:
    fields = {f.name: f for f in FIELDS[table]}
    dtypes = {"date": "datetime64[ns]", "number": float, "int": np.int64, "bool": bool}
    return pd.DataFrame({name: pd.Series(dtype=dtypes.get(f.kind, "str")) for name, f in fields.items()})


# --------------------------------------------------------------------------------------------------------------
# The ledger


def _day(as_of: Any) -> pd.Timestamp:
    try:
        day = pd.Timestamp(as_of)
    except (TypeError, ValueError) as exc:
        raise LedgerError(f"as_of {as_of!r} is not a date ({exc}); use e.g. '2026-10-31'") from None
    if pd.isna(day):
        raise LedgerError("as_of is missing; give a date such as '2026-10-31'")
    return day.tz_localize(None).normalize() if day.tzinfo else day.normalize()


def _blank_after(dates: pd.Series, as_of: pd.Timestamp) -> pd.Series:
    return dates.where(dates <= as_of)


@dataclass(frozen=True)
class Ledger:
    """A company's receivables history in canonical columns (see module docstring for the semantics).

    ``source_rows`` is rows read per table and ``rows_used`` rows kept (a field docs/design.md does not list: the
    customers table also holds customers seen only on invoices, so its length cannot tell the rows used);
    ``accounting()`` checks that every row read was either used or rejected. Both describe the read and are kept
    unchanged by :meth:`known_at`.
    """

    invoices: pd.DataFrame
    payments: pd.DataFrame
    promises: pd.DataFrame
    dunning: pd.DataFrame
    customers: pd.DataFrame
    rejections: pd.DataFrame
    source_rows: dict[str, int]
    rows_used: dict[str, int] = field(default_factory=dict)

    def __repr__(self) -> str:
        return (f"Ledger({len(self.invoices):,} invoices, {len(self.payments):,} payments, "
                f"{len(self.promises):,} promises, {len(self.dunning):,} dunning actions, "
                f"{len(self.customers):,} customers, {len(self.rejections):,} rejected rows)")

    # ---- time travel -------------------------------------------------------------------------------------------
    def known_at(self, as_of: Any) -> Ledger:
        """What was known at the end of ``as_of``: no look-ahead anywhere downstream.

        Invoices issued <= as_of; payments, promises and dunning dated <= as_of; a dispute opened after as_of is
        unflagged (type blanked); resolutions and write-offs after as_of are blanked. A dispute flag without an
        opening date is taken as known from the issue date (the data cannot say better).
        """
        day = _day(as_of)
        inv = self.invoices[(self.invoices["issue_date"] <= day).to_numpy()]
        not_yet = (inv["dispute_opened"] > day).to_numpy()
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
        )

    # ---- derived state -----------------------------------------------------------------------------------------
    def status(self, as_of: Any) -> pd.DataFrame:
        """One row per invoice issued <= as_of, with what was known at the end of that day.

        Adds ``paid_to_date`` (sum of payments), ``outstanding`` (amount - paid_to_date; 0 once written off),
        ``paid_date`` (first date cumulative payments reach ``|amount| - tol``; NaT unless by as_of), ``status``
        (see :data:`STATUSES`), ``days_late`` (paid_date - due_date, signed calendar days, NaN if not paid or a
        credit note), ``days_overdue`` (as_of - due_date, NaN if paid or a credit note; negative = not yet due) and
        ``age_days`` (as_of - issue_date).
        """
        day = _day(as_of)
        known = self.known_at(day)
        inv = known.invoices
        amount = inv["amount"].to_numpy(dtype=float)
        paid_to_date, paid_date = _settlement(inv, known.payments)
        is_paid = ~np.isnat(paid_date)
        credit = amount < 0
        written_off = inv["write_off_date"].notna().to_numpy() & ~is_paid
        due = inv["due_date"].to_numpy()
        overdue = ~is_paid & ~written_off & ~credit & (due < np.datetime64(day))
        status = np.select([is_paid, written_off, overdue], ["paid", "written_off", "overdue"], "open_not_due")
        one_day = np.timedelta64(1, "D")
        days_late = np.where(is_paid & ~credit, (paid_date - due) / one_day, np.nan)
        days_overdue = np.where(~is_paid & ~credit, (np.datetime64(day) - due) / one_day, np.nan)
        age = (np.datetime64(day) - inv["issue_date"].to_numpy()) / one_day
        return inv.assign(
            paid_to_date=paid_to_date,
            outstanding=np.where(written_off, 0.0, amount - paid_to_date),
            paid_date=pd.Series(paid_date, dtype="datetime64[ns]"),
            status=pd.Categorical(status, categories=STATUSES),
            days_late=days_late, days_overdue=days_overdue, age_days=age,
        )

    def open_book(self, as_of: Any) -> pd.DataFrame:
        """The open items at the end of ``as_of`` (*balance âgée*): status rows that are open_not_due or overdue.

        Open credit notes are included with a negative ``outstanding`` (they net the customer's balance); filter
        ``amount > 0`` before simulating inflows.
        """
        st = self.status(as_of)
        return st[st["status"].isin(OPEN_STATUSES).to_numpy()].reset_index(drop=True)

    # ---- reporting ---------------------------------------------------------------------------------------------
    @property
    def currency(self) -> str | None:
        """The ledger's single currency (the minority ones were rejected)."""
        return _main_currency(self.invoices["currency"])

    @property
    def latest_date(self) -> pd.Timestamp | None:
        """The latest date anywhere in the ledger: the natural default as-of date."""
        dates = [self.invoices[c].max() for c in ("issue_date", "dispute_opened", "dispute_resolved",
                                                   "write_off_date")]
        dates += [self.payments["payment_date"].max(), self.promises["made_date"].max(),
                  self.dunning["action_date"].max()]
        dates = [d for d in dates if pd.notna(d)]
        return max(dates) if dates else None

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
        latest date in the ledger), date range, rejections by reason, and the row accounting."""
        day = _day(as_of) if as_of is not None else (self.latest_date or pd.Timestamp("today").normalize())
        st = self.status(day)
        open_ = st[st["status"].isin(OPEN_STATUSES).to_numpy()]
        overdue = st[(st["status"] == "overdue").to_numpy()]
        acc = self.accounting()
        return {
            "as_of": day,
            "currency": self.currency,
            "customers": int(self.invoices["customer_id"].nunique()),
            "segments": int(self.invoices["segment"].nunique()),
            "invoices": len(self.invoices),
            "credit_notes": int((self.invoices["amount"] < 0).sum()),
            "payments": len(self.payments),
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
            "rows_read": int(acc["rows_read"].sum()),
            "rows_rejected": len(self.rejections),
            "rejections_by_reason": self.rejections["reason"].value_counts().to_dict(),
            "balanced": bool(acc["balanced"].all()),
        }


def _settlement(invoices: pd.DataFrame, payments: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per invoice: sum of payments, and the date cumulative payments first reach ``|amount| - tol`` (else NaT).

    Vectorised: payments sorted by (invoice, date), cumulative sums within invoice, first crossing per invoice.
    """
    n = len(invoices)
    paid_date = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    if payments.empty or n == 0:
        return np.zeros(n), paid_date
    pos = pd.Index(invoices["invoice_id"]).get_indexer(payments["invoice_id"])
    keep = pos >= 0
    pos = pos[keep]
    amount = payments["amount"].to_numpy(dtype=float)[keep]
    dates = payments["payment_date"].to_numpy(dtype="datetime64[ns]")[keep]
    paid = np.bincount(pos, weights=amount, minlength=n)
    order = np.lexsort((dates, pos))
    pos_s, dates_s = pos[order], dates[order]
    cum = _group_cumsum(np.abs(amount[order]), pos_s)
    target = np.abs(invoices["amount"].to_numpy(dtype=float))
    target = (target - payment_tolerance(target))[pos_s]
    reached = np.flatnonzero(cum >= target - 1e-9)
    first_inv, first_at = np.unique(pos_s[reached], return_index=True)
    paid_date[first_inv] = dates_s[reached[first_at]]
    return paid, paid_date


def _check_mapping(mapping: dict[str, dict[str, str]] | None) -> dict[str, dict[str, str]]:
    mapping = dict(mapping or {})
    unknown = [t for t in mapping if t not in TABLES]
    if unknown:
        raise LedgerError(f"mapping: unknown table(s) {unknown}{_closest(unknown[0], list(TABLES))}; "
                          f"tables are {', '.join(TABLES)}")
    return {t: dict(mapping.get(t) or {}) for t in TABLES}


def read_ledger(invoices: Any, payments: Any, *, promises: Any = None, dunning: Any = None, customers: Any = None,
                mapping: dict[str, dict[str, str]] | None = None) -> Ledger:
    """Read and validate a receivables history; bad rows go to ``ledger.rejections``, never silently away.

    Each argument is a path (.csv/.txt/.xlsx) or a DataFrame. ``mapping`` renames the company's columns onto ours,
    per table, ours first: ``{"invoices": {"invoice_id": "N° facture", "amount": "Montant TTC"}}``.

    Raises :class:`~cashsim.errors.LedgerError` (naming the file and column) for an unreadable file, a missing
    required column or a mapping that points to a column not in the file.

    >>> import pandas as pd
    >>> inv = pd.DataFrame({"invoice_id": ["F1", "F1"], "customer_id": ["C1", "C1"],
    ...                     "issue_date": ["2026-01-05"] * 2, "due_date": ["2026-02-04"] * 2, "amount": [100, 100]})
    >>> led = read_ledger(inv, pd.DataFrame(columns=["invoice_id", "payment_date", "amount"]))
    >>> led.rejections[["row", "column", "reason"]].values.tolist()
    [[3, 'invoice_id', 'duplicate id']]
    """
    maps = _check_mapping(mapping)
    given = {"invoices": invoices, "payments": payments, "promises": promises, "dunning": dunning,
             "customers": customers}
    raws = {t: _read_raw(src, t, maps[t]) for t, src in given.items() if src is not None}
    sink = _Sink()
    work = {t: _parse_table(raw, sink) for t, raw in raws.items()}

    cust = None
    if "customers" in work:
        cust = _drop_duplicates(raws["customers"], work["customers"], "customer_id", sink)
    inv = _finish_invoices(raws["invoices"], work["invoices"], cust, sink)
    raw_ids = _parse_ids(raws["invoices"].frame["invoice_id"])[0]
    rejected_why = _rejected_invoices(raws["invoices"], raw_ids, sink)

    tables: dict[str, pd.DataFrame] = {"invoices": _final(inv, INVOICE_COLUMNS)}
    for table, columns in (("payments", PAYMENT_COLUMNS), ("promises", PROMISE_COLUMNS),
                           ("dunning", DUNNING_COLUMNS)):
        if table not in work:
            tables[table] = _empty_table(table)
            continue
        events = _link_events(raws[table], work[table], tables["invoices"], raw_ids.dropna(), rejected_why, sink)
        if table == "payments":
            events = _check_payments(raws[table], events, tables["invoices"], sink)
        if table == "dunning":
            events = _default_levels(events)
        tables[table] = _final(events, columns)
    tables["customers"] = _customers_table(_final(cust, CUSTOMER_COLUMNS) if cust is not None else None,
                                           tables["invoices"])
    rows_read = {t: len(raw.frame) + len(raw.bad_lines) for t, raw in raws.items()}
    used = {t: len(tables[t]) for t in raws if t != "customers"}
    if cust is not None:
        used["customers"] = len(cust)
    return Ledger(invoices=tables["invoices"], payments=tables["payments"], promises=tables["promises"],
                  dunning=tables["dunning"], customers=tables["customers"], rejections=sink.frame(),
                  source_rows=rows_read, rows_used=used)


def _rejected_invoices(raw: _Raw, ids: pd.Series, sink: _Sink) -> pd.Series:
    """Invoice id -> 'invoices row N: reason' for rejected invoice rows, to explain their payments' rejection."""
    parts = [p for p in sink.parts if len(p) and p["table"].iat[0] == "invoices" and p["reason"].iat[0] not in (
        Reason.BAD_LINE, Reason.DUPLICATE_ID)]
    if not parts:
        return pd.Series(dtype="str")
    rej = pd.concat(parts, ignore_index=True).sort_values("row", kind="stable")
    pos = np.searchsorted(raw.rows, rej["row"].to_numpy())
    why = pd.Series(("invoices row " + rej["row"].astype(str) + ": " + rej["reason"]).to_numpy(),
                    index=ids.to_numpy(dtype=object)[pos])
    return why[why.index.notna()].groupby(level=0, sort=False).first()
