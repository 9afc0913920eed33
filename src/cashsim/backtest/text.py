"""The backtest's console view in one place, in the reader's language: the model by horizon, every method's point
scores and the goals with their figures (:meth:`BacktestResult.summary_text`, ``cashsim backtest``, the HTML page).

Rule: the goals and their details are English text in the result (the JSON keeps them); :data:`GOAL_TEMPLATES`
are their msgids, so :func:`summary_text` finds the fields back and writes them in the locale's words and numbers
(:func:`cashsim.ledger.wording.translate`). English is the locale ``en_GB``.

>>> from cashsim.ledger.wording import translate
>>> translate("months 1-3", "fr_FR", GOAL_TEMPLATES)
'mois 1-3'
>>> translate("pooled WAPE of the median <= 0.75x the best baseline's", "fr_FR", GOAL_TEMPLATES)
'WAPE groupé de la médiane ≤ 0,75 fois celui de la meilleure référence'
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd

from cashsim import fmt, i18n
from cashsim.backtest.ceiling import ORACLE
from cashsim.backtest.metrics import NO_PAID_INVOICE, NO_SKILL
from cashsim.ledger import wording

#: The wording of the backtest's goals and their details (:func:`cashsim.backtest.evaluate_goals`) and of its
#: horizons, as msgids.
GOAL_TEMPLATES = (
    "80% interval covers {lo}-{hi} of outcomes in every month",
    "{cover} (bootstrap 95% band {lo}-{hi}; a calibrated forecast shows {cal_lo}-{cal_hi} on {n} origins)",
    "pooled WAPE of the median <= {ratio}x the best baseline's",
    "model {wape} vs {best} {best_wape} (ratio {ratio}); bias {bias}; MAE {mae} vs {best_mae}",
    "no baseline to compare with",
    "CRPS skill >= {goal} against the best baseline in every month",
    "CRPS {crps} vs {best} {best_crps} (skill {skill})",
    "model {mae} days vs {best} {best_mae} days on {n} invoices",
    NO_PAID_INVOICE,
    "invoice MAE of the median pay date below the best baseline's",
    "month {h}", "months {first}-{last}", "pooled", "all", "< {days} days",
)
#: A goal's target the result could not compute (NaN), and why: n/a with the reason, never "< nan days".
UNSCORED = {"< nan days": NO_PAID_INVOICE}


def in_words(text, locale: str) -> str:
    """A goal, goal detail or horizon the result writes in English (:data:`GOAL_TEMPLATES`), in the words and number
    formats of ``locale``; a target the result could not compute (:data:`UNSCORED`) as n/a with its reason."""
    if text in UNSCORED:
        _ = i18n.translator(locale).gettext
        return _("n/a ({reason})").format(reason=_(UNSCORED[text]))
    return wording.translate(text, locale, GOAL_TEMPLATES, frozenset({"best", "skill"}))


def summary_text(result, locale: str = "en_GB") -> str:
    """The console view of a :class:`cashsim.backtest.BacktestResult` in the language and number formats of
    ``locale``."""
    _ = i18n.translator(locale).gettext

    def num(v, decimals: int = 0) -> str:                            # never "-0" (fmt.number)
        return fmt.number(v, locale=locale, decimals=decimals)

    def pct(v, decimals: int = 0) -> str:
        return fmt.percent(v, locale=locale, decimals=decimals)

    def missing(v) -> str:
        return "-" if v is None or pd.isna(v) else ""

    words = partial(in_words, locale=locale)

    def colon(label: str) -> str:
        return _("{label}:").format(label=label)

    def signed(v) -> str:
        return missing(v) or fmt.signed_percent(v, locale=locale, decimals=1)   # no sign on "0,0 %"

    def skill(v, best) -> str:          # against a perfect baseline (-inf, NaN): n/a, not "-∞"
        return _(NO_SKILL) if isinstance(best, str) and not np.isfinite(v) else missing(v) or num(v, 2)

    def cover(v, lo, hi) -> str:
        return missing(v) or f"{pct(v)} [{pct(lo)}-{pct(hi)}]"

    s, table, metrics = result.settings, result.horizon_table(), result.metrics
    horizon = pd.DataFrame({
        "horizon": [words(h) for h in table.index], "WAPE": [missing(v) or pct(v, 1) for v in table["wape"]],
        "bias": [signed(v) for v in table["bias"]],
        "CRPS skill": [skill(v, b) for v, b in zip(table["crps_skill"], table["best_baseline"], strict=True)],
        "best baseline": [_(b) if isinstance(b, str) else "-" for b in table["best_baseline"]],
        "cover50": [cover(*r) for r in table[["cover50", "cover50_lo", "cover50_hi"]].itertuples(index=False)],
        "cover80": [cover(*r) for r in table[["cover80", "cover80_lo", "cover80_hi"]].itertuples(index=False)],
        "Winkler80": [missing(v) or num(v) for v in table["winkler80"]],
        "CRPS": [missing(v) or num(v) for v in table["crps"]], "n": [num(v) for v in table["n"]],
        "cash share": [missing(v) or pct(v, 1) for v in table["cash_share"]]})
    methods = pd.DataFrame({
        "method": [_(m) for m in metrics["method"]], "horizon": [words(h) for h in metrics["horizon"]],
        "WAPE": [missing(v) or pct(v, 1) for v in metrics["wape"]], "bias": [signed(v) for v in metrics["bias"]],
        "MAE": [missing(v) or num(v) for v in metrics["mae"]],
        "CRPS": [missing(v) or num(v) for v in metrics["crps"]],
        "MAPE": [missing(v) or pct(v, 1) for v in metrics["mape"]],
        "MAPE n": [f"{num(a)} / {num(b)}" for a, b in zip(metrics["mape_n"], metrics["mape_excluded"], strict=True)],
        "invoice MAE (days)": ["" if pd.isna(v) else num(v, 2) for v in metrics["invoice_mae"]]})
    lines = [_("backtest: {n} origins ({first} .. {last}), {paths} paths").format(
                 n=num(s.get("n_origins", 0)), first=fmt.date(s.get("first_origin"), locale=locale),
                 last=fmt.date(s.get("last_origin"), locale=locale), paths=num(s.get("n_paths"))),
             _("model by horizon -- WAPE, bias: share of the cash collected; CRPS skill: against the best baseline "
               "of the horizon;"),
             _("  cover50, cover80: read on the randomised PIT, [95% bootstrap band over origins]; Winkler80 (80% "
               "interval score), CRPS: currency units"),
             _("  cash share: the horizon's share of the cash collected over the whole horizon, summed over origins "
               "(a month with little cash is scored all the same)"),
             horizon.rename(columns=_).to_string(index=False), "",
             _("all methods -- MAPE over the months with cash collected (MAPE n: used / zero actuals left out):"),
             methods.rename(columns=_).to_string(index=False), "", colon(_("goals"))]
    for goal, rows in result.goals.groupby("goal", sort=False):
        met = _("MET") if rows["met"].all() else _("MISSED")
        if len(rows) == 1:
            lines.append(f"  [{met}] {colon(words(goal))} {words(rows['detail'].iloc[0])}")
            continue
        lines.append(f"  [{met}] {words(goal)}")
        lines += [f"      {words(f'month {g.horizon}')} [{_('MET') if g.met else _('MISSED')}] {words(g.detail)}"
                  for g in rows.itertuples()]
    oracle = metrics[metrics["method"] == ORACLE]
    if len(oracle):   # the ceiling (cashsim.backtest.ceiling): the truth-knowing forecaster next to the model
        model = metrics[metrics["method"] == "model"].set_index("horizon")["crps"]
        ceiling = pd.DataFrame({
            "horizon": [words("pooled" if h == "all" else f"month {h}") for h in oracle["horizon"]],
            "cover80": [cover(*r) for r in oracle[["cover80", "cover80_lo", "cover80_hi"]].itertuples(index=False)],
            "WAPE ratio": [missing(v) or num(v, 2) for v in oracle["wape_ratio"]],
            "CRPS skill": [skill(v, b) for v, b in zip(oracle["crps_skill"], oracle["best_baseline"], strict=True)],
            "CRPS": [missing(v) or num(v) for v in oracle["crps"]],
            "model / oracle": [missing(v) or num(v, 2)
                               for v in oracle["horizon"].map(model).to_numpy(float) / oracle["crps"].to_numpy(float)]})
        heading = _("oracle (knows the demo's true law; the ceiling of any forecast) -- model / oracle: the model's "
                    "CRPS over the oracle's:")
        lines += ["", heading, ceiling.rename(columns=_).to_string(index=False)]
    return "\n".join(lines)
