"""Logic behind the Cell Explorer page (no Streamlit here): presets, per-dataset costs, file names."""

from __future__ import annotations

import json
import re
from importlib import import_module
from typing import Any

import numpy as np

from nasviz.errors import CellError, NasvizError
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


# ---- bounded input -------------------------------------------------------------------------------

#: the largest cell file / pasted text the pages read (a real cell of any space is under 2 KB)
MAX_CELL_BYTES = 256 * 1024
#: the largest graph drawn (a DARTS genotype has 7 nodes per cell, NB101 at most 7): larger ones are described only
MAX_DRAWN_NODES = 40
MAX_DRAWN_EDGES = 120
#: the largest graph checked and costed at all (validity and cost take seconds beyond a few thousand nodes)
MAX_DESCRIBED_NODES = 300


def size_text(n_bytes: int) -> str:
    """``262144`` -> ``"256 KB"``; ``3145728`` -> ``"3.0 MB"``."""
    return f"{n_bytes / 2**20:.1f} MB" if n_bytes >= 2**20 else f"{max(1, round(n_bytes / 1024))} KB"


def check_cell_size(n_bytes: int, what: str, limit: int = MAX_CELL_BYTES) -> None:
    """CellError naming ``what`` when it is larger than ``limit`` bytes (checked before reading or decoding it)."""
    if n_bytes > limit:
        raise CellError(f"{what} is {size_text(n_bytes)}; a cell file is at most {size_text(limit)} "
                        "(a cell of any space takes under 2 KB)")


def decode_cell_file(data: bytes, what: str) -> str:
    """The text of an uploaded cell file (size checked first); CellError when too large or not UTF-8."""
    check_cell_size(len(data), what)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CellError(f"{what} is not a UTF-8 text file (byte {exc.start} is {data[exc.start:exc.start + 1]!r})") from None


def parse_cell(space: SearchSpace, text: str, what: str) -> Any:
    """``space.parse_text(text)`` that fails only with CellError naming ``what``, whatever the input (a
    non-integer index, an infinite number, JSON nested thousands deep, an absurdly long text)."""
    check_cell_size(len(text.encode("utf-8", errors="replace")), what)
    try:
        return space.parse_text(text)
    except NasvizError as exc:
        raise CellError(f"{what} is not a {space.title} cell: {exc}") from None
    except RecursionError:
        raise CellError(f"{what} is not a {space.title} cell: its JSON is nested too deeply") from None
    except Exception as exc:  # noqa: BLE001 - any other failure of a parser is a bad input, not a crash
        detail = str(exc).strip()[:300] or type(exc).__name__
        raise CellError(f"{what} is not a {space.title} cell: {detail} ({type(exc).__name__})") from None


def graph_size(space: SearchSpace, cell: Any) -> tuple[int, int] | None:
    """(nodes, edges) of the cell's graph, or None when it has none (some invalid cells)."""
    try:
        graph = space.to_networkx(cell)
    except Exception:  # noqa: BLE001 - an invalid cell may have no graph
        return None
    return graph.number_of_nodes(), graph.number_of_edges()


def describe_size_problem(space: SearchSpace, cell: Any) -> str | None:
    """Why the cell is too large to check and cost on a page (a message naming its size), or None."""
    size = graph_size(space, cell)
    if size is not None and size[0] > MAX_DESCRIBED_NODES:
        return (f"the cell has {size[0]:,} nodes and {size[1]:,} edges: too large to check, cost or draw here (at most "
                f"{MAX_DESCRIBED_NODES} nodes; published {space.name} cells have a handful)")
    return None


def drawing_size_problem(space: SearchSpace, cell: Any) -> str | None:
    """Why the cell is too large to draw (a message), or None when it can be drawn quickly."""
    size = graph_size(space, cell)
    if size is None:  # no graph: judge the cell by its JSON size
        try:
            length = len(json.dumps(space.to_json(cell)))
        except Exception:  # noqa: BLE001
            return None
        return None if length <= 8192 else f"the cell's JSON takes {size_text(length)}: too large to draw"
    nodes, edges = size
    if nodes > MAX_DRAWN_NODES or edges > MAX_DRAWN_EDGES:
        return (f"the cell has {nodes} nodes and {edges} edges; drawings are made for at most {MAX_DRAWN_NODES} "
                f"nodes and {MAX_DRAWN_EDGES} edges")
    return None


# ---- the benchmark table's metrics for a cell ----------------------------------------------------------

def recommended_import(space: str) -> str | None:
    """The one recommended (copy-pasteable) import command of ``space``, or None."""
    from nasviz.data import import_commands

    commands = import_commands(space)
    return commands[0] if commands else None


def table_metric_rows(space: SearchSpace, cell: Any) -> tuple[list[dict[str, Any]] | None, str, str | None]:
    """The benchmark table's metrics of ``cell`` (accuracy per dataset/split/epochs, latency per device...) as rows
    ``{metric, value, key}``, a one-line note and, when no table exists, the recommended import command. Rows are
    None when no table exists or the cell is not in it."""
    from nasviz.data import has_table, load_table

    if not has_table(space.name):
        command = recommended_import(space.name)
        return None, f"No benchmark table is imported for {space.title}" + (": import one with" if command else "."), \
            command
    table = load_table(space.name)
    cell_id = space.cell_id(cell)
    values = table.row(cell_id)
    if not values:
        return None, f"Cell {cell_id} is not in the {space.title} table ({len(table):,} cells).", None
    order = {"accuracy": 0, "latency": 2, "energy": 3}
    datasets = {name: i for i, name in enumerate(space.datasets)}
    specs = sorted(table.metrics, key=lambda m: (order.get(m.kind, 1), datasets.get(m.dataset or "", len(datasets)),
                                                 m.dataset or "", m.device or "", -(m.epochs or 0), m.split or ""))
    rows = [{"metric": m.label, "value": round(values[m.key], 4), "key": m.key} for m in specs
            if np.isfinite(values[m.key])]
    return rows, f"From the {space.title} table ({len(table):,} cells, data version {table.data_version[:12]}).", None
