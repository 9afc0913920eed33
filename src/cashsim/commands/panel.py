"""``cashsim panel --params FILE [--port 8866]``: serve the scenario panel with Voilà on this machine only.

The panel notebook (``notebooks/scenario_panel.ipynb``, shipped in the wheel as ``cashsim/notebooks/``) is
parameterised the papermill way - an ``injected-parameters`` cell after the cell tagged ``parameters`` sets
``params_path`` to the absolute path of FILE - written to a temporary folder, and served by Voilà bound to
127.0.0.1 (never to the network: the page runs Python on this machine). Sources are hidden, so the CFO sees controls
and charts, no code. One kernel is pre-heated (``--preheat_kernel``: the notebook, and so the fit, runs before the
page is opened), so a page opened a minute after the start shows at once.

Stopping: Ctrl-C (SIGINT), a service manager's SIGTERM or a closed terminal's SIGHUP all end the same way, with exit
code 0: Voilà runs in a process group of its own and gets SIGTERM, so it shuts its kernels down;
whatever it started and is still alive after :data:`GRACE_SECONDS` (kernels run in sessions of their own) is
killed; then the temporary folder is removed. The port is refused before anything starts when it is taken.

Example::

    cashsim panel --params params/demo.yml --port 8866   # then open http://127.0.0.1:8866/
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cashsim import commands
from cashsim.commands import SUMMARIES, _
from cashsim.errors import ParamsError
from cashsim.params import load_params, with_overrides

#: Name of the panel notebook, in the package (``cashsim/notebooks``) and at the repository root (``notebooks``).
PANEL_NOTEBOOK = "scenario_panel.ipynb"
#: Voilà's default port.
DEFAULT_PORT = 8866
#: Signals that stop the panel: Ctrl-C, a service manager's stop, a closed terminal.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
#: Seconds Voilà gets to shut its kernels down after SIGTERM before what is left of its processes is killed.
GRACE_SECONDS = 10.0


def panel_notebook() -> Path:
    """Path of the panel notebook: the wheel's ``cashsim/notebooks/``, else the checkout's ``notebooks/``
    (:func:`cashsim.report.resources.packaged_notebook`)."""
    from cashsim.report.resources import packaged_notebook  # imported on use: `cashsim --help` stays light

    return packaged_notebook(PANEL_NOTEBOOK)


def prepare_panel_notebook(params_path: str | Path, out_dir: str | Path, *, n_paths: int | None = None) -> Path:
    """Write the panel notebook with ``params_path`` (absolute) injected after its ``parameters`` cell.

    The file is validated first (:func:`cashsim.params.load_params`), so a bad YAML fails here with its key named,
    not later in a blank browser page. Returns the path of the parameterised notebook inside ``out_dir``.
    """
    import nbformat  # imported on use: `cashsim --help` stays light
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    params_path = Path(params_path).resolve()
    params = load_params(params_path)  # raises ParamsError naming the file and key
    # the kernel runs in out_dir: paths it needs are made absolute here, from the user's working directory
    values: dict[str, object] = {"params_path": str(params_path),
                                 "output_dir": str(Path(params.report.output_dir).resolve())}
    if n_paths is not None:
        values["n_paths"] = int(n_paths)
    nb = load_notebook_node(str(panel_notebook()))  # papermill's reader: every cell gets its tags list
    nb = parameterize_notebook(nb, values, comment="Parameters injected by `cashsim panel`")
    out = Path(out_dir) / PANEL_NOTEBOOK
    nbformat.write(nb, out)
    return out


def voila_argv(notebook: str | Path, port: int = DEFAULT_PORT, *, open_browser: bool = False,
               show_tracebacks: bool = False) -> list[str]:
    """The command line that serves ``notebook`` with Voilà on 127.0.0.1:``port``, sources hidden.

    ``port_retries=0``: a busy port is an error, not a silent move to another port the user does not know.
    """
    return [sys.executable, "-m", "voila", str(notebook), f"--port={int(port)}", "--Voila.ip=127.0.0.1",
            "--Voila.port_retries=0", "--strip_sources=True", f"--show_tracebacks={show_tracebacks}",
            f"--Voila.open_browser={open_browser}", "--preheat_kernel=True", "--pool_size=1"]


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("panel", help=_(SUMMARIES["panel"]),
                              description=_("Serve the scenario panel with Voilà on this machine only."))
    p.add_argument("--params", required=True, type=Path, help=_("parameter file (YAML)"))
    p.add_argument("--port", type=int, default=DEFAULT_PORT,
                   help=_("local port (default {port})").format(port=DEFAULT_PORT))
    p.add_argument("--paths", type=int, default=None, help=_("Monte Carlo paths per update (default 500)"))
    p.add_argument("--browser", action="store_true", help=_("open the page in the default web browser"))
    p.add_argument("--no-cache", action="store_true", help=_("fit payer behaviour again instead of reading the "
                                                              "fit cache (see README, Fit cache)"))
    p.set_defaults(func=run)


def check_port(port: int) -> None:
    """Refuse a port that is not a TCP port or that 127.0.0.1 cannot listen on (taken, or privileged)."""
    if not 1 <= port <= 65535:
        raise ParamsError.of("--port {port} is not a TCP port; give a number between 1024 and 65535", port=port,
                             fields={"option": "--port"})
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Voilà's server does
        try:
            s.bind(("127.0.0.1", port))
        except OSError as exc:
            raise ParamsError.of("--port {port}: cannot listen on 127.0.0.1:{port} ({reason}); give another port",
                                 port=port, reason=exc.strerror, fields={"option": "--port"}) from None


class _Stopped(BaseException):
    """A stop signal arrived (a BaseException, as KeyboardInterrupt: no ``except Exception`` swallows it)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextmanager
def stop_signals() -> Iterator[None]:
    """Within the block, the first of :data:`STOP_SIGNALS` raises ``_Stopped`` in the main thread and the next ones
    are ignored while cleaning up; a signal already ignored (``nohup``) stays ignored. Handlers restored after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: object) -> None:
        for sig in STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
        raise _Stopped(signum)

    previous = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}
    for sig, handler in previous.items():
        if handler is not signal.SIG_IGN:
            signal.signal(sig, stop)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _stat(pid: int) -> tuple[int, int, str] | None:
    """(parent pid, start time in clock ticks, state) of a process from ``/proc``, None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[1]), int(fields[19]), fields[0]


def descendants(pid: int) -> dict[int, int]:
    """Every living process below ``pid`` (children, grandchildren...) -> its start time, from ``/proc`` (empty
    where there is no ``/proc``). The start time tells a process from a later one that reuses its pid."""
    children: dict[int, list[tuple[int, int]]] = {}
    try:
        entries = [int(e.name) for e in os.scandir("/proc") if e.name.isdigit()]
    except OSError:
        return {}
    for child in entries:
        st = _stat(child)
        if st is not None and st[2] != "Z":
            children.setdefault(st[0], []).append((child, st[1]))
    found: dict[int, int] = {}
    todo = [pid]
    while todo:
        for child, started in children.get(todo.pop(), []):
            found[child] = started
            todo.append(child)
    return found


def stop_process_tree(proc: subprocess.Popen, grace: float = GRACE_SECONDS) -> None:
    """End ``proc`` - the leader of its own process group - and every process it started: SIGTERM to its group,
    ``grace`` seconds to exit, then SIGKILL to whatever of the group and of its descendants (taken before the
    SIGTERM: kernels live in sessions of their own) is still alive."""
    tree = descendants(proc.pid)
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            pass
    survivors = [p for p, started in tree.items() if (st := _stat(p)) is not None and st[1] == started and st[2] != "Z"]
    for kill, target in ([(os.killpg, proc.pid)] if proc.poll() is None else []) + [(os.kill, p) for p in survivors]:
        try:
            kill(target, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    proc.wait()


def serve(argv: list[str], cwd: str | Path) -> int:
    """Run ``argv`` in ``cwd`` in a new session (its own process group) until it exits; whatever way this ends (its
    exit, an exception, a stop signal), :func:`stop_process_tree` leaves none of its processes behind."""
    proc = subprocess.Popen(argv, cwd=cwd, start_new_session=True)
    try:
        return proc.wait()
    finally:
        stop_process_tree(proc)


def run(args: argparse.Namespace) -> int:
    check_port(args.port)
    with_overrides(commands.load(args.params), {"simulation.n_paths": ("--paths", args.paths)})
    if args.no_cache:
        os.environ["CASHSIM_NO_CACHE"] = "1"  # the kernels inherit it
    with stop_signals():
        try:
            with tempfile.TemporaryDirectory(prefix="cashsim-panel-") as tmp:
                nb = prepare_panel_notebook(args.params, tmp, n_paths=args.paths)
                print("cashsim panel: " + _("serving {params} on {url} (Ctrl-C to stop)").format(
                    params=args.params, url=f"http://127.0.0.1:{args.port}/"), flush=True)
                return serve(voila_argv(nb, args.port, open_browser=args.browser), tmp)
        except _Stopped as stop:
            try:
                print("cashsim panel: " + _("stopped ({signal})").format(signal=stop), flush=True)
            except OSError:  # the terminal that sent SIGHUP is gone
                pass
            return 0
