"""Rewards NAT's policy learns from: R(transformed) - R(original), with R one of

- :class:`TabularReward`: a metric of the imported benchmark table (NB201: 12-epoch CIFAR-10 validation accuracy
  for training, 200-epoch test accuracy for evaluation);
- :class:`EvaluatorReward`: any evaluator of :mod:`nasviz.evaluators` (e.g. ``live:nat,epochs=2``);
- :class:`nasviz.nat.supernet.SupernetReward`: accuracy under the shared weights of a trained supernet.

A transformed cell that is invalid (its output no longer depends on its input) scores ``invalid_value``: the
chance accuracy of a constant network (NB201 degenerate cells are in the table and score their real value).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from nasviz.errors import ConfigError, DataError

#: the issue's training and evaluation metrics on NB201
NB201_TRAIN_METRIC = "accuracy/cifar10/valid/12ep"
NB201_EVAL_METRIC = "accuracy/cifar10/test/200ep"


class Reward(ABC):
    """R(cell) for batches of cells of one space (higher is better)."""

    name: str = ""
    space: str = ""
    invalid_value: float = 10.0
    #: whether the values are measured (table) or predicted (supernet, live proxy)
    measured: bool = False

    @abstractmethod
    def values(self, cells: list[Any]) -> np.ndarray:
        """R of every cell (invalid cells: ``invalid_value``)."""

    def describe(self) -> dict[str, Any]:
        return {"kind": self.name, "space": self.space}


class TabularReward(Reward):
    """A benchmark-table metric. NB201 cells are looked up through arrays indexed by their base-5 code."""

    name = "tabular"
    measured = True

    def __init__(self, space: str = "nb201", metric: str = NB201_TRAIN_METRIC) -> None:
        from nasviz.data import load_table

        if space != "nb201":
            raise ConfigError(f"the tabular NAT reward needs a benchmark with every transformed cell: nb201, not {space!r}")
        self.space = space
        self.table = load_table(space)
        self.metric = self.table.metric(metric).key
        self._by_code = _nb201_column_by_code(self.table, self.metric)

    def values(self, cells: list[Any]) -> np.ndarray:
        return self._by_code[np.array([c.code for c in cells], dtype=np.int64)]

    def value_by_code(self, codes: np.ndarray) -> np.ndarray:
        return self._by_code[codes]

    def describe(self) -> dict[str, Any]:
        return {"kind": self.name, "space": self.space, "metric": self.metric, "data_version": self.table.data_version}


def _nb201_column_by_code(table: Any, metric: str) -> np.ndarray:
    from nasviz.spaces.nb201 import NUM_CELLS, official_index_table

    index_of_code = official_index_table()
    column = table.values(metric)
    rows = np.array([table.row_of(str(int(i))) if table.row_of(str(int(i))) is not None else -1 for i in index_of_code])
    if (rows < 0).any():
        raise DataError(f"the nb201 table lacks {int((rows < 0).sum())} of the {NUM_CELLS} cells; re-import it")
    values = column[rows].astype(np.float64)
    if np.isnan(values).any():
        raise DataError(f"the nb201 table has no {metric} value for {int(np.isnan(values).sum())} cells")
    return values


class EvaluatorReward(Reward):
    """Any nasviz evaluator (``tabular:...``, ``live:...``, ...); NaN results count as invalid."""

    name = "evaluator"

    def __init__(self, spec: str, space: str) -> None:
        from nasviz.evaluators import make_evaluator

        self.space = space
        self.evaluator = make_evaluator(spec, space=space) if "space" not in spec else make_evaluator(spec)
        if not self.evaluator.higher_is_better:
            raise ConfigError(f"NAT maximises its reward; {self.evaluator.metric} is lower-is-better")
        self.measured = self.evaluator.kind == "tabular"

    def values(self, cells: list[Any]) -> np.ndarray:
        from nasviz.nat.cells import get_adapter

        adapter = get_adapter(self.space)
        out = np.full(len(cells), self.invalid_value, dtype=np.float64)
        todo = []
        for i, cell in enumerate(cells):
            validity, _ = adapter.transformed_validity(cell)
            if validity.valid or adapter.name == "nb201":  # NB201 degenerate cells are members with their own results
                todo.append(i)
        if todo:
            # NAT cells are evaluated pruned (what would be built); NB201 cells as they are (table ids)
            chosen = [cells[i] if adapter.name == "nb201" else adapter.prune(cells[i]) for i in todo]
            results = self.evaluator.evaluate(chosen)
            for i, result in zip(todo, results, strict=True):
                out[i] = result.value if not math.isnan(result.value) else self.invalid_value
        return out

    def describe(self) -> dict[str, Any]:
        return {"kind": self.name, "space": self.space, "evaluator": self.evaluator.spec_string()}
