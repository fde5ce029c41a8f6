"""Imported benchmark tables on disk: ``NASVIZ_HOME/benchmarks/<space>.parquet``.

The Parquet file is the single source of truth: values in float64 columns named by metric key,
``cell_id`` as a string column, and the metric semantics + provenance as JSON in the schema
metadata. A human-readable ``<space>.json`` sidecar repeats that metadata. Both are written to a
temporary file and moved into place with ``os.replace``, so an interrupted write leaves the
previous table intact. Loads are cached in-process, keyed on the file's size and mtime.

Embedded tables: the package ships ``nasviz/data/embedded/<space>.parquet`` (same format; built by
``scripts/build_embedded_nb201.py``, sources and licences in ``embedded/SOURCES.md``). When nothing is
imported for a space, :func:`load_table` returns its embedded table, and :func:`status` reports it with
source "embedded". An import merges onto whatever :func:`load_table` returns (so the first import of
one extra file keeps the embedded metrics); ``--replace`` (``replace=True``) replaces it; removing the
imported table falls back to the embedded one again.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import numpy as np

from nasviz.data.metrics import MetricSpec, normalize_dataset, normalize_split
from nasviz.data.table import BenchmarkTable
from nasviz.errors import ConfigError, DataError
from nasviz.fileio import atomic_write_bytes
from nasviz.paths import home_dir

FORMAT_VERSION = 1
_META_KEY = b"nasviz"
_REPEAT_SEP = "#r"
_CACHE: dict[str, tuple[tuple[int, int], BenchmarkTable]] = {}
_LOCK = threading.Lock()

#: how to get data for each space: one copy-pasteable ``recommended`` command (none needs
#: ``$NASVIZ_DATA``), ``why`` it is recommended, and ``alternatives`` (``command`` + ``note`` each)
IMPORT_HINTS: dict[str, dict[str, Any]] = {
    "nb201": {
        "recommended": "nasviz data download hw-nas-bench",
        "why": "the embedded table already has accuracies, params and 25 HELP latencies of all 15,625 cells; "
               "HW-NAS-Bench adds latency and energy on 6 devices for CIFAR-10, CIFAR-100 and ImageNet16-120 "
               "(public GitHub, merged onto the embedded table)",
        "alternatives": [
            {"command": "nasviz data download nb201-200ep",
             "note": "200-epoch test accuracy of all cells (public GitHub; the embedded table has it already)"},
            {"command": "nasviz data download mini-nb201",
             "note": "12-epoch results (public GitHub; the embedded table has them already)"},
            {"command": "nasviz data download help-latency",
             "note": "HELP latencies on 25 devices (public GitHub; the embedded table has them already)"},
            {"command": "nasviz data import nb201 NAS-Bench-201-v1_1-096897.pth",
             "note": "the official NB201 file, from Google Drive: every split and epoch"},
            {"command": "nasviz data import nats-tss NATS-tss-v1_0-3ffb9-simple",
             "note": "the official NATS-Bench topology file, from Google Drive"},
            {"command": "nasviz data import nb201-merged nb201_merged.csv",
             "note": "the merged CSV the embedded table was built from"},
        ],
    },
    "nb101": {
        "recommended": "nasviz data download naslib-nb101",
        "why": "500 NB101 cells with 108-epoch validation accuracy, a 260 kB download from public GitHub",
        "alternatives": [
            {"command": "nasviz data download nb101",
             "note": "the official 108-epoch file of all 423,624 cells (499 MB, storage.googleapis.com)"},
            {"command": "nasviz data import nb101 nasbench_only108.tfrecord",
             "note": "the same official file, downloaded yourself"},
        ],
    },
    "darts": {
        "recommended": "nasviz data download naslib-nb301",
        "why": "725 DARTS genotypes with NB301 surrogate validation accuracy, from public GitHub",
        "alternatives": [
            {"command": "nasviz data import naslib-nb301 naslib_zc_nasbench301_725.json",
             "note": "the same file, downloaded yourself"},
        ],
    },
    "nat": {
        "recommended": "nasviz data import csv RESULTS.csv --space nat --arch-col arch "
                       "--metric acc:accuracy:cifar10:test:600",
        "why": "NAT's space has no tabular benchmark: import your own results (RESULTS.csv with an arch column)",
        "alternatives": [],
    },
}
KNOWN_SPACES: tuple[str, ...] = ("nb201", "nb101", "darts", "nat")

#: folder of the tables shipped in the package
EMBEDDED_DIR = Path(__file__).resolve().parent / "embedded"
#: space -> file in EMBEDDED_DIR used when nothing is imported (tests empty it to get an empty store)
EMBEDDED_TABLES: dict[str, str] = {"nb201": "nb201.parquet"}


def import_commands(space: str) -> list[str]:
    """The plain import commands of ``space``: the recommended one first, then the alternatives."""
    hint = IMPORT_HINTS.get(space)
    if not hint:
        return []
    return [hint["recommended"]] + [alt["command"] for alt in hint.get("alternatives", [])]


def canonical_space_name(space: str) -> str:
    aliases = {"nasbench201": "nb201", "nas-bench-201": "nb201", "nasbench101": "nb101", "nas-bench-101": "nb101",
               "nb301": "darts", "nasbench301": "darts"}
    name = aliases.get(space.lower(), space.lower())
    if name not in KNOWN_SPACES:
        raise ConfigError(f"unknown search space {space!r}; choose one of {', '.join(KNOWN_SPACES)}")
    return name


def benchmarks_dir() -> Path:
    path = home_dir() / "benchmarks"
    path.mkdir(parents=True, exist_ok=True)
    return path


def table_path(space: str) -> Path:
    return benchmarks_dir() / f"{canonical_space_name(space)}.parquet"


def sidecar_path(space: str) -> Path:
    return benchmarks_dir() / f"{canonical_space_name(space)}.json"


def _metadata(table: BenchmarkTable) -> dict[str, Any]:
    return {"format": FORMAT_VERSION, "space": table.space, "rows": len(table), "data_version": table.data_version,
            "metrics": [m.to_dict() for m in table.metrics], "provenance": table.provenance,
            "repeats": {key: int(v.shape[1]) for key, v in table.repeats.items()}}


def table_bytes(table: BenchmarkTable, compression_level: int | None = None, use_dictionary: bool = True) -> bytes:
    """``table`` as the bytes of a nasviz Parquet table file (what :func:`read_table_file` reads)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrays = {"cell_id": pa.array(table.cell_ids, type=pa.string())}
    for key in table.keys:
        arrays[key] = pa.array(table.columns[key], type=pa.float64())
    for key, reps in table.repeats.items():
        for r in range(reps.shape[1]):
            arrays[f"{key}{_REPEAT_SEP}{r}"] = pa.array(reps[:, r], type=pa.float64())
    arrow = pa.table(arrays).replace_schema_metadata({_META_KEY: json.dumps(_metadata(table)).encode()})
    sink = pa.BufferOutputStream()
    pq.write_table(arrow, sink, compression="zstd", compression_level=compression_level, use_dictionary=use_dictionary)
    return sink.getvalue().to_pybytes()


def save_table(table: BenchmarkTable) -> Path:
    """Write ``table`` atomically (replacing any previous table of its space). Returns the path."""
    space = canonical_space_name(table.space)
    path = table_path(space)
    atomic_write_bytes(path, table_bytes(table))
    atomic_write_bytes(sidecar_path(space), json.dumps(_metadata(table), indent=2).encode())
    with _LOCK:
        _CACHE.pop(str(path), None)
    return path


def read_table_file(path: Path) -> BenchmarkTable:
    """Read a table file written by :func:`save_table` (DataError naming the file when unreadable)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        arrow = pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise DataError(f"{path}: not a readable nasviz benchmark table ({exc}); re-import the benchmark") from None
    raw = (arrow.schema.metadata or {}).get(_META_KEY)
    if raw is None:
        raise DataError(f"{path}: no nasviz metadata; re-import the benchmark")
    try:
        meta = json.loads(raw)
        metrics = [MetricSpec.from_dict(m) for m in meta["metrics"]]
        names = set(arrow.column_names)
        columns = {}
        for m in metrics:
            if m.key not in names:
                raise DataError(f"{path}: column {m.key!r} is missing; re-import the benchmark")
            columns[m.key] = arrow.column(m.key).to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
        repeats = {}
        for key, count in meta.get("repeats", {}).items():
            repeats[key] = np.stack([arrow.column(f"{key}{_REPEAT_SEP}{r}").to_numpy(zero_copy_only=False)
                                     for r in range(count)], axis=1)
        cell_ids = arrow.column("cell_id").to_pylist()
    except (KeyError, ValueError, TypeError, ConfigError) as exc:
        raise DataError(f"{path}: malformed nasviz table metadata ({exc}); re-import the benchmark") from None
    table = BenchmarkTable(meta["space"], cell_ids, metrics, columns, meta.get("provenance", []), repeats)
    if meta.get("data_version"):
        table._version = meta["data_version"]
    return table


def embedded_table_path(space: str) -> Path | None:
    """The table of ``space`` shipped in the package, or None when there is none."""
    name = EMBEDDED_TABLES.get(canonical_space_name(space))
    if name is None:
        return None
    path = EMBEDDED_DIR / name
    return path if path.is_file() else None


def table_file(space: str) -> Path | None:
    """The file :func:`load_table` reads for ``space``: the imported table, else the embedded one, else None."""
    path = table_path(space)
    return path if path.exists() else embedded_table_path(space)


def table_source(space: str) -> str | None:
    """Where :func:`load_table` reads ``space`` from: "imported", "embedded" or None (no table)."""
    if table_path(space).exists():
        return "imported"
    return "embedded" if embedded_table_path(space) is not None else None


def _read_cached(path: Path) -> BenchmarkTable:
    stat = path.stat()
    stamp = (stat.st_size, stat.st_mtime_ns)
    with _LOCK:
        cached = _CACHE.get(str(path))
        if cached and cached[0] == stamp:
            return cached[1]
    table = read_table_file(path)
    with _LOCK:
        _CACHE[str(path)] = (stamp, table)
    return table


def load_table(space: str) -> BenchmarkTable:
    """The imported table of ``space``, else the embedded one shipped in the package (cached
    in-process). DataError with the import command when there is neither."""
    name = canonical_space_name(space)
    path = table_path(name)
    try:
        return _read_cached(path)
    except FileNotFoundError:
        pass
    embedded = embedded_table_path(name)
    if embedded is not None:
        return _read_cached(embedded)
    hints = import_commands(name)
    how = ("; get one with:\n  " + "\n  ".join(hints)) if hints else ""
    raise DataError(f"no benchmark table imported for {name} (looked in {path}){how}") from None


def has_table(space: str) -> bool:
    """Whether :func:`load_table` has a table for ``space`` (imported or embedded)."""
    return table_source(space) is not None


def available_tables() -> list[str]:
    """Spaces with a table (imported or embedded)."""
    return [s for s in KNOWN_SPACES if has_table(s)]


def clear_cache() -> None:
    with _LOCK:
        _CACHE.clear()


def remove_table(space: str) -> bool:
    """Delete the imported table of ``space`` (the embedded one, if any, is used again); True when
    there was one."""
    existed = False
    for path in (table_path(space), sidecar_path(space)):
        if path.exists():
            path.unlink()
            existed = True
    clear_cache()
    return existed


def status() -> list[dict[str, Any]]:
    """One dict per known space: ``source`` ("imported", "embedded" or None), ``imported`` (True only
    for an imported table), ``available`` (a table is there), rows, metrics (key, label, rows,
    source), provenance, data version, and how to import more (``import_recommended``,
    ``import_why``, ``import_alternatives``; ``import_commands`` lists every command, recommended first)."""
    out = []
    for space in KNOWN_SPACES:
        hint = IMPORT_HINTS.get(space) or {}
        source = table_source(space)
        entry: dict[str, Any] = {"benchmark": space, "source": source, "imported": source == "imported",
                                 "available": False, "rows": 0, "metrics": [], "provenance": [], "data_version": None,
                                 "import_recommended": hint.get("recommended"), "import_why": hint.get("why", ""),
                                 "import_alternatives": list(hint.get("alternatives", [])),
                                 "import_commands": import_commands(space)}
        if source is not None:
            try:
                entry.update(load_table(space).describe())
                entry["available"] = True
            except DataError as exc:
                entry["error"] = str(exc)
        out.append(entry)
    return out


def find_metric(space: str | BenchmarkTable, kind: str = "accuracy", dataset: str | None = None,
                split: str | None = None, epochs: int | None = None, device: str | None = None) -> MetricSpec:
    """The imported metric matching the filters (None = any). Several matches: the one with the
    most epochs, then test over valid over train, then (no dataset given) the space's default
    dataset; still ambiguous -> ConfigError listing them."""
    table = space if isinstance(space, BenchmarkTable) else load_table(space)
    dataset = normalize_dataset(dataset)
    split = normalize_split(split)
    matches = [m for m in table.metrics if m.kind == kind
               and (dataset is None or m.dataset == dataset)
               and (split is None or m.split == split)
               and (epochs is None or m.epochs == epochs)
               and (device is None or m.device == device)]
    wanted = ", ".join(f"{k}={v}" for k, v in (("kind", kind), ("dataset", dataset), ("split", split),
                                                 ("epochs", epochs), ("device", device)) if v is not None)
    if not matches:
        raise ConfigError(f"no {table.space} metric with {wanted}; available: {', '.join(table.keys) or 'none'}")
    if len(matches) == 1:
        return matches[0]
    split_rank = {"test": 2, "valid": 1, "train": 0}
    best = max(matches, key=lambda m: (m.epochs or 0, split_rank.get(m.split or "", -1)))
    ties = [m for m in matches if (m.epochs or 0, split_rank.get(m.split or "", -1)) ==
            (best.epochs or 0, split_rank.get(best.split or "", -1))]
    if len(ties) > 1 and dataset is None:  # prefer the space's default dataset (cifar10)
        default = [m for m in ties if m.dataset == _default_dataset(table.space)]
        ties = default or ties
    if len(ties) > 1:
        raise ConfigError(f"several {table.space} metrics match {wanted}: {', '.join(m.key for m in ties)}; "
                          "name the dataset, split, epochs or device")
    return ties[0]


def _default_dataset(space: str) -> str | None:
    try:
        from nasviz.spaces import get_space

        return get_space(space).default_dataset or None
    except (ImportError, ConfigError):
        return None


def find_device_metric(space: str | BenchmarkTable, device: str, dataset: str | None = None,
                       kind: str = "latency") -> MetricSpec:
    """The ``kind`` (latency/energy) metric of ``device``, preferring ``dataset`` when the device was
    measured on several datasets and falling back to a dataset-less measurement."""
    table = space if isinstance(space, BenchmarkTable) else load_table(space)
    dataset = normalize_dataset(dataset)
    candidates = [m for m in table.metrics if m.kind == kind and m.device == device]
    if not candidates:
        devices = sorted({m.device for m in table.metrics if m.kind == kind and m.device})
        raise ConfigError(f"no {kind} for device {device!r} in the {table.space} table; "
                          f"devices: {', '.join(devices) or 'none (import HW-NAS-Bench or HELP latencies)'}")
    for wanted in (dataset, None):
        matches = [m for m in candidates if m.dataset == wanted]
        if matches:
            return matches[0]
    if len(candidates) == 1:
        return candidates[0]
    raise ConfigError(f"{kind} of {device!r} exists for several datasets ({', '.join(m.key for m in candidates)}); "
                      "name the dataset")
