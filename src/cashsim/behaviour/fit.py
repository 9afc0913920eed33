"""``fit_behaviour(ledger, as_of)``: the :class:`~cashsim.behaviour.model.PayerModel` learned from what the ledger
knew at the end of ``as_of`` (no look-ahead).

The steps, each the rule of its module: the history and its recency weights (:mod:`~cashsim.behaviour.history`);
never-paid, direct-debit and promise-keep rates (:mod:`~cashsim.behaviour.rates`); payment runs and the AFT
response with the calendar undone (:mod:`~cashsim.behaviour.paydays`); the AFT on the undisputed invoices not
written off nor on direct debit, paid or open, its family chosen on at most :data:`FAMILY_SELECTION_ROWS` rows
(:mod:`~cashsim.behaviour.aft`); the month dynamics (:mod:`~cashsim.behaviour.months`); disputes
(:mod:`~cashsim.behaviour.disputes`); copula strengths (:mod:`~cashsim.behaviour.copula`); profiles and summary
tables (:mod:`~cashsim.behaviour.summaries`).

>>> model = fit_behaviour(ledger, "2026-10-31")                         # doctest: +SKIP
>>> model.segments[["median_days_late", "share_late"]]                    # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
from scipy import stats

from cashsim.behaviour.aft import EMPIRICAL, FAMILIES, AFTFit, fit_aft
from cashsim.behaviour.booking import _plan_mix
from cashsim.behaviour.copula import _copula_strengths
from cashsim.behaviour.disputes import _disputed_laws, _disputes
from cashsim.behaviour.dunning import _overdue_hazard
from cashsim.behaviour.history import _design_columns, _history, _mode_by, _ts, recency_weights
from cashsim.behaviour.laws import GRID
from cashsim.behaviour.model import PayerModel
from cashsim.behaviour.months import PERSISTENCE_ALPHA, TYPICAL_MONTHS, _month_law, segment_month_laws
from cashsim.behaviour.paydays import _payments_with_customer, _snap_windows, detect_payment_runs
from cashsim.behaviour.rates import _direct_debit_reject_rate, _known_promises, _never_paid, _promise_keep
from cashsim.behaviour.residuals import residual_law
from cashsim.behaviour.summaries import _customer_table, _population_summaries, _summaries, _summary_sample
from cashsim.errors import ModelError
from cashsim.seeding import SeedLike, rng

#: Above this many invoices, the AFT family is chosen on a subsample of customers, then fitted on all.
FAMILY_SELECTION_ROWS = 200_000
#: ``segment_months``: a segment with fewer AFT invoices than this in its median due month has no month effects of
#: its own; such segments share one pooled series (or, when no segment is this large, the shared effect stays).
MIN_SEGMENT_MONTH_INVOICES = 30
#: The ways of ``fit_behaviour(..., segment_months=...)``.
SEGMENT_MONTHS = ("shared", "own", "nested")


def _latest_channel(hist: pd.DataFrame) -> pd.Series:
    """Each customer's billing channel on its latest invoice with one (empty when the history has none)."""
    known = hist[hist["billing_channel"] != ""]
    if known.empty:
        return pd.Series(dtype=object)
    return known.sort_values("issue_date").groupby("customer_id")["billing_channel"].last()


def _with_residual_law(fit: AFTFit, h: pd.DataFrame, X: np.ndarray, cidx: np.ndarray, period: np.ndarray,
                       scale: np.ndarray, weights: np.ndarray, cure: np.ndarray) -> AFTFit:
    """The log-normal fit with W's law estimated from its standardised residuals, per segment
    (:mod:`cashsim.behaviour.residuals`): ``family == "empirical"``."""
    lam = fit.m_loading[scale] if len(fit.m_loading) else 1.0
    eta = X @ fit.beta + fit.u[cidx] + (lam * fit.m[period] if len(fit.m) else 0.0)
    sig = fit.sigma[scale]
    law = residual_law((h["log_t"].to_numpy(float) - eta) / sig, h["paid"].to_numpy(bool),
                       z_lower=(h["log_lo"].to_numpy(float) - eta) / sig, weights=weights, cure=cure, group=scale)
    return replace(fit, family=EMPIRICAL, residual=law)


def _laplace_loglik(fit: AFTFit) -> float:
    """The fit's Laplace log-likelihood with the period effects' curvature term ``+ sum log(m_var) / 2`` (the
    posterior width of each month), so that fits with the same months and different loadings compare."""
    return fit.loglik + 0.5 * float(np.sum(np.log(fit.m_var))) if len(fit.m_var) else fit.loglik


def _segment_loadings(fit: AFTFit, refit, scale: np.ndarray, segments: list) -> tuple[AFTFit, dict]:
    """The due-month effect scaled by segment, ``lambda_s m_month`` (:func:`cashsim.behaviour.aft.fit_aft`,
    ``period_group``), if the data support it: refitted from ``fit`` (shared effect), kept when the likelihood ratio
    ``2 (l_1 - l_0)`` (Laplace, same months, the loadings' prior counted against them) exceeds the 95% point of a
    chi-square with ``S - 1`` degrees of freedom; else ``fit`` unchanged (every ``lambda = 1``)."""
    if len(fit.m) == 0 or len(segments) < 2:
        return fit, {}
    scaled = refit(period_group=scale, start=fit)
    lr = 2.0 * (_laplace_loglik(scaled) - _laplace_loglik(fit))
    threshold = float(stats.chi2.ppf(0.95, len(segments) - 1))
    info = {"month_loading_lr": float(lr), "month_loading_threshold": threshold,
            "month_loading_fitted": dict(zip(segments, scaled.m_loading.round(4).tolist(), strict=True)),
            "month_loading_kept": bool(lr > threshold)}
    return (scaled if lr > threshold else fit), info


def _segment_periods(scale: np.ndarray, due_month: np.ndarray, segments: list,
                     min_invoices: int = MIN_SEGMENT_MONTH_INVOICES
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list, dict] | None:
    """The periods of due-month effects per segment (``segment_months``): each AFT row's period is its segment
    group x due month. A segment whose median due month holds at least ``min_invoices`` AFT rows
    is its own group; the others share one pooled group ("pooled"). Returns (row period, each period's due-month
    index, each period's group, the group names, segment -> group), or None when fewer than two groups result
    (the shared effect is kept)."""
    counts = pd.crosstab(scale, due_month)
    median = counts.where(counts > 0).median(axis=1).reindex(range(len(segments))).fillna(0.0).to_numpy()
    own = median >= min_invoices
    groups = [segments[i] for i in np.flatnonzero(own)] + (["pooled"] if (~own).any() else [])
    if len(groups) < 2:   # (no segment of its own: groups is at most ["pooled"])
        return None
    seg_group = {s: (s if own[i] else "pooled") for i, s in enumerate(segments)}
    row_group = pd.Index(groups).get_indexer([seg_group[s] for s in segments])[scale]
    n_months = int(due_month.max()) + 1
    combos, period = np.unique(row_group * n_months + due_month, return_inverse=True)
    return period, combos % n_months, combos // n_months, groups, seg_group


def fit_behaviour(ledger, as_of, *, half_life_days: float = 365.0, grace_days: int = 5,
                  reliable_threshold: float = 0.8, prior_never_paid: float = 0.013, family: str = "auto",
                  month_by_segment: bool = False, segment_months: str = "shared", persistence_test: bool = True,
                  seed: SeedLike = 0) -> PayerModel:
    """Fit payer behaviour on what ``ledger`` knew at the end of ``as_of`` (rules: :mod:`cashsim.behaviour`).

    ``family``: error law of the AFT, ``lognormal``, ``weibull`` or ``auto`` (both fitted, the one with the larger
    Laplace marginal likelihood on the history kept; ``diagnostics["family_loglik"]`` shows both), or ``empirical``
    (the log-normal's location and scales with W's law estimated from the residuals, per segment:
    :mod:`cashsim.behaviour.residuals`).

    ``month_by_segment``: the due-month effect scaled by segment, ``lambda_s m_month``
    (:func:`_segment_loadings`), kept only where the data support it; off (every ``lambda = 1``) by default.

    ``segment_months``: ``"shared"`` (default: one due-month effect for all segments), ``"own"`` (due-month
    effects per segment instead: :func:`_segment_periods`, the AFT's period is segment x due month, each segment's
    months with their own variance ``tau2_month[segment]``; segments thinner than
    :data:`MIN_SEGMENT_MONTH_INVOICES` invoices a month share a pooled series) or ``"nested"`` (the shared effect
    plus a deviation per segment and month, ``N(0, tau2_dev[segment])``, fitted given the shared effects: a thin
    segment's deviations shrink to 0, i.e. to the shared effect). Either way the months to come are forecast from
    each segment's own series (:func:`cashsim.behaviour.months.segment_month_laws`). Not combined with
    ``month_by_segment``.

    ``persistence_test``: the months' AR(1) persistence (months to come) kept only when a one-sided test at level
    :data:`~cashsim.behaviour.months.PERSISTENCE_ALPHA` says the months are not independent
    (:func:`cashsim.behaviour.months._month_dynamics`); on by default (params ``behaviour.persistence_test``);
    ``False`` always keeps the estimated persistence (the rule before issue 15's keyacc branch).

    ``seed`` (:data:`cashsim.seeding.SeedLike`) only drives the randomised PIT of censored invoices used to estimate
    the copula strengths; :func:`cashsim.pipeline.prepare` passes the params' ``simulation.seed``.

    >>> model = fit_behaviour(ledger, "2026-10-31")                 # doctest: +SKIP
    >>> model.customers.loc["C001", ["reliability", "reliable", "reasons"]]  # doctest: +SKIP
    """
    if segment_months not in SEGMENT_MONTHS:
        raise ModelError(f"segment_months must be one of {SEGMENT_MONTHS}, got {segment_months!r}")
    if month_by_segment and segment_months != "shared":
        raise ModelError("month_by_segment and segment_months are two ways of one thing: choose one")
    as_of = _ts(as_of)
    alpha = PERSISTENCE_ALPHA if persistence_test else None
    known = ledger.known_at(as_of)  # what was known at the end of as_of: no look-ahead below
    hist = _history(ledger, as_of)
    weights = recency_weights(hist["age"].to_numpy(float), half_life_days)
    seg_pi, cust_pi = _never_paid(hist, prior_never_paid)
    dd_rate, n_dd = _direct_debit_reject_rate(hist, as_of)

    # the AFT sees undisputed transfer / cheque / card invoices, paid or open (written-off ones are never-paid
    # mass; disputed ones follow resolution + delay, whose size relative to the normal time differs by segment)
    use = (hist["payment_method"] != "direct_debit") & ~hist["written_off"] & ~hist["dispute_dated"]
    if use.sum() == 0 or not hist.loc[use, "paid"].any():
        raise ModelError(f"no paid invoice (other than by direct debit) issued by {as_of.date()}: "
                         "the payment-time law cannot be fitted; choose a later as_of")
    runs = detect_payment_runs(_payments_with_customer(known))
    h = _snap_windows(hist[use].reset_index(drop=True), runs, as_of)
    cols, X = _design_columns(h)
    segments = sorted(h["segment"].unique())
    seg_index = {s: i for i, s in enumerate(segments)}
    # integer codes once (string maps over a million rows are the slow part of a large fit)
    customers_all, hist_cidx = np.unique(hist["customer_id"].to_numpy(str), return_inverse=True)
    cust_index = {c: i for i, c in enumerate(customers_all)}
    cust_seg = _mode_by(hist, "customer_id", "segment")
    cidx = hist_cidx[use.to_numpy()]
    cgroup = pd.Index(segments).get_indexer(cust_seg.reindex(customers_all).to_numpy(str))
    cgroup = np.maximum(cgroup, 0)
    seg_pi_rows = pd.Series(seg_pi).reindex(h["segment"]).to_numpy(float)
    cure = cust_pi.reindex(customers_all).to_numpy(float)[cidx]
    cure = np.where(np.isnan(cure), seg_pi_rows, cure)
    months_np, due_month = np.unique(h["due_date"].to_numpy("datetime64[M]"), return_inverse=True)
    month_names = months_np.astype(str)
    # the semi-parametric option: the log-normal's location and scales, then W's law from the residuals
    families = FAMILIES if family == "auto" else ("lognormal",) if family == EMPIRICAL else (family,)
    if not set(families) <= set(FAMILIES):
        raise ModelError(f"family must be 'auto', {EMPIRICAL!r} or one of {FAMILIES}, got {family!r}")
    scale = pd.Index(segments).get_indexer(h["segment"].to_numpy(str))
    w_use = weights[use.to_numpy()]

    everything = np.arange(len(h))

    def fit_rows(rows: np.ndarray, fam: str, period: np.ndarray = due_month, **extra) -> AFTFit:
        """The AFT on the history's ``rows`` (``extra``: fit_aft's options, given for every row)."""
        return fit_aft(h["log_t"].to_numpy()[rows], h["paid"].to_numpy()[rows], X[rows], scale=scale[rows],
                       log_t_lower=h["log_lo"].to_numpy()[rows],
                       cluster=cidx[rows], cluster_group=cgroup, period=period[rows], weights=w_use[rows],
                       cure=cure[rows], family=fam, **extra)

    # choose the family on every k-th customer's invoices when the book is large (same rule, bounded cost)
    k = max(1, int(np.ceil(len(h) / FAMILY_SELECTION_ROWS)))
    subset = everything if k == 1 else np.flatnonzero(cidx % k == 0)
    fits = {f: fit_rows(subset, f) for f in families}
    chosen = max(fits, key=lambda f: fits[f].loglik)  # same parameter count: the larger marginal likelihood
    fit = fits[chosen] if k == 1 else fit_rows(everything, chosen)
    loading_info: dict = {}
    if month_by_segment:
        fit, loading_info = _segment_loadings(fit, lambda **kw: fit_rows(everything, chosen, **kw), scale, segments)
    period, seg_laws = due_month, {}
    seg_periods = None
    if segment_months != "shared" and len(fit.m):
        seg_periods = _segment_periods(scale, due_month, segments,
                                       MIN_SEGMENT_MONTH_INVOICES if segment_months == "own" else 0)
    if seg_periods is not None:
        period, per_month, per_group, groups, seg_group = seg_periods
        nested = segment_months == "nested"
        start = replace(fit, m=np.zeros(len(per_month)) if nested else fit.m[per_month],
                        tau2_period_group=np.full(len(groups), fit.tau2_period * (0.25 if nested else 1.0)))
        shared = fit
        fit = fit_rows(everything, chosen, period, period_var_group=per_group, start=start,
                       offset=shared.m[due_month] if nested else None)
        loading_info = {"segment_month_groups": seg_group,
                        "tau2_month_by_group": dict(zip(groups, fit.tau2_period_group.round(6).tolist(), strict=True))}
        if nested:   # each segment's month = shared + its deviation (posterior variances added, as independent)
            fit = replace(fit, m=shared.m[per_month] + fit.m, m_var=shared.m_var[per_month] + fit.m_var,
                          tau2_period_group=shared.tau2_period + fit.tau2_period_group)
        seg_laws = segment_month_laws(fit.m, fit.m_var, fit.tau2_period_group, month_names[per_month], per_group,
                                      groups, seg_group, as_of, alpha)
    if family == EMPIRICAL:
        fit = _with_residual_law(fit, h, X, cidx, period, scale, w_use, cure)
    if seg_laws:
        month_effects, month_center, month_phi = pd.Series(dtype=float), 0.0, 0.0
        month_var = pd.Series(dtype=float)
    else:
        month_effects, month_center, month_phi, month_var = _month_law(fit.m, fit.m_var, month_names, as_of, alpha)
    resolution, post, dispute_info = _disputes(hist, as_of, weights)
    promises = _known_promises(known)
    promise_keep, promise_info = _promise_keep(promises, known.payments, hist, as_of)

    # per-customer summary inputs
    recent = hist[hist["age"] <= 365]
    usual_method = _mode_by(hist, "customer_id", "payment_method")
    usual_terms = hist.groupby("customer_id")["terms"].median()
    seg_terms = _mode_by(hist, "segment", "terms")
    share = recent.groupby("segment")["disputed"].mean()
    disputed_law = _disputed_laws(hist, as_of, weights)
    plan_mix = _plan_mix(hist, usual_method)

    model = PayerModel(
        as_of=as_of, grid=GRID.copy(), pmfs=np.zeros((0, len(GRID))), p_never=np.zeros(0),
        profiles=pd.DataFrame(), customers=pd.DataFrame({"p_never": cust_pi}), segments=pd.DataFrame(),
        rho_month=0.0, rho_customer=0.0, promise_keep=promise_keep, dispute_resolution=resolution,
        post_resolution=post, dd_reject_rate=dd_rate, payment_runs=runs, _fit=fit, _columns=tuple(cols),
        _segment_index=seg_index, _customer_index=cust_index, _segment_pi=seg_pi, _dispute_share=share,
        _plan_mix=plan_mix, _disputed_law=disputed_law, _promises=promises,
        month_effects=month_effects, month_center=month_center, month_persistence=month_phi,
        month_effect_var=month_var, _channel=_latest_channel(hist),
        month_loading=pd.Series(fit.m_loading, index=segments) if len(fit.m_loading) else pd.Series(dtype=float),
        segment_months=seg_laws,
    )
    # reminders (dunning log) reshape the tail of every law from here on
    overdue_ratio, dunning_info = _overdue_hazard(model, hist, known.dunning, as_of)
    model = replace(model, _overdue_ratio=overdue_ratio)
    # copula strengths from the PIT under the fitted marginals
    eta, sig = model._eta_sigma(h["customer_id"].to_numpy(str), h["segment"].to_numpy(str),
                                h["terms"].to_numpy(float), h["dispute_type"].to_numpy(str),
                                h["payment_method"].to_numpy(str),
                                TYPICAL_MONTHS[h["due_date"].dt.month.to_numpy() - 1],
                                h["billing_channel"].to_numpy(str))
    rho_m, rho_c, rho_info = _copula_strengths(h, eta, sig, rng(seed), fit.error_law, scale)

    # profiles: one row per customer (undisputed, usual method and terms), one per segment (population law)
    cust_df = pd.DataFrame({"customer_id": customers_all, "segment": cust_seg.reindex(customers_all).to_numpy(),
                            "payment_method": usual_method.reindex(customers_all).to_numpy(),
                            "terms": usual_terms.reindex(customers_all).to_numpy()})
    cust_pmf, _ = model.law(cust_df["customer_id"].to_numpy(), cust_df["segment"].to_numpy(),
                                     cust_df["terms"].to_numpy(), None, cust_df["payment_method"].to_numpy())
    seg_law, cust_law = _population_summaries(model, _summary_sample(hist))
    seg_pmf = seg_law.reindex(segments).fillna(0.0).to_numpy()
    seg_rows = pd.DataFrame({"kind": "segment", "customer_id": "", "segment": segments, "disputed": False,
                             "dispute_type": "", "payment_method": "transfer", "terms": seg_terms[segments].to_numpy()})
    cust_rows = cust_df.assign(kind="customer", disputed=False, dispute_type="")
    profiles = pd.concat([cust_rows, seg_rows], ignore_index=True)[
        ["kind", "customer_id", "segment", "disputed", "dispute_type", "payment_method", "terms"]]
    pmfs = np.vstack([cust_pmf, seg_pmf])
    observed_law = cust_law.reindex(customers_all).to_numpy()
    observed_law = np.where(np.isnan(observed_law[:, :1]), cust_pmf, observed_law)  # no such invoice: own profile
    customers = _customer_table(hist, cust_df, observed_law, fit, cust_index, seg_index, cust_pi, seg_pi,
                                grace_days, reliable_threshold, as_of)
    med, late = _summaries(seg_pmf, GRID)
    seg_table = pd.DataFrame({"median_days_late": med, "share_late": late,
                              "terms": seg_terms[segments].to_numpy(), "sigma": fit.sigma,
                              "tau2": fit.tau2[: len(segments)], "p_never": [seg_pi[s] for s in segments],
                              "n_invoices": hist.groupby("segment").size().reindex(segments).to_numpy(),
                              "n_customers": cust_seg.value_counts().reindex(segments).fillna(0).astype(int)
                              .to_numpy(),
                              "dispute_rate": share.reindex(segments).fillna(0.0).to_numpy(),
                              "promise_keep": pd.Series(promise_info.get("promise_keep_by_segment", {}))
                              .reindex(segments).fillna(promise_info["book_keep_rate"]).to_numpy()},
                             index=pd.Index(segments, name="segment"))
    coefficients = pd.concat([pd.Series(fit.beta, index=cols),
                              pd.Series(fit.sigma, index=[f"sigma[{s}]" for s in segments]),
                              pd.Series(fit.tau2, index=[f"tau2[{s}]" for s in segments]),
                              pd.Series({"tau2_month": fit.tau2_period, "month_center": month_center,
                                         "month_persistence": month_phi})])
    diagnostics = {
        "n_invoices": int(len(hist)), "n_open": int((~hist["paid"] & ~hist["written_off"]).sum()),
        "n_aft_rows": int(len(h)), "n_censored": int((~h["paid"]).sum()), "aft_converged": fit.converged,
        "aft_iterations": fit.n_iter, "aft_loglik": fit.loglik, "family": fit.family,
        "family_loglik": {f: v.loglik for f, v in fits.items()}, "family_selection_rows": int(len(subset)),
        "direct_debits": n_dd,
        "dd_reject_rate": dd_rate, "payment_run_customers": int(len(runs)), **dispute_info, **promise_info,
        **rho_info, **dunning_info, **loading_info,
    }
    return replace(model, pmfs=pmfs, p_never=1.0 - pmfs.sum(axis=1), profiles=profiles, customers=customers,
                   segments=seg_table, rho_month=rho_m, rho_customer=rho_c, coefficients=coefficients,
                   diagnostics=diagnostics)
