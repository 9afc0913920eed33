"""Where the files cashsim ships beside its code are found: the notebooks and the demo parameters.

``packaged_notebook("monthly_report.ipynb")`` is ``cashsim/notebooks/monthly_report.ipynb`` inside the installed
package (importlib.resources).

Example::

    >>> packaged_notebook().name
    'monthly_report.ipynb'
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

from cashsim.errors import ReportError


def packaged_notebook(name: str = "monthly_report.ipynb") -> Path:
    """The notebook shipped inside the package (``cashsim/notebooks/``), found with importlib.resources."""
    resource = importlib.resources.files("cashsim").joinpath("notebooks", name)
    if not resource.is_file():
        raise ReportError(f"the packaged notebook cashsim/notebooks/{name} is missing: reinstall cashsim")
    return Path(str(resource))
