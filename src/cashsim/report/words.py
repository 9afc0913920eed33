"""The report's words in the reader's language: the translator of a run, column labels and table values in its
words; the texts the library writes in English (lever names, plan actions, next dunning steps, alerts) are put into
the catalogue's language by :mod:`cashsim.words`, shared with the scenario panel and re-exported here.

Example::

    >>> action_text("ask a 30% deposit at order", "fr_FR")
    'demander un acompte de 30\\xa0% à la commande'
"""

from __future__ import annotations

from cashsim import i18n
from cashsim.words import action_text, alert_text, lever_name, next_step, translator_of


def tr(run) -> i18n.Translator:
    """The translator of a Run or Baseline (anything with ``.params``): ``_ = tr(run)`` then ``_("Call list")``."""
    return i18n.translator(run.params.report.locale)


def run_locale(run) -> dict[str, str]:
    """Locale and currency of a Run or Baseline (anything with ``.params``), as ``fmt.table`` and the plots take
    them."""
    return {"locale": run.params.report.locale, "currency": run.params.currency}


def labels_of(run, cols: dict[str, str]) -> dict[str, str]:
    """Column labels ``{data name: English label}`` in the run's language."""
    _ = tr(run)
    return {k: _(v) for k, v in cols.items()}


def translate_values(frame, run, columns):
    """``frame`` with the values of ``columns`` (client groups, dispute types, yes/no flags) in the run's words."""
    _ = tr(run)
    out = frame.copy()
    for c in columns:
        if c in out:
            out[c] = out[c].map(lambda v: _("yes") if v is True else _("no") if v is False else group_label(v, run))
    return out


def group_label(value, run) -> str:
    """A client group in the run's words: ``"all"`` (the ledger's segment of the customers without one) reads
    "no client group", any other group is looked up as it is."""
    _ = tr(run)
    return _("no client group") if value == "all" else _(str(value))


def bucket_labels(run) -> dict[str, str]:
    """The ageing buckets of ``kpi.AGE_BUCKETS`` (``not_due``, ``1-30`` ... ``>90``) in the run's words."""
    _ = tr(run)
    return {"not_due": _("not due"), "1-30": _("1-30 days"), "31-60": _("31-60 days"), "61-90": _("61-90 days"),
            ">90": _("over 90 days")}


__all__ = ["action_text", "alert_text", "bucket_labels", "group_label", "labels_of", "lever_name", "next_step",
           "plan_levers_text", "run_locale", "tr", "translate_values", "translator_of"]


def plan_levers_text(names: list[str], meets_target: bool, levers_tried: int, _) -> str:
    """The recommended plan's levers in the reader's words (``names``, already translated, joined by commas); with
    none, why: the forecast meets the target without any ("no lever needed"), the parameters define no lever for
    the search to try, or none of those tried brings P(target met) closer to the requirement. ``_``: the run's
    translator (:func:`tr`)."""
    if names:
        return ", ".join(names)
    if meets_target:
        return _("no lever needed")
    if not levers_tried:
        return _("no lever to try: the parameters define no lever scenario (key scenarios)")
    return _("none of the levers tried brings the target closer: current practice")
