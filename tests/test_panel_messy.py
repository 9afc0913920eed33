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
