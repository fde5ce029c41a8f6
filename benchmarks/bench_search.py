"""Search benchmark on NB201 CIFAR-10 (arch2vec protocol) and hardware-constrained search on Pixel 3.

Part A: every strategy, N seeds, 192 queries; search signal = CIFAR-10 validation accuracy after 12
epochs, reported = 200-epoch test accuracy of the best cell by signal; mean +- std at 96/100/192.
Part B: latency limit L on Pixel 3 (HW-NAS-Bench CIFAR-10 latencies), 192 queries, 10 seeds,
strategies vs Optuna TPE (c-TPE): mean reported accuracy of the best feasible cell, feasibility
ratio, seeds that reach the exact constrained optimum (by signal), Joint=0 and Joint=1.

Results of every (part, setting, strategy, seed) are cached in a JSON file as they finish, so the
script can be stopped and re-run; the markdown report is written from whatever is cached.

    NASVIZ_DATA=../shared/data nice -n 10 python benchmarks/bench_search.py --part a --seeds 20
    python benchmarks/bench_search.py --report-only
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))  # run from a checkout without installing
OUT_DIR = ROOT / "results"
#: cache file of the running process (one per process: parts and --tag keep concurrent runs apart)
CACHE_PATHS: dict[str, Path] = {}


def cache_path(part: str, tag: str = "") -> Path:
    return OUT_DIR / f"search_nb201_runs_{part}{'_' + tag if tag else ''}.json"
REPORT = OUT_DIR / "search_nb201.md"
STRATEGIES_A = ["random", "re", "ls", "tpe", "arch2vec-bo", "arch2vec-rl", "gp-bo", "agnet", "agnet-8"]
STRATEGIES_B = [("tpe", 0), ("re", 0), ("re", 1), ("ls", 0), ("arch2vec-bo", 0), ("gp-bo", 0), ("agnet", 0),
                ("agnet", 1), ("random", 0)]
LIMITS = [2.0, 4.0, 6.0, 8.0]
#: part B's device (``--device``; the issue's targets are for Pixel 3, other devices check that settings transfer)
DEVICE = "pixel3"
DEVICE_LABELS = {"pixel3": "Pixel 3", "raspi4": "Raspberry Pi 4"}
CHECKPOINTS = [96, 100, 192]

#: published numbers (CIFAR-10 200-epoch test accuracy; mean over runs)
PAPER_A = {
    "arch2vec paper, Table 3 (500 runs, 12,000 s budget, ~100 queries)": {
        "RS": 93.75, "RE": 93.84, "REINFORCE": 93.82, "BOHB": 93.61, "arch2vec-RL": 94.12, "arch2vec-BO": 94.18},
    "AG-Net paper, Table 2 (10 runs)": {
        "arch2vec-BO @100": 94.18, "AG-Net @96": 94.24, "AG-Net @192": 94.37, "BANANAS @192": 94.30, "BO @192": 94.22,
        "RS @192": 93.89, "XGB @192": 94.34},
}
PAPER_B_NOTE = ("AG-Net Table 5 reports Pixel 3 on ImageNet16-120 with HW-NAS-Bench ImageNet16 latencies (e.g. L=2: "
                "AG-Net Joint=0 mean 40.9 / feas. 0.48, random 38.8 / 0.30); the shared data only holds the CIFAR-10 "
                "Pixel 3 latencies, so part B runs on CIFAR-10 and its numbers are not comparable to Table 5.")


def setup_home() -> None:
    """A dedicated NASVIZ_HOME with the NB201 table imported from NASVIZ_DATA (once)."""
    home = Path(os.environ.setdefault("NASVIZ_HOME", str(Path("/tmp") / "nasviz_bench_home")))
    home.mkdir(parents=True, exist_ok=True)
    from nasviz.data import has_table, import_benchmark

    if not has_table("nb201"):
        data = Path(os.environ.get("NASVIZ_DATA", ROOT.parent.parent / "shared" / "data"))
        import_benchmark("nb201-merged", data / "nasbench201" / "nb201_merged.csv")


def load_cache(part: str | None = None, tag: str = "") -> dict:
    """Cached results: of one part and tag (this process's file), or of every file when ``part`` is None."""
    if part is not None:
        path = cache_path(part, tag)
        return json.loads(path.read_text()) if path.exists() else {}
    out: dict = {}
    for path in sorted(OUT_DIR.glob("search_nb201_runs_*.json")):
        out.update(json.loads(path.read_text()))
    return out


def save_cache(cache: dict, part: str) -> None:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    path = CACHE_PATHS.get(part, cache_path(part))
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({k: v for k, v in cache.items() if k.startswith(part.upper() + "|")}, indent=0))
    os.replace(tmp, path)


def parse_spec(spec: str) -> tuple[str, dict]:
    """``name`` or ``name+key=value+key=value`` (a strategy with settings; values JSON when they parse)."""
    name, *pairs = spec.split("+")
    settings = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        try:
            settings[key] = json.loads(value)
        except json.JSONDecodeError:
            settings[key] = value
    return name, settings


def strategies_a(cache: dict) -> list[str]:
    """STRATEGIES_A plus any strategy spec found in the cached part-A runs (e.g. with settings)."""
    found = {k.split("|")[1] for k in cache if k.startswith("A|")}
    return STRATEGIES_A + sorted(found - set(STRATEGIES_A))


def strategies_b(cache: dict) -> list[tuple[str, int]]:
    """STRATEGIES_B plus any strategy spec found in the cached part-B runs (e.g. with settings)."""
    found = {(k.split("|")[2], int(k.split("|")[3])) for k in cache if k.startswith("B|")}
    return STRATEGIES_B + sorted(found - set(STRATEGIES_B))


def run_one(algo: str, seed: int, objective, device: str | None = None, limit: float | None = None,
            joint: int = 0) -> dict:
    from nasviz.search import RunStore, SearchConfig, SearchRunner

    name, settings = parse_spec(algo)
    config = SearchConfig(space="nb201", dataset="cifar10", algo=name, budget=192, seed=seed, device=device,
                          max_latency=limit, joint=joint, settings=settings)
    start = time.process_time()
    runner = SearchRunner(config, objective=objective, store=RunStore())
    result = runner.run()
    summary = result.summary
    key = result.protocol["reported"][0]
    out = {"cpu_s": round(time.process_time() - start, 2), "run_id": result.run_id,
           "at": {q: (None if summary["at"].get(str(q)) is None else summary["at"][str(q)]["reported"][key])
                  for q in CHECKPOINTS},
           "signal_at": {q: (None if summary["at"].get(str(q)) is None else summary["at"][str(q)]["signal"])
                         for q in CHECKPOINTS}}
    if device:
        out["feasibility_ratio"] = summary["feasibility_ratio"]
        out["reached_signal_optimum"] = bool(summary.get("reached_signal_optimum"))
        out["latency"] = (summary.get("best") or {}).get("latency")
    return out


def part_a(seeds: int, strategies: list[str], cache: dict, skip: dict | None = None, seed_start: int = 0) -> None:
    from nasviz.search import TableObjective

    objective = TableObjective("nb201", "cifar10")
    for algo in strategies:
        for seed in range(seed_start, seeds):
            key = f"A|{algo}|{seed}"
            if key in cache or key in (skip or {}) or key in load_cache():  # also what other processes finished
                continue
            cache[key] = run_one(algo, seed, objective)
            save_cache(cache, "a")
            print(f"{key}: {cache[key]['at']} ({cache[key]['cpu_s']} s CPU)", flush=True)


def part_b(seeds: int, strategies: list[tuple[str, int]], limits: list[float], cache: dict,
           skip: dict | None = None, seed_start: int = 0) -> None:
    from nasviz.search import TableObjective

    objective = TableObjective("nb201", "cifar10", device=DEVICE)
    for limit in limits:
        for algo, joint in strategies:
            for seed in range(seed_start, seed_start + seeds):
                key = f"B|{limit:g}|{algo}|{joint}|{seed}"
                if key in cache or key in (skip or {}):
                    continue
                cache[key] = run_one(algo, seed, objective, DEVICE, limit, joint)
                save_cache(cache, "b")
                print(f"{key}: {cache[key]['at'][192]} feas {cache[key]['feasibility_ratio']:.2f}", flush=True)


def _stats(values: list[float | None]) -> tuple[float, float, int]:
    arr = np.array([v for v in values if v is not None], dtype=float)
    return (float(arr.mean()), float(arr.std()), len(arr)) if len(arr) else (math.nan, math.nan, 0)


def reference_b(limits: list[float]) -> dict:
    from nasviz.search import Constraint, TableObjective

    objective = TableObjective("nb201", "cifar10", device=DEVICE)
    out = {}
    for limit in limits:
        ref = objective.reference(Constraint(DEVICE, limit, 0))
        c = ref["constrained_optimum"]
        out[limit] = {"signal_opt_test": c["reported_of_signal_optimum"][objective.protocol.reported[0]],
                      "test_opt": c[f"reported:{objective.protocol.reported[0]}"]["value"],
                      "feasible_fraction": ref["feasible_fraction"], "front": len(ref["pareto_front"]["points"]),
                      "top_signals": c["top_signals"]}
    return out


def rank_cell(runs: list[dict], top_signals: list[float]) -> str:
    """Part B: seeds whose best feasible cell is among the 3 best feasible signals (ties share a rank), and the
    median rank (rank past the reference's list: counted as one more than its length)."""
    from nasviz.search.summary import rank_text, signal_rank

    ranks = []
    for r in runs:
        value = r["signal_at"].get("192", r["signal_at"].get(192))
        rank = None if value is None else signal_rank(value, top_signals)
        ranks.append(len(top_signals) + 1 if rank is None else rank)
    median = float(np.median(ranks))
    return f"{sum(rank <= 3 for rank in ranks)}/{len(runs)} (median {rank_text(median, len(top_signals))})"


def target_lines_a(cache: dict, min_seeds: int = 20) -> list[str]:
    """Whether the part-A target holds: the best strategy (other than TPE, with >= ``min_seeds`` seeds)
    at 100 and at 192 queries against TPE's mean in the same table."""
    means: dict[str, dict[int, float]] = {}
    for algo in strategies_a(cache):
        runs = [v for k, v in cache.items() if k.startswith(f"A|{algo}|")]
        if len(runs) >= min_seeds:
            means[algo] = {q: _stats([r["at"].get(str(q), r["at"].get(q)) for r in runs])[0] for q in (100, 192)}
    if "tpe" not in means:
        return [f"Target check: TPE has fewer than {min_seeds} seeds."]
    out = []
    for q, goal in ((100, 94.30), (192, 94.36)):
        others = {a: m[q] for a, m in means.items() if a != "tpe"}
        if not others:
            return [f"Target check: no strategy besides TPE has {min_seeds} seeds."]
        best = max(others, key=others.get)
        met = others[best] >= goal and others[best] > means["tpe"][q]
        out.append(f"- @{q}: best nasviz strategy {best} {others[best]:.3f} (goal >= {goal:.2f}), TPE {means['tpe'][q]:.3f}: "
                   f"{'met' if met else 'NOT met'}")
    both = [a for a, m in means.items() if a != "tpe" and m[100] >= 94.30 and m[192] >= 94.36
            and m[100] > means["tpe"][100] and m[192] > means["tpe"][192]]
    out.append(f"- one strategy meeting both: {', '.join(both) if both else 'none'}")
    return ["Target check (strategies with >= 20 seeds):", "", *out]


def limits_b(cache: dict) -> list[float]:
    """The limits of the cached part-B runs (the issue's four when none are cached)."""
    found = sorted({float(k.split("|")[1]) for k in cache if k.startswith("B|")})
    return found or LIMITS


def target_lines_b(cache: dict) -> list[str]:
    """Per strategy/Joint with runs at every limit: beats c-TPE on mean accuracy and on feasibility at every L,
    and reaches the constrained optimum in >= half of the seeds on average over the limits (the issue's Pixel 3
    target; on other devices the same check over the limits run)."""
    limits = LIMITS if DEVICE == "pixel3" else limits_b(cache)

    def runs_of(limit: float, algo: str, joint: int) -> list[dict]:
        return [v for k, v in cache.items() if k.startswith(f"B|{limit:g}|{algo}|{joint}|")]

    out = []
    for algo, joint in strategies_b(cache):
        if algo == "tpe" or not all(runs_of(limit, algo, joint) and runs_of(limit, "tpe", 0) for limit in limits):
            continue
        wins, reached = [], []
        for limit in limits:
            mine, tpe = runs_of(limit, algo, joint), runs_of(limit, "tpe", 0)
            acc = _stats([r["at"].get("192", r["at"].get(192)) for r in mine])[0]
            acc_tpe = _stats([r["at"].get("192", r["at"].get(192)) for r in tpe])[0]
            feas = float(np.mean([r["feasibility_ratio"] for r in mine]))
            feas_tpe = float(np.mean([r["feasibility_ratio"] for r in tpe]))
            wins.append(acc > acc_tpe and feas > feas_tpe)
            reached.append(np.mean([r["reached_signal_optimum"] for r in mine]))
        share = float(np.mean(reached))
        ok = all(wins) and share >= 0.5
        out.append(f"- {algo} Joint={joint}: beats c-TPE on accuracy and feasibility at "
                   f"{sum(wins)}/{len(limits)} limits; constrained optimum in {share:.0%} of the seeds on average: "
                   f"{'met' if ok else 'NOT met'}")
    return ["Target check (for every L: higher mean accuracy and feasibility than c-TPE; optimum in >= 50% of seeds):",
            "", *out] if out else []


def report(cache: dict) -> str:
    """The markdown report; another device than Pixel 3 only checks part-B settings, so its report has no part A."""
    command = "bench_search.py" if DEVICE == "pixel3" else f"bench_search.py --part b --device {DEVICE}"
    lines = ["# Search benchmark: NB201 CIFAR-10", "",
             "Protocol (arch2vec): search signal = CIFAR-10 validation accuracy after 12 epochs "
             "(`accuracy/cifar10/valid/12ep`), reported = 200-epoch test accuracy (`accuracy/cifar10/test/200ep`) "
             "of the best cell by signal; every query is a new cell. Exact optimum 94.37 (the best cell by signal, "
             "index 13714, also has 94.37).", "",
             f"Command: `NASVIZ_DATA=../shared/data nice -n 10 python benchmarks/{command}` (machine: 2 shared "
             f"CPU cores). Generated {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.", ""]
    if DEVICE == "pixel3":
        lines += report_a(cache)
    lines += [f"## B. Hardware-constrained ({DEVICE_LABELS.get(DEVICE, DEVICE)} latency <= L ms, CIFAR-10, 192 queries)",
              "", *([PAPER_B_NOTE, ""] if DEVICE == "pixel3" else [])]
    return "\n".join(lines + report_b(cache)) + "\n"


def report_a(cache: dict) -> list[str]:
    """Part A of the report: unconstrained search, beside the papers' numbers and the issue's targets."""
    lines = ["## A. Unconstrained, 200-epoch test accuracy (mean +- std over seeds)", "",
             "`agnet` is AG-Net's algorithm 1 (rounds of 16 proposals, 15 retraining epochs per round); `agnet-8` is the "
             "same loop with rounds of 8 and 8 epochs (the model is updated twice as often for about the same CPU). "
             "`gp-bo`: Matern + linear GP on the one-hot encoding, EI over every unvisited cell.", "",
             "| strategy | seeds | @96 | @100 | @192 | mean CPU s/run |", "|---|---|---|---|---|---|"]
    for algo in strategies_a(cache):
        runs = [v for k, v in cache.items() if k.startswith(f"A|{algo}|")]
        if not runs:
            lines.append(f"| {algo} | 0 | not run | | | |")
            continue
        cells = []
        for q in CHECKPOINTS:
            m, s, _ = _stats([r["at"][str(q)] if str(q) in r["at"] else r["at"].get(q) for r in runs])
            cells.append(f"{m:.2f} +- {s:.2f}")
        cpu = np.mean([r["cpu_s"] for r in runs])
        lines.append(f"| {algo} | {len(runs)} | {' | '.join(cells)} | {cpu:.1f} |")
    lines += ["", "Published (CIFAR-10 test, mean):", ""]
    for source, values in PAPER_A.items():
        lines.append(f"- {source}: " + ", ".join(f"{k} {v:.2f}" for k, v in values.items()))
    lines += ["", "Targets from the issue: best nasviz strategy >= 94.30 at 100 and >= 94.36 at 192 queries, ahead of TPE.",
              "", *target_lines_a(cache), ""]
    return lines


def report_b(cache: dict) -> list[str]:
    """Part B of the report: the constrained runs at each cached limit against the table's exact reference."""
    lines: list[str] = []
    limits = limits_b(cache)
    refs = reference_b(limits)
    lines += ["Rank of a run's best feasible cell: 1 + the number of feasible cells with a strictly better search signal "
              "(tied cells share a rank; 1 is the constrained optimum). How close the optima sit to measurement noise: "
              "`benchmarks/analyse_constrained_optima.py` (`results/constrained_optima.md`).", ""]
    lines += ["| L (ms) | strategy | Joint | seeds | mean test acc. of best feasible | feasibility ratio "
              "| seeds at constrained optimum (by signal) | seeds in the top 3 by signal (median rank) |",
              "|---|---|---|---|---|---|---|---|"]
    for limit in limits:
        ref = refs[limit]
        for algo, joint in strategies_b(cache):
            runs = [v for k, v in cache.items() if k.startswith(f"B|{limit:g}|{algo}|{joint}|")]
            if not runs:
                continue
            m, s, n_ok = _stats([r["at"].get("192", r["at"].get(192)) for r in runs])
            feas = np.mean([r["feasibility_ratio"] for r in runs])
            reached = sum(r["reached_signal_optimum"] for r in runs)
            label = "c-TPE (Optuna)" if algo == "tpe" else algo
            lines.append(f"| {limit:g} | {label} | {joint} | {len(runs)} | {m:.2f} +- {s:.2f} ({n_ok} with a feasible cell) "
                         f"| {feas:.3f} | {reached}/{len(runs)} | {rank_cell(runs, ref['top_signals'])} |")
        lines.append(f"| {limit:g} | *exact (table)* | | | signal-optimal feasible cell: {ref['signal_opt_test']:.2f}; "
                     f"best feasible: {ref['test_opt']:.2f} | {ref['feasible_fraction']:.3f} of all cells | "
                     f"Pareto front: {ref['front']} cells | |")
    lines += ["", *target_lines_b(cache)]
    return lines


def main() -> int:
    global OUT_DIR, REPORT, DEVICE
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["a", "b", "both"], default="both")
    parser.add_argument("--seeds", type=int, default=20, help="seeds for part A (part B uses --seeds-b)")
    parser.add_argument("--seed-start", type=int, default=0, help="first part-A seed (to split seeds over processes)")
    parser.add_argument("--seeds-b", type=int, default=10)
    parser.add_argument("--seed-start-b", type=int, default=0, help="first part-B seed (held-out seeds: 10)")
    parser.add_argument("--strategies", default=",".join(STRATEGIES_A), help="part A strategies (comma-separated)")
    parser.add_argument("--device", default=DEVICE, help="part B device (latencies in the NB201 table)")
    parser.add_argument("--limits", default=",".join(f"{v:g}" for v in LIMITS))
    parser.add_argument("--b-strategies", default=",".join(f"{a}:{j}" for a, j in STRATEGIES_B))
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--tag", default="", help="cache-file suffix, to run several processes side by side")
    parser.add_argument("--out-dir", type=Path, default=None,
                        help="folder of the caches and the report (default benchmarks/results), e.g. for a set of "
                             "held-out seeds reported on its own")
    args = parser.parse_args()
    if args.out_dir is not None:
        OUT_DIR, REPORT = args.out_dir, args.out_dir / "search_nb201.md"
    if args.device != DEVICE and args.out_dir is None:
        parser.error("--device other than pixel3 needs its own --out-dir (the caches do not record the device)")
    DEVICE = args.device
    import torch

    torch.set_num_threads(1)
    setup_home()
    if not args.report_only:
        CACHE_PATHS.update({p: cache_path(p, args.tag) for p in ("a", "b")})
        done = load_cache()  # skip what any process already finished
        if args.part in ("a", "both"):
            cache = load_cache("a", args.tag)
            part_a(args.seeds, [s for s in args.strategies.split(",") if s], cache, skip=done,
                   seed_start=args.seed_start)
        if args.part in ("b", "both"):
            strategies = [(s.split(":")[0], int(s.split(":")[1])) for s in args.b_strategies.split(",") if s]
            part_b(args.seeds_b, strategies, [float(v) for v in args.limits.split(",")], load_cache("b", args.tag),
                   skip=done, seed_start=args.seed_start_b)
    REPORT.write_text(report(load_cache()))
    print(REPORT.read_text())
    return 0


if __name__ == "__main__":
    from nasviz.errors import NasvizError

    try:
        sys.exit(main())
    except NasvizError as exc:  # bad input (e.g. a device without latencies): the message, not a traceback
        sys.exit(f"error: {exc}")
