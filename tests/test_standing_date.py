"""One standing date: validate, forecast, report (pipeline) and the backtest use Ledger.latest_date (the latest
date posted in the books: issue, payment, write-off)."""

from pathlib import Path

import pandas as pd

from cashsim import pipeline
from cashsim.backtest import ledger_last_date
from cashsim.params import load_params
from cashsim.sources import ledger_from_params

DATA = Path(__file__).parent / "data"


def test_every_stage_stands_on_the_latest_issue_or_payment_of_the_ledger():
    for path in (DATA / "messy" / "params.yml", DATA / "fec" / "params.yml"):
        params = load_params(path)
        ledger = ledger_from_params(params)
        day = ledger.latest_date
        assert day == pd.Timestamp(day).normalize()
        assert pipeline.latest_date(ledger) == ledger_last_date(ledger) == day
        assert ledger.summary()["as_of"] == day
        assert pipeline.resolve_as_of(params.model_copy(update={"as_of": None}), ledger) == day


def test_a_date_typed_ahead_does_not_move_the_standing_date_but_a_payment_does():
    ledger = ledger_from_params(load_params(DATA / "fec" / "params.yml"))
    day = ledger.latest_date
    later = day + pd.Timedelta(days=3)
    inv = ledger.invoices.copy()
    inv.loc[inv.index[0], ["disputed", "dispute_opened", "dispute_resolved"]] = [True, day, later]
    typed_ahead = ledger.__class__(**{**ledger.__dict__, "invoices": inv})
    assert pipeline.latest_date(typed_ahead) == ledger_last_date(typed_ahead) == day
    pay = ledger.payments.copy()
    pay.loc[pay.index[0], "payment_date"] = later
    paid = ledger.__class__(**{**ledger.__dict__, "payments": pay})
    assert pipeline.latest_date(paid) == ledger_last_date(paid) == later
