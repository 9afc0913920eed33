"""The panel's widgets (:class:`ScenarioPanel`): sliders over the live simulation, baseline next to proposal.

Per control a slider with ``continuous_update=False`` (computed on release, so a drag costs one update) and a box for
a typed value, both in shown units (percent for a rate: "2" is 2 %; a value outside the range is refused with a
message in the status line, never clipped), dropdowns for the dunning rung and tone, a busy/status line,
``go.FigureWidget`` charts updated inside ``batch_update()`` (one message to the browser per chart), HTML tables;
buttons to save the proposal as a params YAML (next month's report scenario) and to export the charts. Errors inside
callbacks are shown in the status line and kept in ``panel.last_error``; they are never swallowed (ipywidgets#2612).

Redraw rule: while the months and weeks shown stay the same, an update changes trace data only
(:func:`cashsim.plots.chart_data`); otherwise the charts are rebuilt by :mod:`cashsim.plots` and a displayed figure
receives only the properties that changed (:func:`_sync_figure`), or is replaced when its traces differ in number or
type. The call list is re-rendered only when the proposal's actions in it change. Every update stamps each figure's
``layout.meta`` with the update number (``panel.version``) and then re-sends the figure's whole state
(:func:`_resync`), so a chart drawn late still shows the last update; the hidden ``.cashsim-state`` element holds
the number and every chart's data (:meth:`ScenarioPanel.chart_state`). The layout fits 1024 px: controls 330 px,
charts autosized to the rest.

Outside a kernel the widgets get a ``DummyComm``: tests set ``panel.controls["discount_rate"].value = 0.02`` and
read figure data, labels and tables; :meth:`ScenarioPanel.update` is the same code path, callable directly.

Example::

    >>> panel = ScenarioPanel("params/demo.yml", n_paths=500)          # doctest: +SKIP
    >>> result = panel.update(discount_rate=0.02, discount_deadline_days=10)   # doctest: +SKIP
    >>> result.months[["month", "p_met_baseline", "p_met_proposal"]]   # doctest: +SKIP
    >>> panel.save_proposal("params/demo-2026-11.yml")                 # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import html
import importlib.util
import json
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ipywidgets as w
import numpy as np
import pandas as pd
import plotly.graph_objects as go

from cashsim import fmt, i18n
from cashsim.compare import BASELINE, cost_table, scenario_levers, side_by_side
from cashsim.errors import CashsimError, ParamsError
from cashsim.fmt import html_table
from cashsim.kpi import call_list, no_dunning_note
from cashsim.ledger import TABLES
from cashsim.levers import CutOffThreat, PromiseCalls
from cashsim.panel.controls import PROPOSAL, Control, Scenario, control_specs, scenario_from_values
from cashsim.panel.engine import PANEL_PATHS, Outcome, PanelEngine
from cashsim.panel.sync import _chart_shape, _differs, _resync, _sync_figure
from cashsim.panel.text import CUTOFF_NOTICE, PROMISE_CALL, control_text, labels, option_label, shown_values
from cashsim.params import Params, dump_params, load_params
from cashsim.pipeline import Baseline, prepare
from cashsim.plots import cash_figure, chart_data, collections_figure, p_met_figure
from cashsim.targets import TargetReport

#: Rows of the call list shown.
CALL_ROWS = 12
#: The panel's charts, in the order shown.
CHARTS = ("collections", "p_target_met", "cash_position")
#: Seconds after an update by which a browser that draws a chart has acknowledged it; a chart whose views stay
#: silent longer is replaced by a new widget (:meth:`ScenarioPanel._heal`). Generous: a loaded machine is slow.
HEAL_SECONDS = 4.0


@dataclass(frozen=True)
class PanelResult:
    """Everything one update shows: the scenario, both outcomes and reports, the tables, and the time it took."""

    values: dict[str, Any]
    scenario: Scenario
    baseline: Outcome
    proposal: Outcome
    baseline_report: TargetReport
    proposal_report: TargetReport
    months: pd.DataFrame
    costs: pd.DataFrame
    call_list: pd.DataFrame
    seconds: float = field(default=0.0)


class ScenarioPanel:
    """Sliders over the live simulation: baseline and proposal side by side against the smoothed target.

    ``params``: a :class:`~cashsim.params.Params` or the path of a params YAML. ``n_paths``: paths per update
    (common random numbers with ``seed``, default the params' seed). ``base``: an already fitted
    :class:`~cashsim.pipeline.Baseline` (else :func:`cashsim.pipeline.prepare` runs). ``output_dir``: default
    folder of the chart export. Display it as the last expression of a cell (or ``panel.widget``).
    """

    def __init__(self, params: Params | str | Path, *, n_paths: int = PANEL_PATHS, seed: int | None = None,
                 base: Baseline | None = None, output_dir: str | Path | None = None):
        self.params_path = None if isinstance(params, Params) else Path(params).resolve()
        self.params = params if isinstance(params, Params) else load_params(params)
        #: where "Export charts" writes: ``report.output_dir`` from the working directory, as ``cashsim report``
        self.output_dir = Path(output_dir if output_dir is not None else self.params.report.output_dir).resolve()
        self.locale = self.params.report.locale
        self.currency = self.params.currency
        self.baseline_levers = tuple(self.params.scenarios.get("baseline", []))
        self.engine = PanelEngine(prepare(self.params) if base is None else base, self.params, n_paths=n_paths,
                                  seed=seed)
        self.specs, self.start = control_specs(self.params, self.baseline_levers)
        self._spec = {s.name: s for s in self.specs}
        self.values: dict[str, Any] = dict(self.start)
        self.last_error: BaseException | None = None
        self.last_traceback = ""
        self.result: PanelResult | None = None
        self._syncing = False
        self._chart_shape: tuple = ()
        self._calls_key: tuple | None = None
        self._call_list = self._base_call_list()
        self._build_widgets()
        self.update()

    # -- computations --------------------------------------------------------------------------------------------
    def _base_call_list(self) -> pd.DataFrame:
        """The KPI call list (*relances*) at as_of, ranked by amount at stake x risk: it does not move with levers."""
        return call_list(self.engine.ledger, self.engine.as_of, reliability=self.engine.model.customers)

    def scenario(self, values: dict[str, Any] | None = None) -> Scenario:
        """The scenario of the given (default: current) control values."""
        return scenario_from_values(self.params, self.baseline_levers, values or self.values)

    def _checked(self, values: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(values) - set(self._spec))
        if unknown:
            raise ParamsError(f"unknown panel control(s) {unknown}; the controls are {sorted(self._spec)}")
        return {k: self._spec[k].check(v) for k, v in values.items()}

    def compute(self, values: dict[str, Any]) -> PanelResult:
        """Everything the panel shows for control values (no widget touched): the testable core of an update."""
        t0 = time.perf_counter()
        scen = self.scenario(values)
        months = scen.horizon_months
        base = self.engine.outcome(months, tuple(scenario_levers({BASELINE: list(self.baseline_levers)},
                                                                 BASELINE)))
        prop = self.engine.outcome(months, scen.levers)
        rb, rp = self.engine.report(base, scen.burn), self.engine.report(prop, scen.burn)
        horizon = list(base.sim.months)
        table = cost_table(base, prop, horizon)
        calls = self._proposal_call_list(prop)
        return PanelResult(values=dict(values), scenario=scen, baseline=base, proposal=prop, baseline_report=rb,
                           proposal_report=rp, months=side_by_side(rb, rp), costs=table, call_list=calls,
                           seconds=time.perf_counter() - t0)

    def _proposal_call_list(self, prop: Outcome) -> pd.DataFrame:
        """The KPI call list with the proposal's action per customer (promise call, formal notice) beside it."""
        calls = self._call_list.head(CALL_ROWS).copy()
        tags = [[] for _ in range(len(calls))]
        for lv in prop.levers:
            if isinstance(lv, PromiseCalls | CutOffThreat):
                who = set(lv.actions(prop.book, self.engine.model)["customer_id"].astype(str))
                tag = i18n.gettext(PROMISE_CALL if isinstance(lv, PromiseCalls) else CUTOFF_NOTICE, self.locale)
                for i in np.flatnonzero(calls["customer_id"].astype(str).isin(who).to_numpy()):
                    tags[i].append(tag)
        calls["proposal_action"] = [", ".join(t) for t in tags]
        return calls

    def update(self, **values: Any) -> PanelResult:
        """Set controls (by name, in their units: shares as fractions, days, euros) and redraw everything.

        Returns the :class:`PanelResult` shown; raises :class:`~cashsim.errors.ParamsError` for an unknown control
        or a value outside its range (the widgets are left unchanged then). ``result.seconds`` is the compute
        time; the redraw is included in the time :func:`benchmark_update` measures.
        """
        new = {**self.values, **self._checked(values)}
        result = self.compute(new)
        self.values = new
        self._set_widgets(new)
        self._render(result)
        self.result = result
        return result

    # -- widgets ---------------------------------------------------------------------------------------------
    def _label(self, spec: Control) -> tuple[str, str]:
        """(label, help) of a control in the panel's language."""
        return control_text(spec.label, spec.help, self.locale)

    def _make_control(self, spec: Control) -> tuple[w.Widget, w.Widget | None, w.Widget]:
        """(typed box, slider or None, row) of one control, in shown units (percent for a rate).

        The box accepts any number: a value outside the range is refused with a message (never clipped); the
        slider (computed on release) cannot leave the range. A choice is a dropdown.
        """
        label, help_ = self._label(spec)
        value = spec.shown(self.start[spec.name])
        if spec.kind == "choice":
            options = [(option_label(o, self.locale, tone=spec.name == "dunning_tone"), o) for o in spec.options]
            box = w.Dropdown(options=options, value=value, layout=w.Layout(flex="1 1 auto", width="170px"))
            row = w.HBox([w.Label(label, layout=w.Layout(width="150px", flex="0 0 150px")), box],
                         layout=w.Layout(width="100%"))
            box.tooltip = help_
            return box, None, row
        cls, text = (w.IntSlider, w.IntText) if spec.kind == "int" else (w.FloatSlider, w.FloatText)
        lo, hi, step = spec.shown(spec.lo), spec.shown(spec.hi), spec.shown(spec.step)
        slider = cls(value=value, min=lo, max=hi, step=step, readout=False, continuous_update=False,
                     layout=w.Layout(flex="1 1 60px", min_width="60px"))
        box = text(value=value, step=step, layout=w.Layout(width="76px", flex="0 0 76px"))
        box.add_class("cashsim-input")
        row = w.HBox([w.Label(label, layout=w.Layout(width="150px", flex="0 0 150px")), slider, box],
                     layout=w.Layout(width="100%"))
        for x in (slider, box):
            x.tooltip = help_
        return box, slider, row

    def _build_widgets(self) -> None:
        _ = i18n.translator(self.locale)
        #: per control: the typed box (shown units: percent for a rate), the slider, the row that holds them
        self.controls: dict[str, w.Widget] = {}
        self.sliders: dict[str, w.Widget] = {}
        rows: dict[str, w.Widget] = {}
        for spec in self.specs:
            box, slider, row = self._make_control(spec)
            self.controls[spec.name], rows[spec.name] = box, row
            row.add_class(f"cashsim-control-{spec.name}")
            box.observe(self._guard(self._on_control), names="value")
            if slider is not None:
                self.sliders[spec.name] = slider
                slider.observe(self._guard(self._on_control), names="value")
        self.status = w.HTML(value="", layout=w.Layout(min_height="24px"))
        self.status.add_class("cashsim-status")
        self.busy = w.Label(value="")
        #: what the kernel drew last, for a browser to check (hidden): version, control values, chart data
        self.state = w.HTML(value="", layout=w.Layout(display="none"))
        self.state.add_class("cashsim-state")
        self.version = 0
        #: per chart, the latest update a browser view acknowledged (None: no view yet); charts replaced so far
        self._acked: dict[str, int | None] = {}
        self.healed = 0
        #: one box per chart: a chart whose traces change in number is replaced by a new FigureWidget
        self.chart_boxes = {k: w.Box(layout=w.Layout(width="100%", min_width="0")) for k in CHARTS}
        self.months_html = w.HTML(layout=w.Layout(overflow="auto", max_width="100%"))
        self.costs_html = w.HTML(layout=w.Layout(overflow="auto", max_width="100%"))
        self.calls_html = w.HTML(layout=w.Layout(overflow="auto", max_width="100%"))
        default_yaml = ((self.params_path.parent if self.params_path else Path.cwd())
                        / f"{(self.params_path.stem if self.params_path else 'params')}-{PROPOSAL}.yml")
        full = w.Layout(width="100%")
        self.save_path = w.Text(value=str(default_yaml), description=_("Save as"), layout=full)
        self.save_button = w.Button(description=_("Save proposal as params YAML"), icon="save",
                                    layout=w.Layout(width="100%"))
        self.save_button.on_click(self._guard(lambda _b: self._on_save()))
        self.export_dir = w.Text(value=str(self.output_dir), description=_("Export to"), layout=w.Layout(width="100%"))
        self.export_button = w.Button(description=_("Export charts"), icon="download", layout=w.Layout(width="100%"))
        self.export_button.on_click(self._guard(lambda _b: self._on_export()))
        self.reset_button = w.Button(description=_("Back to baseline"), icon="undo", layout=w.Layout(width="100%"))
        self.reset_button.on_click(self._guard(lambda _b: self._on_reset()))

        groups = {"levers": _("Levers (proposal)"), "burn": _("Cash burn and safety margin"), "horizon": _("Horizon")}

        def box(group: str) -> w.VBox:
            items = [rows[s.name] for s in self.specs if s.group == group]
            return w.VBox([w.HTML(f"<b>{html.escape(groups[group])}</b>"), *items])

        # 1024 px wide: controls 330 px, charts the rest (they autosize to their box)
        controls = w.VBox([box("levers"), box("burn"), box("horizon"),
                           w.HTML(f"<b>{html.escape(_('Scenario'))}</b>"), self.reset_button,
                           self.save_path, self.save_button, self.export_dir, self.export_button],
                          layout=w.Layout(width="330px", flex="0 0 330px"))
        boxes = self.chart_boxes
        outputs = w.VBox([w.HBox([self.busy, self.status]), self.state, boxes["collections"],
                          w.HTML(f"<b>{html.escape(_('baseline'))} / {html.escape(_('proposal'))}</b>"),
                          self.months_html, boxes["p_target_met"], boxes["cash_position"],
                          w.HTML(f"<b>{html.escape(_('Costs'))}</b>"), self.costs_html,
                          w.HTML(f"<b>{html.escape(_('Call list'))}</b>"), self.calls_html],
                          layout=w.Layout(flex="1 1 0", min_width="0", overflow="hidden"))
        self.widget = w.HBox([controls, outputs], layout=w.Layout(width="100%", max_width="100%"))
        self.widget.add_class("cashsim-panel")

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def _set_widgets(self, values: dict[str, Any]) -> None:
        """Show control values (control units) on the boxes and sliders, without triggering updates."""
        self._syncing = True
        try:
            for name, v in values.items():
                shown = self._spec[name].shown(v)
                for ctl in (self.controls[name], self.sliders.get(name)):
                    if ctl is not None and ctl.value != shown:
                        ctl.value = shown
        finally:
            self._syncing = False

    def _fast_render(self, r: PanelResult) -> bool:
        """Redraw by changing trace data only (see :func:`chart_data`); False when the charts' shape changed."""
        if _chart_shape(r.proposal_report) != self._chart_shape:
            return False
        data = chart_data(r.baseline_report, r.proposal_report, r.scenario.burn.required_probability,
                          locale=self.locale)
        for key, traces in data.items():
            box = self.chart_boxes[key]
            fig = box.children[0] if box.children else None
            if fig is None or len(fig.data) != len(traces):
                return False
        for key, traces in data.items():
            fig = self.chart_boxes[key].children[0]
            with fig.batch_update():
                for trace, values in zip(fig.data, traces, strict=False):
                    for prop, value in values.items():
                        if _differs(trace[prop], value):
                            trace[prop] = value
                fig.layout.meta = {"chart": key, "version": self.version}
        return True

    def _show(self, key: str, fig: go.Figure) -> None:
        fig.update_layout(meta={"chart": key, "version": self.version}, autosize=True, width=None)
        box = self.chart_boxes[key]
        if not box.children or not _sync_figure(box.children[0], fig):
            self._new_widget(key, fig)

    def _new_widget(self, key: str, fig: go.Figure) -> None:
        """Show ``fig`` as a new FigureWidget in its box, listening for the browser's acknowledgements."""
        widget = go.FigureWidget(fig)
        self._acked[key] = None
        widget.observe(lambda change, k=key: self._on_ack(k, change), names="_js2py_traceDeltas")
        self.chart_boxes[key].children = (widget,)

    def _on_ack(self, key: str, change: dict[str, Any]) -> None:
        """A view of chart ``key`` drew up to an edit (plotly's ``trace_edit_id``): remember the latest."""
        msg = change["new"]
        if msg and "trace_edit_id" in msg:
            self._acked[key] = max(int(msg["trace_edit_id"]), self._acked.get(key) or 0)

    def _heal(self, version: int) -> list[str]:
        """Replace every chart whose browser views stopped following (returns their keys).

        A view acknowledges each update it draws (plotly's ``_js2py_traceDeltas``); a chart a view has drawn
        (one acknowledgement at least) whose last update is unacknowledged ``HEAL_SECONDS`` later shows a stale
        picture - its browser model no longer hears the update messages - so it is shown again as a new widget
        with the current data. Skipped when a newer update has been drawn since (it schedules its own check).
        """
        if version != self.version:
            return []
        healed = []
        for key, box in self.chart_boxes.items():
            fig = box.children[0]
            acked = self._acked.get(key)
            if acked is not None and acked < fig._last_trace_edit_id:
                self._new_widget(key, go.Figure(fig))
                healed.append(key)
        self.healed += len(healed)
        return healed

    def _schedule_heal(self) -> None:
        """Check the charts :data:`HEAL_SECONDS` after this update, on the kernel's event loop (none in pytest)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        loop.call_later(HEAL_SECONDS, self._guard_heal, self.version)

    def _guard_heal(self, version: int) -> None:
        try:
            self._heal(version)
        except Exception as exc:  # shown, never swallowed (a timer callback has no caller)
            self.last_error = exc
            self.last_traceback = traceback.format_exc()

    @property
    def fig_collections(self) -> go.FigureWidget:
        """The chart of monthly collections against the smoothed target (as shown)."""
        return self.chart_boxes["collections"].children[0]

    @property
    def fig_p_met(self) -> go.FigureWidget:
        """The chart of P(target met) per month (as shown)."""
        return self.chart_boxes["p_target_met"].children[0]

    @property
    def fig_cash(self) -> go.FigureWidget:
        """The chart of the weekly cash position (as shown)."""
        return self.chart_boxes["cash_position"].children[0]

    def _full_render(self, r: PanelResult) -> None:
        """Build the three charts with :mod:`cashsim.plots` (first draw, or a new horizon)."""
        loc, cur = self.locale, self.currency
        burn = r.scenario.burn
        self._show("collections", collections_figure(r.baseline_report, r.proposal_report, locale=loc,
                                                     currency=cur))
        self._show("p_target_met", p_met_figure(r.baseline_report, r.proposal_report, burn.required_probability,
                                                locale=loc))
        self._show("cash_position", cash_figure(r.baseline_report, r.proposal_report, burn.minimum_balance,
                                                locale=loc, currency=cur))
        self._chart_shape = _chart_shape(r.proposal_report)

    def _render(self, r: PanelResult) -> None:
        loc, cur = self.locale, self.currency
        self.version += 1
        if not self._fast_render(r):
            self._full_render(r)
        for fig in self.chart_boxes.values():
            _resync(fig.children[0])
        self._schedule_heal()
        names = labels(loc)
        months = r.months.assign(month=[fmt.month_name(m, locale=loc) for m in r.months["month"]])  # novembre 2026
        self.months_html.value = html_table(
            months, locale=loc, currency=cur, labels=names,
            money_cols=[c for c in r.months.columns if c.startswith(("required", "target", "collections", "short"))],
            percent_cols=["p_met_baseline", "p_met_proposal"])
        self.costs_html.value = html_table(shown_values(r.costs, loc), money_cols=["cost", "extra_cash"],
                                           percent_cols=["annual_rate", "cost_per_euro"], locale=loc, currency=cur,
                                           labels=names)
        cols = ["rank", "customer_name", "segment", "outstanding", "days_overdue", "next_action", "proposal_action"]
        calls = r.call_list[cols]
        key = tuple(calls["proposal_action"])        # the rest of the call list does not move with the controls
        if key != self._calls_key:
            said = no_dunning_note(self.engine.ledger, calls["days_overdue"])  # why 579 days late is a 1st reminder
            self.calls_html.value = html_table(shown_values(calls, loc), money_cols=["outstanding"], locale=loc,
                                               currency=cur, labels=names) + (
                f'<p class="cashsim-note">{html.escape(i18n.translator(loc).gettext(said))}</p>' if said else "")
            self._calls_key = key
        self.state.value = html.escape(json.dumps(self.chart_state(), allow_nan=False))

    def chart_state(self) -> dict[str, Any]:
        """What the panel shows now: ``version`` (one more per update), the control values (shown units) and every
        chart's trace ``y`` data (NaN as None). Written to the hidden ``.cashsim-state`` element, whose text a
        browser test compares with the plotly graphs it drew (``layout.meta.version`` says which update they show).
        """
        charts = {}
        for key, box in self.chart_boxes.items():
            charts[key] = [[None if v is None or (isinstance(v, float) and not np.isfinite(v)) else float(v)
                            for v in np.asarray(t.y if t.y is not None else [], dtype=float).tolist()]
                           for t in box.children[0].data]
        values = {k: self._spec[k].shown(v) for k, v in self.values.items()}
        return {"version": self.version, "values": values, "charts": charts}

    # -- callbacks -------------------------------------------------------------------------------------------
    def _guard(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Run a callback with a busy state; show its message (a str it returns) or any error in the status line.

        An error is never swallowed: its message goes to the status line, the exception to ``last_error`` and the
        traceback to ``last_traceback`` (callback output is invisible in JupyterLab, ipywidgets#2612).
        """
        def wrapped(*args: Any) -> Any:
            if self._syncing:
                return None
            _ = i18n.translator(self.locale)
            self.busy.value = "●"
            self.status.value = f"<span>{html.escape(_('Computing…'))}</span>"
            t0 = time.perf_counter()
            try:
                out = fn(*args)
            except Exception as exc:  # shown to the user, kept for the caller: never swallowed
                self.last_error = exc
                self.busy.value = "⚠"
                kind = "" if isinstance(exc, CashsimError) else f"{type(exc).__name__}: "
                self.status.value = (f"<span style='color:#c0392b'><b>{html.escape(_('Error'))}</b>: "
                                     f"{html.escape(kind + str(exc))}</span>")
                self.last_traceback = traceback.format_exc()
                return None
            self.last_error = None
            self.busy.value = "✓"
            message = out if isinstance(out, str) else _("Up to date")
            self.status.value = (f"<span style='color:#2e8b57'>{html.escape(message)} "
                                 f"({(time.perf_counter() - t0) * 1000:.0f} ms)</span>")
            return out
        return wrapped

    def _on_control(self, change: dict[str, Any]) -> None:
        """A box, slider or dropdown changed (shown units): refuse a value outside the range, else update."""
        owner = change["owner"]
        name = next(k for k in self.controls if owner is self.controls[k] or owner is self.sliders.get(k))
        spec = self._spec[name]
        try:
            value = spec.from_shown(change["new"])
            if spec.kind != "choice" and not spec.inside(float(value)):
                unit = f" {spec.unit}" if spec.unit else ""
                said = i18n.gettext("{label}: {value} refused, choose between {lo} and {hi}", self.locale)
                raise ParamsError(said.format(
                    label=self._label(spec)[0], value=f"{change['new']:g}{unit}", lo=f"{spec.shown(spec.lo):g}{unit}",
                    hi=f"{spec.shown(spec.hi):g}{unit}"))
            self.update(**{name: value})
        except Exception:
            self._set_widgets(self.values)  # the box and slider go back to what is shown
            raise

    def _on_reset(self) -> None:
        self.update(**self.start)

    def _on_save(self) -> str:
        return i18n.gettext("Saved {path}", self.locale).format(path=self.save_proposal(self.save_path.value))

    def _on_export(self) -> str:
        paths = ", ".join(str(p) for p in self.export_charts(self.export_dir.value))
        return i18n.gettext("Exported {paths}", self.locale).format(paths=paths)

    # -- save / export -------------------------------------------------------------------------------------------
    def proposal_params(self, name: str = PROPOSAL) -> Params:
        """The params with the proposal saved as scenario ``name`` (burn and horizon as on the panel)."""
        scen = self.scenario()
        scenarios = {**self.params.scenarios, name: list(scen.own)}
        update: dict[str, Any] = {"scenarios": scenarios, "burn": scen.burn, "horizon_months": scen.horizon_months}
        data = self.params.data
        if data.source == "files":  # the new file may live elsewhere: keep its data paths valid
            update["data"] = data.model_copy(update={k: self.params.resolve(getattr(data, k)) for k in TABLES})
        return self.params.model_copy(update=update)

    def save_proposal(self, path: str | Path | None = None, *, name: str = PROPOSAL) -> Path:
        """Write the params with the proposal as scenario ``name`` to a YAML that :func:`load_params` reads back.

        Next month's report runs that scenario; loading the file and simulating ``scenarios[name]`` on the same
        seed reproduces the panel's proposal exactly.
        """
        path = Path(path or self.save_path.value).expanduser()
        if path.suffix.lower() not in (".yml", ".yaml"):
            raise ParamsError(f"{path}: save the proposal as a .yml file (a params file)")
        text = dump_params(self.proposal_params(name))
        header = (f"# cashsim parameters with the scenario '{name}' saved by the scenario panel on "
                  f"{pd.Timestamp.now():%Y-%m-%d %H:%M}\n")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(header + text, encoding="utf-8")
        load_params(path)  # fail here, not next month, if it does not read back
        return path

    def figures(self) -> dict[str, go.Figure]:
        """The current charts as static figures (what the export writes)."""
        return {"collections": go.Figure(self.fig_collections), "p_target_met": go.Figure(self.fig_p_met),
                "cash_position": go.Figure(self.fig_cash)}

    def export_charts(self, directory: str | Path | None = None) -> list[Path]:
        """Write the current charts and tables as one self-contained HTML page (plotly.js embedded) and, only when
        kaleido is installed, one PNG per chart. Returns the paths written."""
        out = Path(directory or self.export_dir.value).expanduser()
        out.mkdir(parents=True, exist_ok=True)
        stamp = pd.Timestamp.now().strftime("%Y%m%d-%H%M%S")
        figs = self.figures()
        parts = [fig.to_html(full_html=False, include_plotlyjs=(i == 0)) for i, fig in enumerate(figs.values())]
        _ = i18n.translator(self.locale)
        title = html.escape(_("{company} — scenario panel, as of {as_of}").format(
            company=self.params.company, as_of=f"{self.engine.as_of:%Y-%m-%d}"))
        versus = html.escape(f"{_('baseline')} / {_('proposal')}")
        page = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title></head><body>"
                f"<h1>{title}</h1>{parts[0]}<h2>{versus}</h2>{self.months_html.value}{parts[1]}"
                f"{parts[2]}<h2>{html.escape(_('Costs'))}</h2>{self.costs_html.value}"
                f"<h2>{html.escape(_('Call list'))}</h2>{self.calls_html.value}</body></html>")
        page_path = out / f"scenario-panel-{stamp}.html"
        page_path.write_text(page, encoding="utf-8")
        paths = [page_path]
        if importlib.util.find_spec("kaleido") is not None:
            for name, fig in figs.items():
                png = out / f"scenario-panel-{stamp}-{name}.png"
                fig.write_image(png, width=1100, height=450)
                paths.append(png)
        return paths

