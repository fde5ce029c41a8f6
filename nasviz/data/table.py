"""An in-memory benchmark table: one row per cell (canonical id), one float column per metric."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nasviz.data.metrics import MetricSpec, parse_key
from nasviz.errors import ConfigError, DataError


@dataclass
class BenchmarkTable:
    """Benchmark results of one search space.

    ``cell_ids``: canonical ids (``get_space(space).cell_id``), one per row; ``metrics``: the
    column semantics; ``columns``: metric key -> float64 array aligned with ``cell_ids`` (NaN when
    missing); ``repeats``: optional metric key -> (rows, R) array of per-repeat values (NaN padded);
    ``provenance``: one dict per import (file, sha256, importer, time, metric keys).
    """

    space: str
    cell_ids: list[str]
    metrics: list[MetricSpec]
    columns: dict[str, np.ndarray]
    provenance: list[dict[str, Any]] = field(default_factory=list)
    repeats: dict[str, np.ndarray] = field(default_factory=dict)
    _row_index: dict[str, int] | None = field(default=None, repr=False)
    _version: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        n = len(self.cell_ids)
        keys = [m.key for m in self.metrics]
        if len(set(keys)) != len(keys):
            raise DataError(f"{self.space} table: duplicate metric keys {keys}")
        if set(keys) != set(self.columns):
            raise DataError(f"{self.space} table: metrics {sorted(keys)} do not match columns {sorted(self.columns)}")
        for key, values in self.columns.items():
            if values.shape != (n,):
                raise DataError(f"{self.space} table: column {key} has shape {values.shape}, expected ({n},)")
        for key, values in self.repeats.items():
            if key not in self.columns or values.ndim != 2 or values.shape[0] != n:
                raise DataError(f"{self.space} table: bad per-repeat values for {key}")

    # ---- shape ------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.cell_ids)

    @property
    def keys(self) -> list[str]:
        return [m.key for m in self.metrics]

    def metric(self, key: str) -> MetricSpec:
        for spec in self.metrics:
            if spec.key == key:
                return spec
        raise ConfigError(f"metric {key!r} is not in the {self.space} table; available: {', '.join(self.keys) or 'none'}")

    # ---- access -----------------------------------------------------------------------------
    def values(self, key: str) -> np.ndarray:
        """The column of ``key`` (float64, NaN when missing), aligned with ``cell_ids``. Read-only."""
        if key not in self.columns:
            self.metric(key)  # raises with the list of available keys
        column = self.columns[key]
        column.flags.writeable = False
        return column

    def row_of(self, cell_id: str) -> int | None:
        """Row of a canonical cell id, or None when the cell is not in the table."""
        if self._row_index is None:
            self._row_index = {cid: i for i, cid in enumerate(self.cell_ids)}
        return self._row_index.get(str(cell_id))

    def lookup(self, cell_id: str, key: str) -> float:
        """Value of ``key`` for one cell id; NaN when the cell or its value is missing."""
        column = self.values(key)
        row = self.row_of(cell_id)
        return float("nan") if row is None else float(column[row])

    def lookup_many(self, cell_ids: Sequence[str], key: str) -> np.ndarray:
        """Values of ``key`` for many cell ids at once (NaN for absent cells)."""
        column = self.values(key)
        if self._row_index is None:
            self._row_index = {cid: i for i, cid in enumerate(self.cell_ids)}
        rows = np.fromiter((self._row_index.get(str(c), -1) for c in cell_ids), dtype=np.int64, count=len(cell_ids))
        out = np.full(len(rows), np.nan)
        found = rows >= 0
        out[found] = column[rows[found]]
        return out

    def lookup_cell(self, cell: Any, key: str) -> float:
        """Like :meth:`lookup` for a parsed cell (or anything ``get_space(space).parse`` accepts)."""
        from nasviz.spaces import get_space

        space = get_space(self.space)
        return self.lookup(space.cell_id(space.parse(cell)), key)

    def row(self, cell_id: str) -> dict[str, float]:
        """Every metric of one cell (empty dict when the cell is absent)."""
        index = self.row_of(cell_id)
        if index is None:
            return {}
        return {key: float(self.columns[key][index]) for key in self.keys}

    def repeat_values(self, key: str) -> np.ndarray | None:
        """(rows, R) per-repeat values of ``key`` when the source had repeats, else None."""
        return self.repeats.get(key)

    def sample_repeat(self, cell_id: str, key: str, rng: np.random.Generator) -> float:
        """One repeat of ``key`` for a cell drawn with ``rng`` (the mean when there are no repeats),
        like NB101's stochastic ``query``; seeded rng -> reproducible."""
        row = self.row_of(cell_id)
        if row is None:
            return float("nan")
        reps = self.repeats.get(key)
        if reps is None:
            return float(self.columns[key][row])
        values = reps[row][~np.isnan(reps[row])]
        return float(rng.choice(values)) if len(values) else float("nan")

    def coverage(self, key: str) -> int:
        return int(np.count_nonzero(~np.isnan(self.values(key))))

    # ---- identity ----------------------------------------------------------------------------
    @property
    def data_version(self) -> str:
        """Hash of the content (ids, metric semantics, values) and sources; stable across loads."""
        if self._version is None:
            self._version = compute_version(self)
        return self._version

    def describe(self) -> dict[str, Any]:
        """Summary used by ``status``: rows, metrics with coverage, provenance."""
        return {"benchmark": self.space, "rows": len(self), "data_version": self.data_version,
                "metrics": [{"key": m.key, "label": m.label, "unit": m.unit, "rows": self.coverage(m.key),
                             "source": m.source} for m in self.metrics],
                "provenance": self.provenance}

    # ---- building ----------------------------------------------------------------------------
    def merged_with(self, other: BenchmarkTable) -> BenchmarkTable:
        """This table plus ``other``: rows are the union; on a metric both have, ``other``'s values
        win where it has one and this table's values are kept elsewhere (a partial re-import
        never erases cells it does not mention)."""
        if other.space != self.space:
            raise DataError(f"cannot merge a {other.space} table into a {self.space} table")
        ids = list(self.cell_ids)
        index = {cid: i for i, cid in enumerate(ids)}
        for cid in other.cell_ids:
            if cid not in index:
                index[cid] = len(ids)
                ids.append(cid)
        n = len(ids)
        self_rows = np.arange(len(self))
        other_rows = np.array([index[c] for c in other.cell_ids], dtype=np.int64)
        by_key = {m.key: m for m in self.metrics}
        by_key.update({m.key: m for m in other.metrics})
        columns: dict[str, np.ndarray] = {}
        repeats: dict[str, np.ndarray] = {}
        for key in by_key:
            column = np.full(n, np.nan)
            parts = []
            if key in self.columns:
                parts.append((self_rows, self.columns[key], self.repeats.get(key)))
            if key in other.columns:
                parts.append((other_rows, other.columns[key], other.repeats.get(key)))
            width = max((r.shape[1] for _, _, r in parts if r is not None), default=0)
            reps = np.full((n, width), np.nan) if width else None
            for rows, values, part_reps in parts:
                present = ~np.isnan(values)
                column[rows[present]] = values[present]
                if reps is not None:
                    reps[rows[present]] = np.nan
                    if part_reps is not None:
                        reps[rows[present], : part_reps.shape[1]] = part_reps[present]
            columns[key] = column
            if reps is not None:
                repeats[key] = reps
        covers_all = set(self.cell_ids) <= set(other.cell_ids)
        other_keys = set(other.keys)
        provenance = [e for e in self.provenance
                      if not (covers_all and e.get("metrics") and set(e["metrics"]) <= other_keys)]
        provenance += list(other.provenance)
        return BenchmarkTable(self.space, ids, list(by_key.values()), columns, provenance, repeats)


def build_table(space: str, records: Mapping[str, Mapping[str, float]] | None = None, *,
                cell_ids: Sequence[str] | None = None, metrics: Iterable[MetricSpec],
                columns: Mapping[str, Sequence[float] | np.ndarray] | None = None,
                provenance: dict[str, Any] | None = None,
                repeats: Mapping[str, np.ndarray] | None = None) -> BenchmarkTable:
    """A table from either ``cell_ids`` + ``columns`` (aligned) or ``records`` (id -> key -> value)."""
    specs = list(metrics)
    if records is not None:
        cell_ids = list(records)
        columns = {m.key: np.array([records[c].get(m.key, np.nan) for c in cell_ids], dtype=np.float64) for m in specs}
    if cell_ids is None or columns is None:
        raise DataError("build_table needs records or cell_ids with columns")
    ids = [str(c) for c in cell_ids]
    if len(set(ids)) != len(ids):
        seen: set[str] = set()
        dup = next(c for c in ids if c in seen or seen.add(c))  # type: ignore[func-returns-value]
        raise DataError(f"{space}: cell {dup} appears twice; merge repeats before building the table")
    cols = {key: np.asarray(values, dtype=np.float64) for key, values in columns.items()}
    return BenchmarkTable(space, ids, specs, cols, [provenance] if provenance else [], dict(repeats or {}))


def compute_version(table: BenchmarkTable) -> str:
    digest = hashlib.sha256()
    digest.update(table.space.encode())
    digest.update("\n".join(table.cell_ids).encode())
    for spec in sorted(table.metrics, key=lambda m: m.key):
        digest.update(json.dumps(spec.to_dict(), sort_keys=True).encode())
        digest.update(np.ascontiguousarray(table.columns[spec.key]).tobytes())
    for entry in table.provenance:
        digest.update(str(entry.get("sha256", "")).encode())
    return digest.hexdigest()[:16]


def metric_from_key(key: str, **extra: Any) -> MetricSpec:
    """A MetricSpec from its key plus unit/source/aggregate."""
    spec = parse_key(key)
    return MetricSpec(spec.kind, spec.dataset, spec.split, spec.epochs, device=spec.device, **extra)
