"""The panel's words: English msgids of the gettext catalogue (:mod:`cashsim.i18n`, French in ``cashsim.po``) and
the values of its tables in the report's words (:mod:`cashsim.words`).

Rule: nothing here is written per language. Column labels are msgids marked :func:`~cashsim.i18n.N_` and looked up
when shown; the values of the tables (lever names, risk levels, client groups, next dunning steps, the proposal's
actions, the dropdowns' rungs and tones) go through the same functions as the report, so the panel and the report
say the same words. The charts' titles and trace names are the figures' (:mod:`cashsim.plots`).

>>> labels("fr_FR")["required"], labels("en_GB")["required"]
('requis', 'required')
>>> shown_values(pd.DataFrame({"lever": ["deposit"], "risk": ["high"]}), "fr_FR").iloc[0].tolist()
['acompte', 'élevé']
"""

from __future__ import annotations

import pandas as pd

from cashsim import i18n
from cashsim.i18n import N_
from cashsim.words import lateness, lever_name, next_step

#: Labels of the columns of the panel's tables (months side by side, costs, call list), as English msgids.
COLUMNS = {"month": N_("month"), "required": N_("required"), "target_baseline": N_("target base"),
           "target_proposal": N_("target prop."), "collections_baseline": N_("collected base"),
           "collections_proposal": N_("collected prop."), "p_met_baseline": N_("P(met) base"),
           "p_met_proposal": N_("P(met) prop."), "shortfall_baseline": N_("shortfall base"),
           "shortfall_proposal": N_("shortfall prop."), "lever": N_("lever"), "cost": N_("cost"),
           "annual_rate": N_("annual rate"), "risk": N_("risk"), "extra_cash": N_("extra cash"),
           "cost_per_euro": N_("cost per euro"), "rank": N_("rank"), "customer_name": N_("customer"),
           "segment": N_("client group"), "outstanding": N_("outstanding"), "days_overdue": N_("days overdue"),
           "next_action": N_("next step"), "proposal_action": N_("in the proposal")}

#: The proposal's actions the call list shows beside a customer (English msgids).
PROMISE_CALL, CUTOFF_NOTICE = N_("promise call"), N_("cut-off notice")

#: Columns of the panel's tables whose values are codes or English texts, and how each is put in the reader's words:
#: lever / scenario names and client-group codes by :func:`cashsim.words.lever_name` (a code without translation
#: shows with spaces), risk levels by the catalogue, next dunning steps by :func:`cashsim.words.next_step`, days
#: overdue by :func:`cashsim.words.lateness` (an invoice not yet due reads "due in 11 d", not -11).
VALUE_COLUMNS = {"lever": lever_name, "segment": lever_name, "risk": i18n.gettext, "next_action": next_step,
                 "days_overdue": lateness}


def labels(locale: str) -> dict[str, str]:
    """``{column: label}`` of the panel's tables in the language of ``locale``."""
    _ = i18n.translator(locale)
    return {k: _(v) for k, v in COLUMNS.items()}


def shown_values(frame: pd.DataFrame, locale: str) -> pd.DataFrame:
    """``frame`` with the values of :data:`VALUE_COLUMNS` (empty cells kept) in the words of ``locale``."""
    out = frame.copy()
    for col, say in VALUE_COLUMNS.items():
        if col in out:
            out[col] = [v if pd.isna(v) or str(v) == "" else say(str(v), locale) for v in out[col]]
    return out


def option_label(option: str, locale: str, *, tone: bool = False) -> str:
    """A dropdown option (a rung of the dunning ladder or a tone; "" keeps the plan's) in the words of ``locale``."""
    _ = i18n.translator(locale)
    if not option:
        return _("(each channel's own)") if tone else _("(current plan)")
    return lever_name(option, locale)


def control_text(label: str, help_: str, locale: str) -> tuple[str, str]:
    """(label, help) of a control (English msgids, :class:`cashsim.panel.controls.Control`) in ``locale``."""
    _ = i18n.translator(locale)
    return _(label), _(help_)
