"""Official NAS-Bench-201 / NATS-Bench (topology) files through their own APIs, and mini-NAS-Bench-201.

- ``nb201``: ``NAS-Bench-201-v1_0-e61699.pth`` / ``v1_1-096897.pth`` via ``nas_201_api.NASBench201API``
  (``pip install nasviz[benchmarks]``). Loaded with ``torch.load(weights_only=True)``; ``weights_only=False`` (which
  can run code from the file) only with ``--trust``.
- ``nats-tss``: ``NATS-tss-v1_0-3ffb9.pickle.pbz2`` (a file) or ``NATS-tss-v1_0-3ffb9-simple`` (a directory of
  per-architecture files) via ``nats_bench.create(..., 'tss')``. nasviz unpickles every file itself with the
  restricted unpickler and hands the API plain dicts (the API's own loader would run any code in them).
- ``mini-nb201``: ``mini-bench-arch-cell-accs.pd`` (BayesWatch), a pandas pickle of 12-epoch results, read with the
  restricted unpickler's pandas profile.

Every file is size-capped before it is read or inflated (zip members, bz2 streams).

Metrics (mean over seeds, ``is_random=False``), for each available ``hp`` (12, 200 epochs):
``accuracy/cifar10/valid`` (cifar10-valid, x-valid), ``accuracy/cifar10/test`` (cifar10 = train+valid,
ori-test), ``accuracy/{cifar100,ImageNet16-120}/{valid,test}`` (x-valid / x-test), train accuracy and
training time; plus ``params``, ``flops`` (official, M) and the benchmark's GPU latency (ms).
"""

from __future__ import annotations

import math
import pickle
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nasviz.data.importers.common import Accumulator, check_exists, provenance_entry
from nasviz.data.importers.safe_pickle import TRUST_HINT, load_restricted, loads_restricted, loads_trusted
from nasviz.data.metrics import MetricSpec
from nasviz.data.table import BenchmarkTable
from nasviz.errors import CellError, ConfigError, DataError
from nasviz.fileio import GIB, MIB, check_file_size, check_zip_members, read_bz2_capped
from nasviz.progress import ProgressCallback, no_progress

#: size limits (decompressed): NB201 v1_1 .pth is 4.7 GB, a NATS -simple architecture file well under 1 MB
MAX_PTH_BYTES = 16 * GIB
MAX_NATS_BYTES = 16 * GIB
MAX_NATS_ARCH_BYTES = 64 * MIB
MAX_MINI_BYTES = 64 * MIB
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


def _load_torch_file(path: Path, trust: bool = False) -> tuple[Any, str]:
    import zipfile

    import torch

    if path.is_dir():
        raise DataError(f"{path}: a folder, not a NAS-Bench-201 .pth file")
    check_file_size(path, MAX_PTH_BYTES, "NAS-Bench-201 .pth file")
    if zipfile.is_zipfile(path):
        check_zip_members(path, MAX_PTH_BYTES)
    try:
        return torch.load(path, map_location="cpu", weights_only=True), "torch.load(weights_only=True)"
    except pickle.UnpicklingError as exc:
        if not trust:
            reason = str(exc).split("\n\n")[-1].strip().splitlines()[0] if str(exc).strip() else "unsupported global"
            raise DataError(f"{path}: refused by the weights-only loader, which loads tensors and plain data only "
                            f"({reason[:200]}); {TRUST_HINT}") from None
    except (RuntimeError, EOFError, OSError, ValueError) as exc:
        raise DataError(f"{path}: not a readable NAS-Bench-201 .pth file ({exc})") from None
    try:  # --trust: the user vouches for this file
        return torch.load(path, map_location="cpu", weights_only=False), "torch.load(weights_only=False), --trust"
    except Exception as exc:  # noqa: BLE001 - a trusted file that fails to load is a corrupt file
        raise DataError(f"{path}: not a readable NAS-Bench-201 .pth file ({type(exc).__name__}: {exc})") from None


def _load_nats_pickle(path: Path, trust: bool, max_bytes: int = MAX_NATS_BYTES) -> tuple[Any, str]:
    """One NATS ``.pickle.pbz2`` file: decompressed with a cap, unpickled with the restricted unpickler (the full
    one only with ``trust`` and when the restricted one refuses a global)."""
    raw = read_bz2_capped(path, max_bytes, "NATS-Bench pickle")
    try:
        return loads_restricted(raw, str(path), "numpy", trust_hint=not trust), "restricted unpickler (plain data)"
    except DataError as exc:
        if not trust or "refuses to load" not in str(exc):
            raise
    return loads_trusted(raw, str(path)), "full unpickler (--trust)"


def _load_nats_file(path: Path, trust: bool = False) -> tuple[Any, str]:
    return _load_nats_pickle(path, trust)


def _load_nats_simple(path: Path, trust: bool, progress: ProgressCallback) -> tuple[Any, str]:
    """The NATS API over a ``-simple`` directory, every file unpickled by nasviz (the API's own ``reload`` would
    unpickle them in full): the API is created from the meta file's architecture list, then each architecture file is
    added as ``reload`` adds it, one at a time (memory: the results, not a second copy)."""
    import collections

    import nats_bench
    from nats_bench.api_utils import ArchResults

    if not (path / "meta.pickle.pbz2").exists():
        raise DataError(f"{path}: not a NATS-Bench -simple directory (no meta.pickle.pbz2)")
    meta, how = _load_nats_pickle(path / "meta.pickle.pbz2", trust, MAX_NATS_ARCH_BYTES)
    if not isinstance(meta, dict) or not isinstance(meta.get("meta_archs"), (list, tuple)):
        raise DataError(f"{path / 'meta.pickle.pbz2'}: not a NATS-Bench meta file (no meta_archs list)")
    files = {int(f.name.split(".")[0]): f for f in path.glob("*.pickle.pbz2") if f.name.split(".")[0].isdigit()}
    if not files:
        raise DataError(f"{path}: no per-architecture files (000000.pickle.pbz2 ...)")
    try:
        api = nats_bench.create({"meta_archs": list(meta["meta_archs"]), "arch2infos": {}, "evaluated_indexes": []},
                                "tss", fast_mode=False, verbose=False)
    except (AssertionError, KeyError, TypeError, ValueError) as exc:
        raise DataError(f"{path / 'meta.pickle.pbz2'}: the NATS-Bench API rejects it ({exc})") from None
    for done, index in enumerate(sorted(files)):
        file = files[index]
        if not 0 <= index < len(api.meta_archs):
            raise DataError(f"{file}: architecture {index} is not in meta_archs ({len(api.meta_archs)})")
        info, file_how = _load_nats_pickle(file, trust, MAX_NATS_ARCH_BYTES)
        _check_results(info, str(file))
        try:  # what the API's reload(archive_root, index) does with the file's content
            api.arch2infos_dict[index] = collections.OrderedDict(
                (hp, ArchResults.create_from_state_dict(results)) for hp, results in info.items())
        except (AssertionError, KeyError, TypeError, ValueError, AttributeError) as exc:
            raise DataError(f"{file}: the NATS-Bench API rejects this file ({type(exc).__name__}: {exc})") from None
        api.evaluated_indexes.add(index)
        api._avaliable_hps.update(info)  # (sic) the API's attribute name
        how = file_how if "--trust" in file_how else how
        if done % 500 == 0:
            progress(done, len(files), "reading architecture files")
    return api, f"{how}, every file of the -simple directory"


def _check_structure(data: Any, path: Path) -> None:
    if not isinstance(data, dict) or not all(k in data for k in ("meta_archs", "arch2infos", "evaluated_indexes")):
        keys = list(data)[:6] if isinstance(data, dict) else type(data).__name__
        raise DataError(f"{path}: not a NAS-Bench-201/NATS benchmark file (expected keys meta_archs, arch2infos, "
                        f"evaluated_indexes; found {keys})")
    if not isinstance(data["arch2infos"], dict):
        raise DataError(f"{path}: arch2infos is a {type(data['arch2infos']).__name__}, expected a dict")
    for index, infos in data["arch2infos"].items():
        _check_results(infos, f"{path}: architecture {index}")


def _check_results(infos: Any, where: str) -> None:
    """Each architecture's results must be dicts of dicts: the APIs' ``ArchResults.create_from_state_dict`` treats a
    string as a file path and unpickles that file in full (a second-stage attack from a safely loaded file)."""
    if not isinstance(infos, dict):
        raise DataError(f"{where}: expected a dict of results per hp, found a {type(infos).__name__}")
    for hp, results in infos.items():
        if not isinstance(results, dict):
            shown = str(results)[:80]
            raise DataError(f"{where}: results of {str(hp)[:20]!r} are a {type(results).__name__} ({shown!r}), "
                            "expected a dict (a file path here would make the benchmark API unpickle that file)")


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


def import_nb201_pth(paths: Sequence[Path], progress: ProgressCallback = no_progress, trust: bool = False,
                     **_: Any) -> BenchmarkTable:
    if len(paths) != 1:
        raise ConfigError("nb201 imports exactly one .pth file")
    path = check_exists(paths[0])
    try:
        from nas_201_api import NASBench201API
    except ImportError:
        raise ConfigError(f"the nas-bench-201 API is not installed: {INSTALL_HINT}") from None
    progress(0, 0, "loading (large files take minutes)")
    data, how = _load_torch_file(path, trust)
    _check_structure(data, path)
    try:
        api = NASBench201API(data, verbose=False)
    except (AssertionError, KeyError, TypeError, ValueError) as exc:
        raise DataError(f"{path}: the NAS-Bench-201 API rejects this file ({exc})") from None
    del data
    return _extract(api, path, "nb201", how, progress)


def import_nats_tss(paths: Sequence[Path], progress: ProgressCallback = no_progress, trust: bool = False,
                    **_: Any) -> BenchmarkTable:
    if len(paths) != 1:
        raise ConfigError("nats-tss imports exactly one file or -simple directory")
    path = check_exists(paths[0], "file or directory")
    try:
        import nats_bench
    except ImportError:
        raise ConfigError(f"the NATS-Bench API is not installed: {INSTALL_HINT}") from None
    progress(0, 0, "loading (large files take minutes)")
    if path.is_dir():
        api, how = _load_nats_simple(path, trust, progress)
    else:
        data, how = _load_nats_file(path, trust)
        _check_structure(data, path)
        try:
            api = nats_bench.create(data, "tss", fast_mode=False, verbose=False)
        except (AssertionError, KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            raise DataError(f"{path}: the NATS-Bench API rejects this file ({type(exc).__name__}: {exc})") from None
        del data
    return _extract(api, path, "nats-tss", how, progress)


# ---- mini-NAS-Bench-201 -------------------------------------------------------------------------

MINI_COLUMNS = {"cifar10-test": ("cifar10", "test"), "cifar10-val": ("cifar10", "valid"),
                "cifar100-test": ("cifar100", "test"), "cifar100-val": ("cifar100", "valid"),
                "imagenet-test": ("ImageNet16-120", "test"), "imagenet-val": ("ImageNet16-120", "valid")}


def import_mini_bench(paths: Sequence[Path], progress: ProgressCallback = no_progress, trust: bool = False,
                      **_: Any) -> BenchmarkTable:
    """``mini-bench-arch-cell-accs.pd``: a pandas pickle with ``arch`` (NB201 index), ``cellstr`` and six 12-epoch
    columns, read with the restricted unpickler's pandas profile (the full one only with ``trust``)."""
    import pandas as pd

    from nasviz.spaces import get_space

    if len(paths) != 1:
        raise ConfigError("mini-nb201 imports exactly one .pd file")
    path = check_exists(paths[0])
    frame, how = load_restricted(path, "pandas", MAX_MINI_BYTES, trust, "mini-NAS-Bench-201 pandas pickle")
    if not isinstance(frame, pd.DataFrame) or not {"arch", "cellstr"} <= set(frame.columns):
        raise DataError(f"{path}: expected a DataFrame with columns arch, cellstr, cifar10-test, ...")
    space_obj = get_space("nb201")
    ids = []
    for i, (index, cellstr) in enumerate(zip(frame["arch"].tolist(), frame["cellstr"].tolist(), strict=True)):
        try:
            cell_id = space_obj.cell_id(space_obj.parse(str(cellstr)))
            matches = cell_id == str(int(index))
        except (CellError, ValueError, TypeError) as exc:
            raise DataError(f"{path}: row {i}: cannot read arch {str(index)[:40]!r} / cellstr "
                            f"{str(cellstr)[:80]!r} ({exc})") from None
        if not matches:
            raise DataError(f"{path}: row {i}: arch {index} does not match cellstr (official index {cell_id})")
        ids.append(cell_id)
    progress(len(ids), len(ids), path.name)
    note = "mini-NAS-Bench-201 (BayesWatch): NB201 v1_1 hp='12', final (12th) epoch, mean over seeds"
    specs = [MetricSpec("accuracy", d, s, 12, source=f"{note}; column {c}", aggregate="mean over seeds")
             for c, (d, s) in MINI_COLUMNS.items() if c in frame.columns]
    try:
        columns = {spec.key: frame[c].to_numpy(dtype=np.float64)
                   for spec, c in zip(specs, [c for c in MINI_COLUMNS if c in frame.columns], strict=True)}
    except (TypeError, ValueError) as exc:
        raise DataError(f"{path}: an accuracy column is not numeric ({exc})") from None
    acc = Accumulator("nb201", specs)
    acc.add_rows(ids, columns)
    return acc.table(provenance_entry("mini-nb201", [path], specs, len(ids), notes=f"{note}; loaded with the {how}"))
