"""A weight-sharing supernet for NAT cells, the reward of the NAT paper (small enough for a CPU).

Every possible edge (from, to) of a cell with up to ``nodes`` intermediate nodes holds one module per NAT op; a cell
selects one path through them. The network: a 3x3 stem, then ``cells`` cells (the middle one a reduction cell:
stride 2 on the edges that read the cell inputs), global pooling and a linear classifier. A cell's inputs are
preprocessed to C channels (1x1 ReLU-conv-BN, or FactorizedReduce after a reduction) and its output is the *average*
of its output nodes (the NAT supplementary's loose-end rule; it keeps C channels for any output set). Batch norms
use batch statistics, as in one-shot supernets whose paths change every step.

Training follows the official ``train_search.py`` at a small scale: the shared weights learn on one part of the
data with a uniformly random cell per batch (SGD, momentum 0.9, weight decay 3e-4); the reward R(cell) is the
accuracy (%) of the cell under the shared weights on the other part (sklearn digits by default).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import torch
from torch import nn

from nasviz.errors import DataError
from nasviz.nat.rewards import Reward
from nasviz.networks.ops import FactorizedReduce, ReLUConvBN, darts_op
from nasviz.progress import ProgressCallback, no_progress
from nasviz.spaces.nat import NAT_OPS, SAMPLE_OPS, NatCell, NatSpace, check_nat_cell

SUPERNET_OPS: tuple[str, ...] = tuple(op for op in NAT_OPS if op != "null")


@dataclass(frozen=True)
class SupernetConfig:
    channels: int = 8
    cells: int = 3
    nodes: int = 4
    steps: int = 300
    batch_size: int = 64
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 3e-4
    eval_images: int = 128
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _batch_stats(module: nn.Module) -> None:
    for m in module.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.track_running_stats = False
            m.running_mean = None
            m.running_var = None
            m.num_batches_tracked = None


class MixedCell(nn.Module):
    """All candidate ops of every edge of one cell position."""

    def __init__(self, channels: int, nodes: int, reduction: bool, reduction_prev: bool, c_prev_prev: int,
                 c_prev: int) -> None:
        super().__init__()
        c = channels
        self.nodes = nodes
        self.reduction = reduction
        self.pre0 = FactorizedReduce(c_prev_prev, c) if reduction_prev else ReLUConvBN(c_prev_prev, c, 1)
        self.pre1 = ReLUConvBN(c_prev, c, 1)
        self.edges = nn.ModuleDict()
        for dst in range(2, 2 + nodes):
            for src in range(dst):
                stride = 2 if reduction and src < 2 else 1
                self.edges[f"{src}_{dst}"] = nn.ModuleDict({op: darts_op(op, c, stride) for op in SUPERNET_OPS})

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, cell: NatCell) -> torch.Tensor:
        states = [self.pre0(s0), self.pre1(s1)]
        for node in cell.nodes:
            total: torch.Tensor | None = None
            for op, src in cell.inputs_of(node):
                if op == "null":
                    continue
                out = self.edges[f"{src}_{node}"][op](states[src])
                total = out if total is None else total + out
            if total is None:  # a node with two null inputs outputs zeros of the node shape
                ref = states[1]
                if self.reduction:
                    ref = ref[:, :, ::2, ::2]
                total = torch.zeros_like(ref)
            states.append(total)
        outputs = [states[n] for n in cell.output_nodes()]
        return torch.stack(outputs).mean(0)


class NatSupernet(nn.Module):
    def __init__(self, config: SupernetConfig, in_channels: int = 1, num_classes: int = 10) -> None:
        super().__init__()
        c = config.channels
        self.stem = nn.Sequential(nn.Conv2d(in_channels, c, 3, padding=1, bias=False), nn.BatchNorm2d(c))
        self.cells = nn.ModuleList()
        reduction_prev = False
        for i in range(config.cells):
            reduction = i == config.cells // 2
            self.cells.append(MixedCell(c, config.nodes, reduction, reduction_prev, c, c))
            reduction_prev = reduction
        self.classifier = nn.Linear(c, num_classes)
        _batch_stats(self)

    def forward(self, x: torch.Tensor, cell: NatCell) -> torch.Tensor:
        s0 = s1 = self.stem(x)
        for mixed in self.cells:
            s0, s1 = s1, mixed(s0, s1, cell)
        return self.classifier(torch.relu(s1).mean((2, 3)))


def nat_sampler(nodes: int = 4):  # noqa: ANN201 - returns a CellSampler
    """Uniformly random valid NAT cells (both output modes), NAT's uniform ``ArchMaster``."""
    space = NatSpace()

    def sample(rng: np.random.Generator, n: int) -> list[NatCell]:
        out = []
        for _ in range(n):
            mode = "concat" if rng.random() < 0.5 else "loose_end"
            out.extend(space.sample(1, int(rng.integers(2**31)), nodes=nodes, ops=SAMPLE_OPS, output=mode))
        return out

    return sample


class SupernetReward(Reward):
    """R(cell) = accuracy (%) of the cell under the supernet's shared weights on held-out images (cached per cell)."""

    name = "supernet"
    space = "nat"
    measured = False

    def __init__(self, supernet: NatSupernet, config: SupernetConfig, x_eval: torch.Tensor, y_eval: torch.Tensor,
                 data_version: str, train_seconds: float = 0.0) -> None:
        self.supernet = supernet.eval()
        self.config = config
        self.x_eval, self.y_eval = x_eval, y_eval
        self.data_version = data_version
        self.train_seconds = train_seconds
        self._cache: dict[str, float] = {}

    def value(self, cell: NatCell) -> float:
        from nasviz.spaces.nat import nat_cell_to_string

        key = nat_cell_to_string(cell)
        if key not in self._cache:
            if not check_nat_cell(cell).valid:
                self._cache[key] = self.invalid_value
            elif max(cell.nodes) - 1 > self.config.nodes or any(len(cell.inputs_of(n)) != 2 for n in cell.nodes):
                raise DataError(f"the supernet holds cells of at most {self.config.nodes} nodes")
            else:
                with torch.no_grad():
                    logits = self.supernet(self.x_eval, cell)
                self._cache[key] = 100.0 * float((logits.argmax(1) == self.y_eval).float().mean())
        return self._cache[key]

    def values(self, cells: list[Any]) -> np.ndarray:
        return np.array([self.value(c) for c in cells], dtype=np.float64)

    def describe(self) -> dict[str, Any]:
        return {"kind": self.name, "space": self.space, "dataset": "sklearn digits", "data_version": self.data_version,
                "eval_images": int(len(self.y_eval)), "metric": "accuracy under shared weights (%)"}

    def state_dict(self) -> dict[str, Any]:
        return {"supernet": self.supernet.state_dict(), "config": self.config.to_dict()}


def _eval_split(config: SupernetConfig) -> tuple[Any, torch.Tensor, torch.Tensor]:
    from nasviz.evaluators.datasets import load_digits_split

    split = load_digits_split(seed=config.seed)
    n = min(config.eval_images, len(split.y_val))
    return split, split.x_val[:n], split.y_val[:n]


def train_supernet(config: SupernetConfig, progress: ProgressCallback = no_progress) -> SupernetReward:
    """Train the shared weights with a uniformly random cell per batch; deterministic for a seed (1 thread)."""
    split, x_eval, y_eval = _eval_split(config)
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed + 7)
    sample = nat_sampler(config.nodes)
    net = NatSupernet(config, split.in_channels, split.num_classes)
    optimizer = torch.optim.SGD(net.parameters(), lr=config.lr, momentum=config.momentum,
                                weight_decay=config.weight_decay)
    loss_fn = nn.CrossEntropyLoss()
    order = torch.Generator().manual_seed(config.seed)
    start = time.perf_counter()
    n = len(split.y_train)
    permutation = torch.randperm(n, generator=order)
    position = 0
    net.train()
    for step in range(config.steps):
        if position + config.batch_size > n:
            permutation, position = torch.randperm(n, generator=order), 0
        batch = permutation[position:position + config.batch_size]
        position += config.batch_size
        cell = sample(rng, 1)[0]
        loss = loss_fn(net(split.x_train[batch], cell), split.y_train[batch])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(net.parameters(), 5.0)
        optimizer.step()
        if (step + 1) % 20 == 0 or step + 1 == config.steps:
            progress(step + 1, config.steps, f"supernet loss {float(loss.detach()):.3f}")
    net.eval()
    return SupernetReward(net, config, x_eval, y_eval, split.version, round(time.perf_counter() - start, 2))


def supernet_from_state(state: dict[str, Any]) -> SupernetReward:
    config = SupernetConfig(**state["config"])
    split, x_eval, y_eval = _eval_split(config)
    net = NatSupernet(config, split.in_channels, split.num_classes)
    net.load_state_dict(state["supernet"])
    return SupernetReward(net, config, x_eval, y_eval, split.version)


@lru_cache(maxsize=2)
def _load_cached(path: str, mtime: float) -> SupernetReward:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001
        raise DataError(f"cannot load the NAT supernet {path}: {exc}") from None
    return supernet_from_state(state)


def load_supernet_reward(rule: str | None = None) -> SupernetReward:
    """The supernet saved with the trained NAT-cell policy (``rule``'s, else any)."""
    from nasviz.nat.store import SUPERNET, find_policy_dir

    for candidate in ([rule] if rule else []) + ["paper", "code"]:
        path = find_policy_dir("nat", candidate)
        if path is not None and (path / SUPERNET).exists():
            file = path / SUPERNET
            return _load_cached(str(file), file.stat().st_mtime)
    raise DataError("no trained NAT supernet; train one with 'nasviz nat train --space nat --reward supernet'")


def fingerprint(state: dict[str, Any]) -> str:
    digest = hashlib.sha256()
    for key, value in sorted(state["supernet"].items()):
        digest.update(key.encode())
        digest.update(value.numpy().tobytes())
    return digest.hexdigest()[:16]
