"""How many NB101 cells a minute ``describe`` handles: parse JSON text, validity, pruning, hash, cost.

Cells are fresh random 7-vertex specs (unpruned, as users paste them), generated without touching
nasviz's caches; the caches are cleared before timing so every cell is hashed and costed once.

    python benchmarks/bench_nb101_describe.py --cells 20000 --processes 2

Target (issue): at least 10,000 cells a minute on 2 cores. Exits 1 when below ``--min-rate``.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing


def random_specs(n: int, seed: int) -> list[str]:
    """``n`` JSON cells: random upper-triangular 7x7 matrices and random interior ops (valid or not)."""
    from nasviz.spaces.nb101 import INPUT, OPS, OUTPUT

    rng = np.random.default_rng(seed)
    iu = np.triu_indices(7, 1)
    texts = []
    for _ in range(n):
        matrix = np.zeros((7, 7), dtype=int)
        matrix[iu] = rng.random(len(iu[0])) < 0.3
        ops = [INPUT, *(OPS[i] for i in rng.integers(0, 3, size=5)), OUTPUT]
        texts.append(json.dumps({"matrix": matrix.tolist(), "ops": ops}))
    return texts


def describe_all(texts: list[str]) -> tuple[int, int]:
    """Describe every text with cold caches; returns (number described, number valid)."""
    from nasviz.spaces import get_space, nb101

    nb101.analyse.cache_clear()
    nb101.network_cost.cache_clear()
    space = get_space("nb101")
    valid = 0
    for text in texts:
        valid += bool(space.describe(space.parse_text(text))["valid"])
    return len(texts), valid


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=20_000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--min-rate", type=float, default=10_000.0, help="cells a minute required")
    args = parser.parse_args()

    texts = random_specs(args.cells, args.seed)
    chunks = [texts[i::args.processes] for i in range(args.processes)]
    start = time.perf_counter()
    if args.processes == 1:
        results = [describe_all(texts)]
    else:
        with ProcessPoolExecutor(args.processes) as pool:
            results = list(pool.map(describe_all, chunks))
    seconds = time.perf_counter() - start
    described = sum(r[0] for r in results)
    valid = sum(r[1] for r in results)
    rate = described / seconds * 60
    print(json.dumps({"benchmark": "nb101_describe", "cells": described, "valid": valid, "processes": args.processes,
                      "seed": args.seed, "seconds": round(seconds, 3), "cells_per_minute": round(rate),
                      "target_per_minute": args.min_rate, "python": platform.python_version()}))
    return 0 if rate >= args.min_rate else 1


if __name__ == "__main__":
    sys.exit(main())
