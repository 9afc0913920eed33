"""``python -m cashsim``: the ``cashsim`` command, the same entry point as the console script of pyproject.toml
(``cashsim.cli:main``)."""

import sys

from cashsim.cli import main

sys.exit(main())
