"""REINFORCE training of NAT's policy (supplementary eq. 1).

J(theta) = E_beta E_{alpha ~ pi(.|beta)} [R(alpha) - R(beta)] + lambda H(pi(.|beta)); the gradient is estimated with
batches of input cells beta drawn uniformly at random and ``samples_per_cell`` K sampled transformations each:

- K = 1 (the paper's estimator): advantage R(alpha) - R(beta) - b with b a moving average of the reward (decay
  ``baseline_decay``);
- K > 1: the baseline of a sample is the mean reward of the *other* K - 1 samples of the same input cell (a per-cell
  baseline, unbiased since it does not depend on the sample itself), which removes the large spread of
  R(alpha) - R(beta) between input cells from the gradient's variance. With ``normalize_per_cell`` the advantages
  of a cell are also divided by the spread (standard deviation) of its K rewards, so every input cell weighs the
  same in the gradient: a cell whose transformations differ by half a point counts as much as one where they
  differ by twenty (the evaluation counts the fraction of cells improved, each cell once).

The entropy bonus lambda may decay linearly to ``entropy_final`` over training (``None``: constant).

``improve_bonus`` b (points, default 0: the plain reward) shapes the reward of a sample to
R(alpha) - R(beta) + b * sign(R(alpha) - R(beta)): b points more for a transformation that improves the input cell and
b points less for one that loses accuracy, so that the policy prefers transformations that reliably improve a cell
over ones that win a lot on some cells and lose on others. This matches the evaluation's "fraction of cells improved";
the recorded ``mean_gain`` stays the unshaped reward.

Rewards are accuracies in percent, divided by 100 inside the loss as in the official code's fractions. Adam (betas
0.5, 0.999 and weight decay 5e-4 as the official policy optimiser) with a cosine decay of the learning rate to 10 %.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch

from nasviz.errors import ConfigError
from nasviz.nat.cells import CellAdapter
from nasviz.nat.decide import apply_batch
from nasviz.nat.policy import NatPolicy, PolicyConfig, featurize, repeat_batch
from nasviz.nat.rewards import Reward
from nasviz.nat.rules import check_rule
from nasviz.progress import ProgressCallback, no_progress

#: added to a cell's reward spread (points) before dividing by it: cells whose K samples all score the same get no push
NORMALIZE_EPS = 0.1

CellSampler = Callable[[np.random.Generator, int], list[Any]]


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of a policy training run (recorded in the model manifest)."""

    rule: str = "paper"
    steps: int = 1500
    batch_size: int = 64
    lr: float = 3e-3
    entropy: float = 0.003
    baseline_decay: float = 0.95
    samples_per_cell: int = 1
    normalize_per_cell: bool = False
    entropy_final: float | None = None
    improve_bonus: float = 0.0
    seed: int = 0
    policy: PolicyConfig = field(default_factory=PolicyConfig)

    def __post_init__(self) -> None:
        check_rule(self.rule)
        if self.steps < 1 or self.batch_size < 1 or self.samples_per_cell < 1:
            raise ConfigError(f"steps, batch size and samples per cell must be positive, got {self.steps}, "
                              f"{self.batch_size} and {self.samples_per_cell}")
        if self.normalize_per_cell and self.samples_per_cell < 2:
            raise ConfigError("normalising advantages per cell needs at least 2 samples per cell")
        if self.improve_bonus < 0:
            raise ConfigError(f"the improvement bonus must be non-negative, got {self.improve_bonus}")
        if self.entropy_final is not None and self.entropy_final < 0:
            raise ConfigError(f"the final entropy bonus must be non-negative, got {self.entropy_final}")
        if self.lr <= 0 or self.entropy < 0 or not 0 <= self.baseline_decay < 1:
            raise ConfigError("lr must be positive, entropy non-negative and the baseline decay in [0, 1)")

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["policy"] = self.policy.to_dict()
        return out


def entropy_weight(config: TrainConfig, step: int) -> float:
    """lambda at ``step``: constant, or a linear decay from ``entropy`` to ``entropy_final``."""
    if config.entropy_final is None or config.steps <= 1:
        return config.entropy
    return config.entropy + (config.entropy_final - config.entropy) * step / (config.steps - 1)


@dataclass
class TrainResult:
    policy: NatPolicy
    config: TrainConfig
    history: list[dict[str, float]]
    seconds: float


def train_policy(adapter: CellAdapter, reward: Reward, sample_cells: CellSampler, config: TrainConfig,
                 progress: ProgressCallback = no_progress, log_every: int = 50) -> TrainResult:
    """Train a fresh policy with REINFORCE; deterministic for a given seed (single-threaded torch recommended)."""
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    policy = NatPolicy.for_adapter(adapter, config.policy)
    optimizer = torch.optim.Adam(policy.parameters(), lr=config.lr, betas=(0.5, 0.999), weight_decay=5e-4)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.steps, eta_min=config.lr * 0.1)
    baseline: float | None = None
    history: list[dict[str, float]] = []
    start = time.perf_counter()
    window: list[float] = []
    k = config.samples_per_cell
    for step in range(config.steps):
        cells = sample_cells(rng, config.batch_size)
        repeated = [cell for cell in cells for _ in range(k)]
        batch = repeat_batch(featurize(adapter, cells, config.rule), k)
        actions, log_prob, entropy = policy.sample(batch, generator)
        transformed = apply_batch(adapter, repeated, actions.numpy())
        raw_gain = reward.values(transformed) - np.repeat(reward.values(cells), k)
        mean_gain = float(raw_gain.mean())
        gain = raw_gain + config.improve_bonus * np.sign(raw_gain) if config.improve_bonus else raw_gain
        baseline = (float(gain.mean()) if baseline is None
                    else config.baseline_decay * baseline + (1 - config.baseline_decay) * float(gain.mean()))
        if k > 1:
            per_cell = gain.reshape(-1, k)
            others = (per_cell.sum(1, keepdims=True) - per_cell) / (k - 1)
            centred = per_cell - others
            if config.normalize_per_cell:
                centred = centred / (per_cell.std(1, keepdims=True) + NORMALIZE_EPS)
                advantage_values = centred.reshape(-1)
            else:
                advantage_values = centred.reshape(-1) / 100.0
        else:
            advantage_values = (gain - baseline) / 100.0
        advantage = torch.as_tensor(advantage_values, dtype=torch.float32)
        loss = -(advantage * log_prob).mean() - entropy_weight(config, step) * entropy.mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        window.append(mean_gain)
        if (step + 1) % log_every == 0 or step + 1 == config.steps:
            history.append({"step": step + 1, "mean_gain": round(float(np.mean(window)), 4),
                            "entropy": round(float(entropy.detach().mean()), 4), "baseline": round(baseline, 4)})
            window = []
        progress(step + 1, config.steps, f"gain {mean_gain:+.2f}")
    return TrainResult(policy, config, history, time.perf_counter() - start)
