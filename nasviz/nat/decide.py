"""Turn a policy into transformations: greedy (most probable action per edge) or best of K samples by a reward, as
the official derivation keeps the best of 10 sampled transformations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from nasviz.nat.cells import CellAdapter
from nasviz.nat.policy import NatPolicy, featurize
from nasviz.nat.rewards import Reward
from nasviz.nat.train import apply_batch


@dataclass
class Decision:
    """Per cell: the chosen actions, the transformed cell and the policy's per-edge probabilities."""

    actions: list[list[int]]
    transformed: list[Any]
    probabilities: list[np.ndarray]
    sampled_rewards: list[list[float]] | None = None


def decide(policy: NatPolicy, adapter: CellAdapter, cells: list[Any], rule: str, samples: int = 0,
           reward: Reward | None = None, seed: int = 0) -> Decision:
    """Greedy decisions, or with ``samples`` K > 0 and a ``reward`` the best of K sampled transformations (the greedy
    one included) by that reward."""
    policy.eval()
    batch = featurize(adapter, cells, rule)
    with torch.no_grad():
        probs = policy.distribution(batch).probs.numpy()
    greedy = probs.argmax(-1)
    lengths = batch.num_edges
    probabilities = [probs[i, :n] for i, n in enumerate(lengths)]
    if samples <= 0 or reward is None:
        actions = [greedy[i, :n].tolist() for i, n in enumerate(lengths)]
        return Decision(actions, apply_batch(adapter, cells, greedy), probabilities)
    generator = torch.Generator().manual_seed(seed)
    candidates = [greedy]
    with torch.no_grad():
        for _ in range(samples - 1):
            sampled, _, _ = policy.sample(batch, generator)
            candidates.append(sampled.numpy())
    transformed = [apply_batch(adapter, cells, c) for c in candidates]
    scores = np.stack([reward.values(t) for t in transformed])  # (K, B)
    best = scores.argmax(0)
    actions = [candidates[k][i, :lengths[i]].tolist() for i, k in enumerate(best)]
    chosen = [transformed[k][i] for i, k in enumerate(best)]
    return Decision(actions, chosen, probabilities, scores.T.tolist())
