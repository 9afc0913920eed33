# Diagnostic of docs/validation.md "Key accounts' month 3" (branch keyacc), not part of the package. Run from a worktree:
# PYTHONPATH=src python docs/diagnostics/keyacc_hybrid.py VARIANT[+VARIANT...] SEED  (VARIANT: none, loc, slope, shift, sig,
# mvar, runs, ownloc, redun, rc0, nophi, pi, rtau; output: model rows and the key accounts' month-3 class figures)
"""Hybrid forecasts: the model's fits with parts of the demo truth substituted for the key accounts."""
import sys, json, time
from dataclasses import replace
import numpy as np, pandas as pd
import cashsim.backtest as bt
from cashsim.backtest.ceiling import class_table
from cashsim.demo import demo_company
from cashsim.behaviour import fit_behaviour
from cashsim.demo.laws import RHO_MONTH, RHO_CUSTOMER

variant = set(sys.argv[1].split("+")) - {"none"}
seed = int(sys.argv[2]) if len(sys.argv) > 2 else 42
maxo = int(sys.argv[3]) if len(sys.argv) > 3 else None
co = demo_company(7)
tc = co.truth.customers
ka = tc[tc.segment == "key_accounts"]
KA_SIG = 0.20 * np.sqrt(1 - RHO_MONTH - RHO_CUSTOMER)
KA_TAU2M = 0.20 ** 2 * RHO_MONTH

def hybrid_fit(ledger, origin, **kw):
    m = fit_behaviour(ledger, origin, **kw)
    fit = m._fit
    cols = list(m._columns)
    segs = list(m._segment_index)
    k = segs.index("key_accounts")
    beta, sigma, u, u_var = fit.beta.copy(), fit.sigma.copy(), fit.u.copy(), fit.u_var.copy()
    if "loc" in variant:
        beta[cols.index("segment=key_accounts")] = 0.0
        beta[cols.index("log_terms:segment=key_accounts")] = 1.0
        for c, row in ka.iterrows():
            j = m._customer_index.get(c)
            if j is not None:
                u[j] = row["mu"] + 0.014 - m.month_center
                u_var[j] = 0.0
    if "slope" in variant:   # slope 1, the model's own intercepts refitted as the mean shift (keeps location at terms 60)
        i0, i1 = cols.index("segment=key_accounts"), cols.index("log_terms:segment=key_accounts")
        beta[i0] += (beta[i1] - 1.0) * np.log(60.0)
        beta[i1] = 1.0
    if "shift" in variant:   # a pure mean shift of the key accounts' location: truth's mean at terms 60
        i0, i1 = cols.index("segment=key_accounts"), cols.index("log_terms:segment=key_accounts")
        js = [m._customer_index[c] for c in ka.index if c in m._customer_index]
        mus = ka.loc[[c for c in ka.index if c in m._customer_index], "mu"].to_numpy()
        model60 = beta[i0] + beta[i1] * np.log(60.0) + u[js] + m.month_center
        truth60 = mus + np.log(60.0) + 0.014
        beta[i0] += float(np.mean(truth60 - model60))
        print("shift", origin.date() if hasattr(origin, "date") else origin, round(float(np.mean(truth60 - model60)), 4),
              "sd", round(float(np.std(truth60 - model60)), 4), file=sys.stderr)
    if "sig" in variant:
        sigma[k] = KA_SIG
    if "ownloc" in variant:   # location (beta, customers, scales) from the own-months fit, shared months kept
        o = fit_behaviour(ledger, origin, segment_months="own", **kw)._fit
        beta, sigma, u, u_var = o.beta.copy(), o.sigma.copy(), o.u.copy(), o.u_var.copy()
    m = replace(m, _fit=replace(fit, beta=beta, sigma=sigma, u=u, u_var=u_var))
    if "mvar" in variant:
        law = {"effects": m.month_effects, "center": m.month_center, "persistence": m.month_persistence,
               "var": m.month_effect_var, "tau2": KA_TAU2M}
        m = replace(m, segment_months={"key_accounts": law})
    if "runs" in variant:
        runs = m.payment_runs.copy()
        for c, row in ka.iterrows():
            d = tuple(int(x) for x in (row["run_day_1"], row["run_day_2"]) if x > 0)
            runs.loc[c] = d
        m = replace(m, payment_runs=runs)
    if "nophi" in variant:
        m = replace(m, month_persistence=0.0)
        if m.segment_months:
            m = replace(m, segment_months={k_: {**v_, "persistence": 0.0} for k_, v_ in m.segment_months.items()})
    if "pi" in variant:
        cu = m.customers.copy()
        on = cu.index.isin(ka.index)
        print("pi ka model mean", round(float(cu.loc[on, "p_never"].mean()), 4), "truth", round(float(ka["p_never"].mean()), 4), file=sys.stderr)
        cu.loc[on, "p_never"] = ka["p_never"].reindex(cu.index[on]).to_numpy()
        m = replace(m, customers=cu)
    if "rtau" in variant:   # months to come: a robust month variance (MAD of the past effects) for tau_month^2
        e = m.month_effects.to_numpy()
        rob = (1.4826 * np.median(np.abs(e - np.median(e)))) ** 2
        print("tau2", origin, round(m._fit.tau2_period, 5), "robust", round(rob, 5), file=sys.stderr)
        m = replace(m, _fit=replace(m._fit, tau2_period=float(rob)))
    if "rc0" in variant:
        m = replace(m, rho_customer=0.0)
    print("rho", origin, round(m.rho_month, 4), round(m.rho_customer, 4), file=sys.stderr)
    if "redun" in variant:   # the dunning ratios re-estimated against the substituted law
        from cashsim.behaviour.dunning import _overdue_hazard
        from cashsim.behaviour.history import _history, _ts
        as_of = _ts(origin)
        ratio, _ = _overdue_hazard(replace(m, _overdue_ratio=None), _history(ledger, as_of),
                                   ledger.known_at(as_of).dunning, as_of)
        m = replace(m, _overdue_ratio=ratio)
    return m

class Zero:
    def forecast(self, origin, ids, months, n_paths, seed=0):
        class F:
            def monthly(self_, codes, n):
                return np.zeros((n_paths, n, len(months)))
        return F()
    def settings(self):
        return {}

bt.fit_behaviour = hybrid_fit
t0 = time.process_time()
r = bt.run_backtest(co.ledger, n_paths=300, seed=seed, max_origins=maxo, oracle=Zero())
met = r.metrics[r.metrics.method == "model"].set_index("horizon")
ct = class_table(r.classes, 3)
row = ct.loc["key_accounts, not yet due"]
out = {"variant": sys.argv[1], "seed": seed, "cpu": round(time.process_time() - t0, 1)}
for h in ("1", "2", "3"):
    out[f"m{h}"] = {"cover80": round(met.loc[h, "cover80"], 3), "crps": round(met.loc[h, "crps"]),
                    "skill": round(met.loc[h, "crps_skill"], 4), "bias": round(met.loc[h, "bias"], 4)}
out["pooled_wape_ratio"] = round(float(met.loc["pooled", "wape_ratio"]), 4) if "pooled" in met.index and "wape_ratio" in met.columns else None
out["ka_nyd_m3"] = {"actual": round(row["actual"]), "bias": round(row["model_bias"]), "crps": round(row["model_crps"])}
out["ka_od_m3"] = {k2: round(ct.loc["key_accounts, overdue", k1]) for k1, k2 in (("model_bias", "bias"), ("model_crps", "crps"))}
print(json.dumps(out))
