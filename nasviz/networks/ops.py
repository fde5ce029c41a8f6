"""Building blocks shared by the cell networks (NB201, NB101, DARTS, NAT).

Each block is written from the published definitions of the benchmarks: convolutions have no bias
and are followed by a batch norm with an affine scale and shift (2 parameters per channel).
"""

from __future__ import annotations

import torch
from torch import nn


class ReLUConvBN(nn.Sequential):
    """ReLU, a bias-free convolution, then batch norm (NB201 and DARTS ``ReLUConvBN``)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, dilation=dilation, bias=False),
            nn.BatchNorm2d(c_out),
        )


class ConvBNReLU(nn.Sequential):
    """A bias-free convolution, batch norm, then ReLU (NB101 ``conv_bn_relu``)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int = 1) -> None:
        super().__init__(
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False),
            nn.BatchNorm2d(c_out),
            nn.ReLU(inplace=False),
        )


class Zero(nn.Module):
    """The ``none`` op: a zero tensor of the output shape (strided when the edge reduces)."""

    def __init__(self, stride: int = 1, c_out: int | None = None) -> None:
        super().__init__()
        self.stride = stride
        self.c_out = c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride > 1:
            x = x[:, :, :: self.stride, :: self.stride]
        if self.c_out is not None and self.c_out != x.shape[1]:
            shape = (x.shape[0], self.c_out, x.shape[2], x.shape[3])
            return x.new_zeros(shape)
        return x.mul(0.0)


class FactorizedReduce(nn.Module):
    """Halve the resolution with two 1x1 stride-2 convolutions on shifted inputs, concatenated (DARTS)."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        if c_out % 2:
            raise ValueError(f"FactorizedReduce needs an even number of output channels, got {c_out}")
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.conv_2 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        shifted = nn.functional.pad(x[:, :, 1:, 1:], (0, 1, 0, 1))
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(shifted)], dim=1))


class DilConv(nn.Sequential):
    """ReLU, depthwise (dilated) convolution, pointwise convolution, batch norm (DARTS)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int, dilation: int) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_in, kernel, stride=stride, padding=padding, dilation=dilation, groups=c_in, bias=False),
            nn.Conv2d(c_in, c_out, 1, bias=False),
            nn.BatchNorm2d(c_out),
        )


class SepConv(nn.Sequential):
    """Two stacked :class:`DilConv` with dilation 1; only the first one strides (DARTS)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int) -> None:
        super().__init__(
            DilConv(c_in, c_in, kernel, stride, padding, 1),
            DilConv(c_in, c_out, kernel, 1, padding, 1),
        )


def avg_pool_3x3(stride: int = 1) -> nn.Module:
    return nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False)


def max_pool_3x3(stride: int = 1) -> nn.Module:
    return nn.MaxPool2d(3, stride=stride, padding=1)


def darts_op(name: str, channels: int, stride: int) -> nn.Module:
    """A DARTS / NAT operation on ``channels`` channels (``stride`` 2 on reduction edges from the inputs)."""
    c = channels
    if name in ("none", "null"):
        return Zero(stride)
    if name == "skip_connect":
        return nn.Identity() if stride == 1 else FactorizedReduce(c, c)
    if name == "avg_pool_3x3":
        return avg_pool_3x3(stride)
    if name == "max_pool_3x3":
        return max_pool_3x3(stride)
    if name == "sep_conv_3x3":
        return SepConv(c, c, 3, stride, 1)
    if name == "sep_conv_5x5":
        return SepConv(c, c, 5, stride, 2)
    if name == "sep_conv_7x7":
        return SepConv(c, c, 7, stride, 3)
    if name == "dil_conv_3x3":
        return DilConv(c, c, 3, stride, 2, 2)
    if name == "dil_conv_5x5":
        return DilConv(c, c, 5, stride, 4, 2)
    if name == "conv_7x1_1x7":
        return nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(c, c, (1, 7), stride=(1, stride), padding=(0, 3), bias=False),
            nn.Conv2d(c, c, (7, 1), stride=(stride, 1), padding=(3, 0), bias=False),
            nn.BatchNorm2d(c),
        )
    if name in ("conv_1x1", "conv_3x3", "conv_5x5", "conv_7x7"):
        kernel = int(name[-1])
        return ReLUConvBN(c, c, kernel, stride, kernel // 2)
    raise ValueError(f"unknown DARTS/NAT op {name!r}")


def count_parameters(module: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def count_macs(module: nn.Module, input_shape: tuple[int, ...]) -> int:
    """Multiply-adds of convolutions and linear layers in one forward pass of a single input
    (batch norm, activations, pooling and additions are not counted, as in the spaces' cost models)."""
    total = 0

    def conv_hook(layer: nn.Conv2d, _inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        nonlocal total
        kh, kw = layer.kernel_size
        total += (output.numel() // output.shape[0]) * (layer.in_channels // layer.groups) * kh * kw

    def linear_hook(layer: nn.Linear, _inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        nonlocal total
        total += layer.in_features * layer.out_features

    handles = []
    for layer in module.modules():
        if isinstance(layer, nn.Conv2d):
            handles.append(layer.register_forward_hook(conv_hook))
        elif isinstance(layer, nn.Linear):
            handles.append(layer.register_forward_hook(linear_hook))
    was_training = module.training
    module.eval()
    device = next(module.parameters()).device
    try:
        with torch.no_grad():
            module(torch.zeros(1, *input_shape, device=device))
    finally:
        for handle in handles:
            handle.remove()
        module.train(was_training)
    return total
