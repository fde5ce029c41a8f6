"""DARTS evaluation networks (NetworkCIFAR / NetworkImageNet, without the auxiliary head), built
from cells given as ``(op, from, to)`` edges, so the same code serves DARTS genotypes and NAT cells.

A cell has two inputs (nodes 0 and 1: the outputs of the previous two cells, preprocessed to C
channels by a 1x1 ReLU-Conv-BN, or a FactorizedReduce after a reduction cell). Each intermediate
node sums the ops on its incoming edges (``none``/``null`` edges add zeros); the cell output
concatenates the ``concat`` nodes. In a reduction cell, edges leaving the inputs have stride 2.
CIFAR: a 3x3 conv + BN stem to 3C channels, ``layers`` cells with reductions at layers//3 and
2*layers//3 (channels doubled), global average pooling and a linear classifier.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from nasviz.errors import CellError, ConfigError
from nasviz.networks.ops import FactorizedReduce, ReLUConvBN, Zero, darts_op

Edge = tuple[str, int, int]
ZERO_OPS = ("none", "null")


class EdgeCell(nn.Module):
    """One DARTS-style cell defined by its edges and the nodes its output concatenates."""

    def __init__(self, edges: list[Edge], concat: tuple[int, ...], c_prev_prev: int, c_prev: int, c: int,
                 reduction: bool, reduction_prev: bool) -> None:
        super().__init__()
        self.reduction = reduction
        self.preprocess0 = FactorizedReduce(c_prev_prev, c) if reduction_prev else ReLUConvBN(c_prev_prev, c, 1, 1, 0)
        self.preprocess1 = ReLUConvBN(c_prev, c, 1, 1, 0)
        self.num_nodes = max([dst for _, _, dst in edges] + list(concat)) + 1
        for op, src, dst in edges:
            if not 0 <= src < dst:
                raise CellError(f"edge ({op}, {src}, {dst}) must go from an earlier node to a later one")
        self.edges = [(src, dst) for _, src, dst in edges]
        self.ops = nn.ModuleList(darts_op(op, c, 2 if reduction and src < 2 else 1) for op, src, _ in edges)
        self.zero_edges = [op in ZERO_OPS for op, _, _ in edges]
        self.concat = tuple(concat)
        self.channels = c

    def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        states: list[torch.Tensor | None] = [self.preprocess0(s0), self.preprocess1(s1)] + [None] * (self.num_nodes - 2)
        for (src, dst), op, is_zero in zip(self.edges, self.ops, self.zero_edges, strict=True):
            if is_zero:
                continue  # adds zeros
            source = states[src]
            if source is None:
                source = self._zeros(states, src < 2)
            out = op(source)
            states[dst] = out if states[dst] is None else states[dst] + out
        outs = [states[i] if states[i] is not None else self._zeros(states, False) for i in self.concat]
        return torch.cat(outs, dim=1)  # type: ignore[arg-type]

    def _zeros(self, states: list[torch.Tensor | None], at_input: bool) -> torch.Tensor:
        ref = states[1]
        assert ref is not None
        if self.reduction and not at_input:
            ref = Zero(2)(ref)
        return torch.zeros_like(ref)


class DartsNetwork(nn.Module):
    """The DARTS CIFAR (or ImageNet, ``imagenet_stem=True``) evaluation network."""

    def __init__(self, normal: list[Edge], normal_concat: tuple[int, ...], reduce: list[Edge],
                 reduce_concat: tuple[int, ...], num_classes: int, channels: int = 36, layers: int = 20,
                 in_channels: int = 3, imagenet_stem: bool = False, stem_multiplier: int = 3) -> None:
        super().__init__()
        c = channels
        if imagenet_stem:
            self.stem0: nn.Module = nn.Sequential(
                nn.Conv2d(in_channels, c // 2, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(c // 2),
                nn.ReLU(inplace=False),
                nn.Conv2d(c // 2, c, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(c))
            self.stem1: nn.Module = nn.Sequential(nn.ReLU(inplace=False), nn.Conv2d(c, c, 3, stride=2, padding=1, bias=False),
                                                  nn.BatchNorm2d(c))
            c_prev_prev, c_prev, c_curr, reduction_prev = c, c, c, True
        else:
            stem = stem_multiplier * c
            self.stem0 = nn.Sequential(nn.Conv2d(in_channels, stem, 3, padding=1, bias=False), nn.BatchNorm2d(stem))
            self.stem1 = nn.Identity()
            c_prev_prev, c_prev, c_curr, reduction_prev = stem, stem, c, False
        self.imagenet_stem = imagenet_stem
        self.cells = nn.ModuleList()
        for i in range(layers):
            reduction = i in (layers // 3, 2 * layers // 3)
            if reduction:
                c_curr *= 2
            edges, concat = (reduce, reduce_concat) if reduction else (normal, normal_concat)
            self.cells.append(EdgeCell(edges, concat, c_prev_prev, c_prev, c_curr, reduction, reduction_prev))
            c_prev_prev, c_prev, reduction_prev = c_prev, len(concat) * c_curr, reduction
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.imagenet_stem:
            s0 = self.stem0(x)
            s1 = self.stem1(s0)
        else:
            s0 = s1 = self.stem0(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1)
        return self.classifier(torch.flatten(self.global_pooling(s1), 1))


def cell_edges(space: Any, cell: Any) -> tuple[list[Edge], tuple[int, ...], list[Edge], tuple[int, ...]]:
    """(normal edges, normal concat, reduce edges, reduce concat) of a DARTS genotype or a NAT cell."""
    if hasattr(space, "network_edges"):
        return space.network_edges(cell)
    if hasattr(cell, "output_nodes"):  # a NAT cell: the same cell is stacked as normal and reduction cell
        edges, outputs = list(cell.edges), tuple(cell.output_nodes())
        return edges, outputs, edges, outputs
    if hasattr(cell, "edges") and hasattr(cell, "normal_concat"):
        return cell.edges("normal"), tuple(cell.normal_concat), cell.edges("reduce"), tuple(cell.reduce_concat)
    raise ConfigError(f"cannot read cell edges of a {space.name} cell of type {type(cell).__name__}")


def build_darts_like(space: Any, cell: Any, dataset: str | None, num_classes: int | None, channels: int | None,
                     cells_per_stage: int | None, in_channels: int = 3) -> DartsNetwork:
    """The network of a DARTS genotype or NAT cell. ``cells_per_stage`` N gives 3N+2 layers
    (default: the dataset's own depth, 20 on CIFAR, 14 on ImageNet)."""
    from nasviz.spaces.darts import DATASET_ALIASES, DATASETS

    normal, normal_concat, reduce, reduce_concat = cell_edges(space, cell)
    dataset = DATASET_ALIASES.get(dataset or "", dataset)
    if dataset in DATASETS:
        _, classes, default_c, default_layers = DATASETS[dataset]
    elif num_classes is None:
        raise ConfigError(f"unknown dataset {dataset!r} for {space.name}: pass num_classes or one of {', '.join(DATASETS)}")
    else:
        classes, default_c, default_layers = num_classes, DATASETS["cifar10"][2], DATASETS["cifar10"][3]
    layers = 3 * cells_per_stage + 2 if cells_per_stage else default_layers
    return DartsNetwork(normal, normal_concat, reduce, reduce_concat, num_classes or classes,
                        channels=channels or default_c, layers=layers, in_channels=in_channels,
                        imagenet_stem=dataset == "imagenet")
