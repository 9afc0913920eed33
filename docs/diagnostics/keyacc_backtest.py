# Diagnostic of docs/validation.md "Key accounts' month 3" (branch keyacc): the back-tests of the table there,
# PYTHONPATH=src python docs/diagnostics/keyacc_backtest.py demo|ibm SEED on|off  (persistence_test on / off)
"""Back-test figures, model rows: python bt.py demo|ibm SEED on|off"""
import sys, json, time
import pandas as pd
from cashsim.backtest import run_backtest
data, seed, opt = sys.argv[1], int(sys.argv[2]), sys.argv[3]
if data == "demo":
    from cashsim.demo import demo_ledger
    led = demo_ledger(7)
    beh = {"half_life_days": 365.0, "grace_days": 5, "reliable_threshold": 0.8, "prior_never_paid": 0.013,
           "segment_months": "shared"}
else:
    from cashsim.adapters import read_ibm_late_payments
    led = read_ibm_late_payments("/work/shared/data/ibm-late-payment/WA_Fn-UseC_-Accounts-Receivable.csv")
    beh = {}
beh = {**beh, "persistence_test": opt == "on"}
t0 = time.process_time()
r = run_backtest(led, n_paths=300, seed=seed, behaviour=beh)
m = r.metrics[r.metrics.method == "model"].set_index("horizon")
out = {"data": data, "seed": seed, "opt": opt, "cpu": round(time.process_time() - t0, 1)}
for h in ("1", "2", "3"):
    out["m" + h] = [round(m.loc[h, "cover80"], 3), round(m.loc[h, "bias"], 4), round(m.loc[h, "crps"]), round(m.loc[h, "crps_skill"], 4)]
g = r.goals
out["goals"] = g[["goal", "horizon", "value", "met"]].astype(str).values.tolist()
print(json.dumps(out))
