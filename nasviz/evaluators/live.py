"""Live training: build the cell's real network (reduced width and depth) and train it briefly.

The default is a proxy task that needs no download: scikit-learn's 8x8 handwritten digits, a
seeded 70/30 train/validation split, the NB201 network at C=8 with 1 cell per stage, one epoch of
SGD (batch 32, lr 0.05, Nesterov momentum, cosine schedule). Training is single-threaded and
seeded, so the same seed gives the same accuracy. The value is the validation accuracy in percent.

It is a weak proxy: use it to check that a cell trains, or for spaces and cells without a benchmark table, not as a
stand-in for CIFAR-10 accuracy (why one epoch, and how it ranks NB201 cells: docs/live-evaluation.md).
"""

from __future__ import annotations

import math
import time
from typing import Any

import torch
from torch import nn

from nasviz.errors import ConfigError
from nasviz.evaluators.base import Evaluator
from nasviz.evaluators.datasets import ImageSplit, cifar10_version, digits_version, load_cifar10_split, load_digits_split
from nasviz.networks import build_network
from nasviz.networks.ops import count_parameters
from nasviz.spaces import SearchSpace

#: space -> (channels, cells per stage) of the default proxy network
PROXY_SIZES: dict[str, tuple[int, int]] = {"nb201": (8, 1), "nb101": (16, 1), "darts": (8, 1), "nat": (8, 1)}


class LiveTrainingEvaluator(Evaluator):
    kind = "live"
    runs_in_pool = True
    metric = "val_accuracy"
    higher_is_better = True
    unit = "%"

    def __init__(self, space: str | SearchSpace, dataset: str = "digits", data_dir: str | None = None, seed: int = 0,
                 epochs: int = 1, batch_size: int = 32, lr: float = 0.05, weight_decay: float = 5e-4,
                 channels: int | None = None, cells_per_stage: int | None = None, image_size: int = 8,
                 train_size: int = 5000, val_size: int = 1000, max_workers: int | None = None,
                 use_cache: bool = True) -> None:
        super().__init__(space, max_workers=max_workers, use_cache=use_cache)
        if dataset not in ("digits", "cifar10"):
            raise ConfigError(f"live training dataset must be 'digits' or 'cifar10', got {dataset!r}")
        if dataset == "cifar10" and not data_dir:
            raise ConfigError("live training on cifar10 needs data_dir: a folder with data_batch_1..5 and test_batch")
        for name, value in (("epochs", epochs), ("batch_size", batch_size)):
            if int(value) < 1:
                raise ConfigError(f"{name} must be at least 1, got {value}")
        if lr <= 0:
            raise ConfigError(f"lr must be positive, got {lr}")
        default_channels, default_cells = PROXY_SIZES.get(self.space.name, (8, 1))
        self.dataset = dataset
        self.data_dir = str(data_dir) if data_dir else None
        self.seed = int(seed)
        self.epochs = int(epochs)
        self.batch_size = int(batch_size)
        self.lr = float(lr)
        self.weight_decay = float(weight_decay)
        self.channels = int(channels or default_channels)
        self.cells_per_stage = int(cells_per_stage or default_cells)
        self.image_size = int(image_size)
        self.train_size = int(train_size)
        self.val_size = int(val_size)

    def config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"dataset": self.dataset, "seed": self.seed, "epochs": self.epochs,
                                  "batch_size": self.batch_size, "lr": self.lr, "weight_decay": self.weight_decay,
                                  "channels": self.channels, "cells_per_stage": self.cells_per_stage}
        if self.dataset == "digits":
            config["image_size"] = self.image_size
        else:
            config.update(data_dir=self.data_dir, train_size=self.train_size, val_size=self.val_size)
        return config

    def data(self) -> ImageSplit:
        if self.dataset == "digits":
            return load_digits_split(seed=self.seed, image_size=self.image_size)
        return load_cifar10_split(str(self.data_dir), seed=self.seed, train_size=self.train_size, val_size=self.val_size)

    def prepare(self) -> None:
        self.data()

    def cache_context(self) -> dict[str, Any]:
        return {"data_version": self.provenance()["data_version"], "torch": torch.__version__}

    def provenance(self) -> dict[str, Any]:
        version = digits_version() if self.dataset == "digits" else cifar10_version(str(self.data_dir))
        return {"data_version": version, "seed": self.seed, "torch": torch.__version__}

    def evaluate_cell(self, cell: Any) -> tuple[float, dict[str, Any]]:
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return self._train(cell)
        finally:
            torch.set_num_threads(threads)

    def _train(self, cell: Any) -> tuple[float, dict[str, Any]]:
        split = self.data()
        start = time.perf_counter()
        cpu_start = time.process_time()
        torch.manual_seed(self.seed)
        net = build_network(self.space.name, cell, num_classes=split.num_classes, channels=self.channels,
                            cells_per_stage=self.cells_per_stage, in_channels=split.in_channels)
        steps_per_epoch = max(1, len(split.y_train) // self.batch_size)
        optimizer = torch.optim.SGD(net.parameters(), lr=self.lr, momentum=0.9, nesterov=True,
                                    weight_decay=self.weight_decay)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=self.epochs * steps_per_epoch)
        order = torch.Generator().manual_seed(self.seed + 1)
        loss_fn = nn.CrossEntropyLoss()
        net.train()
        loss = torch.tensor(float("nan"))
        loss_sum = 0.0
        for _ in range(self.epochs):
            permutation = torch.randperm(len(split.y_train), generator=order)
            for step in range(steps_per_epoch):
                batch = permutation[step * self.batch_size:(step + 1) * self.batch_size]
                loss = loss_fn(net(split.x_train[batch]), split.y_train[batch])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                schedule.step()
                loss_sum += float(loss.detach())
        net.eval()
        correct = 0
        val_loss = 0.0
        with torch.no_grad():
            for begin in range(0, len(split.y_val), 512):
                logits = net(split.x_val[begin:begin + 512])
                labels = split.y_val[begin:begin + 512]
                correct += int((logits.argmax(1) == labels).sum())
                val_loss += float(nn.functional.cross_entropy(logits, labels, reduction="sum"))
        accuracy = 100.0 * correct / len(split.y_val)
        final_loss = float(loss.detach())
        extras = {"train_loss": final_loss if math.isfinite(final_loss) else None,
                  "val_loss": val_loss / len(split.y_val) if math.isfinite(val_loss) else None,
                  "train_loss_sum": loss_sum if math.isfinite(loss_sum) else None,
                  "proxy_params": count_parameters(net), "train_seconds": round(time.perf_counter() - start, 4),
                  "cpu_seconds": round(time.process_time() - cpu_start, 4)}
        return accuracy, extras
