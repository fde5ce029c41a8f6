"""NAS-Bench-201: cells of 4 nodes with one op on each of the 6 edges.

Canonical cell: the 6 edge ops in arch-string order ``0->1 | 0->2, 1->2 | 0->3, 1->3, 2->3``.
The official index (0..15624, the order of NB201/NATS-Bench files) is a fixed permutation of the
base-5 enumeration; it ships as ``assets/nb201_official_index.npy`` (built from the benchmark CSV
by :func:`build_index_asset`, checked against it by the tests).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nasviz.errors import CellError
from nasviz.paths import ASSETS_DIR
from nasviz.spaces.base import NetworkCost, SearchSpace, Validity, as_int, check_cell_text, count_ops

if TYPE_CHECKING:
    import networkx as nx

OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
#: (from, to) of each of the 6 edges, in arch-string order
EDGES: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
NUM_EDGES = len(EDGES)
NUM_CELLS = len(OPS) ** NUM_EDGES
INDEX_ASSET = ASSETS_DIR / "nb201_official_index.npy"

#: dataset -> (input resolution, number of classes)
DATASETS: dict[str, tuple[int, int]] = {"cifar10": (32, 10), "cifar100": (32, 100), "ImageNet16-120": (16, 120)}
DATASET_ALIASES = {"c10": "cifar10", "c100": "cifar100", "imagenet16-120": "ImageNet16-120", "in16": "ImageNet16-120",
                   "imagenet": "ImageNet16-120", "cifar10-valid": "cifar10"}

# Conversions to community encodings (reference notes A8)
ARCH2VEC_OPS = ("input", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3", "skip_connect", "none", "output")
AGNET_OPS = ("output", "input", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3", "skip_connect", "none")
NASLIB_OPS = ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")
#: NASLib edge order (1,2),(1,3),(1,4),(2,3),(2,4),(3,4) = 0->1, 0->2, 0->3, 1->2, 1->3, 2->3 as positions here
NASLIB_EDGE_ORDER = (0, 1, 3, 2, 4, 5)
#: the constant adjacency of the 8-node "operation on node" DAG (arch2vec, AG-Net)
NODE_DAG_ADJACENCY = np.zeros((8, 8), dtype=np.int8)
for _src, _dsts in {0: (1, 2, 4), 1: (3, 5), 2: (6,), 3: (6,), 4: (7,), 5: (7,), 6: (7,)}.items():
    NODE_DAG_ADJACENCY[_src, list(_dsts)] = 1

_ARCH_RE = re.compile(r"^\|([^|~]+)~0\|\+\|([^|~]+)~0\|([^|~]+)~1\|\+\|([^|~]+)~0\|([^|~]+)~1\|([^|~]+)~2\|$")


@dataclass(frozen=True, order=True)
class NB201Cell:
    """An NB201 cell: the op of each of the 6 edges, in arch-string order."""

    ops: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(self.ops) != NUM_EDGES:
            raise CellError(f"an NB201 cell has {NUM_EDGES} edges, got {len(self.ops)} ops")
        for op in self.ops:
            if op not in OPS:
                raise CellError(f"unknown NB201 op {op!r}; known ops: {', '.join(OPS)}")

    @property
    def arch_str(self) -> str:
        o = self.ops
        return f"|{o[0]}~0|+|{o[1]}~0|{o[2]}~1|+|{o[3]}~0|{o[4]}~1|{o[5]}~2|"

    @property
    def code(self) -> int:
        """Base-5 enumeration code (first edge most significant)."""
        code = 0
        for op in self.ops:
            code = code * 5 + OPS.index(op)
        return code

    @property
    def index(self) -> int:
        """Official NB201 / NATS-Bench-tss index."""
        return int(official_index_table()[self.code])

    def __str__(self) -> str:
        return self.arch_str


def parse_arch_str(text: str) -> NB201Cell:
    match = _ARCH_RE.match(text.strip())
    if not match:
        raise CellError(
            f"malformed NB201 arch string {text!r}: expected |op~0|+|op~0|op~1|+|op~0|op~1|op~2|"
        )
    return NB201Cell(tuple(match.groups()))


def cell_from_code(code: int) -> NB201Cell:
    if not 0 <= code < NUM_CELLS:
        raise CellError(f"NB201 code {code} out of range 0..{NUM_CELLS - 1}")
    ops = []
    for _ in range(NUM_EDGES):
        ops.append(OPS[code % 5])
        code //= 5
    return NB201Cell(tuple(reversed(ops)))


@lru_cache(maxsize=1)
def official_index_table() -> np.ndarray:
    """``table[code]`` = official index of the cell with that base-5 code."""
    if not INDEX_ASSET.exists():
        raise CellError(f"missing asset {INDEX_ASSET}; rebuild it with nasviz.spaces.nb201.build_index_asset")
    return np.load(INDEX_ASSET).astype(np.int64)


@lru_cache(maxsize=1)
def code_of_index_table() -> np.ndarray:
    table = official_index_table()
    inverse = np.empty_like(table)
    inverse[table] = np.arange(NUM_CELLS)
    return inverse


def cell_from_index(index: int) -> NB201Cell:
    index = as_int(index, "an NB201 index")
    if not 0 <= index < NUM_CELLS:
        raise CellError(f"NB201 index {index} out of range 0..{NUM_CELLS - 1}")
    return cell_from_code(int(code_of_index_table()[int(index)]))


def enumerate_cells() -> list[NB201Cell]:
    """All 15,625 cells in official index order."""
    return [cell_from_code(int(c)) for c in code_of_index_table()]


def build_index_asset(csv_path: Path, out: Path = INDEX_ASSET) -> np.ndarray:
    """Build the official-index permutation from a CSV with ``index`` and ``arch_str`` columns."""
    table = np.full(NUM_CELLS, -1, dtype=np.int64)
    with open(csv_path, newline="") as fh:
        for row in csv.DictReader(fh):
            table[parse_arch_str(row["arch_str"]).code] = int(row["index"])
    if (table < 0).any() or len(np.unique(table)) != NUM_CELLS:
        raise CellError(f"{csv_path} does not hold all {NUM_CELLS} NB201 cells exactly once")
    np.save(out, table.astype(np.uint16))
    return table


# ---- functional equivalence -------------------------------------------------------------

def live_edges(cell: NB201Cell) -> tuple[bool, ...]:
    """Which edges influence the output: not ``none``, fed from the input and leading to the output."""
    active = [op != "none" for op in cell.ops]
    fed = {0}
    for (src, dst), on in zip(EDGES, active, strict=True):  # EDGES are topologically ordered by dst
        if on and src in fed:
            fed.add(dst)
    reaching = edges_reaching_output(cell)
    return tuple(on and src in fed for (src, _), on in zip(EDGES, reaching, strict=True))


def edges_reaching_output(cell: NB201Cell) -> tuple[bool, ...]:
    """Which edges are not ``none`` and lead to the output (through edges that are not ``none``). Unlike
    :func:`live_edges` an edge need not be fed from the input: a network still computes ops on a zero tensor, but a
    graph compiler drops ops whose result never reaches the output."""
    active = [op != "none" for op in cell.ops]
    reaches = {3}
    for (src, dst), on in sorted(zip(EDGES, active, strict=True), key=lambda e: -e[0][0]):
        if on and dst in reaches:
            reaches.add(src)
    return tuple(on and dst in reaches for (src, dst), on in zip(EDGES, active, strict=True))


def canonical_equivalent(cell: NB201Cell) -> NB201Cell:
    """Representative of the cells computing the same network: dead edges become ``none``, and
    the two intermediate nodes are ordered when they can be swapped (node 2 not fed by node 1)."""
    live = live_edges(cell)
    ops = [op if on else "none" for op, on in zip(cell.ops, live, strict=True)]
    candidates = [tuple(ops)]
    if ops[2] == "none":  # nodes 1 and 2 are interchangeable: swap 0->1 with 0->2 and 1->3 with 2->3
        candidates.append((ops[1], ops[0], "none", ops[3], ops[5], ops[4]))
    return NB201Cell(min(candidates, key=lambda o: tuple(OPS.index(x) for x in o)))


def is_degenerate(cell: NB201Cell) -> bool:
    """True when the output does not depend on the input (every path is cut by ``none``)."""
    return not any(live_edges(cell))


# ---- community encodings ----------------------------------------------------------------

def to_node_dag(cell: NB201Cell) -> tuple[np.ndarray, list[str]]:
    """The 8-node operation-on-node DAG used by arch2vec and AG-Net: (adjacency, node ops)."""
    return NODE_DAG_ADJACENCY.copy(), ["input", *cell.ops, "output"]


def from_node_dag(ops: list[str]) -> NB201Cell:
    if len(ops) != 8 or ops[0] != "input" or ops[-1] != "output":
        raise CellError("an NB201 node DAG has 8 nodes: input, the 6 edge ops, output")
    return NB201Cell(tuple(ops[1:7]))


def to_naslib_op_indices(cell: NB201Cell) -> tuple[int, ...]:
    return tuple(NASLIB_OPS.index(cell.ops[i]) for i in NASLIB_EDGE_ORDER)


def from_naslib_op_indices(indices: tuple[int, ...] | list[int]) -> NB201Cell:
    if len(indices) != 6:
        raise CellError("NASLib NB201 op indices have 6 entries")
    ops = [""] * 6
    for naslib_pos, pos in enumerate(NASLIB_EDGE_ORDER):
        ops[pos] = NASLIB_OPS[int(indices[naslib_pos])]
    return NB201Cell(tuple(ops))


# ---- network cost -----------------------------------------------------------------------

def _cost(ops: tuple[str, ...], dataset: str, channels: int = 16, cells_per_stage: int = 5) -> tuple[int, int]:
    resolution, classes = DATASETS[dataset]
    n_conv1 = ops.count("nor_conv_1x1")
    n_conv3 = ops.count("nor_conv_3x3")
    params = 0
    flops = 0
    c = channels
    params += 27 * c + 2 * c  # stem conv3x3 + BN
    flops += 27 * c * resolution**2
    h = resolution
    for stage in range(3):
        cell_params = n_conv1 * (c * c + 2 * c) + n_conv3 * (9 * c * c + 2 * c)
        cell_flops = (n_conv1 * c * c + n_conv3 * 9 * c * c) * h * h
        params += cells_per_stage * cell_params
        flops += cells_per_stage * cell_flops
        if stage < 2:  # ResNet basic block with stride 2
            c_out, h_out = 2 * c, h // 2
            params += 9 * c * c_out + 2 * c_out + 9 * c_out * c_out + 2 * c_out + c * c_out
            flops += (9 * c * c_out + 9 * c_out * c_out + c * c_out) * h_out * h_out
            c, h = c_out, h_out
    params += 2 * c + c * classes + classes  # final BN + classifier
    flops += c * classes
    return params, flops


class NB201Space(SearchSpace[NB201Cell]):
    name = "nb201"
    title = "NAS-Bench-201"
    ops = OPS
    datasets = tuple(DATASETS)
    default_dataset = "cifar10"
    input_format = 'arch string "|op~0|+|op~0|op~1|+|op~0|op~1|op~2|", {"arch": ...}, {"index": I} or a list of 6 ops'

    def parse(self, obj: Any) -> NB201Cell:
        if isinstance(obj, NB201Cell):
            return obj
        if isinstance(obj, str):
            text = obj.strip()
            if text.startswith(("{", "[", '"')):
                return self.parse_text(text)
            return parse_arch_str(text)
        if isinstance(obj, bool):
            raise CellError("an NB201 cell cannot be a boolean")
        if isinstance(obj, int):
            return cell_from_index(obj)
        if isinstance(obj, (list, tuple)):
            if not all(isinstance(o, str) for o in obj):
                raise CellError("a list NB201 cell holds 6 op names")
            return NB201Cell(tuple(obj))
        if isinstance(obj, dict):
            for key in ("arch", "arch_str", "cell"):
                if key in obj:
                    return self.parse(obj[key])
            if "index" in obj:
                return cell_from_index(as_int(obj["index"], 'an NB201 "index"'))
            if "ops" in obj:
                return self.parse(obj["ops"])
            raise CellError('an NB201 JSON cell needs an "arch" string, an "index" or 6 "ops"')
        raise CellError(f"cannot read an NB201 cell from {type(obj).__name__}")

    def parse_text(self, text: str) -> NB201Cell:
        text = check_cell_text(text, "NB201 cell").strip()
        if text.startswith("|"):
            return parse_arch_str(text)
        return super().parse_text(text)

    def to_json(self, cell: NB201Cell) -> str:
        return cell.arch_str

    def is_valid(self, cell: NB201Cell) -> Validity:
        # every combination of the 6 ops is a member of NB201; degenerate cells are still cells
        return Validity.ok()

    def canonical(self, cell: NB201Cell) -> dict[str, Any]:
        equivalent = canonical_equivalent(cell)
        return {"arch": cell.arch_str, "index": cell.index, "equivalent_index": equivalent.index,
                "degenerate": is_degenerate(cell)}

    def cell_id(self, cell: NB201Cell) -> str:
        return str(cell.index)

    def size(self) -> tuple[int, bool]:
        return NUM_CELLS, True

    def sample(self, n: int, seed: int) -> list[NB201Cell]:
        rng = np.random.default_rng(seed)
        return [cell_from_code(int(c)) for c in rng.integers(0, NUM_CELLS, size=n)]

    def enumerate(self) -> list[NB201Cell]:
        return enumerate_cells()

    def to_networkx(self, cell: NB201Cell) -> nx.DiGraph:
        import networkx as nx

        graph = nx.DiGraph(space=self.name)
        graph.add_node(0, label="in", role="input")
        graph.add_node(1, label="1", role="node")
        graph.add_node(2, label="2", role="node")
        graph.add_node(3, label="out", role="output")
        for (src, dst), op in zip(EDGES, cell.ops, strict=True):
            graph.add_edge(src, dst, op=op)
        return graph

    def edit_distance(self, a: NB201Cell, b: NB201Cell) -> int:
        return sum(x != y for x, y in zip(a.ops, b.ops, strict=True))

    def op_counts(self, cell: NB201Cell) -> dict[str, int]:
        return count_ops(cell.ops, OPS)

    def cost(self, cell: NB201Cell, dataset: str | None = None) -> NetworkCost:
        dataset = DATASET_ALIASES.get(dataset or "", dataset)
        dataset = self.check_dataset(dataset)
        params, flops = _cost(cell.ops, dataset)
        return NetworkCost(params, flops, dataset)
