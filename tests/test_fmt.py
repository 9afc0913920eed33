"""Locale formatting: the exact characters Babel / CLDR give, missing values, and escaping in report tables."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from cashsim import fmt
from cashsim.errors import ParamsError

NNBSP, NBSP = "\u202f", "\xa0"


def test_french_money_uses_narrow_no_break_spaces():
    assert fmt.money(1234567.89) == f"1{NNBSP}234{NNBSP}567,89{NBSP}€"
    assert fmt.money(1234567.89, locale="fr-FR") == f"1{NNBSP}234{NNBSP}567,89{NBSP}€"
    assert fmt.money(-1234.5, decimals=0) == f"-1{NNBSP}234{NBSP}€"  # half to even
    assert fmt.money(1234567.891, decimals=0) == f"1{NNBSP}234{NNBSP}568{NBSP}€"


@pytest.mark.parametrize("locale, expected", [
    ("en_US", "€1,234,567.89"),
    ("en_GB", "€1,234,567.89"),
    ("de_DE", f"1.234.567,89{NBSP}€"),
])
def test_money_in_other_locales(locale, expected):
    assert fmt.money(1234567.89, locale=locale) == expected


def test_percent_number_and_compact():
    assert fmt.percent(0.823) == f"82{NBSP}%"
    assert fmt.percent(0.823, decimals=1) == f"82,3{NBSP}%"
    assert fmt.percent(0.823, locale="en_US", decimals=1) == "82.3%"
    assert fmt.number(1234.5, decimals=1) == f"1{NNBSP}234,5"
    assert fmt.money_short(1_234_567) == f"1,23{NBSP}M{NBSP}€"
    assert fmt.money_short(9_876) == f"9{NNBSP}876{NBSP}€"


@pytest.mark.parametrize("value, decimals, french", [
    (-0.4, 0, "0"), (-0.5, 0, "0"), (-1e-9, 2, "0,00"), (-0.0, 0, "0"), (np.float64(-0.3), 0, "0"),
    (-0.05, 1, "0,0"),       # Babel rounds the decimal -0.05 half to even to -0.0 (a float round says -0.1)
    (-0.06, 1, "-0,1"), (-0.6, 0, "-1"), (-1234.4, 0, f"-1{NNBSP}234"), (0.4, 0, "0"),
])
def test_a_number_that_rounds_to_zero_has_no_sign(value, decimals, french):
    """fmt.number, as fmt.percent, never writes "-0": every command and the backtest's text use it as is."""
    assert fmt.number(value, decimals=decimals) == french
    assert fmt.number(value, locale="en_GB", decimals=decimals) == french.replace(",", ".").replace(NNBSP, ",")


def test_a_share_that_rounds_to_zero_has_no_sign_and_infinity_keeps_its_sign():
    assert fmt.percent(-0.004) == f"0{NBSP}%" and fmt.percent(-0.0005, decimals=1) == f"0,0{NBSP}%"
    assert fmt.percent(-0.006) == f"-1{NBSP}%"
    assert fmt.number(float("-inf")) == "-∞" and fmt.number(float("inf")) == "∞"


@pytest.mark.parametrize("value, decimals, french", [
    (-0.3, 0, "0"), (-0.5, 0, "0"), (-0.004, 2, "0,00"), (-0.0, 2, "0,00"), (np.float64(-0.2), 0, "0"),
    (-0.6, 0, "-1"), (-0.006, 2, "-0,01"), (-1234.4, 0, f"-1{NNBSP}234"),
])
def test_an_amount_that_rounds_to_zero_has_no_sign(value, decimals, french):
    """fmt.money never writes "-0 €" (the report's lever table showed "-0 €" for a p10 of -0.3 on the messy
    company); fmt.money_short neither, under 10 000."""
    assert fmt.money(value, decimals=decimals) == f"{french}{NBSP}€"
    if decimals == 0:
        assert fmt.money_short(value) == f"{french}{NBSP}€"


@pytest.mark.parametrize("value, decimals, french", [
    (0.0004, 1, "0,0"), (-0.0004, 1, "0,0"), (0.0, 1, "0,0"), (0.0005, 1, "0,0"), (0.004, 0, "0"),
    (0.00051, 1, "+0,1"), (0.015, 1, "+1,5"), (-0.015, 1, "-1,5"), (0.006, 0, "+1"),
])
def test_a_signed_share_that_rounds_to_zero_has_no_sign(value, decimals, french):
    """A bias of +0.04 % is "0,0 %", not "+0,0 %" (the backtest's text signed it by the value, not the figure)."""
    assert fmt.signed_percent(value, decimals=decimals) == f"{french}{NBSP}%"
    assert fmt.signed_percent(value, locale="en_GB", decimals=decimals) == french.replace(",", ".") + "%"


def test_the_goal_details_sign_only_a_figure_that_is_not_zero():
    """The bias in the backtest goal details, written by Python as "+0.0%", in French."""
    from cashsim.ledger.wording import figure

    assert figure("+0.0%", "fr_FR") == f"0,0{NBSP}%" and figure("-0.0%", "fr_FR") == f"0,0{NBSP}%"
    assert figure("+1.5%", "fr_FR") == f"+1,5{NBSP}%" and figure("-1.5%", "fr_FR") == f"-1,5{NBSP}%"
    assert fmt.signed_percent(None) == fmt.signed_percent(np.nan) == fmt.MISSING


def test_dates_as_the_reader_expects():
    d = dt.date(2026, 11, 3)
    assert fmt.date(d) == "3 nov. 2026"
    assert fmt.date(pd.Timestamp(d), style="short") == "03/11/2026"
    assert fmt.date("2026-11-03", locale="en_US") == "Nov 3, 2026"
    assert fmt.month_name("2026-11") == "novembre 2026"
    assert fmt.month_name(pd.Period("2026-11", "M"), locale="en_GB") == "November 2026"


@pytest.mark.parametrize("missing", [None, float("nan"), np.nan, pd.NaT, pd.NA])
def test_missing_values_are_a_dash(missing):
    assert fmt.money(missing) == fmt.MISSING
    assert fmt.percent(missing) == fmt.MISSING
    assert fmt.date(missing) == fmt.MISSING


def test_unknown_locale_names_the_key():
    with pytest.raises(ParamsError, match=r"report\.locale 'xx_YY'"):
        fmt.money(1, locale="xx_YY")


def test_plotly_separators_and_currency_affixes():
    assert fmt.plotly_separators("fr_FR") == "," + NNBSP
    assert fmt.plotly_separators("en_US") == ".,"
    assert fmt.currency_affixes(locale="fr_FR") == ("", NBSP + "€")
    assert fmt.currency_affixes(locale="en_US") == ("€", "")


def test_table_escapes_every_string_and_label():
    frame = pd.DataFrame({
        "customer_name": ["<script>alert('x')</script>", "Dupont & Fils"],
        "amount": [1234567.891, np.nan],
        "p": [0.5, 0.823],
        "due_date": pd.to_datetime(["2026-11-03", None]),
        "<img src=x>": [1, 2],
    })
    html = fmt.table(frame, money_cols=["amount"], percent_cols=["p"], date_cols=["due_date"],
                     labels={"customer_name": "Client <b>"}).to_html()
    assert "<script>" not in html and "<img" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert "Dupont &amp; Fils" in html and "Client &lt;b&gt;" in html
    assert f"1{NNBSP}234{NNBSP}568{NBSP}€" in html
    assert f"82{NBSP}%" in html and "3 nov. 2026" in html
    assert html.count(fmt.MISSING) == 2


def test_plain_styler_would_not_escape():
    """The reason fmt.table exists: pandas' Styler passes markup through unless told to escape."""
    frame = pd.DataFrame({"customer_name": ["<script>x</script>"]})
    assert "<script>x</script>" in frame.style.to_html()
    assert "<script>x</script>" not in fmt.table(frame).to_html()
