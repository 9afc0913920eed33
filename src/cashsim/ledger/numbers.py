"""Number cells in French or English formatting: decimal comma or dot decided per column by majority, thousands
separators (space, U+00A0, U+202F, apostrophe, or the other mark), currency signs, ``(12,50)`` and ``12,50-`` as
negatives.

A value contradicting the column's decimal mark (``12.50`` among ``1 234,56``) is unreadable rather than guessed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from cashsim.ledger.cells import _distinct, _is_scalar_type


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
