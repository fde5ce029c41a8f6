"""Benchmark data: imported tables of measured results per search space, and exact queries.

Public API::

    from nasviz.data import load_table, find_metric, find_device_metric, optimum, constrained_optimum, pareto_front

    table = load_table("nb201")                      # imported table, else the embedded one (DataError if none)
    acc = find_metric("nb201", "accuracy", "cifar10", "test", 200)   # MetricSpec
    table.values(acc.key)                            # float64 array aligned with table.cell_ids (NaN = missing)
    table.lookup("6111", acc.key)                    # 94.37 (cell ids: get_space(space).cell_id(cell))
    table.lookup_many(ids, acc.key); table.row_of("6111"); table.sample_repeat(cid, key, rng)
    optimum(table, acc.key).value                    # exact over all rows
    lat = find_device_metric(table, "pixel3", "cifar10").key        # "latency/pixel3/cifar10"
    constrained_optimum(table, acc.key, lat, 5.0)    # best accuracy with latency <= 5 ms
    pareto_front(table, acc.key, lat)                # accuracy (max) vs latency (min)

Metric keys (see :mod:`nasviz.data.metrics`): ``accuracy/cifar10/test/200ep``, ``accuracy/cifar10/valid/12ep``,
``params/cifar10``, ``latency/pixel3``, ``latency/edgegpu/cifar10``, ``energy/fpga/ImageNet16-120``.

Importing (CLI ``nasviz data import KIND PATH``) goes through :func:`import_benchmark`; each import
merges its metrics into the space's existing table and is written atomically.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nasviz.data.metrics import (
    DEVICE_KINDS,
    SIZE_KINDS,
    MetricSpec,
    format_key,
    normalize_dataset,
    normalize_split,
    parse_key,
)
from nasviz.data.queries import Optimum, ParetoFront, constrained_optimum, optimum, pareto_front, percentile_rank, top_k
from nasviz.data.store import (
    IMPORT_HINTS,
    available_tables,
    clear_cache,
    embedded_table_path,
    find_device_metric,
    find_metric,
    has_table,
    import_commands,
    load_table,
    remove_table,
    save_table,
    status,
    table_file,
    table_path,
    table_source,
)
from nasviz.data.table import BenchmarkTable, build_table
from nasviz.progress import ProgressCallback


def import_benchmark(kind: str, paths: list[Path] | Path, *, progress: ProgressCallback | None = None,
                     **options: Any) -> dict[str, Any]:
    """Import benchmark file(s) of ``kind`` (see ``nasviz.data.importers.IMPORTERS``), merge the
    metrics into the space's stored table, save it atomically and return a summary
    (space, rows, metrics imported, data_version, path)."""
    from nasviz.data.importers import run_import

    return run_import(kind, paths, progress=progress, **options)


def importer_kinds() -> dict[str, str]:
    """Import kinds and a one-line description of each."""
    from nasviz.data.importers import IMPORTERS

    return {name: imp.description for name, imp in IMPORTERS.items()}


__all__ = [
    "DEVICE_KINDS",
    "IMPORT_HINTS",
    "SIZE_KINDS",
    "BenchmarkTable",
    "MetricSpec",
    "Optimum",
    "ParetoFront",
    "available_tables",
    "build_table",
    "clear_cache",
    "constrained_optimum",
    "embedded_table_path",
    "find_device_metric",
    "find_metric",
    "format_key",
    "has_table",
    "import_benchmark",
    "import_commands",
    "importer_kinds",
    "load_table",
    "normalize_dataset",
    "normalize_split",
    "optimum",
    "pareto_front",
    "parse_key",
    "percentile_rank",
    "remove_table",
    "save_table",
    "status",
    "table_file",
    "table_path",
    "table_source",
    "top_k",
]
