"""Several seeds of one search configuration, and their mean +- std (CLI, benchmarks, the page)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from nasviz.errors import ConfigError
from nasviz.progress import ProgressCallback, no_progress
from nasviz.search.objective import TOP_SIGNALS, Objective
from nasviz.search.runner import RunResult, SearchConfig, SearchRunner
from nasviz.search.store import RunStore
from nasviz.search.summary import aggregate


def prepare_runs(config: SearchConfig, seeds: Sequence[int], *, store: RunStore | None = None,
                 objective: Objective | None = None) -> list[SearchRunner]:
    """One validated runner per seed (every check happens here, before anything runs)."""
    if not seeds:
        raise ConfigError("no seeds to run")
    store = store or RunStore()
    first = SearchRunner(dataclasses.replace(config, seed=int(seeds[0]), settings=dict(config.settings)), store=store,
                         objective=objective)
    runners = [first]
    for seed in seeds[1:]:  # the objective (table, reference optima) is shared by the seeds
        runners.append(SearchRunner(dataclasses.replace(config, seed=int(seed), settings=dict(config.settings)),
                                    store=store, objective=first.objective))
    return runners


def run_prepared(runners: Sequence[SearchRunner], *, progress: ProgressCallback | None = None,
                 on_run: Callable[[RunResult], None] | None = None) -> list[RunResult]:
    """Run prepared runners one after the other with one overall progress callback."""
    progress = progress or no_progress
    total = sum(int(r.config.budget) for r in runners)
    results, offset = [], 0
    for runner in runners:
        def seed_progress(done: int, _total: int, message: str = "", offset: int = offset,
                          seed: int = runner.config.seed) -> None:
            progress(offset + done, total, f"seed {seed} {message}".strip())

        runner.progress = seed_progress
        result = runner.run()
        offset += int(runner.config.budget)
        results.append(result)
        if on_run is not None:
            on_run(result)
    return results


def run_seeds(config: SearchConfig, seeds: Sequence[int], *, store: RunStore | None = None,
              objective: Objective | None = None, progress: ProgressCallback | None = None,
              on_run: Callable[[RunResult], None] | None = None) -> list[RunResult]:
    """Run ``config`` once per seed. Every run is validated before the first one starts."""
    runners = prepare_runs(config, list(seeds), store=store, objective=objective)
    return run_prepared(runners, progress=progress, on_run=on_run)


def seeds_report(results: Sequence[RunResult], checkpoints: Sequence[int] | None = None) -> dict[str, Any]:
    """Per-seed best results and mean/std of each reported metric at the checkpoints."""
    if not results:
        return {"runs": []}
    protocol = results[0].protocol
    budget = int(results[0].config["budget"])
    checkpoints = sorted({c for c in (checkpoints or (96, 100, 192)) if c <= budget} | {budget})
    constrained = results[0].config.get("device") is not None
    runs = []
    for r in results:
        best = r.summary.get("best") or {}
        entry = {"run_id": r.run_id, "seed": r.config["seed"], "status": r.status, "queries": r.summary.get("queries"),
                 "best_cell": best.get("cell"), "best_signal": best.get("signal"), "reported": best.get("reported"),
                 "latency": best.get("latency"), "signal_rank": r.summary.get("signal_rank"),
                 "signal_regret": r.summary.get("signal_regret")}
        if constrained:
            entry["feasibility_ratio"] = r.summary.get("feasibility_ratio")
            entry["reached_signal_optimum"] = r.summary.get("reached_signal_optimum")
            entry["reached_reported_optimum"] = r.summary.get("reached_reported_optimum")
        runs.append(entry)
    out: dict[str, Any] = {"protocol": protocol, "config": {k: v for k, v in results[0].config.items() if k != "seed"},
                           "seeds": [r.config["seed"] for r in results], "runs": runs,
                           "mean": {key: aggregate([r.summary for r in results], key, checkpoints)
                                    for key in protocol["reported"]}}
    if constrained:
        ratios = [r.summary.get("feasibility_ratio") for r in results]
        out["feasibility_ratio_mean"] = sum(ratios) / len(ratios)
        out["reached_signal_optimum"] = sum(bool(r.summary.get("reached_signal_optimum")) for r in results)
        out["constrained_optimum"] = results[0].reference.get("constrained_optimum")
    compared = [entry for entry in runs if entry["signal_regret"] is not None]  # runs on a table with a reference
    if compared:  # a rank past the table's best TOP_SIGNALS counts as TOP_SIGNALS + 1
        out["signal_rank_median"] = float(np.median([TOP_SIGNALS + 1 if entry["signal_rank"] is None
                                                     else entry["signal_rank"] for entry in compared]))
    out["optimum"] = results[0].reference.get("optimum")
    return out
