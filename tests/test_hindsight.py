"""Forecast against actual (cashsim.report.hindsight): the PIT on the quantile grid, the previous report found or the
forecast recomputed, a restated history flagged, unusable summaries said and skipped."""

from __future__ import annotations

import json
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from cashsim.params import Params
from cashsim.report import hindsight as hs

N_PATHS = 200


def _pits(rng, n_months: int, scale: float = 1.0) -> np.ndarray:
    """PIT of ``n_months`` month forecasts (gamma laws of random shape and mean, 300 paths each) against actuals drawn
    from the same law times ``scale`` (1: a calibrated forecaster)."""
    out = []
    for _ in range(n_months):
        shape, mean = rng.uniform(2, 30), rng.uniform(1e5, 1e6)
        fc = hs.month_forecast(rng.gamma(shape, mean / shape, 300))
        y = scale * rng.gamma(shape, mean / shape)
        out.append(hs.pit(fc["quantiles"], hs.LEVELS, y, rng.uniform()))
    return np.array(out)


def test_pit_on_the_grid_is_uniform_for_a_calibrated_forecaster_and_not_for_a_biased_one():
    rng = np.random.default_rng(11)
    u = _pits(rng, 500)
    assert stats.kstest(u, "uniform").pvalue > 0.01
    inside = np.mean((u >= 0.1) & (u <= 0.9))
    assert 0.75 <= inside <= 0.85          # 80 % +- 2.8 binomial standard errors (n = 500)
    biased = _pits(rng, 500, scale=1.4)    # actuals 40 % above what the forecaster expects
    assert stats.kstest(biased, "uniform").pvalue < 1e-6 and np.mean(biased > 0.9) > 0.3


def test_pit_interpolates_between_grid_points_and_randomises_on_a_point_mass():
    levels = np.array([0.0, 0.5, 1.0])
    assert hs.pit([10.0, 20.0, 40.0], levels, 15.0, 0.3) == pytest.approx(0.25)
    assert hs.pit([10.0, 20.0, 40.0], levels, 30.0, 0.3) == pytest.approx(0.75)
    assert hs.pit([10.0, 20.0, 40.0], levels, 5.0, 0.3) == 0.0
    assert hs.pit([10.0, 20.0, 40.0], levels, 50.0, 0.3) == 1.0
    assert hs.pit([0.0, 0.0, 0.0], levels, 0.0, 0.3) == pytest.approx(0.3)   # nothing left: where the draw says
    assert hs.pit([0.0, 0.0, 40.0], levels, 0.0, 0.5) == pytest.approx(0.25)
    assert [hs.verdict(u) for u in (0.05, 0.5, 0.95)] == ["below", "inside", "above"]


def _world(seed: int = 5):
    """Two years of invoices from 80 customers, 45-day terms, paid 32 days or more after issue (log-normal times with
    customer effects): an invoice is never paid in its month of issue, so a month's collections come from the
    invoices open at the month end before it, and a forecast without sales plan covers all of them."""
    from cashsim.ledger import read_ledger

    rng = np.random.default_rng(seed)
    n_c, n = 80, 2400
    u = rng.normal(0, 0.2, n_c)
    cust = rng.integers(0, n_c, n)
    issue = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 730, n), unit="D")
    days = np.maximum(np.round(np.exp(np.log(50) + u[cust] + 0.25 * rng.standard_normal(n))), 32).astype(int)
    ids = [f"F{i:05d}" for i in range(n)]
    inv = pd.DataFrame({"invoice_id": ids, "customer_id": [f"C{c:02d}" for c in cust], "issue_date": issue,
                        "due_date": issue + pd.Timedelta(days=45), "amount": rng.uniform(1000, 3000, n).round(2)})
    pay = pd.DataFrame({"invoice_id": ids, "payment_date": issue + pd.to_timedelta(days, unit="D"),
                        "amount": inv["amount"]})
    last = pd.Timestamp("2025-12-31")
    keep = inv["issue_date"] <= last
    return read_ledger(inv[keep], pay[keep & (pay["payment_date"] <= last)])


@pytest.fixture(scope="module")
def world():
    return _world()


@pytest.fixture(scope="module")
def params():
    return Params(horizon_months=2, simulation={"n_paths": N_PATHS, "seed": 3})


def test_recomputed_forecasts_match_the_backtest_and_cover_the_actual(world, params):
    """Over 12 month ends: the recomputed forecast and the actual are the backtest's at that origin (month 1), the
    PIT read on the 101-quantile grid within 0.02 of the backtest's PIT on all the paths; the actual falls inside the
    80 % band at least 6 times in 12 (a calibrated forecaster does worse with probability 0.004) and the PITs are
    not all on one side. Measured: 7 of 12 inside (PITs 0.01-0.98): the model's month-1 band is narrow here."""
    from cashsim.backtest import backtest_origin

    ends = pd.date_range("2024-12-31", "2025-11-30", freq="ME")
    found = [hs.hindsight(params, world, end) for end in ends]
    assert all(h.source == hs.RECOMPUTED and h.path is None and h.restated is None for h in found)
    assert [h.month for h in found] == [str(e.to_period("M")) for e in ends]
    for h in found:
        rows, _, _ = backtest_origin(world, h.origin, horizons=1, n_paths=N_PATHS, seed=3)
        model = rows[rows["method"] == "model"].iloc[0]
        assert h.actual == pytest.approx(model["actual"]) and h.forecast["p50"] == pytest.approx(model["forecast"])
        assert abs(h.pit - model["pit"]) < 0.02
    u = np.array([h.pit for h in found])
    assert sum(h.verdict == "inside" for h in found) >= 6, u.round(2)
    assert 2 <= np.sum(u < 0.5) <= 10, u.round(2)
    actual = world.payments[world.payments["payment_date"].dt.to_period("M") == found[-1].month]["amount"].sum()
    assert found[-1].actual == pytest.approx(actual) and actual > 0


def _write(folder, record, *, created="2025-10-01T08:00:00+00:00"):
    folder.mkdir(parents=True)
    summary = {"as_of": record["as_of"], "created_utc": created, "forecast": record}
    (folder / "summary.json").write_text(json.dumps(summary), encoding="utf-8")


def test_previous_report_is_used_and_a_restated_history_is_flagged(world, params, tmp_path):
    origin, as_of = pd.Timestamp("2025-09-30"), pd.Timestamp("2025-10-31")
    record = hs.recompute(params, world, origin, n_paths=N_PATHS, seed=3)
    assert record["as_of"] == "2025-09-30" and record["n_paths"] == N_PATHS and record["seed"] == 3
    assert list(record["months"]) == ["2025-10", "2025-11"] and len(record["levels"]) == 101
    assert all(len(m["quantiles"]) == 101 for m in record["months"].values())
    assert len(record["ledger_sha256"]) == 64
    _write(tmp_path / "2025-10", record)
    shifted = {**record, "months": {k: {**m, "p50": m["p50"] + 1} for k, m in record["months"].items()}}
    _write(tmp_path / "2025-10-v2", shifted, created="2025-10-02T08:00:00+00:00")   # a later rerun wins
    (tmp_path / ".2025-10-tmp-x").mkdir()                                             # a killed run: ignored
    h = hs.hindsight(params, world, as_of, reports_dir=tmp_path)
    recomputed = hs.hindsight(params, world, as_of)
    assert h.source == hs.PREVIOUS and h.path == tmp_path / "2025-10-v2" / "summary.json" and h.notes == []
    assert h.restated is False
    assert h.forecast["p50"] == record["months"]["2025-10"]["p50"] + 1
    assert h.pit == recomputed.pit and h.actual == recomputed.actual   # same params, same forecast, same PIT
    # a payment of September restated after the report: the history it forecast from is no longer the same
    pay = world.payments.copy()
    first = pay.index[pay["payment_date"].dt.to_period("M") == "2025-09"][0]
    pay.loc[first, "amount"] += 100.0
    h2 = hs.hindsight(params, replace(world, payments=pay), as_of, reports_dir=tmp_path)
    assert h2.source == hs.PREVIOUS and h2.restated is True
    # a payment after the origin changes nothing of what was known then
    later = pay.index[pay["payment_date"] > origin][0]
    pay2 = world.payments.copy()
    pay2.loc[later, "amount"] += 100.0
    assert hs.hindsight(params, replace(world, payments=pay2), as_of, reports_dir=tmp_path).restated is False


def test_missing_corrupt_or_old_summaries_are_said_and_the_forecast_recomputed(world, params, tmp_path):
    as_of = pd.Timestamp("2025-10-31")
    (tmp_path / "2025-08").mkdir()                                           # no summary.json
    (tmp_path / "2025-10").mkdir()
    (tmp_path / "2025-10" / "summary.json").write_text("{not json", encoding="utf-8")
    (tmp_path / "2025-10-v2").mkdir()
    (tmp_path / "2025-10-v2" / "summary.json").write_text(json.dumps({"as_of": "2025-09-30"}), encoding="utf-8")
    bad = {"as_of": "2025-09-30", "levels": [0, 1], "months": {"2025-10": {"p10": 1, "p50": 2, "p90": 3,
                                                                           "quantiles": [5, 1]}}}
    _write(tmp_path / "2025-10-v3", bad)
    h = hs.hindsight(params, world, as_of, reports_dir=tmp_path)
    assert h.source == hs.RECOMPUTED and h.path is None
    assert h.notes == [("{folder}: no summary.json, not used", {"folder": "2025-08"}),
                       ("{folder}/summary.json is unreadable ({error}), not used",
                        {"folder": "2025-10", "error": "JSONDecodeError"}),
                       ("{folder}: that report kept no forecast, not used", {"folder": "2025-10-v2"}),
                       ("{folder}/summary.json is unreadable ({error}), not used",
                        {"folder": "2025-10-v3", "error": "forecast"})]
    assert hs.hindsight(params, world, as_of, reports_dir=tmp_path / "absent").notes == []


def test_view_in_french_and_a_clear_sentence_without_history(world, params, tmp_path):
    (tmp_path / "2025-10").mkdir()
    (tmp_path / "2025-10" / "summary.json").write_text("[", encoding="utf-8")
    run = SimpleNamespace(params=params.model_copy(update={"report": params.report.model_copy(
        update={"locale": "fr_FR"})}), ledger=world, as_of=pd.Timestamp("2025-10-31"),
        sim=SimpleNamespace(n_paths=N_PATHS, seed=3))
    html = hs.hindsight_view(run, tmp_path).to_html()
    for words in ("Octobre 2025", "Prévision (médiane)", "Réalisé", "Écart", "recalculée", "la bande",
                  "Prévision au 30 sept. 2025", "2025-10/summary.json illisible (JSONDecodeError), non utilisé"):
        assert words in html, words
    early = SimpleNamespace(**{**vars(run), "as_of": pd.Timestamp("2023-06-30")})
    said = hs.hindsight_view(early, "")._repr_markdown_()
    assert said.startswith("Aucune prévision à confronter au mois qui vient de se clore")


def test_recompute_is_the_pipelines_forecast_without_its_target_report(world, params, monkeypatch):
    """``recompute`` keeps only the simulated collections: the target report ``run_from_params`` sets them against
    is not computed (it was, and thrown away); the record is the same, number for number."""
    from cashsim import pipeline

    origin = pd.Timestamp("2025-09-30")
    at = params.model_copy(update={"as_of": origin.date()})
    run = pipeline.run_from_params(at, n_paths=N_PATHS, seed=3, ledger=world)
    expected = hs.forecast_record(run.sim, world, origin)
    monkeypatch.setattr(pipeline, "target_report", lambda *a, **k: pytest.fail("a target report was computed"))
    assert hs.recompute(params, world, origin, n_paths=N_PATHS, seed=3) == expected


def test_the_same_extract_in_another_folder_is_the_same_history(tmp_path):
    """The ledger's hash left out where its files were read: credits and allocations carry their file's path, so a
    data folder moved (or another checkout) made the next report say "history restated" of the same extract. A hash
    an earlier report kept, paths included, still counts as the same history read from the same folder."""
    import shutil
    from pathlib import Path

    from cashsim.params import load_params
    from cashsim.sources import ledger_from_params

    messy = Path(__file__).resolve().parent / "data" / "messy"
    shutil.copytree(messy, tmp_path / "moved")
    as_of = pd.Timestamp("2026-10-31")
    here, there = (ledger_from_params(load_params(folder / "params.yml")) for folder in (messy, tmp_path / "moved"))
    assert len(here.credits) and set(here.credits["file"]) != set(there.credits["file"])
    assert hs.ledger_sha256(here, as_of) == hs.ledger_sha256(there, as_of)
    assert hs.ledger_sha256(here, as_of, with_paths=True) != hs.ledger_sha256(there, as_of, with_paths=True)
    assert hs.same_history(hs.ledger_sha256(here, as_of, with_paths=True), here, as_of)
    assert not hs.same_history(hs.ledger_sha256(here, pd.Timestamp("2026-09-30")), here, as_of)
