"""Helpers shared by the importers: file fingerprints, provenance entries, duplicate aggregation."""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from nasviz.data.metrics import MetricSpec
from nasviz.data.table import BenchmarkTable
from nasviz.errors import CellError, DataError

_MD5_RE = re.compile(r"^[0-9a-f]{32}$")


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def file_info(path: Path) -> dict[str, Any]:
    """Name, size and SHA-256 of a source file (recorded in the table's provenance)."""
    path = Path(path)
    if path.is_dir():
        return {"path": str(path.resolve()), "name": path.name, "bytes": None, "sha256": None, "directory": True}
    return {"path": str(path.resolve()), "name": path.name, "bytes": path.stat().st_size, "sha256": sha256_file(path)}


def provenance_entry(importer: str, paths: Sequence[Path], metrics: Iterable[MetricSpec], rows: int,
                     notes: str = "", **extra: Any) -> dict[str, Any]:
    entry = {"importer": importer, "files": [file_info(p) for p in paths],
             "imported_at": datetime.now(UTC).isoformat(timespec="seconds"),
             "metrics": [m.key for m in metrics], "rows": rows}
    if notes:
        entry["notes"] = notes
    entry.update(extra)
    # a single digest of the sources, used by data_version
    entry["sha256"] = hashlib.sha256("".join(str(f.get("sha256")) for f in entry["files"]).encode()).hexdigest()
    return entry


def check_exists(path: Path, what: str = "file") -> Path:
    path = Path(path).expanduser()
    if not path.exists():
        raise DataError(f"{path}: no such {what}")
    return path


#: how a source file says "not measured": these become NaN (missing); infinities are never accepted
MISSING_TEXTS = frozenset({"", "nan", "na", "none", "null"})


def to_float(value: Any) -> float:
    """A float from a cell of a source file; None/''/NaN -> NaN (not measured); ``inf``, ``1e400`` and anything
    non-numeric raise ValueError."""
    if value is None:
        return math.nan
    if isinstance(value, str):
        value = value.strip()
        if value.lower() in MISSING_TEXTS:
            return math.nan
    if isinstance(value, bool):
        raise ValueError(f"boolean {value!r} is not a number")
    number = float(value)
    if math.isinf(number):
        raise ValueError(f"{value!r} is not a finite number")
    return number


def check_finite(values: np.ndarray, where: str, labels: Sequence[Any] | None = None, label: str = "index") -> None:
    """DataError naming ``where`` and the first position (``labels[i]`` when given) of an infinite value. NaN is
    allowed: it means "not measured"."""
    bad = np.flatnonzero(np.isinf(np.asarray(values, dtype=np.float64)))
    if len(bad):
        i = int(bad[0])
        at = labels[i] if labels is not None else i
        raise DataError(f"{where}: {label} {at}: value {values[i]} is not a finite number "
                        f"({len(bad)} such value(s)); a metric must be finite, or empty/NaN when not measured")


class Accumulator:
    """Collects rows (cell id + metric values); cells seen more than once become repeats (averaged,
    per-repeat values kept). Vectorised: rows are stored as columns and grouped once at the end."""

    def __init__(self, space: str, metrics: Sequence[MetricSpec]):
        self.space = space
        self.metrics = list(metrics)
        self._ids: list[str] = []
        self._columns: dict[str, list[np.ndarray]] = {}
        self._pending: dict[str, list[float]] = {}
        self._pending_ids: list[str] = []

    @property
    def keys(self) -> list[str]:
        return [m.key for m in self.metrics]

    def add(self, cell_id: str, values: dict[str, float]) -> None:
        """One row (NaN or absent = missing)."""
        self._pending_ids.append(cell_id)
        n = len(self._pending_ids)
        for key in set(values) | set(self._pending):
            column = self._pending.setdefault(key, [])
            column.extend([math.nan] * (n - 1 - len(column)))
            column.append(float(values.get(key, math.nan)))

    def add_rows(self, cell_ids: Sequence[str], columns: dict[str, np.ndarray]) -> None:
        """Many rows at once: ``columns[key]`` aligned with ``cell_ids``."""
        self._flush()
        self._append(list(cell_ids), columns)

    def _flush(self) -> None:
        if self._pending_ids:
            n = len(self._pending_ids)
            cols = {k: np.array(v + [math.nan] * (n - len(v))) for k, v in self._pending.items()}
            self._append(self._pending_ids, cols)
            self._pending_ids, self._pending = [], {}

    def _append(self, ids: list[str], columns: dict[str, np.ndarray]) -> None:
        before = len(self._ids)
        self._ids.extend(ids)
        for key in set(columns) | set(self._columns):
            parts = self._columns.setdefault(key, [])
            filled = sum(len(p) for p in parts)
            if filled < before:
                parts.append(np.full(before - filled, math.nan))
            parts.append(np.asarray(columns.get(key, np.full(len(ids), math.nan)), dtype=np.float64))

    def __len__(self) -> int:
        self._flush()
        return len(set(self._ids))

    def _grouped(self) -> tuple[list[str], np.ndarray, np.ndarray]:
        """(unique ids in first-seen order, group of each raw row, rank of the row within its group)."""
        ids = np.array(self._ids, dtype=object)
        _, first, inverse = np.unique(ids.astype(str), return_index=True, return_inverse=True)
        order = np.argsort(first, kind="stable")  # groups in first-seen order
        group_of_unique = np.empty_like(order)
        group_of_unique[order] = np.arange(len(order))
        groups = group_of_unique[inverse.ravel()]
        rank = np.zeros(len(groups), dtype=np.int64)
        sort = np.argsort(groups, kind="stable")
        sorted_groups = groups[sort]
        starts = np.flatnonzero(np.r_[True, sorted_groups[1:] != sorted_groups[:-1]])
        run_start = np.repeat(starts, np.diff(np.r_[starts, len(sorted_groups)]))
        rank[sort] = np.arange(len(sorted_groups)) - run_start
        unique_ids = [self._ids[i] for i in first[order]]
        return unique_ids, groups, rank

    @property
    def repeated_cells(self) -> int:
        self._flush()
        return len(self._ids) - len(set(self._ids))

    def table(self, provenance: dict[str, Any] | None = None, keep_repeats: bool = True) -> BenchmarkTable:
        self._flush()
        if not self._ids:
            raise DataError(f"no {self.space} rows were read")
        total = len(self._ids)
        for parts in self._columns.values():
            filled = sum(len(p) for p in parts)
            if filled < total:
                parts.append(np.full(total - filled, math.nan))
        raw = {key: np.concatenate(self._columns[key]) if key in self._columns else np.full(total, math.nan)
               for key in self.keys}
        source = ", ".join(f.get("path", "?") for f in (provenance or {}).get("files", [])) or f"{self.space} import"
        for key, values in raw.items():  # the last guard of every importer: no infinity reaches a table
            check_finite(values, f"{source}: metric {key}", self._ids, "cell")
        if len(set(self._ids)) == total:  # the common case: one row per cell
            return BenchmarkTable(self.space, list(self._ids), self.metrics, raw, [provenance] if provenance else [])
        ids, groups, rank = self._grouped()
        n, width = len(ids), int(rank.max()) + 1
        columns, repeats = {}, {}
        for key, values in raw.items():
            reps = np.full((n, width), math.nan)
            reps[groups, rank] = values
            with np.errstate(invalid="ignore"):
                counts = np.sum(~np.isnan(reps), axis=1)
                columns[key] = np.where(counts > 0, np.nansum(reps, axis=1) / np.maximum(counts, 1), math.nan)
            if keep_repeats and (counts > 1).any():
                repeats[key] = reps
        return BenchmarkTable(self.space, ids, self.metrics, columns, [provenance] if provenance else [], repeats)


def parse_cell_id(space_obj: Any, raw: Any, where: str) -> str:
    """Canonical id of a raw architecture value (string, index, JSON); DataError naming ``where``."""
    value = raw
    if getattr(space_obj, "name", "") == "nb101" and isinstance(value, str) and _MD5_RE.match(value.strip()):
        return value.strip()  # already the canonical NB101 module hash
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit():
            value = int(text)
    try:
        cell = space_obj.parse(value)
        validity = space_obj.is_valid(cell)
        if not validity:
            raise CellError(validity.reason or "invalid cell")
        return space_obj.cell_id(cell)
    except (CellError, ValueError, TypeError, KeyError) as exc:
        shown = raw if len(str(raw)) <= 120 else str(raw)[:117] + "..."
        raise DataError(f"{where}: cannot read architecture {shown!r}: {exc}") from None
