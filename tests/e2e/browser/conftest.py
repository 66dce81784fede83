"""A real headless Chromium (Debian's, driven by Playwright) for the pages the web app serves."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kuanxin.core.settings import PROJECT_ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps calling Google's hosts, which this network refuses.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS = PROJECT_ROOT / "var" / "test-output" / "screenshots"
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 800}}


@pytest.fixture(scope="session")
def chromium():
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing: `make browser` installs it")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def new_context(chromium):
    """Opens fresh browser contexts (separate cookies and storage, like separate browsers); closes them after."""
    contexts = []

    def open_context(**options):
        context = chromium.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", **(options or DESKTOP))
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context
    yield open_context
    for context in contexts:
        context.close()


@pytest.fixture
def screenshot():
    """Saves a page's screenshot as test output under var/test-output/screenshots/."""
    def save(page, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=False)
        return path
    return save
