"""cashsim.params: YAML parsed safely into pydantic models; errors name the key and, for a typo, the closest one."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from cashsim.errors import ParamsError
from cashsim.params import Params, dump_params, load_params, monthly_values, parse_params

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "params" / "demo.yml"


def test_demo_params_load():
    p = load_params(DEMO)
    assert isinstance(p, Params)
    assert p.data.source == "demo" and p.as_of is not None
    assert p.simulation.n_paths >= 1 and p.horizon_months >= 1
    assert p.base_dir == DEMO.parent
    assert {line.segment for line in p.sales_plan} == {"key_accounts", "sme", "micro", "public"}


@pytest.mark.parametrize("raw, key, closest", [
    ({"simulaton": {"n_paths": 10}}, "simulaton", "simulation"),
    ({"simulation": {"n_path": 10}}, "simulation.n_path", "n_paths"),
    ({"horizon_month": 3}, "horizon_month", "horizon_months"),
    ({"burn": {"salaries": 10}}, "burn.salaries", "salaries_and_social"),
    ({"sales_plan": [{"segment": "sme", "monthly_amount": 1, "terms_dayz": 30}]}, "sales_plan.0.terms_dayz",
     "terms_days"),
])
def test_unknown_key_names_the_closest_valid_key(raw, key, closest):
    with pytest.raises(ParamsError) as err:
        parse_params(raw, source="company.yml")
    message = str(err.value)
    assert message.startswith("company.yml: invalid parameters")
    assert f"{key}: unknown key; did you mean '{closest}'?" in message


@pytest.mark.parametrize("raw, key", [
    ({"simulation": {"n_paths": "many"}}, "simulation.n_paths"),
    ({"as_of": "yesterday"}, "as_of"),
    ({"behaviour": {"half_life_days": [1, 2]}}, "behaviour.half_life_days"),
    ({"burn": {"salaries_and_social": -520000}}, "burn.salaries_and_social"),
    ({"burn": {"external_charges": [1000, -5]}}, "burn.external_charges.1"),
    ({"sales_plan": [{"segment": "sme", "monthly_amount": -1}]}, "sales_plan.0.monthly_amount"),
    ({"finance": {"borrowing_rate": -0.01}}, "finance.borrowing_rate"),
    ({"alerts": {"credit_limits": {"C1": -10}}}, "alerts.credit_limits.C1"),
    ({"burn": {"safety_margin": "-3%"}}, "burn.safety_margin"),
])
def test_wrong_type_or_negative_amount_names_the_key(raw, key):
    with pytest.raises(ParamsError, match=rf"\n  {key.replace('.', '[.]')}: "):
        parse_params(raw, source="company.yml")


def test_files_source_requires_paths_and_known_mapping_tables():
    with pytest.raises(ParamsError, match="give data.invoices and data.payments"):
        parse_params({"data": {"source": "files", "invoices": "f.csv"}})
    with pytest.raises(ParamsError, match=r"unknown table\(s\) \['factures'\]"):
        parse_params({"data": {"mapping": {"factures": {"amount": "Montant"}}}})


def test_top_level_must_be_a_mapping_and_yaml_must_parse(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("- just\n- a list\n")
    with pytest.raises(ParamsError, match=r"bad\.yml: the top level must be a mapping"):
        load_params(bad)
    bad.write_text("simulation: {n_paths: [\n")
    with pytest.raises(ParamsError, match=r"bad\.yml: not valid YAML"):
        load_params(bad)
    with pytest.raises(ParamsError, match=r"missing\.yml: cannot read the parameter file"):
        load_params(tmp_path / "missing.yml")


def test_dump_then_parse_round_trips():
    p = load_params(DEMO)
    again = parse_params(yaml.safe_load(dump_params(p)), base_dir=p.base_dir)
    assert again == p
    custom = parse_params({"company": "Société Test", "as_of": "2026-06-30",
                           "data": {"source": "files", "invoices": "in/f.csv", "payments": "in/p.csv",
                                    "mapping": {"invoices": {"invoice_id": "N° facture"}}},
                           "burn": {"salaries_and_social": [100, 200.5], "safety_margin": "5%"},
                           "scenarios": {"acompte": [{"kind": "deposit", "share": 0.2}]}})
    assert parse_params(yaml.safe_load(dump_params(custom))) == custom


def test_relative_data_paths_resolve_against_the_params_folder(tmp_path, monkeypatch):
    folder = tmp_path / "societe" / "params"
    folder.mkdir(parents=True)
    (folder / "p.yml").write_text(
        "data:\n  source: files\n  invoices: ../data/factures.csv\n  payments: /abs/reglements.csv\n",
        encoding="utf-8")
    monkeypatch.chdir(tmp_path)  # the working directory must not matter
    p = load_params(Path("societe/params/p.yml"))
    assert p.resolve(p.data.invoices) == (tmp_path / "societe" / "data" / "factures.csv").resolve()
    assert p.resolve(p.data.payments) == Path("/abs/reglements.csv")
    assert p.resolve(None) is None


def test_monthly_values_repeat_the_last_figure():
    assert monthly_values([1.0, 2.0], 4) == [1.0, 2.0, 2.0, 2.0]
    assert monthly_values(5.0, 2) == [5.0, 5.0] and monthly_values([], 2) == [0.0, 0.0]
