"""Benchmark of nasviz.data: NB201 table load time and whole-table queries.

Targets: load the NB201 table (15,625 cells, ~37 metrics) from disk in <= 0.5 s; query all 15,625
cells (lookups, optimum, constrained optimum, Pareto front) in <= 0.2 s.

    NASVIZ_DATA=../shared/data python benchmarks/bench_data.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing


def _best_of(repeat: int, func) -> float:  # noqa: ANN001
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    repeat = args.repeat
    source = Path(os.environ.get("NASVIZ_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
    csv_path = source / "nasbench201" / "nb201_merged.csv"
    if not csv_path.exists():
        print(f"skipped: {csv_path} not found (set NASVIZ_DATA)")
        return 0
    home = tempfile.mkdtemp(prefix="nasviz_bench_")
    os.environ["NASVIZ_HOME"] = home
    try:
        return _run(csv_path, repeat)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _run(csv_path: Path, repeat: int) -> int:

    from nasviz.data import (
        clear_cache,
        constrained_optimum,
        find_metric,
        import_benchmark,
        load_table,
        optimum,
        pareto_front,
        table_path,
    )
    from nasviz.spaces import get_space

    start = time.perf_counter()
    import_benchmark("nb201-merged", csv_path)
    import_s = time.perf_counter() - start
    size = table_path("nb201").stat().st_size

    def cold_load() -> None:
        clear_cache()
        load_table("nb201")

    cold = _best_of(repeat, cold_load)
    warm = _best_of(repeat, lambda: load_table("nb201"))
    table = load_table("nb201")
    key = find_metric(table, "accuracy", "cifar10", "test", 200).key
    latency = "latency/pixel3/cifar10"
    ids = list(table.cell_ids)
    table.lookup(ids[0], key)  # builds the row index once

    def lookups() -> None:
        for cid in ids:
            table.lookup(cid, key)

    results = {
        "lookup 15,625 ids one by one": _best_of(repeat, lookups),
        "lookup_many 15,625 ids": _best_of(repeat, lambda: table.lookup_many(ids, key)),
        "optimum": _best_of(repeat, lambda: optimum(table, key)),
        "constrained optimum (pixel3 <= 5 ms)": _best_of(repeat, lambda: constrained_optimum(table, key, latency, 5.0)),
        "Pareto front (acc vs pixel3)": _best_of(repeat, lambda: pareto_front(table, key, latency)),
    }
    space = get_space("nb201")
    cells = space.enumerate()
    results["parse+id+lookup of all 15,625 cells"] = _best_of(
        max(1, repeat // 2), lambda: table.lookup_many([space.cell_id(c) for c in cells], key))

    best = optimum(table, key)
    print(f"NB201 table: {len(table):,} cells x {len(table.keys)} metrics, {size / 1e6:.2f} MB on disk "
          f"(import of nb201_merged.csv: {import_s:.2f} s)")
    print(f"load from disk (cold, cache cleared): best {cold[0] * 1000:.1f} ms, median {cold[1] * 1000:.1f} ms "
          f"[target <= 500 ms]")
    print(f"load (in-process cache):              best {warm[0] * 1e6:.1f} us")
    for name, (fast, median) in results.items():
        print(f"{name:<40} best {fast * 1000:8.2f} ms, median {median * 1000:8.2f} ms [target <= 200 ms]")
    print(f"optimum {key} = {best.value:.2f} at cell {best.cell_id}")
    ok = cold[0] <= 0.5 and all(v[0] <= 0.2 for k, v in results.items() if not k.startswith("parse"))
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
