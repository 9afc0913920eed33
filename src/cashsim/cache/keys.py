"""Cache keys: what a cached fit depends on, hashed deterministically (SHA-256, hex).

The key of a fit hashes, as canonical JSON:

* the ledger's content (:func:`ledger_digest`): every table of :class:`cashsim.ledger.Ledger` by
  :func:`table_digest` (shape, column names and dtypes, index, and each column's values: raw bytes for numeric,
  bool and datetime columns, the UTF-8 bytes of string columns, ``pandas.util.hash_pandas_object`` for the
  others), and its other fields as JSON;
* the as-of date and every argument of the fitting function, defaults included (:func:`call_arguments`);
* the cache format, the cashsim version, the versions of numpy, pandas and scipy, and a fingerprint of the source
  code that fits and books (:func:`code_fingerprint`): a development checkout whose fitting code changed, or an
  upgraded library, refits instead of reading a model the current code would not produce.

A key never depends on the order the process did things in, on the machine or on the time: the same inputs give
the same key in any process (tens of milliseconds on the demo's 64k rows, about half a second on a million
invoices).

>>> fit_key(ledger, "2026-10-31", {"half_life_days": 365.0})   # doctest: +SKIP
'3f1c...'
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import json
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cashsim.cache.archive import ARCHIVE_FORMAT, CacheError, _Writer

#: Bumped when what a key covers changes (so that old entries are no longer found).
KEY_FORMAT = 1
#: Source that decides a fitted model and its book, relative to the cashsim package: packages and modules.
FITTING_CODE = ("behaviour", "ledger", "cache", "book.py", "calendar.py")


def _update_array(h: Any, values: np.ndarray) -> None:
    h.update(np.ascontiguousarray(values).view(np.uint8).reshape(-1).data)


#: Separates the strings of a column in the bytes hashed (a column holding it is hashed another way).
_SEP = "\x1f"


def _strings_bytes(h: Any, col: pd.Series) -> bool:
    """Hash a column of strings as its strings joined by :data:`_SEP` and its missing-value mask (C-speed joins:
    ~0.1 s per million ids); False, hashing nothing, when a value is not a string or holds the separator."""
    values = col.to_numpy(dtype=object)
    missing = pd.isna(values)
    if missing.any():
        values = values.copy()
        values[missing] = ""
    try:
        joined = _SEP.join(values.tolist())
    except TypeError:  # not all strings
        return False
    if joined.count(_SEP) != max(len(values) - 1, 0):
        return False
    h.update(joined.encode("utf-8", "surrogatepass"))
    _update_array(h, missing)
    return True


def _column_bytes(h: Any, col: pd.Series) -> None:
    dtype = col.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "biufcmM":
        _update_array(h, col.to_numpy())
    elif not ((getattr(dtype, "kind", "") == "O" or isinstance(dtype, pd.StringDtype)) and _strings_bytes(h, col)):
        _update_array(h, pd.util.hash_pandas_object(col, index=False, categorize=True).to_numpy())


def table_digest(table: pd.DataFrame) -> str:
    """SHA-256 of a table's content: shape, column names and dtypes, index, values column by column."""
    h = hashlib.sha256()
    h.update(json.dumps({"shape": list(table.shape), "columns": [repr(c) for c in table.columns],
                         "dtypes": [str(d) for d in table.dtypes], "index": type(table.index).__name__,
                         "index_dtype": str(table.index.dtype), "names": [repr(n) for n in table.index.names]}
                        ).encode())
    if not isinstance(table.index, pd.RangeIndex):
        for level in range(table.index.nlevels):
            _column_bytes(h, pd.Series(table.index.get_level_values(level)))
    else:
        h.update(repr((table.index.start, table.index.stop, table.index.step)).encode())
    for i in range(table.shape[1]):
        _column_bytes(h, table.iloc[:, i])
    return h.hexdigest()


def _json(value: Any) -> str:
    """Canonical JSON of a plain value (the archive's encoding: types kept), ``repr`` for what it cannot store."""
    try:
        writer = _Writer()
        tree = writer.encode(value, "value")
    except CacheError:
        return repr(value)
    arrays = {k: hashlib.sha256(np.ascontiguousarray(a).view(np.uint8).reshape(-1).data).hexdigest()
              + str(a.dtype) + str(a.shape) for k, a in writer.arrays.items()}
    return json.dumps({"tree": tree, "arrays": arrays}, sort_keys=True)


def ledger_digest(ledger: Any) -> str:
    """SHA-256 of everything a ledger holds: each DataFrame field by :func:`table_digest`, the others as JSON."""
    h = hashlib.sha256()
    fields = dataclasses.fields(ledger) if dataclasses.is_dataclass(ledger) else ()
    if not fields:
        raise CacheError(f"cannot hash a {type(ledger).__name__}: a cashsim Ledger (dataclass of tables) is needed")
    for f in fields:
        value = getattr(ledger, f.name)
        part = table_digest(value) if isinstance(value, pd.DataFrame) else _json(value)
        h.update(f"{f.name}={part};".encode())
    return h.hexdigest()


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """SHA-256 of the source files listed in :data:`FITTING_CODE` (names and bytes, in sorted order)."""
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for entry in FITTING_CODE:
        path = root / entry
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for f in files:
            if f.exists():
                h.update(str(f.relative_to(root)).encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "absent"


@lru_cache(maxsize=1)
def environment() -> dict[str, str]:
    """What else decides the numbers: cashsim's version and code, numpy, pandas and scipy versions, formats."""
    import cashsim

    return {"key_format": str(KEY_FORMAT), "archive_format": str(ARCHIVE_FORMAT), "cashsim": cashsim.__version__,
            "code": code_fingerprint(), "numpy": np.__version__, "pandas": pd.__version__,
            "scipy": _version("scipy")}


def call_arguments(fn: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """The arguments ``fn(*args, **kwargs)`` would see, defaults included, by name (``TypeError`` if they do not
    bind): a setting left at its default and the same setting given explicitly make the same key."""
    bound = inspect.signature(fn).bind(*args, **kwargs)
    bound.apply_defaults()
    return dict(bound.arguments)


def derived_key(parent: str, **parts: Any) -> str:
    """A key for something built from the entry ``parent`` and ``parts`` (e.g. the book of a fit)."""
    return hashlib.sha256(json.dumps({"parent": parent, **{k: _json(v) for k, v in parts.items()}},
                                     sort_keys=True).encode()).hexdigest()


def fit_key(ledger: Any, as_of: Any, settings: dict[str, Any], *, digest: str | None = None) -> str:
    """The key of ``fit_behaviour(ledger, as_of, **settings)`` (``settings``: every other argument, by name;
    ``digest``: :func:`ledger_digest` of ``ledger`` when already computed)."""
    payload = {"env": environment(), "ledger": digest or ledger_digest(ledger),
               "as_of": pd.Timestamp(as_of).isoformat(), "settings": {k: _json(v) for k, v in settings.items()}}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
