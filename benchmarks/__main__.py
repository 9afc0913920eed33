"""Run the benchmarks: ``python -m benchmarks [engine] [dask] [memory] [fit] [panel] [report] [cache]
[panel-browser] [levers] [ledger]`` (all by default)."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
GIB = 2.0 ** 30
#: Issue 18: the engine on 2 threads within this multiple of the floor (numpy's uniforms, one thread).
ENGINE_GOAL = 1.3
#: Rounds of the engine's verdict: one floor draw and one fresh-book run each (:func:`bench_engine`).
ENGINE_ROUNDS = 5


def line(name: str, figure: str, goal: str, ratio: float | None, note: str = "") -> None:
    """One result line: figure, goal, figure / goal and PASS (ratio <= 1) or MISS."""
    verdict = "n/a " if ratio is None else ("PASS" if ratio <= 1 else "MISS")
    shown = "" if ratio is None else f"{ratio:6.2f}"
    print(f"{name:<8} {figure:<34} goal {goal:<14} ratio {shown:>6}  {verdict}  {note}", flush=True)


def best_of(fn, repeats: int = 2) -> float:
    """Shortest wall time of ``repeats`` runs (the machine may be shared: the minimum is the least disturbed)."""
    return best_timed(fn, repeats)[0]


def timed(fn) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process: all its threads) of one call."""
    w0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - w0, time.process_time() - c0


def best_timed(fn, repeats: int = 3, *, by_cpu: bool = False) -> tuple[float, float]:
    """(wall, CPU) seconds (:func:`timed`) of the least disturbed of ``repeats`` calls: the shortest wall time, or
    the least CPU time with ``by_cpu``."""
    return min((timed(fn) for _ in range(repeats)), key=lambda t: t[1] if by_cpu else t[0])


def children_cpu() -> float:
    """CPU seconds (user + sys) of this process's reaped children so far: a command's is the difference around its
    run."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def floor_seconds(n_uniforms: int, block: int = 2048 * 100, repeats: int = 3) -> tuple[float, float]:
    """(wall, CPU) seconds numpy's default generator takes to draw ``n_uniforms`` doubles into a reused buffer: the
    least disturbed of ``repeats`` draws (:func:`bench_engine` draws one a round, beside the engine's run)."""
    rng = np.random.default_rng(0)
    buf = np.empty(block)

    def draw() -> None:
        for _ in range(n_uniforms // block):
            rng.random(out=buf)
        rng.random(out=buf[: n_uniforms % block])

    return best_timed(draw, repeats)


def bench_engine(n_invoices: int = 10_000, n_paths: int = 10_000) -> None:
    """Issue 18's goal: the engine within 1.3x the floor (the uniforms a run needs) on 2 threads; the CPU-time
    ratio (all threads) is printed too, and ``python -m benchmarks.engine_parts`` splits the time into its parts.
    The verdict times the run on a fresh Book object, its tables built (what a single ``cashsim forecast`` pays),
    in :data:`ENGINE_ROUNDS` rounds of one floor draw and one such run side by side, so both are measured at the
    same moments of a shared machine: the least disturbed of each (the median of the rounds' ratios is printed
    too). The line also shows the book of the warm-up run simulated again, reading back the tables it prepared
    (as a panel's correlation change does), and one thread."""
    from benchmarks.books import fresh_twin, synthetic_book
    from cashsim.simulate import simulate

    book = synthetic_book(n_invoices)
    kw = {"horizon_end": "2027-02-28", "seed": 1, "rho_month": 0.05, "rho_customer": 0.1}
    simulate(book, n_paths=100, **kw)                       # compile / load the kernel once

    def fresh() -> None:
        simulate(fresh_twin(book), n_paths=n_paths, n_threads=2, **kw)

    rounds = [(floor_seconds(n_invoices * n_paths, repeats=1), timed(fresh)) for _ in range(ENGINE_ROUNDS)]
    floor, floor_cpu = min((f for f, _ in rounds), key=lambda t: t[0])
    cold, cold_cpu = min((e for _, e in rounds), key=lambda t: t[0])
    median = float(np.median([e[0] / f[0] for f, e in rounds]))
    # best of 3 (2 on one thread): the machine may be shared, the least disturbed run is the engine's own speed
    both, both_cpu = best_timed(lambda: simulate(book, n_paths=n_paths, n_threads=2, **kw), 3)
    one = best_of(lambda: simulate(book, n_paths=n_paths, n_threads=1, **kw))
    ns = cold / (n_invoices * n_paths) * 1e9
    # the verdict is the fresh book's (tables built, as a forecast pays), not the re-run reading its tables back
    line("engine", f"{cold:.2f} s ({ns:.1f} ns/draw)", "<= 1.3 x floor", cold / floor / ENGINE_GOAL,
         f"floor {floor:.2f} s for {n_invoices * n_paths:.0e} uniforms; engine/floor {cold / floor:.2f} on 2 "
         f"threads (a fresh book; best of {ENGINE_ROUNDS} rounds, the rounds' median {median:.2f}), "
         f"{both / floor:.2f} when the same book runs again (tables read back), {one / floor:.2f} on 1 thread; "
         f"CPU-time ratio {cold_cpu / floor_cpu:.2f} (engine CPU {cold_cpu:.2f} s, same book again {both_cpu:.2f} s, "
         f"floor {floor_cpu:.2f} s); {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")


def bench_dask(n_invoices: int = 10_000, n_paths: int = 2_000) -> None:
    """The same run on a fresh two-process dask LocalCluster (cluster start-up included): identical numbers."""
    from benchmarks.books import synthetic_book
    from cashsim.simulate import simulate

    book = synthetic_book(n_invoices)
    kw = {"horizon_end": "2027-02-28", "n_paths": n_paths, "seed": 1, "rho_month": 0.05, "rho_customer": 0.1,
          "chunk_paths": 500}
    t0 = time.perf_counter()
    local = simulate(book, **kw)
    t_local = time.perf_counter() - t0
    t0 = time.perf_counter()
    remote = simulate(book, backend="dask", **kw)
    t_dask = time.perf_counter() - t0
    same = bool(np.array_equal(local.daily, remote.daily))
    line("dask", f"{t_dask:.1f} s (local {t_local:.1f} s)", "identical", 0.0 if same else 2.0,
         f"{n_invoices:,} invoices x {n_paths:,} paths on a 2-worker LocalCluster; identical to local: {same}")


MEMORY_CHILD = """
import resource, sys, time
import numpy as np
sys.path.insert(0, {root!r})
from benchmarks.books import synthetic_book
from cashsim.simulate import simulate
book = synthetic_book({n_invoices})
t0 = time.perf_counter()
sim = simulate(book, horizon_end="2027-02-28", n_paths={n_paths}, seed=1, rho_month=0.05, rho_customer=0.1)
seconds = time.perf_counter() - t0
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, sim.daily.nbytes + sim.daily_cost.nbytes, seconds)
"""


def peak_memory(n_invoices: int, n_paths: int) -> tuple[float, float, float]:
    """(peak RSS bytes, result bytes, seconds) of a fresh process building and simulating the book."""
    code = MEMORY_CHILD.format(root=str(ROOT), n_invoices=n_invoices, n_paths=n_paths)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    peak, result, seconds = out.stdout.split()[-3:]
    return float(peak), float(result), float(seconds)


def bench_memory() -> None:
    small = peak_memory(100_000, 1_000)
    big = peak_memory(100_000, 10_000)
    mid = peak_memory(10_000, 10_000)
    line("memory", f"{big[0] / GIB:.2f} GiB peak", "< 2 GiB", big[0] / GIB / 2,
         f"100k invoices x 10k paths in {big[2]:.0f} s; 1k paths: {small[0] / GIB:.2f} GiB; 10k invoices x 10k "
         f"paths: {mid[0] / GIB:.2f} GiB; growth 1k->10k paths {(big[0] - small[0]) / 2**20:.0f} MiB = result "
         f"arrays {(big[1] - small[1]) / 2**20:.0f} MiB")


def synthetic_ledger(n_invoices: int):
    """A history of ``n_invoices`` invoices: the demo company's tables tiled with renamed customers and invoices."""
    from cashsim.demo import demo_company
    from cashsim.ledger import read_ledger

    demo = demo_company()
    inv, pay = demo.raw["invoices"], demo.raw["payments"]
    copies = -(-n_invoices // len(inv))
    invoices = pd.concat([inv.assign(invoice_id=inv["invoice_id"] + f"-{i}", customer_id=inv["customer_id"] + f"-{i}")
                          for i in range(copies)], ignore_index=True).iloc[:n_invoices]
    payments = pd.concat([pay.assign(invoice_id=pay["invoice_id"] + f"-{i}") for i in range(copies)],
                         ignore_index=True)
    payments = payments[payments["invoice_id"].isin(set(invoices["invoice_id"]))]
    return read_ledger(invoices, payments), demo.as_of


def bench_fit(n_invoices: int = 1_000_000) -> None:
    from cashsim.behaviour import fit_behaviour

    t0 = time.perf_counter()
    ledger, as_of = synthetic_ledger(n_invoices)
    setup = time.perf_counter() - t0
    t0 = time.perf_counter()
    fit_behaviour(ledger, as_of)
    seconds = time.perf_counter() - t0
    line("fit", f"{seconds:.1f} s for {len(ledger.invoices):,} invoices", "< 30 s", seconds / 30,
         f"(ledger read in {setup:.0f} s, not counted)")


def bench_panel() -> None:
    from cashsim.panel import benchmark_update

    seconds = benchmark_update(ROOT / "params" / "demo.yml")
    line("panel", f"{seconds * 1000:.0f} ms per update", "< 300 ms", seconds / 0.3, "demo company, median of 5")


def bench_report() -> None:
    """``cashsim report`` on the demo as a person runs it: a fresh process (imports, the kernel's start, the hand-outs,
    nbconvert), once with an empty fit cache and once with the entry that run stored; the second against the goal,
    split into the lever study (its cell's duration in the executed notebook) and everything else."""
    import json

    cpu: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        env = os.environ | {"CASHSIM_CACHE_DIR": str(Path(tmp) / "cache")}  # never the user's cache

        def report(name: str) -> tuple[float, float]:
            out = Path(tmp) / name
            command = [sys.executable, "-m", "cashsim.cli", "report", "--params", str(ROOT / "params" / "demo.yml"),
                       "--month", "2026-11", "--output", str(out)]
            t0, c0 = time.perf_counter(), children_cpu()
            subprocess.run(command, check=True, env=env, capture_output=True)
            seconds = time.perf_counter() - t0
            cpu[name] = children_cpu() - c0    # the command and its kernel (both reaped: counted in full)
            nb = json.loads(next(out.glob("*/2026-11/cashsim-report-2026-11.ipynb")).read_text(encoding="utf-8"))
            study = sum(c["metadata"]["papermill"]["duration"] for c in nb["cells"]
                        if "report.levers(run)" in "".join(c["source"]))
            return seconds, study

        cold, _ = report("cold")
        warm, study = report("warm")
    line("report", f"{warm:.1f} s end to end", "< 10 s", warm / 10,
         f"`cashsim report` on the demo (params/demo.yml paths), fit cache warm: lever study {study:.1f} s, the rest "
         f"{warm - study:.1f} s; CPU (user+sys, the command and its kernel) {cpu['warm']:.1f} s; cache cold "
         f"{cold:.1f} s ({cpu['cold']:.1f} s CPU); load average {os.getloadavg()[0]:.1f}")


def bench_cache() -> None:
    """``pipeline.prepare`` on the demo with an empty fit cache (fit, book, store) and again (read back)."""
    from cashsim.params import load_params
    from cashsim.pipeline import prepare
    from cashsim.sources import ledger_from_params

    params = load_params(ROOT / "params" / "demo.yml")
    ledger = ledger_from_params(params)
    prepare(params, ledger, cache=False)  # imports and first calls out of the timing
    before = os.environ.get("CASHSIM_CACHE_DIR")
    with tempfile.TemporaryDirectory() as folder:
        os.environ["CASHSIM_CACHE_DIR"] = folder  # never the user's cache
        colds, warms = [], []
        try:
            for _ in range(2):  # best of 2 each (a shared machine): the least disturbed runs
                for entry in Path(folder).glob("*.npz"):
                    entry.unlink()
                colds.append(timed(lambda: prepare(params, ledger))[0])
                warms.append(timed(lambda: prepare(params, ledger))[0])
        finally:
            if before is None:
                del os.environ["CASHSIM_CACHE_DIR"]
            else:
                os.environ["CASHSIM_CACHE_DIR"] = before
    cold, warm = min(colds), min(warms)
    line("cache", f"warm {warm:.2f} s, cold {cold:.2f} s", ">= 5x faster", 5 * warm / cold,
         f"prepare on the demo ({len(ledger.invoices):,} invoices; ledger read not counted): cold/warm "
         f"{cold / warm:.1f}x; load average {os.getloadavg()[0]:.1f}")


def bench_levers() -> None:
    """The lever study of ``cashsim levers`` on the demo (every scenario of params/demo.yml on its 2,000 paths, then
    the cheapest-plan search on 500 paths a trial), the fitted baseline given; and the command end to end, with
    the fit cache warm and cold (a temporary cache folder, never the user's)."""
    from cashsim.params import load_params
    from cashsim.pipeline import prepare, study_levers

    params = load_params(ROOT / "params" / "demo.yml")
    base = prepare(params, cache=False)
    kept = {}

    def study_once() -> None:     # the last run's study kept for its trace; the one before freed (held by no one)
        kept.pop("study", None)
        kept["study"] = study_levers(base)

    wall, cpu = best_timed(study_once, 2)     # best of 2 (a shared machine)
    study = kept["study"]
    command = [str(Path(sys.executable).parent / "cashsim"), "levers", "--params", str(ROOT / "params" / "demo.yml")]
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "CASHSIM_CACHE_DIR": folder}
        ends = []
        for _ in range(2):  # cold (empty cache: the command fits and stores), then warm (read back)
            t0 = time.perf_counter()
            subprocess.run(command, env=env, check=True, capture_output=True)
            ends.append(time.perf_counter() - t0)
    line("levers", f"{wall:.1f} s study (CPU {cpu:.1f} s)", "<= 3 s", wall / 3,
         f"demo: {len(params.scenarios)} scenarios x {params.simulation.n_paths:,} paths + plan search "
         f"({len(study.plan.trace)} trials x 500); `cashsim levers` end to end: cold cache {ends[0]:.1f} s, warm "
         f"{ends[1]:.1f} s; load average {os.getloadavg()[0]:.1f}")


#: Reading the demo written as a 4-year FEC took 1.7 s CPU before the FEC reader used the ledger's allocation.
LEDGER_FEC_GOAL = 1.7


def bench_ledger() -> None:
    """Reading the ledger, which every command does first: ``read_ledger`` on the demo company's tables, and
    ``read_fec`` on the demo written as a 4-year FEC (its payments allocated by ``ledger.allocation.replay``); CPU
    seconds, best of 3 (a shared machine), against the FEC read's CPU before it used the ledger's allocation."""
    from cashsim.adapters.fec import read_fec, write_fec
    from cashsim.demo import demo_company, demo_tables
    from cashsim.ledger import read_ledger

    demo = demo_company()
    tables = demo_tables()
    with tempfile.TemporaryDirectory() as folder:
        files = write_fec(demo.ledger, Path(folder), as_of=demo.as_of, year_end="12-31", siren="552100554")
        n_fec = len(read_fec(files).invoices)   # imports and first calls out of the timing
        fec = best_timed(lambda: read_fec(files), 3, by_cpu=True)
    ledger = best_timed(lambda: read_ledger(**tables), 3, by_cpu=True)
    line("ledger", f"FEC {fec[1]:.2f} s CPU, demo {ledger[1]:.2f} s", f"<= {LEDGER_FEC_GOAL} s CPU",
         fec[1] / LEDGER_FEC_GOAL, f"read_fec on the demo as FEC ({len(files)} files, {n_fec:,} invoices) CPU "
         f"{fec[1]:.2f} s wall {fec[0]:.2f} s; read_ledger on the demo ({len(demo.ledger.invoices):,} invoices) CPU "
         f"{ledger[1]:.2f} s wall {ledger[0]:.2f} s; load average {os.getloadavg()[0]:.1f}")


def bench_panel_browser() -> None:
    from benchmarks.panel_browser import bench_panel_browser as run

    run()


BENCHES = {"engine": bench_engine, "dask": bench_dask, "memory": bench_memory, "fit": bench_fit, "panel": bench_panel,
           "report": bench_report, "cache": bench_cache, "panel-browser": bench_panel_browser, "levers": bench_levers,
           "ledger": bench_ledger}


def main(argv: list[str]) -> int:
    names = argv or list(BENCHES)
    unknown = sorted(set(names) - set(BENCHES))
    if unknown:
        print(f"unknown benchmark(s) {unknown}; choose from {list(BENCHES)}", file=sys.stderr)
        return 2
    print(f"cashsim benchmarks on {os.cpu_count()} cores, numpy {np.__version__}  "
          f"(ratio = figure / goal; PASS when <= 1)", flush=True)
    for name in names:
        try:
            BENCHES[name]()
        except Exception as exc:  # one broken stage must not hide the other figures
            line(name, f"failed: {type(exc).__name__}: {exc}"[:60], "-", None)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
