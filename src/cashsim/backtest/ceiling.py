"""The ceiling of the backtest on the demo company: a truth-knowing forecaster (*oracle*) scored like the model.

:class:`cashsim.demo.oracle.DemoOracle` draws the payments of the invoices open at each origin from the demo's true
law, conditioned on what the ledger knew then (its module docstring says how, and the one approximation). Given to
:func:`cashsim.backtest.run_backtest` as ``oracle=``, its monthly totals are scored on the same origins, actuals and
randomised-PIT uniforms as the model (method ``"oracle"`` in the rows and metrics: CRPS, skill against the best
baseline, cover50 / cover80, Winkler80), never entering the goals; ``CRPS model / CRPS oracle`` per horizon says how
far the model is from what a perfect model can score.

Where the model loses against the oracle: :func:`class_rows` splits each origin's open book into classes
(segment x ``not yet due`` / ``overdue`` at the origin) and scores the model's and the oracle's paths of each class
(mean, median, CRPS against the class's actual cash); :func:`class_table` sums them over origins per horizon.
:func:`ceiling_bands` gives the oracle's skill and the model / oracle CRPS ratio with bootstrap bands over origins.

Example::

    >>> from cashsim.demo import demo_ledger                                   # doctest: +SKIP
    >>> from cashsim.demo.oracle import DemoOracle                               # doctest: +SKIP
    >>> r = run_backtest(demo_ledger(7), n_paths=300, max_origins=2, oracle=DemoOracle(7))  # doctest: +SKIP
    >>> r.metrics.query("method == 'oracle'")[["horizon", "crps", "crps_skill", "cover80"]]  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cashsim.backtest.scores import crps_sample

#: the method name of the oracle's rows
ORACLE = "oracle"
#: the ensemble forecasts scored with their paths (the others are point forecasts)
ENSEMBLES = ("model", ORACLE)


def invoice_classes(open_book: pd.DataFrame, origin: pd.Timestamp) -> tuple[np.ndarray, list[str]]:
    """Class code of each open invoice and the class labels: ``"<segment>, not yet due"`` (due after the origin)
    or ``"<segment>, overdue"``."""
    state = np.where(open_book["due_date"].to_numpy() > np.datetime64(origin), "not yet due", "overdue")
    label = open_book["segment"].astype(str).to_numpy() + ", " + state
    codes, labels = pd.factorize(label, sort=True)
    return codes, list(labels)


def class_rows(origin: pd.Timestamp, months: list[str], labels: list[str], actual: np.ndarray,
               paths: dict[str, np.ndarray]) -> pd.DataFrame:
    """Rows origin x horizon x class x method: actual cash of the class in the month, the method's mean and median,
    and CRPS. ``actual[g, h]``; ``paths[method][path, g, h]``."""
    rows = []
    for method, x in paths.items():
        for g, label in enumerate(labels):
            for h, month in enumerate(months):
                sample = x[:, g, h]
                rows.append({"origin": origin, "month": month, "horizon": h + 1, "class": label, "method": method,
                             "actual": actual[g, h], "mean": sample.mean(), "median": float(np.median(sample)),
                             "crps": crps_sample(sample, actual[g, h])})
    return pd.DataFrame(rows)


def class_table(classes: pd.DataFrame, horizon: int) -> pd.DataFrame:
    """Per class at ``horizon``, summed over origins: actual cash, each method's mean (expected cash), its bias
    ``sum(mean - actual)`` and CRPS; ``crps_gap`` = model CRPS - oracle CRPS (what the model loses there) and its
    share of the total gap. Rows sorted by the gap, largest first."""
    part = classes[classes["horizon"] == horizon]
    wide = part.pivot_table(index="class", columns="method", values=["actual", "mean", "crps"], aggfunc="sum")
    out = pd.DataFrame({"actual": wide[("actual", "model")]})
    for method in ENSEMBLES:
        out[f"{method}_mean"] = wide[("mean", method)]
        out[f"{method}_bias"] = wide[("mean", method)] - out["actual"]
        out[f"{method}_crps"] = wide[("crps", method)]
    out["crps_gap"] = out["model_crps"] - out[f"{ORACLE}_crps"]
    out["gap_share"] = out["crps_gap"] / out["crps_gap"].sum()
    return out.sort_values("crps_gap", ascending=False)


def ceiling_bands(monthly: pd.DataFrame, metrics: pd.DataFrame, *, n_boot: int = 2000, seed: int = 0
                  ) -> pd.DataFrame:
    """Per horizon month: the oracle's CRPS skill against the model's best baseline and the ratio ``CRPS model /
    CRPS oracle``, each with the 95 % band of a bootstrap over origins (the same resampled origins for the three
    methods), and the share of origins where the oracle's CRPS is below the model's."""
    rng = np.random.default_rng(seed)
    out = []
    for h, part in monthly.groupby("horizon"):
        best = metrics.loc[(metrics["method"] == "model") & (metrics["horizon"] == str(h)), "best_baseline"].iloc[0]
        crps = part.pivot_table(index="origin", columns="method", values="crps")[["model", ORACLE, best]].to_numpy()
        idx = rng.integers(0, len(crps), (n_boot, len(crps)))
        mean = crps[idx].mean(axis=1)                                   # (n_boot, 3)
        skill, ratio = 1 - mean[:, 1] / mean[:, 2], mean[:, 0] / mean[:, 1]
        full = crps.mean(axis=0)
        out.append({"horizon": int(h), "best_baseline": best, "oracle_skill": 1 - full[1] / full[2],
                    "oracle_skill_lo": np.quantile(skill, 0.025), "oracle_skill_hi": np.quantile(skill, 0.975),
                    "model_over_oracle": full[0] / full[1], "ratio_lo": np.quantile(ratio, 0.025),
                    "ratio_hi": np.quantile(ratio, 0.975), "oracle_better": float(np.mean(crps[:, 1] < crps[:, 0]))})
    return pd.DataFrame(out)
