"""The back-test's goals in the reader's words when a goal's target cannot be computed: no paid invoice in the test
set made the HTML page's goal line read ``< nan days``; it reads n/a with the reason, in the command's locale."""

from __future__ import annotations

import dataclasses
import html

import numpy as np
import pytest
from test_backtest import _world

from cashsim.backtest import backtest_html, evaluate_goals, run_backtest
from cashsim.backtest.text import in_words


@pytest.fixture(scope="module")
def result():
    return run_backtest(_world(), n_paths=50, max_origins=2, seed=3)


def test_an_unscored_target_reads_n_a_with_its_reason(result):
    metrics = result.metrics.assign(invoice_mae=np.nan)   # as when no invoice of the test set is paid
    unscored = dataclasses.replace(result, metrics=metrics, goals=evaluate_goals(metrics))
    assert "< nan days" in set(unscored.goals["target"])  # the result keeps its English, machine text (JSON)
    french, english = backtest_html(unscored, "fr_FR"), backtest_html(unscored, "en_GB")
    assert "nan" not in french and "nan" not in english
    assert "<td>n.d. (aucune facture payée à évaluer)</td>" in french
    assert "<td>n/a (no paid invoice to score)</td>" in english
    assert "MANQUÉ" in french   # still a missed goal


def test_a_scored_target_reads_in_the_locale(result):
    target = result.goals.loc[result.goals["goal"].str.startswith("invoice MAE"), "target"].iloc[0]
    days = float(target.removeprefix("< ").removesuffix(" days"))
    assert in_words(target, "fr_FR") == f"< {days:.2f} jours".replace(".", ",")
    assert in_words(target, "en_GB") == target
    assert f"<td>{html.escape(in_words(target, 'fr_FR'))}</td>" in backtest_html(result, "fr_FR")
