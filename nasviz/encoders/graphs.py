"""The arch2vec graph encodings of each search space (reference notes A1 and A8)."""

from __future__ import annotations

import numpy as np

from nasviz.encoders.base import GraphCodec
from nasviz.errors import CellError
from nasviz.spaces import nb201


class NB201Codec(GraphCodec):
    """NB201 as the 8-node operation-on-node DAG: node 0 input, nodes 1-6 the edge ops in arch-string order,
    node 7 output; the adjacency is the same for every cell. Op order: input, 1x1, 3x3, avgpool, skip, none,
    output."""

    space = "nb201"
    num_nodes = 8
    op_names = nb201.ARCH2VEC_OPS
    _legal = frozenset(range(1, 6))

    def encode(self, cell: nb201.NB201Cell) -> tuple[np.ndarray, np.ndarray]:
        if not isinstance(cell, nb201.NB201Cell):
            raise CellError(f"the NB201 graph encoding takes NB201 cells, got {type(cell).__name__}")
        adjacency, ops = nb201.to_node_dag(cell)
        return adjacency, np.array([self.op_names.index(op) for op in ops], dtype=np.int64)

    def to_cell(self, adjacency: np.ndarray, op_index: np.ndarray) -> nb201.NB201Cell | None:
        if not np.array_equal(np.triu(adjacency, 1), nb201.NODE_DAG_ADJACENCY):
            return None
        ops = op_index.tolist()
        if ops[0] != 0 or ops[7] != 6 or not all(o in self._legal for o in ops[1:7]):
            return None
        return nb201.NB201Cell(tuple(self.op_names[o] for o in ops[1:7]))

    def graph_valid(self, adjacency: np.ndarray, op_index: np.ndarray, rule: str = "strict") -> bool:
        if rule == "paper":
            # the official arch2vec check: first op input, last op output, ops 2..6 legal; adjacency and
            # node 1 are not looked at
            ops = op_index.tolist()
            return ops[0] == 0 and ops[-1] == 6 and all(o in self._legal for o in ops[2:7])
        return super().graph_valid(adjacency, op_index, rule)

    def constrained_decode(self, adjacency_prob: np.ndarray, op_prob: np.ndarray) -> nb201.NB201Cell:
        legal = sorted(self._legal)
        picks = [legal[int(np.argmax(op_prob[node, legal]))] for node in range(1, 7)]
        return nb201.NB201Cell(tuple(self.op_names[o] for o in picks))

