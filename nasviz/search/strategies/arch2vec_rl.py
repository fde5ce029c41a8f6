"""arch2vec-RL (Yan et al., 2020, appendix A): REINFORCE with an LSTM Gaussian policy in the latent space.

The controller is a single-layer LSTM (hidden 128) whose 16-d output is the mean of a Gaussian
policy with identity covariance. Its input is the embedding of the current cell; a sampled action
is decoded to the nearest (L2) unvisited cell of the embedding table, which is queried and becomes
the current cell. After each episode (16 queries) the policy is updated with REINFORCE, Adam lr
1e-2, discounted returns (discount 0.4) minus a constant baseline (0.4) — the NB201 settings of the
paper's appendix A.2. (The official script overwrites the discounted returns with the raw
rewards; here the discount is applied as the paper describes.) The reward is the signal times
``reward_scale`` (accuracy in % -> fraction). Under a latency constraint an infeasible cell gets
reward 0 and, with Joint=1, a feasible one gets its normalised AG-Net joint rank score.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from scipy.stats import rankdata
from torch import nn

from nasviz.search.base import Observation, SearchContext, Strategy
from nasviz.search.strategies.latent import LatentTable
from nasviz.settings import Setting


class _Policy(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.cell = nn.LSTMCell(dim, hidden)
        self.head = nn.Linear(hidden, dim)
        self.hidden = hidden

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None):
        h, c = self.cell(x, state)
        return self.head(h), (h, c)


class Arch2vecRL(Strategy):
    name = "arch2vec-rl"
    title = "arch2vec-RL (REINFORCE)"
    encoder = "arch2vec"
    setting_fields = (
        Setting("hidden", "int", 128, "Hidden units of the LSTM controller.", low=1, high=4096),
        Setting("lr", "float", 1e-2, "Adam learning rate of the policy.", low=1e-8, high=10.0, step=1e-3),
        Setting("episode_length", "int", 16, "Queries per episode (one REINFORCE update each).", low=1,
                high=100_000),
        Setting("discount", "float", 0.4, "Discount of the returns.", low=0.0, high=1.0, step=0.05),
        Setting("baseline", "float", 0.4, "Constant baseline subtracted from the returns.", low=-1e6, high=1e6,
                step=0.05),
        Setting("reward_scale", "float", 0.01, "Reward = signal x reward_scale (accuracy in % -> fraction).",
                low=-1e6, high=1e6, step=0.01),
    )

    def __init__(self, context: SearchContext, seed: int, **settings: Any) -> None:
        super().__init__(context, seed, **settings)
        self.table = LatentTable(context, self.encoder)
        dim = self.table.vectors.shape[1]
        self.generator = torch.Generator().manual_seed(self.seed)
        self.policy = _Policy(dim, int(self.settings["hidden"]))
        with torch.no_grad():
            bound = 1.0 / math.sqrt(int(self.settings["hidden"]))
            for param in self.policy.parameters():
                param.copy_(torch.rand(param.shape, generator=self.generator) * 2 * bound - bound)
        self.optimizer = torch.optim.Adam(self.policy.parameters(), lr=float(self.settings["lr"]))
        self.vectors = torch.from_numpy(self.table.vectors.astype(np.float32))
        self.state: tuple[torch.Tensor, torch.Tensor] | None = None
        self.current_row: int | None = None
        self.pending_log_probs: dict[str, torch.Tensor] = {}
        self.episode_log_probs: list[torch.Tensor] = []
        self.episode_rewards: list[float] = []
        self.updates = 0

    def _random_row(self, excluded: set[str]) -> int:
        free = [i for i, cid in enumerate(self.table.ids) if cid not in excluded]
        return free[int(self.rng.integers(len(free)))]

    def ask(self, n: int) -> list[Any]:
        cells: list[Any] = []
        pending: set[str] = set()
        for _ in range(n):
            excluded = self.visited | pending
            if self.current_row is None:  # the first cell of the search: uniform
                row = self._random_row(excluded)
            else:
                x = self.vectors[self.current_row].unsqueeze(0)
                mean, self.state = self.policy(x, self.state)
                noise = torch.randn(mean.shape, generator=self.generator)
                action = (mean + noise).detach()
                log_prob = -0.5 * ((action - mean) ** 2).sum() - 0.5 * mean.shape[1] * math.log(2 * math.pi)
                row = self.table.nearest_unvisited(action.squeeze(0).double().numpy(), excluded)
                self.pending_log_probs[self.table.ids[row]] = log_prob
            self.current_row = row
            cid = self.table.ids[row]
            pending.add(cid)
            cells.append(self.moves.cell_from_id(cid))
        return cells

    def _reward(self, index: int) -> float:
        obs: Observation = self.history_obs[index]
        scale = float(self.settings["reward_scale"])
        if self.constraint is None:
            return obs.signal * scale
        if not obs.feasible:
            return 0.0
        if self.constraint.joint == 0:
            return obs.signal * scale
        signals = np.array([o.signal for o in self.history_obs])
        lat = np.array([np.inf if o.latency is None else o.latency for o in self.history_obs])
        joint = rankdata(-signals, method="average")[index] + rankdata(lat, method="average")[index]
        return float(1.0 - (joint - 2.0) / max(2.0 * (len(signals) - 1), 1.0))

    def _after_tell(self, cells: list[Any], observations: list[Observation]) -> None:
        first = len(self.history_obs) - len(cells)
        for offset, cell in enumerate(cells):
            cid = self.moves.cell_id(cell)
            if cid in self.table.row and self.current_row is None:
                self.current_row = self.table.row[cid]
            log_prob = self.pending_log_probs.pop(cid, None)
            if log_prob is None:  # the random first cell, or a cell the policy did not propose
                continue
            self.episode_log_probs.append(log_prob)
            self.episode_rewards.append(self._reward(first + offset))
            if len(self.episode_rewards) >= int(self.settings["episode_length"]):
                self._update()

    def _update(self) -> None:
        gamma, baseline = float(self.settings["discount"]), float(self.settings["baseline"])
        returns, running = [], 0.0
        for reward in reversed(self.episode_rewards):
            running = reward + gamma * running
            returns.append(running)
        returns.reverse()
        loss = -sum(lp * (ret - baseline) for lp, ret in zip(self.episode_log_probs, returns, strict=True))
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        self.updates += 1
        self.episode_log_probs, self.episode_rewards = [], []
        self.state = None  # a new episode starts from the current cell with a fresh LSTM state
