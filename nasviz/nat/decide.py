"""Turn a policy into transformations: greedy (most probable action per edge) or best of K candidates by a reward, as
the official derivation keeps the best of 10 sampled transformations.

Candidates are either the K most probable *distinct* transformations (``"top"``, the default: exact, seed-free) or
the greedy one plus K-1 samples (``"sample"``, the official derivation). A trained policy is nearly deterministic, so
its samples mostly repeat the greedy transformation; the top-K candidates are what sampling reaches with a flatter
policy, without the duplicates.

Works with the torch policy (:class:`nasviz.nat.policy.NatPolicy`, training and evaluation) and the NumPy one
(:class:`nasviz.nat.inference.NumpyPolicy`, the CLI and the page) alike: both give per-edge probabilities of a NumPy
batch, and samples are drawn with NumPy from those probabilities, so the same seed gives the same decision with either
(this module never imports torch).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from nasviz.nat.cells import CellAdapter
from nasviz.nat.features import ArrayBatch, featurize_arrays
from nasviz.nat.inference import sample_actions
from nasviz.nat.rewards import Reward
from nasviz.nat.rules import KEEP, SKIP


class ActionPolicy(Protocol):
    """What decisions need of a policy."""

    def action_probabilities(self, batch: ArrayBatch) -> np.ndarray: ...


@dataclass
class Decision:
    """Per cell: the chosen actions, the transformed cell and the policy's per-edge probabilities."""

    actions: list[list[int]]
    transformed: list[Any]
    probabilities: list[np.ndarray]
    sampled_rewards: list[list[float]] | None = None


def apply_batch(adapter: CellAdapter, cells: list[Any], actions: np.ndarray) -> list[Any]:
    """Transformed cells of a batch (actions (B, E) indices; padding edges ignored). No rule check: the actions come
    from the masked policy."""
    out = []
    for cell, row in zip(cells, actions, strict=True):
        edges = adapter.edges(cell)
        ops = [op if a == KEEP else adapter.skip_op if a == SKIP else adapter.null_op
               for (op, _, _), a in zip(edges, row[:len(edges)], strict=True)]
        out.append(adapter.rebuild(cell, ops))
    return out


CANDIDATE_MODES = ("top", "sample")


def most_probable_actions(probabilities: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` most probable distinct joint actions of independent per-edge distributions ((E, A) probabilities,
    zero = not allowed), most probable first, as a (min(k, reachable), E) array. Best-first search over per-edge
    ranks: O(k E log(k E)), so large cells never enumerate their 3^E transformations."""
    edges = probabilities.shape[0]
    order = [np.flatnonzero(row > 0)[np.argsort(-row[row > 0], kind="stable")] for row in probabilities]
    logs = [np.log(probabilities[e, order[e]]) for e in range(edges)]
    start = (0,) * edges
    heap = [(-sum(float(lp[0]) for lp in logs), start)]
    seen = {start}
    out = []
    while heap and len(out) < k:
        negative, ranks = heapq.heappop(heap)
        out.append([int(order[e][r]) for e, r in enumerate(ranks)])
        for e in range(edges):
            if ranks[e] + 1 < len(order[e]):
                nxt = ranks[:e] + (ranks[e] + 1,) + ranks[e + 1:]
                if nxt not in seen:
                    seen.add(nxt)
                    step = float(logs[e][ranks[e]] - logs[e][ranks[e] + 1])
                    heapq.heappush(heap, (negative + step, nxt))
    return np.array(out, dtype=np.int64).reshape(len(out), edges)


def _top_candidates(probs: np.ndarray, lengths: np.ndarray, k: int) -> list[np.ndarray]:
    """K (B, E_max) action arrays: candidate j of each cell is its j-th most probable transformation (its last one
    repeated when a cell reaches fewer than K)."""
    batch, width = probs.shape[:2]
    out = [np.zeros((batch, width), dtype=np.int64) for _ in range(k)]
    for i, n in enumerate(lengths):
        best = most_probable_actions(probs[i, :n], k)
        for j in range(k):
            out[j][i, :n] = best[min(j, len(best) - 1)]
    return out


def decide(policy: ActionPolicy, adapter: CellAdapter, cells: list[Any], rule: str, samples: int = 0,
           reward: Reward | None = None, seed: int = 0, candidates: str = "top") -> Decision:
    """Greedy decisions, or with ``samples`` K > 0 and a ``reward`` the best of K candidate transformations by that
    reward: the K most probable distinct ones (``candidates="top"``) or the greedy one and K-1 samples
    (``"sample"``). The greedy transformation is always a candidate."""
    if candidates not in CANDIDATE_MODES:
        raise ValueError(f"unknown candidates {candidates!r}: use one of {', '.join(CANDIDATE_MODES)}")
    if hasattr(policy, "eval"):
        policy.eval()
    batch = featurize_arrays(adapter, cells, rule)
    probs = policy.action_probabilities(batch)
    greedy = probs.argmax(-1)
    lengths = batch.num_edges
    probabilities = [probs[i, :n] for i, n in enumerate(lengths)]
    if samples <= 0 or reward is None:
        actions = [greedy[i, :n].tolist() for i, n in enumerate(lengths)]
        return Decision(actions, apply_batch(adapter, cells, greedy), probabilities)
    if candidates == "top":
        pool = _top_candidates(probs, lengths, samples)
    else:
        rng = np.random.default_rng(seed)
        pool = [greedy] + [sample_actions(probs, rng) for _ in range(samples - 1)]
    transformed = [apply_batch(adapter, cells, c) for c in pool]
    scores = np.stack([reward.values(t) for t in transformed])  # (K, B)
    best = scores.argmax(0)
    actions = [pool[k][i, :lengths[i]].tolist() for i, k in enumerate(best)]
    chosen = [transformed[k][i] for i, k in enumerate(best)]
    return Decision(actions, chosen, probabilities, scores.T.tolist())
