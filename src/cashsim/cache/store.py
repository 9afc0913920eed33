"""The cache folder and its entries: look an entry up by key, else build it and store it for the next run.

Folder (:func:`cache_folder`), first found of: the folder given (``cache.dir`` of a parameter file), the
environment variable ``CASHSIM_CACHE_DIR``, ``$XDG_CACHE_HOME/cashsim``, ``~/.cache/cashsim``. Setting
``CASHSIM_NO_CACHE=1`` turns the cache off everywhere (``--no-cache`` does it for one command, its notebook
kernels included). Deleting the folder clears the cache; nothing else points into it.

Entries are ``<kind>-<key>.npz`` files (:mod:`cashsim.cache.archive`), written to a temporary file in the folder
then renamed, so processes running at once never read half a file. An entry that cannot be read (corrupt, from
another cashsim, another format) is ignored with a :class:`FitCacheWarning` and rebuilt; a folder that cannot be
written warns and the result is still returned. The :data:`MAX_ENTRIES` most recently used entries are kept.

>>> model = cached("fit", key, lambda: fit_behaviour(ledger, as_of), PayerModel)   # doctest: +SKIP
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from cashsim.cache.archive import CacheError, load_with_meta, save_dataclass

ENV_DIR = "CASHSIM_CACHE_DIR"
ENV_OFF = "CASHSIM_NO_CACHE"
#: Entries kept in the folder: the least recently used beyond this are deleted after each write.
MAX_ENTRIES = 32
#: A temporary file older than this (seconds) was left by a process that died while writing: deleted by prune().
STALE_SECONDS = 3600

T = TypeVar("T")


class FitCacheWarning(UserWarning):
    """A cache entry was ignored (unreadable, incompatible) or could not be written; the result was recomputed."""


def cache_folder(configured: str | os.PathLike | None = None) -> Path:
    """Where cache entries live: ``configured``, else ``$CASHSIM_CACHE_DIR``, else ``$XDG_CACHE_HOME/cashsim``,
    else ``~/.cache/cashsim``.

    >>> cache_folder("/tmp/cashsim-cache")
    PosixPath('/tmp/cashsim-cache')
    """
    if configured is not None:
        return Path(configured).expanduser()
    if os.environ.get(ENV_DIR):
        return Path(os.environ[ENV_DIR]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "cashsim"


def cache_enabled() -> bool:
    """False when the environment says ``CASHSIM_NO_CACHE`` (any value but empty or ``0``)."""
    return os.environ.get(ENV_OFF, "") in ("", "0")


@contextmanager
def cache_off(off: bool = True) -> Iterator[None]:
    """Within the block, with ``off``, the cache is off for this process and the processes it starts (notebook
    kernels): ``CASHSIM_NO_CACHE=1`` in the environment, restored after.

    >>> with cache_off():
    ...     cache_enabled()
    False
    """
    before = os.environ.get(ENV_OFF)
    if off:
        os.environ[ENV_OFF] = "1"
    try:
        yield
    finally:
        if off and before is None:
            os.environ.pop(ENV_OFF, None)
        elif off:
            os.environ[ENV_OFF] = before


def entry_path(folder: Path, kind: str, key: str) -> Path:
    return Path(folder) / f"{kind}-{key}.npz"


def _warn(message: str) -> None:
    warnings.warn(message, FitCacheWarning, stacklevel=4)


def load_entry(folder: Path, kind: str, key: str, cls: type[T]) -> T | None:
    """The ``cls`` stored under ``kind``/``key``, or None (absent; unreadable: warned)."""
    path = entry_path(folder, kind, key)
    try:
        value, meta = load_with_meta(path, cls)
        if meta.get("key") != key or meta.get("kind") != kind:
            raise CacheError(f"the file holds {meta.get('kind')} {meta.get('key')}")
    except FileNotFoundError:
        return None
    except Exception as exc:  # whatever is wrong with the file, the remedy is to rebuild it
        _warn(f"cashsim cache: ignoring {path} ({type(exc).__name__}: {exc}); computing it again")
        return None
    try:
        os.utime(path)  # most recently used: kept by prune()
    except OSError:
        pass
    return value


def store_entry(folder: Path, kind: str, key: str, value: Any) -> Path | None:
    """Write ``value`` under ``kind``/``key`` (atomically); None when the folder cannot be written (warned).
    A value of a type the archive cannot store raises :class:`CacheError`: that is a bug to fix, not a state."""
    path = entry_path(folder, kind, key)
    try:
        save_dataclass(value, path, meta={"kind": kind, "key": key})
    except OSError as exc:
        _warn(f"cashsim cache: cannot write {path} ({exc.strerror or exc}); the result is not cached")
        return None
    prune(folder)
    return path


def prune(folder: Path, keep: int = MAX_ENTRIES) -> None:
    """Delete all but the ``keep`` most recently used entries of ``folder``, and temporary files left by a process
    that died while writing (older than :data:`STALE_SECONDS`)."""
    def mtime(p: Path) -> float:
        try:
            return p.stat().st_mtime
        except OSError:
            return 0.0

    entries = sorted(Path(folder).glob("*-*.npz"), key=mtime, reverse=True)
    stale = [p for p in Path(folder).glob(".*.tmp") if time.time() - mtime(p) > STALE_SECONDS]
    for path in entries[keep:] + stale:
        try:
            path.unlink()
        except OSError:
            pass


def cached(kind: str, key: str, build: Callable[[], T], cls: type[T], folder: str | os.PathLike | None = None) -> T:
    """The ``cls`` stored under ``kind``/``key`` in ``folder`` (:func:`cache_folder`), else ``build()`` stored
    there for the next call. With the cache off (:func:`cache_enabled`), just ``build()``."""
    if not cache_enabled():
        return build()
    where = cache_folder(folder)
    value = load_entry(where, kind, key, cls)
    if value is None:
        value = build()
        store_entry(where, kind, key, value)
    return value


def clear_cache(folder: str | os.PathLike | None = None) -> int:
    """Delete every entry of the cache folder; returns how many were deleted."""
    n = 0
    for path in cache_folder(folder).glob("*-*.npz"):
        try:
            path.unlink()
            n += 1
        except OSError:
            pass
    return n
