"""The fitted payer model (:class:`PayerModel`) and its queries: laws, survival, month effects, snapped laws.

The forecast law of an invoice (units: calendar days relative to due, euros incl. VAT):

* ``log t = x'beta + u_j + m(due month) + s W`` (:mod:`cashsim.behaviour.aft`) with what is still unknown added to
  the scale: ``s^2 = sigma^2 + v_month + Var(u_j)``, ``v_month`` the posterior variance of the due month's effect
  when it is estimated (its effect is then in the location), ``tau_month^2`` for a month to come or a typical month
  (:meth:`PayerModel.month_level`, :meth:`PayerModel.month_variance`, :mod:`cashsim.behaviour.months`); a customer
  without history gets ``u = 0`` and ``Var = tau_seg^2``: its segment's population law.
* Direct debit: ``(1 - pi) [(1 - r) 1{d = 0} + r * transfer law after the due date]``; otherwise
  ``(1 - pi) * grid pmf`` (:meth:`PayerModel.law`, :mod:`cashsim.behaviour.laws`); mass beyond +365 adds to the
  never-paid mass.
* :meth:`PayerModel.book` turns the open book and the sales plan into the engine's input
  (:mod:`cashsim.behaviour.booking`).

>>> model = fit_behaviour(ledger, "2026-10-31")                                   # doctest: +SKIP
>>> model.survival("C001", 0)   # share still unpaid after the due date            # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cashsim.behaviour.aft import AFTFit
from cashsim.behaviour.booking import build_book
from cashsim.behaviour.dunning import _apply_ratio
from cashsim.behaviour.laws import DAYS, grid_pmf
from cashsim.behaviour.months import month_level, month_variance
from cashsim.behaviour.paydays import _calendar_index, calendar_rows, last_payment_days
from cashsim.errors import ModelError


@dataclass(frozen=True, eq=False)
class PayerModel:
    """Fitted payer behaviour at ``as_of`` (the rules: :mod:`cashsim.behaviour` and its modules).

    ``pmfs[p]`` is P(pay on ``grid`` day) of profile ``p`` (described by ``profiles``), ``p_never[p]`` the rest.
    """

    as_of: pd.Timestamp
    grid: np.ndarray
    pmfs: np.ndarray
    p_never: np.ndarray
    profiles: pd.DataFrame
    customers: pd.DataFrame
    segments: pd.DataFrame
    rho_month: float
    rho_customer: float
    promise_keep: pd.Series
    dispute_resolution: dict[str, np.ndarray]
    #: the fitted AFT coefficients by covariate name, sigma by segment, tau^2 by segment
    coefficients: pd.Series = field(default_factory=pd.Series)
    #: how each estimate was obtained (data sizes, floors applied, convergence)
    diagnostics: dict = field(default_factory=dict)
    post_resolution: np.ndarray = field(default_factory=lambda: np.zeros(len(DAYS)), repr=False)
    dd_reject_rate: float = 0.05
    #: estimated month effects by due month 'YYYY-MM' up to as_of (log-time units), their median and persistence
    month_effects: pd.Series = field(default_factory=lambda: pd.Series(dtype=float), repr=False)
    month_center: float = 0.0
    month_persistence: float = 0.0
    #: posterior variance of each estimated month effect (same index as ``month_effects``)
    month_effect_var: pd.Series = field(default_factory=lambda: pd.Series(dtype=float), repr=False)
    payment_runs: pd.Series = field(default_factory=lambda: pd.Series(dtype=object), repr=False)
    #: per segment, the factor ``lambda_s`` of the month effect (``m_month lambda_s``); empty: 1 for all
    month_loading: pd.Series = field(default_factory=lambda: pd.Series(dtype=float), repr=False)
    #: per segment, its own due-month law (``segment_months``, :func:`cashsim.behaviour.months.segment_month_laws`:
    #: effects, center, persistence, var, tau2); empty: the shared month effect above for every segment
    segment_months: dict = field(default_factory=dict, repr=False)
    _fit: AFTFit | None = field(default=None, repr=False)
    _columns: tuple[str, ...] = field(default=(), repr=False)
    _segment_index: dict = field(default_factory=dict, repr=False)
    _customer_index: dict = field(default_factory=dict, repr=False)
    _segment_pi: dict = field(default_factory=dict, repr=False)
    _dispute_share: pd.Series = field(default_factory=pd.Series, repr=False)
    _disputed_law: dict = field(default_factory=dict, repr=False)
    _promises: pd.DataFrame | None = field(default=None, repr=False)
    _plan_mix: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    #: hazard ratio on the grid days overdue from the dunning log (:mod:`cashsim.behaviour.dunning`); None: none
    _overdue_ratio: np.ndarray | None = field(default=None, repr=False)
    #: each customer's latest billing channel (the default of an invoice without one); empty: no channel
    _channel: pd.Series = field(default_factory=lambda: pd.Series(dtype=object), repr=False)

    # -- laws ---------------------------------------------------------------------------------------------------
    def _design(self, segment: np.ndarray, terms: np.ndarray, dispute_type: np.ndarray,
                method: np.ndarray, due_month: np.ndarray | None = None, channel: np.ndarray | None = None
                ) -> np.ndarray:
        """Covariate rows in the fitted AFT's column order (unknown segment -> book average of the intercepts)."""
        cols = self._columns
        X = np.zeros((len(segment), len(cols)))
        seg_cols = [i for i, c in enumerate(cols) if c.startswith("segment=")]
        for i, c in enumerate(cols):
            if c.startswith("segment="):
                X[:, i] = segment == c.split("=", 1)[1]
            elif c.startswith("log_terms:segment="):
                X[:, i] = np.log(np.maximum(terms, 1.0)) * (segment == c.split("=", 1)[1])
            elif c.startswith("dispute="):
                X[:, i] = dispute_type == c.split("=", 1)[1]
            elif c.startswith("method="):
                X[:, i] = method == c.split("=", 1)[1]
            elif c.startswith("channel=") and channel is not None:
                X[:, i] = channel == c.split("=", 1)[1]
            elif c == "due_in_august" and due_month is not None:
                X[:, i] = np.char.endswith(np.asarray(due_month, str), "-08")
        unknown = X[:, seg_cols].sum(axis=1) == 0
        if unknown.any():
            X[np.ix_(unknown, seg_cols)] = 1.0 / len(seg_cols)
        return X

    def _eta_sigma(self, customer: np.ndarray, segment: np.ndarray, terms: np.ndarray,
                   dispute_type: np.ndarray, method: np.ndarray, due_month: np.ndarray | None = None,
                   channel: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Location and predictive scale of log t: ``eta = x'beta + u_j + m(due_month)``,
        ``s^2 = sigma_seg^2 + v_month + Var(u_j)`` (:meth:`month_level`, :meth:`month_variance`; with no due month,
        a typical month: the median effect, robust to a stressed quarter, and ``tau_month^2``; a customer without
        history gets ``u = 0`` and ``Var = tau_seg^2``: the segment's population law)."""
        fit = self._fit
        X = self._design(segment, terms, dispute_type, method, due_month, self._channels(customer, channel))
        seg_idx = pd.Index(list(self._segment_index)).get_indexer(segment)
        sig = np.where(seg_idx >= 0, fit.sigma[np.maximum(seg_idx, 0)], np.sqrt(np.mean(fit.sigma ** 2)))
        tau2 = np.where(seg_idx >= 0, fit.tau2[np.maximum(seg_idx, 0)], np.mean(fit.tau2))
        cidx = pd.Index(list(self._customer_index)).get_indexer(customer)
        known = cidx >= 0
        u = np.where(known, fit.u[np.maximum(cidx, 0)], 0.0)
        var = np.where(known, fit.u_var[np.maximum(cidx, 0)], tau2)
        lam = self.month_scale(segment)
        level, mvar = self._month_parts(segment, due_month)
        return X @ fit.beta + u + lam * level, np.sqrt(sig ** 2 + lam ** 2 * mvar + var)

    def _month_parts(self, segment: np.ndarray, due_month: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Per row, the month effect in the location and what is still unknown of it (:meth:`month_level`,
        :meth:`month_variance`), from the row's segment's own month law when the months are by segment
        (``segment_months``; the fit then empties the shared month law: a segment it did not see gets level 0 and
        the variance of a month not estimated, the fit's ``tau2_period``)."""
        n = len(segment)
        level, mvar = self.month_level(due_month, n), self.month_variance(due_month, n)
        if not self.segment_months:
            return level, mvar
        segment = np.asarray(segment, object).astype(str)
        due = None if due_month is None else np.asarray(due_month, str)     # once, not per segment
        for seg, law in self.segment_months.items():
            on = segment == seg
            if not on.any():
                continue
            months = None if due is None else due[on]
            k = int(on.sum())
            level[on] = month_level(law["effects"], law["center"], law["persistence"], months, k)
            mvar[on] = month_variance(law["var"], law["tau2"], months, k)
        return level, mvar

    def month_scale(self, segment: np.ndarray) -> np.ndarray:
        """Per row, the segment's factor ``lambda_s`` of the month effect (``month_by_segment``,
        :func:`cashsim.behaviour.fit.fit_behaviour`): 1 without it and for a segment the fit did not see."""
        segment = np.asarray(segment, object).astype(str)
        if not len(self.month_loading):
            return np.ones(len(segment))
        return self.month_loading.reindex(segment).fillna(1.0).to_numpy(float)

    def _scale_group(self, segment: np.ndarray) -> np.ndarray:
        """Each row's scale group (segment index; -1, the pooled law, for a segment the fit did not see)."""
        return pd.Index(list(self._segment_index)).get_indexer(np.asarray(segment, object).astype(str))

    def _channels(self, customer: np.ndarray, channel: np.ndarray | None) -> np.ndarray | None:
        """Billing channel per invoice: the one given ("" or NaN: unknown), else the customer's latest."""
        if not len(self._channel):
            return None if channel is None else np.asarray(channel, object).astype(str)
        latest = self._channel.reindex(np.asarray(customer, object).astype(str)).fillna("").to_numpy(str)
        if channel is None:
            return latest
        given = pd.Series(np.asarray(channel, object)).fillna("").astype(str).str.strip().str.lower().to_numpy(str)
        return np.where(np.isin(given, ["", "nan"]), latest, given)

    def loadings(self, customer: np.ndarray, segment: np.ndarray, due_month: np.ndarray | None
                 ) -> tuple[np.ndarray, np.ndarray]:
        """Per invoice, the copula loadings the engine applies (``Book.invoices`` columns ``load_month``,
        ``load_customer``): the share of the invoice's predictive variance ``s^2 = sigma^2 + v_month + Var(u_j)``
        (:meth:`_eta_sigma`) that is shared on a path.

        ``load_month = v_month / s^2``: what is still unknown of its due month's effect, ``tau_month^2`` for a month
        to come, only the posterior variance for a month already estimated (its effect is in the location), times
        ``lambda_s^2`` when the month effect is scaled by segment (:meth:`month_scale`);
        ``load_customer = (Var(u_j) + rho_customer sigma^2) / s^2``: the uncertainty of the customer's estimated
        effect is one draw per path for all its invoices, not each invoice's own noise, and ``rho_customer`` (the
        customer x quarter co-movement left after the due-month means, :mod:`cashsim.behaviour.copula`) takes its
        share of the rest. Example: ``sigma^2 = 0.09``, ``v_month = 0.01``, ``Var(u) = 0`` and ``rho_customer =
        0.1`` give ``load_month = 0.1`` and ``load_customer = 0.09``.
        """
        fit = self._fit
        segment = np.asarray(segment, object).astype(str)
        seg_idx = pd.Index(list(self._segment_index)).get_indexer(segment)
        sig2 = np.where(seg_idx >= 0, fit.sigma[np.maximum(seg_idx, 0)], np.sqrt(np.mean(fit.sigma ** 2))) ** 2
        tau2 = np.where(seg_idx >= 0, fit.tau2[np.maximum(seg_idx, 0)], np.mean(fit.tau2))
        cidx = pd.Index(list(self._customer_index)).get_indexer(np.asarray(customer, object).astype(str))
        var_u = np.where(cidx >= 0, fit.u_var[np.maximum(cidx, 0)], tau2)
        v_month = self.month_scale(segment) ** 2 * self._month_parts(segment, due_month)[1]
        s2 = sig2 + v_month + var_u
        return v_month / s2, (var_u + self.rho_customer * sig2) / s2

    def month_variance(self, due_month: np.ndarray | None, n: int) -> np.ndarray:
        """What is still unknown of the month effect of invoices due in ``due_month``: the posterior variance of
        an estimated due month (its effect is in the location, :meth:`month_level`), ``tau_month^2`` for a month
        to come or a typical one (None). Adding ``tau_month^2`` to a month already estimated counted it twice:
        too wide a law for the invoices open at ``as_of``, whose due months are mostly past."""
        return month_variance(self.month_effect_var, self._fit.tau2_period, due_month, n)

    def month_level(self, due_month: np.ndarray | None, n: int) -> np.ndarray:
        """Month effect (log-time units) used for invoices due in ``due_month`` ('YYYY-MM'; None = a typical
        month): the estimate for a due month up to ``as_of``, else the AR(1) forecast
        ``c + phi^h (m_last - c)`` from the last one, ``c`` = the median month effect (a few stressed months must
        not shift every month's law), ``phi`` = lag-1 autocorrelation of past effects (0 when fewer than 8)."""
        return month_level(self.month_effects, self.month_center, self.month_persistence, due_month, n)

    def law(self, customer: np.ndarray, segment: np.ndarray, terms: np.ndarray, dispute_type: np.ndarray | None = None,
            method: np.ndarray | None = None, due_month: np.ndarray | None = None,
            channel: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Pmf rows on :data:`GRID` and never-paid masses for invoices described by the arrays given.

        ``channel``: billing channel per invoice (default, or "" : the customer's latest, when the model has one).
        ``due_month`` ('YYYY-MM', default a typical month) sets the month effect (:meth:`month_level`) and the
        August slowdown. Direct debit:
        ``(1 - pi) [(1 - r) 1{d = 0} + r * transfer law after the due date]``; otherwise
        ``(1 - pi) * lognormal_grid_pmf``. Mass beyond +365 adds to the never-paid mass.
        """
        customer = np.asarray(customer, object).astype(str)
        segment = np.asarray(segment, object).astype(str)
        terms = np.asarray(terms, float)
        n = len(customer)
        dispute_type = np.full(n, "", object) if dispute_type is None else np.asarray(dispute_type, object)
        dispute_type = np.where(pd.isna(dispute_type), "", dispute_type).astype(str)
        method = np.full(n, "transfer", object) if method is None else np.asarray(method, object).astype(str)
        dd = method == "direct_debit"
        eta, sig = self._eta_sigma(customer, segment, terms, dispute_type, np.where(dd, "transfer", method),
                                   due_month, channel)
        pmf = grid_pmf(eta, sig, terms, self.grid, self._fit.error_law, self._scale_group(segment))
        if dd.any():
            after = self.grid >= 1
            rej = np.where(after[None, :], pmf[dd], 0.0)
            kept = rej.sum(axis=1, keepdims=True)
            tail = 1.0 - pmf[dd].sum(axis=1, keepdims=True)
            rej = rej / np.maximum(kept + tail, 1e-300)
            spike = np.zeros((int(dd.sum()), len(self.grid)))
            spike[:, int(np.flatnonzero(self.grid == 0)[0])] = 1.0
            pmf[dd] = (1 - self.dd_reject_rate) * spike + self.dd_reject_rate * rej
        pi = self._pi(customer, segment)
        pmf = pmf * (1 - pi)[:, None]
        if self._overdue_ratio is not None:      # reminders reshape the tail (cashsim.behaviour.dunning)
            pmf = _apply_ratio(pmf, self._overdue_ratio)
        return pmf, 1.0 - pmf.sum(axis=1)

    def _pi(self, customer: np.ndarray, segment: np.ndarray) -> np.ndarray:
        """Never-paid probability of a new invoice: the customer's (shrunk) write-off rate, else its segment's."""
        by_cust = self.customers["p_never"] if "p_never" in self.customers else pd.Series(dtype=float)
        default = float(np.mean(list(self._segment_pi.values()))) if self._segment_pi else 0.013
        seg_pi = np.array([self._segment_pi.get(s, default) for s in segment])
        cust_pi = by_cust.reindex(customer).to_numpy(dtype=float)
        return np.where(np.isnan(cust_pi), seg_pi, cust_pi)

    def survival(self, customer_id: str, day: int) -> float:
        """P(an undisputed invoice of this customer, on its usual terms and method, is not paid by ``day`` relative
        to due). Includes the never-paid mass, so it tends to ``p_never`` for late days.

        >>> model.survival("C001", 0)   # share still unpaid after the due date            # doctest: +SKIP
        """
        rows = self.profiles.index[(self.profiles["kind"] == "customer")
                                   & (self.profiles["customer_id"] == str(customer_id))]
        if len(rows) == 0:
            raise ModelError(f"customer {customer_id!r} is not in the model fitted at {self.as_of.date()}; "
                             "check the customer_id or refit with its invoices")
        pmf = self.pmfs[rows[0]]
        return float(1.0 - pmf[self.grid <= day].sum())

    # -- the engine's input ---------------------------------------------------------------------------------------
    def book(self, open_book: pd.DataFrame, sales_plan: list | None = None, *, horizon_end: Any = None,
             promises: pd.DataFrame | None = None):
        """The engine's :class:`cashsim.book.Book`: open invoices (+ future invoices of the sales plan).

        ``open_book`` = ``ledger.open_book(as_of)`` (outstanding amounts; credit notes are left out);
        ``promises``: pending promises reshape their invoice's law (default: those known when the model was fit);
        ``sales_plan`` = list of :class:`cashsim.params.SalesPlanLine`, invoiced from ``as_of + 1`` to ``horizon_end``.
        ``min_day = (as_of + 1 - due_date)`` in days: an invoice already ``a`` days overdue starts at ``a + 1``.
        """
        return build_book(self, open_book, sales_plan, horizon_end=horizon_end, promises=promises)

    def last_payment_day(self, customers: np.ndarray, due_date: pd.Series) -> np.ndarray:
        """Per invoice, the last day of its customer's payment calendar on or before ``as_of``, in days relative to
        ``due_date`` (:func:`cashsim.behaviour.paydays.last_payment_days`): an open invoice's natural day is after it.

        >>> model.last_payment_day(np.array(["C1"]), pd.Series([pd.Timestamp("2026-10-29")]))  # doctest: +SKIP
        array([1])
        >>> # as_of Saturday 31 Oct 2026, C1 pays on business days: Friday 30 Oct is day +1 of an invoice due 29 Oct
        """
        return last_payment_days(self.payment_runs, self.as_of, customers, due_date)

    def snapped_laws(self, invoices: pd.DataFrame, chunk: int = 4000) -> np.ndarray:
        """Pmf rows of ``invoices`` (customer_id, segment, due_date, terms, payment_method) after moving each day to
        the customer's payment day, exactly as the engine does: the law of the *observed* days late."""
        inv = invoices.reset_index(drop=True)
        out = np.zeros((len(inv), len(self.grid)))
        G = len(self.grid)
        for start in range(0, len(inv), chunk):
            part = inv.iloc[start:start + chunk]
            pmf, _ = self.law(part["customer_id"].to_numpy(str), part["segment"].to_numpy(str),
                              part["terms"].to_numpy(float), None, part["payment_method"].to_numpy(str))
            due = part["due_date"].to_numpy("datetime64[D]")
            span = pd.date_range(pd.Timestamp(due.min()) + pd.Timedelta(days=int(self.grid[0])),
                                 pd.Timestamp(due.max()) + pd.Timedelta(days=int(self.grid[-1])), freq="D")
            sets, k = _calendar_index(self.payment_runs, part["customer_id"].to_numpy(str))
            cal = calendar_rows(sets, span)
            due_idx = (due - np.datetime64(span[0].date(), "D")).astype(int)
            target = cal[k[:, None], due_idx[:, None] + self.grid[None, :]]
            rel = target - due_idx[:, None]  # day relative to due
            col = np.clip(rel - self.grid[0], 0, G - 1)
            keep = (target < len(span)) & (rel <= self.grid[-1])
            rows = np.repeat(np.arange(len(part)), G).reshape(len(part), G)
            flat = (rows * G + col)[keep]
            out[start:start + len(part)] = np.bincount(flat, weights=pmf[keep], minlength=len(part) * G
                                                       ).reshape(len(part), G)
        return out
