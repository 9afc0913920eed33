# Diagnostic of docs/validation.md "Key accounts' month 3" (branch keyacc): simulated run payers (log-normal natural
# times snapped to the demo's runs), interval-censored AFT fit: PYTHONPATH=src python docs/diagnostics/keyacc_runs.py SEED runs|none
import sys
import numpy as np, pandas as pd
from cashsim.demo.payments import next_payment_run
from cashsim.behaviour.paydays import _snap_windows
from cashsim.behaviour.aft import fit_aft
rng = np.random.default_rng(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
nc, n = 40, 8000
runs_choice = [(10, 25), (5, 20), (15, 31), (10, 31), (31, 0), (10, 0), (15, 0), (20, 0), (25, 0)]
runs = [runs_choice[i] for i in rng.integers(0, len(runs_choice), nc)]
mu_c = 0.05 + 0.11 * rng.standard_normal(nc)
cust = rng.integers(0, nc, n)
start = np.datetime64("2023-01-01").astype(np.int64)
issue = start + rng.integers(0, 900, n)
D = rng.choice([45, 60, 75], n)
due = issue + D
sig = 0.16
T = np.exp(np.log(D) + mu_c[cust] + sig * rng.standard_normal(n))
natural = issue + np.maximum(1, np.rint(T)).astype(np.int64)
r1 = np.array([r[0] for r in runs])[cust]; r2 = np.array([r[1] for r in runs])[cust]
mode = sys.argv[2] if len(sys.argv) > 2 else "runs"
pay = next_payment_run(natural, r1, r2) if mode == "runs" else next_payment_run(natural, 0 * r1, 0 * r2)
as_of = pd.Timestamp("2025-09-30")
paid = pay <= as_of.to_datetime64().astype("datetime64[D]").astype(np.int64)
keep = issue <= as_of.to_datetime64().astype("datetime64[D]").astype(np.int64)
cid = np.array([f"c{i}" for i in range(nc)])
h = pd.DataFrame({"customer_id": cid[cust], "issue_date": pd.to_datetime(issue.astype("datetime64[D]")),
                  "paid_date": pd.to_datetime(np.where(paid, pay, 0).astype("datetime64[D]")), "paid": paid})[keep]
rs = pd.Series({cid[i]: tuple(x for x in runs[i] if x > 0) for i in range(nc)}) if mode == "runs" else pd.Series(dtype=object)
h = _snap_windows(h.reset_index(drop=True), rs, as_of)
Dk = D[keep]
X = np.column_stack([np.ones(len(h)), np.log(Dk)])
f = fit_aft(h["log_t"].to_numpy(), h["paid"].to_numpy(), X, log_t_lower=h["log_lo"].to_numpy(),
            cluster=cust[keep], cluster_group=np.zeros(nc, int))
eta_truth = mu_c + np.log(60) + 0.014
eta_fit = f.beta[0] + f.beta[1] * np.log(60) + f.u
print(mode, "beta", f.beta.round(3), "sigma %.4f (truth %.2f)" % (f.sigma[0], sig), "offset mean %+.4f" % (eta_fit - eta_truth).mean(),
      "interval rows %.2f" % np.mean(np.isfinite(h["log_lo"])))
