"""Turn a policy into transformations: greedy (most probable action per edge) or best of K samples by a reward, as
the official derivation keeps the best of 10 sampled transformations.

Works with the torch policy (:class:`nasviz.nat.policy.NatPolicy`, training and evaluation) and the NumPy one
(:class:`nasviz.nat.inference.NumpyPolicy`, the CLI and the page) alike: both give per-edge probabilities of a NumPy
batch, and samples are drawn with NumPy from those probabilities, so the same seed gives the same decision with either
(this module never imports torch).
"""

from __future__ import annotations

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


def decide(policy: ActionPolicy, adapter: CellAdapter, cells: list[Any], rule: str, samples: int = 0,
           reward: Reward | None = None, seed: int = 0) -> Decision:
    """Greedy decisions, or with ``samples`` K > 0 and a ``reward`` the best of K sampled transformations (the greedy
    one included) by that reward."""
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
    rng = np.random.default_rng(seed)
    candidates = [greedy] + [sample_actions(probs, rng) for _ in range(samples - 1)]
    transformed = [apply_batch(adapter, cells, c) for c in candidates]
    scores = np.stack([reward.values(t) for t in transformed])  # (K, B)
    best = scores.argmax(0)
    actions = [candidates[k][i, :lengths[i]].tolist() for i, k in enumerate(best)]
    chosen = [transformed[k][i] for i, k in enumerate(best)]
    return Decision(actions, chosen, probabilities, scores.T.tolist())
