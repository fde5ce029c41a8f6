"""A new user's first hour, offline: ``bash scripts/setup.sh run`` on an empty NASVIZ_HOME without NASVIZ_DATA,
then a latency-constrained NB201 search started from the Search page in Chromium, waited on until it finishes.

Run by tests/browser/test_first_run_offline.py inside a network namespace with only the loopback device
(``unshare -n``), so any download attempt fails. Prints one JSON line with what it saw; exits non-zero on failure.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import CHROMIUM, CHROMIUM_ARGS, PROJECT_ROOT, free_port, stop, wait_healthy  # noqa: E402

WAIT_MS = 120_000


def run_search(url: str, budget: int, max_latency: float) -> dict:
    from playwright.sync_api import expect, sync_playwright

    seen: dict = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(WAIT_MS)
        page.goto(f"{url}/Search")
        page.get_by_role("heading", name="New search").wait_for()
        page.get_by_text("latency", exact=True).first.click()
        limit = page.get_by_role("spinbutton", name="L (ms)")
        limit.wait_for()
        limit.fill(f"{max_latency:.3f}")
        limit.press("Enter")
        expect(limit).to_have_value(f"{max_latency:.3f}")
        field = page.get_by_role("spinbutton", name="Budget (queries)")
        field.fill(str(budget))
        field.press("Enter")
        expect(field).to_have_value(str(budget))
        page.locator(".st-key-search_start button").click()
        page.get_by_role("heading", name="Last run").wait_for()
        page.wait_for_timeout(1500)
        seen["queries_text"] = page.get_by_text(f"{budget} / {budget}").first.inner_text()
        seen["finished"] = page.get_by_text("finished", exact=True).count() > 0
        seen["tracebacks"] = page.locator("[data-testid='stException']").count()
        seen["body"] = page.locator("section.main, [data-testid='stMain']").first.inner_text()[:4000]
        browser.close()
    return seen


def main() -> int:
    budget = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    max_latency = float(sys.argv[2]) if len(sys.argv) > 2 else 4.0
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if k != "NASVIZ_DATA"}
    command = ["bash", "scripts/setup.sh", "run", "--server.headless", "true", "--server.address", "127.0.0.1",
               "--server.port", str(port), "--server.fileWatcherType", "none"]
    log_path = Path(env["NASVIZ_HOME"]) / "setup-run.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    started = time.monotonic()
    try:
        wait_healthy(url, process, 180)
        seen = {"server_start_s": round(time.monotonic() - started, 1)}
        seen.update(run_search(url, budget, max_latency))
        seen["total_s"] = round(time.monotonic() - started, 1)
    except Exception as exc:  # noqa: BLE001 - reported to the test as JSON
        tail = log_path.read_text(errors="replace")[-3000:]
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}", "log": tail}))
        return 1
    finally:
        stop(process)
    print(json.dumps(seen))
    return 0


if __name__ == "__main__":
    sys.exit(main())
