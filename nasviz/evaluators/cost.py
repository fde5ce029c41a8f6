"""Exact network cost from the search space's analytic model: parameters or multiply-adds."""

from __future__ import annotations

from typing import Any

from nasviz.errors import ConfigError
from nasviz.evaluators.base import Evaluator
from nasviz.spaces import SearchSpace

COST_METRICS = {"params": "parameters", "flops": "multiply-adds"}


class CostEvaluator(Evaluator):
    kind = "cost"
    runs_in_pool = False
    cacheable = False
    higher_is_better = False

    def __init__(self, space: str | SearchSpace, metric: str = "params", dataset: str | None = None,
                 max_workers: int | None = None, use_cache: bool = True) -> None:
        super().__init__(space, max_workers=max_workers, use_cache=use_cache)
        if metric not in COST_METRICS:
            raise ConfigError(f"unknown cost metric {metric!r}; choose one of {', '.join(COST_METRICS)}")
        self.metric = metric
        self.unit = COST_METRICS[metric]
        self.dataset = self.space.check_dataset(dataset) if dataset is not None else self.space.default_dataset

    def config(self) -> dict[str, Any]:
        return {"metric": self.metric, "dataset": self.dataset}

    def provenance(self) -> dict[str, Any]:
        return {"source": f"analytic cost model of {self.space.name}", "dataset": self.dataset}

    def evaluate_cell(self, cell: Any) -> tuple[float, dict[str, Any]]:
        cost = self.space.cost(cell, self.dataset)
        return float(cost.params if self.metric == "params" else cost.flops), {}
