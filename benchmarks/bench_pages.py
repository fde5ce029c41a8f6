"""Every page's speed in real Chromium against the issue's targets: first paint <= 3 s, each interaction <= 1 s
after first paint (median of 5), map PDF/SVG export <= 3 s and PNG <= 5 s for 15,625 points.

    NASVIZ_DATA=../shared/data python benchmarks/bench_pages.py [--repeats 5] [--out benchmarks/results/pages.json]

1. First paint of every page (Home, Cell Explorer, Latent Space, Neighbour Walk, Search, NAT) on a fresh
   NASVIZ_HOME, as a new user sees it (the embedded NB201 table, the shipped models): the first visit after the
   server started (cold) and ``--repeats`` fresh visits (median). A page counts as painted when its content is on
   screen (the map's points, the cell drawing, the NAT editor...) and its script run has ended.
2. The interactions, by the page benchmarks this script runs and merges: ``bench_latent_pages.py`` (recolour,
   click and box select, walk start, map export) and ``bench_explorer_pages.py`` (paste a cell, browse an index,
   NAT drop and undo, Search constraint toggle).
Report the figures on a quiet machine (the load average is recorded).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from page_timing import chromium_page, streamlit_server, summary, wait_idle

PAGES = {"Home": "", "Cell Explorer": "Cell_Explorer", "Latent Space": "Latent_Space",
         "Neighbour Walk": "Neighbour_Walk", "Search": "Search", "NAT": "NAT"}
_PLOT_DRAWN = """() => [...document.querySelectorAll('[data-testid="stPlotlyChart"] .js-plotly-plot')]
    .some(gd => gd._fullData && gd._fullData.some(t => (t.x && t.x.length) || (t.z && t.z.length)))"""
#: what must be on screen for a page to count as painted (beyond its title and an idle script)
PAINTED: dict[str, str] = {
    "": "() => document.querySelectorAll('[data-testid=\"stDataFrame\"]').length > 0",
    "Cell_Explorer": "() => !!document.querySelector('[data-testid=\"stMain\"] svg, [data-testid=\"stMain\"] img')",
    "Latent_Space": _PLOT_DRAWN,
    "Neighbour_Walk": _PLOT_DRAWN,
    "Search": "() => [...document.querySelectorAll('h3')].some(h => h.innerText.includes('New search'))",
}
#: painted conditions that need Playwright's locators (they see into the NAT editor's shadow root)
PAINTED_LOCATORS: dict[str, str] = {"NAT": "[data-testid='stBidiComponentIsolated'] svg"}
_EXCEPTIONS = "() => document.querySelectorAll('[data-testid=\"stException\"]').length"


def first_paint(page: Any, url: str, path: str) -> float:
    started = time.monotonic()
    page.goto(f"{url}/{path}")
    page.locator("h1").first.wait_for()
    painted, locator = PAINTED.get(path), PAINTED_LOCATORS.get(path)

    def done() -> bool:
        if locator:
            return page.locator(locator).count() > 0
        return bool(page.evaluate(painted)) if painted else True

    elapsed = wait_idle(page, started, done)
    if page.evaluate(_EXCEPTIONS):
        raise RuntimeError(f"page {path or 'Home'} shows a traceback")
    return elapsed


def run(repeats: int) -> dict[str, Any]:
    results: dict[str, Any] = {"machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                                           "load_before": os.getloadavg()}, "first_paint": {}}
    with tempfile.TemporaryDirectory() as tmp, streamlit_server(Path(tmp)) as url, chromium_page() as page:
        for name, path in PAGES.items():
            cold = first_paint(page, url, path)
            warm = [first_paint(page, url, path) for _ in range(repeats)]
            results["first_paint"][name] = {"cold_s": round(cold, 3), **summary(warm)}
            print(f"first paint {name:15s} cold {cold:5.2f} s, warm median {summary(warm)['median_s']:5.2f} s", flush=True)
    results["machine"]["load_after"] = os.getloadavg()
    return results


def page_benchmarks(repeats: int) -> dict[str, Any]:
    """Run the two interaction benchmarks (each with its own server) and collect their JSON results."""
    out: dict[str, Any] = {}
    for script in ("bench_latent_pages.py", "bench_explorer_pages.py"):
        with tempfile.TemporaryDirectory() as tmp:
            target = Path(tmp) / "result.json"
            command = [sys.executable, str(Path(__file__).with_name(script)), "--repeats", str(repeats), "--out", str(target)]
            done = subprocess.run(command, cwd=Path(__file__).resolve().parents[1], text=True, capture_output=True)
            print(done.stdout.rstrip(), flush=True)
            out[script] = {"exit_code": done.returncode,
                           "result": json.loads(target.read_text()) if target.exists() else None,
                           "stderr_tail": done.stderr[-2000:] if done.returncode else ""}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "pages.json")
    parser.add_argument("--first-paint-only", action="store_true", help="skip the interaction benchmarks")
    args = parser.parse_args()
    results = run(args.repeats)
    if not args.first_paint_only:
        results["interactions"] = page_benchmarks(args.repeats)
        results["machine"]["load_after"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
