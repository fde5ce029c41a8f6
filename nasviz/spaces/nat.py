"""NAT cells (Guo et al., NeurIPS 2019): the cells Neural Architecture Transformer optimises.

A :class:`NatCell` is a list of ``(op, from, to)`` edges in which every intermediate node has exactly two
inputs; nodes are the two previous cells' outputs c_{k-2}, c_{k-1} and the intermediate nodes. Two inputs
may come from the same node (the NAT supplementary writes a node as (e_ik, e_jk) with i <= j; NAO cells do
this). Hand-crafted cells with single-input nodes (VGG, ResNet) get explicit ``null`` edges.

**Numbering.** Two conventions:

- *canonical convention* (the JSON's default, ``"indexing": "canonical"``, used in every message): inputs are
  ``-2`` (c_{k-2}) and ``-1`` (c_{k-1}); intermediate nodes are ``0, 1, 2, ...``.
  ``{"edges": [["conv_3x3", -1, 0], ["null", -2, 0], ...], "output": "concat", "concat": [3]}``.
- *NAT-code convention* (``"indexing": "nat"`` in the JSON, or ``indexing="nat"``): inputs are ``0`` and ``1``,
  intermediate nodes ``2, 3, ...`` as in DARTS genotypes and the NAT code. :class:`NatCell` stores this one.

**Output.** ``"concat"`` (fully-concat, DARTS style): the output concatenates ``concat`` (default: every
intermediate node). ``"loose_end"`` (ENAS, NAO, VGG, ResNet): the output concatenates the intermediate nodes
that are not the input of any non-null edge. (The NAT supplementary speaks of averaging; the network code
of DARTS-style cells concatenates the listed nodes, which is what :meth:`NatSpace.cost` counts. With a single
output node, as in VGG and ResNet, the two agree.)

**Presets** (``assets/nat_cells.json``, :func:`preset_cells`): VGG and ResNet V1/V2/V3 with the null edges of
the NAT supplementary section 4.2 (reconstructed from its description: the null input of node 2 comes from
-2, 1 or 0), the DARTS_V2 and ENAS cells, and NAONet-B / NAONet-V2 decoded from NAO's token encoding.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations
from typing import Any, Literal

import networkx as nx
import numpy as np

from nasviz.errors import CellError
from nasviz.paths import ASSETS_DIR
from nasviz.spaces.base import NetworkCost, SearchSpace, Validity, check_cell_text, count_ops, load_json_text
from nasviz.spaces.darts import (
    DATASET_ALIASES,
    DATASETS,
    DEFAULT_CONCAT,
    EDGE_OPS,
    Edge,
    Genotype,
    genotype_from_dict,
    nao_arch_strings,
    network_cost,
    published_genotypes,
    published_sources,
)

#: NAT's primitives (fully-concat and loose-end sets together), ``null`` last
NAT_OPS: tuple[str, ...] = ("max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3",
                            "dil_conv_5x5", "conv_1x1", "conv_3x3", "conv_5x5", "null")
#: the ops random cells are drawn from by default (real architectures have no null edge)
SAMPLE_OPS: tuple[str, ...] = NAT_OPS[:-1]
OUTPUT_MODES = ("concat", "loose_end")
Indexing = Literal["canonical", "nat"]
PRESETS_ASSET = ASSETS_DIR / "nat_cells.json"
DEFAULT_NODES = 4

#: NAO op ids (NAO_V1 operations; 0-4 the small space of NAONet-B / NAO-V2, 5-15 the large space of NAONet-A)
NAO_OPS: dict[int, tuple[str, str | None]] = {
    0: ("sep_conv 3x3", "sep_conv_3x3"), 1: ("sep_conv 5x5", "sep_conv_5x5"), 2: ("avg_pool 3x3", "avg_pool_3x3"),
    3: ("max_pool 3x3", "max_pool_3x3"), 4: ("identity", "skip_connect"), 5: ("identity", "skip_connect"),
    6: ("conv 1x1", "conv_1x1"), 7: ("conv 3x3", "conv_3x3"), 8: ("conv 1x3+3x1", None), 9: ("conv 1x7+7x1", None),
    10: ("max_pool 2x2", None), 11: ("max_pool 3x3", "max_pool_3x3"), 12: ("max_pool 5x5", None),
    13: ("avg_pool 2x2", None), 14: ("avg_pool 3x3", "avg_pool_3x3"), 15: ("avg_pool 5x5", None),
}


def node_label(node: int) -> str:
    """A node in the canonical convention: -2, -1 for the inputs, 0.. for intermediate nodes."""
    return str(node - 2)


@dataclass(frozen=True)
class NatCell:
    """A NAT cell: ``(op, from, to)`` edges in NAT-code numbering (0, 1 inputs; 2.. intermediate), sorted by
    ``(to, from, op)``; ``output`` "concat" (with ``concat`` nodes, default all) or "loose_end"."""

    edges: tuple[Edge, ...]
    output: str = "concat"
    concat: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        edges = []
        for i, edge in enumerate(self.edges):
            if not isinstance(edge, (list, tuple)) or len(edge) != 3:
                raise CellError(f"edge #{i}: expected [op, from, to], got {edge!r}")
            op, src, dst = edge
            if not isinstance(op, str):
                raise CellError(f"edge #{i}: the op must be a string, got {op!r}")
            for value in (src, dst):
                if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                    raise CellError(f"edge #{i}: node indices must be integers, got {value!r}")
            edges.append(("null" if op == "none" else op, int(src), int(dst)))
        object.__setattr__(self, "edges", tuple(sorted(edges, key=lambda e: (e[2], e[1], e[0]))))
        if self.output not in OUTPUT_MODES:
            raise CellError(f"unknown output mode {self.output!r}; choose one of {', '.join(OUTPUT_MODES)}")
        if self.concat is not None:
            if self.output != "concat":
                raise CellError("an explicit concat list needs output mode 'concat'")
            concat = []
            for value in self.concat:
                if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                    raise CellError(f"concat: node indices must be integers, got {value!r}")
                concat.append(int(value))
            concat = tuple(sorted(set(concat)))
            # an explicit list of every intermediate node is the default fully-concat output
            object.__setattr__(self, "concat", None if concat == self.nodes else concat)

    @property
    def nodes(self) -> tuple[int, ...]:
        """Intermediate nodes (NAT numbering), from the edge targets."""
        return tuple(sorted({dst for _, _, dst in self.edges}))

    @property
    def num_nodes(self) -> int:
        return len(self.nodes)

    def inputs_of(self, node: int) -> list[tuple[str, int]]:
        return [(op, src) for op, src, dst in self.edges if dst == node]

    def output_nodes(self) -> tuple[int, ...]:
        """The nodes the cell output concatenates."""
        if self.output == "loose_end":
            used = {src for op, src, _ in self.edges if op != "null"}
            return tuple(n for n in self.nodes if n not in used)
        return self.concat if self.concat is not None else self.nodes


# ---- JSON and string formats -------------------------------------------------------------

def nat_cell_from_json(obj: Any, indexing: Indexing | None = None) -> NatCell:
    """A cell from its JSON value. ``indexing`` ("canonical": -2/-1/0.., "nat": 0/1/2..) overrides the ``"indexing"`` key."""
    if isinstance(obj, list):
        obj = {"edges": obj}
    if not isinstance(obj, dict):
        raise CellError(f'a NAT cell is a JSON object {{"edges": [[op, from, to], ...]}}, got {type(obj).__name__}')
    if "edges" not in obj:
        raise CellError(f'a NAT cell needs an "edges" field; got fields {", ".join(map(str, obj)) or "none"}')
    indexing = indexing or obj.get("indexing", "canonical")
    if indexing not in ("canonical", "nat"):
        raise CellError(f'unknown indexing {indexing!r}: use "canonical" (inputs -2, -1, nodes 0..) '
                        f'or "nat" (inputs 0, 1, nodes 2..)')
    shift = 2 if indexing == "canonical" else 0
    edges = obj["edges"]
    if not isinstance(edges, list):
        raise CellError(f'"edges" must be a list of [op, from, to], got {type(edges).__name__}')
    parsed = []
    for i, edge in enumerate(edges):
        if not isinstance(edge, (list, tuple)) or len(edge) != 3:
            raise CellError(f"edge #{i}: expected [op, from, to], got {edge!r}")
        op, src, dst = edge
        for value in (src, dst):
            if isinstance(value, bool) or not isinstance(value, int):
                raise CellError(f"edge #{i} {edge!r}: node indices must be integers")
        parsed.append((op, src + shift, dst + shift))
    output = obj.get("output", "concat")
    concat = obj.get("concat")
    if concat is not None:
        if not isinstance(concat, list):
            raise CellError(f'"concat" must be a list of intermediate nodes, got {concat!r}')
        concat = tuple(c + shift if isinstance(c, int) and not isinstance(c, bool) else c for c in concat)
    return NatCell(tuple(parsed), output, concat)


def nat_cell_to_json(cell: NatCell, indexing: Indexing = "canonical") -> dict[str, Any]:
    shift = 2 if indexing == "canonical" else 0
    out: dict[str, Any] = {"edges": [[op, src - shift, dst - shift] for op, src, dst in cell.edges], "output": cell.output}
    if cell.concat is not None:
        out["concat"] = [c - shift for c in cell.concat]
    if indexing == "nat":
        out["indexing"] = "nat"
    return out


def nat_cell_to_string(cell: NatCell) -> str:
    """Canonical id (inputs -2, -1; nodes 0..): ``|op~from|op~from|+|...|;out=concat`` (or ``out=loose_end``, ``out=0,3``)."""
    nodes = []
    for node in cell.nodes:
        nodes.append("|".join(f"{op}~{node_label(src)}" for op, src in cell.inputs_of(node)))
    if cell.output == "loose_end":
        out = "loose_end"
    elif cell.concat is None:
        out = "concat"
    else:
        out = ",".join(node_label(c) for c in cell.concat)
    return "|" + "|+|".join(nodes) + f"|;out={out}"


_ID_RE = re.compile(r"^\|(.*)\|;out=([\w,-]*)$")
_ID_EDGE_RE = re.compile(r"^([A-Za-z0-9_]+)~(-?\d+)$")


def nat_cell_from_string(text: str) -> NatCell:
    """Inverse of :func:`nat_cell_to_string`."""
    match = _ID_RE.match(text.strip())
    if not match:
        raise CellError(f"malformed NAT cell id {text!r}: expected |op~from|op~from|+|...|;out=concat")
    body, out = match.groups()
    edges = []
    for node, part in enumerate(body.split("|+|")):
        for token in part.split("|"):
            edge = _ID_EDGE_RE.match(token)
            if not edge:
                raise CellError(f"malformed edge {token!r} of node {node}: expected op~from")
            edges.append((edge.group(1), int(edge.group(2)) + 2, node + 2))
    if out in OUTPUT_MODES:
        return NatCell(tuple(edges), out)
    try:
        concat = tuple(int(x) + 2 for x in out.split(","))
    except ValueError:
        raise CellError(f"malformed output {out!r}: expected concat, loose_end or node indices") from None
    return NatCell(tuple(edges), "concat", concat)


# ---- validity -------------------------------------------------------------------------------

def _edge_text(edge: Edge) -> str:
    op, src, dst = edge
    return f"[{op!r}, {node_label(src)}, {node_label(dst)}]"


def check_nat_cell(cell: NatCell) -> Validity:
    """Validity with the reason (messages use the canonical numbering: inputs -2, -1, nodes 0..)."""
    if not cell.edges:
        return Validity.invalid("the cell has no edges: it needs at least one intermediate node with two inputs")
    for edge in cell.edges:
        op, src, dst = edge
        if op not in NAT_OPS:
            return Validity.invalid(f"unknown op {op!r} on edge {_edge_text(edge)}; NAT ops: {', '.join(NAT_OPS)}")
        if dst < 2:
            return Validity.invalid(f"edge {_edge_text(edge)} targets input {node_label(dst)}: only intermediate nodes "
                                    f"(0, 1, ...) take inputs")
        if src < 0:
            return Validity.invalid(f"edge {_edge_text(edge)}: input {node_label(src)} is out of range "
                                    f"(inputs are -2, -1 and intermediate nodes 0, 1, ...)")
    nodes = cell.nodes
    expected = tuple(range(2, 2 + len(nodes)))
    if nodes != expected:
        missing = sorted(set(expected) - set(nodes))
        return Validity.invalid(f"node {node_label(missing[0])} has no inputs: intermediate nodes must be numbered "
                                f"0..{len(nodes) - 1} without gaps")
    for edge in cell.edges:
        if edge[1] >= 2 + len(nodes):
            return Validity.invalid(f"edge {_edge_text(edge)}: input {node_label(edge[1])} is out of range "
                                    f"(the cell has nodes 0..{len(nodes) - 1})")
    if any(src >= dst for _, src, dst in cell.edges):  # only a backward or self edge can close a cycle
        try:
            cycle = nx.find_cycle(nx.DiGraph((src, dst) for _, src, dst in cell.edges))
            path = " -> ".join(node_label(u) for u, _ in cycle) + f" -> {node_label(cycle[0][0])}"
            return Validity.invalid(f"the cell has a cycle: {path}")
        except nx.NetworkXNoCycle:
            pass
    for node in nodes:
        inputs = cell.inputs_of(node)
        if len(inputs) != 2:
            return Validity.invalid(f"node {node_label(node)} has {len(inputs)} input(s); every intermediate node needs "
                                    f"exactly two (add a null edge for a missing one)")
        later = [src for _, src in inputs if src >= node]
        if later:
            return Validity.invalid(f"node {node_label(node)} takes input from node {node_label(later[0])}, which is not an "
                                    f"earlier node (nodes are in topological order)")
    if cell.concat is not None:
        if not cell.concat:
            return Validity.invalid("the concat list is empty: the output needs at least one node")
        for node in cell.concat:
            if node not in nodes:
                return Validity.invalid(f"the output concatenates node {node_label(node)}, which is not an intermediate node")
    used = {src for _, src, _ in cell.edges}
    outputs = set(cell.output_nodes())
    for node in nodes:
        if node not in used and node not in outputs:
            return Validity.invalid(f"node {node_label(node)} is disconnected: its output is neither an input of another "
                                    f"node nor part of the cell output")
    if not outputs:
        return Validity.invalid("the cell has no output node (every node feeds another node through non-null edges)")
    if not outputs & live_nodes(cell):
        return Validity.invalid("the output does not depend on the cell inputs: every path from c_{k-2}, c_{k-1} is cut "
                                "by null edges")
    return Validity.ok()


def live_nodes(cell: NatCell) -> set[int]:
    """Nodes that depend on the cell inputs through non-null edges (inputs 0 and 1 included)."""
    live = {0, 1}
    for node in cell.nodes:  # edges go from earlier to later nodes in a valid cell
        if any(op != "null" and src in live for op, src in cell.inputs_of(node)):
            live.add(node)
    return live


def dead_nodes(cell: NatCell) -> list[int]:
    """Intermediate nodes whose inputs are all null (or dead): they output zeros."""
    live = live_nodes(cell)
    return [n for n in cell.nodes if n not in live]


def prune(cell: NatCell) -> NatCell:
    """Remove dead nodes (see :func:`dead_nodes`) and renumber. An edge out of a removed node carries zeros, so it
    becomes ``null`` from c_{k-2}; every remaining node keeps two inputs. Removed nodes leave the concat list, and
    nodes left feeding nothing (outside an explicit concat) are removed in turn."""
    removable = set(dead_nodes(cell))
    while removable:
        cell = _remove_nodes(cell, removable)
        used = {src for _, src, _ in cell.edges}
        outputs = set(cell.output_nodes())
        removable = {n for n in cell.nodes if n not in used and n not in outputs}
    return cell


def _remove_nodes(cell: NatCell, removed: set[int]) -> NatCell:
    keep = [n for n in cell.nodes if n not in removed]
    renumber = {0: 0, 1: 1, **{n: 2 + i for i, n in enumerate(keep)}}
    edges = []
    for op, src, dst in cell.edges:
        if dst in removed:
            continue
        edges.append(("null", 0, renumber[dst]) if src in removed else (op, renumber[src], renumber[dst]))
    concat = None
    if cell.concat is not None:
        concat = tuple(renumber[n] for n in cell.concat if n not in removed)
        if not concat:
            raise CellError("every concatenated node is dead: the pruned cell would have no output")
    if not edges:
        raise CellError("every intermediate node is dead: nothing is left after pruning")
    return NatCell(tuple(edges), cell.output, concat)


def require_valid(cell: NatCell) -> None:
    validity = check_nat_cell(cell)
    if not validity.valid:
        raise CellError(f"not a valid NAT cell: {validity.reason}")


# ---- NAT encodings and transformations ------------------------------------------------------

#: NAT's per-edge actions: drop the op, keep it, or replace it by an identity
TRANSFORM_ACTIONS: tuple[str, ...] = ("null", "same", "skip_connect")


def edge_index(src: int, dst: int) -> int:
    """Index of edge ``src -> dst`` (NAT numbering) in the dense DARTS supernet: ``(dst-2)(dst+1)/2 + src``."""
    if not 0 <= src < dst or dst < 2:
        raise CellError(f"no supernet edge {node_label(src)} -> {node_label(dst)}")
    return (dst - 2) * (dst + 1) // 2 + src


def gcn_encoding(cell: NatCell, ops: tuple[str, ...] = NAT_OPS) -> tuple[np.ndarray, np.ndarray]:
    """NAT's graph input: (adjacency with ``adj[to, from]`` = number of edges, over the 2 inputs and the intermediate
    nodes; ``op_ids`` of shape (nodes, 2) = the ops of each node's first and second input edge, the first being the
    edge from the smaller node index)."""
    require_valid(cell)
    size = 2 + cell.num_nodes
    adj = np.zeros((size, size), dtype=np.float32)
    op_ids = np.zeros((cell.num_nodes, 2), dtype=np.int64)
    for row, node in enumerate(cell.nodes):
        for slot, (op, src) in enumerate(sorted(cell.inputs_of(node), key=lambda e: (e[1], ops.index(e[0])))):
            adj[node, src] += 1
            op_ids[row, slot] = ops.index(op)
    return adj, op_ids


def transform(cell: NatCell, actions: list[str] | tuple[str, ...]) -> NatCell:
    """Apply one NAT action per edge (in ``cell.edges`` order): ``null`` drops the op, ``same`` keeps it,
    ``skip_connect`` replaces it by an identity. The result may be invalid (e.g. every path cut): check it."""
    if len(actions) != len(cell.edges):
        raise CellError(f"expected {len(cell.edges)} actions (one per edge), got {len(actions)}")
    edges = []
    for (op, src, dst), action in zip(cell.edges, actions, strict=True):
        if action not in TRANSFORM_ACTIONS:
            raise CellError(f"unknown NAT action {action!r}; choose one of {', '.join(TRANSFORM_ACTIONS)}")
        edges.append((op if action == "same" else action, src, dst))
    return NatCell(tuple(edges), cell.output, cell.concat)


# ---- conversions ------------------------------------------------------------------------

def nat_from_darts(genotype: Genotype, cell: Literal["normal", "reduce"] = "normal") -> NatCell:
    """One cell of a DARTS genotype as a NatCell (fully-concat; ``none`` becomes ``null``)."""
    concat = genotype.concat(cell)
    default = tuple(range(2, 2 + len(genotype.pairs(cell)) // 2))
    return NatCell(tuple(genotype.edges(cell)), "concat", None if tuple(sorted(concat)) == default else concat)


def darts_to_nat(genotype: Genotype) -> tuple[NatCell, NatCell]:
    """(normal, reduce) NatCells of a DARTS genotype."""
    return nat_from_darts(genotype, "normal"), nat_from_darts(genotype, "reduce")


def nat_to_darts(normal: NatCell, reduce: NatCell) -> Genotype:
    """A DARTS genotype from two NatCells; raises CellError when a cell is outside the DARTS space
    (4 nodes, DARTS ops without null, fully-concat)."""
    cells = []
    for name, cell in (("normal", normal), ("reduce", reduce)):
        require_valid(cell)
        bad = [op for op, _, _ in cell.edges if op not in EDGE_OPS]
        if bad:
            raise CellError(f"the {name} cell uses {bad[0]!r}, which is not a DARTS op")
        if cell.num_nodes != 4 or tuple(cell.output_nodes()) != DEFAULT_CONCAT:
            raise CellError(f"the {name} cell must have 4 nodes concatenated in the output to be a DARTS cell")
        cells.append(tuple((op, src) for op, src, _ in cell.edges))
    return Genotype(cells[0], DEFAULT_CONCAT, cells[1], DEFAULT_CONCAT)


def nat_cells_from_nao(arch: str | list[int]) -> tuple[NatCell, NatCell]:
    """(normal, reduce) loose-end NatCells from a NAO arch: 5 normal then 5 reduction nodes of [in1, op1, in2, op2]
    (inputs 0, 1 = previous cells, 2.. = earlier nodes). Raises CellError for NAO ops without a NAT equivalent."""
    tokens = arch.split() if isinstance(arch, str) else list(arch)
    try:
        values = [int(t) for t in tokens]
    except ValueError:
        raise CellError(f"a NAO arch is a sequence of integers, got {arch!r}") from None
    if len(values) % 8 or not values:
        raise CellError(f"a NAO arch has 2 cells x B nodes x 4 integers, got {len(values)} integers")
    per_cell = len(values) // 2
    cells = []
    for c in range(2):
        chunk = values[c * per_cell:(c + 1) * per_cell]
        edges = []
        for b in range(per_cell // 4):
            in1, op1, in2, op2 = chunk[4 * b:4 * b + 4]
            for src, op_id in ((in1, op1), (in2, op2)):
                if op_id not in NAO_OPS:
                    raise CellError(f"unknown NAO op id {op_id} (node {b}); known ids 0..{len(NAO_OPS) - 1}")
                nao_name, nat_op = NAO_OPS[op_id]
                if nat_op is None:
                    raise CellError(f"NAO op {op_id} ({nao_name}) has no NAT equivalent")
                edges.append((nat_op, src, b + 2))
        cells.append(NatCell(tuple(edges), "loose_end"))
    return cells[0], cells[1]


# ---- presets -------------------------------------------------------------------------------

def _chain(nulls: list[int], skips: dict[int, int]) -> list[list[Any]]:
    """A chain of 4 conv_3x3 nodes (canonical numbering): node t = conv_3x3(t-1) + (skip from skips[t] | null from nulls[t])."""
    edges: list[list[Any]] = []
    for t in range(4):
        edges.append(["conv_3x3", t - 1 if t else -1, t])
        edges.append(["skip_connect", skips[t], t] if t in skips else ["null", nulls[t], t])
    return edges


def build_preset_asset() -> dict[str, Any]:
    """Write ``assets/nat_cells.json`` from the hand-crafted cells and the published genotypes."""
    nat_note = "NAT supplementary section 4.2 (Figure 5): reconstructed from its description, not copied from the NAT code"
    cells: dict[str, Any] = {
        "VGG": {"edges": _chain([-2, -2, -2, -2], {}), "output": "concat", "concat": [3],
                "source": "NAT paper/supplementary: a VGG block as a chain of conv_3x3 with a null edge from -2 on every node"},
    }
    residual = {1: -1, 3: 1}  # two basic blocks: node 1 = conv(0) + x(-1), node 3 = conv(2) + x(1)
    for version, null_of_node2 in (("V1", -2), ("V2", 1), ("V3", 0)):
        cells[f"ResNet_{version}"] = {"edges": _chain([-2, -2, null_of_node2, -2], residual), "output": "concat",
                                      "concat": [3], "source": f"{nat_note}; the null input of node 2 comes from {null_of_node2}"}
    sources = published_sources()
    for name, label in (("DARTS_V2", "DARTS_V2"), ("ENASNet", "ENAS")):
        genotype = published_genotypes()[name]
        for which in ("normal", "reduce"):
            entry = nat_cell_to_json(nat_from_darts(genotype, which))
            cells[f"{label}_{which}"] = {**entry, "source": sources[name]}
    skipped = {}
    for name, arch in nao_arch_strings().items():
        short = name.split(" ")[0]
        try:
            normal, reduce = nat_cells_from_nao(arch)
        except CellError as exc:
            skipped[name] = str(exc)
            continue
        for which, cell in (("normal", normal), ("reduce", reduce)):
            cells[f"{short}_{which}"] = {**nat_cell_to_json(cell), "source": sources[name]}
    asset = {"format": 'NAT cells, canonical numbering: edges [op, from, to] with inputs -2 = c_{k-2}, -1 = c_{k-1}, '
                       'intermediate nodes 0..; output "concat" (nodes in "concat", default all) or "loose_end"',
             "cells": cells, "skipped": skipped}
    PRESETS_ASSET.write_text(json.dumps(asset, indent=1) + "\n")
    return asset


@lru_cache(maxsize=1)
def _preset_asset() -> dict[str, Any]:
    if not PRESETS_ASSET.exists():
        raise CellError(f"missing asset {PRESETS_ASSET}; rebuild it with nasviz.spaces.nat.build_preset_asset")
    return json.loads(PRESETS_ASSET.read_text())


def preset_cells() -> dict[str, NatCell]:
    """VGG, ResNet_V1/V2/V3, DARTS_V2_normal/reduce, ENAS_normal/reduce, NAONet-B_* and NAONet-V2_* cells."""
    return {name: nat_cell_from_json(entry) for name, entry in _preset_asset()["cells"].items()}


def preset_sources() -> dict[str, str]:
    return {name: entry["source"] for name, entry in _preset_asset()["cells"].items()}


# ---- graph view ---------------------------------------------------------------------------

def nat_graph(cell: NatCell) -> nx.DiGraph:
    """Op-on-edge DAG: nodes 0 c_{k-2}, 1 c_{k-1}, 2.. intermediate (labelled 0..), then the output c_{k}.
    Two inputs from the same node are merged into one edge whose ``ops`` lists both (``op`` joins them with +)."""
    graph = nx.DiGraph(space="nat", output=cell.output)
    graph.add_node(0, label="c_{k-2}", role="input", index=-2)
    graph.add_node(1, label="c_{k-1}", role="input", index=-1)
    for node in cell.nodes:
        graph.add_node(node, label=node_label(node), role="node", index=node - 2)
    out = max(cell.nodes) + 1 if cell.nodes else 2
    graph.add_node(out, label="c_{k}", role="output", index=None)
    for op, src, dst in cell.edges:
        if src not in graph:
            graph.add_node(src, label=node_label(src), role="node", index=src - 2)
        if graph.has_edge(src, dst):
            data = graph.edges[src, dst]
            data["ops"].append(op)
            data["op"] = "+".join(data["ops"])
        else:
            graph.add_edge(src, dst, op=op, ops=[op])
    for node in cell.output_nodes():
        if node in graph:
            graph.add_edge(node, out, op=None, ops=[])
    return graph


# ---- the space ----------------------------------------------------------------------------

class NatSpace(SearchSpace[NatCell]):
    name = "nat"
    title = "NAT cells"
    ops = NAT_OPS
    datasets = tuple(DATASETS)
    default_dataset = "cifar10"
    input_format = ('{"edges": [["conv_3x3", -1, 0], ["null", -2, 0], ...], "output": "concat"|"loose_end", "concat": [...]} '
                    '(inputs -2, -1, nodes 0..; "indexing": "nat" for 0/1-based), the id "|op~from|op~from|+|...|;out=concat", '
                    'or a DARTS genotype (its normal cell)')

    def __init__(self, indexing: Indexing = "canonical") -> None:
        self.indexing = indexing

    def parse(self, obj: Any, indexing: Indexing | None = None) -> NatCell:
        if isinstance(obj, NatCell):
            return obj
        if isinstance(obj, Genotype):
            return nat_from_darts(obj)
        if isinstance(obj, str):
            return self.parse_text(obj)
        if isinstance(obj, dict) and "normal" in obj and "edges" not in obj:
            return nat_from_darts(genotype_from_dict(obj))
        return nat_cell_from_json(obj, indexing or None)

    def parse_text(self, text: str) -> NatCell:
        text = check_cell_text(text, "NAT cell").strip()
        if not text:
            raise CellError("empty input: expected a NAT cell")
        if text.startswith("|"):
            return nat_cell_from_string(text)
        return self.parse(load_json_text(text, "NAT cell"))

    def to_json(self, cell: NatCell) -> dict[str, Any]:
        return nat_cell_to_json(cell, self.indexing)

    def is_valid(self, cell: NatCell) -> Validity:
        return check_nat_cell(cell)

    def canonical(self, cell: NatCell) -> dict[str, Any]:
        return {"id": nat_cell_to_string(cell), "nodes": cell.num_nodes,
                "output_nodes": [c - 2 for c in cell.output_nodes()], "dead_nodes": [n - 2 for n in dead_nodes(cell)]}

    def cell_id(self, cell: NatCell) -> str:
        return nat_cell_to_string(cell)

    def size(self, nodes: int = DEFAULT_NODES) -> tuple[int, bool]:
        """Cells of ``nodes`` nodes with two distinct inputs each and any NAT op: an estimate (cells with both inputs
        from one node, other node counts and isomorphic cells are not accounted for)."""
        total = 1
        for node in range(2, 2 + nodes):
            total *= len(list(combinations(range(node), 2))) * len(NAT_OPS) ** 2
        return total, False

    def sample(self, n: int, seed: int, nodes: int = DEFAULT_NODES, ops: tuple[str, ...] = SAMPLE_OPS,
               output: str = "concat") -> list[NatCell]:
        """``n`` valid cells: per node a uniform pair of distinct inputs and uniform ops from ``ops``
        (invalid draws, possible when ``ops`` holds null, are redrawn)."""
        unknown = [op for op in ops if op not in NAT_OPS]
        if unknown or not ops:
            raise CellError(f"cannot sample with ops {list(ops)}: NAT ops are {', '.join(NAT_OPS)}")
        if nodes < 1:
            raise CellError(f"a cell needs at least one node, got {nodes}")
        if ops == ("null",):
            raise CellError("cells with only null edges never depend on their inputs")
        rng = np.random.default_rng(seed)
        pair_choices = [list(combinations(range(node), 2)) for node in range(2, 2 + nodes)]
        cells: list[NatCell] = []
        while len(cells) < n:
            picks = rng.integers([len(c) for c in pair_choices]).tolist()
            op_ids = rng.integers(len(ops), size=2 * nodes).tolist()
            edges = [(ops[op_ids[2 * k + j]], pair_choices[k][pick][j], k + 2)
                     for k, pick in enumerate(picks) for j in range(2)]
            cell = NatCell(tuple(edges), output)
            if check_nat_cell(cell).valid:
                cells.append(cell)
        return cells

    def to_networkx(self, cell: NatCell) -> nx.DiGraph:
        return nat_graph(cell)

    def edit_distance(self, a: NatCell, b: NatCell) -> int:
        """Op changes plus input changes per common node (inputs matched optimally), 4 per extra node (two ops, two
        inputs), plus nodes that are in one output and not the other."""
        total = 0
        for node in set(a.nodes) & set(b.nodes):
            x, y = a.inputs_of(node), b.inputs_of(node)
            if len(x) != len(y) or len(x) != 2:
                total += sum(1 for e in x if e not in y) + sum(1 for e in y if e not in x)
                continue
            straight = sum((p[0] != q[0]) + (p[1] != q[1]) for p, q in zip(x, y, strict=True))
            crossed = sum((p[0] != q[0]) + (p[1] != q[1]) for p, q in zip(x, reversed(y), strict=True))
            total += min(straight, crossed)
        total += 4 * len(set(a.nodes) ^ set(b.nodes))
        total += len(set(a.output_nodes()) ^ set(b.output_nodes()))
        return total

    def op_counts(self, cell: NatCell) -> dict[str, int]:
        return count_ops([op for op, _, _ in cell.edges], NAT_OPS)

    def cost(self, cell: NatCell, dataset: str | None = None, channels: int | None = None, layers: int | None = None,
             reduce_cell: NatCell | None = None) -> NetworkCost:
        """Exact params and MACs of the DARTS-style network stacking ``cell`` (normal cells) and ``reduce_cell``
        (reduction cells, default the same cell) with the DARTS defaults (CIFAR C=36, 20 cells; ImageNet C=48, 14)."""
        dataset = DATASET_ALIASES.get(dataset or "", dataset)
        dataset = self.check_dataset(dataset)
        reduce_cell = reduce_cell or cell
        for c in (cell, reduce_cell):
            require_valid(c)
        params, macs = network_cost(list(cell.edges), cell.output_nodes(), list(reduce_cell.edges),
                                    reduce_cell.output_nodes(), dataset, channels, layers)
        return NetworkCost(params, macs, dataset)
