"""The report's kernel, started before papermill is even imported, importing the notebook's modules meanwhile.

A report spends its first seconds on imports, twice over: the driver loads papermill and nbformat (a second:
jsonschema compiles its IRI grammar), then papermill starts a kernel, which loads pandas, plotly and cashsim in
the notebook's first cell (two seconds). :class:`WarmKernel` starts the ``python3`` kernel of the current
interpreter first, told (IPython's ``exec_lines``) to run the notebook's own top-level ``import`` statements while
it starts up, so the two loads run side by side on two cores; papermill then runs the notebook on that kernel
(``km=``), and its first cell finds the modules loaded. Nothing else differs: the same kernel (``python3``, the
history in memory as papermill has it), the same working folder and environment as papermill would give it, the
same cells; the imports run before the parameters cell, as they would in the first cell (an import does not depend
on the parameters). Output of those imports (a warning, say) goes to the kernel's log, not into the report.

Both processes import nbformat (the driver through papermill, the kernel through plotly's renderers), which imports
jsonschema, which imports ``rfc3987_syntax`` when it is installed - only to check the ``iri`` string formats, which
no notebook schema uses - and that import builds three Earley parsers of RFC 3987 with lark: a second of CPU in each
process (jsonschema#1428). :func:`without_iri_grammar` (the driver) and :data:`SKIP_IRI_GRAMMAR` /
:data:`ALLOW_IRI_GRAMMAR` (around the kernel's imports) make that import fail quietly, as if the package were not
installed, while nbformat is loaded; jsonschema then simply has no ``iri`` checker, and the module can be imported
normally afterwards. Notebooks are validated as before (nbformat uses fastjsonschema and its own schema).

Example::

    >>> with WarmKernel(notebook, cwd=params_folder, env=REPORT_ENV) as kernel:   # doctest: +SKIP
    ...     import papermill as pm                                                 # meanwhile, the kernel imports
    ...     pm.execute_notebook(notebook, out, km=kernel.manager, engine_name=engine_name())
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

from cashsim.errors import ReportError

#: The kernel every report runs in (papermill#251: never the kernel name saved in the notebook).
KERNEL_NAME = "python3"
#: Loaded too when the notebook imports plotly.io: the first use of ``pio.renderers`` (the report sets its default)
#: imports plotly's renderers, which import nbformat - two seconds on a busy machine.
PLOTLY_RENDERERS = "import plotly.io._renderers"
#: Loads every module of cashsim.report (:func:`cashsim.report.load_all`; an expression of value None: nothing shown).
LOAD_REPORT = "__import__('cashsim.report', fromlist=['load_all']).load_all()"
#: The module jsonschema imports for its ``iri`` format checks (a second of lark grammars): kept out of the imports.
IRI_GRAMMAR = "rfc3987_syntax"
#: First line the kernel runs: ``import rfc3987_syntax`` fails from now on (unless it is loaded already). A
#: statement, not an expression: the kernel shows no value and the notebook's namespace gets no name.
SKIP_IRI_GRAMMAR = (f"if {IRI_GRAMMAR!r} not in __import__('sys').modules: "
                    f"__import__('sys').modules[{IRI_GRAMMAR!r}] = None")
#: Last line the kernel runs at start: the module is importable again (jsonschema has no iri checker, that is all).
ALLOW_IRI_GRAMMAR = (f"if __import__('sys').modules.get({IRI_GRAMMAR!r}, 0) is None: "
                     f"del __import__('sys').modules[{IRI_GRAMMAR!r}]")


@contextlib.contextmanager
def without_iri_grammar() -> Iterator[None]:
    """Inside the block ``import rfc3987_syntax`` raises ImportError, as when it is not installed (nothing changes
    when it is loaded already); afterwards it imports normally. Import nbformat / papermill inside it."""
    blocked = IRI_GRAMMAR not in sys.modules
    if blocked:
        sys.modules[IRI_GRAMMAR] = None  # the import system's "not importable" marker
    try:
        yield
    finally:
        if blocked and sys.modules.get(IRI_GRAMMAR, 0) is None:
            del sys.modules[IRI_GRAMMAR]


def top_level_imports(notebook: str | Path) -> list[str]:
    """The ``import`` / ``from ... import`` statements at the top level of the notebook's code cells (the cell
    tagged ``parameters`` left out), as source lines, in order, and :data:`PLOTLY_RENDERERS` when one imports
    plotly.io; a cell that does not parse is skipped (it will fail in the notebook, with its own message)."""
    cells = json.loads(Path(notebook).read_text(encoding="utf-8")).get("cells", [])
    lines = []
    for cell in cells:
        if cell.get("cell_type") != "code" or "parameters" in cell.get("metadata", {}).get("tags", []):
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        lines += [ast.unparse(node) for node in tree.body
                  if isinstance(node, ast.Import | ast.ImportFrom) and not getattr(node, "level", 0)]
    if any("plotly.io" in line for line in lines):
        lines.append(PLOTLY_RENDERERS)
    return lines


def start_lines(notebook: str | Path) -> list[str]:
    """What the kernel runs as it starts: the notebook's :func:`top_level_imports`, the IRI grammar kept out, and
    :data:`LOAD_REPORT` when they import cashsim (``cashsim.report`` loads its modules on first use)."""
    imports = top_level_imports(notebook)
    load = [LOAD_REPORT] if any(line.split()[1].split(".")[0] == "cashsim" for line in imports) else []
    return [SKIP_IRI_GRAMMAR, *imports, *load, ALLOW_IRI_GRAMMAR]


class WarmKernel:
    """A ``python3`` kernel started now in ``cwd`` with ``env`` added to the environment, importing the modules the
    notebook imports (:func:`start_lines`) before it answers its first request. Hand :attr:`manager` to
    papermill (``km=``); :meth:`stop` (idempotent; on leaving a ``with`` block too) ends it when papermill did not
    get to."""

    def __init__(self, notebook: str | Path, *, cwd: str | Path, env: Mapping[str, str]) -> None:
        from jupyter_client.manager import AsyncKernelManager
        from jupyter_core.utils import run_sync

        self.manager = AsyncKernelManager(kernel_name=KERNEL_NAME)
        arguments = ["--HistoryManager.hist_file=:memory:"]  # as nbclient starts a kernel for papermill
        # the kernel's own log (ipykernel >= 7 warns that a loopback TCP kernel is unencrypted) is not the reader's
        # business: errors only; the notebook's outputs and warnings still reach the report
        arguments += ["--IPKernelApp.log_level=ERROR"]
        arguments += [f"--IPKernelApp.exec_lines={line}" for line in start_lines(notebook)]
        try:
            run_sync(self.manager.start_kernel)(extra_arguments=arguments, cwd=str(cwd), env={**os.environ, **env})
        except Exception as exc:  # no such kernel, interpreter cannot start...
            raise ReportError.of("the report's kernel ({kernel}) could not start: {error}", kernel=KERNEL_NAME,
                                 error=f"{type(exc).__name__}: {exc}") from exc

    def stop(self) -> None:
        """Shut the kernel down now, unless it is already gone (papermill shut it down at the end of its run)."""
        from jupyter_core.utils import run_sync

        if self.manager.has_kernel:
            run_sync(self.manager.shutdown_kernel)(now=True)

    def __enter__(self) -> WarmKernel:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()  # papermill normally did already

    @contextlib.contextmanager
    def stopped_on_error(self) -> Iterator[WarmKernel]:
        """Stop the kernel when the block raises (then re-raise); leave it running otherwise."""
        try:
            yield self
        except BaseException:
            self.stop()
            raise
