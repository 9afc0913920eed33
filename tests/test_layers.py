"""Data flows one way: a lower stage never imports a higher one (docs/design.md)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "src" / "cashsim"

#: module -> stage; a module may import cashsim modules of its own stage or lower.
RANK = {
    "errors": 0, "progress": 0, "legal": 0, "fmt": 0, "calendar": 0, "terms": 0, "params": 0, "seeding": 0, "memory": 0,
    "export": 0, "i18n": 0, "words": 0,
    "ledger": 1, "adapters": 1, "book": 1, "checks": 2, "demo": 2, "sources": 3, "simulate": 3,
    "behaviour": 4, "levers": 5, "cache": 5, "targets": 6, "treasury": 6, "kpi": 6, "backtest": 6,
    "compare": 7, "unchanged": 7, "proposal": 7, "plots": 8, "pipeline": 9, "report": 10, "panel": 10,
    "commands": 11, "cli": 12,
}
#: params validates the scenario section with the lever *spec* models (plain pydantic data, no logic).
ALLOWED = {("params", "levers")}


def _stage(path: Path) -> str:
    rel = path.relative_to(PKG)
    return rel.parts[0].removesuffix(".py")


def _cashsim_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("cashsim.") and node.level == 0:
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.ImportFrom) and node.module == "cashsim":
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("cashsim."))
    return found


def test_every_module_has_a_stage():
    stages = {_stage(p) for p in PKG.rglob("*.py")} - {"__init__", "__main__"}
    assert stages <= set(RANK), f"give these modules a stage in RANK: {sorted(stages - set(RANK))}"


def test_no_module_imports_a_higher_stage():
    for path in PKG.rglob("*.py"):
        me = _stage(path)
        if me not in RANK:
            continue
        for other in _cashsim_imports(path):
            if other in RANK and (me, other) not in ALLOWED:
                assert RANK[other] <= RANK[me], f"{path.relative_to(PKG)} ({me}) imports {other}, a higher stage"


def test_the_book_and_the_calendar_load_without_numba():
    """Behaviour builds and levers transform books: cashsim.book and cashsim.calendar never pull in the engine."""
    code = "import sys, cashsim.book, cashsim.calendar; print(sorted({'numba', 'scipy'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_command_line_parser_loads_without_scipy_stats_or_numba():
    """Every command builds the whole parser (params -> lever specs) before it does anything: a second of
    scipy.stats or numba there is a second the CFO waits on every command, and the report's kernel starts later."""
    code = ("import sys, cashsim.cli; cashsim.cli.build_parser(); import cashsim.params; "
            "print(sorted({'numba', 'scipy.stats'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
