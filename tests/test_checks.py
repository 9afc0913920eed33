"""Nothing silent: a parameter file naming a segment or customer the data lacks fails every command (exit 2)."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from cashsim.checks import check_params_against_ledger, unknown_names
from cashsim.errors import ParamsError
from cashsim.params import load_params, parse_params
from cashsim.sources import ledger_from_params

MESSY = Path(__file__).parent / "data" / "messy"
SRC = Path(__file__).resolve().parents[1] / "src"


def _messy_params(tmp_path: Path, change) -> Path:
    raw = yaml.safe_load((MESSY / "params.yml").read_text(encoding="utf-8"))
    for key in ("invoices", "payments", "customers"):
        raw["data"][key] = str(MESSY / raw["data"][key])
    change(raw)
    out = tmp_path / "params.yml"
    out.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return out


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = {"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-m", "cashsim.cli", *args], capture_output=True, text=True, env=env)


def test_the_messy_company_names_only_what_it_holds():
    params = load_params(MESSY / "params.yml")
    assert unknown_names(params, ledger_from_params(params)) == []


def test_an_unknown_segment_in_a_scenario_fails_validate_with_its_name(tmp_path):
    path = _messy_params(tmp_path, lambda raw: raw["scenarios"]["escompte"][0].update(segments=["sme", "PME"]))
    res = _cli("validate", str(path))
    assert res.returncode == 2
    assert "scenarios.escompte[0].segments: 'sme' is not a segment of this company's data" in res.stderr
    assert "Collectivités, Grands comptes, PME, TPE" in res.stderr


@pytest.mark.parametrize("command", [["forecast", "--paths", "20", "--params"], ["targets", "--paths", "20",
                                                                                   "--params"]])
def test_an_unknown_sales_plan_segment_fails_every_command(tmp_path, command):
    path = _messy_params(tmp_path, lambda raw: raw["sales_plan"][1].update(segment="sme"))
    res = _cli(*command, str(path))
    assert res.returncode == 2 and "sales_plan[1].segment: 'sme'" in res.stderr


def test_unknown_customers_are_listed_and_a_name_points_to_its_id():
    params = load_params(MESSY / "params.yml")
    ledger = ledger_from_params(params)
    name, cid = ledger.customers[["customer_name", "customer_id"]].iloc[0]
    bad = parse_params({"scenarios": {"x": [{"kind": "direct_debit", "customers": [name, "NOPE"]}]},
                        "alerts": {"credit_limits": {"ZZZ": 1000}}})
    problems = unknown_names(bad, ledger)
    assert len(problems) == 3
    assert f"the name of customer {cid!r}" in problems[0] and "'NOPE'" in problems[1]
    assert problems[2].startswith("alerts.credit_limits: 'ZZZ'")
    with pytest.raises(ParamsError, match="NOPE"):
        check_params_against_ledger(bad, ledger)
