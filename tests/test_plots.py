"""Plot functions on hand-made frames shaped like the contracts: right traces, right numbers, static figures."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from cashsim import plots
from cashsim.errors import CashsimError, InputError

QCOLS = ("p05", "p10", "p25", "p50", "p75", "p90", "p95")


def quantile_frame(index_col: str, keys, centre) -> pd.DataFrame:
    centre = np.asarray(centre, dtype=float)
    spread = {"p05": -0.2, "p10": -0.15, "p25": -0.07, "p50": 0.0, "p75": 0.07, "p90": 0.15, "p95": 0.2}
    data = {index_col: keys, **{q: centre * (1 + s) for q, s in spread.items()}, "mean": centre}
    return pd.DataFrame(data)


@pytest.fixture
def monthly():
    return quantile_frame("period", ["2026-11", "2026-12", "2027-01", "2027-02"], [1.0e6, 9.0e5, 1.1e6, 1.05e6])


def test_fan_chart_bands_median_and_target(monthly):
    targets = pd.DataFrame({"period": ["2027-02", "2026-11", "2026-12", "2027-01"],  # out of order on purpose
                            "target": [1.2e6, 1.05e6, 9.5e5, 1.0e6], "burn": [1.0e6] * 4,
                            "target_p10": [1.1e6, 1.05e6, 9.0e5, 9.5e5], "target_p90": [1.3e6, 1.05e6, 1.0e6, 1.1e6]})
    fig = plots.fan_chart(monthly, targets)
    assert type(fig) is go.Figure
    names = [t.name for t in fig.data]
    assert names.count("intervalle 90 %") == names.count("intervalle 80 %") == names.count("intervalle 50 %") == 1
    median = next(t for t in fig.data if t.name == "médiane")
    np.testing.assert_allclose(median.y, monthly["p50"])
    target = next(t for t in fig.data if t.name == "objectif lissé")
    np.testing.assert_allclose(target.y, [1.05e6, 9.5e5, 1.0e6, 1.2e6])  # aligned on the forecast's months
    assert list(target.x) == ["nov. 2026", "déc. 2026", "janv. 2027", "févr. 2027"]
    band = next(t for t in fig.data if t.name == "intervalle 90 %")
    np.testing.assert_allclose(band.y, monthly["p95"])
    assert band.fill == "tonexty"
    assert fig.layout.separators == ",\u202f" and fig.layout.yaxis.ticksuffix == "\xa0€"


def test_fan_chart_reads_prefixed_target_report_months(monthly):
    months = monthly.rename(columns=lambda c: f"collections_{c}" if c != "period" else "month")
    months["target_p50"] = [1.05e6, 9.5e5, 1.0e6, 1.2e6]
    months["target_p10"] = months["target_p90"] = months["target_p50"]  # a fixed target: no band drawn
    fig = plots.fan_chart(months, months, period_col="month", prefix="collections_", target_col="target_p50")
    np.testing.assert_allclose(fig.data[-2].y, monthly["p50"])
    np.testing.assert_allclose(fig.data[-1].y, months["target_p50"])
    assert "objectif (10e-90e pct.)" not in [t.name for t in fig.data]


def test_fan_chart_english_and_no_target(monthly):
    fig = plots.fan_chart(monthly, locale="en_US")
    assert "smoothed target" not in [t.name for t in fig.data]
    assert fig.layout.yaxis.tickprefix == "€" and fig.layout.separators == ".,"
    assert fig.data[-1].name == "median"


def test_missing_column_is_named(monthly):
    with pytest.raises(InputError, match=r"missing column\(s\) \['p50'\]") as caught:
        plots.fan_chart(monthly.drop(columns="p50"))
    # a cashsim error the CLI turns into one line, a ValueError for Python callers, the column as a field
    assert isinstance(caught.value, CashsimError) and isinstance(caught.value, ValueError)
    assert caught.value.column == "p50"


def test_cash_position_fan_with_minimum_and_probability():
    weeks = pd.date_range("2026-11-02", periods=6, freq="W-MON")
    w = quantile_frame("week_start", weeks, [3e5, 2.5e5, 2e5, 1.8e5, 2.2e5, 2.6e5])
    w = w.rename(columns=lambda c: f"position_{c}" if c.startswith("p") or c == "mean" else c)
    w["p_under_minimum"] = [0.0, 0.05, 0.2, 0.4, 0.1, 0.02]  # shaped like TargetReport.weekly
    fig = plots.cash_position_fan(w, minimum_balance=150_000)
    bars = [t for t in fig.data if isinstance(t, go.Bar)]
    assert len(bars) == 1 and bars[0].yaxis == "y2"
    np.testing.assert_allclose(bars[0].y, w["p_under_minimum"])
    median = next(t for t in fig.data if t.name == "trésorerie en fin de semaine")
    np.testing.assert_allclose(median.y, w["position_p50"])
    assert fig.layout.shapes[0].y0 == 150_000
    assert "150\u202f000\xa0€" in fig.layout.annotations[0].text


def test_p_target_met_colours_against_required():
    f = pd.DataFrame({"period": ["2026-11", "2026-12", "2027-01"], "p_target_met": [0.9, 0.55, 0.8]})
    fig = plots.p_target_met_bars(f, required_probability=0.8)
    assert list(fig.data[0].marker.color) == [plots.MET, plots.MISSED, plots.MET]
    assert list(fig.data[0].text) == ["90\xa0%", "55\xa0%", "80\xa0%"]
    assert fig.layout.shapes[0].y0 == 0.8


def test_levers_waterfall_adds_up_to_the_plan():
    gains = pd.DataFrame({"lever": ["discount 2% 10d", "dunning", "factoring"],
                          "extra_cash": [120_000.0, 45_000.0, 300_000.0]})
    fig = plots.levers_waterfall(gains, baseline=2_000_000)
    w = fig.data[0]
    assert list(w.measure) == ["absolute", "relative", "relative", "relative", "total"]
    assert list(w.x)[0] == "sans levier" and list(w.x)[-1] == "avec le plan"
    assert sum(w.y[:-1]) == pytest.approx(2_465_000)
    fig0 = plots.levers_waterfall(gains, locale="en_GB")
    assert list(fig0.data[0].measure) == ["relative"] * 3 + ["total"]


def test_lever_cost_scatter_sizes_by_cash():
    c = pd.DataFrame({"lever": ["a", "b", "<script>alert(1)</script>"], "cost": [1000.0, 5000.0, 20000.0],
                      "p_target_met": [0.6, 0.75, 0.92], "extra_cash": [0.0, 25_000.0, 100_000.0]})
    fig = plots.lever_cost_scatter(c, required_probability=0.8)
    sizes = [t.marker.size for t in fig.data]
    assert sizes[0] == 10 and sizes[2] == 40 and sizes[0] < sizes[1] < sizes[2]
    np.testing.assert_allclose([t.x[0] for t in fig.data], c["cost"])
    assert [t.name for t in fig.data] == list(c["lever"])
    # a name from the data cannot close the <script> tag the figure JSON is embedded in
    assert "</script>" not in fig.to_json()


def test_aged_balance_stacks_buckets_in_order():
    aged = pd.DataFrame({"segment": ["key_accounts", "sme", "micro"],
                         "not_due": [5e5, 2e5, 5e4], "1-30": [1e5, 8e4, 2e4], "31-60": [3e4, 4e4, 1e4],
                         "61-90": [1e4, 2e4, 8e3], ">90": [5e3, 3e4, 1.2e4], "n_invoices": [10, 20, 30]},
                        ).astype({"n_invoices": "int64"})
    fig = plots.aged_balance_bars(aged, group_col="segment", buckets=["not_due", "1-30", "31-60", "61-90", ">90"])
    assert fig.layout.barmode == "stack"
    assert [t.name for t in fig.data] == ["not_due", "1-30", "31-60", "61-90", ">90"]
    assert fig.data[0].marker.color == plots.AGE_COLOURS[0] and fig.data[-1].marker.color == plots.AGE_COLOURS[-1]
    total = np.sum([np.asarray(t.y) for t in fig.data], axis=0)
    np.testing.assert_allclose(total, [6.45e5, 3.7e5, 1.0e5])


def test_dso_trend_two_methods():
    d = pd.DataFrame({"month": ["2026-10", "2026-08", "2026-09"], "dso_standard": [52.0, 48.0, 50.0],
                      "dso_countback": [55.0, 47.0, 51.0]})
    fig = plots.dso_trend(d)
    assert [t.name for t in fig.data] == ["DSO (méthode standard)", "DSO (méthode par épuisement)"]
    np.testing.assert_allclose(fig.data[0].y, [48, 50, 52])  # sorted by month


def test_pit_histogram_is_a_density():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"pit": np.r_[rng.uniform(size=4000), rng.beta(0.5, 0.5, size=4000)],
                          "horizon": np.repeat([1, 2], 4000)})
    fig = plots.pit_histogram(frame, bins=10)
    assert len(fig.data) == 2
    flat, ushape = (np.asarray(t.y) for t in fig.data)
    assert np.mean(flat) == pytest.approx(1.0) and np.abs(flat - 1).max() < 0.2
    assert ushape[0] > 2 * ushape[5]  # a U shape: intervals too narrow
    one = plots.pit_histogram(rng.uniform(size=100), bins=5)
    assert np.sum(one.data[0].y) / 5 == pytest.approx(1.0)


def test_coverage_chart_groups_levels_and_goal_band():
    cov = pd.DataFrame({"horizon": [1, 2, 3, 1, 2, 3], "nominal": [0.5] * 3 + [0.8] * 3,
                        "coverage": [0.48, 0.52, 0.55, 0.79, 0.82, 0.86]})
    fig = plots.coverage_chart(cov)
    assert len(fig.data) == 2
    np.testing.assert_allclose(fig.data[1].y, [0.79, 0.82, 0.86])
    rect = [s for s in fig.layout.shapes if s.type == "rect"]
    assert rect and rect[0].y0 == 0.72 and rect[0].y1 == 0.88


def test_coverage_chart_reads_backtest_metrics():
    metrics = pd.DataFrame({"method": ["model"] * 3 + ["due_date"] * 3, "horizon": ["1", "2", "all"] * 2,
                            "cover50": [0.5, 0.45, 0.48, np.nan, np.nan, np.nan],
                            "cover80": [0.81, 0.76, 0.79, np.nan, np.nan, np.nan]})
    fig = plots.coverage_chart(metrics)
    assert [list(t.x) for t in fig.data] == [["1", "2", "all"]] * 2
    np.testing.assert_allclose(fig.data[1].y, [0.81, 0.76, 0.79])


def test_figures_serialise(monthly):
    """Every figure goes through plotly's JSON (what the HTML report embeds)."""
    fig = plots.fan_chart(monthly)
    assert json.loads(fig.to_json())["data"]
