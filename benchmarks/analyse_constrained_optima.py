"""Where the hardware-constrained optima of NB201 CIFAR-10 / Pixel 3 sit, and how much of them is measurement noise.

Issue 6 asks for the constrained optimum (the best search-signal value among cells with latency <= L) in half the
seeds of 192-query searches at L = 2, 4, 6 and 8 ms. This script reads the benchmark table only (no search) and
reports, for each limit:

- the optimum cell, its signal and measured latency, and the runner-up;
- its *network*: the cells that compute the same function (:func:`nasviz.spaces.nb201.canonical_equivalent`), how
  many of them measure under L, and their latency spread;
- its *executed twins*: the cells that run the same ops after dead-code elimination
  (:meth:`nasviz.search.moves.SpaceMoves.executed_cell`), the typical (median) latency of those, and the share of
  them under L: when the optimum's latency is far below its twins' median, only a lucky measurement put it under L;
- per number of live 3x3 convolutions: latency percentiles and how many cells measure under each L.

    NASVIZ_DATA=../shared/data python benchmarks/analyse_constrained_optima.py
"""

from __future__ import annotations

import collections
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))
OUT = ROOT / "results" / "constrained_optima.md"
LIMITS = (2.0, 4.0, 6.0, 8.0)


def pooled_sd(groups: list[np.ndarray]) -> float:
    """Standard deviation of values around their own group's mean, pooled over groups of 2 or more."""
    squares = sum(float(((g - g.mean()) ** 2).sum()) for g in groups)
    dof = sum(len(g) - 1 for g in groups)
    return math.sqrt(squares / dof) if dof else float("nan")


def main() -> int:
    os.environ.setdefault("NASVIZ_HOME", "/tmp/nasviz_bench_home")
    from bench_search import setup_home

    setup_home()
    from nasviz.search import TableObjective
    from nasviz.search.moves import moves_for
    from nasviz.spaces import nb201

    objective = TableObjective("nb201", "cifar10", device="pixel3")
    protocol = objective.protocol
    table = objective.table
    signal = np.asarray(table.values(protocol.signal), dtype=float)
    latency = np.asarray(table.values(protocol.latency), dtype=float)
    usable = ~(np.isnan(signal) | np.isnan(latency))
    moves = moves_for("nb201")
    cells = [nb201.cell_from_index(int(cid)) for cid in table.cell_ids]
    network = [nb201.canonical_equivalent(cell).ops for cell in cells]
    executed = [moves.executed_cell(cell).ops for cell in cells]
    by_network: dict[tuple, list[int]] = collections.defaultdict(list)
    by_executed: dict[tuple, list[int]] = collections.defaultdict(list)
    for row in np.flatnonzero(usable).tolist():
        by_network[network[row]].append(row)
        by_executed[executed[row]].append(row)

    lines = ["# Constrained optima of NB201 CIFAR-10 on Pixel 3", "",
             f"Signal `{protocol.signal}`, latency `{protocol.latency}` (HW-NAS-Bench); {int(usable.sum())} cells. "
             f"Command: `NASVIZ_DATA=../shared/data python benchmarks/analyse_constrained_optima.py` "
             f"({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}).", "",
             "*Network*: the cells computing the same function. *Executed twins*: the cells running the same ops after "
             "dead-code elimination (nasviz's rule: ops whose result cannot reach the output are dropped). Their "
             "latencies should differ by measurement only; part of the spread is the exported networks keeping some "
             "dead ops that the rule drops (e.g. a dead node fed by one op and one `none` edge).", "",
             "| L (ms) | feasible cells | optimum: signal @ latency | runner-up signal | network: cells / under L / "
             "latency range | executed twins: cells / median latency / share under L |",
             "|---|---|---|---|---|---|"]
    gaps: list[tuple[float, float]] = []
    for limit in LIMITS:
        feasible = usable & (latency <= limit)
        order = np.argsort(-np.where(feasible, signal, -np.inf), kind="stable")
        best, runner_up = int(order[0]), int(order[1])
        gaps.append((limit, float(signal[best] - signal[runner_up])))
        twins = by_network[network[best]]
        executed_twins = by_executed[executed[best]]
        lines.append(
            f"| {limit:g} | {int(feasible.sum())} ({feasible.sum() / usable.sum():.1%}) | "
            f"{signal[best]:.3f} @ {latency[best]:.3f} ms (cell {table.cell_ids[best]}) | {signal[runner_up]:.3f} | "
            f"{len(twins)} / {int((latency[twins] <= limit).sum())} / {latency[twins].min():.2f}-"
            f"{latency[twins].max():.2f} ms | {len(executed_twins)} / {np.median(latency[executed_twins]):.2f} ms / "
            f"{(latency[executed_twins] <= limit).mean():.0%} |")

    signal_sd = pooled_sd([signal[rows] for rows in by_network.values() if len(rows) > 1])
    twin_latency = [latency[rows] for rows in by_executed.values() if len(rows) > 1]
    latency_sd = pooled_sd(twin_latency)
    latency_mad = float(np.median(np.abs(np.concatenate([lat - np.median(lat) for lat in twin_latency]))))
    lines += ["", "Measurement noise, from the cells that share a network or executed ops:", "",
              f"- search signal: pooled standard deviation within networks **{signal_sd:.3f}** accuracy points "
              f"({sum(len(r) > 1 for r in by_network.values())} networks with 2 or more cells);",
              f"- latency: pooled standard deviation within executed twins **{latency_sd:.2f} ms**, median absolute "
              f"deviation from the twins' median {latency_mad:.2f} ms (heavy-tailed: most twins agree closely, a few "
              f"are measured several ms apart).", "",
              "Gap between the optimum and the runner-up, against the signal noise: "
              + "; ".join(f"L={limit:g}: {gap:.3f}" for limit, gap in gaps) + "."]

    live = [nb201.edges_reaching_output(cell) for cell in cells]
    convs = np.array([sum(op == "nor_conv_3x3" and on for op, on in zip(cell.ops, flags, strict=True))
                      for cell, flags in zip(cells, live, strict=True)])
    lines += ["", "Latency by the number of 3x3 convolutions that reach the output:", "",
              "| live 3x3 convs | cells | latency p5 / p50 (ms) | "
              + " | ".join(f"under {limit:g} ms (best signal)" for limit in LIMITS) + " |",
              "|---|---|---|" + "---|" * len(LIMITS)]
    for count in range(4):
        rows = usable & (convs == count)
        cols = []
        for limit in LIMITS:
            under = rows & (latency <= limit)
            cols.append(f"{int(under.sum())} ({signal[under].max():.2f})" if under.any() else "0")
        lines.append(f"| {count} | {int(rows.sum())} | {np.percentile(latency[rows], 5):.2f} / "
                     f"{np.median(latency[rows]):.2f} | " + " | ".join(cols) + " |")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"\nwrote {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
