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


@pytest.mark.parametrize("text, key, line, fragment", [
    ("company: X\nas_of: 2026-02-31\n", "as_of", 2, "'2026-02-31' is not a date (day is out of range for month)"),
    ("sales_plan:\n  - segment: sme\n    monthly_amount: 1\n  - segment: pme\n    start: 2026-13-01\n",
     "sales_plan.1.start", 5, "'2026-13-01' is not a date"),
    ("simulation:\n  n_paths: !!int many\n", "simulation.n_paths", 2, "'many' cannot be read as int"),
    ("burn:\n  opening_cash: 1\n  window_months: 2\n  opening_cash: 2\n", "burn.opening_cash", 4,
     "is written twice (first on line 2)"),
])
def test_yaml_values_it_cannot_read_name_file_key_and_line(tmp_path, text, key, line, fragment):
    path = tmp_path / "company.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ParamsError) as err:
        load_params(path)
    assert (err.value.file, err.value.key, err.value.line) == (str(path), key, line)
    assert str(err.value).startswith(f"{path}: {key} (line {line}): ") and fragment in str(err.value)
    assert "\n" not in str(err.value)


def test_yaml_syntax_errors_and_non_mappings_name_file_and_line(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("company: X\nsimulation: {n_paths: [\n")
    with pytest.raises(ParamsError, match=r"bad\.yml: not valid YAML at line 3, column 1: ") as err:
        load_params(bad)
    assert err.value.line == 3 and err.value.file == str(bad) and "\n" not in str(err.value)
    bad.write_text("a: !!python/object:os.system ls\n")
    with pytest.raises(ParamsError, match=r"line 1, column 4 \(a\): could not determine a constructor"):
        load_params(bad)
    bad.write_text("just text\n")
    with pytest.raises(ParamsError, match=r"bad\.yml: the top level must be a mapping of keys, not str"):
        load_params(bad)
    bad.write_bytes(b"company: \xff\xfe\n")
    with pytest.raises(ParamsError, match=r"bad\.yml: not a UTF-8 text file"):
        load_params(bad)
    bad.write_text("company: \x01\n")
    with pytest.raises(ParamsError, match=r"bad\.yml: not valid YAML: unacceptable character #x0001"):
        load_params(bad)
    with pytest.raises(ParamsError, match=r"cannot read the parameter file \(Is a directory\)"):
        load_params(tmp_path)


def test_yaml_reads_as_before():
    """The loader that names bad keys reads every valid file exactly as ``yaml.safe_load`` (merge keys included)."""
    from cashsim.params import read_yaml

    text = (DEMO.read_text(encoding="utf-8")
            + "\nextra: &a {x: 1, y: [2026-10-31, 1.5e3, yes, ~]}\nmore:\n  <<: *a\n  x: 2\n")
    assert read_yaml(text, "demo") == yaml.safe_load(text)
    assert read_yaml("", "empty") is None


def test_command_line_values_obey_the_rules_of_the_file():
    from cashsim.params import with_overrides

    p = load_params(DEMO)
    same = with_overrides(p, {"simulation.n_paths": ("--paths", None), "horizon_months": ("--months", None)})
    assert same is p
    q = with_overrides(p, {"simulation.n_paths": ("--paths", 300), "horizon_months": ("--months", 6),
                           "as_of": ("--as-of", "2026-09-30")})
    assert (q.simulation.n_paths, q.simulation.seed, q.horizon_months, str(q.as_of)) == (300, p.simulation.seed, 6,
                                                                                          "2026-09-30")
    assert q.scenarios is p.scenarios and q.base_dir == p.base_dir   # sections not touched are the same objects
    for overrides, option, key, message in [
        ({"horizon_months": ("--months", 1000)}, "--months", "horizon_months",
         "--months must be at most 24, got 1000 (the rule of horizon_months in a params file)"),
        ({"simulation.n_paths": ("--paths", 0)}, "--paths", "simulation.n_paths", "--paths must be at least 1, got 0"),
        ({"simulation.seed": ("--seed", -1)}, "--seed", "simulation.seed", "--seed must be at least 0, got -1"),
        ({"as_of": ("--as-of", "2026-02-31")}, "--as-of", "as_of", "--as-of '2026-02-31': "),
    ]:
        with pytest.raises(ParamsError) as err:
            with_overrides(p, overrides)
        assert (err.value.option, err.value.key) == (option, key) and message in str(err.value)
    with pytest.raises(ParamsError, match="horizon_months: Input should be less than or equal to 24"):
        parse_params({"horizon_months": 1000}, source="company.yml")   # the same rule, in the file


def test_too_many_paths_for_the_memory_is_refused(monkeypatch, tmp_path):
    from cashsim import memory
    from cashsim.params import with_overrides

    monkeypatch.setattr(memory, "available_bytes", lambda: 2 ** 30)          # a 1 GiB machine
    with pytest.raises(ParamsError) as err:
        parse_params({"simulation": {"n_paths": 10 ** 6}}, source="company.yml")
    assert (err.value.file, err.value.key) == ("company.yml", "simulation.n_paths")
    assert str(err.value).startswith("company.yml: simulation.n_paths 1,000,000: a run of that many paths needs")
    assert "1.0 GiB is available; give at most 360,800 paths" in str(err.value)
    ok = parse_params({"simulation": {"n_paths": 360_800}})          # 2 ** 30 // (124 * 8 * 3)
    with pytest.raises(ParamsError, match=r"^--paths 400,000: .* give at most 360,800 paths") as err:
        with_overrides(ok, {"simulation.n_paths": ("--paths", 400_000)})
    assert err.value.key == "simulation.n_paths"
    with pytest.raises(ParamsError, match=r"^simulation.n_paths 360,800: .* give at most 180,400 paths"):
        with_overrides(ok, {"horizon_months": ("--months", 8)})           # a longer horizon needs more memory
