"""Importers: source benchmark files -> :class:`~nasviz.data.table.BenchmarkTable`, merged into the
space's stored table. Each importer takes ``(paths, progress, **options)`` and returns a table
carrying one provenance entry."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import Any

from nasviz.data.store import has_table, load_table, save_table
from nasviz.data.table import BenchmarkTable
from nasviz.errors import ConfigError
from nasviz.progress import ProgressCallback, no_progress


@dataclass(frozen=True)
class Importer:
    name: str
    target: str  # "module:function"
    description: str
    space: str | None  # fixed space, or None when --space chooses

    def load(self) -> Callable[..., BenchmarkTable]:
        module, func = self.target.split(":")
        return getattr(import_module(f"nasviz.data.importers.{module}"), func)


IMPORTERS: dict[str, Importer] = {imp.name: imp for imp in (
    Importer("csv", "tabular:import_tabular", "your own results: CSV with --space, --arch-col, --metric", None),
    Importer("parquet", "tabular:import_tabular", "your own results: Parquet with --space, --arch-col, --metric", None),
    Importer("nb201-merged", "tabular:import_nb201_merged",
             "shared nb201_merged.csv: 200/12-epoch accuracies, params, 25 HELP latencies", "nb201"),
    Importer("nb201", "nb201_official:import_nb201_pth",
             "official NAS-Bench-201 v1_0/v1_1 .pth (nas-bench-201 API; trusted file)", "nb201"),
    Importer("nats-tss", "nb201_official:import_nats_tss",
             "official NATS-Bench topology file (.pickle.pbz2) or -simple directory (nats_bench API)", "nb201"),
    Importer("hw-nas-bench", "hwnas:import_hwnas_pickle",
             "HW-NAS-Bench-v1_0.pickle: NB201 latency/energy on 6 devices x 3 datasets (trusted file)", "nb201"),
    Importer("help-latency", "hwnas:import_help_latency",
             "HELP NB201 latency lists <device>.pt (one or more files; safe loader)", "nb201"),
    Importer("mini-nb201", "nb201_official:import_mini_bench",
             "mini-NAS-Bench-201 mini-bench-arch-cell-accs.pd (12-epoch results; trusted pandas pickle)", "nb201"),
    Importer("nb101", "nb101:import_nb101_tfrecord",
             "official NAS-Bench-101 nasbench_only108.tfrecord / nasbench_full.tfrecord (no TensorFlow)", "nb101"),
    Importer("naslib-nb101", "naslib:import_naslib_nb101", "NASLib zc_nasbench101.json (validation accuracy)", "nb101"),
    Importer("naslib-nb201", "naslib:import_naslib_nb201",
             "NASLib zc_nasbench201.json (200-epoch validation accuracy)", "nb201"),
    Importer("naslib-nb301", "naslib:import_naslib_nb301",
             "NASLib zc_nasbench301.json (NB301 surrogate-predicted validation accuracy)", "darts"),
)}


def run_import(kind: str, paths: Sequence[Path] | Path, *, progress: ProgressCallback | None = None,
               replace: bool = False, **options: Any) -> dict[str, Any]:
    """Import ``paths`` with importer ``kind``, merge into the stored table (or replace it when
    ``replace``), save atomically and return a summary."""
    if kind not in IMPORTERS:
        raise ConfigError(f"unknown import kind {kind!r}; choose one of {', '.join(IMPORTERS)}")
    importer = IMPORTERS[kind]
    path_list = [Path(paths)] if isinstance(paths, (str, Path)) else [Path(p) for p in paths]
    if not path_list:
        raise ConfigError("no file to import")
    if importer.space is None and kind in {"csv", "parquet"}:
        options.setdefault("importer", kind)
    new = importer.load()(path_list, progress or no_progress, **options)
    space = new.space
    merged = new
    if not replace and has_table(space):
        merged = load_table(space).merged_with(new)
    path = save_table(merged)
    return {"space": space, "importer": kind, "files": [str(p) for p in path_list], "rows_imported": len(new),
            "metrics_imported": new.keys, "rows": len(merged), "metrics": merged.keys,
            "data_version": merged.data_version, "path": str(path)}
