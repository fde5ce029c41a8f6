"""The NAS-Bench-201 TinyNetwork: stem, three stages of cells separated by ResNet reduction blocks.

Default size C=16, N=5 (the benchmark's network): stem 3x3 conv + BN; N cells at C, a residual
reduction block to 2C; N cells; a block to 4C; N cells; BN + ReLU, global average pooling, linear.
"""

from __future__ import annotations

import torch
from torch import nn

from nasviz.networks.ops import ReLUConvBN, avg_pool_3x3
from nasviz.spaces.nb201 import EDGES, NB201Cell


def nb201_op(name: str, channels: int) -> nn.Module | None:
    """The module of an NB201 edge op (``None`` for ``none``, which contributes zeros)."""
    if name == "none":
        return None
    if name == "skip_connect":
        return nn.Identity()
    if name == "nor_conv_1x1":
        return ReLUConvBN(channels, channels, 1, 1, 0)
    if name == "nor_conv_3x3":
        return ReLUConvBN(channels, channels, 3, 1, 1)
    if name == "avg_pool_3x3":
        return avg_pool_3x3(1)
    raise ValueError(f"unknown NB201 op {name!r}")


class NB201InferCell(nn.Module):
    """A fixed NB201 cell: node j is the sum of its incoming edge ops; the output is node 3.

    ``none`` edges are left out of the sum (they add zeros), so a node whose edges are all ``none``
    is a zero tensor.
    """

    def __init__(self, cell: NB201Cell, channels: int) -> None:
        super().__init__()
        self.edges: list[tuple[int, int, int]] = []  # (src, dst, module index)
        self.layers = nn.ModuleList()
        for (src, dst), op in zip(EDGES, cell.ops, strict=True):
            module = nb201_op(op, channels)
            if module is not None:
                self.edges.append((src, dst, len(self.layers)))
                self.layers.append(module)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes: list[torch.Tensor | None] = [x, None, None, None]
        for src, dst, index in self.edges:
            source = nodes[src]
            if source is None:
                source = torch.zeros_like(x)
            out = self.layers[index](source)
            nodes[dst] = out if nodes[dst] is None else nodes[dst] + out
        return nodes[3] if nodes[3] is not None else torch.zeros_like(x)


class ResNetBasicBlock(nn.Module):
    """NB201 reduction block: two ReLU-Conv-BN 3x3 (the first strided) plus an avgpool + 1x1 conv shortcut."""

    def __init__(self, c_in: int, c_out: int, stride: int = 2) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, stride, 1)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, 1)
        if stride == 2:
            self.shortcut: nn.Module = nn.Sequential(nn.AvgPool2d(2, stride=2), nn.Conv2d(c_in, c_out, 1, bias=False))
        elif c_in != c_out:
            self.shortcut = ReLUConvBN(c_in, c_out, 1, 1, 0)
        else:
            self.shortcut = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shortcut(x) + self.conv_b(self.conv_a(x))


class NB201Network(nn.Module):
    """The NB201 TinyNetwork for one cell."""

    def __init__(self, cell: NB201Cell, num_classes: int, channels: int = 16, cells_per_stage: int = 5,
                 in_channels: int = 3) -> None:
        super().__init__()
        c = channels
        self.stem = nn.Sequential(nn.Conv2d(in_channels, c, 3, padding=1, bias=False), nn.BatchNorm2d(c))
        layers: list[nn.Module] = []
        for stage in range(3):
            if stage > 0:
                layers.append(ResNetBasicBlock(c, 2 * c, 2))
                c *= 2
            layers.extend(NB201InferCell(cell, c) for _ in range(cells_per_stage))
        self.cells = nn.Sequential(*layers)
        self.lastact = nn.Sequential(nn.BatchNorm2d(c), nn.ReLU(inplace=False))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.lastact(self.cells(self.stem(x)))
        return self.classifier(torch.flatten(self.global_pooling(x), 1))
