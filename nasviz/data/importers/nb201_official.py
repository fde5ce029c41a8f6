"""Official NAS-Bench-201 / NATS-Bench (topology) files through their own APIs, and mini-NAS-Bench-201.

- ``nb201``: ``NAS-Bench-201-v1_0-e61699.pth`` / ``v1_1-096897.pth`` via ``nas_201_api.NASBench201API``
  (``pip install nasviz[benchmarks]``). Loaded with ``torch.load(weights_only=True)`` when possible;
  otherwise, because the user named this trusted file, with ``weights_only=False``.
- ``nats-tss``: ``NATS-tss-v1_0-3ffb9.pickle.pbz2`` (a file) or ``NATS-tss-v1_0-3ffb9-simple`` (a
  directory, read lazily in the API's fast mode) via ``nats_bench.create(..., 'tss')``.
- ``mini-nb201``: ``mini-bench-arch-cell-accs.pd`` (BayesWatch), a pandas pickle of 12-epoch results.

Metrics (mean over seeds, ``is_random=False``), for each available ``hp`` (12, 200 epochs):
``accuracy/cifar10/valid`` (cifar10-valid, x-valid), ``accuracy/cifar10/test`` (cifar10 = train+valid,
ori-test), ``accuracy/{cifar100,ImageNet16-120}/{valid,test}`` (x-valid / x-test), train accuracy and
training time; plus ``params``, ``flops`` (official, M) and the benchmark's GPU latency (ms).
"""

from __future__ import annotations

import bz2
import math
import pickle
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nasviz.data.importers.common import Accumulator, check_exists, provenance_entry
from nasviz.data.importers.safe_pickle import loads_plain
from nasviz.data.metrics import MetricSpec
from nasviz.data.table import BenchmarkTable
from nasviz.errors import ConfigError, DataError
from nasviz.progress import ProgressCallback, no_progress

INSTALL_HINT = "pip install 'nasviz[benchmarks]'  (or: pip install nas-bench-201 nats_bench)"
#: (API dataset, our dataset, [(info field, split)])
_QUERIES: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = (
    ("cifar10-valid", "cifar10", (("valid-accuracy", "valid"),)),
    ("cifar10", "cifar10", (("test-accuracy", "test"), ("train-accuracy", "train"))),
    ("cifar100", "cifar100", (("valid-accuracy", "valid"), ("test-accuracy", "test"), ("train-accuracy", "train"))),
    ("ImageNet16-120", "ImageNet16-120", (("valid-accuracy", "valid"), ("test-accuracy", "test"),
                                          ("train-accuracy", "train"))),
)
_SPLIT_NOTES = {("cifar10", "valid"): "cifar10-valid (trained on train) x-valid",
                ("cifar10", "test"): "cifar10 (trained on train+valid) ori-test",
                ("cifar10", "train"): "cifar10 train+valid set"}


def _load_torch_file(path: Path) -> tuple[Any, str]:
    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=True), "torch.load(weights_only=True)"
    except pickle.UnpicklingError:
        pass  # holds objects outside the weights-only allow-list: the user named this trusted file
    except (RuntimeError, EOFError, OSError, ValueError) as exc:
        raise DataError(f"{path}: not a readable NAS-Bench-201 .pth file ({exc})") from None
    try:
        return torch.load(path, map_location="cpu", weights_only=False), "torch.load(weights_only=False), trusted file"
    except (RuntimeError, EOFError, OSError, ValueError, pickle.UnpicklingError, AttributeError, ImportError) as exc:
        raise DataError(f"{path}: not a readable NAS-Bench-201 .pth file ({exc})") from None


def _load_nats_file(path: Path) -> tuple[Any, str]:
    try:
        with bz2.open(path, "rb") as fh:
            raw = fh.read()
    except (OSError, EOFError, ValueError) as exc:
        raise DataError(f"{path}: not a readable NATS-Bench .pickle.pbz2 file ({exc})") from None
    try:
        return loads_plain(raw, str(path), allow_numpy=True), "restricted unpickler (plain data)"
    except DataError as exc:
        if "refuses to load" not in str(exc):
            raise
    try:
        return pickle.loads(raw), "full unpickler, trusted file named by the user"  # noqa: S301
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, ValueError) as exc:
        raise DataError(f"{path}: corrupt NATS-Bench pickle ({exc})") from None


def _check_structure(data: Any, path: Path) -> None:
    if not isinstance(data, dict) or not all(k in data for k in ("meta_archs", "arch2infos", "evaluated_indexes")):
        keys = list(data)[:6] if isinstance(data, dict) else type(data).__name__
        raise DataError(f"{path}: not a NAS-Bench-201/NATS benchmark file (expected keys meta_archs, arch2infos, "
                        f"evaluated_indexes; found {keys})")


def _extract(api: Any, path: Path, importer: str, how: str, progress: ProgressCallback) -> BenchmarkTable:
    from nasviz.spaces import get_space

    space_obj = get_space("nb201")
    indexes = sorted(int(i) for i in api.evaluated_indexes)
    if not indexes:
        raise DataError(f"{path}: the benchmark holds no evaluated architectures")
    hps = sorted(api.avaliable_hps, key=int)  # (sic) the API's attribute name
    name = f"{'NATS-Bench tss' if importer == 'nats-tss' else 'NAS-Bench-201'} {path.name}"
    specs: dict[str, MetricSpec] = {}
    rows: dict[str, list[float]] = {}
    ids: list[str] = []

    def put(spec: MetricSpec, value: Any, row: int) -> None:
        if spec.key not in specs:
            specs[spec.key] = spec
            rows[spec.key] = []
        column = rows[spec.key]
        column.extend([math.nan] * (row - len(column)))
        column.append(math.nan if value is None else float(value))

    for row, index in enumerate(indexes):
        arch = api.meta_archs[index]
        cell = space_obj.parse(arch)
        cell_id = space_obj.cell_id(cell)
        if cell_id != str(index):
            raise DataError(f"{path}: architecture {index} ({arch}) has official index {cell_id}: unexpected order")
        ids.append(cell_id)
        for hp in hps:
            for api_dataset, dataset, fields in _QUERIES:
                try:
                    info = api.get_more_info(index, api_dataset, iepoch=None, hp=hp, is_random=False)
                except (KeyError, ValueError, AssertionError, IndexError):
                    continue
                for field, split in fields:
                    if info.get(field) is None:
                        continue
                    note = _SPLIT_NOTES.get((dataset, split), f"{api_dataset} {split}")
                    put(MetricSpec("accuracy", dataset, split, int(hp), source=f"{name}: {note}, mean over seeds",
                                   aggregate="mean over seeds"), info[field], row)
                if (split_time := info.get("train-all-time")) and api_dataset != "cifar10-valid":
                    put(MetricSpec("train_time", dataset, "train", int(hp), unit="s",
                                   source=f"{name}: train-all-time"), split_time, row)
        for api_dataset in ("cifar10", "cifar100", "ImageNet16-120"):
            try:
                cost = api.get_cost_info(index, api_dataset, hp=hps[-1])
            except (KeyError, ValueError, AssertionError, IndexError):
                continue
            put(MetricSpec("params", api_dataset, unit="M", source=f"{name}: official params (MB)"), cost.get("params"), row)
            put(MetricSpec("flops", api_dataset, unit="M", source=f"{name}: official FLOPs"), cost.get("flops"), row)
            latency = cost.get("latency")
            if latency is not None and latency > 0:
                put(MetricSpec("latency", api_dataset, device="nb201_gpu_256", unit="ms",
                               source=f"{name}: benchmark GPU latency (s -> ms), batch 256"), latency * 1000, row)
        if row % 250 == 0:
            progress(row, len(indexes), f"arch {index}")
    progress(len(indexes), len(indexes), "done")
    n = len(ids)
    columns = {k: np.array(v + [math.nan] * (n - len(v)), dtype=np.float64) for k, v in rows.items()}
    acc = Accumulator("nb201", list(specs.values()))
    acc.add_rows(ids, columns)
    return acc.table(provenance_entry(importer, [path], specs.values(), n, notes=f"loaded with {how}; hp {hps}"))


def import_nb201_pth(paths: Sequence[Path], progress: ProgressCallback = no_progress, **_: Any) -> BenchmarkTable:
    if len(paths) != 1:
        raise ConfigError("nb201 imports exactly one .pth file")
    path = check_exists(paths[0])
    try:
        from nas_201_api import NASBench201API
    except ImportError:
        raise ConfigError(f"the nas-bench-201 API is not installed: {INSTALL_HINT}") from None
    progress(0, 0, "loading (large files take minutes)")
    data, how = _load_torch_file(path)
    _check_structure(data, path)
    try:
        api = NASBench201API(data, verbose=False)
    except (AssertionError, KeyError, TypeError, ValueError) as exc:
        raise DataError(f"{path}: the NAS-Bench-201 API rejects this file ({exc})") from None
    del data
    return _extract(api, path, "nb201", how, progress)


def import_nats_tss(paths: Sequence[Path], progress: ProgressCallback = no_progress, **_: Any) -> BenchmarkTable:
    if len(paths) != 1:
        raise ConfigError("nats-tss imports exactly one file or -simple directory")
    path = check_exists(paths[0], "file or directory")
    try:
        import nats_bench
    except ImportError:
        raise ConfigError(f"the NATS-Bench API is not installed: {INSTALL_HINT}") from None
    progress(0, 0, "loading (large files take minutes)")
    try:
        if path.is_dir():
            if not (path / "meta.pickle.pbz2").exists():
                raise DataError(f"{path}: not a NATS-Bench -simple directory (no meta.pickle.pbz2)")
            api = nats_bench.create(str(path), "tss", fast_mode=True, verbose=False)
            how = "nats_bench fast mode (per-architecture files of a trusted directory)"
            stems = (f.name.split(".")[0] for f in path.glob("*.pickle.pbz2"))
            indexes = sorted(int(stem) for stem in stems if stem.isdigit())
            if not indexes:
                raise DataError(f"{path}: no per-architecture files (000000.pickle.pbz2 ...)")
            for done, index in enumerate(indexes):  # the API's reload reads one architecture file
                api.reload(str(path), index)
                if done % 500 == 0:
                    progress(done, len(indexes), "reading architecture files")
        else:
            data, how = _load_nats_file(path)
            _check_structure(data, path)
            api = nats_bench.create(data, "tss", fast_mode=False, verbose=False)
            del data
    except (AssertionError, KeyError, TypeError, ValueError, OSError, EOFError) as exc:
        raise DataError(f"{path}: the NATS-Bench API rejects this file ({type(exc).__name__}: {exc})") from None
    return _extract(api, path, "nats-tss", how, progress)


# ---- mini-NAS-Bench-201 -------------------------------------------------------------------------

MINI_COLUMNS = {"cifar10-test": ("cifar10", "test"), "cifar10-val": ("cifar10", "valid"),
                "cifar100-test": ("cifar100", "test"), "cifar100-val": ("cifar100", "valid"),
                "imagenet-test": ("ImageNet16-120", "test"), "imagenet-val": ("ImageNet16-120", "valid")}


def import_mini_bench(paths: Sequence[Path], progress: ProgressCallback = no_progress, **_: Any) -> BenchmarkTable:
    """``mini-bench-arch-cell-accs.pd``: a pandas pickle (a trusted file the user named or a
    checksum-verified download) with ``arch`` (NB201 index), ``cellstr`` and six 12-epoch columns."""
    import pandas as pd

    from nasviz.spaces import get_space

    if len(paths) != 1:
        raise ConfigError("mini-nb201 imports exactly one .pd file")
    path = check_exists(paths[0])
    try:
        frame = pd.read_pickle(path)  # noqa: S301 - trusted file named by the user / verified download
    except (pickle.UnpicklingError, EOFError, ValueError, AttributeError, ImportError, TypeError, OSError) as exc:
        raise DataError(f"{path}: not a readable mini-NAS-Bench-201 pandas pickle ({type(exc).__name__}: {exc})") from None
    if not isinstance(frame, pd.DataFrame) or not {"arch", "cellstr"} <= set(frame.columns):
        raise DataError(f"{path}: expected a DataFrame with columns arch, cellstr, cifar10-test, ...")
    space_obj = get_space("nb201")
    ids = []
    for i, (index, cellstr) in enumerate(zip(frame["arch"].tolist(), frame["cellstr"].tolist(), strict=True)):
        cell_id = space_obj.cell_id(space_obj.parse(str(cellstr)))
        if cell_id != str(int(index)):
            raise DataError(f"{path}: row {i}: arch {index} does not match cellstr (official index {cell_id})")
        ids.append(cell_id)
    progress(len(ids), len(ids), path.name)
    note = "mini-NAS-Bench-201 (BayesWatch): NB201 v1_1 hp='12', final (12th) epoch, mean over seeds"
    specs = [MetricSpec("accuracy", d, s, 12, source=f"{note}; column {c}", aggregate="mean over seeds")
             for c, (d, s) in MINI_COLUMNS.items() if c in frame.columns]
    columns = {spec.key: frame[c].to_numpy(dtype=np.float64)
               for spec, c in zip(specs, [c for c in MINI_COLUMNS if c in frame.columns], strict=True)}
    acc = Accumulator("nb201", specs)
    acc.add_rows(ids, columns)
    return acc.table(provenance_entry("mini-nb201", [path], specs, len(ids), notes=note))
