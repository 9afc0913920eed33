"""The fit cache: a fitted :class:`~cashsim.behaviour.PayerModel` (and its baseline book) kept on disk, so the
report, ``cashsim levers``, the notebooks and the panel do not refit the same ledger again.

Contract:

* **Key** (:mod:`cashsim.cache.keys`): SHA-256 of the ledger's content (every table), the as-of date, every
  argument of ``fit_behaviour``, cashsim's version and fitting code, numpy / pandas / scipy versions and the cache
  format. Anything else changes, the key changes: it refits.
* **Format** (:mod:`cashsim.cache.archive`): one ``.npz`` per entry, read with ``allow_pickle=False``, holding the
  arrays and a JSON tree of the rest; safe to load from an untrusted folder, equal bit for bit to what was fitted.
* **Folder** (:mod:`cashsim.cache.store`): ``cache.dir`` of the params, else ``$CASHSIM_CACHE_DIR``, else
  ``$XDG_CACHE_HOME/cashsim``, else ``~/.cache/cashsim``; deleting it clears the cache. ``CASHSIM_NO_CACHE=1`` or
  ``--no-cache`` turn it off; an unreadable entry warns (:class:`FitCacheWarning`) and is refitted.

>>> from cashsim.cache import cached_fit
>>> model = cached_fit(ledger, "2026-10-31", half_life_days=365.0)   # doctest: +SKIP
"""

from cashsim.cache.archive import CacheError, load_dataclass, save_dataclass
from cashsim.cache.fits import cached_baseline, cached_fit
from cashsim.cache.keys import fit_key, ledger_digest, table_digest
from cashsim.cache.store import ENV_DIR, ENV_OFF, FitCacheWarning, cache_enabled, cache_folder, clear_cache

__all__ = ["CacheError", "ENV_DIR", "ENV_OFF", "FitCacheWarning", "cache_enabled", "cache_folder", "cached_baseline",
           "cached_fit", "clear_cache", "fit_key", "ledger_digest", "load_dataclass", "save_dataclass",
           "table_digest"]
