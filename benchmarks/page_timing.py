"""Timing Streamlit pages in real Chromium: a headless server on 127.0.0.1 and "idle" detection.

An interaction's time runs from the action until the app is idle again: Streamlit's status widget
("Running...") has not been seen for ``settle_s`` and the page's own ``done`` condition holds. The settle
window itself is not counted (the time is taken at the last moment the widget was seen, or when ``done``
first held, whichever is later).
"""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("NASVIZ_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
_RUNNING_JS = "() => !!document.querySelector('[data-testid=\"stStatusWidget\"]')"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def streamlit_server(home: Path, env_extra: dict[str, str] | None = None) -> Iterator[str]:
    """``streamlit run app.py`` on a free loopback port with its own NASVIZ_HOME; stopped (its process group) on exit."""
    port = free_port()
    env = {**os.environ, "NASVIZ_HOME": str(home), **(env_extra or {})}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.address",
               "127.0.0.1", "--server.port", str(port), "--server.fileWatcherType", "none"]
    log = open(home / "streamlit.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not start; see {home / 'streamlit.log'}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                    break
            except OSError:
                time.sleep(0.3)
        yield url
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        log.close()


@contextmanager
def chromium_page(width: int = 1400, height: int = 1000) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True)
            page = context.new_page()
            page.set_default_timeout(120_000)
            yield page
        finally:
            browser.close()


def wait_idle(page: Any, started: float, done: Callable[[], bool] | None = None, settle_s: float = 0.5,
              timeout_s: float = 120.0) -> float:
    """Seconds from ``started`` (time.monotonic) until the app is idle and ``done()`` holds."""
    last_running = started
    done_at: float | None = None
    quiet_since = time.monotonic()
    while True:
        now = time.monotonic()
        if now - started > timeout_s:
            raise TimeoutError(f"the page was not idle within {timeout_s:.0f} s")
        if page.evaluate(_RUNNING_JS):
            last_running = now
            quiet_since = now
            done_at = None
        elif done_at is None and (done is None or done()):
            done_at = now
        if done_at is not None and now - quiet_since >= settle_s:
            return max(last_running, done_at) - started
        page.wait_for_timeout(25)


def summary(times: list[float]) -> dict[str, float]:
    return {"median_s": round(statistics.median(times), 3), "min_s": round(min(times), 3),
            "max_s": round(max(times), 3), "n": len(times)}
