"""A safe, exact file format for frozen dataclasses of arrays, frames and scalars: one ``.npz`` (no pickle).

Rule: every value is turned into a JSON tree whose leaves are JSON scalars or references to numeric arrays stored
beside it in the same ``.npz``; the tree itself is stored there too, as UTF-8 bytes under ``__meta__``. Reading
uses ``numpy.load(..., allow_pickle=False)`` and ``json.loads``: a file from elsewhere can hold wrong numbers, never
code. Supported, by runtime type (so a dataclass that gains a field of one of these types needs no change here):

* ``None``, ``bool``, ``int``, ``float`` (NaN and infinities too), ``str``; numpy scalars keep their dtype;
* ``list``, ``tuple``, ``dict`` (any supported keys, order kept), nested dataclasses of the ``cashsim`` package;
* ``numpy.ndarray`` of any numeric, bool, datetime, timedelta, bytes or unicode dtype, or of objects that are
  themselves supported (element by element);
* ``pandas.Timestamp`` / ``NaT`` / ``Timedelta``, ``numpy.datetime64`` / ``timedelta64``, ``datetime.date``;
* ``pandas.Series``, ``DataFrame`` and ``Index`` (``RangeIndex``, ``MultiIndex``) with numpy, string
  (``str`` / ``string``), categorical, nullable (``Int64``, ``boolean``...) or tz-aware datetime dtypes; names,
  index and ``attrs`` restored exactly.

Anything else raises :class:`CacheError` when saving, naming the field path (e.g. ``PayerModel._fit.beta``).
Loading gives back values equal bit for bit, with the same dtypes, index types and names.

>>> save_dataclass(model, "fit.npz"); same = load_dataclass("fit.npz", PayerModel)   # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib
import io
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cashsim.errors import CashsimError

#: Bumped when the layout of the JSON tree or of the arrays changes: older files are then ignored and refitted.
ARCHIVE_FORMAT = 1
META = "__meta__"


class CacheError(CashsimError):
    """A value cannot be stored in (or read back from) a cache file; the message names the field and its type."""


# ------------------------------------------------------------------------------------------------------- encoding

class _Writer:
    """Collects the arrays of one file while values are encoded into a JSON tree."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}

    def array(self, values: np.ndarray, where: str) -> dict[str, Any]:
        values = np.asarray(values)
        if values.dtype.hasobject:
            return {"t": "objects", "shape": list(values.shape),
                    "items": [self.encode(v, f"{where}[{i}]") for i, v in enumerate(values.ravel(order="C"))]}
        name = f"a{len(self.arrays)}"
        self.arrays[name] = values
        return {"t": "ndarray", "ref": name}

    def strings(self, values: np.ndarray, where: str) -> dict[str, Any]:
        """Python strings (missing values as ``None``) as one UTF-8 byte blob and the end offset of each."""
        encoded = [s.encode("utf-8") if isinstance(s, str) else b"" for s in values]
        missing = np.fromiter((not isinstance(s, str) for s in values), bool, len(values))
        ends = np.cumsum(np.fromiter((len(b) for b in encoded), np.int64, len(encoded)))
        return {"t": "strings", "blob": self.array(np.frombuffer(b"".join(encoded), np.uint8), where),
                "ends": self.array(ends, where), "missing": self.array(missing, where)}

    def column(self, arr: Any, where: str) -> dict[str, Any]:
        """The values of a Series or Index (an ndarray or a pandas extension array), dtype restored exactly."""
        if type(arr) is pd.arrays.NumpyExtensionArray:  # a plain numpy column (StringArray is a subclass)
            arr = arr.to_numpy()
        dtype = arr.dtype
        if isinstance(dtype, np.dtype):
            values = np.asarray(arr)
            if dtype.kind == "O" and all(type(v) is str for v in values):
                return {"kind": "object_str", **self.strings(values, where)}
            return {"kind": "numpy", "values": self.array(values, where)}
        if isinstance(dtype, pd.StringDtype):
            values = np.asarray(arr, dtype=object)
            return {"kind": "string", "storage": dtype.storage, "na": "nan" if dtype.na_value is np.nan else "NA",
                    **self.strings(values, where)}
        if isinstance(dtype, pd.CategoricalDtype):
            return {"kind": "categorical", "codes": self.array(np.asarray(arr.codes), where),
                    "categories": self.index(dtype.categories, where), "ordered": bool(dtype.ordered)}
        if isinstance(dtype, pd.DatetimeTZDtype):
            return {"kind": "datetimetz", "unit": dtype.unit, "tz": _tz_name(dtype.tz, where),
                    "values": self.array(np.asarray(arr.tz_convert("UTC").tz_localize(None)), where)}
        if isinstance(arr, pd.arrays.IntegerArray | pd.arrays.FloatingArray | pd.arrays.BooleanArray):
            return {"kind": "masked", "dtype": str(dtype), "values": self.array(np.asarray(arr._data), where),
                    "mask": self.array(np.asarray(arr._mask), where)}
        raise CacheError(f"{where}: pandas dtype {dtype} cannot be stored in the cache; use a numpy, string, "
                         "categorical or nullable dtype, or extend cashsim.cache.archive")

    def index(self, index: pd.Index, where: str) -> dict[str, Any]:
        names = self.encode(list(index.names), where + ".names")
        if isinstance(index, pd.RangeIndex):
            return {"t": "range", "start": index.start, "stop": index.stop, "step": index.step, "names": names}
        if isinstance(index, pd.MultiIndex):
            return {"t": "multi", "levels": [self.index(lv, f"{where}.levels") for lv in index.levels],
                    "codes": [self.array(np.asarray(c), where) for c in index.codes], "names": names}
        if type(index) not in (pd.Index, pd.DatetimeIndex, pd.TimedeltaIndex, pd.CategoricalIndex):
            raise CacheError(f"{where}: index type {type(index).__name__} cannot be stored in the cache")
        freq = getattr(index, "freqstr", None)
        return {"t": "index", "values": self.column(index.array, where), "names": names, "freq": freq}

    def encode(self, value: Any, where: str) -> Any:
        """The JSON tree of ``value``; ``where`` names it in errors (``PayerModel.customers``)."""
        if value is None or type(value) in (bool, int, str):
            return value
        if type(value) is float:
            return value if np.isfinite(value) else {"t": "float", "v": repr(value)}
        if isinstance(value, np.generic):
            return self.scalar(value, where)
        if isinstance(value, pd.Timestamp | pd.Timedelta) or value is pd.NaT:
            return self.scalar(value, where)
        if type(value) is dt.date:
            return {"t": "date", "v": value.isoformat()}
        if type(value) is list:
            return [self.encode(v, f"{where}[{i}]") for i, v in enumerate(value)]
        if type(value) is tuple:
            return {"t": "tuple", "items": [self.encode(v, f"{where}[{i}]") for i, v in enumerate(value)]}
        if type(value) is dict:
            return {"t": "dict", "items": [[self.encode(k, f"{where} key"), self.encode(v, f"{where}[{k!r}]")]
                                           for k, v in value.items()]}
        if type(value) is np.ndarray:
            return self.array(value, where)
        if type(value) is pd.Series:
            return {"t": "series", "values": self.column(value.array, where), "index": self.index(value.index, where),
                    "name": self.encode(value.name, where + ".name"), "attrs": self.encode(dict(value.attrs), where)}
        if type(value) is pd.DataFrame:
            return {"t": "frame", "columns": self.index(value.columns, where + ".columns"),
                    "index": self.index(value.index, where + ".index"),
                    "data": [self.column(value.iloc[:, i].array, f"{where}[{value.columns[i]!r}]")
                             for i in range(value.shape[1])],
                    "attrs": self.encode(dict(value.attrs), where)}
        if isinstance(value, pd.Index):
            return self.index(value, where)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            cls = type(value)
            if not cls.__module__.startswith("cashsim."):
                raise CacheError(f"{where}: dataclass {cls.__module__}.{cls.__qualname__} is not cashsim's; only "
                                 "cashsim dataclasses are stored in the cache")
            return {"t": "dataclass", "cls": f"{cls.__module__}:{cls.__qualname__}",
                    "fields": {f.name: self.encode(getattr(value, f.name), f"{where}.{f.name}")
                               for f in dataclasses.fields(value)}}
        raise CacheError(f"{where}: a {type(value).__module__}.{type(value).__qualname__} cannot be stored in the "
                         "cache; use arrays, pandas objects, numbers, strings, dicts, lists or tuples (or extend "
                         "cashsim.cache.archive)")

    def scalar(self, value: Any, where: str) -> dict[str, Any]:
        if value is pd.NaT:
            return {"t": "NaT"}
        if isinstance(value, pd.Timestamp):
            tz = None if value.tz is None else _tz_name(value.tz, where)
            naive = value.tz_convert("UTC").tz_localize(None) if tz else value
            return {"t": "timestamp", "v": int(naive.asm8.view("i8")), "unit": value.unit, "tz": tz}
        if isinstance(value, pd.Timedelta):
            return {"t": "timedelta", "v": int(value.asm8.view("i8")), "unit": value.unit}
        if isinstance(value, np.datetime64 | np.timedelta64):
            return {"t": "np", "dtype": value.dtype.str, "v": int(value.view("i8"))}
        if isinstance(value, np.str_ | np.bool_ | np.integer):
            return {"t": "np", "dtype": value.dtype.str, "v": value.item()}
        if isinstance(value, np.floating):
            return {"t": "np", "dtype": value.dtype.str, "v": repr(float(value)) if value.dtype.itemsize <= 8
                    else self.array(np.asarray(value), where)}
        raise CacheError(f"{where}: numpy scalar of dtype {value.dtype} cannot be stored in the cache")


def _tz_name(tz: Any, where: str) -> str:
    name = str(tz)
    try:
        same = pd.Timestamp("2000-01-01", tz=tz).utcoffset() == pd.Timestamp("2000-01-01", tz=name).utcoffset()
    except Exception:
        same = False
    if not same:
        raise CacheError(f"{where}: time zone {tz!r} has no name that reads back; use a named zone (Europe/Paris)")
    return name


# ------------------------------------------------------------------------------------------------------- decoding

class _Reader:
    def __init__(self, arrays: Any) -> None:
        self.arrays = arrays

    def array(self, node: dict[str, Any]) -> np.ndarray:
        if node["t"] == "objects":
            out = np.empty(len(node["items"]), dtype=object)
            for i, v in enumerate(node["items"]):  # one by one: a tuple element must not become an axis
                out[i] = self.decode(v)
            return out.reshape(node["shape"])
        return self.arrays[node["ref"]]

    def strings(self, node: dict[str, Any]) -> np.ndarray:
        blob = self.array(node["blob"]).tobytes()
        ends = self.array(node["ends"])
        missing = self.array(node["missing"])
        starts = np.concatenate([[0], ends[:-1]]) if len(ends) else ends
        out = np.empty(len(ends), dtype=object)
        out[:] = [None if m else blob[s:e].decode("utf-8") for s, e, m in zip(starts.tolist(), ends.tolist(),
                                                                            missing.tolist(), strict=True)]
        return out

    def column(self, node: dict[str, Any]) -> Any:
        kind = node["kind"]
        if kind == "numpy":
            return self.array(node["values"])
        if kind == "object_str":
            return self.strings(node)
        if kind == "string":
            dtype = pd.StringDtype(node["storage"], na_value=np.nan if node["na"] == "nan" else pd.NA)
            return pd.array(self.strings(node), dtype=dtype)
        if kind == "categorical":
            cats = self.index(node["categories"])
            return pd.Categorical.from_codes(self.array(node["codes"]), dtype=pd.CategoricalDtype(
                cats, ordered=node["ordered"]))
        if kind == "datetimetz":
            return pd.DatetimeIndex(self.array(node["values"])).tz_localize("UTC").tz_convert(node["tz"]).array
        if kind == "masked":
            cls = pd.api.types.pandas_dtype(node["dtype"]).construct_array_type()
            return cls(self.array(node["values"]), self.array(node["mask"]))
        raise CacheError(f"unknown column kind {kind!r}")

    def index(self, node: dict[str, Any]) -> pd.Index:
        names = self.decode(node["names"])
        if node["t"] == "range":
            return pd.RangeIndex(node["start"], node["stop"], node["step"], name=names[0])
        if node["t"] == "multi":
            return pd.MultiIndex(levels=[self.index(lv) for lv in node["levels"]],
                                 codes=[self.array(c) for c in node["codes"]], names=names, verify_integrity=False)
        values = self.column(node["values"])
        index = pd.Index(values, dtype=values.dtype, name=names[0], copy=False, tupleize_cols=False)
        return index if node.get("freq") is None else type(index)(index, freq=node["freq"])

    def decode(self, node: Any) -> Any:
        if node is None or isinstance(node, bool | int | float | str):
            return node
        if isinstance(node, list):
            return [self.decode(v) for v in node]
        t = node["t"]
        if t == "float":
            return float(node["v"])
        if t in ("np", "NaT", "timestamp", "timedelta"):
            return self.scalar(node)
        if t == "date":
            return dt.date.fromisoformat(node["v"])
        if t == "tuple":
            return tuple(self.decode(v) for v in node["items"])
        if t == "dict":
            return {self.decode(k): self.decode(v) for k, v in node["items"]}
        if t in ("ndarray", "objects"):
            return self.array(node)
        if t == "series":
            values = self.column(node["values"])
            s = pd.Series(values, index=self.index(node["index"]), dtype=values.dtype, name=self.decode(node["name"]),
                          copy=False)
            s.attrs.update(self.decode(node["attrs"]))
            return s
        if t == "frame":
            columns = [self.column(c) for c in node["data"]]
            # column by column with its own dtype (an object column of strings must not turn into ``str``)
            index = self.index(node["index"])
            if columns:
                df = pd.DataFrame({i: pd.Series(v, dtype=v.dtype, copy=False) for i, v in enumerate(columns)})
                df.index = index
            else:
                df = pd.DataFrame(index=index)
            df.columns = self.index(node["columns"])
            df.attrs.update(self.decode(node["attrs"]))
            return df
        if t in ("index", "range", "multi"):
            return self.index(node)
        if t == "dataclass":
            return self.dataclass(node)
        raise CacheError(f"unknown node type {t!r}")

    def scalar(self, node: dict[str, Any]) -> Any:
        t = node["t"]
        if t == "NaT":
            return pd.NaT
        if t == "timestamp":
            ts = pd.Timestamp(np.datetime64(node["v"], node["unit"]))
            return ts if node["tz"] is None else ts.tz_localize("UTC").tz_convert(node["tz"])
        if t == "timedelta":
            return pd.Timedelta(np.timedelta64(node["v"], node["unit"]))
        dtype = np.dtype(node["dtype"])
        if dtype.kind in "mM":
            return np.array(node["v"], dtype="i8").view(dtype)[()]
        if dtype.kind == "f":
            v = node["v"]
            return self.array(v)[()] if isinstance(v, dict) else dtype.type(float(v))
        return dtype.type(node["v"])

    def dataclass(self, node: dict[str, Any]) -> Any:
        module, _, qualname = node["cls"].partition(":")
        if not module.startswith("cashsim."):
            raise CacheError(f"refusing to build {node['cls']}: not a cashsim dataclass")
        cls: Any = importlib.import_module(module)
        for part in qualname.split("."):
            cls = getattr(cls, part)
        if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
            raise CacheError(f"{node['cls']} is not a dataclass")
        names = [f.name for f in dataclasses.fields(cls)]
        if sorted(names) != sorted(node["fields"]):
            raise CacheError(f"{node['cls']} has fields {names}, the file has {sorted(node['fields'])}: stored by "
                             "another version of cashsim")
        obj = cls.__new__(cls)
        for name in names:  # the state as it was, without re-running __init__ / __post_init__
            object.__setattr__(obj, name, self.decode(node["fields"][name]))
        return obj


# ------------------------------------------------------------------------------------------------------- files

def dumps(value: Any, *, meta: dict[str, Any] | None = None, where: str | None = None) -> bytes:
    """The ``.npz`` bytes of ``value`` (and of ``meta``, JSON data read back by :func:`read_meta`)."""
    writer = _Writer()
    tree = writer.encode(value, where or type(value).__name__)
    header = json.dumps({"format": ARCHIVE_FORMAT, "meta": meta or {}, "value": tree}, allow_nan=False,
                        separators=(",", ":"))
    buf = io.BytesIO()
    np.savez(buf, **{META: np.frombuffer(header.encode("utf-8"), np.uint8)}, **writer.arrays)
    return buf.getvalue()


def _open(path: str | Path) -> tuple[Any, dict[str, Any]]:
    arrays = np.load(path, allow_pickle=False)
    header = json.loads(arrays[META].tobytes().decode("utf-8"))
    if header.get("format") != ARCHIVE_FORMAT:
        raise CacheError(f"{path}: cache format {header.get('format')}, this cashsim reads {ARCHIVE_FORMAT}")
    return arrays, header


def read_meta(path: str | Path) -> dict[str, Any]:
    """The ``meta`` mapping stored with a value by :func:`save_dataclass`."""
    arrays, header = _open(path)
    arrays.close()
    return header["meta"]


def save_dataclass(value: Any, path: str | Path, *, meta: dict[str, Any] | None = None) -> Path:
    """Write ``value`` (and ``meta``) to ``path`` atomically: a temporary file in the same folder, then
    ``os.replace``, so a reader sees the old file or the new one, never half of one. Raises :class:`CacheError`
    (before writing anything) for a value of an unsupported type."""
    path = Path(path)
    data = dumps(value, meta=meta)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{os.getpid()}.{id(data):x}.tmp"
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def load_dataclass(path: str | Path, cls: type | None = None) -> Any:
    """Read back what :func:`save_dataclass` wrote, checking it is a ``cls`` (when given)."""
    return load_with_meta(path, cls)[0]


def load_with_meta(path: str | Path, cls: type | None = None) -> tuple[Any, dict[str, Any]]:
    """(value, meta) as :func:`save_dataclass` wrote them, checking the value is a ``cls`` (when given)."""
    arrays, header = _open(path)
    with arrays:
        value = _Reader(arrays).decode(header["value"])
    if cls is not None and type(value) is not cls:
        raise CacheError(f"{path}: holds a {type(value).__name__}, not a {cls.__name__}")
    return value, header["meta"]
