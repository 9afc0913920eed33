"""One forecast everywhere: cashsim forecast --params gives the monthly quantiles of the report's pipeline run."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cashsim.commands.forecast import summary
from cashsim.params import load_params
from cashsim.pipeline import run_from_params

DATA = Path(__file__).parent / "data"
SRC = Path(__file__).resolve().parents[1] / "src"


@pytest.mark.parametrize("company", ["messy", "fec"])
def test_forecast_command_equals_the_pipeline_run_sales_plan_included(company, tmp_path):
    path = DATA / company / "params.yml"
    params = load_params(path)
    run = run_from_params(params, n_paths=60, seed=5)
    out = tmp_path / "f.json"
    res = subprocess.run([sys.executable, "-m", "cashsim.cli", "forecast", "--params", str(path), "--paths", "60",
                          "--seed", "5", "--json", str(out)], capture_output=True, text=True,
                         env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"})
    assert res.returncode == 0, res.stderr
    got = json.loads(out.read_text())
    assert got == summary(run.sim)
    assert got["as_of"] == run.as_of.strftime("%Y-%m-%d")
    if params.sales_plan:
        assert "factures ouvertes et plan de ventes" in res.stdout   # French: the params' locale
        assert run.book.invoices["is_future"].any()
