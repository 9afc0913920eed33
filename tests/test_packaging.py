"""The two declarations of dependencies agree, and nothing is imported that is not declared."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]

#: import name -> distribution name, where they differ
IMPORT_TO_DIST = {"yaml": "pyyaml", "sklearn": "scikit-learn", "dask": "dask", "distributed": "distributed"}


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
