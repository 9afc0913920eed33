"""The papermill engine the monthly report runs on: papermill's own (nbclient), saving the executed notebook less
often while it runs.

papermill writes the whole executed notebook to disk before and after every cell (``cell_start`` and
``cell_complete``), in the driver, between two cells: the kernel waits meanwhile. Once the report's first chart has
put plotly.js (3.5 MB) into the notebook, each write serialises 5 MB of JSON: 70 writes took 4 s of a 30 s report.
:class:`SparseSaves` writes it at most every :data:`SAVE_EVERY` seconds instead (and papermill's 30 s autosave
inside a long cell still applies): a killed run still leaves a notebook at most that old in its temporary folder,
a failed cell still gets its notebook written with the error banner (papermill does it on the error), and the
finished notebook is written once, by papermill, at the end. The executed notebook's content is the same.

A kernel handed over as ``km`` (:class:`cashsim.report.kernel.WarmKernel`) is the engine's to shut down, with its
client's channels, as the kernels it starts itself (nbclient leaves a given kernel running and its client open).
Once the last cell has answered, the kernel is ended at once (``shutdown_kernel="immediate"``: its process group is
killed, a dask cluster's workers with it) rather than asked to exit, which takes it half a second: every output is
in the notebook by then, and nothing the report writes waits for the kernel's exit.

Example::

    >>> pm.execute_notebook(src, out, engine_name=engine_name(), kernel_name="python3")   # doctest: +SKIP
"""

from __future__ import annotations

from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, NotebookExecutionManager, papermill_engines
from papermill.log import logger
from papermill.utils import merge_kwargs, remove_args

#: Seconds between two writes of the executed notebook while it runs.
SAVE_EVERY = 5.0
#: Name the engine is registered under in papermill's engine registry.
ENGINE_NAME = "cashsim-sparse-saves"


class SparseSaves(NotebookExecutionManager):
    """papermill's execution manager writing the notebook at most every :data:`SAVE_EVERY` seconds, and not at the
    end (``papermill.execute_notebook`` writes the finished notebook itself)."""

    def save(self, **kwargs):
        if (self.now() - self.last_save_time).total_seconds() >= SAVE_EVERY:
            super().save(**kwargs)

    def notebook_complete(self, **kwargs):
        self.last_save_time = self.now()  # its final save would be the second write of the same notebook
        super().notebook_complete(**kwargs)


class SparseSavesEngine(NBClientEngine):
    """papermill's nbclient engine with :class:`SparseSaves` as its execution manager (the body of
    ``papermill.engines.Engine.execute_notebook``, with the manager class replaced)."""

    @classmethod
    def execute_notebook(cls, nb, kernel_name, output_path=None, progress_bar=True, log_output=False,
                         autosave_cell_every=30, **kwargs):
        nb_man = SparseSaves(nb, output_path=output_path, progress_bar=progress_bar, log_output=log_output,
                             autosave_cell_every=autosave_cell_every)
        nb_man.notebook_start()
        try:
            cls.execute_managed_notebook(nb_man, kernel_name, log_output=log_output, **kwargs)
        finally:
            nb_man.cleanup_pbar()
            nb_man.notebook_complete()
        return nb_man.nb

    @classmethod
    def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False, stdout_file=None, stderr_file=None,
                                 start_timeout=60, execution_timeout=None, **kwargs):
        """papermill's ``NBClientEngine.execute_managed_notebook``, the client owning a kernel given as ``km``."""
        kwargs = remove_args(["input_path"], **kwargs)
        safe_kwargs = remove_args(["timeout", "startup_timeout"], **kwargs)
        final_kwargs = merge_kwargs(safe_kwargs, timeout=execution_timeout if execution_timeout else
                                    kwargs.get("timeout"), startup_timeout=start_timeout, kernel_name=kernel_name,
                                    log=logger,
                                    log_output=log_output, stdout_file=stdout_file, stderr_file=stderr_file)
        final_kwargs.setdefault("shutdown_kernel", "immediate")
        client = PapermillNotebookClient(nb_man, **final_kwargs)
        client.owns_km = True  # shut the kernel down and close the client at the end, a given kernel too
        return client.execute()


def engine_name() -> str:
    """The name to pass as papermill's ``engine_name`` (registered on first use)."""
    papermill_engines.register(ENGINE_NAME, SparseSavesEngine)
    return ENGINE_NAME
