"""Cell Explorer, NAT and Search pages in real Chromium: first paint and interactions (median of N).

    python benchmarks/bench_explorer_pages.py [--root DIR] [--port 8671] [--repeats 5] [--out results.json]

Starts ``streamlit run app.py`` from ``--root`` (default: this checkout; point it at another checkout to compare
before/after) headless on 127.0.0.1:PORT with its own temporary NASVIZ_HOME (the NB201 table imported when
NASVIZ_DATA holds ``nasbench201/nb201_merged.csv``), waits on ``/_stcore/health``, drives /usr/bin/chromium with
Playwright and stops exactly the server process group it started. Measured, in seconds:

- first paint of each page: from ``goto`` to the page's main element (drawing, editor, form) being visible;
- Cell Explorer paste: fill the text area with a new cell and submit, until its drawing shows that cell;
- Cell Explorer index: type a new index, until the canonical form shows it;
- NAT drop: drag a chip onto an edge, until the Params metric changes; NAT undo: until it changes back;
- Search: switch the constraint to latency, until the device box shows (needs the imported table).

Each interaction is timed ``--repeats`` times after the first paint and the median is reported against the target
(1 s; first paint 3 s). Exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from page_timing import start_server, stop_server  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("NASVIZ_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
TARGET_FIRST_PAINT_S = 3.0
TARGET_INTERACTION_S = 1.0
NB201_CELLS = ["|nor_conv_3x3~0|+|skip_connect~0|none~1|+|avg_pool_3x3~0|nor_conv_1x1~1|nor_conv_3x3~2|",
               "|nor_conv_1x1~0|+|nor_conv_3x3~0|skip_connect~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|",
               "|avg_pool_3x3~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"]


def import_table(home: Path) -> bool:
    data = os.environ.get("NASVIZ_DATA")
    csv_path = Path(data) / "nasbench201" / "nb201_merged.csv" if data else None
    if not csv_path or not csv_path.exists():
        return False
    subprocess.run([sys.executable, "-m", "nasviz.cli.main", "data", "import", "nb201-merged", str(csv_path)],
                   cwd=ROOT, env={**os.environ, "NASVIZ_HOME": str(home), "PYTHONPATH": str(ROOT)}, check=True,
                   capture_output=True)
    return True


def idle(page) -> None:  # noqa: ANN001
    """Wait until Streamlit reports no script running (the status widget's running indicator is gone)."""
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"] "
                           "[data-testid=\"stStatusWidgetRunningIcon\"]')", timeout=60_000)
    page.wait_for_timeout(50)


def timed(action: Callable[[], None]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def params_text(page) -> str:  # noqa: ANN001
    metric = page.locator("[data-testid='stMetric']").filter(has_text="Params")
    return metric.locator("[data-testid='stMetricValue']").inner_text()


def bench(base: str, repeats: int, with_table: bool) -> dict[str, dict[str, object]]:
    from playwright.sync_api import expect, sync_playwright

    results: dict[str, dict[str, object]] = {}

    def record(name: str, values: list[float], target: float) -> None:
        median = statistics.median(values)
        results[name] = {"median_s": round(median, 3), "all_s": [round(v, 3) for v in values], "target_s": target,
                         "ok": median <= target}
        print(f"{name:34s} median {median:6.3f} s  (target {target:.1f} s)  {[round(v, 2) for v in values]}")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(f"{base}/Cell_Explorer")  # warm-up: the server imports the page's modules once
        page.locator(".nasviz-cell-drawing svg").first.wait_for()
        idle(page)

        # ---- Cell Explorer ------------------------------------------------------------------------------
        paints = []
        for _ in range(repeats):
            paints.append(timed(lambda: (page.goto(f"{base}/Cell_Explorer"),
                                         page.locator(".nasviz-cell-drawing svg").first.wait_for())))
            idle(page)
        record("cell explorer: first paint", paints, TARGET_FIRST_PAINT_S)
        times = []
        for i in range(repeats):
            index = 100 + 37 * i
            box = page.get_by_role("spinbutton", name="Index")
            times.append(timed(lambda box=box, index=index: (
                box.fill(str(index)), box.press("Enter"),
                expect(page.locator("[data-testid='stJson']").first).to_contain_text(f'"{index}"'))))
            idle(page)
        record("cell explorer: browse index", times, TARGET_INTERACTION_S)
        page.get_by_text("Paste or upload", exact=True).click()
        page.get_by_label("Paste a cell").wait_for()
        idle(page)
        times = []
        for i in range(repeats):
            arch = NB201_CELLS[i % len(NB201_CELLS)] if i else NB201_CELLS[0]
            cell = f'{{"index": {5000 + i}}}' if i % 2 else arch
            box = page.get_by_label("Paste a cell")

            def paste(box=box, cell=cell, i=i) -> None:  # noqa: ANN001
                box.fill(cell)
                box.press("Control+Enter")
                if cell.startswith("{"):
                    expect(page.locator("[data-testid='stJson']").first).to_contain_text(f'"{5000 + i}"')
                else:
                    page.wait_for_function(
                        "arch => [...document.querySelectorAll('[data-testid=\"stJson\"]')]"
                        ".some(e => e.innerText.includes(arch))", arg=cell)
            times.append(timed(paste))
            idle(page)
        record("cell explorer: paste a cell", times, TARGET_INTERACTION_S)

        # ---- NAT ------------------------------------------------------------------------------------------
        paints = []
        for _ in range(repeats):
            paints.append(timed(lambda: (page.goto(f"{base}/NAT"), page.get_by_test_id("nat-editor").wait_for())))
            idle(page)
        record("nat: first paint", paints, TARGET_FIRST_PAINT_S)
        drops, undos = [], []
        for _ in range(repeats):
            before = params_text(page)
            edge = page.get_by_test_id("nat-editor").locator("[data-op='conv_3x3']").first

            def drop(edge=edge, before=before) -> None:  # noqa: ANN001
                page.get_by_test_id("nat-chip-skip").drag_to(edge)
                page.wait_for_function(
                    "before => { const m = [...document.querySelectorAll(\"[data-testid='stMetric']\")]"
                    ".find(e => e.innerText.includes('Params')); return m && !m.innerText.includes(before); }",
                    arg=before)
            drops.append(timed(drop))
            idle(page)

            def undo(before=before) -> None:  # noqa: ANN001
                page.get_by_role("button", name="Undo").click()
                expect(page.locator("[data-testid='stMetric']").filter(has_text="Params")).to_contain_text(before)
            undos.append(timed(undo))
            idle(page)
        record("nat: drop a chip on an edge", drops, TARGET_INTERACTION_S)
        record("nat: undo", undos, TARGET_INTERACTION_S)

        # ---- Search ---------------------------------------------------------------------------------------
        paints = []
        heading = "New search" if with_table else "Search"
        for _ in range(repeats):
            paints.append(timed(lambda: (page.goto(f"{base}/Search"),
                                         page.get_by_role("heading", name=heading, exact=True).wait_for())))
            idle(page)
        record("search: first paint", paints, TARGET_FIRST_PAINT_S)
        if with_table:
            times = []
            for _ in range(repeats):
                def latency_on() -> None:
                    page.get_by_text("latency", exact=True).click()
                    page.get_by_text("L (ms)").wait_for()
                times.append(timed(latency_on))
                idle(page)
                page.get_by_text("none", exact=True).first.click()
                page.get_by_text("L (ms)").wait_for(state="detached")
                idle(page)
            record("search: latency constraint on", times, TARGET_INTERACTION_S)
        browser.close()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="checkout whose app.py is served")
    parser.add_argument("--port", type=int, default=8671)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, help="write the figures as JSON here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="nasviz_bench_pages_") as tmp:
        home = Path(tmp)
        with_table = import_table(home)
        process, _ = start_server(home, port=args.port, root=args.root.resolve())
        try:
            results = bench(f"http://127.0.0.1:{args.port}", args.repeats, with_table)
        finally:
            stop_server(process)
    report = {"root": str(args.root.resolve()), "nb201_table": with_table, "load": os.getloadavg(),
              "cpus": os.cpu_count(), "results": results}
    if args.out:
        args.out.write_text(json.dumps(report, indent=1))
    return 0 if all(r["ok"] for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
