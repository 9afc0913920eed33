"""The monthly report run (*rapport mensuel de trésorerie*): ``monthly_report.ipynb`` run by papermill into
``reports/<company>/YYYY-MM/``, exported to a self-contained HTML without code (:mod:`cashsim.report.html`), with a
``summary.json`` of the headline figures (:mod:`cashsim.report.summary`).

``run_monthly_report(params_path, "2026-11")`` writes, for the params' ``company: Atelier Démo SAS``::

    reports/atelier-demo-sas/2026-11/
        cashsim-report-2026-11.ipynb   the executed notebook (open it in JupyterLab to dig further)
        cashsim-report-2026-11.html    the report: no code cells, plotly.js embedded once, opens offline
        plan-de-bataille-2026-11.xlsx  the battle plan: actions per owner, call list, KPIs (report.handouts)
        synthese-2026-11.pdf           2-3 A4 pages printed by headless Chromium (skipped with a note if absent)
        summary.json                   headline figures + run uuid, versions, params hash, seed, paths, hand-outs

``reports/`` is the output root (``--output``, else the params' ``report.output_dir``); it holds one folder per
company, named by :func:`company_slug` of the params' ``company``, so the reports of two params files (two
companies) never mix. Below, ``reports/<company>`` is that company folder. Safe to schedule (cron / systemd timer, see
docs/scheduling.md):

- never overwrites an earlier report: when ``<company>/2026-11`` exists the run goes to ``2026-11-v2``, ``-v3``...
  unless ``force=True``, which replaces it;
- renders into a temporary folder beside the destination (same filesystem) and moves it into place with
  ``os.replace`` only when everything is written, so a report folder is always complete; the temporary folders a
  killed run left behind (``<company>/.2026-11-tmp-*``) are removed by the next run of the month, once it holds the
  lock;
- a lock per company and month (``<company>/.2026-11.lock``, :mod:`filelock`) makes a second concurrent run of the
  same month fail at once with a clear message (the lock is released by the OS if a run dies);
- a failing cell raises :class:`ReportError` (the command exits non-zero) and keeps the executed notebook as
  ``<company>/2026-11.<UTC time>.failed.ipynb``, red error banner included, for diagnosis.

The hand-outs are written by the notebook itself (it holds the run and the plan) into the folder the driver passes
as the ``handouts_dir`` parameter, when the notebook declares it; ``summary.json`` lists them under ``handouts``.

The notebook runs in a fresh ``python3`` kernel of the current interpreter (never the kernel name saved in the
notebook: papermill#251), with ``TQDM_DISABLE=1`` (widget progress bars would load JavaScript from a CDN in the
exported page) and ``PLOTLY_RENDERER=plotly_mimetype+notebook`` (a papermill kernel otherwise emits only the
plotly mimetype and nbconvert drops every chart; ``notebook`` embeds plotly.js once). That kernel is started
first and imports the notebook's modules while the driver imports papermill (:mod:`cashsim.report.kernel`);
papermill writes the running notebook at most every 5 s (:mod:`cashsim.report.execution`). While the kernel runs,
a thread of the driver computes the lever study (when the fit cache is warm) and hands it to the notebook through
its ``levers_file`` parameter (:mod:`cashsim.report.handoff`): the study and the kernel's views no longer share a GIL.

Example::

    >>> from cashsim.report import run_monthly_report             # doctest: +SKIP
    >>> folder = run_monthly_report("params/demo.yml", "2026-11", n_paths=500)  # doctest: +SKIP
    >>> sorted(p.name for p in folder.iterdir())                    # doctest: +SKIP
    ['cashsim-report-2026-11.html', 'cashsim-report-2026-11.ipynb', 'summary.json']
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import importlib.metadata
import json
import os
import platform
import re
import shutil
import tempfile
import threading
import time
import unicodedata
import uuid
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd
from filelock import FileLock, Timeout

from cashsim import __version__, fmt, progress
from cashsim.errors import ReportError
from cashsim.params import Params, load_params
from cashsim.report.resources import packaged_notebook
from cashsim.report.summary import _json_default, read_summary

# papermill, nbformat and nbconvert are imported where the driver uses them: the report's kernel imports this module
# (cashsim.report) too and has no use for them, and the driver starts that kernel before it imports them.

#: Environment of the kernel that runs a report (see the module docstring).
REPORT_ENV = {"TQDM_DISABLE": "1", "PLOTLY_RENDERER": "plotly_mimetype+notebook"}
#: Seconds a single cell may run before the report is abandoned as hung.
CELL_TIMEOUT = 1800
#: A report month: ``YYYY-MM`` exactly (``fullmatch``), four ASCII digits and a month 01-12 - no space, no newline.
_MONTH = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")
#: Letters NFKD does not decompose, spelt out for a company folder name (*L'Œuvre* -> ``l-oeuvre``).
_LIGATURES = str.maketrans({"œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE", "ß": "ss"})
_VERSIONED = ("numpy", "scipy", "pandas", "plotly", "papermill", "nbconvert", "pydantic", "babel")


def company_slug(company: str) -> str:
    """The company's folder name under the output root: ASCII, lowercase, words joined by hyphens.

    Rule: the ligatures ``œ æ ß`` spelt ``oe ae ss``, Unicode NFKD decomposition, accents and other non-ASCII
    characters dropped, lowercase, every run of characters other than ``a-z0-9`` becomes one hyphen, none at either
    end, at most 80 characters. A name with no ASCII letter or digit at all gets ``company-`` and the first 8 hex
    digits of the SHA-256 of its UTF-8 bytes, so two such names still get two folders.

    >>> company_slug("Atelier Démo SAS")
    'atelier-demo-sas'
    >>> company_slug("  Dupont & Fils <SARL> ")
    'dupont-fils-sarl'
    >>> company_slug("../..")[:8]
    'company-'
    """
    spelt = company.translate(_LIGATURES)
    ascii_name = unicodedata.normalize("NFKD", spelt).encode("ascii", "ignore").decode("ascii").lower()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name).strip("-")[:80].rstrip("-")
    return slug or f"company-{hashlib.sha256(company.encode('utf-8')).hexdigest()[:8]}"


def check_month(month: str) -> pd.Period:
    """``"2026-11"`` as a monthly Period; a ReportError says the expected form otherwise.

    The month names the lock, the temporary folder and the report folder, so it is ``YYYY-MM`` exactly:
    ``"2026-11\\n"`` or ``" 2026-11"`` are refused (their ``repr`` in the message keeps it on one line).

    >>> check_month("2026-11")
    Period('2026-11', 'M')
    """
    if not isinstance(month, str) or not _MONTH.fullmatch(month):
        raise ReportError.of("--month {month}: give the report month as YYYY-MM, for example 2026-11",
                             month=repr(month), fields={"option": "--month"})
    return pd.Period(month, freq="M")


def report_as_of(params: Params, month: str) -> dt.date:
    """The date the report for ``month`` stands on.

    Rule: the params file's ``as_of`` when it sets one (a fixed data extract, as in the demo), else the last day
    of the month before ``month`` (a monthly run on fresh data). The month must then lie in the forecast horizon:
    from the month after the as-of date, ``horizon_months`` long.

    >>> from cashsim.params import Params
    >>> report_as_of(Params(as_of="2026-10-31"), "2026-11")
    datetime.date(2026, 10, 31)
    >>> report_as_of(Params(), "2027-01")
    datetime.date(2026, 12, 31)
    """
    period = check_month(month)
    if params.as_of is None:
        return (period.start_time - pd.Timedelta(days=1)).date()
    as_of = params.as_of
    first = pd.Period(pd.Timestamp(as_of) + pd.Timedelta(days=1), freq="M")
    last = first + (params.horizon_months - 1)
    if not first <= period <= last:
        raise ReportError.of("month {month} is outside the forecast horizon {first}..{last} of a forecast as of "
                             "{as_of}: choose a month in it, or change as_of / horizon_months in the params file",
                             month=month, first=first, last=last, as_of=as_of, fields={"option": "--month"})
    return as_of


def params_hash(path: str | Path) -> str:
    """SHA-256 of the params file's bytes: the same hash means the same parameters were used."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def versions() -> dict[str, str]:
    """Versions of cashsim, Python and the libraries that decide the numbers and the rendering."""
    out = {"cashsim": __version__, "python": platform.python_version()}
    for dist in _VERSIONED:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            out[dist] = importlib.metadata.version(dist)
    return out


def notebook_parameters(notebook: str | Path) -> dict[str, str]:
    """Names and defaults (as source text) of the notebook's ``parameters`` cell, in their order: its top-level
    assignments (``name = value``, ``name: type = value``), read with :mod:`ast` from the notebook's JSON - what
    papermill's ``inspect_notebook`` gives, without importing papermill nor needing a kernel name in the notebook.
    The driver reads it once per report (:func:`run_monthly_report`)."""
    import ast

    path = Path(notebook)
    try:
        cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
        cell = next((c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])), None)
    except (ValueError, AttributeError) as exc:  # not JSON, or not a notebook's
        raise ReportError.of("{notebook}: not a notebook ({reason})", notebook=path, reason=str(exc),
                             fields={"file": str(path)}) from None
    if cell is None or cell.get("cell_type") != "code":
        raise ReportError.of("{notebook}: no cell tagged 'parameters'; tag the first code cell 'parameters'",
                             notebook=path, fields={"file": str(path)})
    source = cell.get("source", "")
    source = "".join(source) if isinstance(source, list) else source
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise ReportError.of("{notebook}: the parameters cell is not valid Python ({reason})", notebook=path,
                             reason=str(exc), fields={"file": str(path)}) from None
    out: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            out[node.targets[0].id] = ast.get_source_segment(source, node.value) or "None"
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            out[node.target.id] = ast.get_source_segment(source, node.value) if node.value else "None"
    return out


def check_parameters(notebook: str | Path, parameters: Mapping[str, Any],
                     declared: Mapping[str, str] | None = None) -> None:
    """Refuse parameter names the notebook does not declare: papermill would only log a warning and ignore them.
    ``declared``: the notebook's :func:`notebook_parameters` when already read."""
    known = notebook_parameters(notebook) if declared is None else declared
    unknown = sorted(set(parameters) - set(known))
    if unknown:
        raise ReportError.of("{notebook}: unknown parameter(s) {unknown}; the notebook's parameters are {known}",
                             notebook=notebook, unknown=str(unknown), known=str(sorted(known)),
                             fields={"file": str(notebook)})


def next_destination(root: Path, month: str, *, force: bool) -> Path:
    """``root/month`` when free (or when forcing), else the first free ``root/month-vK`` with K = 2, 3, ..."""
    base = root / month
    if force or not base.exists():
        return base
    k = 2
    while (root / f"{month}-v{k}").exists():
        k += 1
    return root / f"{month}-v{k}"


@contextlib.contextmanager
def kernel_environment(extra: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the kernel papermill starts (it inherits ours), then restore them."""
    saved = {k: os.environ.get(k) for k in extra}
    os.environ.update(extra)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextlib.contextmanager
def month_lock(root: Path, month: str) -> Iterator[Path]:
    """Hold ``root/.YYYY-MM.lock`` for the run; a second run of the same month fails at once."""
    root.mkdir(parents=True, exist_ok=True)
    path = root / f".{month}.lock"
    lock = FileLock(str(path), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise ReportError.of("another cashsim report for {month} is running (lock {path} is held); wait for it to "
                             "finish - the lock is released automatically when that run ends or dies", month=month,
                             path=path, fields={"file": str(path)}) from None
    try:
        yield path
    finally:
        lock.release()


def work_prefix(month: str) -> str:
    """Name prefix of the temporary folders a run of ``month`` renders into: ``.YYYY-MM-tmp-``."""
    return f".{month}-tmp-"


def remove_stale_work(root: Path, month: str) -> list[Path]:
    """Delete the temporary folders ``root/.YYYY-MM-tmp-*`` that killed runs of ``month`` left behind.

    Call it only while holding the month's lock (:func:`month_lock`): the OS releases the lock when its holder ends
    or dies, so a temporary folder of the month that exists once the lock is ours belongs to a dead run (SIGKILL,
    SIGTERM, power cut). Report folders (``YYYY-MM``, ``YYYY-MM-vK``) are never touched: the last good report stays.
    Returns the folders removed.
    """
    stale = sorted(p for p in root.glob(f"{work_prefix(month)}*") if p.is_dir() and not p.is_symlink())
    for path in stale:
        shutil.rmtree(path, ignore_errors=True)
    return stale


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _keep_failed(root: Path, month: str, executed: Path) -> Path | None:
    if not executed.exists():
        return None
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    kept = root / f"{month}.{stamp}.failed.ipynb"
    os.replace(executed, kept)
    return kept


def _replace_dir(src: Path, dst: Path) -> None:
    """Move the finished folder into place; an existing one (``force``) is moved aside first, then deleted."""
    old = None
    if dst.exists():
        old = dst.with_name(f".{dst.name}.old-{uuid.uuid4().hex[:8]}")
        os.replace(dst, old)
    os.replace(src, dst)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def run_monthly_report(params_path: str | Path, month: str, *, n_paths: int | None = None, force: bool = False,
                       output_root: str | Path | None = None, as_of: str | dt.date | None = None,
                       seed: int | None = None, notebook: str | Path | None = None,
                       cell_timeout: int = CELL_TIMEOUT) -> Path:
    """Run the monthly report for ``month`` (``YYYY-MM``) and return the folder it was written to.

    The folder is ``output_root/<company>/YYYY-MM`` (``-vK``), ``<company>`` the :func:`company_slug` of the params'
    ``company``. ``output_root`` defaults to the params' ``report.output_dir`` (relative to the working directory, as
    typed on the command line). ``n_paths`` / ``seed`` override the params' simulation settings; ``as_of`` overrides
    :func:`report_as_of`. ``notebook`` replaces the packaged ``monthly_report.ipynb`` (tests, custom reports).
    Raises ParamsError for a bad params file, ReportError for a bad month, a held lock or a failing cell. The month
    is checked first, before anything is read or written; temporary folders of killed runs of the month are removed
    once its lock is held (:func:`remove_stale_work`).
    """
    from cashsim.report.kernel import WarmKernel, without_iri_grammar

    started = time.perf_counter()
    check_month(month)
    params_file = Path(params_path).resolve()
    params = load_params(params_file)
    report_date = pd.Timestamp(as_of).date() if as_of else report_as_of(params, month)
    source = Path(notebook).resolve() if notebook else packaged_notebook()
    output = Path(output_root if output_root is not None else params.report.output_dir).resolve()
    root = output / company_slug(params.company)  # the company's folder: its reports, locks and failed notebooks
    parameters = {"params_path": str(params_file), "month": month, "as_of": report_date.isoformat()}
    if n_paths is not None:
        parameters["n_paths"] = int(n_paths)
    if seed is not None:
        parameters["seed"] = int(seed)
    declared = notebook_parameters(source)  # the parameters cell, read once
    check_parameters(source, parameters, declared)  # a bad parameter stops here, before a kernel starts
    kernel = WarmKernel(source, cwd=params_file.parent, env=REPORT_ENV)  # starts while papermill loads (report.kernel)
    driver_study = None
    try:
        with kernel.stopped_on_error():
            # the lever study, when the notebook takes it (report.handoff): started now, the report waits for it;
            # papermill's import, the month's lock and the work folder, where its file goes, need not come first;
            # its file is named later (DriverStudy.deliver_to, once the work folder exists)
            if "levers_file" in declared:
                from cashsim.report.handoff import start_driver_study

                driver_study = start_driver_study(None, params_file, as_of=report_date.isoformat(), n_paths=n_paths,
                                                  seed=seed)
            with without_iri_grammar():  # (report.kernel: a second of lark grammars)
                import papermill as pm
                from papermill.exceptions import PapermillExecutionError

                from cashsim.report.execution import engine_name
                from cashsim.report.html import export_html, html_exporter
        run_id = str(uuid.uuid4())
        stem = f"cashsim-report-{month}"

        with kernel, month_lock(root, month):
            remove_stale_work(root, month)
            destination = next_destination(root, month, force=force)
            work = Path(tempfile.mkdtemp(prefix=work_prefix(month), dir=root))
            os.chmod(work, 0o777 & ~_umask())  # mkdtemp makes it private; a report is for the finance team
            show_progress = progress.enabled()  # papermill's bar (the lever study's thread is quiet: report.handoff)
            if "handouts_dir" in declared:  # the workbook and PDF summary go beside the HTML
                parameters["handouts_dir"] = str(work)
            if "reports_dir" in declared:  # earlier reports: last month's forecast (report.hindsight)
                parameters["reports_dir"] = str(root)
            if driver_study is not None:  # the lever study, computed here meanwhile, written in the work folder
                from cashsim.report.handoff import LEVERS_FILE

                parameters["levers_file"] = str(work / LEVERS_FILE)
                driver_study.deliver_to(parameters["levers_file"])
            language = fmt.parse_locale(params.report.locale).language
            # the HTML exporter's templates are compiled meanwhile, in a thread: the notebook's run mostly waits - once
            # the driver's lever study is done, whose GIL it would share (_warm_exporter)
            ran = threading.Event()
            warming = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cashsim-html")
            exporter = warming.submit(_warm_exporter, html_exporter, language, driver_study, ran)
            warming.shutdown(wait=False)
            try:
                executed = work / f"{stem}.ipynb"
                try:
                    with kernel_environment(REPORT_ENV):
                        nb = pm.execute_notebook(str(source), str(executed), parameters=parameters,
                                                 kernel_name="python3", language="python", cwd=str(params_file.parent),
                                                 progress_bar=show_progress, log_output=False,
                                                 execution_timeout=cell_timeout, engine_name=engine_name(),
                                                 km=kernel.manager)
                except PapermillExecutionError as exc:
                    kept = _keep_failed(root, month, executed)
                    first = (exc.source or "").strip().splitlines()[:1]
                    raise ReportError.of("the report for {month} failed in cell In [{count}] ({source}): {error}; "
                                         "the failed notebook is kept at {kept}", month=month, count=exc.exec_count,
                                         source=first[0] if first else "no source", error=f"{exc.ename}: {exc.evalue}",
                                         kept=kept, fields={"file": str(kept) if kept else None}) from None
                except Exception as exc:  # kernel died, timeout, cannot start: keep what was written
                    kept = _keep_failed(root, month, executed)
                    raise ReportError.of("the report for {month} could not run ({error}); partial notebook: {kept}",
                                         month=month, error=f"{type(exc).__name__}: {exc}", kept=kept or "none written",
                                         fields={"file": str(kept) if kept else None}) from exc
                finally:
                    ran.set()
                    if driver_study is not None:  # its file is not part of the report
                        driver_study.close()
                summary = read_summary(nb)  # the notebook papermill wrote to ``executed``, as it wrote it
                title = f"{params.company} - {month}"
                ready = exporter.exception() is None  # a failure there is export_html's to raise, if it is one
                page = export_html(nb, title, language, exporter.result() if ready else None)
                (work / f"{stem}.html").write_text(page, encoding="utf-8")
                summary.update({
                    "month": month, "as_of": report_date.isoformat(), "run_uuid": run_id,
                    "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                    "params_file": str(params_file), "params_sha256": params_hash(params_file),
                    "seed": int(seed if seed is not None else params.simulation.seed),
                    "n_paths": int(n_paths if n_paths is not None else params.simulation.n_paths),
                    "versions": versions(), "duration_seconds": round(time.perf_counter() - started, 1),
                    "folder": str(destination),
                })
                (work / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2,
                                                              default=_json_default), encoding="utf-8")
                _replace_dir(work, destination)
            finally:
                if work.exists():
                    shutil.rmtree(work, ignore_errors=True)
        return destination
    finally:
        if driver_study is not None:  # never written after the run, whatever happened (idempotent)
            driver_study.close()


def _warm_exporter(html_exporter, language: str, study, ran: threading.Event):
    """A warm HTML exporter (:func:`cashsim.report.html.html_exporter`), built once the driver's lever study
    (``study``, a :class:`cashsim.report.handoff.DriverStudy`, or None) has ended or the notebook has run (``ran``),
    whichever comes first: the import of nbconvert and its templates would otherwise take the GIL from the study,
    which the report waits for."""
    while study is not None and study.thread.is_alive() and not ran.wait(0.05):
        pass
    return html_exporter(language, warm=True)


def html_path(folder: str | Path) -> Path:
    """The HTML report inside a report folder."""
    folder = Path(folder)
    found = sorted(folder.glob("cashsim-report-*.html"))
    if not found:
        raise ReportError.of("{folder}: no cashsim-report-*.html in this folder", folder=folder,
                             fields={"file": str(folder)})
    return found[0]
