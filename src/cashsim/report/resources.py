"""Where the files cashsim ships beside its code are found: the notebooks, the demo parameters, the HTML template.

The repository holds each file once: the notebooks in ``notebooks/``, the demo parameters in ``params/demo.yml``,
the nbconvert template in ``src/cashsim/report/templates/`` (package code). A built wheel carries the first two
inside the package (pyproject.toml's hatch ``force-include``: ``notebooks/`` -> ``cashsim/notebooks/``,
``params/demo.yml`` -> ``cashsim/notebooks/demo.yml``). Lookup rule, the same for every shipped file:

1. the installed package's copy, ``cashsim/notebooks/<name>`` (importlib.resources): a wheel install;
2. else the repository's own file, found from the package's place in the src layout
   (``Path(cashsim.__file__).parents[2]`` is the checkout): an editable install or ``PYTHONPATH=src``;
3. else a :class:`ReportError` that says to reinstall cashsim (an English msgid: the command line shows it in the
   reader's language, :meth:`cashsim.errors.CashsimError.translated`).

Example::

    >>> packaged_notebook().name
    'monthly_report.ipynb'
    >>> packaged_params().name
    'demo.yml'
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

import cashsim
from cashsim.errors import ReportError

#: Folder of the shipped notebooks inside the installed package (a wheel).
PACKAGE_FOLDER = "notebooks"
#: The repository checkout when cashsim runs from its src layout (``src/cashsim/__init__.py`` -> the checkout).
CHECKOUT = Path(cashsim.__file__).resolve().parents[2]


def _shipped(name: str, checkout_path: Path) -> Path:
    """``cashsim/notebooks/<name>`` of the installed package, else ``checkout_path`` in the repository checkout."""
    resource = importlib.resources.files("cashsim").joinpath(PACKAGE_FOLDER, name)
    if resource.is_file():
        return Path(str(resource))
    if checkout_path.is_file():
        return checkout_path
    raise ReportError.of("the packaged file {file} is missing (nor is it at {path} of a checkout): reinstall cashsim",
                         file=f"cashsim/{PACKAGE_FOLDER}/{name}", path=str(checkout_path),
                         fields={"file": f"cashsim/{PACKAGE_FOLDER}/{name}"})


def packaged_notebook(name: str = "monthly_report.ipynb") -> Path:
    """A notebook shipped with cashsim (``monthly_report.ipynb``, ``scenario_panel.ipynb``...): the wheel's
    ``cashsim/notebooks/<name>``, else the checkout's ``notebooks/<name>``."""
    return _shipped(name, CHECKOUT / "notebooks" / name)


def packaged_params() -> Path:
    """The demo company's parameters: the wheel's ``cashsim/notebooks/demo.yml``, else the checkout's
    ``params/demo.yml``."""
    return _shipped("demo.yml", CHECKOUT / "params" / "demo.yml")


def template_dir() -> Path:
    """The folder of the nbconvert template ``cashsim_report`` (package data of :mod:`cashsim.report`)."""
    return Path(str(importlib.resources.files("cashsim.report").joinpath("templates")))
