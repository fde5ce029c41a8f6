"""The NAS-Bench-101 network: a 3x3 conv-BN-ReLU stem (128 channels), 3 stacks of 3 modules,
2x2 max-pool downsampling with channel doubling between stacks, global average pool, dense.

Inside a module (the pruned cell), each vertex gets a channel count (the output channels split
evenly over the vertices that feed the output; other vertices take the largest count among the
vertices they feed). A vertex sums a 1x1 conv-BN-ReLU projection of the module input (when wired
to it) and the outputs of its predecessor vertices truncated to its channels, then applies its op.
The module output concatenates the vertices feeding it, plus a projection of the input when the
input is wired straight to the output.
"""

from __future__ import annotations

import torch
from torch import nn

from nasviz.networks.ops import ConvBNReLU
from nasviz.spaces.nb101 import CONV1X1, CONV3X3, MAXPOOL3X3, NB101Cell, pruned_cell


def vertex_channels(matrix: tuple[tuple[int, ...], ...], c_in: int, c_out: int) -> list[int]:
    """Channels of every vertex of a pruned module (input and output included)."""
    n = len(matrix)
    channels = [0] * n
    channels[0], channels[-1] = c_in, c_out
    if n == 2:
        return channels
    feeders = [v for v in range(1, n - 1) if matrix[v][n - 1]]
    share, remainder = divmod(c_out, len(feeders))
    for rank, v in enumerate(feeders):
        channels[v] = share + (1 if rank < remainder else 0)
    for v in reversed(range(1, n - 1)):
        if not matrix[v][n - 1]:
            channels[v] = max(channels[d] for d in range(v + 1, n - 1) if matrix[v][d])
    return channels


class NB101Module(nn.Module):
    """One NB101 module built from a pruned cell."""

    def __init__(self, cell: NB101Cell, c_in: int, c_out: int) -> None:
        super().__init__()
        matrix, ops = cell.matrix, cell.ops
        n = len(ops)
        self.n = n
        self.matrix = matrix
        self.channels = vertex_channels(matrix, c_in, c_out)
        self.projections = nn.ModuleDict()
        self.vertex_ops = nn.ModuleDict()
        for v in range(1, n - 1):
            c = self.channels[v]
            if matrix[0][v]:
                self.projections[str(v)] = ConvBNReLU(c_in, c, 1)
            if ops[v] == CONV3X3:
                self.vertex_ops[str(v)] = ConvBNReLU(c, c, 3)
            elif ops[v] == CONV1X1:
                self.vertex_ops[str(v)] = ConvBNReLU(c, c, 1)
            elif ops[v] == MAXPOOL3X3:
                self.vertex_ops[str(v)] = nn.MaxPool2d(3, stride=1, padding=1)
            else:
                raise ValueError(f"unexpected NB101 op {ops[v]!r} at vertex {v}")
        self.output_projection = ConvBNReLU(c_in, c_out, 1) if matrix[0][n - 1] else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, matrix = self.n, self.matrix
        outputs: list[torch.Tensor | None] = [x] + [None] * (n - 1)
        for v in range(1, n - 1):
            c = self.channels[v]
            parts = [outputs[u][:, :c] for u in range(1, v) if matrix[u][v]]  # type: ignore[index]
            if matrix[0][v]:
                parts.append(self.projections[str(v)](x))
            total = parts[0]
            for part in parts[1:]:
                total = total + part
            outputs[v] = self.vertex_ops[str(v)](total)
        feeders = [outputs[v] for v in range(1, n - 1) if matrix[v][n - 1]]
        if not feeders:
            assert self.output_projection is not None
            return self.output_projection(x)
        out = torch.cat(feeders, dim=1) if len(feeders) > 1 else feeders[0]  # type: ignore[arg-type]
        if self.output_projection is not None:
            out = out + self.output_projection(x)
        return out  # type: ignore[return-value]


class NB101Network(nn.Module):
    """The NB101 network for one cell (pruned first, like the benchmark)."""

    def __init__(self, cell: NB101Cell, num_classes: int, stem_channels: int = 128, cells_per_stack: int = 3,
                 num_stacks: int = 3, in_channels: int = 3) -> None:
        super().__init__()
        pruned = pruned_cell(cell)
        c = stem_channels
        self.stem = ConvBNReLU(in_channels, c, 3)
        layers: list[nn.Module] = []
        c_in = c
        for stack in range(num_stacks):
            if stack > 0:
                layers.append(nn.MaxPool2d(2, stride=2, ceil_mode=True))
                c *= 2
            for _ in range(cells_per_stack):
                layers.append(NB101Module(pruned, c_in, c))
                c_in = c
        self.layers = nn.Sequential(*layers)
        self.classifier = nn.Linear(c, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.layers(self.stem(x))
        return self.classifier(x.mean(dim=(2, 3)))
