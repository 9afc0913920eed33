"""What :func:`cashsim.backtest.run_backtest` returns: the :class:`BacktestResult` tables, their JSON, console text
and HTML page (*résultat du backtest*). Definitions of every column: :mod:`cashsim.backtest.metrics`.

The console text is :mod:`cashsim.backtest.text`'s, in the reader's language.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cashsim import fmt, i18n
from cashsim.backtest.metrics import NO_SKILL

#: the model's per-horizon columns shown on the console and at the top of the HTML page
HORIZON_COLUMNS = ["wape", "bias", "crps_skill", "best_baseline", "cover50", "cover50_lo", "cover50_hi", "cover80",
                   "cover80_lo", "cover80_hi", "winkler80", "crps", "n", "cash_share"]


@dataclass(frozen=True, eq=False)
class BacktestResult:
    """Tidy tables of a rolling-origin backtest (definitions: :mod:`cashsim.backtest` and its ``metrics``).

    monthly: one row per origin x horizon x method (``model`` and the baselines): origin, month, horizon, actual,
        forecast (median for the model), error, abs_error, ape, crps, and for the model mean, p10 ... p90, pit,
        in50, in80 (PIT coverage), winkler80.
    cumulative: the same rows for the cash collected in months 1..h (``month`` = the last month of the window).
    invoices: one row per invoice open at an origin and paid in the data: origin, invoice_id, actual pay date,
        each method's predicted date and absolute error in days.
    metrics: per method x horizon (``"all"`` pooled): n, wape, bias, crps, crps_skill, best_baseline, wape_ratio,
        mae, mape (mape_n, mape_excluded), winkler80, cover50 / cover80 with bootstrap bands, invoice_mae.
    cumulative_metrics: the same per method x horizon h for months 1..h (no pooled row: the windows are nested).
    pit_histogram: per horizon, counts of model PIT values in 10 equal bins.
    goals: goal, horizon, target, value, met, detail (:func:`cashsim.backtest.metrics.evaluate_goals`).
    """

    monthly: pd.DataFrame
    invoices: pd.DataFrame
    metrics: pd.DataFrame
    pit_histogram: pd.DataFrame
    goals: pd.DataFrame
    cumulative: pd.DataFrame
    cumulative_metrics: pd.DataFrame
    settings: dict = field(default_factory=dict)
    #: with an oracle (:mod:`cashsim.backtest.ceiling`): origin x horizon x class x method rows, else None
    classes: pd.DataFrame | None = None

    def horizon_table(self) -> pd.DataFrame:
        """The model's scores by horizon: ``month 1`` .. ``month H``, ``pooled``, then ``months 1-h`` (cumulative),
        indexed by that label, columns :data:`HORIZON_COLUMNS`."""
        month = self.metrics[self.metrics["method"] == "model"]
        cum = self.cumulative_metrics[self.cumulative_metrics["method"] == "model"]
        labels = [("pooled" if h == "all" else f"month {h}") for h in month["horizon"]]
        labels += [f"months 1-{h}" for h in cum["horizon"]]
        table = pd.concat([month, cum], ignore_index=True)[HORIZON_COLUMNS]
        table.index = pd.Index(labels, name="horizon")
        return table

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary: settings, metrics (monthly and cumulative), goals, PIT histogram and the row tables."""
        return {"settings": self.settings, "metrics": _records(self.metrics),
                "cumulative_metrics": _records(self.cumulative_metrics), "goals": _records(self.goals),
                "pit_histogram": _records(self.pit_histogram), "monthly": _records(self.monthly),
                "cumulative": _records(self.cumulative),
                **({} if self.classes is None else {"classes": _records(self.classes)})}

    def to_json(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False), encoding="utf-8")
        return path

    def summary_text(self, locale: str = "en_GB") -> str:
        """The console view: the model by horizon, every method's point scores, and the goals with their figures,
        in the words and number formats of ``locale`` (:func:`cashsim.backtest.text.summary_text`)."""
        from cashsim.backtest.text import summary_text

        return summary_text(self, locale)


def _records(df: pd.DataFrame) -> list[dict]:
    out = df.copy()
    for c in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[c]):
            out[c] = out[c].dt.strftime("%Y-%m-%d")
    return json.loads(out.to_json(orient="records"))


def backtest_html(result: BacktestResult, locale: str = "en_GB") -> str:
    """A self-contained HTML page: the summary, the model by horizon, the goals, every metric (monthly and
    cumulative) and the PIT histogram (figures are wired by cashsim.plots), in the words and number formats of
    ``locale`` (``cashsim backtest --html`` passes the command's); the columns keep the JSON's names."""
    from cashsim.backtest.text import in_words

    _ = i18n.translator(locale).gettext

    def figure(v: float) -> str:    # a skill against a perfect baseline (-inf): n/a, as the text, not "-inf"
        return fmt.number(v, locale=locale, decimals=3) if np.isfinite(v) else _(NO_SKILL)

    def table(df: pd.DataFrame, index: bool = False) -> str:
        df = df.copy()
        for c in ("goal", "detail", "horizon", "target"):
            if c in df:
                df[c] = [in_words(v, locale) for v in df[c]]
        for c in ("method", "best_baseline"):
            if c in df:
                df[c] = [_(m) if isinstance(m, str) else m for m in df[c]]
        if "met" in df:
            df["met"] = [_("MET") if m else _("MISSED") for m in df["met"]]
        return df.to_html(index=index, float_format=figure, escape=True, border=0, na_rep="")

    horizons = result.horizon_table().rename(index=lambda h: in_words(h, locale))
    return (f"<!doctype html><html lang='{html.escape(locale[:2])}'><head><meta charset='utf-8'>"
            f"<title>cashsim {html.escape(_('Backtest'))}</title></head><body>"
            f"<h1>{_('Backtest')}</h1><pre>{html.escape(result.summary_text(locale))}</pre>"
            f"<h2>{_('Model by horizon')}</h2>{table(horizons, index=True)}"
            f"<h2>{_('Goals')}</h2>{table(result.goals)}<h2>{_('Metrics by month')}</h2>{table(result.metrics)}"
            f"<h2>{_('Metrics on cumulative months 1..h')}</h2>{table(result.cumulative_metrics)}"
            f"<h2>{_('PIT histogram')}</h2>{table(result.pit_histogram)}</body></html>")
