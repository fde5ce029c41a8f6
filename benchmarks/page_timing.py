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


def start_server(home: Path, port: int | None = None, root: Path = PROJECT_ROOT,
                 env_extra: dict[str, str] | None = None, timeout_s: float = 120) -> tuple[subprocess.Popen, str]:
    """``streamlit run app.py`` from ``root`` on a loopback port with its own NASVIZ_HOME, once healthy: (process, url)."""
    port = port or free_port()
    env = {**os.environ, "NASVIZ_HOME": str(home), **(env_extra or {})}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.address",
               "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false",
               "--server.fileWatcherType", "none", "--server.runOnSave", "false"]
    with open(home / "streamlit.log", "wb") as log:
        process = subprocess.Popen(command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    while True:
        if process.poll() is not None or time.monotonic() > deadline:
            stop_server(process)
            raise SystemExit(f"streamlit did not become healthy on {url}; see {home / 'streamlit.log'}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                return process, url
        except OSError:
            time.sleep(0.3)


def stop_server(process: subprocess.Popen) -> None:
    """Stop the server we started (its own process group), and only it."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@contextmanager
def streamlit_server(home: Path, env_extra: dict[str, str] | None = None) -> Iterator[str]:
    """:func:`start_server` as a context: yields the URL, stops the server on exit."""
    process, url = start_server(home, env_extra=env_extra)
    try:
        yield url
    finally:
        stop_server(process)


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


def prepare_nb201_home(home: Path, data: Path | None, columns: dict[str, dict]) -> str:
    """Store in ``home`` an NB201 table of the ``nb201_merged.csv`` columns named by ``columns`` (CSV column ->
    MetricSpec fields), so a benchmark colours by a fixed, small set of metrics; a note on what was used."""
    import csv

    os.environ["NASVIZ_HOME"] = str(home)
    csv_path = data / "nasbench201" / "nb201_merged.csv" if data else None
    if not csv_path or not csv_path.exists():
        return "no NASVIZ_DATA: coloured by exact params from the cost model"
    sys.path.insert(0, str(PROJECT_ROOT))
    from nasviz.data import MetricSpec, build_table, save_table

    with open(csv_path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    specs = {column: MetricSpec(**fields) for column, fields in columns.items()}
    save_table(build_table("nb201", cell_ids=[r["index"] for r in rows], metrics=list(specs.values()),
                           columns={s.key: [float(r[c]) for r in rows] for c, s in specs.items()}))
    return f"benchmark table from {csv_path} ({len(specs)} metrics)"
