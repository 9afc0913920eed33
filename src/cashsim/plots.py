"""Plotly figures of cashsim's results: they take results (tidy DataFrames, a Simulation's quantiles) and return a
static ``plotly.graph_objects.Figure``; they never fit, simulate or read files.

Static ``go.Figure`` and never ``FigureWidget``: a widget does not survive the HTML export of the monthly report
(nbconvert#944), a figure does. Every amount is in euros incl. VAT; axes and hover labels use the report locale's
separators and currency placement (``1 234 567 €`` in French, via :mod:`cashsim.fmt`).

Input shapes (one row per period / lever / group; extra columns are ignored):

=========================  ==========================================================================================
figure                     input
=========================  ==========================================================================================
:func:`fan_chart`          ``period`` + ``p05 p10 p25 p50 p75 p90 p95`` [+ ``mean``] (``Simulation.quantiles()``;
                           any prefix, e.g. ``collections_p05`` of ``TargetReport.months``); targets: ``period`` +
                           ``target`` [+ ``target_p10``, ``target_p90``, ``burn``]
:func:`cash_position_fan`  ``week_start`` + ``position_p05`` ... ``position_p95`` [+ ``p_under_minimum``]
:func:`p_target_met_bars`  ``period`` + ``p_target_met``
:func:`levers_waterfall`   ``lever`` + ``extra_cash`` [+ ``extra_cash_p10``, ``extra_cash_p90``]
:func:`lever_cost_scatter` ``lever`` + ``cost`` + ``p_target_met`` [+ ``extra_cash``]
:func:`aged_balance_bars`  one row per group (a label column or the index) + one numeric column per age bucket
                           (*balance âgée*: not due, 1-30, 31-60, 61-90, over 90 days)
:func:`dso_trend`          ``month`` + ``dso_standard`` + ``dso_countback`` (days)
:func:`pit_histogram`      PIT values in [0, 1], a 1-D array or a DataFrame with ``pit`` [+ ``horizon``]
                           (``BacktestResult.monthly`` rows of the model)
:func:`coverage_chart`     ``horizon`` + ``nominal`` + ``coverage`` (shares), or ``BacktestResult.metrics``
=========================  ==========================================================================================

Column names can be overridden by keyword where the caller's frame names them differently.

Baseline against proposal (the scenario panel's charts): :func:`collections_figure`, :func:`cash_figure` and
:func:`p_met_figure` take two :class:`~cashsim.targets.TargetReport` of the same months and draw the proposal (fan
or bars) with the baseline beside it (its median as a grey dotted line, its P(target met) as grey bars);
:func:`chart_data` gives their traces' data in drawing order, so a displayed figure can be updated by data alone.

Example::

    >>> import pandas as pd
    >>> q = pd.DataFrame({"period": ["2026-11", "2026-12"], "p05": [8e5, 7e5], "p10": [8.5e5, 7.5e5],
    ...                   "p25": [9e5, 8e5], "p50": [1e6, 9e5], "p75": [1.1e6, 1e6], "p90": [1.15e6, 1.05e6],
    ...                   "p95": [1.2e6, 1.1e6]})
    >>> fig = fan_chart(q, pd.DataFrame({"period": ["2026-11", "2026-12"], "target": [1.05e6, 9.5e5]}))
    >>> [t.name for t in fig.data][-2:]
    ['médiane', 'objectif lissé']
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from cashsim import fmt, i18n
from cashsim.errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    from cashsim.targets import TargetReport

#: Quantile columns of a fan chart, outermost band first (as produced by ``Simulation.quantiles``).
BANDS = (("p05", "p95", "90 %"), ("p10", "p90", "80 %"), ("p25", "p75", "50 %"))

FORECAST = "#1f4e79"     # deep blue: the forecast
TARGET = "#c0392b"       # red: what must come in
MINIMUM = "#e67e22"      # orange: the minimum balance
MET, MISSED = "#2e8b57", "#c0392b"
PALETTE = ("#1f4e79", "#2e8b57", "#e67e22", "#8e44ad", "#c0392b", "#16a085", "#7f8c8d", "#d4a017", "#5dade2",
           "#a04000")
AGE_COLOURS = ("#2e8b57", "#a3c86b", "#f2c14e", "#f08a4b", "#c0392b")

def _require(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(f"{what}: missing column(s) {missing}; got {list(frame.columns)}", column=missing[0])


def _money_axis(locale: str, currency: str) -> dict:
    prefix, suffix = fmt.currency_affixes(locale=locale, currency=currency)
    return {"tickprefix": prefix, "ticksuffix": suffix, "tickformat": ",.0f", "rangemode": "tozero"}


def _money_hover(locale: str, currency: str, value: str = "%{y:,.0f}") -> str:
    prefix, suffix = fmt.currency_affixes(locale=locale, currency=currency)
    return f"{prefix}{value}{suffix}"


def _layout(fig: go.Figure, title: str, locale: str, **layout) -> go.Figure:
    fig.update_layout(
        title={"text": title, "x": 0.01, "xanchor": "left"},
        template="plotly_white",
        separators=fmt.plotly_separators(locale),
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "left", "x": 0},
        margin={"l": 60, "r": 30, "t": 80, "b": 50},
        height=420,
        **layout,
    )
    return fig


def _period_labels(periods: pd.Series, locale: str) -> list[str]:
    """Labels as the reader says them: a month ``YYYY-MM`` as ``nov. 2026``, a date (week start) as ``2 nov.``."""
    out = []
    for p in periods:
        text = str(p)
        if len(text) == 7 and text[4] == "-":
            out.append(fmt.date(pd.Period(text, freq="M").start_time, locale=locale, style="MMM y"))
        else:
            try:
                out.append(fmt.date(pd.Timestamp(p), locale=locale, style="d MMM y"))
            except (ValueError, TypeError):
                out.append(text)
    return out


def _add_fan(fig: go.Figure, x, frame: pd.DataFrame, locale: str, currency: str, *, prefix: str = "",
             secondary: bool | None = None, median_name: str | None = None, colour: str = FORECAST) -> None:
    """Nested quantile bands (90 %, 80 %, 50 %) around a median line, from columns ``{prefix}p05`` ... ."""
    _ = i18n.translator(locale)
    frame = frame.rename(columns=lambda c: c[len(prefix):] if prefix and str(c).startswith(prefix) else c)
    kwargs = {} if secondary is None else {"secondary_y": secondary}
    hover = _money_hover(locale, currency)
    for i, (lo, hi, label) in enumerate(BANDS):
        if lo not in frame.columns or hi not in frame.columns:
            continue
        opacity = (0.12, 0.2, 0.32)[i]
        fill = f"rgba(31,78,121,{opacity})" if colour == FORECAST else colour
        fig.add_trace(go.Scatter(x=x, y=frame[lo], mode="lines", line={"width": 0}, showlegend=False,
                                 hoverinfo="skip", legendgroup=label), **kwargs)
        fig.add_trace(go.Scatter(x=x, y=frame[hi], mode="lines", line={"width": 0}, fill="tonexty",
                                 fillcolor=fill, name=_("{level} interval").format(level=label), legendgroup=label,
                                 customdata=np.column_stack([frame[lo], frame[hi]]),
                                 hovertemplate=f"{_('{level} interval').format(level=label)}: "
                                 + _money_hover(locale, currency, "%{customdata[0]:,.0f}") + " – "
                                 + _money_hover(locale, currency, "%{customdata[1]:,.0f}") + "<extra></extra>"),
                      **kwargs)
    fig.add_trace(go.Scatter(x=x, y=frame["p50"], mode="lines+markers", name=median_name or _("median"),
                             line={"color": colour, "width": 3},
                             hovertemplate=f"{median_name or _('median')}: {hover}<extra></extra>"), **kwargs)


def fan_chart(quantiles: pd.DataFrame, targets: pd.DataFrame | None = None, *, period_col: str = "period",
              prefix: str = "", target_col: str = "target", target_band: tuple[str, str] = ("target_p10",
              "target_p90"), title: str | None = None, locale: str = fmt.DEFAULT_LOCALE,
              currency: str = "EUR") -> go.Figure:
    """Monthly collections forecast as a fan (90 %, 80 %, 50 % intervals and median) against the smoothed target.

    The target is the month's smoothed cash target (*objectif d'encaissement lissé*): where the median line sits
    under it, the month is more likely missed than met. A target band (``target_p10``/``target_p90``) shows how the
    target itself moves with earlier months' collections on each path.

    ``prefix`` reads prefixed quantile columns (``collections_p05`` ... in ``TargetReport.months``, which also
    holds ``target_p50`` / ``target_p10`` / ``target_p90`` / ``burn``: pass it as ``targets`` too).
    """
    _require(quantiles, [period_col, f"{prefix}p50"], "fan_chart quantiles")
    _ = i18n.translator(locale)
    q = quantiles.reset_index(drop=True)
    x = _period_labels(q[period_col], locale)
    fig = go.Figure()
    _add_fan(fig, x, q, locale, currency, prefix=prefix)
    if targets is not None:
        _require(targets, [period_col, target_col], "fan_chart targets")
        tg = targets.set_index(targets[period_col].astype(str).str[:7])
        tg = tg.reindex(q[period_col].astype(str).str[:7])
        lo, hi = target_band
        if {lo, hi} <= set(tg.columns) and not np.allclose(tg[lo], tg[hi], equal_nan=True):
            fig.add_trace(go.Scatter(x=x, y=tg[lo], mode="lines", line={"width": 0}, showlegend=False,
                                     hoverinfo="skip"))
            fig.add_trace(go.Scatter(x=x, y=tg[hi], mode="lines", line={"width": 0}, fill="tonexty",
                                     fillcolor="rgba(192,57,43,0.10)", name=_("target (10th-90th pct.)"),
                                     hoverinfo="skip"))
        if "burn" in tg.columns:
            fig.add_trace(go.Scatter(x=x, y=tg["burn"], mode="lines", name=_("cash burn"),
                                     line={"color": "#7f8c8d", "dash": "dot", "width": 1.5},
                                     hovertemplate=f"{_('cash burn')}: {_money_hover(locale, currency)}"
                                                   "<extra></extra>"))
        fig.add_trace(go.Scatter(x=x, y=tg[target_col], mode="lines+markers", name=_("smoothed target"),
                                 line={"color": TARGET, "dash": "dash", "width": 2.5},
                                 marker={"symbol": "diamond", "size": 9},
                                 hovertemplate=f"{_('smoothed target')}: {_money_hover(locale, currency)}"
                                               "<extra></extra>"))
    _layout(fig, title or _("forecast collections"), locale, hovermode="x unified")
    fig.update_yaxes(**_money_axis(locale, currency))
    return fig


def cash_position_fan(weekly: pd.DataFrame, minimum_balance: float | None = None, *, week_col: str = "week_start",
                      prefix: str = "position_", p_below_col: str = "p_under_minimum", title: str | None = None,
                      locale: str = fmt.DEFAULT_LOCALE, currency: str = "EUR") -> go.Figure:
    """Weekly cash position (*plan de trésorerie*) as a fan, the minimum balance, and P(below minimum) as bars.

    Cash at the end of week w = opening cash + collections to date - outflows to date, path by path; the bars on
    the right axis give the share of paths under the minimum balance that week. Defaults read
    ``TargetReport.weekly`` (``week_start``, ``position_p05`` ..., ``p_under_minimum``).
    """
    _require(weekly, [week_col, f"{prefix}p50"], "cash_position_fan weekly")
    _ = i18n.translator(locale)
    w = weekly.reset_index(drop=True)
    x = pd.to_datetime(w[week_col])
    has_p = p_below_col in w.columns
    fig = make_subplots(specs=[[{"secondary_y": True}]]) if has_p else go.Figure()
    if has_p:
        fig.add_trace(go.Bar(x=x, y=w[p_below_col], name=_("P(below minimum)"), marker_color="rgba(230,126,34,0.35)",
                             hovertemplate=f"{_('P(below minimum)')}: %{{y:.0%}}<extra></extra>"), secondary_y=True)
    _add_fan(fig, x, w, locale, currency, prefix=prefix, secondary=False if has_p else None,
             median_name=_("cash at week end"))
    if minimum_balance is not None:
        fig.add_hline(y=float(minimum_balance), line={"color": MINIMUM, "dash": "dash", "width": 2},
                      annotation_text=f"{_('minimum balance')} "
                                      f"{fmt.money(minimum_balance, locale=locale, currency=currency, decimals=0)}",
                      annotation_position="bottom left")
    _layout(fig, title or _("cash at week end"), locale, hovermode="x unified")
    axis = _money_axis(locale, currency)
    axis.pop("rangemode")
    if has_p:
        fig.update_yaxes(secondary_y=False, **axis)
        fig.update_yaxes(secondary_y=True, range=[0, 1], dtick=0.25, tickformat=".0%", showgrid=False,
                         title_text=_("P(below minimum)"))
    else:
        fig.update_yaxes(**axis)
    fig.update_xaxes(title_text=_("week of"), tickformat=_("%b %d"))  # d3 date format of a week tick
    return fig


def p_target_met_bars(frame: pd.DataFrame, required_probability: float | None = None, *, period_col: str = "period",
                      p_col: str = "p_target_met", title: str | None = None,
                      locale: str = fmt.DEFAULT_LOCALE) -> go.Figure:
    """P(target met) per month as bars, green where it reaches the required probability, red where it does not."""
    _require(frame, [period_col, p_col], "p_target_met_bars")
    _ = i18n.translator(locale)
    f = frame.reset_index(drop=True)
    p = f[p_col].astype(float).to_numpy()
    req = -np.inf if required_probability is None else float(required_probability)
    colours = np.where(p >= req, MET, MISSED)
    fig = go.Figure(go.Bar(x=_period_labels(f[period_col], locale), y=p, marker_color=colours.tolist(),
                           text=[fmt.percent(v, locale=locale) for v in p], textposition="outside",
                           name=_("P(target met)"), hovertemplate=f"{_('P(target met)')}: %{{y:.1%}}<extra></extra>"))
    if required_probability is not None:
        fig.add_hline(y=req, line={"color": "#34495e", "dash": "dash"},
                      annotation_text=f"{_('required probability')} {fmt.percent(req, locale=locale)}",
                      annotation_position="top left")
    _layout(fig, title or _("P(target met)"), locale, showlegend=False)
    fig.update_yaxes(range=[0, 1.08], tickformat=".0%")
    return fig


def levers_waterfall(gains: pd.DataFrame, *, baseline: float | None = None, lever_col: str = "lever",
                     gain_col: str = "extra_cash", total_label: str | None = None, title: str | None = None,
                     locale: str = fmt.DEFAULT_LOCALE, currency: str = "EUR") -> go.Figure:
    """Cash each lever adds over the horizon (mean, euros incl. VAT), stacked from the baseline to the plan.

    With ``baseline`` (expected collections with no lever) the first bar is absolute and a last bar totals the
    plan; without it the chart starts from zero and totals the extra cash. Bars are in the order given. The
    levers' 10th/90th percentiles are left to the lever table: interval whiskers on a waterfall do not add up.
    Levers compared one by one interact when combined: name the total bar for what it is (``total_label``).
    """
    _require(gains, [lever_col, gain_col], "levers_waterfall")
    _ = i18n.translator(locale)
    g = gains.reset_index(drop=True)
    names = [str(v) for v in g[lever_col]]
    values = g[gain_col].astype(float).tolist()
    measure = ["relative"] * len(values)
    if baseline is not None:
        names, values, measure = [_("no lever"), *names], [float(baseline), *values], ["absolute", *measure]
    names, values, measure = [*names, total_label or _("with the plan")], [*values, 0.0], [*measure, "total"]
    fig = go.Figure(go.Waterfall(
        x=names, y=values, measure=measure, name=_("extra cash"),
        text=[fmt.money_short(v, locale=locale, currency=currency) if m != "total" else "" for v, m in
              zip(values, measure, strict=False)],
        textposition="outside",
        increasing={"marker": {"color": MET}}, decreasing={"marker": {"color": MISSED}},
        totals={"marker": {"color": FORECAST}},
        hovertemplate=f"%{{x}}: {_money_hover(locale, currency)}<extra></extra>"))
    _layout(fig, title or _("extra cash"), locale, showlegend=False)
    axis = _money_axis(locale, currency)
    axis.pop("rangemode")
    fig.update_yaxes(**axis)
    return fig


def lever_cost_scatter(comparison: pd.DataFrame, required_probability: float | None = None, *,
                       lever_col: str = "lever", cost_col: str = "cost", p_col: str = "p_target_met",
                       size_col: str = "extra_cash", title: str | None = None, locale: str = fmt.DEFAULT_LOCALE,
                       currency: str = "EUR") -> go.Figure:
    """Each lever's cost (euros) against the P(target met) it reaches: the cheapest useful levers sit top left.

    Marker area grows with the extra cash brought (when ``extra_cash`` is given); one legend entry per lever.
    """
    _require(comparison, [lever_col, cost_col, p_col], "lever_cost_scatter")
    _ = i18n.translator(locale)
    c = comparison.reset_index(drop=True)
    if size_col in c.columns:
        gain = np.clip(c[size_col].astype(float).to_numpy(), 0, None)
        top = gain.max() if gain.size and gain.max() > 0 else 1.0
        sizes = 10 + 30 * np.sqrt(gain / top)
    else:
        sizes = np.full(len(c), 14.0)
    fig = go.Figure()
    # one trace per lever: the legend names them, so labels never pile up where costs are close
    for i, row in c.iterrows():
        name = str(row[lever_col])
        fig.add_trace(go.Scatter(
            x=[float(row[cost_col])], y=[float(row[p_col])], mode="markers", name=name,
            marker={"size": float(sizes[i]), "color": PALETTE[i % len(PALETTE)], "line": {"color": "white",
                                                                                         "width": 1}},
            hovertemplate=f"{html.escape(name)}<br>{_('lever cost')}: {_money_hover(locale, currency, '%{x:,.0f}')}"
                          f"<br>{_('P(target met)')}: %{{y:.1%}}<extra></extra>"))
    if required_probability is not None:
        fig.add_hline(y=float(required_probability), line={"color": "#34495e", "dash": "dash"},
                      annotation_text=f"{_('required probability')} {fmt.percent(required_probability, locale=locale)}",
                      annotation_position="bottom right")
    _layout(fig, title or f"{_('lever cost')} / {_('P(target met)')}", locale)
    fig.update_layout(legend={"orientation": "v", "y": 1, "x": 1.02, "yanchor": "top"})
    fig.update_yaxes(range=[0, 1.05], tickformat=".0%", title_text=_("P(target met)"))
    fig.update_xaxes(title_text=_("lever cost"), **_money_axis(locale, currency))
    return fig


def aged_balance_bars(aged: pd.DataFrame, *, group_col: str | None = None, buckets: Sequence[str] | None = None,
                      title: str | None = None, locale: str = fmt.DEFAULT_LOCALE, currency: str = "EUR") -> go.Figure:
    """Aged balance (*balance âgée*) as stacked bars: outstanding euros by age bucket for each group or date.

    ``buckets`` default to every numeric column in order (not due, 1-30, 31-60, 61-90, over 90 days); the group
    labels are ``group_col`` or the index. Colours run from green (not due) to red (oldest).
    """
    a = aged if group_col is None else aged.set_index(group_col)
    cols = list(buckets) if buckets is not None else [c for c in a.columns if pd.api.types.is_numeric_dtype(a[c])]
    _require(a, cols, "aged_balance_bars")
    if not cols:
        raise InputError("aged_balance_bars: no numeric age-bucket column")
    labels = [str(v) for v in a.index]
    palette = AGE_COLOURS if len(cols) <= len(AGE_COLOURS) else None
    fig = go.Figure()
    for i, c in enumerate(cols):
        colour = palette[round(i * (len(palette) - 1) / max(len(cols) - 1, 1))] if palette else None
        fig.add_trace(go.Bar(x=labels, y=a[c].astype(float), name=str(c), marker_color=colour,
                             hovertemplate=f"{c}: {_money_hover(locale, currency)}<extra>%{{x}}</extra>"))
    _layout(fig, title or i18n.translator(locale)("aged balance"), locale, barmode="stack", legend_traceorder="normal")
    fig.update_yaxes(**_money_axis(locale, currency))
    return fig


def dso_trend(dso: pd.DataFrame, *, month_col: str = "month", methods: Sequence[str] = ("dso_standard",
              "dso_countback"), title: str | None = None, locale: str = fmt.DEFAULT_LOCALE) -> go.Figure:
    """DSO (days sales outstanding, *délai moyen de paiement clients*) month by month, by each method given.

    Standard: receivables / sales of the last 3 months x days in them. Countback: receivables exhausted against
    sales month by month, latest first (kpi docstrings carry the formulas).
    """
    _require(dso, [month_col, *methods], "dso_trend")
    _ = i18n.translator(locale)
    names = {"dso_standard": _("DSO (standard method)"), "dso_countback": _("DSO (countback method)")}
    d = dso.sort_values(month_col).reset_index(drop=True)
    x = pd.PeriodIndex(d[month_col].astype(str).str[:7], freq="M").to_timestamp()
    fig = go.Figure()
    for m, colour in zip(methods, (FORECAST, "#8e44ad", "#16a085", "#7f8c8d"), strict=False):
        fig.add_trace(go.Scatter(x=x, y=d[m].astype(float), mode="lines+markers", name=names.get(m, m),
                                 line={"color": colour, "width": 2},
                                 hovertemplate=f"{names.get(m, m)}: %{{y:.1f}} {_('days')}<extra></extra>"))
    _layout(fig, title or "DSO", locale, hovermode="x unified")
    fig.update_yaxes(title_text=_("days"), rangemode="tozero")
    return fig


def pit_histogram(pit, *, bins: int = 10, pit_col: str = "pit", horizon_col: str = "horizon",
                  title: str | None = None, locale: str = fmt.DEFAULT_LOCALE) -> go.Figure:
    """Histogram of the probability integral transform, PIT = F_forecast(actual), against the uniform density.

    A calibrated forecast gives flat bars at density 1; a U shape means intervals too narrow, a hump too wide,
    a slope a biased median. One series per horizon when the frame has a ``horizon`` column.
    """
    _ = i18n.translator(locale)
    if isinstance(pit, pd.DataFrame):
        _require(pit, [pit_col], "pit_histogram")
        groups = list(pit.groupby(horizon_col)[pit_col]) if horizon_col in pit.columns else [("", pit[pit_col])]
    else:
        groups = [("", pd.Series(np.asarray(pit, dtype=float).ravel()))]
    edges = np.linspace(0.0, 1.0, bins + 1)
    centres = (edges[:-1] + edges[1:]) / 2
    fig = go.Figure()
    for (h, values), colour in zip(groups, (FORECAST, "#8e44ad", "#16a085", "#e67e22", "#7f8c8d"), strict=False):
        v = values.astype(float).to_numpy()
        v = v[np.isfinite(v)]
        counts, _edges = np.histogram(np.clip(v, 0, 1), bins=edges)
        density = counts / max(len(v), 1) * bins
        name = f"{_('horizon (months)')} {h}" if h != "" else _('PIT')
        fig.add_trace(go.Bar(x=centres, y=density, width=1 / bins * (0.9 / max(len(groups), 1)), name=name,
                             marker_color=colour, hovertemplate=f"{name}: %{{y:.2f}}<extra></extra>"))
    fig.add_hline(y=1.0, line={"color": TARGET, "dash": "dash"}, annotation_text=_("uniform (calibrated)"),
                  annotation_position="top right")
    _layout(fig, title or _("PIT histogram"), locale, barmode="group")
    fig.update_xaxes(range=[0, 1], title_text=_("PIT"))
    fig.update_yaxes(title_text=_("density"), rangemode="tozero")
    return fig


def _tidy_coverage(frame: pd.DataFrame, horizon_col: str, nominal_col: str, coverage_col: str) -> pd.DataFrame:
    """``BacktestResult.metrics`` (wide: ``cover50``, ``cover80`` per method x horizon) as horizon/nominal/coverage
    rows of the model; a frame already tidy is returned as is."""
    wide = [c for c in frame.columns if str(c).startswith("cover") and str(c)[5:].isdigit()]
    if coverage_col in frame.columns or not wide:
        return frame
    model = frame[frame["method"] == "model"] if "method" in frame.columns else frame
    long = model.melt(id_vars=[horizon_col], value_vars=wide, var_name=nominal_col, value_name=coverage_col)
    long[nominal_col] = long[nominal_col].str[5:].astype(float) / 100
    return long.dropna(subset=[coverage_col])


def coverage_chart(coverage: pd.DataFrame, *, horizon_col: str = "horizon", nominal_col: str = "nominal",
                   coverage_col: str = "coverage", goal: tuple[float, float] | None = (0.72, 0.88),
                   title: str | None = None, locale: str = fmt.DEFAULT_LOCALE) -> go.Figure:
    """Observed coverage of the forecast intervals per horizon, against their nominal level (50 %, 80 %).

    Coverage = share of backtest outcomes inside the interval. ``goal`` shades the accepted range of the 80 %
    interval (72-88 % in the issue's goals). Takes a tidy frame or ``BacktestResult.metrics`` as it comes
    (``method``, ``horizon``, ``cover50``, ``cover80``: the model's rows are used).
    """
    coverage = _tidy_coverage(coverage, horizon_col, nominal_col, coverage_col)
    _require(coverage, [horizon_col, nominal_col, coverage_col], "coverage_chart")
    _ = i18n.translator(locale)
    c = coverage.reset_index(drop=True)
    fig = go.Figure()
    for (nominal, grp), colour in zip(c.groupby(nominal_col), (FORECAST, "#8e44ad", "#16a085"), strict=False):
        label = fmt.percent(nominal, locale=locale)
        fig.add_trace(go.Bar(x=grp[horizon_col].astype(str), y=grp[coverage_col].astype(float),
                             name=f"{_('observed coverage')} ({label})", marker_color=colour,
                             text=[fmt.percent(v, locale=locale) for v in grp[coverage_col]],
                             textposition="outside",
                             hovertemplate=f"{_('observed coverage')} {label}: %{{y:.1%}}<extra></extra>"))
        fig.add_hline(y=float(nominal), line={"color": colour, "dash": "dot"},
                      annotation_text=f"{_('nominal level')} {label}", annotation_position="top left")
    if goal is not None:
        fig.add_hrect(y0=goal[0], y1=goal[1], fillcolor="rgba(46,139,87,0.10)", line_width=0,
                      annotation_text=_("goal 72-88%"), annotation_position="top right")
    _layout(fig, title or _("observed coverage"), locale, barmode="group")
    fig.update_xaxes(title_text=_("horizon (months)"), type="category")
    fig.update_yaxes(range=[0, 1.08], tickformat=".0%")
    return fig


# -------------------------------------------------------------------------------------------- baseline against proposal
# The scenario panel's charts: a proposal's report drawn over the baseline's (common random numbers).


def _room_for_legend(fig: go.Figure) -> go.Figure:
    """Title at the very top and the legend under it: the panel's charts carry two rows of legend."""
    return fig.update_layout(title={"y": 0.98, "yanchor": "top"}, margin={"t": 120},
                             legend={"y": 1.04, "yanchor": "bottom"})


def collections_figure(base: TargetReport, prop: TargetReport, *, locale: str = fmt.DEFAULT_LOCALE,
                       currency: str = "EUR") -> go.Figure:
    """Fan of the proposal's monthly collections against the smoothed target, with the baseline's median."""
    _ = i18n.translator(locale)
    m = prop.forecast_months
    fig = fan_chart(m, m, period_col="month", prefix="collections_", target_col="target_p50",
                    title=_("Monthly collections: baseline and proposal against the smoothed target"), locale=locale,
                    currency=currency)
    fig.add_trace(go.Scatter(x=fig.data[0].x, y=base.forecast_months["collections_p50"], mode="lines+markers",
                             name=_("baseline (median)"), line={"color": "#7f8c8d", "dash": "dot", "width": 2}))
    return _room_for_legend(fig)


def cash_figure(base: TargetReport, prop: TargetReport, minimum_balance: float, *,
                locale: str = fmt.DEFAULT_LOCALE, currency: str = "EUR") -> go.Figure:
    """Weekly cash position of the proposal (fan, P(under minimum)), the minimum balance and the baseline median."""
    _ = i18n.translator(locale)
    weeks, base_weeks = prop.shown_weekly, base.shown_weekly   # the weeks the report shows
    fig = cash_position_fan(weeks, minimum_balance, week_col="week_start", prefix="position_",
                            p_below_col="p_under_minimum", locale=locale, currency=currency,
                            title=_("Weekly cash position (proposal) and minimum balance"))
    fig.add_trace(go.Scatter(x=pd.to_datetime(base_weeks["week_start"]), y=base_weeks["position_p50"],
                             mode="lines", name=_("baseline (median)"),
                             line={"color": "#7f8c8d", "dash": "dot", "width": 2}), secondary_y=False)
    return _room_for_legend(fig)


def p_met_figure(base: TargetReport, prop: TargetReport, required_probability: float, *,
                 locale: str = fmt.DEFAULT_LOCALE) -> go.Figure:
    """P(target met) per month: the proposal's bars (green where it reaches the requirement), the baseline's grey."""
    _ = i18n.translator(locale)
    pm, bm = prop.forecast_months, base.forecast_months
    fig = p_target_met_bars(pd.DataFrame({"period": pm["month"].astype(str), "p_target_met": pm["p_target_met"]}),
                            required_probability, title=_("P(target met) per month"), locale=locale)
    fig.data[0].name = _("proposal")
    fig.add_trace(go.Bar(x=fig.data[0].x, y=bm["p_target_met"], name=_("baseline"), marker_color="#bdc3c7",
                         hovertemplate=f"{_('baseline')}: %{{y:.1%}}<extra></extra>"))
    fig.update_layout(barmode="group", showlegend=True)
    return fig


def _fan_data(frame: pd.DataFrame, prefix: str) -> list[dict[str, Any]]:
    """Trace data of a :func:`fan_chart` in its trace order: per band lower y, upper y + customdata; median."""
    out: list[dict[str, Any]] = []
    for lo, hi, _label in BANDS:
        low, high = frame[prefix + lo].to_numpy(float), frame[prefix + hi].to_numpy(float)
        out += [{"y": low}, {"y": high, "customdata": np.column_stack([low, high])}]
    return out + [{"y": frame[prefix + "p50"].to_numpy(float)}]


def chart_data(base: TargetReport, prop: TargetReport, required_probability: float, *,
               locale: str = fmt.DEFAULT_LOCALE) -> dict[str, list[dict[str, Any]]]:
    """The data of the three charts, trace by trace in the order the figure functions draw them.

    An update changes only these arrays (the layout, hover templates and colours of the lines stay), so the panel
    redraws without building plotly figures again; the tests check the result equals a full rebuild.
    """
    m, bm = prop.forecast_months, base.forecast_months
    coll = _fan_data(m, "collections_")
    if not np.allclose(m["target_p10"], m["target_p90"], equal_nan=True):
        coll += [{"y": m["target_p10"].to_numpy(float)}, {"y": m["target_p90"].to_numpy(float)}]
    coll += [{"y": m["burn"].to_numpy(float)}, {"y": m["target_p50"].to_numpy(float)},
             {"y": bm["collections_p50"].to_numpy(float)}]
    p = m["p_target_met"].to_numpy(float)
    p_met = [{"y": p, "marker.color": np.where(p >= required_probability, MET, MISSED).tolist(),
              "text": [fmt.percent(v, locale=locale) for v in p]},
             {"y": bm["p_target_met"].to_numpy(float)}]
    weeks, base_weeks = prop.shown_weekly, base.shown_weekly
    cash = [{"y": weeks["p_under_minimum"].to_numpy(float)}, *_fan_data(weeks, "position_"),
            {"y": base_weeks["position_p50"].to_numpy(float)}]
    return {"collections": coll, "p_target_met": p_met, "cash_position": cash}
