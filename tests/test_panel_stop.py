"""``cashsim panel`` stopped any way (SIGINT, SIGTERM, SIGHUP) leaves nothing behind: no Voilà, no kernel, no busy
port, no ``/tmp/cashsim-panel-*`` folder. Processes are followed through ``/proc`` (Linux)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="follows processes through /proc")

ROOT = Path(__file__).resolve().parents[1]
DEMO = str(ROOT / "params" / "demo.yml")
ENV = {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for its parent to read its status is dead)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _tree(pid: int) -> list[int]:
    """Every process below ``pid``, read from /proc independently of the code under test."""
    parent = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
    found, todo = [], [pid]
    while todo:
        me = todo.pop()
        kids = [p for p, pp in parent.items() if pp == me and _alive(p)]
        found += kids
        todo += kids
    return found


@contextmanager
def _panel(argv: list[str]) -> Iterator[subprocess.Popen]:
    """Start the panel; whatever the test does, end with no process of it left (SIGKILL to its whole tree)."""
    proc = subprocess.Popen(argv, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen: set[int] = set()
    try:
        yield proc
    finally:
        seen.update(_tree(proc.pid))
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for p in seen:
            if _alive(p):
                os.kill(p, signal.SIGKILL)


def _wait(condition, timeout: float, what: str, proc: subprocess.Popen) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return
        if proc.poll() is not None and proc.returncode != 0:
            pytest.fail(f"the panel exited ({proc.returncode}) before {what}:\n{proc.stdout.read()}")
        time.sleep(0.2)
    pytest.fail(f"no {what} within {timeout} s")


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _stop_and_check(proc: subprocess.Popen, port: int, sig: int, min_tree: int, timeout: float) -> None:
    """Send ``sig`` to the panel (its pid only, as ``kill`` or a service manager's main-pid stop do), then nothing
    it started may survive, the port must be free and its temporary folder gone."""
    _wait(lambda: len(_tree(proc.pid)) >= min_tree, 120, f"{min_tree} processes under the panel", proc)
    tree = _tree(proc.pid)
    server = next(p for p in tree if Path(f"/proc/{p}/cwd").resolve().name.startswith("cashsim-panel-"))
    folder = Path(f"/proc/{server}/cwd").resolve()
    assert folder.parent == Path(os.environ.get("TMPDIR", "/tmp")).resolve() and folder.is_dir()
    os.kill(proc.pid, sig)
    try:
        code = proc.wait(timeout)
        end = time.monotonic() + 10           # children reparented to init may take a moment to be reaped
        while any(_alive(p) for p in tree) and time.monotonic() < end:
            time.sleep(0.2)
        survivors, left, port_free = [p for p in tree if _alive(p)], folder.exists(), _port_free(port)
    finally:                                  # never leave anything behind, even when the test fails
        for p in tree:
            if _alive(p):
                os.kill(p, signal.SIGKILL)
        shutil.rmtree(folder, ignore_errors=True)
    assert (code, survivors, left, port_free) == (0, [], False, True)
    assert f"cashsim panel: arrêté ({signal.Signals(sig).name})" in proc.stdout.read()   # French: the params' locale


#: A stand-in for Voilà: starts a "kernel" in a session of its own that ignores SIGTERM (the worst case: only
#: SIGKILL ends it), listens on the port, and on SIGTERM exits at once without stopping its kernel.
FAKE_VOILA = textwrap.dedent("""
    import socket, subprocess, sys, time
    kernel = subprocess.Popen([sys.executable, "-c", "import signal, time; "
                               "signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"],
                              start_new_session=True)
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", int(sys.argv[1])))
    s.listen()
    while True:
        s.accept()[0].close()
""")

#: `cashsim panel` with Voilà replaced by FAKE_VOILA, started as from a terminal (default SIGINT handler).
PANEL_WITH_FAKE = textwrap.dedent("""
    import signal, sys
    signal.signal(signal.SIGINT, signal.default_int_handler)
    import cashsim.commands.panel as panel
    panel.GRACE_SECONDS = 2.0
    panel.voila_argv = lambda nb, port, **kw: [sys.executable, "-c", sys.argv[1], str(port)]
    from cashsim.cli import main
    sys.exit(main(["panel", "--params", sys.argv[2], "--port", sys.argv[3]]))
""")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=lambda s: s.name)
def test_every_stop_signal_ends_the_children_and_removes_the_folder(sig):
    port = _free_port()
    with _panel([sys.executable, "-c", PANEL_WITH_FAKE, FAKE_VOILA, DEMO, str(port)]) as proc:
        _wait(lambda: _listening(port), 120, "listening port", proc)
        _stop_and_check(proc, port, sig, min_tree=2, timeout=30)


@pytest.mark.skipif(importlib.util.find_spec("voila") is None, reason="needs voila")
def test_sigterm_stops_voila_its_kernels_and_removes_the_temp_folder():
    """The real thing: `cashsim panel` serving with Voilà and its pre-heated kernel, stopped by SIGTERM."""
    port = _free_port()
    with _panel([sys.executable, "-m", "cashsim.cli", "panel", "--params", DEMO, "--port", str(port),
                 "--paths", "20"]) as proc:
        _wait(lambda: _listening(port), 180, "Voilà on its port", proc)
        _stop_and_check(proc, port, signal.SIGTERM, min_tree=2, timeout=60)   # Voilà + its pre-heated kernel
