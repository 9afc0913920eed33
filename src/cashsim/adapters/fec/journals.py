"""What a line on a customer account means, from its journal, its side and the rest of its entry.

**Journal roles** (:func:`journal_roles`), from ``JournalCode`` (upper case) and ``JournalLib`` (accents and case
ignored), first rule that matches:

1. ``opening`` (*à nouveaux*): code AN, RAN, ANO, OUV, or a label with "nouveau", "ouverture" or "report";
2. ``bank`` (*banque*, *caisse*): code starting BQ, BK, BN, BAN, CAI, CCP, CHQ, LCR or VIR, or a label with
   "banque", "bank", "caisse", "cheque", "ccp", "virement", "encaissement", "tresorerie";
3. ``sales`` (*ventes*): code starting V (VE, VT, VTE, V1...), or a label with "vente" or "facturation";
4. ``other``: everything else (OD, purchases, ...).

``journals={"sales": [...], "bank": [...], "opening": [...], "other": [...]}`` gives codes a role explicitly; codes
not listed follow the rules.

**Line kinds** on a customer account (``amount`` = debit - credit):

========== ================================ ===================================================================
role       debit (amount > 0)               credit (amount < 0)
========== ================================ ===================================================================
sales      ``invoice``                      ``credit_note`` (*avoir*)
bank       ``refund`` (money paid back,     ``payment``
           or a returned cheque/LCR)
opening    ``opening_debit`` (an open item  ``opening_credit`` (an open credit of an earlier year)
           of an earlier year)
other      ``other_debit``                  ``write_off`` when the entry has a 654 / 6714 line (*créance
                                            irrécouvrable*), else ``payment`` (compensation, LCR 413,
                                            factoring 467, ...)
========== ================================ ===================================================================

In ``other`` journals, the lines of one customer in one entry that net to zero (411 -> 416 *reclassement en
douteux*, a correction) are a ``transfer``: used, but they move no money and settle nothing.

>>> journal_roles(pd.DataFrame({"journal": ["VE", "BQ1", "AN", "OD", "X"],
...                             "journal_lib": ["", "", "", "", "Journal des ventes"]})).tolist()
['sales', 'bank', 'opening', 'other', 'sales']
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np
import pandas as pd

from cashsim.errors import ParamsError

ROLES = ("sales", "bank", "opening", "other")
_RULES = (
    ("opening", re.compile(r"^(AN|RAN|ANO|OUV)$"), re.compile(r"nouveau|ouverture|report")),
    ("bank", re.compile(r"^(BQ|BK|BN|BAN|CAI|CCP|CHQ|LCR|VIR)"),
     re.compile(r"banque|bank|caisse|cheque|\bccp\b|virement|encaissement|tresorerie")),
    ("sales", re.compile(r"^V"), re.compile(r"vente|facturation")),
)
#: Counterpart accounts that make an OD credit a write-off: 654 *pertes sur créances irrécouvrables*, 6714.
WRITE_OFF_PREFIXES = ("654", "6714")


def _ascii_lower(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def check_journals(journals: dict[str, list[str]] | None) -> dict[str, str]:
    """``{"sales": ["VT"], ...}`` -> ``{"VT": "sales"}``; an unknown role or a code given two roles is a
    :class:`ParamsError`."""
    out: dict[str, str] = {}
    for role, codes in (journals or {}).items():
        if role not in ROLES:
            raise ParamsError(f"journals: unknown role {role!r}; roles are {', '.join(ROLES)}")
        for code in codes or []:
            code = str(code).strip().upper()
            if out.get(code, role) != role:
                raise ParamsError(f"journals: journal code {code!r} is given two roles ({out[code]}, {role})")
            out[code] = role
    return out


def journal_roles(lines: pd.DataFrame, journals: dict[str, list[str]] | None = None) -> pd.Series:
    """The role of each line's journal (rules in the module docstring), decided once per distinct journal."""
    explicit = check_journals(journals)
    pairs = lines["journal"] + "\x1f" + lines["journal_lib"]
    roles = {}
    for pair in pairs.unique():
        code, lib = pair.split("\x1f", 1)
        code = code.strip().upper()
        role = explicit.get(code)
        if role is None:
            label = _ascii_lower(lib)
            role = next((r for r, by_code, by_lib in _RULES if by_code.search(code) or by_lib.search(label)), "other")
        roles[pair] = role
    return pairs.map(roles).astype("str")


def line_kinds(customer: pd.DataFrame, everything: pd.DataFrame) -> pd.Series:
    """The kind of each customer line (table in the module docstring).

    ``customer`` has ``file, journal, entry, role, customer_id, amount``; ``everything`` is every line read (for
    the counterparts of an entry: ``file, journal, entry, account``).
    """
    amount = customer["amount"].to_numpy()
    debit = amount > 0
    role = customer["role"].to_numpy()
    kind = np.select(
        [(role == "sales") & debit, role == "sales", (role == "bank") & debit, role == "bank",
         (role == "opening") & debit, role == "opening", debit],
        ["invoice", "credit_note", "refund", "payment", "opening_debit", "opening_credit", "other_debit"],
        "payment").astype(object)
    other = role == "other"
    if other.any():
        entry = ["file", "journal", "entry"]
        has_entry = (customer["entry"] != "").to_numpy()
        sub = customer[other & has_entry]
        net = sub.groupby([*entry, "customer_id"])["amount"].transform("sum")
        count = sub.groupby([*entry, "customer_id"])["amount"].transform("size")
        transfer = (net.abs() < 0.005) & (count > 1)
        kind[sub.index[transfer.to_numpy()]] = "transfer"
        w = everything[everything["account"].str.startswith(WRITE_OFF_PREFIXES)][entry].drop_duplicates()
        keys = pd.MultiIndex.from_frame(customer[entry])
        write_off = keys.isin(pd.MultiIndex.from_frame(w)) & other & has_entry & ~debit & (kind != "transfer")
        kind[write_off] = "write_off"
    return pd.Series(kind, index=customer.index, dtype="str")


def opening_coverage(files: pd.DataFrame, max_gap_days: int = 62) -> pd.Series:
    """For each file, the earlier file whose detail its opening (AN) lines repeat, or '' when none was read.

    ``files`` has ``file``, ``first_opening`` (date of its first opening line, NaT if none), ``closing`` (closing
    date: from the file name, else its latest non-opening date). A file's AN lines are covered by the file that
    closes before them and no more than ``max_gap_days`` earlier (fiscal years follow each other; a gap means the
    year in between is missing and the AN lines are the only record of its open items).
    """
    out = pd.Series("", index=files.index, dtype="str")
    for i, row in files.iterrows():
        if pd.isna(row["first_opening"]):
            continue
        gap = (row["first_opening"] - files["closing"]).dt.days
        before = files[(gap > 0) & (gap <= max_gap_days) & (files.index != i)]
        if len(before):
            out[i] = before.sort_values("closing")["file"].iloc[-1]
    return out
