"""The two declarations of dependencies agree, nothing is imported that is not declared, and the wheel carries
the files cashsim ships beside its code."""

from __future__ import annotations

import ast
import os
import re
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]

#: import name -> distribution name, where they differ
IMPORT_TO_DIST = {"yaml": "pyyaml", "dateutil": "python-dateutil", "sklearn": "scikit-learn", "dask": "dask",
                  "distributed": "distributed"}


def _split(req: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?\s*(.*)$", req)
    assert m, req
    return m.group(1).lower().replace("_", "-"), m.group(2).replace(" ", "")


def _pyproject() -> dict[str, str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    reqs = list(data["project"]["dependencies"])
    for extra in data["project"].get("optional-dependencies", {}).values():
        reqs += extra
    return dict(_split(r) for r in reqs)


def _environment() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    out = {}
    for dep in env["dependencies"]:
        if isinstance(dep, str):
            name, spec = _split(dep)
            if name not in {"python", "pip"}:
                out[name] = spec
    return out


def test_environment_mirrors_pyproject():
    assert _environment() == _pyproject()


def test_every_runtime_dependency_has_a_lower_bound():
    for name, spec in _pyproject().items():
        assert spec.startswith(">="), f"{name} must pin a lower bound, got {spec!r}"


def test_src_imports_only_declared_packages():
    declared = set(_pyproject())
    stdlib = set(sys.stdlib_module_names)
    for path in (ROOT / "src" / "cashsim").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top in stdlib or top == "cashsim":
                    continue
                dist = IMPORT_TO_DIST.get(top, top).lower().replace("_", "-")
                assert dist in declared, f"{path.relative_to(ROOT)} imports {top!r}, not declared in pyproject.toml"


def _build_wheel(out: Path) -> Path:
    """``pip wheel`` of the repository into ``out``: with the installed hatchling when there is one (offline),
    else in pip's isolated build environment (hatchling from the configured package index)."""
    import importlib.util
    import subprocess

    argv = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(ROOT)]
    if importlib.util.find_spec("hatchling") is not None:
        argv.insert(-1, "--no-build-isolation")
    done = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    if done.returncode != 0 and "hatchling" in done.stderr and "No matching distribution" in done.stderr:
        pytest.skip(f"hatchling, the build backend, is neither installed nor reachable: {done.stderr.strip()[-200:]}")
    assert done.returncode == 0, done.stdout + done.stderr
    (wheel,) = out.glob("cashsim-*.whl")
    return wheel


def test_the_wheel_carries_the_notebooks_the_demo_params_and_the_template(tmp_path):
    """The notebooks and params/demo.yml exist once in the repository; the wheel gets them by hatch force-include
    (cashsim/notebooks/), the nbconvert template as package data, and the installed package finds them there."""
    import subprocess
    import zipfile

    wheel = _build_wheel(tmp_path / "dist")
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        for notebook in sorted((ROOT / "notebooks").glob("*.ipynb")):
            assert z.read(f"cashsim/notebooks/{notebook.name}") == notebook.read_bytes(), notebook.name
        assert z.read("cashsim/notebooks/demo.yml") == (ROOT / "params" / "demo.yml").read_bytes()
        assert {"cashsim/report/templates/cashsim_report/conf.json",
                "cashsim/report/templates/cashsim_report/index.html.j2"} <= names
        assert "cashsim/locales/fr/LC_MESSAGES/cashsim.po" in names  # read at run time by cashsim.i18n
        z.extractall(tmp_path / "site")
    # the unpacked wheel first on the path: the lookup takes the package's copies, not the checkout's
    probe = ("from cashsim import report; print(report.packaged_notebook()); print(report.packaged_params()); "
             "print(report.template_dir())")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(tmp_path / "site")})
    assert done.returncode == 0, done.stderr
    site = tmp_path / "site" / "cashsim"
    assert done.stdout.split() == [str(site / "notebooks" / "monthly_report.ipynb"),
                                   str(site / "notebooks" / "demo.yml"), str(site / "report" / "templates")]
