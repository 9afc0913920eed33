"""The demo company as cashsim's users get it: its ledger tables, its validated ledger, and its truth.

Example::

    >>> demo = demo_company(7)                                      # doctest: +SKIP
    >>> len(demo.ledger.rejections), str(demo.as_of.date())          # doctest: +SKIP
    (0, '2026-10-31')
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from cashsim.demo.laws import AS_OF
from cashsim.demo.truth import DemoTruth, _truth
from cashsim.demo.world import _build_world, _cut
from cashsim.ledger import Ledger, read_ledger
from cashsim.seeding import SeedLike


def demo_tables(seed: SeedLike = 7) -> dict[str, pd.DataFrame]:
    """The demo company's ledger tables at AS_OF: ``invoices``, ``payments``, ``promises``, ``dunning``, ``customers``.

    Columns are the canonical ones of docs/design.md; same seed, same tables bit for bit (copies: safe to modify).

    >>> t = demo_tables()
    >>> list(t["payments"].columns)
    ['invoice_id', 'payment_date', 'amount']
    """
    return {k: v.copy() for k, v in _cut(_build_world(int(seed))).items()}



@dataclass(frozen=True)
class DemoCompany:
    """The demo company: its validated ``ledger`` at ``as_of``, the raw ``tables`` it was read from, the ``truth``."""

    ledger: Ledger
    truth: DemoTruth
    as_of: pd.Timestamp
    tables: dict[str, pd.DataFrame] = field(repr=False)

    @property
    def raw(self) -> dict[str, pd.DataFrame]:
        """Alias of ``tables`` (the name docs/design.md uses)."""
        return self.tables


def demo_company(seed: SeedLike = 7) -> DemoCompany:
    """The embedded demo company: ledger (``cashsim.ledger.read_ledger`` of the tables), truth and tables.

    >>> demo = demo_company()
    >>> len(demo.ledger.rejections)
    0
    >>> demo.truth.segments.index.tolist()
    ['key_accounts', 'sme', 'micro', 'public']
    """
    world = _build_world(int(seed))
    tables = _cut(world)
    truth = _truth(world)
    ledger = read_ledger(**{k: v.copy() for k, v in tables.items()})
    return DemoCompany(ledger=ledger, truth=truth, as_of=AS_OF, tables=tables)


def demo_ledger(seed: SeedLike = 7) -> Ledger:
    """The demo company's validated ledger at AS_OF (``demo_company(seed).ledger`` without the truth)."""
    return read_ledger(**demo_tables(seed))
