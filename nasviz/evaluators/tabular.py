"""Benchmark look-up: the value of a metric in the imported table of the space (``nasviz.data``).

Semantics of ``noise``:

- ``"mean"`` (default): the table's column value, i.e. the aggregate the importer stored (NB201:
  mean over the benchmark's seeds; NB101: mean of the 3 repeats when the source had them).
- an integer seed: one repeat drawn per cell with a generator seeded by (seed, cell id), like
  NB101's stochastic ``query`` but reproducible; tables without per-repeat values give the mean.

A cell missing from the table gives NaN with an error message (the result is not cached).
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from nasviz.errors import ConfigError, DataError
from nasviz.evaluators.base import Evaluator
from nasviz.spaces import SearchSpace


class TabularEvaluator(Evaluator):
    kind = "tabular"
    runs_in_pool = False
    cacheable = False

    def __init__(self, space: str | SearchSpace, metric: str | None = None, noise: str | int = "mean",
                 max_workers: int | None = None, use_cache: bool = True) -> None:
        super().__init__(space, max_workers=max_workers, use_cache=use_cache)
        from nasviz.data import find_metric, load_table

        self.table = load_table(self.space.name)
        spec = find_metric(self.table, "accuracy") if metric is None else self.table.metric(metric)
        self.metric = spec.key
        self.metric_spec = spec
        self.higher_is_better = spec.higher_is_better
        self.unit = spec.unit
        if isinstance(noise, str) and noise != "mean":
            try:
                noise = int(noise)
            except ValueError:
                raise ConfigError(f"noise must be 'mean' or an integer seed, got {noise!r}") from None
        if isinstance(noise, bool):
            raise ConfigError("noise must be 'mean' or an integer seed, not a boolean")
        self.noise: str | int = noise

    def config(self) -> dict[str, Any]:
        return {"metric": self.metric, "noise": self.noise}

    def provenance(self) -> dict[str, Any]:
        out: dict[str, Any] = {"data_version": self.table.data_version, "metric_label": self.metric_spec.label,
                               "source": self.metric_spec.source}
        if self.metric_spec.aggregate:
            out["aggregate"] = self.metric_spec.aggregate
        out["semantics"] = "column value (mean)" if self.noise == "mean" else f"one repeat drawn with seed {self.noise}"
        return out

    def evaluate_cell(self, cell: Any) -> tuple[float, dict[str, Any]]:
        cell_id = self.space.cell_id(cell)
        if self.noise == "mean":
            value = self.table.lookup(cell_id, self.metric)
        else:
            digest = hashlib.sha256(f"{self.noise}:{cell_id}".encode()).digest()
            rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
            value = self.table.sample_repeat(cell_id, self.metric, rng)
        if np.isnan(value):
            where = "is not in" if self.table.row_of(cell_id) is None else f"has no {self.metric} value in"
            raise DataError(f"{self.space.name} cell {cell_id} {where} the imported table")
        return float(value), {}
