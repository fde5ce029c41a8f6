"""Evaluator timings and how well the default live-training proxy ranks NB201 cells.

    nice -n 10 python benchmarks/bench_evaluators.py --cells 200 --workers 2 --out bench_evaluators.json

Measures, on this machine:
- live training (default budget, scikit-learn digits) of NB201 cells: seconds per cell (median wall time
  and CPU time of the single-threaded worker; target <= 3 s on 2 cores) and the Spearman correlation of the
  live validation accuracy with the NB201 CIFAR-10 200-epoch test accuracy (``c10_test_200ep`` of
  $NASVIZ_DATA/nasbench201/nb201_merged.csv) over ``--cells`` distinct random cells; also the correlations of
  the proxy's validation loss and summed training loss, and of the parameter count, for context;
- latency evaluation: seconds per cell (median over ``--latency-cells``; target <= 1 s).
Cells are drawn with ``--seed``; the results cache is bypassed. The summary is rewritten after every chunk
of ``--chunk`` cells, so an interrupted run still leaves the figures so far. Exits 1 when a time target
is missed.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import spearmanr

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nasviz.evaluators import EvalResult, LatencyEvaluator, cpu_model, make_evaluator  # noqa: E402
from nasviz.spaces import get_space  # noqa: E402
from nasviz.spaces.nb201 import cell_from_index  # noqa: E402


def nb201_csv() -> Path:
    env = os.environ.get("NASVIZ_DATA")
    base = Path(env) if env else ROOT.parent / "shared" / "data"
    path = base / "nasbench201" / "nb201_merged.csv"
    if not path.exists():
        sys.exit(f"error: {path} not found; set NASVIZ_DATA to the shared data folder")
    return path


def spearman(a: list[float], b: list[float]) -> float:
    return float(spearmanr(a, b).statistic) if len(a) > 2 else float("nan")


def live_summary(results: list[EvalResult], truth: dict[int, float], params: dict[str, int], wall: float,
                 spec: str, workers: int, total: int) -> dict[str, Any]:
    ok = [r for r in results if r.ok]
    target = [truth[int(r.cell_id)] for r in ok]
    seconds = [r.seconds for r in results]
    cpu = [r.provenance["cpu_seconds"] for r in ok]
    return {
        "evaluator": spec, "cells_planned": total, "cells_done": len(results), "evaluated": len(ok), "workers": workers,
        "seconds_per_cell_median": statistics.median(seconds),
        "cpu_seconds_per_cell_median": statistics.median(cpu),
        "seconds_per_cell_p90": float(np.percentile(seconds, 90)),
        "wall_seconds": wall,
        "val_accuracy_range": [min(r.value for r in ok), max(r.value for r in ok)],
        "spearman_val_accuracy_vs_c10_test_200ep": spearman([r.value for r in ok], target),
        "spearman_neg_val_loss_vs_c10_test_200ep": spearman([-r.provenance["val_loss"] for r in ok], target),
        "spearman_neg_train_loss_sum_vs_c10_test_200ep": spearman([-r.provenance["train_loss_sum"] for r in ok], target),
        "spearman_params_vs_c10_test_200ep_same_cells": spearman([params[r.cell_id] for r in ok], target),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=200)
    parser.add_argument("--latency-cells", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--chunk", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0, help="seed of the cell sample")
    parser.add_argument("--evaluator", default="live:nb201", help="live evaluator spec (default budget)")
    parser.add_argument("--out", type=Path, help="write the summary JSON here (after every chunk)")
    args = parser.parse_args()

    with open(nb201_csv(), newline="") as fh:
        truth = {int(row["index"]): float(row["c10_test_200ep"]) for row in csv.DictReader(fh)}
    indices = np.random.default_rng(args.seed).choice(len(truth), size=args.cells, replace=False)
    cells = [cell_from_index(int(i)) for i in indices]
    space = get_space("nb201")
    params = {space.cell_id(c): space.cost(c, "cifar10").params for c in cells}
    summary: dict[str, Any] = {"machine": {"cpu": cpu_model(), "cores": os.cpu_count()},
                               "targets": {"live_seconds_per_cell": 3.0, "latency_seconds_per_cell": 1.0}}

    def write() -> str:
        summary["machine"]["load_avg_1m"] = os.getloadavg()[0]
        text = json.dumps(summary, indent=2)
        if args.out:
            args.out.write_text(text + "\n")
        return text

    latency = LatencyEvaluator("nb201", max_workers=0, use_cache=False)
    lat_results = latency.evaluate(cells[: args.latency_cells])
    summary["latency"] = {
        "evaluator": latency.spec_string(), "cells": len(lat_results),
        "seconds_per_cell_median": statistics.median(r.seconds for r in lat_results),
        "latency_ms_median": statistics.median(r.value for r in lat_results),
        "latency_ms_range": [min(r.value for r in lat_results), max(r.value for r in lat_results)],
    }
    write()

    live = make_evaluator(args.evaluator, max_workers=args.workers, use_cache=False)
    results: list[EvalResult] = []
    start = time.perf_counter()
    try:
        for begin in range(0, len(cells), args.chunk):
            results += live.evaluate(cells[begin:begin + args.chunk])
            summary["live"] = live_summary(results, truth, params, time.perf_counter() - start, live.spec_string(),
                                           args.workers, len(cells))
            write()
            print(f"live {len(results)}/{len(cells)}: rho={summary['live']['spearman_val_accuracy_vs_c10_test_200ep']:.3f} "
                  f"({time.perf_counter() - start:.0f} s)", file=sys.stderr, flush=True)
    finally:
        live.close()
    print(write())
    missed = (summary["live"]["seconds_per_cell_median"] > 3.0 or summary["latency"]["seconds_per_cell_median"] > 1.0)
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
