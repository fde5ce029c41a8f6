"""Evaluate NAT on NB201 against random transformations and the exact best reachable transformation.

Cells: a held-out part of NB201 (official index divisible by 5) that policy training never draws from; the
evaluation samples ``cells`` of them with ``seed``. Training signal: 12-epoch CIFAR-10 validation accuracy;
evaluation metric: 200-epoch CIFAR-10 test accuracy (both from the imported table).
"""

from __future__ import annotations

import itertools
from functools import lru_cache
from typing import Any

import numpy as np

from nasviz.nat.cells import get_adapter
from nasviz.nat.decide import ActionPolicy, decide
from nasviz.nat.rewards import NB201_EVAL_METRIC, NB201_TRAIN_METRIC, TabularReward
from nasviz.nat.rules import KEEP, SKIP
from nasviz.nat.transform import action_mask
from nasviz.progress import ProgressCallback, no_progress

HELD_OUT_MODULUS = 5
SPLIT_NOTE = "NB201 cells with official index % 5 == 0 are held out from policy training"


@lru_cache(maxsize=1)
def nb201_split() -> tuple[np.ndarray, np.ndarray]:
    """(training codes, held-out codes): base-5 codes of the cells whose official index is not / is divisible by 5."""
    from nasviz.spaces.nb201 import official_index_table

    index_of_code = official_index_table()
    held = index_of_code % HELD_OUT_MODULUS == 0
    return np.flatnonzero(~held), np.flatnonzero(held)


def nb201_sampler(codes: np.ndarray):  # noqa: ANN201 - returns a CellSampler
    from nasviz.spaces.nb201 import cell_from_code

    def sample(rng: np.random.Generator, n: int) -> list[Any]:
        return [cell_from_code(int(c)) for c in rng.choice(codes, size=n)]

    return sample


def _codes_of(ops_index: np.ndarray) -> np.ndarray:
    """Base-5 codes of rows of 6 op indices."""
    weights = 5 ** np.arange(5, -1, -1)
    return ops_index @ weights


def reachable_codes(cell: Any, rule: str) -> np.ndarray:
    """Codes of every cell one NAT transformation under ``rule`` reaches from an NB201 cell (itself included)."""
    from nasviz.spaces.nb201 import OPS

    adapter = get_adapter("nb201")
    mask = action_mask(adapter, cell, rule)
    options = []
    for op, row in zip(cell.ops, mask, strict=True):
        choices = []
        for action in np.flatnonzero(row):
            new = op if action == KEEP else adapter.skip_op if action == SKIP else adapter.null_op
            choices.append(OPS.index(new))
        options.append(choices)
    return _codes_of(np.array(list(itertools.product(*options)), dtype=np.int64))


def _summary(before: np.ndarray, after: np.ndarray, params_before: np.ndarray, params_after: np.ndarray) -> dict[str, Any]:
    delta = after - before
    return {"mean_before": round(float(before.mean()), 4), "mean_after": round(float(after.mean()), 4),
            "mean_gain": round(float(delta.mean()), 4),
            "improved": round(float((delta > 0).mean()), 4), "unchanged": round(float((delta == 0).mean()), 4),
            "worse": round(float((delta < 0).mean()), 4),
            "params_before_m": round(float(params_before.mean()) / 1e6, 6),
            "params_after_m": round(float(params_after.mean()) / 1e6, 6),
            "params_increased": int((params_after > params_before).sum())}


def evaluate_nb201(policy: ActionPolicy, rule: str, cells: int = 100, seed: int = 0, samples: int = 0,
                   random_draws: int = 20, progress: ProgressCallback = no_progress,
                   candidates: str = "top") -> dict[str, Any]:
    """NAT vs random transformations vs the best reachable transformation on ``cells`` held-out NB201 cells.

    ``samples`` K > 0: best of K policy candidates by the training signal (12-epoch valid), else greedy;
    ``candidates``: the K most probable distinct transformations ("top") or greedy + K-1 samples ("sample").
    Every number is the 200-epoch CIFAR-10 test accuracy (points) or the exact params of the pruned cells.
    """
    from nasviz.spaces.nb201 import cell_from_code

    adapter = get_adapter("nb201")
    signal = TabularReward("nb201", NB201_TRAIN_METRIC)
    truth = TabularReward("nb201", NB201_EVAL_METRIC)
    _, held = nb201_split()
    rng = np.random.default_rng(seed)
    codes = rng.choice(held, size=cells, replace=False)
    originals = [cell_from_code(int(c)) for c in codes]
    params_cache: dict[int, int] = {}

    def params(cell: Any) -> int:
        if cell.code not in params_cache:
            params_cache[cell.code] = adapter.cost(adapter.prune(cell)).params
        return params_cache[cell.code]

    before = truth.values(originals)
    params_before = np.array([adapter.cost(c).params for c in originals], dtype=np.float64)
    progress(0, 4, "policy")
    decision = decide(policy, adapter, originals, rule, samples=samples, reward=signal, seed=seed,
                      candidates=candidates)
    nat_after = truth.values(decision.transformed)
    nat_params = np.array([params(c) for c in decision.transformed], dtype=np.float64)
    progress(1, 4, "random")
    random_gain, random_params = [], []
    for _ in range(random_draws):
        chosen = []
        for cell in originals:
            reach = reachable_codes(cell, rule)
            chosen.append(cell_from_code(int(reach[rng.integers(len(reach))])))
        random_gain.append(truth.values(chosen))
        random_params.append([params(c) for c in chosen])
    random_after = np.mean(random_gain, axis=0)
    progress(2, 4, "exhaustive")
    best_signal, best_truth, best_signal_params, reachable = [], [], [], []
    for cell in originals:
        reach = reachable_codes(cell, rule)
        reachable.append(len(reach))
        by_signal = reach[int(np.argmax(signal.value_by_code(reach)))]
        best_signal.append(truth.value_by_code(np.array([by_signal]))[0])
        best_signal_params.append(params(cell_from_code(int(by_signal))))
        best_truth.append(float(truth.value_by_code(reach).max()))
    progress(3, 4, "summary")
    kind = "most probable" if candidates == "top" else "samples"
    result = {
        "space": "nb201", "rule": rule, "cells": cells, "seed": seed,
        "decision": f"best of {samples} {kind} by signal" if samples > 0 else "greedy",
        "train_signal": NB201_TRAIN_METRIC, "metric": NB201_EVAL_METRIC,
        "split": SPLIT_NOTE, "data_version": truth.data_version,
        "nat": _summary(before, nat_after, params_before, nat_params),
        "random": {**_summary(before, random_after, params_before, np.mean(random_params, axis=0)),
                   "draws": random_draws},
        "best_by_signal": _summary(before, np.array(best_signal), params_before, np.array(best_signal_params,
                                                                                         dtype=np.float64)),
        "best_by_test": {"mean_after": round(float(np.mean(best_truth)), 4),
                         "mean_gain": round(float(np.mean(best_truth) - before.mean()), 4)},
        "reachable_per_cell": {"mean": round(float(np.mean(reachable)), 1), "max": int(np.max(reachable))},
    }
    progress(4, 4, "done")
    return result
