"""Fixtures shared by the report tests: one headless Chromium per test module."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium (the project installs it), launched offline-minded: no background
    networking, no component updates. A missing chromium fails the test; it does not skip."""
    from playwright import sync_api  # the test extra installs it

    exe = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"
    if not Path(exe).exists():
        pytest.fail(
            "Debian chromium is missing: run `bash scripts/ensure-chromium.sh` (make test does)."
        )
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=exe,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
            ],
        )
        yield b
        b.close()
