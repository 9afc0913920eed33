"""Cell parsers for text-like columns: identifiers, yes/no, coded choices, currencies, and the distinct-value helpers
every parser shares.

Each parser works on the column's *distinct* values (pandas.factorize), with numpy's vectorised string functions
(numpy.strings), and returns (values, bad): bad marks non-empty cells that could not be read. Identifiers stay text
(Excel's 611365.0 -> '611365'); yes/no accepts oui/non, vrai/faux, 1/0, x; coded choices map through the keywords
of :mod:`cashsim.ledger.labels`, a label matching none taking the column's fallback.

>>> _parse_bools(pd.Series(["oui", "non", "", "peut-être"]), False)[1].tolist()
[False, False, False, True]
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from cashsim.ledger.labels import CURRENCY_SYNONYMS, match_label


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


def _parse_choices(values: pd.Series, keywords: dict[str, str], default: str | None,
                   fallback: str | None) -> tuple[pd.Series, np.ndarray]:
    """Map cells onto canonical values by keyword (:func:`cashsim.ledger.labels.match_label`); empty -> ``default``.

    Returns the values and the mask of non-empty cells that matched nothing: those take ``fallback`` (when None,
    their text is kept so that the schema reports them).

    >>> from cashsim.ledger.labels import PAYMENT_METHOD_KEYWORDS as PM
    >>> v, unknown = _parse_choices(pd.Series(["Virement bancaire", "", "Bitcoin"]), PM, "transfer", "transfer")
    >>> v.tolist(), unknown.tolist()
    (['transfer', 'transfer', 'transfer'], [False, False, True])
    """
    codes, texts = _distinct(values)
    found = [match_label(t, keywords) if t else None for t in texts.tolist()]  # distinct values only: a handful
    unknown = np.array([bool(t) and f is None for t, f in zip(texts.tolist(), found, strict=True)], dtype=bool)
    mapped = np.array([f if f is not None else (default if not t else fallback if fallback is not None else t)
                       for t, f in zip(texts.tolist(), found, strict=True)], dtype=object)
    return pd.Series(mapped[codes], dtype="str"), unknown[codes]


def _parse_currency(values: pd.Series, default: str) -> pd.Series:
    codes, texts = _distinct(values)
    upper = [CURRENCY_SYNONYMS.get(t, t) or default for t in np.strings.upper(texts).tolist()]
    return pd.Series(np.array(upper, dtype=object)[codes], dtype="str")
