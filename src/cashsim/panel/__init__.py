"""The scenario panel for meetings (*tableau de bord de trésorerie*): ipywidgets over the live simulation.

The CFO moves a slider; the panel re-applies the levers to the book, re-simulates on a small number of paths and
redraws, within a blink. Three layers, each testable on its own:

1. **Controls → scenario** (pure, :mod:`cashsim.panel.controls`): every control with its range and its starting
   value from the params' ``baseline`` scenario (the panel opens on "proposal = baseline"), and the
   :class:`Scenario` control values describe - the proposal's levers merged with the baseline's by the report's
   rule, so a saved proposal reproduces in next month's report.
2. **Engine** (:mod:`cashsim.panel.engine`, no widgets): ledger, fit and base Book computed once; a change re-applies
   levers (prefix-cached) and re-simulates on the **same seed** (common random numbers), results memoised.
3. **Widgets** (:mod:`cashsim.panel.widget`, :class:`ScenarioPanel`): per control a slider (computed on release) and
   a box that takes a typed value - rates in percent, a value out of range refused with a message -, charts redrawn
   by changing trace data only (then their whole state re-sent, so no chart stays stale), tables, a status line
   that shows errors, a hidden state (update number and chart data) for browser tests, save-as-params and export.

What the panel draws and tabulates lives with the figures and tables of the rest of cashsim: the baseline-against-
proposal charts in :mod:`cashsim.plots` (:func:`~cashsim.plots.collections_figure`, ...), the cost table and the
side-by-side months in :mod:`cashsim.compare`, the HTML tables in :func:`cashsim.fmt.html_table`.

Example::

    >>> panel = ScenarioPanel("params/demo.yml", n_paths=500)          # doctest: +SKIP
    >>> result = panel.update(discount_rate=0.02, discount_deadline_days=10)   # doctest: +SKIP
    >>> result.months[["month", "p_met_baseline", "p_met_proposal"]]   # doctest: +SKIP
    >>> panel.save_proposal("params/demo-2026-11.yml")                 # doctest: +SKIP
"""

from cashsim.panel.controls import (
    LADDER,
    LEVER_ORDER,
    MAX_HORIZON,
    PROPOSAL,
    RUNGS,
    TONES,
    Control,
    Scenario,
    canonical,
    control_specs,
    dunning_steps,
    merged_with_baseline,
    scenario_from_values,
    up_to_rung,
)
from cashsim.panel.engine import PANEL_PATHS, Outcome, PanelEngine, benchmark_update
from cashsim.panel.text import COLUMNS
from cashsim.panel.widget import CALL_ROWS, CHARTS, PanelResult, ScenarioPanel

__all__ = ["CALL_ROWS", "CHARTS", "COLUMNS", "LADDER", "LEVER_ORDER", "MAX_HORIZON", "PANEL_PATHS", "PROPOSAL", "RUNGS",
           "TONES", "Control", "Outcome", "PanelEngine", "PanelResult", "Scenario", "ScenarioPanel",
           "benchmark_update", "canonical", "control_specs", "dunning_steps", "merged_with_baseline",
           "scenario_from_values", "up_to_rung"]
