"""Logic behind the Cell Explorer page (no Streamlit here): presets, per-dataset costs, file names."""

from __future__ import annotations

import re
from importlib import import_module
from typing import Any

from nasviz.errors import NasvizError
from nasviz.spaces import SearchSpace

#: space -> (module, function returning {name: cell}, what the presets are called)
_PRESETS = {"darts": ("nasviz.spaces.darts", "published_genotypes", "Published genotypes"),
            "nat": ("nasviz.spaces.nat", "preset_cells", "Preset cells")}


def preset_label(space: SearchSpace) -> str | None:
    """What the space's presets are called ("Published genotypes"), or None when it has none."""
    entry = _PRESETS.get(space.name)
    return entry[2] if entry and preset_cells(space) else None


def preset_cells(space: SearchSpace) -> dict[str, Any]:
    """Named cells shipped with the space (DARTS published genotypes, NAT presets), valid ones first; {} when none."""
    entry = _PRESETS.get(space.name)
    if entry is None:
        return {}
    try:
        function = getattr(import_module(entry[0]), entry[1])
    except (ImportError, AttributeError):
        return {}
    try:
        cells = {str(name): space.parse(cell) for name, cell in dict(function()).items()}
    except NasvizError:
        return {}
    valid = {name: cell for name, cell in cells.items() if space.is_valid(cell).valid}
    return {**valid, **{name: cell for name, cell in cells.items() if name not in valid}}


def cost_rows(space: SearchSpace, cell: Any) -> list[dict[str, Any]]:
    """Parameters and FLOPs (multiply-adds) of the network the cell defines, on each dataset."""
    rows = []
    for dataset in space.datasets:
        try:
            cost = space.cost(cell, dataset)
        except NasvizError as exc:
            rows.append({"dataset": dataset, "params (M)": None, "FLOPs (M)": None, "note": str(exc)})
            continue
        rows.append({"dataset": dataset, "params (M)": round(cost.params_m, 4), "FLOPs (M)": round(cost.flops_m, 2),
                     "params": cost.params, "FLOPs": cost.flops})
    return rows


def op_count_rows(space: SearchSpace, cell: Any) -> list[dict[str, Any]]:
    return [{"op": op, "count": count} for op, count in space.op_counts(cell).items()]


def canonical_fields(space: SearchSpace, cell: Any) -> dict[str, Any]:
    """The canonical form (``space.canonical``) plus the cell id."""
    return {"cell_id": space.cell_id(cell), **space.canonical(cell)}


def file_stem(space: SearchSpace, cell: Any) -> str:
    """A short, filesystem-safe name for downloads of this cell."""
    try:
        ident = space.cell_id(cell)
    except NasvizError:
        ident = "cell"
    ident = re.sub(r"[^A-Za-z0-9_.-]+", "_", str(ident)).strip("_")[:40] or "cell"
    return f"{space.name}_{ident}"
