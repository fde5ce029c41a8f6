"""Latency on this machine: median forward time of the cell's full network, batch 1, on the CPU."""

from __future__ import annotations

import platform
import statistics
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch

from nasviz.errors import ConfigError
from nasviz.evaluators.base import Evaluator
from nasviz.networks import build_network, input_resolution
from nasviz.spaces import SearchSpace


@lru_cache(maxsize=1)
def cpu_model() -> str:
    """The CPU's model name (from /proc/cpuinfo on Linux)."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine() or "unknown CPU"


class LatencyEvaluator(Evaluator):
    """Median milliseconds per forward pass after a warm-up, within a time budget per cell."""

    kind = "latency"
    runs_in_pool = True
    metric = "latency_ms"
    higher_is_better = False
    unit = "ms"

    def __init__(self, space: str | SearchSpace, dataset: str | None = None, batch_size: int = 1, threads: int = 1,
                 warmup: int = 3, repeats: int = 30, budget_s: float = 1.0, channels: int | None = None,
                 cells_per_stage: int | None = None, max_workers: int | None = None, use_cache: bool = True) -> None:
        super().__init__(space, max_workers=max_workers, use_cache=use_cache)
        self.dataset = dataset or self.space.default_dataset
        if int(batch_size) < 1 or int(threads) < 1 or int(repeats) < 1 or int(warmup) < 0:
            raise ConfigError("latency needs batch_size, threads and repeats >= 1 and warmup >= 0")
        if budget_s <= 0:
            raise ConfigError(f"budget_s must be positive, got {budget_s}")
        self.batch_size = int(batch_size)
        self.threads = int(threads)
        self.warmup = int(warmup)
        self.repeats = int(repeats)
        self.budget_s = float(budget_s)
        self.channels = channels
        self.cells_per_stage = cells_per_stage

    def config(self) -> dict[str, Any]:
        return {"dataset": self.dataset, "batch_size": self.batch_size, "threads": self.threads, "warmup": self.warmup,
                "repeats": self.repeats, "budget_s": self.budget_s, "channels": self.channels,
                "cells_per_stage": self.cells_per_stage}

    def cache_context(self) -> dict[str, Any]:
        return {"cpu": cpu_model(), "torch": torch.__version__, "platform": platform.machine()}

    def provenance(self) -> dict[str, Any]:
        return {"device": "this machine", "cpu": cpu_model(), "threads": self.threads, "torch": torch.__version__,
                "platform": platform.platform()}

    def evaluate_cell(self, cell: Any) -> tuple[float, dict[str, Any]]:
        threads = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        try:
            return self._measure(cell)
        finally:
            torch.set_num_threads(threads)

    def _measure(self, cell: Any) -> tuple[float, dict[str, Any]]:
        start = time.perf_counter()
        torch.manual_seed(0)
        net = build_network(self.space.name, cell, dataset=self.dataset, channels=self.channels,
                            cells_per_stage=self.cells_per_stage).eval()
        size = input_resolution(self.space.name, self.dataset)
        x = torch.randn(self.batch_size, 3, size, size)
        times: list[float] = []
        with torch.inference_mode():
            for _ in range(self.warmup):  # fewer warm-up passes when one pass is slow
                net(x)
                if time.perf_counter() - start > self.budget_s / 4:
                    break
            deadline = start + self.budget_s
            # stop when the next pass would end past the budget (but take at least 3 samples)
            while len(times) < self.repeats and (len(times) < 3 or time.perf_counter() + times[-1] < deadline):
                tick = time.perf_counter()
                net(x)
                times.append(time.perf_counter() - tick)
        median_ms = 1000.0 * statistics.median(times)
        return median_ms, {"samples": len(times), "min_ms": round(1000.0 * min(times), 4)}
