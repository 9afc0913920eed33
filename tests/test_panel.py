"""The scenario panel: real widget callbacks driven without a kernel (widgets get a DummyComm outside one).

Every test sets widget values (or calls ``panel.update``) and checks what the CFO would see: figure data, labels,
tables. The demo company is fitted once per module; each panel simulates 200 paths.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cashsim.compare import payment_terms, scenario_levers
from cashsim.errors import ModelError, ParamsError
from cashsim.fmt import html_table
from cashsim.levers import DunningStep, EarlyPaymentDiscount, apply_levers
from cashsim.panel import (
    LADDER,
    ScenarioPanel,
    control_specs,
    dunning_steps,
    merged_with_baseline,
    scenario_from_values,
)
from cashsim.params import load_params, monthly_values
from cashsim.pipeline import lever_book, prepare, simulate_book
from cashsim.plots import cash_figure, collections_figure, p_met_figure

ROOT = Path(__file__).resolve().parents[1]

PARAMS = ROOT / "params" / "demo.yml"
PATHS = 200


@pytest.fixture(scope="module")
def params():
    return load_params(PARAMS)


@pytest.fixture(scope="module")
def base(params):
    return prepare(params)


@pytest.fixture(scope="module")
def panel(params, base):
    return ScenarioPanel(PARAMS, base=base, n_paths=PATHS)


@pytest.fixture(autouse=True)
def _reset(request):
    """Each test starts from the baseline (the panel is shared by the module to fit only once)."""
    if "panel" in request.fixturenames:
        p = request.getfixturevalue("panel")
        p.update(**p.start)
    yield


def figure_data(fig) -> list[tuple]:
    """Every trace's x and y, as plain tuples (what the browser receives)."""
    return [(tuple(map(str, t.x)) if t.x is not None else (), tuple(np.asarray(t.y, dtype=float)))
            for t in fig.data]


def trace(fig, name):
    return next(t for t in fig.data if t.name == name)


# ------------------------------------------------------------------------------------------------ pure parts


def test_controls_start_on_the_baseline(params):
    specs, start = control_specs(params, params.scenarios["baseline"])
    assert {s.name for s in specs} == set(start)
    assert start["dunning_steps"] == len(params.scenarios["baseline"][0].steps)
    assert start["horizon_months"] == params.horizon_months
    salaries = params.burn.salaries_and_social             # a month-by-month list: the slider shows its mean
    assert start["salaries_and_social"] == pytest.approx(np.mean(monthly_values(salaries, params.horizon_months)))
    assert start["safety_margin"] == pytest.approx(0.03)
    scen = scenario_from_values(params, params.scenarios["baseline"], start)
    assert scen.own == ()                          # proposal = baseline: no lever on top of current practice
    assert scen.levers == merged_with_baseline((), params.scenarios["baseline"])
    assert scen.burn == params.burn                # the burn is left exactly as in the file


def test_off_values_remove_a_lever_and_others_keep_their_fields(params):
    baseline = [EarlyPaymentDiscount(rate=0.01, deadline_days=5, segments=["sme"])]
    _, start = control_specs(params, baseline)
    assert start["discount_rate"] == 0.01
    on = scenario_from_values(params, baseline, {**start, "discount_rate": 0.03})
    assert [(lv.rate, lv.deadline_days, lv.segments) for lv in on.levers] == [(0.03, 5, ["sme"])]
    off = scenario_from_values(params, baseline, {**start, "discount_rate": 0.0})
    assert off.own == ()
    assert off.levers == tuple(baseline)          # the report's merge keeps the baseline's own discount
    none = scenario_from_values(params, [], {**control_specs(params, [])[1], "deposit_share": 0.0})
    assert none.levers == ()


def test_dunning_controls_cut_extend_and_move_the_current_plan():
    current = [DunningStep(day=7, channel="email"), DunningStep(day=15, channel="phone")]
    assert dunning_steps(current, 2, 0) == current
    assert [s.channel for s in dunning_steps(current, 1, 0)] == ["email"]
    firmer = dunning_steps(current, 4, 0)
    assert [(s.day, s.channel) for s in firmer[2:]] == [(d, c) for c, d in LADDER if d > 15][:2]
    earlier = dunning_steps(current, 2, 10)
    assert [s.day for s in earlier] == [-3, 5]     # the first step becomes a reminder before the due date


def test_every_dunning_plan_acts_relative_to_the_baseline(params):
    baseline = params.scenarios["baseline"]
    _, start = control_specs(params, baseline)
    scen = scenario_from_values(params, baseline, {**start, "dunning_days_earlier": 5})
    (plan,) = scen.levers
    assert plan.current == baseline[0].steps
    (own,) = scen.own
    assert own.current is None                     # saved without it: the report makes it relative again
    assert merged_with_baseline((), baseline)[0].current == baseline[0].steps     # baseline vs itself: no-op


# ------------------------------------------------------------------------------------------------ callbacks


def test_panel_opens_with_proposal_equal_to_baseline(panel):
    r = panel.result
    np.testing.assert_array_equal(r.proposal.sim.daily, r.baseline.sim.daily)
    assert r.months["p_met_baseline"].tolist() == r.months["p_met_proposal"].tolist()
    assert len(r.months) == panel.params.horizon_months
    fig = panel.fig_collections
    assert np.allclose(trace(fig, "médiane").y, trace(fig, "référence (médiane)").y)
    assert panel.last_error is None and "Erreur" not in panel.status.value
    assert "<table" in panel.months_html.value and "<table" in panel.costs_html.value
    assert "\u202f" in panel.months_html.value and "€" in panel.months_html.value     # French money: 1 234 567 €


def test_discount_slider_brings_cash_early_and_costs_more(panel):
    before_fig = figure_data(panel.fig_collections)
    before_costs = panel.costs_html.value
    panel.controls["discount_rate"].value = 2              # typed in percent; the real observer runs
    assert panel.last_error is None, panel.last_traceback
    r2 = panel.result
    assert figure_data(panel.fig_collections) != before_fig
    assert panel.costs_html.value != before_costs
    first = r2.months.iloc[0]
    assert first["collections_proposal"] > first["collections_baseline"]         # cash comes in earlier
    median = trace(panel.fig_collections, "médiane").y
    assert median[0] == pytest.approx(first["collections_proposal"])
    cost2 = r2.costs.set_index("lever").loc["early_payment_discount", "cost"]
    assert cost2 > 0
    annual = r2.costs.set_index("lever").loc["early_payment_discount", "annual_rate"]
    terms = payment_terms(r2.baseline.book)                          # demo terms: 30 and 45 days end of month
    assert 30 <= terms <= 60
    assert annual == pytest.approx(0.02 / 0.98 * 365 / (terms - 10))

    panel.controls["discount_rate"].value = 4
    r4 = panel.result
    cost4 = r4.costs.set_index("lever").loc["early_payment_discount", "cost"]
    assert cost4 > cost2                                            # a richer discount costs more ...
    assert r4.months.iloc[0]["collections_proposal"] >= first["collections_proposal"]   # ... and brings more early
    # the discount's cost is what the engine booked, path by path
    booked = r4.proposal.sim.daily_cost.sum(axis=1).mean() - r4.baseline.sim.daily_cost.sum(axis=1).mean()
    assert cost4 == pytest.approx(booked)


def test_moving_a_slider_back_returns_the_same_picture(panel):
    start = [figure_data(f) for f in (panel.fig_collections, panel.fig_cash, panel.fig_p_met)]
    start_tables = (panel.months_html.value, panel.costs_html.value)
    daily = panel.result.proposal.sim.daily.copy()
    panel.controls["promise_calls"].value = 40
    panel.controls["deposit_share"].value = 20
    assert [figure_data(f) for f in (panel.fig_collections, panel.fig_cash, panel.fig_p_met)] != start
    panel.controls["deposit_share"].value = 0
    panel.controls["promise_calls"].value = 0
    assert [figure_data(f) for f in (panel.fig_collections, panel.fig_cash, panel.fig_p_met)] == start
    assert (panel.months_html.value, panel.costs_html.value) == start_tables
    # not only the memo: recomputed from scratch, common random numbers give the same numbers bit for bit
    panel.engine._outcomes.clear()
    panel.engine._chains.clear()
    panel.engine._reports.clear()
    again = panel.compute(panel.values)
    np.testing.assert_array_equal(again.proposal.sim.daily, daily)


def test_burn_slider_moves_the_target_not_the_collections(panel):
    sim_before = panel.result.proposal.sim
    target_before = np.asarray(trace(panel.fig_collections, "objectif lissé").y, dtype=float)
    median_before = np.asarray(trace(panel.fig_collections, "médiane").y, dtype=float)
    p_before = panel.result.months["p_met_proposal"].to_numpy()
    panel.controls["salaries_and_social"].value = 700_000
    assert panel.result.proposal.sim is sim_before                   # no re-simulation for a burn change
    assert (np.asarray(trace(panel.fig_collections, "objectif lissé").y) > target_before).all()
    np.testing.assert_array_equal(np.asarray(trace(panel.fig_collections, "médiane").y), median_before)
    assert (panel.result.months["p_met_proposal"].to_numpy() <= p_before).all()
    salaries = panel.result.scenario.burn.salaries_and_social
    assert np.mean(monthly_values(salaries, panel.params.horizon_months)) == pytest.approx(700_000)


def test_safety_margin_and_horizon(panel):
    panel.controls["safety_margin"].value = 10
    assert panel.result.scenario.burn.safety_margin == "10%"
    panel.controls["horizon_months"].value = 6
    assert len(panel.result.months) == 6
    assert len(trace(panel.fig_collections, "médiane").y) == 6
    assert len(panel.fig_p_met.data[0].y) == 6


def test_promise_calls_mark_the_call_list(panel):
    assert (panel.result.call_list["proposal_action"] == "").all()
    panel.update(promise_calls=30, cutoff_days=60)
    actions = panel.result.call_list["proposal_action"]
    assert actions.str.contains("appel de promesse").any()
    assert "appel de promesse" in panel.calls_html.value          # the panel's words, in French
    costs = panel.result.costs.set_index("lever")
    assert costs.loc["promise_calls", "cost"] == pytest.approx(30 * 15 / 60 * 45)   # 30 calls x 15 min x 45 EUR/h
    assert costs.loc["cutoff_threat", "risk"] == "high"


def cells(table_html: str) -> list[str]:
    """The text of every header and cell of an HTML table, as the CFO reads it."""
    import re

    return [html.unescape(c).strip() for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", table_html, flags=re.S)]


#: English values the panel's tables held before they were put into the reader's words: lever codes, risk levels
#: and client-group codes (whole cells), and words of the next dunning steps (inside a cell).
ENGLISH_CODES = {"early_payment_discount", "deposit", "direct_debit", "dunning_plan", "promise_calls", "cutoff_threat",
                 "financing", "high", "medium", "low", "none", "key_accounts", "public", "sme", "micro"}
ENGLISH_WORDS = ("phone call", "reminder", "dispute", "collection agency", "courtesy call", "formal notice", "customer")


def test_french_tables_hold_no_english_value(panel):
    """Every lever, the call list's next steps and client groups, the risk levels: in French, through the widgets."""
    for name, value in {"discount_rate": 2, "deposit_share": 20, "direct_debit_adoption": 20, "promise_calls": 30,
                        "cutoff_days": 60, "financing_share": 30, "dunning_steps": 5}.items():
        panel.controls[name].value = value
        assert panel.last_error is None, panel.last_traceback
    shown = cells(panel.costs_html.value) + cells(panel.calls_html.value) + cells(panel.months_html.value)
    english = [c for c in shown if c in ENGLISH_CODES or any(e in c.lower() for e in ENGLISH_WORDS)]
    assert not english, english
    costs = cells(panel.costs_html.value)
    assert {"escompte pour paiement anticipé", "acompte", "prélèvement SEPA", "plan de relances", "financement",
            "appels pour promesses de règlement", "menace de suspension", "élevé", "taux annuel"} <= set(costs)
    assert "novembre 2026" in cells(panel.months_html.value)              # months as the reader says them
    calls = cells(panel.calls_html.value)
    assert {"famille de clients", "prochaine action", "grands comptes"} <= set(calls)
    assert any(c.startswith("appel au service comptabilité") for c in calls)
    rungs = dict((v, k) for k, v in panel.controls["dunning_rung"].options)
    assert rungs["litigation"] == "contentieux" and rungs["manager_call"] == "appel de la direction"
    assert panel.controls["dunning_tone"].options[0][0] == "(ton de chaque canal)"
    assert panel.controls["deposit_share"].tooltip.startswith("Part de chaque nouvelle commande")


def test_bad_values_are_refused_with_the_control_named(panel):
    with pytest.raises(ParamsError, match="discount_rat"):
        panel.update(discount_rat=0.02)
    with pytest.raises(ParamsError, match=r"discount_rate.*outside its range"):
        panel.update(discount_rate=0.5)
    assert panel.values["discount_rate"] == 0.0


def test_an_error_in_a_callback_is_shown_in_the_status_line(panel, monkeypatch):
    def broken(*args, **kwargs):
        raise ModelError("the book could not be simulated: test failure")

    monkeypatch.setattr(panel.engine, "outcome", broken)
    panel.controls["financing_share"].value = 50
    assert isinstance(panel.last_error, ModelError)
    assert "the book could not be simulated" in panel.status.value
    assert "ModelError" in panel.last_traceback
    assert panel.controls["financing_share"].value == 0.0            # the slider shows what the charts show
    monkeypatch.undo()
    panel.controls["financing_share"].value = 50
    assert panel.last_error is None and "Erreur" not in panel.status.value


def test_saved_proposal_reloads_and_reproduces_it(panel, params, base, tmp_path):
    panel.update(discount_rate=0.02, promise_calls=30, dunning_days_earlier=5, external_charges=300_000,
                 horizon_months=5)
    shown = panel.result
    panel.save_path.value = str(tmp_path / "next-month.yml")
    panel.save_button.click()
    assert panel.last_error is None, panel.last_traceback
    assert "next-month.yml" in panel.status.value
    saved = load_params(tmp_path / "next-month.yml")
    assert saved.horizon_months == 5
    assert np.mean(monthly_values(saved.burn.external_charges, params.horizon_months)) == pytest.approx(300_000)
    assert set(saved.scenarios) == set(params.scenarios) | {"proposal"}
    kinds = [lv.kind for lv in saved.scenarios["proposal"]]
    assert kinds == ["dunning_plan", "promise_calls", "early_payment_discount"]
    # next month's run: the same chain as the report (pipeline book with what levers read, levers, seed) gives the
    # panel's numbers
    levers = tuple(scenario_levers(saved.scenarios, "proposal"))             # the report's rule
    assert levers == shown.scenario.levers
    base5 = prepare(saved, ledger=base.ledger)
    book, _ = apply_levers(lever_book(base5, extra_days=0), list(levers), base5.model)
    run = simulate_book(base5, book, n_paths=PATHS, burn=saved.burn)
    np.testing.assert_array_equal(run.sim.daily, shown.proposal.sim.daily)
    np.testing.assert_allclose(run.targets.months["p_target_met"].to_numpy()[-5:],
                               shown.months["p_met_proposal"].to_numpy())


def test_saving_needs_a_yaml_name(panel, tmp_path):
    panel.save_path.value = str(tmp_path / "proposal.txt")
    panel.save_button.click()
    assert isinstance(panel.last_error, ParamsError)
    assert ".yml" in panel.status.value


def test_export_writes_a_self_contained_page(panel, tmp_path):
    panel.update(discount_rate=0.02)
    panel.export_dir.value = str(tmp_path)
    panel.export_button.click()
    assert panel.last_error is None, panel.last_traceback
    pages = list(tmp_path.glob("scenario-panel-*.html"))
    assert len(pages) == 1
    text = pages[0].read_text(encoding="utf-8")
    assert len(text) > 3_000_000                                   # plotly.js is embedded: works offline
    assert text.count("Plotly.newPlot") == 3
    assert "escompte pour paiement anticipé" in text and "early_payment_discount" not in text   # French words
    pngs = list(tmp_path.glob("*.png"))
    import importlib.util
    assert bool(pngs) == (importlib.util.find_spec("kaleido") is not None)


def test_fast_redraw_equals_a_full_rebuild(panel):
    """Updates only change trace data: the charts then hold exactly what cashsim.plots would draw from scratch."""
    panel.update(discount_rate=0.03, deposit_share=0.3, taxes_and_vat=300_000)
    r = panel.result
    burn = r.scenario.burn
    full = {"collections": collections_figure(r.baseline_report, r.proposal_report),
            "p_target_met": p_met_figure(r.baseline_report, r.proposal_report, burn.required_probability),
            "cash_position": cash_figure(r.baseline_report, r.proposal_report, burn.minimum_balance)}
    for key, fig in full.items():
        shown = panel.chart_boxes[key].children[0]
        assert len(shown.data) == len(fig.data), key
        for a, b in zip(shown.data, fig.data, strict=False):
            for prop in ("x", "y", "customdata", "text", "name"):
                x, y = a[prop], b[prop]
                if x is None or y is None:
                    assert x is None and y is None, (key, b.name, prop)
                elif prop in ("x", "text", "name"):
                    assert list(map(str, np.atleast_1d(x))) == list(map(str, np.atleast_1d(y))), (key, b.name, prop)
                else:
                    np.testing.assert_allclose(np.asarray(x, float), np.asarray(y, float), err_msg=f"{key} {prop}")
            if b.type == "bar":
                assert list(a.marker.color) == list(b.marker.color)


def test_tables_escape_customer_names():
    html = html_table(pd.DataFrame({"customer_name": ["<script>alert(1)</script>"], "outstanding": [1234.0]}),
                      money_cols=["outstanding"], labels={"customer_name": "client"})
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "1\u202f234\xa0€" in html and "<th>client</th>" in html


def test_rates_are_typed_in_percent_and_out_of_range_is_refused_with_a_message(panel):
    assert panel._spec["discount_rate"].unit == "%"
    panel.controls["discount_rate"].value = 2                         # "2" in the box means 2 %
    assert panel.values["discount_rate"] == pytest.approx(0.02)
    assert panel.sliders["discount_rate"].value == pytest.approx(2)     # the slider follows the box
    panel.controls["discount_rate"].value = 7                         # beyond 5 %: refused, not clipped
    assert isinstance(panel.last_error, ParamsError)
    assert "7 %" in panel.status.value and "5 %" in panel.status.value and "refusé" in panel.status.value
    assert panel.values["discount_rate"] == pytest.approx(0.02)       # nothing moved ...
    assert panel.controls["discount_rate"].value == pytest.approx(2)  # ... and the box shows it again
    panel.controls["promise_calls"].value = -5
    assert isinstance(panel.last_error, ParamsError) and panel.controls["promise_calls"].value == 0
    panel.controls["deposit_share"].value = 20
    assert panel.last_error is None and panel.values["deposit_share"] == pytest.approx(0.2)


def test_every_rung_of_the_dunning_ladder_is_reachable_from_the_panel(panel, params):
    from cashsim.levers.channels import tones
    from cashsim.panel.controls import RUNGS, up_to_rung

    for start in ([], [DunningStep(day=90, channel="email")], list(params.scenarios["baseline"][0].steps)):
        for rung in RUNGS:
            steps = up_to_rung(start, rung, "firm")
            assert steps[-1].channel == rung or rung in {s.channel for s in steps}
            assert max(RUNGS.index(s.channel) for s in steps) == RUNGS.index(rung)
            assert all(s.tone == "firm" for s in steps if "firm" in tones(s.channel))
            assert [s.day for s in steps] == sorted(s.day for s in steps)
    panel.controls["dunning_rung"].value = "litigation"
    panel.controls["dunning_tone"].value = "firm"
    (plan,) = [lv for lv in panel.result.scenario.own if lv.kind == "dunning_plan"]
    assert plan.steps[-1].channel == "litigation"
    assert [s.channel for s in plan.steps if s.channel in RUNGS][:len(RUNGS)] == sorted(
        {s.channel for s in plan.steps}, key=RUNGS.index)
    assert all(s.tone == "firm" for s in plan.steps if "firm" in tones(s.channel))
    assert panel.last_error is None


def test_chart_state_is_what_the_charts_hold(panel):
    v0 = panel.version
    panel.controls["discount_rate"].value = 3
    state = json.loads(html.unescape(panel.state.value))
    assert state["version"] == v0 + 1 == panel.version
    assert state["values"]["discount_rate"] == pytest.approx(3)
    for key, box in panel.chart_boxes.items():
        fig = box.children[0]
        assert fig.layout.meta == {"chart": key, "version": panel.version}
        assert len(state["charts"][key]) == len(fig.data)
        assert fig._widget_data[0]["y"] is not None        # the full state is re-sent with every update
        np.testing.assert_allclose(np.asarray(state["charts"][key][0], dtype=float),
                                   np.asarray(fig._widget_data[0]["y"], dtype=float))


def test_a_chart_whose_views_stop_following_is_replaced(panel):
    """A view that drew the chart but never acknowledges the next update shows a stale picture: replaced."""
    fig = panel.fig_p_met
    panel._acked["p_target_met"] = fig._last_trace_edit_id          # as if a browser view had drawn it
    panel.controls["deposit_share"].value = 20                     # the update is sent, no view acknowledges it
    assert panel._heal(panel.version - 1) == []                    # an older update's check does nothing
    assert panel._heal(panel.version) == ["p_target_met"]
    assert panel.fig_p_met is not fig and panel._acked["p_target_met"] is None
    np.testing.assert_array_equal(np.asarray(panel.fig_p_met.data[0].y), np.asarray(fig.data[0].y))
    assert panel.fig_p_met.layout.meta == {"chart": "p_target_met", "version": panel.version}
    assert panel._heal(panel.version) == []                        # charts without views are left alone

