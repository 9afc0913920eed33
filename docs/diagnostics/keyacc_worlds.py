# Diagnostic of docs/validation.md "Key accounts' month 3" (branch keyacc): demo worlds with parts of the truth switched off
# (WORLD: base, or nostress / noM / noaug / nodun / noruns / trueruns joined by +), fitted at the origins given:
# PYTHONPATH=src python docs/diagnostics/keyacc_worlds.py WORLD 2025-12-31 2026-06-30
import sys
import numpy as np, pandas as pd
import cashsim.demo.world as W, cashsim.demo.invoices as I, cashsim.demo.payments as P
from cashsim.behaviour import fit_behaviour
from cashsim.ledger import read_ledger
what = sys.argv[1]
if "nostress" in what:
    I.STRESS_EFFECT = 0.0
if "noM" in what:
    orig = W.month_effects
    W.month_effects = lambda rng: orig(rng).assign(M=0.0)
if "noaug" in what:
    I.AUGUST_EFFECT = 0.0
if "nodun" in what:
    P.DUNNING_PLAN = P.DUNNING_PLAN.assign(response_prob=0.0)
    oc = W._customers
    W._customers = lambda rng: oc(rng).assign(promise_rate=0.0)
if "noruns" in what:
    oc2 = W._customers
    W._customers = lambda rng: oc2(rng).assign(run_day_1=0, run_day_2=0)
world = W._build_world(7)
if "trueruns" in what:
    import cashsim.behaviour.fit as F
    od = F.detect_payment_runs
    def tr(pay, **kw):
        r = od(pay, **kw)
        c = world.customers
        for _, row in c[c.run_day_1 > 0].iterrows():
            r.loc[row.customer_id] = tuple(int(x) for x in (row.run_day_1, row.run_day_2) if x > 0)
        return r
    F.detect_payment_runs = tr
led = read_ledger(**W._cut(world))
cust = world.customers.set_index("customer_id")
ka = cust[cust.segment == "key_accounts"]
for origin in sys.argv[2:]:
    m = fit_behaviour(led, origin, seed=42)
    n = len(ka)
    eta, s = m._eta_sigma(ka.index.to_numpy(), np.full(n, "key_accounts"), np.full(n, 60.0), np.full(n, ""),
                          np.full(n, "transfer"), None)
    d = eta - (ka["mu"].to_numpy() + np.log(60) + 0.014)
    cols = list(m._columns); k = list(m._segment_index).index("key_accounts")
    print(what, origin, "offset w %+.4f unw %+.4f | slope %.3f sigma %.3f tau2 %.4f tau2m %.4f c %+.4f" % (
        np.average(d, weights=ka["monthly_sales"]), d.mean(), m._fit.beta[cols.index("log_terms:segment=key_accounts")],
        m._fit.sigma[k], m._fit.tau2[k], m._fit.tau2_period, m.month_center))
