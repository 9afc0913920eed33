"""Shared fixtures: the demo company (built once per session), temp params, the headless browser; a temporary
fit cache folder for the whole session."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

# The fit cache of the whole session (each pytest-xdist worker its own; notebook kernels and Voilà inherit it):
# a fresh temporary folder, never the user's ~/.cache/cashsim. Set at import, before any test can fit.
os.environ["CASHSIM_CACHE_DIR"] = tempfile.mkdtemp(prefix="cashsim-test-cache-")
atexit.register(shutil.rmtree, os.environ["CASHSIM_CACHE_DIR"], True)

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
IBM_FILE = SHARED_DATA / "ibm-late-payment" / "WA_Fn-UseC_-Accounts-Receivable.csv"
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def demo():
    """The embedded demo company (ledger + true behaviour), generated once per test session."""
    from cashsim.demo import demo_company

    return demo_company()


@pytest.fixture(scope="session")
def ibm_file() -> Path:
    """The real public IBM sample beside the repo (tests using it are marked ``shared_data``)."""
    return IBM_FILE


def pytest_collection_modifyitems(config, items):
    """Tests marked ``shared_data`` need ../shared/data (the public samples), which a user's clone does not have.

    Without it they are deselected (not skipped: a user's ``make test`` runs every test it collects), and the
    session says so; CI sets CASHSIM_REQUIRE_SHARED_DATA=1, where a missing sample fails those tests instead.
    """
    if SHARED_DATA.exists() or os.environ.get("CASHSIM_REQUIRE_SHARED_DATA") == "1":
        return
    kept = [item for item in items if item.get_closest_marker("shared_data") is None]
    dropped = [item for item in items if item.get_closest_marker("shared_data") is not None]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def chromium_path() -> str:
    """Path of Debian's chromium; skip (or fail on CI, where CASHSIM_REQUIRE_BROWSER=1) when it is missing."""
    path = shutil.which("chromium") or (CHROMIUM if Path(CHROMIUM).exists() else None)
    if path is None:
        message = ("browser tests need Debian's chromium: run `sudo apt-get update && sudo apt-get install -y "
                   "chromium` to enable them")
        if os.environ.get("CASHSIM_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def browser():
    """A headless Chromium driven by Playwright, with networking to the outside switched off."""
    exe = chromium_path()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=exe,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        yield b
        b.close()
