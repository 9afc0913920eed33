"""cashsim.terms: French payment terms read in every usual spelling, and the due dates they give."""

from __future__ import annotations

import pandas as pd
import pytest

from cashsim.errors import ParamsError
from cashsim.terms import PaymentTerms, due_dates, parse_terms


def _due(terms: str, issued: str) -> str:
    return due_dates(pd.Series(pd.to_datetime([issued])), parse_terms(terms)).iloc[0].strftime("%Y-%m-%d")


@pytest.mark.parametrize(("terms", "issued", "due"), [
    ("45j net", "2026-01-10", "2026-02-24"),
    ("45 jours", "2026-01-10", "2026-02-24"),
    ("45 jours date de facture", "2026-01-10", "2026-02-24"),
    ("60", "2026-01-10", "2026-03-11"),
    ("30j fin de mois", "2026-01-10", "2026-02-28"),
    ("30 jours fin de mois", "2026-12-15", "2027-01-31"),      # end of month across the year end
    ("45j FDM", "2026-12-20", "2027-02-28"),
    ("30j fin de mois le 10", "2026-11-20", "2027-01-10"),
    ("fin de mois", "2026-12-02", "2026-12-31"),
    ("fin de mois 30j", "2026-12-02", "2027-01-30"),
    ("fin de mois + 30 jours", "2026-01-31", "2026-03-02"),
    ("fin de mois le 10", "2026-12-20", "2027-01-10"),
    ("fin de mois le 31", "2026-01-20", "2026-02-28"),          # past the end of the next month: its last day
    ("à réception", "2026-03-05", "2026-03-05"),
    ("A RECEPTION", "2026-03-05", "2026-03-05"),
    ("comptant", "2026-03-05", "2026-03-05"),
])
def test_each_form_gives_its_due_date(terms, issued, due):
    assert _due(terms, issued) == due


def test_terms_keep_the_text_as_written():
    assert parse_terms(" 30 Jours Fin de Mois ") == PaymentTerms(30, True, 0, None, "30 Jours Fin de Mois")
    assert str(parse_terms("45j net")) == "45j net"


@pytest.mark.parametrize("text", ["sous huitaine", "30 jours fin de semaine", "400j net", "fin de mois le 40", ""])
def test_unknown_terms_name_the_value_and_the_accepted_forms(text):
    with pytest.raises(ParamsError) as err:
        parse_terms(text, "data.terms")
    message = str(err.value)
    assert repr(text) in message and "(data.terms)" in message
    assert "'45j net'" in message and "'30j fin de mois'" in message and "'à réception'" in message
