"""The scenario panel on the messy company (tests/data/messy): its call list says why an invoice 579 days late has
the first reminder as its next step (the ledger records no dunning action), in French; the demo, which records its
dunning, does not get the sentence."""

from __future__ import annotations

from pathlib import Path

import pytest

from cashsim.panel import ScenarioPanel

ROOT = Path(__file__).resolve().parents[1]
SAID = ("Le grand livre n’enregistre aucune relance\u00a0: la prochaine action d’une facture échue part de la "
        "première relance, quel que soit son retard")


@pytest.fixture(scope="module")
def messy():
    return ScenarioPanel(ROOT / "tests" / "data" / "messy" / "params.yml", n_paths=40)


def test_the_call_list_says_the_ledger_records_no_dunning(messy):
    assert messy.engine.ledger.dunning.empty and (messy.result.call_list["days_overdue"] > 500).any()
    assert SAID in messy.calls_html.value
    messy.controls["promise_calls"].value = 10          # the list is redrawn with the proposal's actions
    assert messy.last_error is None and SAID in messy.calls_html.value


def test_a_ledger_with_dunning_gets_no_such_sentence():
    demo = ScenarioPanel(ROOT / "params" / "demo.yml", n_paths=40)
    assert not demo.engine.ledger.dunning.empty
    assert "aucune relance" not in demo.calls_html.value


def test_the_call_list_shows_no_negative_lateness(messy):
    """An invoice not yet due reads "à échoir dans 11 j" in the panel's call list too, as in the report."""
    import re

    days = messy.result.call_list["days_overdue"]
    assert (days < 0).any()
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", messy.calls_html.value)
    assert "à échoir dans 11 j" in cells or any(c.startswith("à échoir dans") for c in cells)
    assert not any(re.fullmatch(r"[-−]\d+", c.strip()) for c in cells)


def test_the_cash_chart_starts_on_the_reports_first_week(messy):
    """The panel's weekly cash chart draws the weeks the report's weekly plan shows: on the messy company the week of
    26 Oct 2026 (only Sunday 1 Nov after as_of, where nothing moves) is left out, so both start on 2 Nov 2026."""
    import pandas as pd

    assert str(messy.result.proposal_report.weekly["week_start"].iloc[0].date()) == "2026-10-26"   # the raw weeks
    for trace in messy.fig_cash.data:
        assert str(pd.Timestamp(trace.x[0]).date()) == "2026-11-02", trace.name
    messy.controls["promise_calls"].value = 10          # an update in place keeps the same weeks
    assert messy.last_error is None
    assert str(pd.Timestamp(messy.fig_cash.data[0].x[0]).date()) == "2026-11-02"
    assert len(messy.fig_cash.data[0].x) == len(messy.fig_cash.data[0].y)
