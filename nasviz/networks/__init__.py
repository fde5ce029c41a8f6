"""Real PyTorch networks built from cells of every search space.

:func:`build_network` is the single entry point: it takes a space name, a cell (parsed or any
format the space parses) and the dataset or number of classes, and returns an ``nn.Module`` whose
parameter count equals the space's analytic :meth:`~nasviz.spaces.base.SearchSpace.cost` at the
default width and depth.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from nasviz.errors import CellError, ConfigError
from nasviz.networks.ops import count_parameters
from nasviz.spaces import get_space

#: dataset -> (input resolution, number of classes) for datasets a space does not define itself
EXTRA_DATASETS: dict[str, tuple[int, int]] = {"digits": (8, 10), "cifar10": (32, 10), "cifar100": (32, 100),
                                              "ImageNet16-120": (16, 120), "imagenet": (224, 1000)}


def input_resolution(space_name: str, dataset: str | None) -> int:
    """Input image size of a dataset (32 for CIFAR, 16 for ImageNet16-120, 8 for digits...)."""
    from nasviz.spaces.nb201 import DATASET_ALIASES

    dataset = DATASET_ALIASES.get(dataset or "", dataset) or get_space(space_name).default_dataset
    if dataset not in EXTRA_DATASETS:
        raise ConfigError(f"unknown input resolution for dataset {dataset!r}; known: {', '.join(EXTRA_DATASETS)}")
    return EXTRA_DATASETS[dataset][0]


def _classes(space_datasets: dict[str, tuple[int, int]], dataset: str | None, num_classes: int | None) -> int:
    if num_classes is not None:
        if num_classes < 1:
            raise ConfigError(f"num_classes must be positive, got {num_classes}")
        return int(num_classes)
    table = {**space_datasets, **EXTRA_DATASETS}
    if dataset is None or dataset not in table:
        raise ConfigError(f"unknown dataset {dataset!r}: pass num_classes or one of {', '.join(table)}")
    return table[dataset][1]


def build_network(space_name: str, cell: Any, dataset: str | None = None, num_classes: int | None = None,
                  channels: int | None = None, cells_per_stage: int | None = None, in_channels: int = 3) -> nn.Module:
    """The network a cell defines, as a PyTorch module.

    ``channels`` and ``cells_per_stage`` default to the benchmark's own network (NB201: C=16, N=5;
    NB101: 128 stem channels, 3 cells per stack; DARTS/NAT: the space's configuration). Smaller
    values give the reduced proxies used for live training.
    """
    space = get_space(space_name)
    parsed = space.parse(cell)
    validity = space.is_valid(parsed)
    if not validity.valid:
        raise CellError(f"cannot build a network for an invalid {space.name} cell: {validity.reason}")
    if dataset is None and num_classes is None:
        dataset = space.default_dataset
    if space.name == "nb201":
        from nasviz.networks.nb201 import NB201Network
        from nasviz.spaces.nb201 import DATASET_ALIASES, DATASETS

        dataset = DATASET_ALIASES.get(dataset or "", dataset)
        return NB201Network(parsed, _classes(DATASETS, dataset, num_classes), channels=channels or 16,
                            cells_per_stage=cells_per_stage or 5, in_channels=in_channels)
    if space.name == "nb101":
        from nasviz.networks.nb101 import NB101Network

        return NB101Network(parsed, _classes({"cifar10": (32, 10)}, dataset, num_classes), stem_channels=channels or 128,
                            cells_per_stack=cells_per_stage or 3, in_channels=in_channels)
    if space.name in ("darts", "nat"):
        from nasviz.networks.darts import build_darts_like

        return build_darts_like(space, parsed, dataset, num_classes, channels, cells_per_stage, in_channels)
    raise ConfigError(f"no network builder for space {space.name!r}")


__all__ = ["build_network", "count_parameters", "input_resolution"]
