"""The lever study computed by the report's driver and handed to its kernel (report.handoff): the same study, number
for number, as the kernel's own; anything wrong on the driver's side and the kernel computes it itself."""

from __future__ import annotations

import json
import pickle
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from cashsim import report
from cashsim.report import ahead, handoff, lever_views

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "params" / "demo.yml"
AS_OF, PATHS, SEED = "2026-10-31", 60, 7  # as `cashsim report --paths 60 --seed 7` passes them to the notebook


def _same_plan(a, b) -> None:
    assert type(a) is type(b)
    assert a.levers == b.levers and a.scenario == b.scenario and a.bridge == b.bridge
    assert a.cost == b.cost and a.meets_target == b.meets_target
    for name in ("months", "actions", "trace"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True)


@pytest.fixture(scope="module")
def run():
    return report.load_run(str(DEMO), as_of=AS_OF, n_paths=PATHS, seed=SEED)  # the notebook's call: warms the cache


def test_the_drivers_study_is_the_kernels_own_number_for_number(run):
    handed = handoff.driver_study(str(DEMO), as_of=AS_OF, n_paths=PATHS, seed=SEED)
    assert handed is not None  # the fit cache is warm (the run above)
    own = lever_views.study_of(run)
    pd.testing.assert_frame_equal(handed.table, own.table, check_exact=True)
    _same_plan(handed.plan, own.plan)


def test_the_study_goes_through_the_file_and_is_collected_by_levers(run, tmp_path):
    path = tmp_path / handoff.LEVERS_FILE
    assert handoff.compute_and_write(path, str(DEMO), as_of=AS_OF, n_paths=PATHS, seed=SEED) == "ok"
    assert report.start_levers(run, str(path)) is not None
    table, plan = report.levers(run)
    own = lever_views.study_of(run)
    pd.testing.assert_frame_equal(table, own.table, check_exact=True)
    _same_plan(plan, own.plan)


def test_the_driver_skips_when_the_fit_cache_is_cold(tmp_path, monkeypatch):
    monkeypatch.setenv("CASHSIM_CACHE_DIR", str(tmp_path / "cold"))
    params = handoff.study_params(str(DEMO), AS_OF, SEED)
    assert not handoff.fit_is_cached(params)
    path = tmp_path / handoff.LEVERS_FILE
    assert handoff.compute_and_write(path, str(DEMO), as_of=AS_OF, n_paths=PATHS, seed=SEED) == "skipped"
    assert handoff.read_driver_study(path, timeout=0) is None
    assert not list((tmp_path / "cold").glob("fit-*"))  # the driver did not fit
    report.load_run(str(DEMO), as_of=AS_OF, n_paths=PATHS, seed=SEED)  # the kernel fits: now warm, same keys
    assert handoff.fit_is_cached(params)
    assert not handoff.fit_is_cached(handoff.study_params(str(DEMO), "2026-09-30", SEED))  # another as-of: cold


def test_the_driver_skips_when_the_cache_is_off(monkeypatch):
    monkeypatch.setenv("CASHSIM_NO_CACHE", "1")
    assert handoff.driver_study(str(DEMO), as_of=AS_OF, n_paths=PATHS, seed=SEED) is None


def test_a_failing_driver_writes_why_and_the_kernel_computes_the_study(run, tmp_path):
    path = tmp_path / handoff.LEVERS_FILE
    assert handoff.compute_and_write(path, str(tmp_path / "missing.yml"), as_of=AS_OF) == "failed"
    answer = pickle.loads(path.read_bytes())
    assert answer["status"] == "failed" and "missing.yml" in answer["reason"]
    assert handoff.read_driver_study(path, timeout=0) is None
    report.start_levers(run, str(path))
    table, plan = report.levers(run)  # computed by the kernel itself
    own = lever_views.study_of(run)
    pd.testing.assert_frame_equal(table, own.table, check_exact=True)
    _same_plan(plan, own.plan)


@pytest.mark.parametrize("content", [b"", b"not a pickle", pickle.dumps(["a list"]), pickle.dumps({"status": "?"})])
def test_an_unreadable_answer_is_no_study(tmp_path, content):
    path = tmp_path / handoff.LEVERS_FILE
    path.write_bytes(content)
    assert handoff.read_driver_study(path, timeout=0) is None


def test_no_answer_in_time_is_no_study(tmp_path):
    started = time.monotonic()
    assert handoff.read_driver_study(tmp_path / "never", timeout=0.2) is None
    assert 0.2 <= time.monotonic() - started < 5


def test_the_kernel_waits_for_the_drivers_answer(run, tmp_path, monkeypatch):
    """The study handed over is the one levers() returns: the kernel does not compute one of its own."""
    path = tmp_path / handoff.LEVERS_FILE
    monkeypatch.setattr(lever_views, "study_of", lambda r: pytest.fail("the kernel computed the study"))
    assert report.start_levers(run, str(path)) is not None
    time.sleep(0.1)  # the kernel's thread is waiting for the file
    handoff._write(path, {"status": "ok", "table": "the table", "plan": "the plan"})
    assert report.levers(run) == ("the table", "the plan")
    assert ahead.started_study(run) is None  # handed out once


def test_the_notebook_declares_levers_file():
    params = report.notebook_parameters(ROOT / "notebooks" / "monthly_report.ipynb")
    assert params["levers_file"] == '""'


def test_a_closed_hand_over_writes_nothing_and_leaves_no_file(tmp_path, monkeypatch):
    path = tmp_path / handoff.LEVERS_FILE
    release = threading.Event()
    monkeypatch.setattr(handoff, "driver_study", lambda *a, **k: release.wait(10) and handoff.HandedStudy(1, 2))
    late = handoff.start_driver_study(path, str(DEMO), as_of=AS_OF)
    late.close()  # the notebook has run: the report folder must not get the file
    release.set()
    late.thread.join(10)
    assert late.status == "unwritten" and not list(tmp_path.iterdir())
    done = handoff.start_driver_study(path, str(DEMO), as_of=AS_OF)
    done.thread.join(10)
    assert done.status == "ok" and handoff.read_driver_study(path, timeout=0) == (1, 2)
    done.close()
    assert not list(tmp_path.iterdir())


def test_a_study_started_before_its_file_is_named_waits_for_it_or_for_the_close(tmp_path, monkeypatch):
    """The driver starts the study as soon as its kernel is launched and names the file once the work folder exists
    (runner.run_monthly_report): the answer waits for the name; closed before it, nothing is written."""
    path = tmp_path / handoff.LEVERS_FILE
    monkeypatch.setattr(handoff, "driver_study", lambda *a, **k: handoff.HandedStudy(1, 2))
    early = handoff.start_driver_study(None, str(DEMO), as_of=AS_OF)
    early.thread.join(0.5)
    assert early.thread.is_alive() and early.status is None and not list(tmp_path.iterdir())  # computed, waiting
    early.deliver_to(path)
    early.thread.join(10)
    assert early.status == "ok" and handoff.read_driver_study(path, timeout=0) == (1, 2)
    early.close()
    assert not list(tmp_path.iterdir())
    never = handoff.start_driver_study(None, str(DEMO), as_of=AS_OF)
    never.close()  # the run failed before its work folder existed
    never.thread.join(10)
    assert never.status == "unwritten" and not list(tmp_path.iterdir())


def test_cashsim_report_hands_the_drivers_study_to_the_notebook(run, tmp_path, monkeypatch):
    """The real report with the fit cache warm: the driver computes the study, the report shows its plan, and the
    hand-over file is not in the report folder."""
    started = []
    real = handoff.start_driver_study
    monkeypatch.setattr(handoff, "start_driver_study", lambda *a, **k: started.append(real(*a, **k)) or started[-1])
    folder = report.run_monthly_report(DEMO, "2026-11", n_paths=PATHS, seed=SEED, output_root=tmp_path)
    assert len(started) == 1 and started[0].status == "ok"
    assert handoff.LEVERS_FILE not in {p.name for p in folder.iterdir()}
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    own = lever_views.study_of(run)
    assert summary["plan"] == json.loads(json.dumps(
        lever_views.plan_summary(own.plan, "2026-11")))
