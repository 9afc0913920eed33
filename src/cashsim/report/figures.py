"""Report-side settings of the :mod:`cashsim.plots` figures: fan charts scaled to their data, legends below the plot,
sizes that fit an A4 page or a report column without labels overlapping.

Rule: a fan chart's y axis runs from the lowest to the highest value it draws (bands, median, target), padded by 8 %
of that span on each side, instead of starting at zero (``plots`` sets ``rangemode="tozero"``, which squashes a
band of 1.0-1.3 M€ into the top fifth of the chart); the legend is horizontal under the x axis, in 11 px type; the
margins grow with the tick labels (``automargin``). The figures are post-processed here; ``plots`` is not changed.

Example (in a notebook)::

    >>> report_figure(plots.fan_chart(months, months, period_col="month", prefix="collections_"),
    ...               months, prefix="collections_")               # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cashsim.report.words import bucket_labels, group_label, run_locale

#: Share of the data's span added below and above it on a fan chart's y axis.
PAD = 0.08


def data_range(frame: pd.DataFrame, prefix: str, extra: tuple[str, ...] = ("target_p50",)) -> tuple[float, float]:
    """(low, high) of every ``<prefix>pNN`` / ``<prefix>mean`` column and the ``extra`` columns, padded by
    :data:`PAD` of the span (at least 1 on each side)."""
    cols = [c for c in frame.columns if c.startswith(prefix)] + [c for c in extra if c in frame.columns]
    values = frame[cols].to_numpy(float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return 0.0, 1.0
    lo, hi = float(values.min()), float(values.max())
    pad = max((hi - lo) * PAD, 1.0)
    return lo - pad, hi + pad


def report_figure(fig, frame: pd.DataFrame | None = None, *, prefix: str | None = None, height: int = 420):
    """``fig`` with the report's settings: y range from the data when ``frame``/``prefix`` are given, legend below,
    automargins. Returns the same figure (updated in place)."""
    fig.update_layout(height=height, autosize=True, font={"size": 12},
                      legend={"orientation": "h", "yanchor": "top", "y": -0.18, "xanchor": "left", "x": 0,
                              "font": {"size": 11}},
                      margin={"l": 70, "r": 20, "t": 50, "b": 90})
    fig.update_xaxes(automargin=True)
    fig.update_yaxes(automargin=True)
    if frame is not None and prefix is not None:
        lo, hi = data_range(frame, prefix)
        fig.update_yaxes(range=[lo, hi], rangemode="normal")
    return fig


def a4_figure(fig, frame: pd.DataFrame | None = None, *, prefix: str | None = None):
    """:func:`report_figure` sized for a 17-18 cm wide A4 column (680 x 300 px)."""
    report_figure(fig, frame, prefix=prefix, height=300)
    return fig.update_layout(width=680, font={"size": 10})


# The report's charts of the run alone (no plan), as the monthly report shows them; amounts in the params' locale and
# currency.


def weekly_figure(run):
    """The weekly cash position (:func:`cashsim.plots.cash_position_fan`) against the minimum balance, on the
    weeks the table shows (:attr:`cashsim.targets.TargetReport.shown_weekly`)."""
    from cashsim import plots

    return report_figure(plots.cash_position_fan(run.targets.shown_weekly,
                                                 run.params.burn.minimum_balance,
                                                 **run_locale(run)))


def collections_fan(run):
    """The monthly collections forecast (:func:`cashsim.plots.fan_chart`) against the smoothed target, as plotly
    draws it (the report's :func:`forecast_figure` and the print page size it)."""
    from cashsim import plots

    months = run.targets.forecast_months
    return plots.fan_chart(months, months, period_col="month", prefix="collections_", target_col="target_p50",
                           **run_locale(run))


def p_met_bars(run):
    """P(target met) per forecast month (:func:`cashsim.plots.p_target_met_bars`) against the required one, as plotly
    draws it."""
    from cashsim import plots

    return plots.p_target_met_bars(run.targets.forecast_months, run.targets.required_probability,
                                   period_col="month", locale=run_locale(run)["locale"])


def forecast_figure(run):
    """:func:`collections_fan` for the report, its y axis scaled to the data."""
    return report_figure(collections_fan(run), run.targets.forecast_months, prefix="collections_")


def p_met_figure(run):
    """:func:`p_met_bars` for the report."""
    return report_figure(p_met_bars(run))


def dso_figure(run, months: int = 12):
    """The DSO of the last ``months`` months to the as-of date (``kpi.dso_history``, ``plots.dso_trend``)."""
    from cashsim import kpi, plots

    dso = kpi.dso_history(run.ledger, start=run.as_of - pd.DateOffset(months=months), end=run.as_of)
    return report_figure(plots.dso_trend(dso, locale=run_locale(run)["locale"]))


def aged_figure(run):
    """The aged balance per client group (``kpi.aged_balance``, :func:`cashsim.plots.aged_balance_bars`)."""
    from cashsim import kpi, plots
    from cashsim.report.ledger_views import aged_wide

    # the legend and groups in the reader's words, not kpi's keys (not_due, >90, "all" for customers without a group)
    wide = aged_wide(kpi.aged_balance(run.ledger, run.as_of, by="segment")).rename(columns=bucket_labels(run))
    wide.index = [group_label(g, run) for g in wide.index]
    return report_figure(plots.aged_balance_bars(wide, **run_locale(run)))
