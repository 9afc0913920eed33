"""A scenario that changes nothing on this company (*scénario sans effet*): why (:func:`nothing_changed`), the flag
in the comparison table (:func:`flag_changes_nothing`) and the terminal's line (:func:`changes_nothing_text`).

A lever whose segments or customers select no open or planned invoice, or whose every target customer is ineligible
(:mod:`cashsim.levers.eligibility`), leaves the book and the costs as they were: the comparison says so rather than
show a row of zeros as if the lever had been tried and had failed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from cashsim.i18n import N_
from cashsim.levers._book import _ensure_columns

if TYPE_CHECKING:
    from cashsim.compare import ScenarioRun


def nothing_changed(base: ScenarioRun, run: ScenarioRun) -> str:
    """Why a scenario changes nothing on this company ("" when it changes something): its book equals the
    baseline's (same invoices, amounts, laws and calendars) and its costs are the baseline's. The usual causes: its
    segments or customers select no open or planned invoice, or every customer it targets is ineligible
    (:mod:`cashsim.levers.eligibility`)."""
    if run.name == base.name:
        return ""
    a, b = run.book, base.book
    # compared with the optional columns every lever fills in (book-keeping, not a change)
    # the cheap tests first (a lever that changes laws mostly adds pmf rows)
    same = (a.n_profiles == b.n_profiles and _ensure_columns(a).equals(_ensure_columns(b))
            and (a.rows is b.rows or np.array_equal(a.pmfs, b.pmfs))
            and np.array_equal(a.grid, b.grid)
            and ((a.calendars is None and b.calendars is None)
                 or (a.calendars is not None and b.calendars is not None
                     and np.array_equal(a.calendars, b.calendars))))
    cols = ["month", "item", "amount"]
    def rows(costs: pd.DataFrame) -> list[tuple]:  # by content: an empty table's dtypes say nothing
        return list(costs[cols].astype({"month": str, "item": str}).itertuples(index=False, name=None))

    extra_cost = rows(run.costs) != rows(base.costs)
    if not same or extra_cost:
        return ""
    return ("applied book equal to the baseline's and no cost: its levers select no invoice of this company "
            "(check their segments / customers, and which customer types they may be offered to)")


def flag_changes_nothing(table: pd.DataFrame, reasons: dict[str, str]) -> pd.DataFrame:
    """``table`` with ``changes_nothing`` (bool) and ``changes_nothing_reason`` per scenario (from ``reasons``)."""
    why = table["scenario"].map(lambda s: reasons.get(s, "")).astype(str)  # no reason: "" (a NaN never appears)
    return table.assign(changes_nothing=why.ne("").to_numpy(), changes_nothing_reason=why.to_numpy())


def changes_nothing_text(table: pd.DataFrame, gettext=None, name=repr) -> str:
    """One line per scenario flagged by :func:`flag_changes_nothing` ("" when none), for the terminal: in English,
    or in the language of ``gettext`` (a msgid -> text function, which also translates the reason); ``name`` writes
    a scenario's name (its ``repr`` by default; ``cashsim levers`` gives the lever's name in the reader's words)."""
    if "changes_nothing" not in table.columns:
        return ""
    tr = gettext or (lambda text: text)
    flagged = table[table["changes_nothing"].astype(bool)].drop_duplicates("scenario")
    return "\n".join(tr(N_("Scenario {name} changes nothing on this company: {reason}.")).format(
        name=name(r.scenario), reason=tr(str(r.changes_nothing_reason))) for r in flagged.itertuples())
