"""Page speed in real Chromium (issue targets: first paint <= 3 s, each interaction <= 1 s after first paint,
median of 5; map PDF/SVG export <= 3 s and PNG <= 5 s for 15,625 points).

    python benchmarks/bench_pages.py [--repeats 5] [--out benchmarks/results/pages.json]

Starts ``streamlit run app.py`` on 127.0.0.1 with a fresh NASVIZ_HOME (the embedded NB201 table, the shipped
models), then times, for every page, the first paint of a cold server visit and of ``--repeats`` fresh tabs, and
the interactions listed in INTERACTIONS. Report the figures on a quiet machine (``uptime`` is recorded).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from page_timing import chromium_page, streamlit_server, summary, timed, wait_idle

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
    "NAT": "() => !!document.querySelector('[data-testid=\"stBidiComponentIsolated\"] svg')",
}
_EXCEPTIONS = "() => document.querySelectorAll('[data-testid=\"stException\"]').length"


def first_paint(page: Any, url: str, path: str) -> float:
    started = time.monotonic()
    page.goto(f"{url}/{path}")
    page.locator("h1").first.wait_for()
    painted = PAINTED.get(path)
    elapsed = wait_idle(page, started, lambda: page.evaluate(painted) if painted else True)
    if page.evaluate(_EXCEPTIONS):
        raise RuntimeError(f"page {path or 'Home'} shows a traceback")
    return elapsed


def open_page(page: Any, url: str, path: str) -> None:
    first_paint(page, url, path)


# ---- interactions: (page path, name, setup(page), action(page, i), done(page) or None) ----------------------

def _select_option(page: Any, label: str, option: str) -> None:
    box = page.get_by_label(label, exact=True).first
    box.click()
    page.get_by_role("option", name=option, exact=True).first.click()


def _latent_recolour(page: Any, i: int) -> None:
    options = ["accuracy/cifar10/test/200ep", "params/cifar10"]
    box = page.locator(".st-key-latent_color_key input, [data-testid='stSelectbox']:has-text('Colour by') input").first
    box.click()
    page.keyboard.type(options[i % 2].split("/")[0])
    page.keyboard.press("Enter")


INTERACTIONS: list[tuple[str, str, Callable[[Any, int], None], Callable[[Any], bool] | None]] = []


def register(path: str, name: str, done: Callable[[Any], bool] | None = None):
    def wrap(action: Callable[[Any, int], None]) -> Callable[[Any, int], None]:
        INTERACTIONS.append((path, name, action, done))
        return action
    return wrap


def run(repeats: int) -> dict[str, Any]:
    results: dict[str, Any] = {"machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                                           "load_before": os.getloadavg()}, "first_paint": {}, "interactions": {}}
    with tempfile.TemporaryDirectory() as tmp, streamlit_server(Path(tmp)) as url, chromium_page() as page:
        for name, path in PAGES.items():
            cold = first_paint(page, url, path)
            warm = [first_paint(page, url, path) for _ in range(repeats)]
            results["first_paint"][name] = {"cold_s": round(cold, 3), **summary(warm)}
            print(f"first paint {name:15s} cold {cold:5.2f} s, warm median {summary(warm)['median_s']:5.2f} s", flush=True)
        for path, name, action, done in INTERACTIONS:
            open_page(page, url, path)
            times = [timed(page, lambda a=action, i=i: a(page, i), (lambda d=done: d(page)) if done else None)
                     for i in range(repeats)]
            results["interactions"][name] = summary(times)
            print(f"interaction {name:40s} median {summary(times)['median_s']:5.2f} s", flush=True)
    results["machine"]["load_after"] = os.getloadavg()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "pages.json")
    args = parser.parse_args()
    results = run(args.repeats)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
