"""The lever study in a background thread while the report builds the views that need no plan.

The monthly report waits for its lever study (several seconds) before it shows anything of the plan, and only then
builds the rest: the accounts, KPIs, alerts, call list... which depend on the run alone. The study spends most of
its time in the engine's numba code, which releases the GIL, on worker threads; the notebook's own thread only
waits. So the report starts the study in a background thread (:func:`start_levers`), builds those views meanwhile
(:func:`build_ahead`), then collects the study (:func:`cashsim.report.lever_views.levers` takes the one started for
the run). The views the report shows later are the very objects built ahead: each of :data:`AHEAD` is built once,
with the same function and arguments as the notebook's call, and handed out once (:func:`prebuilt`: the
``cashsim.report`` names the notebook calls look their result up first; another call, or other arguments, build
anew). Same functions, same arguments, same run: the same tables, only built earlier.

Rules: a view that fails ahead is not kept (the notebook's own call then fails in its own cell, as before); the
study is started in the background only on the local engine (a dask cluster is left to the notebook's thread); a
study or view started for one run is never used for another (they are keyed by the run object).

Example (the report notebook's lever cell)::

    >>> report.start_levers(run)            # the study, in the background      # doctest: +SKIP
    >>> report.build_ahead(run, month, reports_dir)  # meanwhile, the views      # doctest: +SKIP
    >>> table, plan = report.levers(run)    # the study started above            # doctest: +SKIP
"""

from __future__ import annotations

import functools
import inspect
import weakref
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

#: Stand for the report month and the company's reports folder in :data:`AHEAD`'s arguments.
MONTH, REPORTS_DIR = "<the report month>", "<the reports folder>"
#: The report's views built ahead by :func:`build_ahead`: (module, function name, keyword arguments). They are the
#: notebook's calls of views that need no plan; arguments that differ from the notebook's only waste the work ahead
#: (the notebook's call builds its own).
AHEAD: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("views", "months_view", {}),
    ("figures", "weekly_figure", {}),
    ("views", "weekly_view", {}),
    ("figures", "forecast_figure", {}),
    ("figures", "p_met_figure", {}),
    ("hindsight", "hindsight_view", {"reports_dir": REPORTS_DIR}),
    ("accounts", "accounts_view", {"top": 25}),
    ("figures", "dso_figure", {}),
    ("figures", "aged_figure", {}),
    ("ledger_views", "kpi_view", {}),
    ("accounts", "account_kpis_view", {"by": "segment"}),
    ("accounts", "account_kpis_view", {"by": "customer_id", "top": 20}),
    ("ledger_views", "disputes_view", {}),
    ("ledger_views", "claims_view", {"top": 15}),
    ("ledger_views", "customer_cost_view", {"top": 15}),
    ("ledger_views", "alerts_view", {}),
    ("ledger_views", "call_list_view", {"top": 25}),
    ("views", "shortfall_view", {"month": MONTH, "top": 15}),
    ("ledger_views", "accounting_view", {}),
    ("ledger_views", "rejections_view", {"top": 30}),
    ("handouts", "print_parts", {"month": MONTH}),  # the PDF's page but its window (handouts.print_html)
)


class _Ahead:
    """What was started or built ahead for one run: its lever study (a future), views by call, and the KPI tables
    by grouping (:func:`cashsim.report.accounts.account_kpis`, kept for the run's life)."""

    def __init__(self) -> None:
        self.study: Future | None = None
        self.views: dict[tuple, Any] = {}
        self.kpis: dict[str, Any] = {}


_RUNS: dict[int, _Ahead] = {}  # id(run) -> its _Ahead, removed when the run is garbage collected


def _ahead(run, create: bool = False) -> _Ahead | None:
    found = _RUNS.get(id(run))
    if found is None and create:
        made = _Ahead()
        found = _RUNS.setdefault(id(run), made)  # two threads that both missed keep one
        if found is made:
            weakref.finalize(run, _RUNS.pop, id(run), None)
    return found


def _key(fn: Callable, run, args: tuple, kwargs: dict) -> tuple:
    """The call as a key: the function and its bound arguments, defaults applied (``f(run, 25)`` = ``f(run,
    top=25)``); a call whose arguments are not hashable gets None (never built ahead)."""
    bound = inspect.signature(fn).bind(run, *args, **kwargs)
    bound.apply_defaults()
    key = (fn.__module__, fn.__qualname__, *list(bound.arguments.items())[1:])
    try:
        hash(key)
    except TypeError:
        return None
    return key


def prebuilt(fn: Callable) -> Callable:
    """``fn(run, ...)`` answered by the result built ahead for this run and these arguments, once; else ``fn``."""

    @functools.wraps(fn)
    def view(run, *args, **kwargs):
        ahead = _ahead(run)
        if ahead is not None and ahead.views:
            key = _key(fn, run, args, kwargs)
            if key in ahead.views:
                return ahead.views.pop(key)
        return fn(run, *args, **kwargs)

    return view


def _handed_or_own(run, levers_file: str):
    """The study the driver computed for this run (:mod:`cashsim.report.handoff`), else the run's own."""
    from cashsim.report.handoff import read_driver_study
    from cashsim.report.lever_views import study_of

    handed = read_driver_study(levers_file)
    return handed if handed is not None else study_of(run)


def start_levers(run, levers_file: str = "") -> Future | None:
    """Start the run's lever study (:func:`cashsim.report.lever_views.study_of`) in a background thread, for
    :func:`cashsim.report.lever_views.levers` to collect; None (nothing started) on a dask engine. With
    ``levers_file`` (set by ``cashsim report``), the thread waits for the study the driver computes into that file
    and computes it itself only when the driver gives none (:func:`cashsim.report.handoff.read_driver_study`)."""
    if run.params.simulation.backend != "local":
        return None
    from cashsim.report.lever_views import study_of

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cashsim-levers")
    try:
        future = pool.submit(_handed_or_own, run, levers_file) if levers_file else pool.submit(study_of, run)
    finally:
        pool.shutdown(wait=False)  # the thread ends with the study
    _ahead(run, create=True).study = future
    return future


def started_study(run) -> Future | None:
    """The study :func:`start_levers` started for ``run`` (handed out once), or None."""
    ahead = _ahead(run)
    if ahead is None or ahead.study is None:
        return None
    future, ahead.study = ahead.study, None
    return future


def build_ahead(run, month: str, reports_dir: str = "") -> int:
    """Build the views of :data:`AHEAD` for ``run`` (the report ``month`` and the company's ``reports_dir`` where
    they take one), for the notebook's calls to find (:func:`prebuilt`); returns how many were built. A view that
    fails is left to the notebook."""
    given = {MONTH: month, REPORTS_DIR: reports_dir}
    import importlib

    ahead = _ahead(run, create=True)
    built = 0
    for module, name, kwargs in AHEAD:
        fn = getattr(importlib.import_module(f"cashsim.report.{module}"), name)
        kwargs = {k: given.get(v, v) if isinstance(v, str) else v for k, v in kwargs.items()}
        try:
            result = fn(run, **kwargs)
        except Exception:  # the notebook's own call raises it, in its own cell
            continue
        ahead.views[_key(fn, run, (), kwargs)] = result
        built += 1
    return built
