"""Keeping a displayed chart equal to the kernel's figure (``go.FigureWidget``), whatever the browser missed.

Rule: while the months and weeks shown stay the same an update changes trace data only; otherwise only the
properties that changed are sent (:func:`_sync_figure`), or the figure is replaced when its traces differ in number
or type; after every update the figure's whole state is re-sent (:func:`_resync`) so a chart drawn late still shows
the last update.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import plotly.graph_objects as go

from cashsim.targets import TargetReport


def _chart_shape(report: TargetReport) -> tuple[tuple, tuple]:
    """The months and weeks a report's charts show: the charts can be redrawn in place while these stay."""
    return tuple(report.forecast_months["month"]), tuple(report.shown_weekly["week_start"])


def _differs(a: Any, b: Any) -> bool:
    """Whether two plotly JSON values differ (arrays compared by value, NaN equal to NaN)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() != b.keys() or any(_differs(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple | np.ndarray) or isinstance(b, list | tuple | np.ndarray):
        try:
            x, y = np.asarray(a), np.asarray(b)
        except ValueError:
            return True
        if x.shape != y.shape:
            return True
        if x.dtype.kind in "fc" and y.dtype.kind in "fc":
            return not np.array_equal(x, y, equal_nan=True)
        return not np.array_equal(x, y)
    return a != b


def _resync(widget: go.FigureWidget) -> None:
    """Send a displayed figure's whole state (data and layout) as its synced ``_widget_data``/``_widget_layout``.

    plotly's FigureWidget sends an update as a one-off message that its browser model applies to the state it holds
    (``_py2js_update``); the full state is sent only when the widget is created. A browser model that is not yet
    listening - its 5 MB module still loading when the page opens and the first control moves - misses the message
    and its view draws the stale creation state: "one chart stays stale while the tables update". With the full
    state re-sent after every update, a view rendered later always draws what the kernel holds, and a view already
    drawn applies the update message as before.
    """
    widget._widget_data = copy.deepcopy(widget._data)
    widget._widget_layout = copy.deepcopy(widget._layout_obj._props)


def _sync_figure(widget: go.FigureWidget, new: go.Figure) -> bool:
    """Make a displayed ``widget`` show ``new``: only the changed properties, in one ``batch_update`` message.

    Returns False (nothing done) when the traces differ in number or type: the caller then shows a new widget
    (traces added to a FigureWidget after it was created are not drawn by a view created later).
    """
    if len(widget.data) != len(new.data) or any(a.type != b.type for a, b in zip(widget.data, new.data, strict=False)):
        return False
    changes = []
    for old, trace in zip(widget.data, new.data, strict=False):
        was, now = old.to_plotly_json(), trace.to_plotly_json()
        delta = {k: v for k, v in now.items() if k not in was or _differs(was[k], v)}
        delta.update({k: None for k in was if k not in now})
        if delta:
            changes.append((old, delta))
    was, now = widget.layout.to_plotly_json(), new.layout.to_plotly_json()
    layout = {k: v for k, v in now.items() if k not in was or _differs(was[k], v)}
    layout.update({k: None for k in was if k not in now})
    if changes or layout:
        with widget.batch_update():
            for old, delta in changes:
                old.update(delta, overwrite=True)
            if layout:
                widget.layout.update(layout, overwrite=True)
    return True


# ================================================================================================ panel
