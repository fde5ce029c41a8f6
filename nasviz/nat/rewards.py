"""Rewards NAT's policy learns from: R(transformed) - R(original), with R one of

- :class:`TabularReward`: a metric of the imported benchmark table (NB201: 12-epoch CIFAR-10 validation accuracy
  for training, 200-epoch test accuracy for evaluation);
- :class:`EvaluatorReward`: any evaluator of :mod:`nasviz.evaluators` (e.g. ``live:nat,epochs=2``);
- :class:`nasviz.nat.supernet.SupernetReward`: accuracy under the shared weights of a trained supernet.

A transformed cell that is invalid (its output no longer depends on its input) scores ``invalid_value``: the
chance accuracy of a constant network (NB201 degenerate cells are in the table and score their real value).
"""

from __future__ import annotations

import contextlib
import io
import math
import re
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

import numpy as np

from nasviz.errors import ConfigError, DataError
from nasviz.fileio import atomic_write_bytes

#: NAT's training signal and evaluation metric on NB201 (docs/nat.md)
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
    """A benchmark-table metric. NB201 cells are looked up through arrays indexed by their base-5 code.

    The column is read through a small cache (:func:`nb201_column`), so scoring a cell does not read the whole table;
    :attr:`table` loads the table itself on demand."""

    name = "tabular"
    measured = True

    def __init__(self, space: str = "nb201", metric: str = NB201_TRAIN_METRIC) -> None:
        if space != "nb201":
            raise ConfigError(f"the tabular NAT reward needs a benchmark with every transformed cell: nb201, not {space!r}")
        self.space = space
        self._by_code, self.metric, self.data_version = nb201_column(metric)

    @property
    def table(self) -> Any:
        from nasviz.data import load_table

        return load_table(self.space)

    def values(self, cells: list[Any]) -> np.ndarray:
        return self._by_code[np.array([c.code for c in cells], dtype=np.int64)]

    def value_by_code(self, codes: np.ndarray) -> np.ndarray:
        return self._by_code[codes]

    def describe(self) -> dict[str, Any]:
        return {"kind": self.name, "space": self.space, "metric": self.metric, "data_version": self.data_version}


_COLUMN_CACHE_FORMAT = 1


def _column_cache_path(metric: str) -> Path:
    from nasviz.paths import home_dir

    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", metric)
    return home_dir() / "cache" / "nat" / f"nb201-{safe}.npz"


def nb201_column(metric: str) -> tuple[np.ndarray, str, str]:
    """(values indexed by base-5 code, the metric's key, the table's data version) of an NB201 metric.

    Cached in ``NASVIZ_HOME/cache/nat/`` as a plain ``.npz`` stamped with the table file's size and modification
    time (the imported table, else the embedded one): a re-import invalidates it, and a hit reads 125 KB instead of
    the whole table (no pyarrow)."""
    from nasviz.data.store import load_table, table_file

    path = table_file("nb201")
    try:
        stat = path.stat()  # type: ignore[union-attr]
    except (FileNotFoundError, AttributeError):
        load_table("nb201")  # raises the DataError naming the import command
        raise
    stamp = np.array([_COLUMN_CACHE_FORMAT, stat.st_size, stat.st_mtime_ns], dtype=np.int64)
    cache = _column_cache_path(metric)
    try:
        with np.load(cache, allow_pickle=False) as data:
            if np.array_equal(data["stamp"], stamp):
                return data["values"], str(data["key"]), str(data["data_version"])
    except (OSError, KeyError, ValueError):
        pass
    table = load_table("nb201")
    key = table.metric(metric).key
    values = _nb201_column_by_code(table, key)
    buffer = io.BytesIO()
    np.savez(buffer, stamp=stamp, values=values, key=np.array(key), data_version=np.array(table.data_version))
    with contextlib.suppress(OSError):  # a read-only home: no cache, same values
        atomic_write_bytes(cache, buffer.getvalue())
    return values, key, table.data_version


def _nb201_column_by_code(table: Any, metric: str) -> np.ndarray:
    from nasviz.spaces.nb201 import NUM_CELLS, official_index_table

    index_of_code = official_index_table()
    column = table.values(metric)
    row_of = [table.row_of(str(int(i))) for i in index_of_code]
    rows = np.array([-1 if r is None else r for r in row_of], dtype=np.int64)
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
