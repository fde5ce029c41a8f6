"""Builders of small benchmark files in the official formats (for the tests of nasviz.data)."""

from __future__ import annotations

import bz2
import pickle
from pathlib import Path

from nasviz.spaces.nb201 import cell_from_index

DATASETS = {"cifar10-valid": ("train", "x-valid", "ori-test"), "cifar10": ("train", "ori-test"),
            "cifar100": ("train", "x-valid", "x-test", "ori-test"),
            "ImageNet16-120": ("train", "x-valid", "x-test", "ori-test")}


def expected_accuracy(index: int, dataset: str, setname: str, hp: str, seed: int) -> float:
    """The deterministic value the builders store."""
    base = {"cifar10-valid": 80.0, "cifar10": 85.0, "cifar100": 60.0, "ImageNet16-120": 30.0}[dataset]
    offset = {"train": 10.0, "x-valid": 0.0, "ori-test": 1.0, "x-test": 0.5}[setname]
    return base + offset + index * 0.001 + (1.0 if hp == "200" else 0.0) + 0.2 * (seed - 777)


def nb201_state(indexes: list[int], seeds: tuple[int, ...] = (777, 888), epochs: dict[str, int] | None = None) -> dict:
    """A NAS-Bench-201 .pth dict (meta_archs, arch2infos, evaluated_indexes) built with the official
    API classes, for architectures ``indexes`` (meta_archs covers 0..max index)."""
    from nas_201_api.api_utils import ArchResults, ResultsCount

    epochs = epochs or {"12": 12, "200": 20}  # hp "200" with a short history keeps the test files small
    meta = [cell_from_index(i).arch_str for i in range(max(indexes) + 1)]
    arch2infos = {}
    for index in indexes:
        per_hp = {}
        for hp, total in epochs.items():
            results = ArchResults(index, meta[index])
            for dataset, sets in DATASETS.items():
                for seed in seeds:
                    last = total - 1
                    train = {e: expected_accuracy(index, dataset, "train", hp, seed) for e in range(total)}
                    losses = {e: 1.0 for e in range(total)}
                    config = {"name": "infer.tiny", "C": 16, "N": 5, "arch_str": meta[index], "class_num": 10}
                    rc = ResultsCount(dataset, None, train, losses, 0.5 + index * 0.01, 80.0 + index, config, seed,
                                      total, [0.01, 0.02])
                    rc.update_train_info(train, train, losses, {e: 2.0 for e in range(total)})
                    accs, ls, times = {}, {}, {}
                    for name in sets[1:]:
                        for e in range(total):
                            accs[f"{name}@{e}"] = expected_accuracy(index, dataset, name, hp, seed) if e == last else 1.0
                            ls[f"{name}@{e}"] = 1.0
                            times[f"{name}@{e}"] = 0.1
                    rc.update_eval(accs, ls, times)
                    results.update(dataset, seed, rc)
            per_hp[hp] = results.state_dict()
        arch2infos[index] = {"less": per_hp["12"], "full": per_hp["200"]}
    return {"meta_archs": meta, "arch2infos": arch2infos, "evaluated_indexes": sorted(indexes)}


def write_nb201_pth(path: Path, indexes: list[int]) -> Path:
    import torch

    torch.save(nb201_state(indexes), path)
    return path


def write_nats_tss(path: Path, indexes: list[int]) -> Path:
    """A NATS-tss ``.pickle.pbz2``: same records, arch2infos[i] = {'12': ..., '200': ...}."""
    state = nb201_state(indexes)
    state["arch2infos"] = {i: {"12": v["less"], "200": v["full"]} for i, v in state["arch2infos"].items()}
    with bz2.open(path, "wb") as fh:
        pickle.dump(state, fh, protocol=4)
    return path


def write_nats_simple(folder: Path, indexes: list[int]) -> Path:
    """A NATS-tss ``-simple`` directory: meta.pickle.pbz2 + one ``NNNNNN.pickle.pbz2`` per architecture."""
    state = nb201_state(indexes)
    folder.mkdir(parents=True, exist_ok=True)
    with bz2.open(folder / "meta.pickle.pbz2", "wb") as fh:
        pickle.dump({"meta_archs": state["meta_archs"]}, fh, protocol=4)
    for index, info in state["arch2infos"].items():
        with bz2.open(folder / f"{index:06d}.pickle.pbz2", "wb") as fh:
            pickle.dump({"12": info["less"], "200": info["full"]}, fh, protocol=4)
    return folder


_MERGED: dict[str, Path] = {}


def nb201_merged_parquet(nb201_csv: Path, folder_factory) -> Path:  # noqa: ANN001
    """The table of ``nasviz data import nb201-merged``, imported once per test session and shared by
    the test modules (each test copies it into its own NASVIZ_HOME)."""
    if "path" not in _MERGED:
        import pytest

        from nasviz.data import clear_cache, import_benchmark

        home = folder_factory.mktemp("nb201_merged_home")
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("NASVIZ_HOME", str(home))
            import_benchmark("nb201-merged", nb201_csv)
            clear_cache()
        _MERGED["path"] = home / "benchmarks" / "nb201.parquet"
    return _MERGED["path"]
