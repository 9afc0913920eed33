"""Book plumbing shared by the levers: day indexes, each invoice's law given ``min_day``, selection, cost tables.

Levers only read ``Book`` attributes and build the new book with :meth:`Book.derive` (:func:`_with`). A lever
gives the invoices it selects new pmf rows, one per unique (profile, lever days) combination, appended only when
different from every existing row (:func:`_remap`): a big book gains few rows. Conventions: grid days are calendar
days relative to the due date; day index 0 is as_of + 1; ``min_day``, raised to the issue date as the engine does,
is the earliest possible pay day, and an invoice's law given "not paid before m" is
r_g = p_g 1[g >= m] / (1 - F(m - 1)) (:func:`conditional_laws`). Cost tables have the columns ``COST_COLUMNS``
(euros incl. VAT by month ``YYYY-MM``); action tables one row per customer or invoice, largest amount first.

Example::

    >>> list(empty_costs().columns)
    ['lever', 'month', 'item', 'amount', 'in_simulation']
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from cashsim.behaviour import PayerModel
    from cashsim.simulate import Book

T = TypeVar("T")
#: Segment or customer names a lever is restricted to (None: all).
Segments = list[str] | None


def _with(book: Book, *, invoices: pd.DataFrame) -> Book:
    """``book`` with new invoices and nothing else (:meth:`Book.derive`: no second check of what is unchanged)."""
    return book.derive(invoices)


def _day_index(book: Book, dates: pd.Series) -> np.ndarray:
    """Absolute day index of dates (day 0 = as_of + 1); NaT -> a large negative number."""
    as_of = pd.Timestamp(book.as_of).normalize()
    d = (pd.to_datetime(dates).astype("datetime64[ns]") - as_of).dt.days.to_numpy(dtype=float) - 1
    return np.where(np.isnan(d), -10**6, d).astype(np.int64)


def _rel_to_due(book: Book, dates: pd.Series) -> np.ndarray:
    """Days of ``dates`` relative to each invoice's due date (signed, calendar days)."""
    inv = book.invoices
    return (pd.to_datetime(dates).astype("datetime64[ns]")
            - inv["due_date"].astype("datetime64[ns]")).dt.days.to_numpy(dtype=np.int64)


#: Book -> {key: value} of what :func:`per_book` remembered (weakly: dropped with the book).
_PER_BOOK: weakref.WeakKeyDictionary[Book, dict[Any, Any]] = weakref.WeakKeyDictionary()
_PER_BOOK_LOCK = threading.Lock()


def per_book(book: Book, key: Any, compute: Callable[[], T]) -> T:
    """``compute()``, remembered for this very book under ``key``: a lever study asks the same of one book many
    times (the current plan's costs, each customer's expected lateness, the cash a book brings by each month end).
    Books are never changed in place (levers build new ones), so what is computed from one stays true. Values are
    shared: the caller must not modify them (numpy arrays are returned read-only)."""
    with _PER_BOOK_LOCK:
        hit = _PER_BOOK.get(book, {}).get(key, _MISSING)
    if hit is not _MISSING:
        return hit
    value = compute()
    for a in value if isinstance(value, tuple) else (value,):
        if isinstance(a, np.ndarray):
            a.flags.writeable = False
    with _PER_BOOK_LOCK:
        return _PER_BOOK.setdefault(book, {}).setdefault(key, value)


_MISSING = object()


def _month(dates: pd.Series | pd.DatetimeIndex) -> np.ndarray:
    """``YYYY-MM`` of each date (NaN where NaT), as ``DatetimeIndex.strftime`` gives it: formatted once per month."""
    idx = pd.DatetimeIndex(pd.to_datetime(dates))
    if idx.tz is not None or len(idx) < 16:
        return idx.strftime("%Y-%m").to_numpy()
    months = idx.to_numpy().astype("datetime64[M]")
    ordinal = months.view(np.int64)
    known = ~np.isnat(months)
    lo, hi = (int(ordinal[known].min()), int(ordinal[known].max())) if known.any() else (0, -1)
    if hi - lo > 1200:              # a span of over a century: each distinct month formatted once
        uniq, inverse = np.unique(months, return_inverse=True)
        labels = pd.DatetimeIndex(uniq.astype("datetime64[ns]")).strftime("%Y-%m").to_numpy()
        return labels[inverse.ravel()]
    # every month of the span formatted once (NaT last), each date's label read at its month's place: the labels
    # numpy.unique then strftime of the distinct months gave, without sorting the dates
    span = np.concatenate([np.arange(lo, hi + 1).astype("datetime64[M]"), [np.datetime64("NaT", "M")]])
    labels = pd.DatetimeIndex(span.astype("datetime64[ns]")).strftime("%Y-%m").to_numpy()
    return labels[np.where(known, ordinal - lo, len(span) - 1)]


def _ensure_columns(book: Book) -> pd.DataFrame:
    """The invoice table with the optional Book columns present (0 / NaT / NaN when none) and ``base_profile``.

    A new frame (copy-on-write: a lever's changes to it never reach ``book``); columns already of the right type
    and without missing values are kept as they are (a validated Book's are), the others converted."""
    inv = book.invoices.copy(deep=False)
    defaults = {"upfront_amount": 0.0, "upfront_date": pd.NaT, "discount_rate": 0.0, "discount_day": np.nan,
                "calendar": 0, "is_future": False, "min_day": int(book.grid[0])}
    for col, val in defaults.items():
        if col not in inv.columns:
            inv[col] = val
    if inv["upfront_date"].dtype != np.dtype("datetime64[ns]"):
        inv["upfront_date"] = inv["upfront_date"].astype("datetime64[ns]")
    for col in ("upfront_amount", "discount_rate"):
        if inv[col].dtype != np.float64 or inv[col].isna().any():
            inv[col] = inv[col].fillna(0.0).astype(float)
    if inv["discount_day"].dtype != np.float64:
        inv["discount_day"] = inv["discount_day"].astype(float)
    if "base_profile" not in inv.columns:  # the fitted profile, kept so model.profiles lookups survive remapping
        inv["base_profile"] = inv["profile"].astype(np.int64)
    return inv


def unique_rows(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``numpy.unique(a, axis=0, return_inverse=True)`` (the unique rows in the same order, and the inverse), fast.

    numpy sorts the rows as records of ``a.shape[1]`` fields, comparing field by field; here each row is one
    block of bytes compared with ``memcmp``, which orders them the same way once the numbers are written so that
    their bytes sort as the numbers do: big-endian, with the sign bit flipped for integers. Floats must be finite,
    non-negative and without ``-0.0`` (probabilities); other input goes to ``numpy.unique`` itself. (Equal rows
    are equal blocks: the same bytes.)
    """
    a = np.asarray(a)
    if a.ndim != 2 or a.shape[0] == 0 or a.shape[1] == 0:
        uniq, inverse = np.unique(a, axis=0, return_inverse=True)
        return uniq, inverse.ravel()
    if a.dtype == np.int64:
        coded = (a.view(np.uint64) ^ np.uint64(1 << 63)).astype(">u8")
    elif a.dtype == np.float64 and not np.signbit(a).any() and bool(np.isfinite(a).all()):   # >= 0, no -0.0
        coded = a.astype(">f8")
    else:
        uniq, inverse = np.unique(a, axis=0, return_inverse=True)
        return uniq, inverse.ravel()
    # numpy.unique(blocks, return_inverse=True) by hand: the same sort of the blocks, then equal neighbours found
    # on the rows' 8-byte words (numpy compares two blocks as objects, one by one) and the unique rows taken from
    # ``a`` itself (the same bytes as the blocks decoded)
    coded = np.ascontiguousarray(coded)
    order = np.argsort(coded.view(np.dtype((np.void, 8 * a.shape[1]))).ravel(), kind="stable")
    words = coded.view(np.uint64)[order]
    first = np.empty(len(order), dtype=bool)
    first[0] = True
    first[1:] = (words[1:] != words[:-1]).any(axis=1)
    inverse = np.empty(len(order), dtype=np.intp)
    inverse[order] = np.cumsum(first) - 1
    return a[order[first]], inverse


#: A book's pmf rows (:class:`cashsim.book.PmfRows`, shared by books that did not add rows) -> :class:`_RowIndex` of
#: them; kept while the rows live, so the levers applied to one book (a lever study's trials) index its rows once.
_ROW_INDEX: weakref.WeakKeyDictionary[Any, _RowIndex] = weakref.WeakKeyDictionary()
_HASH_WEIGHTS: dict[int, np.ndarray] = {}


def _row_hashes(rows: np.ndarray) -> np.ndarray:
    """A 64-bit hash of each row's bytes (a weighted sum of its 8-byte words, wrapping): equal bytes, equal hash."""
    w = _HASH_WEIGHTS.get(rows.shape[1])
    if w is None:
        w = np.random.default_rng(rows.shape[1]).integers(1, 2**63, size=rows.shape[1], dtype=np.uint64) | 1
        _HASH_WEIGHTS[rows.shape[1]] = w
    words = np.ascontiguousarray(rows).view(np.uint64)
    return (words * w).sum(axis=1, dtype=np.uint64)


class _RowIndex:
    """The rows' hashes (``hashes``, row order) sorted (``sorted``, with the rows in that order: ``rows``; equal
    hashes keep the row order, so the last of them is the last such row)."""

    def __init__(self, hashes: np.ndarray) -> None:
        self.hashes = hashes
        self.rows = np.argsort(hashes, kind="stable")
        self.sorted = hashes[self.rows]

    def last_equal(self, book: Book, rows: np.ndarray, hashes: np.ndarray) -> np.ndarray:
        """Per row of ``rows``, the last pmf row of ``book`` equal to it byte for byte, or -1."""
        pos = np.maximum(np.searchsorted(self.sorted, hashes, side="right") - 1, 0)
        found = self.sorted[pos] == hashes if len(self.sorted) else np.zeros(len(hashes), dtype=bool)
        cand = self.rows[pos] if len(self.rows) else np.zeros(len(hashes), dtype=np.int64)
        mine = np.ascontiguousarray(rows).view(np.uint64)
        same = found.copy()
        same[found] = (book.pmf_rows(cand[found]).view(np.uint64) == mine[found]).all(axis=1)
        out = np.where(same, cand, -1)
        for j in np.flatnonzero(found & ~same):   # two rows with one hash: look at them all
            hits = np.flatnonzero((np.ascontiguousarray(book.pmfs).view(np.uint64) == mine[j]).all(axis=1))
            out[j] = hits[-1] if len(hits) else -1
        return out


def _remember(book: Book, index: _RowIndex) -> None:
    with _PER_BOOK_LOCK:
        _ROW_INDEX[book.rows] = index


def _row_index(book: Book) -> _RowIndex:
    """The :class:`_RowIndex` of ``book``'s pmf rows, built once per rows (pmf rows are never changed in place:
    levers build new books)."""
    with _PER_BOOK_LOCK:
        index = _ROW_INDEX.get(book.rows)
    if index is None:
        index = _RowIndex(_row_hashes(book.pmfs))
        _remember(book, index)
    return index


def _remap(book: Book, inv: pd.DataFrame, sel: np.ndarray, keys: np.ndarray, transform) -> Book:
    """Give the invoices at positions ``sel`` new pmf rows ``transform(rows, keys_u)`` per unique (profile, keys).

    ``keys`` is an int array (len(sel), k) of per-invoice lever days. New rows equal to an existing row (byte for
    byte; the last such row) reuse it; the others are appended in order. Vectorised: no pass per row.
    """
    if len(sel) == 0:
        return _with(book, invoices=inv)
    combo = np.column_stack([inv["profile"].to_numpy(np.int64)[sel], keys.reshape(len(sel), -1)])
    uniq, inverse = unique_rows(combo)
    new_rows = transform(book.pmf_rows(uniq[:, 0]), uniq[:, 1:])
    rows_u, inv_u = unique_rows(new_rows)
    rows_u = np.ascontiguousarray(rows_u, dtype=np.float64)
    existing = _row_index(book)
    n_old = book.n_profiles
    hashes = _row_hashes(rows_u)
    index = existing.last_equal(book, rows_u, hashes)
    added = index < 0
    index[added] = n_old + np.arange(int(added.sum()))
    profile = inv["profile"].to_numpy(np.int64).copy()
    profile[sel] = index[inv_u.ravel()][inverse.ravel()]
    inv["profile"] = profile
    new = book.derive(inv, rows_u[added] if added.any() else None)   # only the added rows checked
    if added.any():  # the new rows' index: the old one and the rows added (distinct, and from every old row)
        _remember(new, _RowIndex(np.concatenate([existing.hashes, hashes[added]])))
    return new


def _min_day(inv: pd.DataFrame) -> np.ndarray:
    """Earliest possible pay day relative to due: ``min_day``, raised to the issue date (as the engine does)."""
    md = np.asarray(inv["min_day"], dtype=np.int64)
    if "issue_date" not in inv.columns:
        return md
    issued = (inv["issue_date"].astype("datetime64[ns]") - inv["due_date"].astype("datetime64[ns]")).dt.days
    return np.maximum(md, issued.fillna(np.iinfo(np.int64).min // 2).to_numpy(dtype=np.int64))


def _book_min_day(book: Book) -> np.ndarray:
    """:func:`_min_day` of the book's invoices, once per book (read-only): a lever and its costs ask it several
    times of one book."""
    return per_book(book, "min_day", lambda: _min_day(book.invoices))


def _start_day(book: Book, inv: pd.DataFrame, sel: np.ndarray) -> np.ndarray:
    """Per selected invoice, the first day a lever may touch: max(min_day, first day its law has mass).

    Mass before ``min_day`` is what "not paid yet" rules out; leaving it alone keeps every invoice's conditional
    never-paid share. Invoices whose law starts after ``min_day`` share one key, so rows stay few.
    """
    def first_days() -> np.ndarray:       # per pmf row, the first day with mass: once per block of rows
        return np.concatenate([_first_days(part, book.grid) for part in book.rows.parts])

    first = per_book(book, "first day with mass", first_days)
    return np.maximum(_book_min_day(book)[sel], first[inv["profile"].to_numpy(np.int64)[sel]])


#: id(block of pmf rows) -> (weak reference to it, the first grid day with mass of each of its rows).
_FIRST_DAYS: dict[int, tuple[weakref.ref, np.ndarray]] = {}


def _first_days(part: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Per row of ``part`` (a block of a book's pmf rows, :class:`cashsim.book.PmfRows`), the first grid day with
    mass (the last day if none); once per block: the blocks are shared by the books derived from one another."""
    key = id(part)
    with _PER_BOOK_LOCK:
        hit = _FIRST_DAYS.get(key)
    if hit is not None and hit[0]() is part:              # the very block (blocks are never modified)
        return hit[1]
    nz = part > 0
    first = np.where(nz.any(axis=1), grid[np.argmax(nz, axis=1)], grid[-1])

    def forget(ref: weakref.ref, key: int = key) -> None:
        if _FIRST_DAYS.get(key, (None,))[0] is ref:
            _FIRST_DAYS.pop(key, None)

    with _PER_BOOK_LOCK:
        _FIRST_DAYS[key] = (weakref.ref(part, forget), first)
    return first


def conditional_laws(book: Book, sel: np.ndarray | None = None, columns: int | None = None
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Each invoice's law of the pay day given not paid before ``min_day``: (rows over the grid, inverse index).

    r_g = p_g 1[g >= m] / (1 - F(m - 1)), m = ``min_day`` raised to the issue date (the engine's rule); rows are
    computed per unique (profile, m) and ``rows[inverse]`` gives the invoices' laws. Row sums are
    P(paid at all | not paid yet) <= 1. ``columns``: only the first grid positions (the same numbers as the whole
    rows' first columns).
    """
    inv = book.invoices
    sel = np.arange(len(inv)) if sel is None else sel
    min_day = _book_min_day(book)
    combo = np.column_stack([inv["profile"].to_numpy(np.int64)[sel], min_day[sel]])
    uniq, inverse = unique_rows(combo)
    rows = book.pmf_rows(uniq[:, 0])                     # a new array: ours to change
    ruled_out = book.grid[None, :] < uniq[:, 1:2]        # the days before m
    before = (rows * ruled_out).sum(axis=1, keepdims=True)
    rows[ruled_out] = 0.0
    if columns is not None:
        return rows[:, :columns] / np.maximum(1.0 - before, 1e-12), inverse.ravel()
    return np.divide(rows, np.maximum(1.0 - before, 1e-12), out=rows), inverse.ravel()


def _expected_pay_day(book: Book, sel: np.ndarray | None = None) -> np.ndarray:
    """Per invoice (of ``sel``), the expected pay day relative to due given eventual payment (0 if never paid)."""
    laws, inverse = conditional_laws(book, sel)
    mass = laws.sum(axis=1)
    return np.divide(laws @ book.grid.astype(float), mass, out=np.zeros(len(mass)), where=mass > 0)[inverse]


def _p_unpaid_at(book: Book, sel: np.ndarray, day_idx: np.ndarray) -> np.ndarray:
    """Per invoice of ``sel`` (last axis of ``day_idx``), P(still unpaid on the morning of grid position ``day_idx``)
    = 1 - P(paid before it), on the law given ``min_day``, without an invoices x grid table."""
    day_idx = np.asarray(day_idx, dtype=np.int64)
    if len(sel) == 0:
        return np.ones(day_idx.shape)
    if day_idx.size and (day_idx.min() < 0 or day_idx.max() >= len(book.grid)):
        raise IndexError(f"grid position out of range 0..{len(book.grid) - 1}")
    width = int(day_idx.max()) if day_idx.size else 0
    laws, inverse = conditional_laws(book, sel, columns=max(width, 1))
    cum = np.cumsum(laws, axis=1)                                      # cum[:, j] = P(paid on positions <= j)
    before = np.where(day_idx > 0, cum[inverse, np.maximum(day_idx - 1, 0)], 0.0)
    return 1.0 - before


def _p_paid_by(book: Book, sel: np.ndarray, day_idx: np.ndarray) -> np.ndarray:
    """Per invoice of ``sel``, P(paid by grid position ``day_idx``), on the law given ``min_day``."""
    day_idx = np.asarray(day_idx)
    inside = day_idx.size and day_idx.min() >= 0 and day_idx.max() < len(book.grid)   # else: as numpy indexes
    width = int(day_idx.max()) + 1 if inside else None
    laws, inverse = conditional_laws(book, sel, columns=width)
    return np.cumsum(laws, axis=1)[inverse, day_idx]   # one entry per invoice, without its whole row


def _p_unpaid_and_paid_from(book: Book, sel: np.ndarray, day_idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(:func:`_p_unpaid_at`, P(paid at all | still unpaid on the morning of grid position ``day_idx``)) of the same
    invoices and grid positions (``sel`` not empty, ``day_idx`` one per invoice, within the grid), on the law given
    ``min_day``, from one table of laws and its cumulative sums. The second is the chance an invoice that late is a
    payer rather than a loss (1 when it surely is unpaid); the first is :func:`_p_unpaid_at`'s numbers (a sum's
    first terms are those of the table cut at fewer columns)."""
    day_idx = np.asarray(day_idx, dtype=np.int64)
    if day_idx.size and (day_idx.min() < 0 or day_idx.max() >= len(book.grid)):
        raise IndexError(f"grid position out of range 0..{len(book.grid) - 1}")
    laws, inverse = conditional_laws(book, sel)
    cum = np.concatenate([np.zeros((laws.shape[0], 1)), np.cumsum(laws, axis=1)], axis=1)
    paid_before = cum[inverse, day_idx]            # cum[:, j] = mass on grid positions < j
    unpaid = 1.0 - paid_before
    paid_from = np.divide(cum[inverse, -1] - paid_before, unpaid, out=np.ones(len(sel)), where=unpaid > 1e-12)
    return unpaid, paid_from


def _open_dispute(inv: pd.DataFrame) -> np.ndarray:
    """Per invoice, whether it is in an open dispute (*litige en cours*): flagged ``disputed`` and not resolved
    (``dispute_resolved`` missing; a book without that column counts every flagged invoice as open)."""
    if "disputed" not in inv.columns:
        return np.zeros(len(inv), dtype=bool)
    flagged = inv["disputed"].fillna(False).to_numpy(dtype=bool)
    if "dispute_resolved" not in inv.columns:
        return flagged
    return flagged & inv["dispute_resolved"].isna().to_numpy()


def _select(inv: pd.DataFrame, segments: Segments, customers: Segments) -> np.ndarray:
    mask = np.ones(len(inv), dtype=bool)
    if segments is not None:
        mask &= inv["segment"].isin(segments).to_numpy()
    if customers is not None:
        mask &= inv["customer_id"].astype(str).isin([str(c) for c in customers]).to_numpy()
    return mask


def _profile_flag(inv: pd.DataFrame, model: PayerModel | None, column: str, value: Any) -> np.ndarray:
    """Per invoice, whether its fitted profile has ``column == value`` (``inv[column]`` wins when present)."""
    if column in inv.columns:
        return (inv[column] == value).fillna(False).to_numpy(dtype=bool)
    profiles = getattr(model, "profiles", None)
    if profiles is None or column not in profiles.columns:
        return np.zeros(len(inv), dtype=bool)
    flags = (profiles[column] == value).fillna(False).to_numpy(dtype=bool)
    base = inv["base_profile"].to_numpy(np.int64)
    ok = (base >= 0) & (base < len(flags))
    return np.where(ok, flags[np.clip(base, 0, len(flags) - 1)], False)


def _cost_frame(lever: str, months: np.ndarray, item: str, amounts: np.ndarray, in_sim: bool = False
                ) -> pd.DataFrame:
    # the amounts summed by month as ``DataFrame.groupby("month")["amount"].sum()`` does (the same sums, months
    # sorted, no NaN month), the frame built at once (a column inserted at a time costs twice as much)
    sums = pd.Series(np.asarray(amounts)).groupby(np.asarray(months)).sum()
    keep = sums.to_numpy() != 0
    return pd.DataFrame({"lever": lever, "month": sums.index[keep], "item": item, "amount": sums.to_numpy()[keep],
                         "in_simulation": in_sim})


COST_COLUMNS = ["lever", "month", "item", "amount", "in_simulation"]


def empty_costs() -> pd.DataFrame:
    """A costs table with no row (columns COST_COLUMNS), for levers that cost nothing: a copy of one built once
    (a lever study asks for hundreds; building one from typed Series costs 20 times a copy)."""
    global _EMPTY_COSTS
    if _EMPTY_COSTS is None:
        _EMPTY_COSTS = pd.DataFrame({c: pd.Series(dtype=t) for c, t in
                                     zip(COST_COLUMNS, ["str", "str", "str", "float64", "bool"], strict=True)})
    return _EMPTY_COSTS.copy()


_EMPTY_COSTS: pd.DataFrame | None = None


def _customer_actions(lever: str, customers: Any, amounts: Any, action: str, *,
                      tie_break: bool = True) -> pd.DataFrame:
    """One action row per customer: ``lever, customer_id, invoice_id`` (""), ``amount`` (summed), ``action``, largest
    amount first (``tie_break``: equal amounts by customer_id; else a plain sort on the amount)."""
    df = pd.DataFrame({"customer_id": customers, "amount": amounts})
    df = df.groupby("customer_id", as_index=False)["amount"].sum()
    df["action"] = action
    df.insert(0, "lever", lever)
    df.insert(2, "invoice_id", "")
    if tie_break:
        df = df.sort_values(["amount", "customer_id"], ascending=[False, True])
    else:
        df = df.sort_values("amount", ascending=False)
    return df.reset_index(drop=True)
