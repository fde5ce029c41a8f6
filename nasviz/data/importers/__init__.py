"""Importers: source benchmark files -> :class:`~nasviz.data.table.BenchmarkTable`, merged into the
space's stored table. Each importer takes ``(paths, progress, **options)`` and returns a table
carrying one provenance entry.

Safety: no importer runs code from a file by default (pickle-based formats go through restricted unpicklers; the
full unpickler only with ``trust=True``, the CLI's ``--trust``); every file is size-capped; a truncated, ragged or
non-finite file is refused before anything is written; the load-merge-save of a table holds a lock file beside it,
so concurrent imports into one table serialise and none is lost."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import Any

from nasviz.data.store import read_table_file, save_table, table_file, table_path
from nasviz.data.table import BenchmarkTable
from nasviz.errors import ConfigError
from nasviz.fileio import file_lock
from nasviz.progress import ProgressCallback, no_progress


@dataclass(frozen=True)
class Importer:
    name: str
    target: str  # "module:function"
    description: str
    space: str | None  # fixed space, or None when --space chooses
    pickle_based: bool = False  # an official format that is a pickle: restricted loader, or the full one with trust

    def load(self) -> Callable[..., BenchmarkTable]:
        module, func = self.target.split(":")
        return getattr(import_module(f"nasviz.data.importers.{module}"), func)


IMPORTERS: dict[str, Importer] = {imp.name: imp for imp in (
    Importer("csv", "tabular:import_tabular", "your own results: CSV with --space, --arch-col, --metric", None),
    Importer("parquet", "tabular:import_tabular", "your own results: Parquet with --space, --arch-col, --metric", None),
    Importer("nb201-merged", "tabular:import_nb201_merged",
             "shared nb201_merged.csv: 200/12-epoch accuracies, params, 25 HELP latencies", "nb201"),
    Importer("nb201", "nb201_official:import_nb201_pth",
             "official NAS-Bench-201 v1_0/v1_1 .pth (nas-bench-201 API; torch weights-only loader)", "nb201", True),
    Importer("nats-tss", "nb201_official:import_nats_tss",
             "official NATS-Bench topology file (.pickle.pbz2) or -simple directory (restricted unpickler)", "nb201",
             True),
    Importer("hw-nas-bench", "hwnas:import_hwnas_pickle",
             "HW-NAS-Bench-v1_0.pickle: NB201 latency/energy on 6 devices x 3 datasets (restricted unpickler)",
             "nb201", True),
    Importer("help-latency", "hwnas:import_help_latency",
             "HELP NB201 latency lists <device>.pt (one or more files; safe loader)", "nb201"),
    Importer("mini-nb201", "nb201_official:import_mini_bench",
             "mini-NAS-Bench-201 mini-bench-arch-cell-accs.pd (12-epoch results; restricted pandas unpickler)",
             "nb201", True),
    Importer("nb101", "nb101:import_nb101_tfrecord",
             "official NAS-Bench-101 nasbench_only108.tfrecord / nasbench_full.tfrecord (no TensorFlow)", "nb101"),
    Importer("naslib-nb101", "naslib:import_naslib_nb101", "NASLib zc_nasbench101.json (validation accuracy)", "nb101"),
    Importer("naslib-nb201", "naslib:import_naslib_nb201",
             "NASLib zc_nasbench201.json (200-epoch validation accuracy)", "nb201"),
    Importer("naslib-nb301", "naslib:import_naslib_nb301",
             "NASLib zc_nasbench301.json (NB301 surrogate-predicted validation accuracy)", "darts"),
)}


PICKLE_KINDS = tuple(name for name, imp in IMPORTERS.items() if imp.pickle_based)


def run_import(kind: str, paths: Sequence[Path] | Path, *, progress: ProgressCallback | None = None,
               replace: bool = False, trust: bool = False, **options: Any) -> dict[str, Any]:
    """Import ``paths`` with importer ``kind``, merge into the stored table (or replace it when
    ``replace``), save atomically and return a summary. ``trust``: allow the full unpickler for a pickle-based
    official file the restricted loader refuses (it can run code from the file). The stored table is re-read,
    merged and saved under a lock, so concurrent imports into one table all land."""
    if kind not in IMPORTERS:
        raise ConfigError(f"unknown import kind {kind!r}; choose one of {', '.join(IMPORTERS)}")
    importer = IMPORTERS[kind]
    if trust and not importer.pickle_based:
        raise ConfigError(f"--trust only concerns pickle-based files ({', '.join(PICKLE_KINDS)}); "
                          f"a {kind} import never unpickles anything")
    if importer.pickle_based:
        options["trust"] = trust
    path_list = [Path(paths)] if isinstance(paths, (str, Path)) else [Path(p) for p in paths]
    if not path_list:
        raise ConfigError("no file to import")
    if importer.space is None and kind in {"csv", "parquet"}:
        options.setdefault("importer", kind)
    new = importer.load()(path_list, progress or no_progress, **options)  # parsed and checked: nothing written yet
    space = new.space
    target = table_path(space)
    with file_lock(target, what="import"):
        merged = new
        # the imported table, else the embedded one (a first import keeps every embedded metric); the file itself,
        # not a cache: another import may just have saved
        current = table_file(space)
        if not replace and current is not None:
            merged = read_table_file(current).merged_with(new)
        path = save_table(merged)
    summary = {"space": space, "importer": kind, "files": [str(p) for p in path_list], "rows_imported": len(new),
               "metrics_imported": new.keys, "rows": len(merged), "metrics": merged.keys,
               "data_version": merged.data_version, "path": str(path)}
    entry = new.provenance[-1] if new.provenance else {}
    if entry.get("skipped"):
        summary["skipped"] = entry["skipped"]
    return summary
