"""Shared fixtures: the demo company (built once per session), temp params, and the headless browser."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

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
    if not IBM_FILE.exists():
        pytest.skip(f"the public IBM sample is not beside the repo at {IBM_FILE}")
    return IBM_FILE


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
