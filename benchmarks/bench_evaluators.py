"""Evaluator timings and how well the default live-training proxy ranks NB201 cells.

    nice -n 10 python benchmarks/bench_evaluators.py --cells 200 --workers 2 --out bench_evaluators.json

Measures, on this machine:
- live training (default budget, scikit-learn digits) of NB201 cells: seconds per cell (median; target <= 3 s
  on 2 cores, one thread per worker) and the Spearman correlation of the live validation accuracy with the
  NB201 CIFAR-10 200-epoch test accuracy (``c10_test_200ep`` of $NASVIZ_DATA/nasbench201/nb201_merged.csv)
  over ``--cells`` distinct random cells; also the correlations of the proxy's validation loss and summed
  training loss, and of the parameter count, for context;
- latency evaluation: seconds per cell (median over ``--latency-cells``; target <= 1 s).
Cells are drawn with ``--seed``; the results cache is bypassed. Exits 1 when a time target is missed.
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

import numpy as np
from scipy.stats import spearmanr

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nasviz.evaluators import LatencyEvaluator, cpu_model, make_evaluator  # noqa: E402
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
    return float(spearmanr(a, b).statistic)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=200)
    parser.add_argument("--latency-cells", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0, help="seed of the cell sample")
    parser.add_argument("--evaluator", default="live:nb201", help="live evaluator spec (default budget)")
    parser.add_argument("--out", type=Path, help="write the summary JSON here")
    args = parser.parse_args()

    with open(nb201_csv(), newline="") as fh:
        truth = {int(row["index"]): float(row["c10_test_200ep"]) for row in csv.DictReader(fh)}
    indices = np.random.default_rng(args.seed).choice(len(truth), size=args.cells, replace=False)
    cells = [cell_from_index(int(i)) for i in indices]
    space = get_space("nb201")

    live = make_evaluator(args.evaluator, max_workers=args.workers, use_cache=False)
    done_at = [time.perf_counter()]

    def progress(done: int, total: int, message: str) -> None:
        if done and (done % 20 == 0 or done == total):
            print(f"  live {done}/{total} ({time.perf_counter() - done_at[0]:.0f} s)", file=sys.stderr, flush=True)

    start = time.perf_counter()
    results = live.evaluate(cells, progress=progress)
    wall = time.perf_counter() - start
    live.close()
    ok = [(r, truth[int(r.cell_id)]) for r in results if r.ok]
    accuracy = [r.value for r, _ in ok]
    target = [t for _, t in ok]
    seconds = [r.seconds for r in results]
    params = [space.cost(c, "cifar10").params for c in cells]

    latency = LatencyEvaluator("nb201", max_workers=0, use_cache=False)
    lat_results = latency.evaluate(cells[: args.latency_cells])

    summary = {
        "machine": {"cpu": cpu_model(), "cores": os.cpu_count(), "load_avg_1m_at_end": os.getloadavg()[0]},
        "live": {
            "evaluator": live.spec_string(),
            "cells": len(cells), "evaluated": len(ok), "workers": args.workers,
            "seconds_per_cell_median": statistics.median(seconds),
            "seconds_per_cell_p90": float(np.percentile(seconds, 90)),
            "seconds_first10_median": statistics.median(seconds[:10]),
            "wall_seconds": wall,
            "val_accuracy_range": [min(accuracy), max(accuracy)],
            "spearman_val_accuracy_vs_c10_test_200ep": spearman(accuracy, target),
            "spearman_neg_val_loss_vs_c10_test_200ep": spearman([-r.provenance["val_loss"] for r, _ in ok], target),
            "spearman_neg_train_loss_sum_vs_c10_test_200ep": spearman([-r.provenance["train_loss_sum"] for r, _ in ok],
                                                                      target),
            "spearman_params_vs_c10_test_200ep (context)": spearman(params, [truth[int(i)] for i in indices]),
        },
        "latency": {
            "evaluator": latency.spec_string(), "cells": len(lat_results),
            "seconds_per_cell_median": statistics.median(r.seconds for r in lat_results),
            "latency_ms_median": statistics.median(r.value for r in lat_results),
            "latency_ms_range": [min(r.value for r in lat_results), max(r.value for r in lat_results)],
        },
        "targets": {"live_seconds_per_cell": 3.0, "latency_seconds_per_cell": 1.0},
    }
    text = json.dumps(summary, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    missed = (summary["live"]["seconds_per_cell_median"] > 3.0 or summary["latency"]["seconds_per_cell_median"] > 1.0)
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
