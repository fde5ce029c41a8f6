"""Shared browser-test fixtures: a live ``streamlit run app.py`` server and a Chromium page.

Other page tests reuse them::

    @pytest.mark.browser
    def test_my_page(streamlit_server: str, page) -> None:
        page.goto(f"{streamlit_server}/My_Page")

The server runs headless on a free port with its own NASVIZ_HOME (and NASVIZ_DATA passed through),
is polled on ``/_stcore/health`` and is stopped at the end of the session. Tests skip with a reason
when Playwright or Chromium is missing.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("NASVIZ_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SERVER_START_TIMEOUT_S = 90
#: default Playwright timeout for page interactions (ms); Streamlit reruns on a busy 2-core machine can be slow
PAGE_TIMEOUT_MS = 45_000


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in tests/browser is a browser test."""
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(url: str, process: subprocess.Popen, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with status {process.returncode} before becoming healthy")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"streamlit did not answer {url}/_stcore/health within {timeout_s:.0f} s")


def stop(process: subprocess.Popen) -> None:
    """Stop the server we started (its own process group) and reap it."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def streamlit_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of a headless ``streamlit run app.py`` serving the project (stopped after the session)."""
    home = tmp_path_factory.mktemp("browser_nasviz_home")
    log_path = home / "streamlit.log"
    port = free_port()
    env = {**os.environ, "NASVIZ_HOME": str(home), "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT),
                                                                                               os.environ.get("PYTHONPATH")]))}
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
               "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false",
               "--server.fileWatcherType", "none", "--server.runOnSave", "false"]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process, SERVER_START_TIMEOUT_S)
    except RuntimeError as exc:
        stop(process)
        pytest.fail(f"{exc}\n--- streamlit log ---\n{log_path.read_text(errors='replace')[-4000:]}")
    try:
        yield url
    finally:
        stop(process)


@pytest.fixture(scope="session")
def chromium_browser() -> Iterator[object]:
    """A headless Chromium driven by Playwright (skips when Playwright or Chromium is missing)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install playwright)")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium, or set NASVIZ_CHROMIUM)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(chromium_browser: object) -> Iterator[object]:
    """A fresh Chromium page (own context) with generous timeouts."""
    context = chromium_browser.new_context(viewport={"width": 1400, "height": 1000})  # type: ignore[attr-defined]
    page = context.new_page()
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    try:
        yield page
    finally:
        context.close()
