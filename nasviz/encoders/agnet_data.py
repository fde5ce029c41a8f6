"""Accuracy targets for NAO and AG-Net: read from the imported benchmark table (nasviz.data) when there is
one, else from the source files in NASVIZ_DATA (never copied into the project)."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import numpy as np

from nasviz.errors import DataError
from nasviz.paths import source_data_dir

NB201_CSV = "nasbench201/nb201_merged.csv"
NB201_COLUMN = "c10_test_200ep"
NB101_JSON = "nasbench101/naslib_zc_nasbench101_500.json"


def _from_table(space: str, key: str) -> dict[str, float] | None:
    try:
        from nasviz.data import has_table, load_table

        if not has_table(space):
            return None
        table = load_table(space)
        values = table.values(key)
    except Exception:  # noqa: BLE001 - any table problem falls back to the source files
        return None
    return {cid: float(v) for cid, v in zip(table.cell_ids, values, strict=True) if np.isfinite(v)}


@lru_cache(maxsize=1)
def nb201_accuracy() -> np.ndarray:
    """CIFAR-10 test accuracy (%, 200 epochs) of all 15,625 NB201 cells in official index order (NaN if missing)."""
    out = np.full(15_625, np.nan)
    table = _from_table("nb201", "accuracy/cifar10/test/200ep")
    if table:
        for cid, value in table.items():
            out[int(cid)] = value
        return out
    root = source_data_dir()
    path = root / NB201_CSV if root is not None else None
    if path is None or not path.exists():
        raise DataError(f"no NB201 accuracies: run `nasviz data import` or set NASVIZ_DATA to a folder with {NB201_CSV}")
    import pandas as pd

    frame = pd.read_csv(path, usecols=["index", NB201_COLUMN])
    out[frame["index"].to_numpy()] = frame[NB201_COLUMN].to_numpy(dtype=np.float64)
    return out


@lru_cache(maxsize=1)
def _nb101_rows() -> tuple[tuple[Any, float], ...]:
    from nasviz.spaces import get_space, nb101

    space = get_space("nb101")
    root = source_data_dir()
    path = root / NB101_JSON if root is not None else None
    if path is None or not path.exists():
        raise DataError(f"no NB101 accuracies: set NASVIZ_DATA to a folder with {NB101_JSON}")
    try:
        records = json.loads(path.read_text())["nasbench101"]["cifar10"]
    except (ValueError, KeyError) as exc:
        raise DataError(f"{path}: unexpected structure ({exc})") from None
    rows = []
    seen = set()
    for key, record in records.items():
        cell = nb101.pruned_cell(nb101.from_naslib_tuple(key))
        cid = space.cell_id(cell)
        if cid not in seen and "val_accuracy" in record:
            seen.add(cid)
            rows.append((cell, float(record["val_accuracy"])))
    return tuple(rows)


def nb101_labelled() -> tuple[list[Any], np.ndarray]:
    """The distinct NB101 cells (292) of the 500 records of NASLib's zero-cost file, with validation accuracy (%, 108 epochs)."""
    rows = _nb101_rows()
    return [c for c, _ in rows], np.array([a for _, a in rows], dtype=np.float64)


def accuracy_lookup(space: str) -> dict[str, float]:
    """cell id -> accuracy (%) for the cells with a known accuracy (NB201 CIFAR-10 test; NB101 validation)."""
    from nasviz.spaces import get_space

    sp = get_space(space)
    if sp.name == "nb201":
        acc = nb201_accuracy()
        return {str(i): float(a) for i, a in enumerate(acc) if np.isfinite(a)}
    if sp.name == "nb101":
        cells, acc = nb101_labelled()
        return {sp.cell_id(c): float(a) for c, a in zip(cells, acc, strict=True)}
    raise DataError(f"no accuracy data for {space}")
