"""One standing date: validate, forecast, report (pipeline) and the backtest use Ledger.latest_date."""

from pathlib import Path

import pandas as pd

from cashsim import pipeline
from cashsim.backtest import ledger_last_date
from cashsim.params import load_params
from cashsim.sources import ledger_from_params

DATA = Path(__file__).parent / "data"


def test_every_stage_stands_on_the_latest_event_of_the_ledger():
    for path in (DATA / "messy" / "params.yml", DATA / "fec" / "params.yml"):
        params = load_params(path)
        ledger = ledger_from_params(params)
        day = ledger.latest_date
        assert day == pd.Timestamp(day).normalize()
        assert pipeline.latest_date(ledger) == ledger_last_date(ledger) == day
        assert ledger.summary()["as_of"] == day
        assert pipeline.resolve_as_of(params.model_copy(update={"as_of": None}), ledger) == day


def test_a_dispute_opened_after_the_last_payment_moves_the_standing_date():
    ledger = ledger_from_params(load_params(DATA / "fec" / "params.yml"))
    later = ledger.latest_date + pd.Timedelta(days=3)
    inv = ledger.invoices.copy()
    inv.loc[inv.index[0], ["disputed", "dispute_opened"]] = [True, later]
    moved = ledger.__class__(**{**ledger.__dict__, "invoices": inv})
    assert pipeline.latest_date(moved) == ledger_last_date(moved) == later
