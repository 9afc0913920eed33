"""The fitted payer model and the baseline book of a ledger, from the cache when the same fit was stored.

A fit is looked up by :func:`cashsim.cache.keys.fit_key` (the ledger's content, the as-of date, every argument of
:func:`cashsim.behaviour.fit_behaviour`, cashsim's version and fitting code); the book of a fit by that key plus
what the book adds (sales plan, horizon end). A changed ledger, date or setting makes another key: it refits.
What is read back equals bit for bit what would be computed, so forecasts do not depend on the cache.

>>> model, book = cached_baseline(ledger, as_of, {"half_life_days": 365.0}, book_inputs={...},
...                               build_book=lambda m: m.book(open_book))           # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from cashsim.behaviour import PayerModel, fit_behaviour
from cashsim.book import Book
from cashsim.cache.keys import call_arguments, derived_key, fit_key
from cashsim.cache.store import cache_enabled, cache_folder, cached, entry_path


def _key(ledger: Any, as_of: Any, settings: dict[str, Any]) -> str:
    args = call_arguments(fit_behaviour, ledger, as_of, **settings)
    return fit_key(ledger, as_of, {k: v for k, v in args.items() if k not in ("ledger", "as_of")})


def cached_fit(ledger: Any, as_of: Any, *, folder: str | os.PathLike | None = None, **settings: Any) -> PayerModel:
    """``fit_behaviour(ledger, as_of, **settings)``, read from the cache folder when it was stored there."""
    if not cache_enabled():
        return fit_behaviour(ledger, as_of, **settings)
    return cached("fit", _key(ledger, as_of, settings), lambda: fit_behaviour(ledger, as_of, **settings),
                  PayerModel, folder)


def cached_baseline(ledger: Any, as_of: Any, settings: dict[str, Any], *, book_inputs: dict[str, Any],
                    build_book: Callable[[PayerModel], Book], folder: str | os.PathLike | None = None
                    ) -> tuple[PayerModel, Book]:
    """The fit of :func:`cached_fit` and ``build_book(model)``, each from the cache when stored there.

    ``book_inputs``: everything ``build_book`` uses besides the model and what the fit key covers (the ledger and
    the date), as plain values (e.g. the sales plan dumped to JSON data, the horizon end)."""
    if not cache_enabled():
        model = fit_behaviour(ledger, as_of, **settings)
        return model, build_book(model)
    key = _key(ledger, as_of, settings)
    model = cached("fit", key, lambda: fit_behaviour(ledger, as_of, **settings), PayerModel, folder)
    book = cached("book", derived_key(key, **book_inputs), lambda: build_book(model), Book, folder)
    return model, book


def baseline_is_cached(ledger: Any, as_of: Any, settings: dict[str, Any], *, book_inputs: dict[str, Any],
                       folder: str | os.PathLike | None = None) -> bool:
    """Whether :func:`cached_baseline` with these arguments would read both the fit and the book from the cache
    (no fit, no book built): the same keys, looked up without loading."""
    if not cache_enabled():
        return False
    key = _key(ledger, as_of, settings)
    where = cache_folder(folder)
    return (entry_path(where, "fit", key).is_file()
            and entry_path(where, "book", derived_key(key, **book_inputs)).is_file())
