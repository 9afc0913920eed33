"""A truth-knowing forecaster of the demo company's collections (*oracle*): the ceiling of what any forecast can
score in the demo back-test.

At an origin ``o`` (the end of a day), every invoice open at ``o`` gets ``n_paths`` draws of its payments after
``o`` from the demo's **true law** (the generator's own code: :func:`~cashsim.demo.disputes._disputes`,
:func:`~cashsim.demo.payments._settle`, :func:`~cashsim.demo.world._write_offs_and_instalments`) with the true
customer parameters (intercept ``mu_c``, scale, never-paid probability, payment runs, direct debit, promise
habits), **conditioned on what is known at** ``o`` by rejection: a draw is kept only when it agrees with the ledger
at ``o``, i.e.

* not fully paid by ``o`` (full-payment day after ``o``), and not written off by ``o``;
* a dispute opened by ``o``: same type and opening day (taken from the ledger), the resolution day the ledger's if
  resolved by ``o``, else drawn from its log-normal law conditioned on "after ``o``" (exactly, by the inverse CDF of
  the truncated normal); no dispute opened by ``o``: a drawn dispute must open after ``o``;
* a promise made by ``o`` (at the phone call): the draw must make one, for the same promised day; none made while
  the phone call is past: the draw must make none;
* a first instalment paid by ``o``: the draw must split the invoice with its first instalment on that day (the
  amount left is the ledger's); none paid: a drawn first instalment must fall after ``o``;
* dunning steps already taken follow from "unpaid at ``o``" (a step is taken iff the invoice is unpaid on its day).

Month shocks: ``M_m`` of a due month up to ``o``'s month at its true realised value; of a later due month drawn
once per path (``N(0, 1)``) and shared by every invoice due that month (the true co-movement). Approximation: those
later shocks are drawn from their prior, not from their posterior given the early payments seen before ``o`` (the
few invoices due next month paid early); everything else is exact up to Monte Carlo error. Rejection stops after
:data:`MAX_DRAWS` candidates per (invoice, path); a pair still unfilled then (none on the demo's origins) is
counted in :attr:`OracleForecast.unfilled` and left unpaid in the horizon.

Example::

    >>> oracle = DemoOracle(7)                                                      # doctest: +SKIP
    >>> months = ["2026-07", "2026-08", "2026-09"]                                    # doctest: +SKIP
    >>> f = oracle.forecast(pd.Timestamp("2026-06-30"), ids, months, 300, seed=42)   # doctest: +SKIP
    >>> f.monthly().shape                                                           # doctest: +SKIP
    (300, 3)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from cashsim.demo.disputes import _disputes, _post_resolution_days, _resolution_days, _resolution_z_floor
from cashsim.demo.laws import _NEVER, FIRST_INSTALMENT_GAP, RHO_MONTH
from cashsim.demo.payments import _settle, next_payment_run
from cashsim.demo.world import _build_world, _cut, _write_offs_and_instalments
from cashsim.ledger import DISPUTE_TYPES
from cashsim.seeding import SeedLike, child

#: candidate draws at most per (invoice, path) before giving up on the pair
MAX_DRAWS = 200_000
#: candidate rows per vectorised call (memory bound)
CHUNK_ROWS = 1_000_000
#: seed key of the oracle's streams (apart from the model's, keyed by the origin alone)
ORACLE_KEY = 15


def _days(values) -> np.ndarray:
    """datetime64 values -> int day numbers (NaT -> -1)."""
    v = pd.to_datetime(pd.Series(values)).to_numpy().astype("datetime64[D]")
    return np.where(np.isnat(v), -1, v.astype(np.int64))


@dataclass(frozen=True)
class OracleForecast:
    """The oracle's draws at one origin: per invoice (rows, in the order asked) and path (columns), the payments after
    the origin -- ``day1``/``amount1`` (a first instalment still to come, else amount 0) and ``day2``/``amount2``
    (the rest, on the full-payment day; ``_NEVER`` when never paid). ``unfilled``: pairs rejection did not fill."""

    origin: pd.Timestamp
    months: list[str]
    day1: np.ndarray
    amount1: np.ndarray
    day2: np.ndarray
    amount2: np.ndarray
    unfilled: int

    def monthly(self, groups: np.ndarray | None = None, n_groups: int = 1) -> np.ndarray:
        """Cash per path and month ``(n_paths, n_months)``; with ``groups`` (one int per invoice, < ``n_groups``),
        per path, group and month ``(n_paths, n_groups, n_months)``."""
        n_inv, n_paths = self.day2.shape
        g = np.zeros(n_inv, np.int64) if groups is None else np.asarray(groups, np.int64)
        first = np.datetime64(self.months[0], "M").astype(np.int64)
        out = np.zeros((n_paths, n_groups, len(self.months)))
        path = np.broadcast_to(np.arange(n_paths), (n_inv, n_paths))
        grp = np.broadcast_to(g[:, None], (n_inv, n_paths))
        for day, amount in ((self.day1, self.amount1), (self.day2, self.amount2)):
            ok = (day < _NEVER) & (amount != 0)
            month = day[ok].astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) - first
            keep = (month >= 0) & (month < len(self.months))
            np.add.at(out, (path[ok][keep], grp[ok][keep], month[keep]), amount[ok][keep])
        return out[:, 0, :] if groups is None else out


class DemoOracle:
    """The truth-knowing forecaster of the demo company drawn with ``demo_seed`` (module docstring)."""

    def __init__(self, demo_seed: SeedLike = 7) -> None:
        self.demo_seed = int(demo_seed)
        self.world = _build_world(self.demo_seed)
        self._unfilled: dict[pd.Timestamp, int] = {}
        inv = self.world.invoices
        self._inv = inv[inv["amount"] > 0].set_index("invoice_id")
        self._cust = self.world.customers.set_index("customer_id")

    def forecast(self, origin, invoice_ids, months: list[str], n_paths: int, *, seed: SeedLike = 0
                 ) -> OracleForecast:
        """Draws of the payments after ``origin`` of the invoices ``invoice_ids`` (open at ``origin``) on
        ``n_paths`` paths; ``months`` (``"YYYY-MM"``) are the months :meth:`OracleForecast.monthly` sums into."""
        origin = pd.Timestamp(origin).normalize()
        o = np.datetime64(origin.date(), "D").astype(np.int64)
        ids = pd.Index(invoice_ids)
        known = self._known(origin, ids)
        rng = np.random.default_rng(child(seed, ORACLE_KEY, origin.toordinal()))
        # month shocks: true up to the origin's month, drawn per path (shared by the invoices due then) after it
        due_month = self._inv.loc[ids, "due_month"].to_numpy()
        future = sorted({m for m in due_month if m > origin.strftime("%Y-%m")})
        m_true = self.world.months["M"]
        m_path = np.tile(m_true.loc[due_month].to_numpy(float)[:, None], (1, n_paths))
        draws = rng.standard_normal((len(future), n_paths))
        for k, m in enumerate(future):
            m_path[due_month == m] = draws[k]
        n_inv = len(ids)
        pair_inv = np.repeat(np.arange(n_inv), n_paths)
        pair_m = m_path.ravel()
        out = {k: np.zeros(n_inv * n_paths, np.int64 if k.startswith("day") else float)
               for k in ("day1", "amount1", "day2", "amount2")}
        out["day1"][:], out["day2"][:] = _NEVER, _NEVER
        pending = np.arange(n_inv * n_paths)
        tried, kept = np.zeros(n_inv), np.zeros(n_inv)
        used = np.zeros(n_inv * n_paths)
        filled = np.zeros(n_inv * n_paths, bool)
        while pending.size:
            rate = (kept + 1) / (tried + 2)
            copies = np.clip(np.ceil(1.5 / rate[pair_inv[pending]]), 1, MAX_DRAWS).astype(np.int64)
            # one chunk of pairs at a time, at most CHUNK_ROWS candidates (at least one pair)
            cum = np.cumsum(copies)
            n_take = max(1, int(np.searchsorted(cum, CHUNK_ROWS, side="right")))
            pairs, copies = pending[:n_take], copies[:n_take]
            rows = np.repeat(pairs, copies)
            inv_rows = pair_inv[rows]
            cand = self._candidates(rng, known, inv_rows, pair_m[rows], o)
            np.add.at(tried, inv_rows, 1)
            np.add.at(kept, inv_rows, cand["ok"])
            used[pairs] += copies
            ok_rows = np.flatnonzero(cand["ok"])
            pair_ok, first = np.unique(rows[ok_rows], return_index=True)   # rows are grouped by pair
            for k in out:
                out[k][pair_ok] = cand[k][ok_rows[first]]
            filled[pair_ok] = True
            done = np.isin(pairs, pair_ok) | (used[pairs] >= MAX_DRAWS)
            pending = np.concatenate([pending[n_take:], pairs[~done]])
        unfilled = int(np.sum(~filled))
        self._unfilled[origin] = unfilled
        shape = (n_inv, n_paths)
        return OracleForecast(origin=origin, months=list(months), day1=out["day1"].reshape(shape),
                              amount1=out["amount1"].reshape(shape), day2=out["day2"].reshape(shape),
                              amount2=out["amount2"].reshape(shape), unfilled=unfilled)

    def settings(self) -> dict:
        """What a back-test records of the oracle: the demo seed and the pairs rejection left unfilled."""
        return {"demo_seed": self.demo_seed, "max_draws": MAX_DRAWS,
                "unfilled_pairs": int(sum(self._unfilled.values()))}

    def _known(self, origin: pd.Timestamp, ids: pd.Index) -> dict[str, np.ndarray]:
        """Per invoice of ``ids``: its true parameters and what the ledger knew at the end of ``origin``."""
        tables = _cut(self.world, origin)
        inv = self._inv.loc[ids]
        now = tables["invoices"].set_index("invoice_id").loc[ids]
        cust = self._cust.loc[inv["customer_id"]]
        pay = tables["payments"]
        pay = pay[pay["invoice_id"].isin(ids)].groupby("invoice_id").agg(paid=("amount", "sum"),
                                                                          first=("payment_date", "min"))
        prom = tables["promises"].groupby("invoice_id")["promised_date"].last()
        months = self.world.months.loc[inv["due_month"]]
        kind = pd.Categorical(now["dispute_type"], categories=list(DISPUTE_TYPES)).codes
        return {
            "issue": _days(inv["issue_date"]), "due": _days(inv["due_date"]),
            "amount": inv["amount"].to_numpy(float), "mu": cust["mu"].to_numpy(float),
            "scale": cust["scale"].to_numpy(float), "p_never": cust["p_never"].to_numpy(float),
            "dd": inv["direct_debit"].to_numpy(bool), "run1": cust["run_day_1"].to_numpy(),
            "run2": cust["run_day_2"].to_numpy(), "promise_rate": cust["promise_rate"].to_numpy(float),
            "promise_keep": cust["promise_keep"].to_numpy(float), "dispute_rate": cust["dispute_rate"].to_numpy(float),
            "effect": months["effect"].to_numpy(float),
            "disputed": now["disputed"].to_numpy(bool), "kind": kind, "opened": _days(now["dispute_opened"]),
            "resolved": _days(now["dispute_resolved"]),
            "paid": ids.map(pay["paid"]).fillna(0.0).to_numpy(float), "first_paid": _days(ids.map(pay["first"])),
            "promised": _days(ids.map(prom)),
        }

    def _candidates(self, rng: np.random.Generator, known: dict, i: np.ndarray, m: np.ndarray, o: int
                    ) -> dict[str, np.ndarray]:
        """Candidate lives of the invoices ``i`` (month shocks ``m``) under the true law, and whether each agrees
        with the ledger at day ``o`` (``ok``)."""
        k = {name: v[i] for name, v in known.items()}
        # disputes: the generator's law for those not known at o (a dispute must then open after o)
        d = _disputes(rng, pd.DataFrame({"issue": k["issue"]}), k["dispute_rate"])
        disputed, ready = d["disputed"].to_numpy(), d["ready"].to_numpy()
        kd = k["disputed"]
        ok = kd | ~(disputed & (d["opened"].to_numpy() <= o))
        # known at o: type and opening day given; resolution given, or drawn after o (truncated normal)
        if kd.any():
            kind, opened = k["kind"][kd], k["opened"][kd]
            floor = _resolution_z_floor(kind, o - opened)
            z = stats.norm.isf(rng.random(kd.sum()) * np.maximum(stats.norm.sf(floor), 1e-300))
            resolved = np.where(k["resolved"][kd] >= 0, k["resolved"][kd], opened + _resolution_days(kind, z))
            disputed = disputed | kd
            ready = ready.copy()
            ready[kd] = resolved + _post_resolution_days(rng.standard_normal(kd.sum()))
        shock = k["scale"] * np.sqrt(RHO_MONTH) * m + k["effect"]
        s = _settle(rng, issue=k["issue"], due=k["due"], mu=k["mu"], scale=k["scale"], shock=shock,
                    p_never=k["p_never"], direct_debit=k["dd"], run1=k["run1"], run2=k["run2"], disputed=disputed,
                    ready=ready, promise_rate=k["promise_rate"], promise_keep=k["promise_keep"])
        write_off, split, first_day, first_amt = _write_offs_and_instalments(
            rng, issue=k["issue"], due=k["due"], amount=k["amount"], settled=s, disputed=disputed,
            direct_debit=k["dd"], run1=k["run1"], run2=k["run2"])
        ok &= (s.pay > o) & ~(s.never & (write_off <= o))
        made = s.promise & (s.action[:, 1] <= o)
        known_promise = k["promised"] >= 0
        ok &= (made == known_promise) & (~known_promise | (s.promised == k["promised"]))
        known_partial = k["paid"] > 0
        ok &= known_partial | ~(split & (first_day <= o))
        if known_partial.any():
            ok &= ~known_partial | self._first_instalment_ok(rng, k, s.pay, s.never, disputed, ok & known_partial)
        later = ~known_partial & split & (first_day > o)
        rest = np.where(known_partial, k["amount"] - k["paid"], np.where(later, k["amount"] - first_amt, k["amount"]))
        return {"ok": ok, "day1": np.where(later, first_day, _NEVER), "amount1": np.where(later, first_amt, 0.0),
                "day2": np.where(s.never, _NEVER, s.pay), "amount2": np.where(s.never, 0.0, np.round(rest, 2))}

    @staticmethod
    def _first_instalment_ok(rng: np.random.Generator, k: dict, pay: np.ndarray, never: np.ndarray,
                             disputed: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Acceptance of the draws ``rows`` of invoices whose first instalment was paid by the origin, on day
        ``k["first_paid"]``: the split (an independent draw, its probability a constant factor) is set, and the draw
        kept with the probability that the first-instalment day is that day, ``#{g in G: next_payment_run(
        max(issue + 1, pay - g)) == first_paid} / #G``, G the gaps of :data:`~cashsim.demo.laws.FIRST_INSTALMENT_GAP`
        (the generator's rule), exactly."""
        first = k["first_paid"]
        gaps = np.arange(*FIRST_INSTALMENT_GAP)
        ok = rows & ~never & ~disputed & ~k["dd"] & (first < pay) & (pay <= first + gaps[-1])
        idx = np.flatnonzero(ok)
        day = np.maximum(k["issue"][idx, None] + 1, pay[idx, None] - gaps[None, :])
        run = next_payment_run(day.ravel(), np.repeat(k["run1"][idx], gaps.size), np.repeat(k["run2"][idx], gaps.size))
        hits = (run.reshape(idx.size, gaps.size) == first[idx, None]).sum(axis=1)
        ok[idx] = rng.random(idx.size) < hits / gaps.size
        return ok
