"""HW-NAS-Bench (NB201 part) and HELP per-device NB201 latency files."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nasviz.data.importers.common import Accumulator, check_exists, check_finite, provenance_entry
from nasviz.data.importers.safe_pickle import load_plain, load_restricted
from nasviz.data.importers.tabular import help_latency_spec
from nasviz.data.metrics import MetricSpec
from nasviz.data.table import BenchmarkTable
from nasviz.errors import ConfigError, DataError
from nasviz.fileio import MIB
from nasviz.progress import ProgressCallback, no_progress
from nasviz.spaces.nb201 import NUM_CELLS

#: HW-NAS-Bench NB201 metric name -> (kind, device, unit)
HWNAS_METRICS: dict[str, tuple[str, str, str]] = {
    "edgegpu_latency": ("latency", "edgegpu", "ms"), "edgegpu_energy": ("energy", "edgegpu", "mJ"),
    "raspi4_latency": ("latency", "raspi4", "ms"), "edgetpu_latency": ("latency", "edgetpu", "ms"),
    "pixel3_latency": ("latency", "pixel3", "ms"), "eyeriss_latency": ("latency", "eyeriss", "ms"),
    "eyeriss_energy": ("energy", "eyeriss", "mJ"),
    "eyeriss_arithmetic_intensity": ("arithmetic_intensity", "eyeriss", "FLOP/byte"),
    "fpga_latency": ("latency", "fpga", "ms"), "fpga_energy": ("energy", "fpga", "mJ"),
}
HWNAS_DATASETS = ("cifar10", "cifar100", "ImageNet16-120")
#: size limits: the official HW-NAS-Bench pickle is ~10 MB, a HELP .pt (15,625 floats) ~140 kB
MAX_HWNAS_BYTES = 256 * MIB
MAX_HELP_BYTES = 16 * MIB
INDEX_MAP_STEM = "str_arch2idx"


def _as_vector(values: Any, where: str) -> np.ndarray:
    if isinstance(values, dict):  # {nb201 index: value}
        try:
            keys = sorted(int(k) for k in values)
        except (TypeError, ValueError):
            raise DataError(f"{where}: expected NB201 indexes as keys") from None
        if keys and (keys[0] < 0 or keys[-1] >= NUM_CELLS):
            raise DataError(f"{where}: index {keys[-1] if keys[-1] >= NUM_CELLS else keys[0]} is not an NB201 index")
        vector = np.full(keys[-1] + 1 if keys else 0, np.nan)
        for key, value in values.items():
            try:
                vector[int(key)] = float(value)
            except (TypeError, ValueError):
                raise DataError(f"{where}: index {key}: {str(value)[:40]!r} is not a number") from None
        values = vector
    if isinstance(values, (list, tuple)):  # check before converting: shared references could make it huge
        if len(values) > NUM_CELLS:
            raise DataError(f"{where}: {len(values)} values; expected one per NB201 architecture (at most {NUM_CELLS})")
        if not all(v is None or isinstance(v, (int, float, np.integer, np.floating)) for v in values):
            raise DataError(f"{where}: expected a list of numbers, found a nested or non-numeric entry")
    elif isinstance(values, np.ndarray) and values.size > NUM_CELLS:
        raise DataError(f"{where}: {values.size} values; expected one per NB201 architecture (at most {NUM_CELLS})")
    try:
        vector = np.asarray(values, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{where}: expected a list of numbers ({exc})") from None
    if not 0 < len(vector) <= NUM_CELLS:
        raise DataError(f"{where}: {len(vector)} values; expected one per NB201 architecture (at most {NUM_CELLS})")
    check_finite(vector, where)
    return vector


def import_hwnas_pickle(paths: Sequence[Path], progress: ProgressCallback = no_progress, trust: bool = False,
                        **_: Any) -> BenchmarkTable:
    """``HW-NAS-Bench-v1_0.pickle``: ``data['nasbench201'][dataset][metric][nb201_index]``, read with the restricted
    unpickler (lists, dicts, numbers, numpy arrays). ``trust`` (``--trust``) allows the full unpickler when the
    restricted one refuses the file."""
    if len(paths) != 1:
        raise ConfigError("hw-nas-bench imports exactly one pickle")
    path = check_exists(paths[0])
    data, how = load_restricted(path, "numpy", MAX_HWNAS_BYTES, trust, "HW-NAS-Bench pickle")
    if not isinstance(data, dict) or "nasbench201" not in data or not isinstance(data["nasbench201"], dict):
        raise DataError(f"{path}: not an HW-NAS-Bench pickle (no 'nasbench201' section)")
    section = data["nasbench201"]
    specs: list[MetricSpec] = []
    columns: dict[str, np.ndarray] = {}
    n = 0
    datasets = [d for d in HWNAS_DATASETS if d in section]
    if not datasets:
        raise DataError(f"{path}: the nasbench201 section has none of the datasets {', '.join(HWNAS_DATASETS)}")
    for i, dataset in enumerate(datasets):
        metrics = section[dataset]
        for name, (kind, device, unit) in HWNAS_METRICS.items():
            if name not in metrics:
                continue
            vector = _as_vector(metrics[name], f"{path}: nasbench201/{dataset}/{name}")
            spec = MetricSpec(kind, dataset, device=device, unit=unit,
                              source=f"HW-NAS-Bench v1.0 {name} ({dataset}), per image")
            specs.append(spec)
            columns[spec.key] = vector
            n = max(n, len(vector))
        progress(i + 1, len(datasets), dataset)
    if not specs:
        raise DataError(f"{path}: no HW-NAS-Bench metrics found (expected e.g. {', '.join(list(HWNAS_METRICS)[:3])})")
    padded = {k: np.concatenate([v, np.full(n - len(v), math.nan)]) for k, v in columns.items()}
    acc = Accumulator("nb201", specs)
    acc.add_rows([str(i) for i in range(n)], padded)
    return acc.table(provenance_entry("hw-nas-bench", [path], specs, n,
                                      notes="HW-NAS-Bench (Li et al., ICLR 2021); index = NB201 index; ms and mJ "
                                            f"per single image; loaded with the {how}"))


def _help_files(paths: Sequence[Path]) -> tuple[list[Path], list[Path]]:
    """(latency files, skipped index-map files): HELP's ``str_arch2idx.pt`` is skipped in both the folder form and
    the file-list form (``DIR/*.pt``)."""
    files: list[Path] = []
    skipped: list[Path] = []
    for path in paths:
        path = check_exists(Path(path), "file or folder")
        for file in sorted(path.glob("*.pt")) if path.is_dir() else [path]:
            (skipped if file.stem == INDEX_MAP_STEM else files).append(file)
    if not files:
        raise DataError(f"no HELP latency .pt files in {', '.join(map(str, paths))}"
                        + (f" ({INDEX_MAP_STEM}.pt is HELP's arch-string -> index map, not a latency file)"
                           if skipped else ""))
    return files, skipped


def import_help_latency(paths: Sequence[Path], progress: ProgressCallback = no_progress, device: str | None = None,
                        **_: Any) -> BenchmarkTable:
    """HELP ``<device>.pt`` files: a plain list of 15,625 latencies (ms) in NB201 index order.
    The device is the file name (or ``device`` for a single file). Loaded with a restricted unpickler."""
    files, skipped = _help_files(paths)
    if device and len(files) > 1:
        raise ConfigError("--device names the device of a single file only")
    specs, columns = [], {}
    for i, path in enumerate(files):
        values = load_plain(path, max_bytes=MAX_HELP_BYTES)
        if not isinstance(values, (list, tuple)):
            raise DataError(f"{path}: expected a list of {NUM_CELLS} latencies, found a {type(values).__name__}")
        if len(values) != NUM_CELLS:
            raise DataError(f"{path}: {len(values)} latencies; a HELP NB201 file has one per architecture ({NUM_CELLS})")
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            raise DataError(f"{path}: holds non-numeric entries; expected latencies in ms")
        spec = help_latency_spec(device or path.stem)
        if spec.key in columns:
            raise DataError(f"{path}: device {spec.device} given twice")
        specs.append(spec)
        columns[spec.key] = np.asarray(values, dtype=np.float64)
        check_finite(columns[spec.key], str(path))
        progress(i + 1, len(files), path.name)
    acc = Accumulator("nb201", specs)
    acc.add_rows([str(i) for i in range(NUM_CELLS)], columns)
    extra: dict[str, Any] = {}
    if skipped:
        extra["skipped"] = [{"path": str(p), "reason": "HELP's arch-string -> index map, not a latency file"}
                            for p in skipped]
    return acc.table(provenance_entry("help-latency", files, specs, NUM_CELLS,
                                      notes="HELP (Lee et al., NeurIPS 2021) NB201 latency lists, NB201 index order",
                                      **extra))
