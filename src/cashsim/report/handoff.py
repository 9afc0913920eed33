"""The report's lever study computed by the driver (the ``cashsim report`` process) and handed to its kernel.

The lever study (seconds of pandas holding the GIL) and the views built ahead (:mod:`cashsim.report.ahead`) share one
GIL in the kernel, so they run one after the other. The driver meanwhile only waits for papermill, with its own GIL
and an idle core. So :func:`cashsim.report.runner.run_monthly_report` starts :func:`start_driver_study` once the kernel
is launched: a thread of the driver computes **the same study** as the kernel would - the params file read by
:func:`cashsim.report.views.params_for` with the report's as-of date, the seed override of
:func:`cashsim.pipeline.run_from_params`, :func:`cashsim.pipeline.prepare`, then
:func:`cashsim.report.lever_views.study_of`'s call (:func:`cashsim.pipeline.study_levers` on the run's paths and
seed) - and writes ``(table, plan)`` to a file of the run's temporary work folder, whose path the notebook gets as
its ``levers_file`` parameter. :func:`cashsim.report.ahead.start_levers` then waits for that file
(:func:`read_driver_study`) instead of computing the study, in its background thread.

Rules:

- the driver computes only when the fit cache holds this ledger's fit and book for these params and as-of date
  (:func:`fit_is_cached`), on the local engine: otherwise both processes would fit (or start a dask cluster) at
  once; it then writes a "skipped" answer at once and the kernel computes the study itself, as before;
- a driver failure never breaks the report: whatever goes wrong (an error, a skip, a file that cannot be read, no
  answer within :data:`WAIT_SECONDS`), the kernel computes the study itself
  (:func:`cashsim.report.lever_views.study_of`), as before;
- the answer is written to a temporary name then renamed, so the kernel never reads half a file;
- the notebook run standalone (JupyterLab: ``levers_file = ""``) computes the study itself, as before.

The file is a pickle. That is acceptable here only because it is written by this same run, into its own temporary
work folder (made by :func:`tempfile.mkdtemp` in the company's report folder, under the month's lock), and read back
by this run's own kernel through the path the driver gave it: no other source of pickles is ever loaded.

Memory: the study's peak moves from the kernel to the driver, which also holds a second ledger and baseline. On
the demo (maximum resident sets, ``cashsim report`` in one process): driver 201 -> 960 MB, kernel 1108 -> 479 MB,
so about 130 MB more at the peak of the two together.
"""

from __future__ import annotations

import os
import pickle
import threading
import time
from pathlib import Path
from typing import Any, NamedTuple

#: Name of the hand-over file in the run's work folder.
LEVERS_FILE = ".levers-study.pickle"
#: Seconds the kernel waits for the driver's answer before it computes the study itself.
WAIT_SECONDS = 600.0
#: Seconds between two looks for the driver's answer.
POLL_SECONDS = 0.02


class HandedStudy(NamedTuple):
    """What the report uses of a lever study: the comparison table and the cheapest plan."""

    table: Any
    plan: Any


def fit_is_cached(params, ledger=None) -> bool:
    """Whether :func:`cashsim.pipeline.prepare` would read this params' fit and book from the fit cache (the cache on,
    both entries stored for the ledger's content, as-of date, behaviour settings, sales plan and horizon) - the same
    keys as ``prepare``, so a change there shows here (tests/test_report_handoff.py). ``ledger``: the params'
    ledger, when read already."""
    from cashsim.cache.fits import baseline_is_cached
    from cashsim.pipeline import book_inputs, fit_settings, horizon_end, resolve_as_of
    from cashsim.sources import ledger_from_params

    if not params.cache.enabled:
        return False
    ledger = ledger_from_params(params) if ledger is None else ledger
    as_of = resolve_as_of(params, ledger)
    return baseline_is_cached(ledger, as_of, fit_settings(params),
                              book_inputs=book_inputs(params, horizon_end(as_of, params.horizon_months)),
                              folder=params.resolve(params.cache.dir))


def study_params(params_path: str | Path, as_of: str = "", seed: int | None = None):
    """The params the report's run stands on: :func:`cashsim.report.views.params_for` then the seed override of
    :func:`cashsim.pipeline.run_from_params`."""
    from cashsim.pipeline import with_seed
    from cashsim.report.views import params_for

    return with_seed(params_for(params_path, as_of), seed)


def driver_study(params_path: str | Path, *, as_of: str = "", n_paths: int | None = None,
                 seed: int | None = None) -> HandedStudy | None:
    """The lever study of the report's run (``report.load_run(params_path, as_of=..., n_paths=..., seed=...)`` then
    ``report.levers(run)``), computed without simulating the baseline; None (not computed) when the fit cache is
    cold for these params (:func:`fit_is_cached`) or the engine is not local."""
    from cashsim.cache.store import cache_enabled
    from cashsim.pipeline import prepare, study_levers
    from cashsim.sources import ledger_from_params

    params = study_params(params_path, as_of, seed)
    if params.simulation.backend != "local" or not (params.cache.enabled and cache_enabled()):
        return None  # before the ledger is read
    ledger = ledger_from_params(params)  # read once: for the cache keys and the baseline (prepare reads it so)
    if not fit_is_cached(params, ledger):
        return None
    base = prepare(params, ledger=ledger)
    sp = params.simulation
    paths = int(n_paths or sp.n_paths)  # run.sim.n_paths (pipeline.simulate_only)
    study = study_levers(base, n_paths=paths, seed=int(sp.seed if seed is None else seed))  # lever_views.study_of
    return HandedStudy(study.table, study.plan)


def _write(path: Path, answer: dict[str, Any]) -> None:
    """``answer`` pickled to ``path`` atomically (a temporary name in the same folder, then renamed)."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as out:
        pickle.dump(answer, out, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, path)


class DriverStudy:
    """The driver's side of the hand-over: :func:`compute_and_write` in a daemon thread (a failed report does not
    wait for it), and :meth:`close`, which the driver calls once the notebook has run, before the work folder
    becomes the report folder: the answer is not written from then on, and the file is removed (it is not part of
    the report).

    ``path`` may be None at the start and given later (:meth:`deliver_to`): the driver starts the study as soon as its
    kernel is launched, before it imports papermill and takes the month's lock, and names the file once the work
    folder exists; a computed answer waits for its path (or for :meth:`close`)."""

    def __init__(self, path: str | Path | None, params_path: str | Path, *, as_of: str = "",
                 n_paths: int | None = None, seed: int | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self.status: str | None = None
        self._lock = threading.Lock()
        self._closed = False
        self._placed = threading.Event()  # the path is known, or the hand-over is closed
        if self.path is not None:
            self._placed.set()
        self.thread = threading.Thread(target=self._run, args=(params_path,), daemon=True,
                                       kwargs={"as_of": as_of, "n_paths": n_paths, "seed": seed},
                                       name="cashsim-driver-levers")

    def start(self) -> DriverStudy:
        self.thread.start()
        return self

    def _run(self, params_path: str | Path, **kwargs: Any) -> None:
        self.status = compute_and_write(None, params_path, guard=self._write_unless_closed, **kwargs)

    def deliver_to(self, path: str | Path) -> None:
        """The file the answer goes to (when the study was started without one)."""
        with self._lock:
            self.path = Path(path)
            self._placed.set()

    def _write_unless_closed(self, answer: dict[str, Any]) -> bool:
        self._placed.wait()
        with self._lock:
            if self._closed or self.path is None:
                return False
            _write(self.path, answer)
            return True

    def close(self) -> None:
        """No answer is written from now on; the file (and a temporary one) is removed. Idempotent."""
        with self._lock:
            self._closed = True
            self._placed.set()
            if self.path is not None:
                for leftover in (self.path, *self.path.parent.glob(f"{self.path.name}.*.tmp")):
                    leftover.unlink(missing_ok=True)


def compute_and_write(path: str | Path | None, params_path: str | Path, *, as_of: str = "",
                      n_paths: int | None = None, seed: int | None = None, guard=None) -> str:
    """Run :func:`driver_study` and write its answer to ``path``: ``{"status": "ok", "table", "plan"}``, or
    ``{"status": "skipped" | "failed", "reason"}``; returns the status, or "unwritten" when the file was not written
    (``guard(answer)``, which writes it where its owner says instead of ``path``, said False, or the folder is
    gone). Never raises: a report does not
    depend on it (unwritten, the kernel waits in vain and computes the study itself)."""
    from cashsim import progress

    try:
        with progress.quiet():  # the console shows papermill's bar (main thread), not a second study's steps
            study = driver_study(params_path, as_of=as_of, n_paths=n_paths, seed=seed)
        answer = ({"status": "skipped", "reason": "fit cache cold or engine not local"} if study is None
                  else {"status": "ok", "table": study.table, "plan": study.plan})
    except Exception as exc:  # any failure: the kernel computes the study itself
        answer = {"status": "failed", "reason": f"{type(exc).__name__}: {exc}"}
    try:
        if guard is None:
            _write(Path(path), answer)
        elif not guard(answer):
            return "unwritten"
    except Exception:  # the work folder is gone (the run failed or ended), a table that does not pickle...
        return "unwritten"
    return answer["status"]


def start_driver_study(path: str | Path | None, params_path: str | Path, *, as_of: str = "",
                       n_paths: int | None = None, seed: int | None = None) -> DriverStudy:
    """:class:`DriverStudy` started: the study computed in a daemon thread of the driver and written to ``path``
    (None: to the path :meth:`DriverStudy.deliver_to` gives later)."""
    return DriverStudy(path, params_path, as_of=as_of, n_paths=n_paths, seed=seed).start()


def read_driver_study(path: str | Path, *, timeout: float = WAIT_SECONDS) -> HandedStudy | None:
    """The study the driver wrote to ``path`` (waiting for it up to ``timeout`` seconds), or None when the driver
    skipped it, failed, did not answer in time or wrote a file that cannot be read: the caller computes it then."""
    path = Path(path)
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() >= deadline:
            return None
        time.sleep(POLL_SECONDS)
    try:
        with open(path, "rb") as src:
            answer = pickle.load(src)  # written by this run's driver into its private work folder (module docstring)
    except Exception:  # unreadable: the caller computes it
        return None
    if not isinstance(answer, dict) or answer.get("status") != "ok":
        return None
    return HandedStudy(answer["table"], answer["plan"])
