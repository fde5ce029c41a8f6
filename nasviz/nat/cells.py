"""The cells NAT transforms, seen the same way for every space: a list of ``(op, from, to)`` edges.

:class:`CellAdapter` gives, per space, the edges, how to rebuild a cell with new edge ops, the validity of a
transformed cell, its pruning and its exact cost. Two adapters: NB201 (4 nodes, one op per edge, input node 0,
output node 3; ops conv1x1/conv3x3/avgpool are NAT ops, ``skip_connect`` is skip and ``none`` is null) and
NAT cells (:mod:`nasviz.spaces.nat`: inputs 0, 1, intermediate nodes 2.. with two inputs each).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from nasviz.errors import CellError, ConfigError
from nasviz.nat.rules import EdgeKind
from nasviz.spaces.base import NetworkCost, SearchSpace, Validity

Edge = tuple[str, int, int]


@dataclass(frozen=True)
class CellGraph:
    """What the policy sees: nodes 0..N-1 (the first ``num_inputs`` are the cell inputs), per node the edges that
    enter it sorted by source (its *slots*), the edge list and which nodes feed the cell output."""

    num_nodes: int
    num_inputs: int
    edges: tuple[Edge, ...]
    slots: tuple[tuple[int, ...], ...]  # per node: indices into ``edges``
    outputs: tuple[int, ...]


class CellAdapter(ABC):
    """Space-specific knowledge NAT needs."""

    name: str = ""
    skip_op: str = "skip_connect"
    null_op: str = "null"
    #: the op vocabulary of the policy's embeddings
    ops: tuple[str, ...] = ()
    num_inputs: int = 1
    #: the most inputs a node can have (the number of slots in a node's attribute)
    max_in: int = 2

    @property
    @abstractmethod
    def space(self) -> SearchSpace: ...

    def parse(self, obj: Any) -> Any:
        cell = self.space.parse(obj)
        validity = self.space.is_valid(cell)
        if not validity.valid:
            raise CellError(f"not a valid {self.space.name} cell: {validity.reason}")
        return cell

    @abstractmethod
    def edges(self, cell: Any) -> list[Edge]:
        """The transformable edges, in a fixed order."""

    @abstractmethod
    def rebuild(self, cell: Any, ops: list[str]) -> Any:
        """``cell`` with the edge ops replaced (same order as :meth:`edges`)."""

    def edge_kind(self, edge: Edge) -> EdgeKind:
        op = edge[0]
        if op == self.null_op:
            return EdgeKind("null")
        if op == self.skip_op:
            return EdgeKind("skip")
        return EdgeKind("op", self.skip_costs_more(edge))

    def skip_costs_more(self, edge: Edge) -> bool:
        return False

    @abstractmethod
    def transformed_validity(self, cell: Any) -> tuple[Validity, list[str]]:
        """Validity of a transformed cell, plus notes on what pruning will remove."""

    @abstractmethod
    def prune(self, cell: Any) -> Any:
        """The equivalent cell with the parts that cannot affect the output removed."""

    def cost(self, cell: Any, dataset: str | None = None) -> NetworkCost:
        return self.space.cost(cell, dataset)

    @abstractmethod
    def graph(self, cell: Any) -> CellGraph: ...

    def to_json(self, cell: Any) -> Any:
        return self.space.to_json(cell)

    def public_edge(self, edge: Edge) -> list[Any]:
        """An edge as shown to users: ``[op, from, to]`` in the space's JSON numbering."""
        op, src, dst = edge
        return [op, src, dst]

    def cell_id(self, cell: Any) -> str:
        return self.space.cell_id(cell)

    def check_size(self, cell: Any, max_nodes: int) -> None:
        """Raise CellError when the cell is larger than a policy can read."""
        graph = self.graph(cell)
        if graph.num_nodes - graph.num_inputs > max_nodes:
            raise CellError(f"the cell has {graph.num_nodes - graph.num_inputs} intermediate nodes; this policy reads at "
                            f"most {max_nodes}")
        too_many = [len(s) for s in graph.slots if len(s) > self.max_in]
        if too_many:
            raise CellError(f"a node has {too_many[0]} inputs; the policy reads at most {self.max_in} per node")


# ---- NB201 ------------------------------------------------------------------------------------

class NB201Adapter(CellAdapter):
    name = "nb201"
    skip_op = "skip_connect"
    null_op = "none"
    num_inputs = 1
    max_in = 3

    def __init__(self) -> None:
        from nasviz.spaces.nb201 import OPS, NB201Space

        self._space = NB201Space()
        self.ops = OPS

    @property
    def space(self) -> SearchSpace:
        return self._space

    def edges(self, cell: Any) -> list[Edge]:
        from nasviz.spaces.nb201 import EDGES

        return [(op, src, dst) for op, (src, dst) in zip(cell.ops, EDGES, strict=True)]

    def rebuild(self, cell: Any, ops: list[str]) -> Any:
        from nasviz.spaces.nb201 import NB201Cell

        return NB201Cell(tuple(ops))

    def transformed_validity(self, cell: Any) -> tuple[Validity, list[str]]:
        from nasviz.spaces.nb201 import EDGES, is_degenerate, live_edges

        notes = []
        for node in (1, 2):
            if all(op == "none" for op, (_, dst) in zip(cell.ops, EDGES, strict=True) if dst == node):
                notes.append(f"node {node} is left without inputs (it outputs zeros): its outgoing edges are pruned")
        live = live_edges(cell)
        dead = [f"{src}->{dst}" for (src, dst), op, on in zip(EDGES, cell.ops, live, strict=True) if op != "none" and not on]
        if dead:
            notes.append(f"edge(s) {', '.join(dead)} cannot affect the output: pruned to none")
        if is_degenerate(cell):
            return Validity.invalid("the output no longer depends on the input: every path from node 0 to node 3 is cut "
                                    "by none"), notes
        return Validity.ok(), notes

    def prune(self, cell: Any) -> Any:
        from nasviz.spaces.nb201 import NB201Cell, live_edges

        return NB201Cell(tuple(op if on else "none" for op, on in zip(cell.ops, live_edges(cell), strict=True)))

    def graph(self, cell: Any) -> CellGraph:
        edges = tuple(self.edges(cell))
        slots = tuple(tuple(i for i, e in enumerate(edges) if e[2] == node) for node in range(4))
        return CellGraph(4, 1, edges, slots, (3,))


# ---- NAT cells ----------------------------------------------------------------------------

class NatAdapter(CellAdapter):
    name = "nat"
    skip_op = "skip_connect"
    null_op = "null"
    num_inputs = 2
    max_in = 2

    def __init__(self) -> None:
        from nasviz.spaces.nat import NAT_OPS, NatSpace

        self._space = NatSpace()
        self.ops = NAT_OPS

    @property
    def space(self) -> SearchSpace:
        return self._space

    def edges(self, cell: Any) -> list[Edge]:
        return list(cell.edges)

    def rebuild(self, cell: Any, ops: list[str]) -> Any:
        """The cell with new ops. A loose-end cell keeps its output nodes (written as an explicit concat list): NAT
        changes edge ops, not the output wiring, so nulling a node's consumers never adds it to the output."""
        from nasviz.spaces.nat import NatCell

        edges = tuple((op, src, dst) for op, (_, src, dst) in zip(ops, cell.edges, strict=True))
        if cell.output == "loose_end":
            return NatCell(edges, "concat", tuple(cell.output_nodes()))
        return NatCell(edges, cell.output, cell.concat)

    def public_edge(self, edge: Edge) -> list[Any]:
        """NAT JSON numbering: inputs -2, -1, intermediate nodes 0, 1, ..."""
        op, src, dst = edge
        return [op, src - 2, dst - 2]

    def skip_costs_more(self, edge: Edge) -> bool:
        """In the reduction cell (the same cell, cost() stacks it there too) an edge from an input has stride 2 and its
        skip is a FactorizedReduce: compare it with the op's own cost there."""
        from nasviz.spaces.darts import op_cost

        op, src, _ = edge
        if src >= 2:
            return False
        skip = op_cost(self.skip_op, 16, 16, 2)
        own = op_cost(op, 16, 16, 2)
        return skip[0] > own[0] or skip[1] > own[1]

    def transformed_validity(self, cell: Any) -> tuple[Validity, list[str]]:
        from nasviz.spaces.nat import check_nat_cell, dead_nodes

        validity = check_nat_cell(cell)
        notes = [f"node {n - 2} is left without inputs (both are null): pruned" for n in dead_nodes(cell)]
        unused = sorted(set(_unused_nodes(cell)) - set(dead_nodes(cell)))
        notes += [f"node {n - 2} no longer reaches the output: pruned" for n in unused]
        return validity, notes

    def prune(self, cell: Any) -> Any:
        return prune_nat(cell)

    def graph(self, cell: Any) -> CellGraph:
        nodes = cell.nodes
        n = 2 + (max(nodes) - 1 if nodes else 0)
        edges = tuple(cell.edges)
        slots = tuple(tuple(sorted((i for i, e in enumerate(edges) if e[2] == node), key=lambda i: (edges[i][1], i)))
                      for node in range(n))
        return CellGraph(n, 2, edges, slots, tuple(cell.output_nodes()))


def _unused_nodes(cell: Any) -> list[int]:
    """Intermediate nodes from which no non-null path reaches an output node."""
    reaches = set(cell.output_nodes())
    for node in sorted(cell.nodes, reverse=True):
        if node in reaches:
            continue
        if any(op != "null" and src == node and dst in reaches for op, src, dst in cell.edges):
            reaches.add(node)
    return [n for n in cell.nodes if n not in reaches]


def prune_nat(cell: Any) -> Any:
    """Remove NAT-cell nodes that output zeros (all inputs null or dead) or never reach the output, as NAT's pruning of
    null-cut nodes; edges leaving a removed node carry nothing and become ``null`` from c_{k-2}. Nodes renumber."""
    from nasviz.spaces.nat import NatCell, dead_nodes

    for _ in range(len(cell.nodes) + 1):
        removed = set(dead_nodes(cell)) | set(_unused_nodes(cell))
        if not removed:
            return cell
        keep = [n for n in cell.nodes if n not in removed]
        if not keep:
            raise CellError("every intermediate node is dead: nothing is left after pruning")
        renumber = {0: 0, 1: 1, **{n: 2 + i for i, n in enumerate(keep)}}
        edges = []
        for op, src, dst in cell.edges:
            if dst in removed:
                continue
            edges.append(("null", 0, renumber[dst]) if src in removed else (op, renumber[src], renumber[dst]))
        outputs = [renumber[n] for n in cell.output_nodes() if n not in removed]
        if not outputs:
            raise CellError("no output node depends on the cell inputs after the transformation")
        if cell.output == "concat" and cell.concat is None and len(outputs) == len(keep):
            cell = NatCell(tuple(edges), "concat", None)
        else:
            cell = NatCell(tuple(edges), "concat", tuple(outputs))
    return cell


ADAPTERS: dict[str, type[CellAdapter]] = {"nb201": NB201Adapter, "nat": NatAdapter}
_INSTANCES: dict[str, CellAdapter] = {}


def get_adapter(space: str) -> CellAdapter:
    """The adapter of a space NAT works on (``nb201`` or ``nat``; ``darts`` genotypes are read as NAT cells)."""
    name = (space or "").strip().lower()
    if name == "darts":
        name = "nat"
    if name not in ADAPTERS:
        raise ConfigError(f"NAT works on the spaces {', '.join(ADAPTERS)} (DARTS genotypes via 'nat'), not {space!r}")
    if name not in _INSTANCES:
        _INSTANCES[name] = ADAPTERS[name]()
    return _INSTANCES[name]
