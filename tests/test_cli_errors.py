"""No traceback for a user's input or environment: every sub-command answers a bad option, a missing file, a bad
number, date or month, or an output path it cannot write with one line on standard error and exit code 2 - before
the long computation starts. The lines are checked in English (``--locale en_GB``); test_cli_language checks them
in French, the default."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from cashsim import cli

ROOT = Path(__file__).resolve().parents[1]
DEMO = str(ROOT / "params" / "demo.yml")
SRC = str(ROOT / "src")
EN = ["--locale", "en_GB"]   # the messages below are the English ones


@pytest.fixture
def no_long_run(monkeypatch):
    """Fail the test if a command gets as far as reading the ledger or running the report."""
    import cashsim.commands.validate
    import cashsim.ledger
    import cashsim.report
    import cashsim.sources

    def refuse(*args, **kwargs):
        raise AssertionError("the check must come before the ledger is read / the report runs")

    cli.build_parser()   # every command module imported before the patch: none keeps `refuse` after the test
    for module, name in ((cashsim.sources, "ledger_from_params"), (cashsim.ledger, "read_ledger"),
                         (cashsim.report, "run_monthly_report"), (cashsim.commands.validate, "ledger_from_params")):
        monkeypatch.setattr(module, name, refuse)


@pytest.fixture
def bad_date_params(tmp_path):
    path = tmp_path / "bad.yml"
    path.write_text("company: X\nas_of: 2026-02-31\n", encoding="utf-8")
    return str(path)


def _one_line_error(err: str, command: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err and lines[0].startswith(f"cashsim{' ' + command if command else ''}: error: ")
    return lines[0]


BAD = [  # (argv, what the line must say); BAD_DATE stands for a params file with as_of: 2026-02-31
    (["validate", "missing.yml"], "missing.yml: cannot read the parameter file (No such file or directory)"),
    (["validate", "BAD_DATE"], "as_of (line 2): '2026-02-31' is not a date"),
    (["validate", DEMO, "--show", "x"], "argument --show: invalid int value: 'x'"),
    (["validate", DEMO, "--bogus"], "unrecognized arguments: --bogus"),
    (["forecast", "--invoices", "missing.csv", "--payments", "missing.csv"], "missing.csv"),
    (["forecast", "--params", DEMO, "--months", "1000"], "--months must be at most 24, got 1000"),
    (["forecast", "--params", DEMO, "--months", "0"], "--months must be at least 1, got 0"),
    (["forecast", "--params", DEMO, "--as-of", "2026-02-31"], "--as-of '2026-02-31': "),
    (["forecast", "--params", DEMO, "--paths", "100000000"], "--paths 100,000,000: a run of that many paths needs"),
    (["forecast", "--params", DEMO, "--paths", "1e3"], "argument --paths: invalid int value: '1e3'"),
    (["targets", "--params", "missing.yml"], "missing.yml: cannot read the parameter file"),
    (["targets", "--params", DEMO, "--paths", "0"], "--paths must be at least 1, got 0"),
    (["targets", "--params", DEMO, "--seed", "-1"], "--seed must be at least 0, got -1"),
    (["targets", "--params", "BAD_DATE"], "is not a date"),
    (["levers", "--params", DEMO, "--plan-paths", "0"], "--plan-paths must be at least 1, got 0"),
    (["levers", "--params", DEMO, "--paths", "100000000"], "--paths 100,000,000: a run of that many paths needs"),
    (["levers"], "the following arguments are required: --params"),
    (["backtest", "--invoices", "missing.csv", "--payments", "missing.csv"], "missing.csv"),
    (["backtest", "--params", DEMO, "--max-origins", "0"], "--max-origins must be at least 1, got 0"),
    (["backtest", "--params", DEMO, "--warmup", "-1"], "--warmup must be at least 0, got -1"),
    (["backtest"], "give --params FILE, or --invoices FILE and --payments FILE"),
    (["report", "--params", DEMO, "--month", "2026-13"], "--month '2026-13': give the report month as YYYY-MM"),
    (["report", "--params", DEMO, "--month", "november"], "--month 'november'"),
    (["report", "--params", DEMO, "--month", "2026-11", "--as-of", "2026-02-31"], "--as-of '2026-02-31': "),
    (["report", "--params", DEMO, "--month", "2026-11", "--paths", "0"], "--paths must be at least 1, got 0"),
    (["report", "--params", "missing.yml", "--month", "2026-11"], "missing.yml: cannot read the parameter file"),
    (["panel", "--params", "missing.yml"], "missing.yml: cannot read the parameter file"),
    (["panel", "--params", DEMO, "--port", "70000"], "--port 70000 is not a TCP port"),
    (["panel", "--params", DEMO, "--paths", "0"], "--paths must be at least 1, got 0"),
    (["demo", "--paths", "0"], "--paths must be at least 1, got 0"),
    (["demo", "--paths", "100000000"], "--paths 100,000,000: a run of that many paths needs"),
    (["demo", "--unknown"], "unrecognized arguments: --unknown"),
    ([], "the following arguments are required: COMMAND"),
    (["forcast"], "invalid choice: 'forcast'"),
]


@pytest.mark.parametrize("argv, says", BAD, ids=[" ".join(a).replace(DEMO, "demo.yml") or "-" for a, _ in BAD])
def test_bad_input_is_one_line_and_exit_2(argv, says, bad_date_params, request, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    if "missing.csv" not in argv:   # reading the ledger is the check of a missing ledger file
        request.getfixturevalue("no_long_run")
    argv = [bad_date_params if a == "BAD_DATE" else a for a in argv]
    assert cli.main(EN + argv) == 2
    line = _one_line_error(capsys.readouterr().err, argv[0] if argv and not argv[0].startswith("forc") else "")
    assert says in line
    assert list(tmp_path.iterdir()) == [Path(bad_date_params)]   # nothing written


def test_the_real_entry_point_exits_2_in_one_line(tmp_path, bad_date_params):
    """``python -m cashsim.cli`` as a shell runs it (the matrix above runs every sub-command in-process): a params
    error, an argparse error and a report error, run side by side."""
    cases = {"validate": ["validate", bad_date_params],
             "forecast": ["forecast", "--params", DEMO, "--paths", "x"],
             "report": ["report", "--params", DEMO, "--month", "2026-13"]}
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    procs = {name: subprocess.Popen([sys.executable, "-m", "cashsim.cli", *EN, *argv], cwd=tmp_path, env=env, text=True,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE) for name, argv in cases.items()}
    for name, proc in procs.items():
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 2, (name, err)
        _one_line_error(err, name)
    assert list(tmp_path.iterdir()) == [Path(bad_date_params)]


def test_python_dash_m_cashsim_is_the_console_script(tmp_path, bad_date_params):
    """``python -m cashsim`` runs ``cashsim.cli:main``, the ``cashsim`` console script of pyproject.toml: the
    version, the help under the name ``cashsim``, and a user's error in one line with exit code 2."""
    import tomllib

    from cashsim import __version__

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["cashsim"] == "cashsim.cli:main"
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}

    def run(*argv: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "cashsim", *EN, *argv], cwd=tmp_path, env=env, text=True,
                              capture_output=True, timeout=120)

    version = run("--version")
    assert (version.returncode, version.stdout.strip()) == (0, f"cashsim {__version__}"), version.stderr
    helped = run("validate", "--help")
    assert helped.returncode == 0 and helped.stdout.startswith("usage: cashsim validate"), helped
    failed = run("validate", bad_date_params)
    assert failed.returncode == 2, failed.stderr
    assert "is not a date" in _one_line_error(failed.stderr, "validate")


OUTPUTS = [  # (argv with OUT for the output path, the option, is a folder)
    (["validate", DEMO, "--rejections", "OUT"], "--rejections", False),
    (["forecast", "--params", DEMO, "--json", "OUT"], "--json", False),
    (["targets", "--params", DEMO, "--json", "OUT"], "--json", False),
    (["levers", "--params", DEMO, "--json", "OUT"], "--json", False),
    (["levers", "--params", DEMO, "--charts", "OUT"], "--charts", True),
    (["backtest", "--params", DEMO, "--json", "OUT"], "--json", False),
    (["backtest", "--params", DEMO, "--html", "OUT"], "--html", False),
    (["report", "--params", DEMO, "--month", "2026-11", "--output", "OUT"], "--output", True),
    (["demo", "--output", "OUT"], "--output", True),
]


@pytest.mark.parametrize("argv, option, folder", OUTPUTS, ids=[f"{a[0]} {o}" for a, o, _ in OUTPUTS])
def test_unwritable_outputs_fail_early_naming_the_path(argv, option, folder, tmp_path, no_long_run, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("in the way")
    places = [(blocker / "sub" / "out.json", f"{blocker} is a file, not a folder"),     # a file in the way
              (Path("/proc/cashsim-out/x"), "cannot create a file in /proc")]            # a read-only location
    if folder:
        places.append((blocker, "it is a file, not a folder"))
    else:
        places.append((tmp_path, "it is a folder; give a file name"))
    for path, why in places:
        assert cli.main(EN + [str(path) if a == "OUT" else a for a in argv]) == 2
        line = _one_line_error(capsys.readouterr().err, argv[0])
        assert f"{option} {path}: cannot write there: {why}" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"] and blocker.read_text() == "in the way"


def test_a_folder_without_write_permission_is_refused(tmp_path, no_long_run, capsys):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    if os.geteuid() == 0:  # root writes through file permissions: /proc/self refuses new files to everyone
        locked = Path("/proc/self")
    assert cli.main([*EN, "forecast", "--params", DEMO, "--json", str(locked / "f.json")]) == 2
    assert "cannot create a file in" in _one_line_error(capsys.readouterr().err, "forecast")


def test_a_taken_port_is_refused_before_voila_starts(capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert cli.main([*EN, "panel", "--params", DEMO, "--port", str(port)]) == 2
    assert f"--port {port}: cannot listen on 127.0.0.1:{port}" in _one_line_error(capsys.readouterr().err, "panel")


@pytest.mark.parametrize("exc", [PermissionError(13, "Permission denied", "/data/factures.csv"),
                                 IsADirectoryError(21, "Is a directory", "/data/factures.csv"),
                                 NotADirectoryError(20, "Not a directory", "/data/factures.csv")])
def test_os_errors_on_user_paths_are_one_line(exc, monkeypatch, capsys):
    from cashsim.commands import validate

    def run(args):
        raise exc

    monkeypatch.setattr(validate, "run", run)   # registered when main() builds the parser
    assert cli.main([*EN, "validate", DEMO]) == 2
    assert _one_line_error(capsys.readouterr().err, "validate") == \
        f"cashsim validate: error: /data/factures.csv: {exc.strerror}"
