"""The command line imports a command's module only when that command runs: ``cashsim --help`` lists every command
from ``commands.SUMMARIES`` without pandas, pandera or pydantic, and ``cashsim report`` does not wait for the
validate command's pandera nor the panel's imports. The help texts are the ones the complete parser gives."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cashsim import cli

HEAVY = ("pandas", "pandera", "pydantic", "cashsim.params", "cashsim.ledger")


def _imported_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", f"import sys\n{code}\nprint(' '.join(sorted(sys.modules)))"],
                         capture_output=True, text=True, check=True).stdout.split()
    return set(out)


def test_help_imports_no_command_module_and_nothing_heavy():
    loaded = _imported_after("from cashsim import cli\ntry:\n    cli.main(['--help'])\nexcept SystemExit:\n    pass")
    assert not {m for m in loaded if m.startswith("cashsim.commands.")}
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_a_command_imports_its_module_only():
    loaded = _imported_after("from cashsim import cli\ncli.build_parser(cli.command_of(['report', '--month', 'x']))")
    assert {m for m in loaded if m.startswith("cashsim.commands.")} == {"cashsim.commands.report"}
    assert "pandera" not in loaded and "cashsim.ledger" not in loaded


@pytest.mark.parametrize("locale", ["fr_FR", "en_GB"])
@pytest.mark.parametrize("command", ["", *cli.COMMANDS])
def test_the_help_texts_are_the_complete_parsers(command, locale, capsys, monkeypatch):
    argv = ["--locale", locale, *([command] if command else []), "--help"]
    assert cli.main(argv) == 0
    lazy = capsys.readouterr().out
    monkeypatch.setattr(cli, "command_of", lambda argv: None)   # every command module imported, as before
    assert cli.main(argv) == 0
    assert capsys.readouterr().out == lazy
    assert all(name in lazy for name in cli.COMMANDS) if not command else f"cashsim {command}" in lazy


def test_a_bad_command_name_is_refused_on_one_line(capsys):
    assert cli.main(["nope"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "nope" in err
