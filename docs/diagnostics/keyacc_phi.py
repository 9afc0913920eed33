# Diagnostic of docs/validation.md "Key accounts' month 3" (branch keyacc): the untested month persistence per origin,
# PYTHONPATH=src python docs/diagnostics/keyacc_phi.py
import numpy as np, pandas as pd
from cashsim.demo import demo_ledger
from cashsim.backtest import month_end_origins
from cashsim.behaviour import fit_behaviour
from cashsim.behaviour.months import _month_dynamics
led = demo_ledger(7)
for o in month_end_origins(led):
    m = fit_behaviour(led, o, seed=42)
    e = m.month_effects
    raw = _month_dynamics(e.to_numpy(), e.index.to_numpy(), o, alpha=None)[2]
    print(o.date(), len(e), "raw phi %.3f  threshold %.3f  kept %.3f" % (raw, 1.645 / np.sqrt(len(e)), m.month_persistence))
