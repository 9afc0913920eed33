"""The monthly report (*rapport mensuel de trésorerie*): ``monthly_report.ipynb`` run by papermill into
``reports/YYYY-MM/``, exported to a self-contained HTML without code, with a ``summary.json`` of the headline
figures.

``run_monthly_report(params_path, "2026-11")`` writes::

    reports/2026-11/
        cashsim-report-2026-11.ipynb   the executed notebook (open it in JupyterLab to dig further)
        cashsim-report-2026-11.html    the report: no code cells, plotly.js embedded once, opens offline
        summary.json                   headline figures + run uuid, versions, params hash, seed, paths

Safe to schedule (cron / systemd timer, see docs/scheduling.md):

- never overwrites an earlier report: when ``reports/2026-11`` exists the run goes to ``2026-11-v2``, ``-v3``...
  unless ``force=True``, which replaces it;
- renders into a temporary folder beside the destination (same filesystem) and moves it into place with
  ``os.replace`` only when everything is written, so a report folder is always complete;
- a lock per month (``reports/.2026-11.lock``, :mod:`filelock`) makes a second concurrent run of the same month fail
  at once with a clear message (the lock is released by the OS if a run dies);
- a failing cell raises :class:`ReportError` (the command exits non-zero) and keeps the executed notebook as
  ``reports/2026-11.<UTC time>.failed.ipynb``, red error banner included, for diagnosis.

The notebook runs in a fresh ``python3`` kernel of the current interpreter (never the kernel name saved in the
notebook: papermill#251), with ``TQDM_DISABLE=1`` (widget progress bars would load JavaScript from a CDN in the
exported page) and ``PLOTLY_RENDERER=plotly_mimetype+notebook`` (a papermill kernel otherwise emits only the
plotly mimetype and nbconvert drops every chart; ``notebook`` embeds plotly.js once). The HTML template is
nbconvert's ``lab`` template without its require.js and MathJax ``<script>`` tags, which would be fetched from a
CDN and, for require.js, turn plotly.js into an AMD module the figures do not find; the MathJax ``<script src>``
plotly adds to every figure is removed too. The page makes no request outside itself (the browser test checks).

Customer names are data: report tables go through :func:`cashsim.fmt.table` (HTML-escaped), figures through
plotly's JSON (which escapes ``<``), so a customer named ``<script>`` shows as text.

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
import importlib.resources
import json
import os
import platform
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import nbformat
import pandas as pd
import papermill as pm
from filelock import FileLock, Timeout
from nbconvert import HTMLExporter
from nbconvert.preprocessors import TagRemovePreprocessor
from papermill.exceptions import PapermillExecutionError
from papermill.translators import PythonTranslator

from cashsim import __version__, fmt
from cashsim.errors import ReportError
from cashsim.params import Params, load_params

#: Mimetype of the headline figures the notebook's last cell displays; the driver reads it into summary.json.
SUMMARY_MIMETYPE = "application/vnd.cashsim.summary+json"
#: Cells with these tags are not in the HTML (the parameters, and the machine-readable summary).
HIDDEN_TAGS = frozenset({"parameters", "injected-parameters", "remove_cell", "summary"})
#: Environment of the kernel that runs a report (see the module docstring).
REPORT_ENV = {"TQDM_DISABLE": "1", "PLOTLY_RENDERER": "plotly_mimetype+notebook"}
#: Seconds a single cell may run before the report is abandoned as hung.
CELL_TIMEOUT = 1800
#: plotly's notebook renderer adds a MathJax <script src> from a CDN to every figure; the report has no LaTeX.
_PLOTLY_MATHJAX = re.compile(r'<script src="https://cdn[a-z.]*/ajax/libs/mathjax/[^"]*"></script>')
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_VERSIONED = ("numpy", "scipy", "pandas", "plotly", "papermill", "nbconvert", "pydantic", "babel")


def packaged_notebook(name: str = "monthly_report.ipynb") -> Path:
    """The notebook shipped inside the package (``cashsim/notebooks/``), found with importlib.resources."""
    resource = importlib.resources.files("cashsim").joinpath("notebooks", name)
    if not resource.is_file():
        raise ReportError(f"the packaged notebook cashsim/notebooks/{name} is missing: reinstall cashsim")
    return Path(str(resource))


def _template_dir() -> Path:
    return Path(str(importlib.resources.files("cashsim").joinpath("notebooks", "templates")))


def check_month(month: str) -> pd.Period:
    """``"2026-11"`` as a monthly Period; a ReportError says the expected form otherwise."""
    if not isinstance(month, str) or not _MONTH.match(month):
        raise ReportError(f"--month {month!r}: give the report month as YYYY-MM, for example 2026-11")
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
        raise ReportError(f"month {month} is outside the forecast horizon {first}..{last} of a forecast as of "
                          f"{as_of}: choose a month in it, or change as_of / horizon_months in the params file")
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


def notebook_parameters(notebook: str | Path) -> dict[str, Any]:
    """Names and defaults (as source text) of the notebook's ``parameters`` cell, parsed by papermill's Python
    translator - what ``pm.inspect_notebook`` does, minus its need for a kernel name in the notebook."""
    nb = nbformat.read(str(notebook), as_version=4)
    cell = next((c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])), None)
    if cell is None:
        raise ReportError(f"{notebook}: no cell tagged 'parameters'; tag the first code cell 'parameters'")
    return {p.name: p.default for p in PythonTranslator.inspect(cell)}


def check_parameters(notebook: str | Path, parameters: Mapping[str, Any]) -> None:
    """Refuse parameter names the notebook does not declare: papermill would only log a warning and ignore them."""
    known = notebook_parameters(notebook)
    unknown = sorted(set(parameters) - set(known))
    if unknown:
        raise ReportError(f"{notebook}: unknown parameter(s) {unknown}; the notebook's parameters are "
                          f"{sorted(known)}")


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
def _environment(extra: Mapping[str, str]) -> Iterator[None]:
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
        raise ReportError(f"another cashsim report for {month} is running (lock {path} is held); wait for it to "
                          "finish - the lock is released automatically when that run ends or dies") from None
    try:
        yield path
    finally:
        lock.release()


def export_html(notebook: nbformat.NotebookNode, title: str, language: str = "fr") -> str:
    """The executed notebook as one HTML page without code, prompts, parameters or the summary cell.

    ``language`` (``fr``) goes into ``<html lang>``, so the browser hyphenates and reads figures the local way.
    """
    exporter = HTMLExporter(template_name="cashsim_report", extra_template_basedirs=[str(_template_dir())],
                            exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True,
                            language_code=language)
    exporter.register_preprocessor(TagRemovePreprocessor(remove_cell_tags=set(HIDDEN_TAGS), enabled=True),
                                   enabled=True)
    body, _ = exporter.from_notebook_node(notebook, resources={"metadata": {"name": title}})
    return _PLOTLY_MATHJAX.sub("", body)


def read_summary(notebook: nbformat.NotebookNode) -> dict[str, Any]:
    """The headline figures the notebook displayed under :data:`SUMMARY_MIMETYPE` (the last such output)."""
    found = None
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if SUMMARY_MIMETYPE in data:
                found = data[SUMMARY_MIMETYPE]
    if found is None:
        raise ReportError(f"the report notebook displayed no {SUMMARY_MIMETYPE} output: its last cell must "
                          "display cashsim.report.summary_bundle(...)")
    return dict(found)


def summary_bundle(summary: Mapping[str, Any]) -> dict[str, Any]:
    """A mime bundle to ``display(..., raw=True)`` in the notebook: the driver picks it up for summary.json."""
    clean = json.loads(json.dumps(summary, default=_json_default))
    return {SUMMARY_MIMETYPE: clean, "text/plain": json.dumps(clean, ensure_ascii=False, indent=1)}


def _json_default(value: Any) -> Any:
    if isinstance(value, pd.Timestamp | dt.date):
        return value.isoformat()[:10] if isinstance(value, dt.date) and not isinstance(value, dt.datetime) \
            else value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


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

    ``output_root`` defaults to the params' ``report.output_dir`` (relative to the working directory, as typed on
    the command line). ``n_paths`` / ``seed`` override the params' simulation settings; ``as_of`` overrides
    :func:`report_as_of`. ``notebook`` replaces the packaged ``monthly_report.ipynb`` (tests, custom reports).
    Raises ParamsError for a bad params file, ReportError for a bad month, a held lock or a failing cell.
    """
    started = time.perf_counter()
    params_file = Path(params_path).resolve()
    params = load_params(params_file)
    check_month(month)
    report_date = pd.Timestamp(as_of).date() if as_of else report_as_of(params, month)
    source = Path(notebook).resolve() if notebook else packaged_notebook()
    root = Path(output_root if output_root is not None else params.report.output_dir).resolve()
    parameters = {"params_path": str(params_file), "month": month, "as_of": report_date.isoformat()}
    if n_paths is not None:
        parameters["n_paths"] = int(n_paths)
    if seed is not None:
        parameters["seed"] = int(seed)
    check_parameters(source, parameters)
    run_id = str(uuid.uuid4())
    stem = f"cashsim-report-{month}"

    with month_lock(root, month):
        destination = next_destination(root, month, force=force)
        work = Path(tempfile.mkdtemp(prefix=f".{month}-tmp-", dir=root))
        os.chmod(work, 0o777 & ~_umask())  # mkdtemp makes it private; a report is for the finance team
        try:
            executed = work / f"{stem}.ipynb"
            try:
                with _environment(REPORT_ENV):
                    pm.execute_notebook(str(source), str(executed), parameters=parameters, kernel_name="python3",
                                        language="python", cwd=str(params_file.parent), progress_bar=False,
                                        log_output=False, execution_timeout=cell_timeout)
            except PapermillExecutionError as exc:
                kept = _keep_failed(root, month, executed)
                first = (exc.source or "").strip().splitlines()[:1]
                raise ReportError(f"the report for {month} failed in cell In [{exc.exec_count}] "
                                  f"({first[0] if first else 'no source'}): {exc.ename}: {exc.evalue}; "
                                  f"the failed notebook is kept at {kept}") from None
            except Exception as exc:  # kernel died, timeout, cannot start: keep what was written
                kept = _keep_failed(root, month, executed)
                raise ReportError(f"the report for {month} could not run ({type(exc).__name__}: {exc}); "
                                  f"partial notebook: {kept or 'none written'}") from exc
            nb = nbformat.read(executed, as_version=4)
            summary = read_summary(nb)
            title = f"{params.company} - {month}"
            language = fmt.parse_locale(params.report.locale).language
            (work / f"{stem}.html").write_text(export_html(nb, title, language), encoding="utf-8")
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


# ------------------------------------------------------------------------------------------------------------------
# What the report notebooks call: short glue over the pipeline, so the notebooks hold no logic of their own.

#: Sentences of the month's answer, by language of the report locale (English otherwise).
WORDS = {
    "fr": {"target": "Objectif lissé", "forecast": "Encaissements prévus (médiane)",
           "interval": "80 % de chances entre {} et {}", "p_met": "Probabilité d'atteindre l'objectif",
           "required": "requis : {}", "shortfall": "Manque attendu", "worst": "1 cas sur 10 : au moins {}",
           "met": "objectif tenu au niveau de confiance requis", "missed": "objectif à risque",
           "plan": "Plan recommandé", "no_plan": "aucun levier nécessaire", "plan_cost": "coût {}",
           "plan_p": "P(objectif atteint) avec le plan : {}", "gap": "écart restant {}"},
    "en": {"target": "Smoothed target", "forecast": "Forecast collections (median)",
           "interval": "80% chance between {} and {}", "p_met": "Probability of meeting the target",
           "required": "required: {}", "shortfall": "Expected shortfall", "worst": "1 case in 10: at least {}",
           "met": "target met at the required confidence", "missed": "target at risk",
           "plan": "Recommended plan", "no_plan": "no lever needed", "plan_cost": "cost {}",
           "plan_p": "P(target met) with the plan: {}", "gap": "remaining gap {}"},
}


def params_for(params_path: str | Path, as_of: str | None = "") -> Params:
    """The params file, with ``as_of`` (``YYYY-MM-DD``; empty keeps the file's) overriding its standing date."""
    params = load_params(params_path)
    if as_of:
        params = params.model_copy(update={"as_of": pd.Timestamp(as_of).date()})
    return params


def load_run(params_path: str | Path, *, as_of: str | None = "", n_paths: int | None = None,
             seed: int | None = None):
    """The baseline run of a params file (``cashsim.pipeline.run_from_params``), ``as_of`` overriding the file's."""
    from cashsim.pipeline import run_from_params

    return run_from_params(params_for(params_path, as_of), n_paths=n_paths, seed=seed, by_customer=True)


def forecast_months(run) -> pd.DataFrame:
    """``run.targets.months`` without the months already past (one row per forecast month)."""
    return run.targets.forecast_months


def report_month(run, month: str | None = "") -> str:
    """``month`` checked against the forecast horizon, or the first forecast month when empty."""
    months = forecast_months(run)["month"].astype(str).tolist()
    if not month:
        return months[0]
    check_month(month)
    if month not in months:
        raise ReportError(f"month {month} is not in the forecast horizon {months[0]}..{months[-1]}")
    return month


def month_figures(run, month: str) -> dict[str, float]:
    """Headline figures of one month: required, target, forecast quantiles, P(target met), shortfalls (euros)."""
    row = forecast_months(run).set_index("month").loc[month]
    keys = ["required", "target_p50", "collections_mean", "collections_p10", "collections_p50",
            "collections_p90", "p_target_met", "expected_shortfall", "shortfall_p10_worst"]
    out = {k: float(row[k]) for k in keys if k in row.index}
    out["at_risk"] = bool(row["p_target_met"] < run.targets.required_probability)
    return out


def headline(run, month: str, plan: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The figures ``summary.json`` keeps: the month's answer, every forecast month, and the plan (if any)."""
    months = forecast_months(run)
    cols = ["month", "required", "target_p50", "collections_p10", "collections_p50", "collections_p90",
            "p_target_met", "expected_shortfall"]
    return {
        "company": run.params.company, "month": month, "as_of": run.as_of.date().isoformat(),
        "required_probability": run.targets.required_probability,
        "answer": month_figures(run, month),
        "months": json.loads(months[cols].to_json(orient="records")),
        "plan": dict(plan) if plan is not None else None,
        "n_paths": int(run.sim.n_paths), "seed": int(run.sim.seed),
    }


def answer_html(run, month: str, plan: Mapping[str, Any] | None = None) -> str:
    """The month's answer as a few lines of HTML in the report's language and number format.

    ``plan`` (optional): ``{"levers": [names], "cost": euros, "p_target_met": share, "gap": euros}``.
    Every value from the data is escaped.
    """
    import html

    loc = run.params.report.locale
    cur = run.params.currency
    w = WORDS.get(fmt.parse_locale(loc).language, WORDS["en"])
    f = month_figures(run, month)

    def m(x: float) -> str:
        return f'<span class="figure">{html.escape(fmt.money(x, locale=loc, currency=cur, decimals=0))}</span>'

    p = fmt.percent(f["p_target_met"], locale=loc)
    verdict = (f'<span class="cashsim-missed">{w["missed"]}</span>' if f["at_risk"]
               else f'<span class="cashsim-met">{w["met"]}</span>')
    lines = [
        f"<h2>{html.escape(fmt.month_name(month, locale=loc).capitalize())} : {verdict}</h2>"
        if fmt.parse_locale(loc).language == "fr" else
        f"<h2>{html.escape(fmt.month_name(month, locale=loc))}: {verdict}</h2>",
        "<ul>",
        f"<li>{w['target']} : {m(f['target_p50'])}</li>",
        f"<li>{w['forecast']} : {m(f['collections_p50'])} "
        f"({w['interval'].format(m(f['collections_p10']), m(f['collections_p90']))})</li>",
        f"<li>{w['p_met']} : <span class='figure'>{p}</span> "
        f"({w['required'].format(fmt.percent(run.targets.required_probability, locale=loc))})</li>",
        f"<li>{w['shortfall']} : {m(f['expected_shortfall'])} "
        f"({w['worst'].format(m(f['shortfall_p10_worst']))})</li>",
    ]
    if plan is not None:
        levers = [html.escape(str(x)) for x in plan.get("levers", [])]
        text = ", ".join(levers) if levers else w["no_plan"]
        extra = []
        if plan.get("cost") is not None:
            extra.append(w["plan_cost"].format(m(plan["cost"])))
        if plan.get("p_target_met") is not None:
            extra.append(w["plan_p"].format(fmt.percent(plan["p_target_met"], locale=loc)))
        if plan.get("gap"):
            extra.append(w["gap"].format(m(plan["gap"])))
        lines.append(f"<li>{w['plan']} : <b>{text}</b>{' - ' + '; '.join(extra) if extra else ''}</li>")
    lines.append("</ul>")
    body = "\n".join(lines)
    # French typography: a no-break space before the colon; English: none
    body = body.replace(" : ", "\xa0: " if fmt.parse_locale(loc).language == "fr" else ": ")
    return f'<div class="cashsim-answer">{body}</div>'


def _locale(run) -> dict[str, str]:
    """Locale and currency of a Run or Baseline (anything with ``.params``)."""
    return {"locale": run.params.report.locale, "currency": run.params.currency}


def months_view(run):
    """Table of the forecast months: burn, target, forecast quantiles, P(target met), expected shortfall."""
    cols = {"month": "month", "required": "required", "target_p50": "target", "collections_p10": "forecast p10",
            "collections_p50": "forecast p50", "collections_p90": "forecast p90", "p_target_met": "P(target met)",
            "expected_shortfall": "expected shortfall"}
    frame = forecast_months(run)[list(cols)]
    frame["month"] = [fmt.month_name(m, locale=run.params.report.locale) for m in frame["month"]]
    return fmt.table(frame, money_cols=[c for c in cols if c not in ("month", "p_target_met")],
                     percent_cols=["p_target_met"], labels=cols, **_locale(run))


def weekly_view(run):
    """Weekly treasury plan (*plan de trésorerie*): collections, outflows, end-of-week cash, P(under minimum)."""
    cols = {"week_start": "week of", "collections_mean": "collections (mean)", "outflows": "outflows",
            "position_p10": "cash p10", "position_p50": "cash p50", "position_p90": "cash p90",
            "p_under_minimum": "P(under minimum)"}
    frame = run.targets.weekly[list(cols)]
    return fmt.table(frame, money_cols=[c for c in cols if c not in ("week_start", "p_under_minimum")],
                     percent_cols=["p_under_minimum"], date_cols=["week_start"], labels=cols, **_locale(run))


def aged_wide(aged: pd.DataFrame) -> pd.DataFrame:
    """``kpi.aged_balance`` (tidy: group, bucket, amount) as one row per group and one column per age bucket
    (``kpi.AGE_BUCKETS``; credit notes and totals left out)."""
    from cashsim import kpi

    buckets = list(kpi.AGE_BUCKETS)
    wide = aged.loc[aged["bucket"].isin(buckets)].pivot_table(index="group", columns="bucket", values="amount",
                                                              aggfunc="sum", fill_value=0.0)
    return wide.reindex(columns=buckets, fill_value=0.0)


def kpi_view(run):
    """Lateness by client group over the last year: late rate by count and amount, days late weighted by amount."""
    from cashsim import kpi

    cols = {"group": "client group", "n_due": "invoices due", "amount_due": "amount due",
            "late_rate_count": "late (count)", "late_rate_amount": "late (amount)",
            "avg_days_late_weighted": "days late (weighted)", "avg_days_to_pay": "days to pay"}
    frame = kpi.payment_behaviour(run.ledger, run.as_of, by="segment")[list(cols)]
    return fmt.table(frame, money_cols=["amount_due"], percent_cols=["late_rate_count", "late_rate_amount"],
                     number_cols=["n_due", "avg_days_late_weighted", "avg_days_to_pay"], labels=cols,
                     **_locale(run))


def alerts_view(run, top: int = 40):
    """The alerts of ``kpi.alerts`` at the as-of date, largest value first within each kind."""
    from cashsim import kpi

    every = kpi.alerts(run.ledger, run.as_of, run.params.alerts, **_locale(run))
    per_kind = max(top // max(every["alert"].nunique(), 1), 1)
    frame = every.sort_values(["alert", "value"], ascending=[True, False]).groupby("alert").head(per_kind)
    counts = every["alert"].value_counts().sort_index()
    caption = ", ".join(f"{k}: {n}" for k, n in counts.items()) + f" (largest {per_kind} of each shown)"
    cols = {"alert": "alert", "group": "who", "customer_name": "customer", "message": "detail"}
    return fmt.table(frame[list(cols)], labels=cols, caption=caption, **_locale(run))


def call_list_view(run, top: int = 25):
    """The first ``top`` lines of ``kpi.call_list``: who to call, how much is at stake, the next step."""
    from cashsim import kpi

    cols = {"rank": "#", "customer_name": "customer", "invoice_id": "invoice", "outstanding": "outstanding",
            "due_date": "due", "days_overdue": "days overdue", "reliability": "reliability",
            "priority": "amount x risk", "next_action": "next step"}
    frame = kpi.call_list(run.ledger, run.as_of).head(top)[list(cols)]
    return fmt.table(frame, money_cols=["outstanding", "priority"], percent_cols=["reliability"],
                     date_cols=["due_date"], number_cols=["days_overdue"], labels=cols, **_locale(run))


def shortfall_view(run, month: str, top: int = 15):
    """Who the month's projected shortfall comes from (``kpi.customer_shortfall``): per customer, how much less than
    expected it pays on the paths where the target is missed, with the standard error and the 10th-90th percentiles
    of that gap. Needs a run simulated per customer (``load_run`` does it)."""
    from cashsim import kpi

    if run.customer_labels is None:
        raise ReportError("the run was not simulated per customer: use report.load_run or by_customer=True")
    every = kpi.customer_shortfall(run.sim, run.targets, run.customer_labels)
    frame = every.loc[every["month"].astype(str) == month].nlargest(top, "contribution")
    frame = frame.assign(customer_name=frame["group"].map(kpi.customer_names(run.ledger)).fillna(frame["group"]))
    cols = {"customer_name": "customer", "contribution": "short on bad paths", "contribution_se": "± (s.e.)",
            "gap_p10": "gap p10", "gap_p90": "gap p90", "share": "share of the shortfall"}
    p_short = float(every.loc[every["month"].astype(str) == month, "p_shortfall"].max())
    caption = f"{month}: the target is missed on {p_short:.0%} of the paths"
    return fmt.table(frame[list(cols)], money_cols=["contribution", "contribution_se", "gap_p10", "gap_p90"],
                     percent_cols=["share"], labels=cols, caption=caption, **_locale(run))


def disputes_view(run):
    """Disputes by client group and type against their service levels (``kpi.dispute_summary``)."""
    from cashsim import kpi

    cols = {"group": "client group", "dispute_type": "type", "n_open": "open", "open_amount": "open amount",
            "n_open_past_sla": "open past SLA", "median_resolution_days": "median days to resolve",
            "sla_days": "SLA (days)", "share_resolved_within_sla": "resolved within SLA"}
    frame = kpi.dispute_summary(run.ledger, run.as_of, run.params.alerts.dispute_sla_days, by="segment")
    return fmt.table(frame[list(cols)], money_cols=["open_amount"], percent_cols=["share_resolved_within_sla"],
                     number_cols=["n_open", "n_open_past_sla", "median_resolution_days", "sla_days"], labels=cols,
                     **_locale(run))


def claims_view(run, top: int = 15):
    """What the law lets the company claim on late invoices (interest at the ECB rate + 10 points, 40 EUR each),
    largest first: shown as claimable, never assumed collected (``kpi.late_payment_claims``)."""
    from cashsim import kpi

    every = kpi.claims_by_customer(kpi.late_payment_claims(run.ledger, run.as_of))
    cols = {"customer_name": "customer", "n_late_invoices": "late invoices", "interest": "interest",
            "indemnity": "40 € indemnities", "claimable": "claimable"}
    caption = f"claimable in all: {fmt.money(every['claimable'].sum(), **_locale(run))}"
    if bool(every["rate_beyond_table"].any()):
        caption += " (some days use the last half-year of the rate table)"
    return fmt.table(every.nlargest(top, "claimable")[list(cols)], money_cols=["interest", "indemnity", "claimable"],
                     number_cols=["n_late_invoices"], labels=cols, caption=caption, **_locale(run))


def customer_cost_view(run, top: int = 15):
    """The true cost of the costliest customers (``kpi.customer_cost``): financing of their delays, collection
    effort, expected bad debt, the price surcharge that would pay for it and the sales needed to make up bad debt."""
    from cashsim import kpi

    every = kpi.customer_cost(run.ledger, run.as_of, run.params.finance, reliability=run.model.customers)
    cols = {"customer_name": "customer", "sales": "sales", "financing_cost": "financing of delays",
            "collection_effort": "collection effort", "expected_bad_debt": "expected bad debt",
            "total_cost": "total cost", "surcharge": "surcharge to cover it",
            "extra_sales_for_bad_debt": "sales to make up bad debt"}
    frame = every.loc[every["level"] == "customer"].nlargest(top, "total_cost")
    return fmt.table(frame[list(cols)], money_cols=[c for c in cols if c not in ("customer_name", "surcharge")],
                     percent_cols=["surcharge"], percent_decimals=1, labels=cols, **_locale(run))


def accounting_view(run):
    """Rows read, used and rejected per ledger table (read = used + rejected)."""
    frame = run.ledger.accounting().reset_index()
    return fmt.table(frame, number_cols=["rows_read", "rows_used", "rows_rejected"], **_locale(run))


def rejections_view(run, top: int = 30):
    """Rejected rows by reason, then the first ``top`` of them with file, row, column, value and reason."""
    rej = run.ledger.rejections
    if rej.empty:
        return fmt.table(pd.DataFrame({"rejected rows": ["none: every row read was used"]}), **_locale(run))
    counts = rej.groupby(["table", "reason"]).size().rename("rows").reset_index()
    shown = rej.head(top)[[c for c in ("table", "file", "row", "column", "value", "reason", "detail")
                           if c in rej.columns]]
    return fmt.table(pd.concat([counts, shown], keys=["by reason", "first rows"]).reset_index(level=0)
                     .rename(columns={"level_0": "view"}), **_locale(run))


def ledger_view(base):
    """The ledger at a glance (``Ledger.summary``): counts, open and overdue amounts, date range, rejections."""
    sm = base.ledger.summary(base.as_of)
    loc = base.params.report.locale

    def n(x) -> str:
        return fmt.number(x, locale=loc)

    def m(x) -> str:
        return fmt.money(x, locale=loc, currency=base.params.currency, decimals=0)

    rows = [("customers", n(sm["customers"])),
            ("invoices (credit notes)", f"{n(sm['invoices'])} ({n(sm['credit_notes'])})"),
            ("payments", n(sm["payments"])),
            ("history", f"{fmt.date(sm['first_date'], locale=loc)} - {fmt.date(sm['last_date'], locale=loc)}"),
            ("invoiced", m(sm["invoiced_amount"])),
            ("open (invoices)", f"{m(sm['open_amount'])} ({n(sm['open_invoices'])})"),
            ("overdue (invoices)", f"{m(sm['overdue_amount'])} ({n(sm['overdue_invoices'])})"),
            ("open disputes", n(sm["disputed_open"])),
            ("rows rejected / read", f"{n(sm['rows_rejected'])} / {n(sm['rows_read'])}")]
    return fmt.table(pd.DataFrame(rows, columns=["", "as of " + fmt.date(base.as_of, locale=loc)]))


def segments_view(base):
    """Fitted payer behaviour per client group: median days late and share paid late (undisputed, normal month)."""
    seg = base.model.segments.reset_index()
    first = seg.columns[0]
    cols = [c for c in (first, "median_days_late", "share_late") if c in seg.columns]
    return fmt.table(seg[cols], percent_cols=["share_late"], labels={first: "client group"},
                     **_locale(base))


def customers_view(base, top: int = 20):
    """The ``top`` least reliable customers with enough history: reliability, usual delay and the reasons."""
    cust = base.model.customers.reset_index()
    cust = cust.sort_values("reliability").head(top)
    cols = [c for c in ("customer_id", "customer_name", "segment", "n_invoices", "median_days_late",
                        "share_late", "reliability", "reasons") if c in cust.columns]
    return fmt.table(cust[cols], percent_cols=["share_late", "reliability"], number_cols=["n_invoices"],
                     **_locale(base))


def levers(run):
    """Every scenario of the params against the baseline and the cheapest plan, on the run's paths and seed: the
    study ``cashsim levers`` prints (:func:`cashsim.pipeline.study_levers`: scenarios adapted to the company, the
    book annotated with disputes and payment methods), on the run's own book, so the baseline row is the report's
    forecast number for number. Returns ``(table, plan)``."""
    from cashsim.pipeline import study_levers

    study = study_levers(run.base, n_paths=int(run.sim.n_paths), seed=int(run.sim.seed), extra_days=0)
    return study.table, study.plan


def plan_summary(plan, month: str) -> dict[str, Any]:
    """The plan's headline for the month's answer and summary.json: levers, cost, P(target met), gap to bridge."""
    months = plan.months.set_index(plan.months["month"].astype(str))
    row = months.loc[month] if month in months.index else None
    return {"levers": [lv.name for lv in plan.levers], "cost": float(plan.cost),
            "meets_target": bool(plan.meets_target),
            "p_target_met": None if row is None else float(row["p_target_met"]),
            "p_target_met_baseline": None if row is None else float(row["p_target_met_baseline"]),
            "gap": None if row is None or bool(row["met"]) else float(row["financing_needed"]),
            "bridge": None if plan.bridge is None else plan.bridge.model_dump(mode="json")}


def levers_month(table: pd.DataFrame, month: str) -> pd.DataFrame:
    """The comparison's rows of one month, baseline first then by extra cash; ``cost`` = cost to date."""
    rows = table.loc[table["month"].astype(str) == month].copy()
    rows["order"] = (rows["scenario"] != "baseline").astype(int)
    return rows.sort_values(["order", "extra_cash_mean"], ascending=[True, False]).drop(columns="order")


def levers_figures(table: pd.DataFrame, month: str, run):
    """(waterfall of the extra cash each collection lever brings in the month, cost vs P(target met) scatter).

    Financing is left out of the waterfall (it advances cash, it does not collect it) but is in the scatter, and so
    are combinations (their levers are already there one by one); the waterfall's last bar adds the levers up as if
    they did not interact, and says so.
    """
    from cashsim import plots

    loc = _locale(run)
    rows = levers_month(table, month)
    single = ~rows["levers"].astype(str).str.contains(",")  # a combination would count its levers twice
    collecting = rows.loc[~rows["financing"].astype(bool) & (rows["scenario"] != "baseline") & single]
    words = plots._text(loc["locale"])
    waterfall = plots.levers_waterfall(collecting, lever_col="scenario", gain_col="extra_cash_mean",
                                       total_label=words["sum"], **loc,
                                       title=f"{words['gain']}, {fmt.month_name(month, locale=loc['locale'])}")
    scatter = plots.lever_cost_scatter(rows, run.targets.required_probability, lever_col="scenario",
                                       cost_col="cumulative_cost", size_col="extra_cash_mean", **loc)
    return waterfall, scatter


def levers_view(table: pd.DataFrame, month: str, run):
    """Levers side by side for the month: extra cash (mean, p10, p90), P(target met), cost, rates, risk."""
    cols = {"scenario": "scenario", "extra_cash_mean": "extra cash", "extra_cash_p10": "p10",
            "extra_cash_p90": "p90", "p_target_met": "P(target met)", "delta_p_target_met": "change",
            "cumulative_cost": "cost to date", "cost_per_euro": "cost per euro", "annualised_cost_rate":
            "annual rate", "risk": "relationship risk", "financing": "financing"}
    frame = levers_month(table, month)[list(cols)]
    return fmt.table(frame, money_cols=["extra_cash_mean", "extra_cash_p10", "extra_cash_p90", "cumulative_cost"],
                     percent_cols=["p_target_met", "delta_p_target_met", "cost_per_euro",
                                   "annualised_cost_rate"], labels=cols, percent_decimals=1, **_locale(run))


def plan_view(plan, run):
    """The plan month by month: P(target met) without and with it, the requirement, and the financing to bridge."""
    cols = {"month": "month", "p_target_met_baseline": "P(met) now", "p_target_met": "P(met) with the plan",
            "required": "required", "financing_needed": "financing to bridge"}
    frame = plan.months[list(cols)].copy()
    frame["month"] = [fmt.month_name(m, locale=run.params.report.locale) for m in frame["month"]]
    return fmt.table(frame, percent_cols=["p_target_met_baseline", "p_target_met", "required"],
                     money_cols=["financing_needed"], labels=cols, **_locale(run))


def actions_view(plan, run, per_lever: int = 8):
    """The plan's first actions, ``per_lever`` for each of its levers: whom to offer a discount, whom to call."""
    from cashsim import kpi

    acts = plan.actions.groupby("lever", sort=False).head(per_lever) if len(plan.actions) else plan.actions
    acts = acts.dropna(axis=1, how="all")
    acts = acts.loc[:, [c for c in acts.columns if not (acts[c].astype(str).str.strip() == "").all()]]
    if "customer_id" in acts:
        acts = acts.assign(customer=acts["customer_id"].map(kpi.customer_names(run.ledger)).fillna(""))
    return fmt.table(acts, money_cols=[c for c in ("amount",) if c in acts.columns], **_locale(run))


def html_path(folder: str | Path) -> Path:
    """The HTML report inside a report folder."""
    folder = Path(folder)
    found = sorted(folder.glob("cashsim-report-*.html"))
    if not found:
        raise ReportError(f"{folder}: no cashsim-report-*.html in this folder")
    return found[0]


__all__ = ["run_monthly_report", "report_as_of", "check_parameters", "notebook_parameters", "next_destination",
           "month_lock", "export_html", "read_summary", "summary_bundle", "packaged_notebook", "html_path",
           "versions", "params_hash"]
