"""``cashsim panel --params FILE [--port 8866]``: serve the scenario panel with Voilà on this machine only.

The panel notebook (``notebooks/scenario_panel.ipynb``, shipped in the wheel as ``cashsim/notebooks/``) is
parameterised the papermill way - an ``injected-parameters`` cell after the cell tagged ``parameters`` sets
``params_path`` to the absolute path of FILE - written to a temporary folder, and served by Voilà bound to
127.0.0.1 (never to the network: the page runs Python on this machine). Sources are hidden, so the CFO sees controls
and charts, no code. One kernel is pre-heated (``--preheat_kernel``: the notebook, and so the fit, runs before the
page is opened), so a page opened a minute after the start shows at once. Stop with Ctrl-C.

Example::

    cashsim panel --params params/demo.yml --port 8866   # then open http://127.0.0.1:8866/
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from cashsim.errors import ParamsError
from cashsim.params import load_params

#: Name of the panel notebook, in the package (``cashsim/notebooks``) and at the repository root (``notebooks``).
PANEL_NOTEBOOK = "scenario_panel.ipynb"
#: Voilà's default port.
DEFAULT_PORT = 8866


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
    p = subparsers.add_parser("panel", help="serve the scenario panel (Voilà) on localhost",
                              description=__doc__.splitlines()[0])
    p.add_argument("--params", required=True, type=Path, help="parameter file (YAML)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"local port (default {DEFAULT_PORT})")
    p.add_argument("--paths", type=int, default=None, help="Monte Carlo paths per update (default 500)")
    p.add_argument("--browser", action="store_true", help="open the page in the default web browser")
    p.add_argument("--no-cache", action="store_true", help="fit payer behaviour again instead of reading the "
                                                              "fit cache (see README, Fit cache)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not 1 <= args.port <= 65535:
        raise ParamsError(f"--port {args.port} is not a TCP port; give a number between 1024 and 65535")
    with tempfile.TemporaryDirectory(prefix="cashsim-panel-") as tmp:
        nb = prepare_panel_notebook(args.params, tmp, n_paths=args.paths)
        print(f"cashsim panel: serving {args.params} on http://127.0.0.1:{args.port}/ (Ctrl-C to stop)", flush=True)
        try:
            env = {**os.environ, **({"CASHSIM_NO_CACHE": "1"} if args.no_cache else {})}  # the kernels inherit it
            return subprocess.call(voila_argv(nb, args.port, open_browser=args.browser), cwd=tmp, env=env)
        except KeyboardInterrupt:
            return 0
