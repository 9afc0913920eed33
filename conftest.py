"""Repository-wide pytest hooks (tests/conftest.py holds the fixtures).

Doctests run over ``src/cashsim`` (``--doctest-modules``). A docstring whose every example is marked
``# doctest: +SKIP`` is an illustration for the reader (it needs a company's files or a long run), not a test: it is
deselected, so that a run's skip count only ever means a test that could not run.
"""

from __future__ import annotations

import doctest


def _only_illustrations(item) -> bool:
    test = getattr(item, "dtest", None)
    return test is not None and bool(test.examples) and all(
        ex.options.get(doctest.SKIP, False) for ex in test.examples)


def pytest_collection_modifyitems(config, items):
    dropped = [item for item in items if _only_illustrations(item)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if not _only_illustrations(item)]
