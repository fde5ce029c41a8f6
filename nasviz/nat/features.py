"""The policy's view of cells as dense NumPy arrays (no torch: shared by training and by the NumPy inference path).

One cell: the op index of every input slot of every node, the node kinds (cell inputs, intermediate), which nodes the
output reads, the adjacency ``adj[to, from]`` and, per edge, its target node, its slot there and the actions the rule
allows. A batch pads cells to the largest node and edge counts (padding edges allow ``keep`` only).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from nasviz.nat.cells import CellAdapter
from nasviz.nat.transform import action_mask


@dataclass(frozen=True)
class CellArrays:
    """One cell (N nodes, S slots, E edges)."""

    slot_ops: np.ndarray  # (N, S) op index, pad = len(ops)
    node_kind: np.ndarray  # (N,)
    is_output: np.ndarray  # (N,)
    adjacency: np.ndarray  # (N, N)
    edge_node: np.ndarray  # (E,)
    edge_slot: np.ndarray  # (E,)
    mask: np.ndarray  # (E, 3)


@dataclass
class ArrayBatch:
    """Dense arrays of a batch of cells (B cells, N nodes, S slots, E edges, all padded)."""

    slot_ops: np.ndarray  # (B, N, S) int64 op index, pad = len(ops)
    node_kind: np.ndarray  # (B, N) int64: input index for cell inputs, num_inputs intermediate, num_inputs + 1 padding
    is_output: np.ndarray  # (B, N) float32
    adjacency: np.ndarray  # (B, N, N) float32, adj[to, from] = number of edges from -> to
    edge_node: np.ndarray  # (B, E) int64 node of each edge (its target)
    edge_slot: np.ndarray  # (B, E) int64 slot of each edge in its target
    mask: np.ndarray  # (B, E, 3) bool allowed actions (padding edges: keep only)
    edge_valid: np.ndarray  # (B, E) bool
    num_edges: list[int]

    FIELDS = ("slot_ops", "node_kind", "is_output", "adjacency", "edge_node", "edge_slot", "mask", "edge_valid")


_ARRAY_CACHE: dict[tuple[str, Any, str], CellArrays] = {}
_ARRAY_CACHE_LIMIT = 200_000


def cell_arrays(adapter: CellAdapter, cell: Any, rule: str) -> CellArrays:
    """The policy's view of one cell (cached: cells are immutable)."""
    key = (adapter.name, cell, rule)
    cached = _ARRAY_CACHE.get(key)
    if cached is not None:
        return cached
    graph = adapter.graph(cell)
    n, s = graph.num_nodes, adapter.max_in
    op_index = {op: i for i, op in enumerate(adapter.ops)}
    slot_ops = np.full((n, s), len(adapter.ops), dtype=np.int64)
    node_kind = np.full(n, adapter.num_inputs, dtype=np.int64)
    node_kind[:graph.num_inputs] = np.arange(graph.num_inputs)
    edge_node = np.zeros(len(graph.edges), dtype=np.int64)
    edge_slot = np.zeros(len(graph.edges), dtype=np.int64)
    for node, slots in enumerate(graph.slots):
        for k, edge_index in enumerate(slots):
            slot_ops[node, k] = op_index[graph.edges[edge_index][0]]
            edge_node[edge_index] = node
            edge_slot[edge_index] = k
    adjacency = np.zeros((n, n), dtype=np.float32)
    for _, src, dst in graph.edges:
        adjacency[dst, src] += 1.0  # adj[to, from]; duplicate edges sum (as the official code)
    is_output = np.zeros(n, dtype=np.float32)
    is_output[list(graph.outputs)] = 1.0
    arrays = CellArrays(slot_ops, node_kind, is_output, adjacency, edge_node, edge_slot, action_mask(adapter, cell, rule))
    if len(_ARRAY_CACHE) >= _ARRAY_CACHE_LIMIT:
        _ARRAY_CACHE.clear()
    _ARRAY_CACHE[key] = arrays
    return arrays


def featurize_arrays(adapter: CellAdapter, cells: list[Any], rule: str) -> ArrayBatch:
    """The dense NumPy batch of ``cells`` under ``rule``."""
    parts = [cell_arrays(adapter, c, rule) for c in cells]
    b = len(cells)
    n = max(p.node_kind.shape[0] for p in parts)
    e = max(p.edge_node.shape[0] for p in parts)
    s = adapter.max_in
    if all(p.node_kind.shape[0] == n and p.edge_node.shape[0] == e for p in parts):
        def stack(name: str) -> np.ndarray:
            return np.stack([getattr(p, name) for p in parts])

        return ArrayBatch(stack("slot_ops"), stack("node_kind"), stack("is_output"), stack("adjacency"),
                          stack("edge_node"), stack("edge_slot"), stack("mask"), np.ones((b, e), dtype=bool), [e] * b)
    slot_ops = np.full((b, n, s), len(adapter.ops), dtype=np.int64)
    node_kind = np.full((b, n), adapter.num_inputs + 1, dtype=np.int64)
    is_output = np.zeros((b, n), dtype=np.float32)
    adjacency = np.zeros((b, n, n), dtype=np.float32)
    edge_node = np.zeros((b, e), dtype=np.int64)
    edge_slot = np.zeros((b, e), dtype=np.int64)
    mask = np.zeros((b, e, 3), dtype=bool)
    mask[:, :, 0] = True
    edge_valid = np.zeros((b, e), dtype=bool)
    for i, p in enumerate(parts):
        nn_, ne = p.node_kind.shape[0], p.edge_node.shape[0]
        slot_ops[i, :nn_] = p.slot_ops
        node_kind[i, :nn_] = p.node_kind
        is_output[i, :nn_] = p.is_output
        adjacency[i, :nn_, :nn_] = p.adjacency
        edge_node[i, :ne] = p.edge_node
        edge_slot[i, :ne] = p.edge_slot
        mask[i, :ne] = p.mask
        edge_valid[i, :ne] = True
    return ArrayBatch(slot_ops, node_kind, is_output, adjacency, edge_node, edge_slot, mask, edge_valid,
                      [p.edge_node.shape[0] for p in parts])
