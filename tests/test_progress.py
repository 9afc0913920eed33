"""Long commands say what they do on standard error with --progress, and nothing without it (not a terminal)."""

import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
MESSY = Path(__file__).parent / "data" / "messy" / "params.yml"


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cashsim.cli", *args], capture_output=True, text=True,
                          env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"})


def test_levers_show_progress_on_stderr_only_when_asked(tmp_path):
    args = ["levers", "--params", str(MESSY), "--paths", "20", "--no-plan", "--json",
            str(tmp_path / "l.json")]
    quiet = _cli(*args)
    assert quiet.returncode == 0 and quiet.stderr == ""
    loud = _cli(*args, "--progress")
    assert loud.returncode == 0
    # French, the params' locale: the messages and their dates
    assert "cashsim: lecture du grand livre" in loud.stderr
    assert "ajustement du comportement des payeurs au 31 oct. 2026" in loud.stderr
    assert "simulation des scénarios" in loud.stderr and "7/7" in loud.stderr
    assert "simulation des scénarios" not in loud.stdout
    english = _cli(*args, "--progress", "--locale", "en_GB")
    assert "cashsim: reading the ledger" in english.stderr
    assert "fitting payer behaviour as of 31 Oct 2026" in english.stderr


def test_forecast_json_on_stdout_stays_clean_with_progress():
    res = _cli("--progress", "forecast", "--params", str(MESSY), "--paths", "20", "--json", "-")
    assert res.returncode == 0 and res.stdout.lstrip().startswith("{") and "ajustement du comportement" in res.stderr


def test_quiet_hides_progress_in_its_own_thread_only(capsys):
    """The report's lever study runs quiet in a thread of the driver while papermill's bar runs in the main thread:
    the quiet thread prints nothing, the others print as before, during and after the block."""
    import threading

    from cashsim import progress

    saved, locale = progress.enabled(), progress._STATE["locale"]
    progress.enable(True)
    progress.set_locale("fr_FR")
    inside, entered, release = [], threading.Event(), threading.Event()

    def study():
        with progress.quiet():
            with progress.quiet():  # nested
                pass
            inside.append(progress.enabled())
            progress.step("simulating scenarios")
            inside.append(list(progress.bar([1, 2], desc="origins")) == [1, 2] and progress.bar([1], desc="x"))
            entered.set()
            release.wait(10)

    try:
        thread = threading.Thread(target=study)
        thread.start()
        assert entered.wait(10)
        assert progress.enabled()  # the main thread, while the other one is quiet
        progress.step("reading the ledger")
        bar = progress.bar([1, 2], desc="origins")
        assert bar is not None and type(bar).__name__ == "tqdm"  # a real bar, not the bare iterable
        list(bar)
        release.set()
        thread.join(10)
        assert inside == [False, [1]]  # the quiet thread: no bar, the iterable itself
        err = capsys.readouterr().err
        assert "cashsim: lecture du grand livre" in err and "simulation des scénarios" not in err
    finally:
        progress.enable(saved)
        progress.set_locale(locale)
