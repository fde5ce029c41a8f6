"""End-to-end throughput of ``nasviz cells describe`` on an NB101 JSONL file (process start included).

    python benchmarks/bench_cells_describe_cli.py --cells 10000

Cells are random 7-vertex specs as users paste them (unpruned; some invalid, which the command
describes with ``valid: false``). Target: 10,000 NB101 cells in under a minute. Exits 1 when slower.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OPS = ("conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3")


def random_lines(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    lines = []
    for _ in range(n):
        matrix = np.triu(rng.integers(0, 2, size=(7, 7)), k=1)
        ops = ["input", *(OPS[i] for i in rng.integers(0, 3, size=5)), "output"]
        lines.append(json.dumps({"matrix": matrix.tolist(), "ops": ops}))
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-seconds", type=float, default=60.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cells.jsonl"
        path.write_text("\n".join(random_lines(args.cells, args.seed)) + "\n")
        start = time.perf_counter()
        result = subprocess.run([sys.executable, "-m", "nasviz.cli.main", "cells", "describe", "--space", "nb101",
                                 "--input", str(path)], cwd=ROOT, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - start
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    valid = sum(row["valid"] for row in rows)
    rate = len(rows) / seconds * 60
    print(json.dumps({"cells": args.cells, "described": len(rows), "valid": valid, "exit_code": result.returncode,
                      "seconds": round(seconds, 2), "cells_per_minute": round(rate)}))
    return 0 if len(rows) == args.cells and seconds <= args.max_seconds else 1


if __name__ == "__main__":
    sys.exit(main())
