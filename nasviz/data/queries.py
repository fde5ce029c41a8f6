"""Exact queries over a whole benchmark table (vectorised numpy; NaN rows are ignored)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from nasviz.data.table import BenchmarkTable
from nasviz.errors import DataError


@dataclass(frozen=True)
class Optimum:
    """The best cell of a table for one metric (under a constraint when one was given)."""

    space: str
    key: str
    cell_id: str
    row: int
    value: float
    maximize: bool
    considered: int
    constraint_key: str | None = None
    max_value: float | None = None
    constraint_value: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass(frozen=True)
class ParetoFront:
    """Non-dominated cells for two metrics, ordered by ``key_b`` from best to worst."""

    space: str
    key_a: str
    key_b: str
    maximize_a: bool
    minimize_b: bool
    rows: np.ndarray
    cell_ids: list[str]
    values_a: np.ndarray
    values_b: np.ndarray
    considered: int

    def __len__(self) -> int:
        return len(self.rows)

    def to_records(self) -> list[dict[str, Any]]:
        return [{"cell_id": cid, self.key_a: float(a), self.key_b: float(b)}
                for cid, a, b in zip(self.cell_ids, self.values_a, self.values_b, strict=True)]


def _best_row(values: np.ndarray, mask: np.ndarray, maximize: bool) -> int | None:
    valid = mask & ~np.isnan(values)
    if not valid.any():
        return None
    oriented = np.where(valid, values if maximize else -values, -np.inf)
    return int(np.argmax(oriented))  # first row among ties: deterministic


def optimum(table: BenchmarkTable, key: str, maximize: bool = True) -> Optimum:
    """The cell with the best value of ``key`` over the whole table."""
    values = table.values(key)
    mask = ~np.isnan(values)
    row = _best_row(values, mask, maximize)
    if row is None:
        raise DataError(f"{table.space} table has no value for {key}")
    return Optimum(table.space, key, table.cell_ids[row], row, float(values[row]), maximize, int(mask.sum()))


def constrained_optimum(table: BenchmarkTable, key: str, constraint_key: str, max_value: float,
                        maximize: bool = True) -> Optimum:
    """Best ``key`` among cells with ``constraint_key <= max_value`` (e.g. latency <= L ms).
    DataError when no cell satisfies the constraint (the message gives the smallest value)."""
    values = table.values(key)
    limits = table.values(constraint_key)
    both = ~np.isnan(values) & ~np.isnan(limits)
    feasible = both & (limits <= max_value)
    row = _best_row(values, feasible, maximize)
    if row is None:
        smallest = float(np.nanmin(np.where(both, limits, np.nan))) if both.any() else float("nan")
        raise DataError(f"no {table.space} cell has {constraint_key} <= {max_value:g} "
                        f"(smallest with a {key} value: {smallest:g})")
    return Optimum(table.space, key, table.cell_ids[row], row, float(values[row]), maximize, int(feasible.sum()),
                   constraint_key, float(max_value), float(limits[row]))


def pareto_front(table: BenchmarkTable, key_a: str, key_b: str, maximize_a: bool = True,
                 minimize_b: bool = True) -> ParetoFront:
    """Exact Pareto front of (``key_a``, ``key_b``) over all cells with both values, e.g. accuracy
    (maximised) against latency (minimised). Among cells with identical values the first row is kept."""
    a_all, b_all = table.values(key_a), table.values(key_b)
    rows = np.flatnonzero(~np.isnan(a_all) & ~np.isnan(b_all))
    a = a_all[rows] if maximize_a else -a_all[rows]  # oriented: larger is better
    b = b_all[rows] if minimize_b else -b_all[rows]  # oriented: smaller is better
    order = np.lexsort((rows, -a, b))  # by b ascending, then a descending, then row
    a_sorted = a[order]
    best_before = np.concatenate(([-np.inf], np.maximum.accumulate(a_sorted)[:-1]))
    keep = order[a_sorted > best_before]
    front_rows = rows[keep]
    return ParetoFront(table.space, key_a, key_b, maximize_a, minimize_b, front_rows,
                       [table.cell_ids[r] for r in front_rows], a_all[front_rows], b_all[front_rows], len(rows))


def top_k(table: BenchmarkTable, key: str, k: int = 10, maximize: bool = True) -> list[tuple[str, float]]:
    """The ``k`` best cells for ``key`` (ties broken by row)."""
    values = table.values(key)
    rows = np.flatnonzero(~np.isnan(values))
    oriented = -values[rows] if maximize else values[rows]
    order = rows[np.lexsort((rows, oriented))][:k]
    return [(table.cell_ids[r], float(values[r])) for r in order]


def percentile_rank(table: BenchmarkTable, key: str, value: float, maximize: bool = True) -> float:
    """Fraction of cells (with a value) that ``value`` beats or equals, in [0, 1]."""
    values = table.values(key)
    values = values[~np.isnan(values)]
    if not len(values):
        raise DataError(f"{table.space} table has no value for {key}")
    better_or_equal = values <= value if maximize else values >= value
    return float(better_or_equal.mean())
