"""The arch2vec graph encodings of each search space (reference notes A1 and A8)."""

from __future__ import annotations

import numpy as np

from nasviz.encoders.base import GraphCodec
from nasviz.errors import CellError
from nasviz.spaces import darts, nb101, nb201


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



class NB101Codec(GraphCodec):
    """NB101 as arch2vec encodes it: the pruned cell's 7x7 upper-triangular adjacency and 7x5 one-hot ops
    (input, conv1x1, conv3x3, maxpool3x3, output); cells with fewer vertices are zero-padded at the end.
    Decoded nodes after the first ``output`` are padding."""

    space = "nb101"
    num_nodes = 7
    op_names = nb101.ARCH2VEC_OPS
    _output = len(nb101.ARCH2VEC_OPS) - 1

    def encode(self, cell: nb101.NB101Cell) -> tuple[np.ndarray, np.ndarray]:
        if not isinstance(cell, nb101.NB101Cell):
            raise CellError(f"the NB101 graph encoding takes NB101 cells, got {type(cell).__name__}")
        adjacency, onehot = nb101.to_arch2vec(cell)
        op_index = np.where(onehot.sum(axis=1) > 0, onehot.argmax(axis=1), -1).astype(np.int64)
        return adjacency.astype(np.int8), op_index

    def op_index_from_probs(self, op_prob: np.ndarray) -> np.ndarray:
        op_index = np.argmax(op_prob, axis=-1).astype(np.int64)
        for row in op_index.reshape(-1, self.num_nodes):
            outputs = np.nonzero(row == self._output)[0]
            if len(outputs):
                row[outputs[0] + 1:] = -1
        return op_index

    def to_cell(self, adjacency: np.ndarray, op_index: np.ndarray) -> nb101.NB101Cell | None:
        ops = op_index.tolist()
        n = ops.index(-1) if -1 in ops else len(ops)
        if n < 2 or ops[0] != 0 or ops[n - 1] != self._output or any(o in (0, self._output) for o in ops[1:n - 1]):
            return None
        adjacency = np.triu(adjacency, 1)
        if adjacency[n:].any() or adjacency[:, n:].any():
            return None
        try:
            cell = nb101.make_cell(adjacency[:n, :n], [self.op_names[o] for o in ops[:n]])
        except CellError:
            return None
        return cell if nb101.analyse(cell).valid else None

    def _spec(self, adjacency: np.ndarray, op_index: np.ndarray) -> nb101.NB101Cell | None:
        """The decoded graph read as a nasbench ``ModelSpec``: its nodes up to the first output (the rest is
        padding), ops as decoded (interior nodes may carry any label; pruning may remove them)."""
        ops = op_index.tolist()
        n = ops.index(-1) if -1 in ops else len(ops)
        if n < 2:
            return None
        return nb101.NB101Cell(tuple(tuple(int(x) for x in row) for row in np.triu(adjacency[:n, :n], 1)),
                               tuple(self.op_names[o] for o in ops[:n]))

    def graph_valid(self, adjacency: np.ndarray, op_index: np.ndarray, rule: str = "strict") -> bool:
        """"strict": exactly a pruned-or-prunable cell with no stray labels or edges into padding (:meth:`to_cell`).
        "paper": the official check ``nasbench.is_valid(ModelSpec(adjacency, ops))`` on the decoded graph up to
        its first output: vertices off every input -> output path are pruned first, whatever their label or
        edges into padding. (The official code passes all 7 decoded rows, output at vertex 6, so it rejects
        every cell of fewer than 7 vertices; reading the graph up to its first output is the padding this
        encoding trains on.)"""
        if rule == "paper":
            spec = self._spec(adjacency, op_index)
            return spec is not None and nb101.analyse(spec).valid
        return super().graph_valid(adjacency, op_index, rule)

    def graph_key(self, adjacency: np.ndarray, op_index: np.ndarray) -> bytes | str:
        """The module hash of the pruned spec when the graph is a valid nasbench spec (so graphs that differ
        only in pruned vertices count as one cell), else the raw graph."""
        spec = self._spec(adjacency, op_index)
        result = nb101.analyse(spec) if spec is not None else None
        if result is not None and result.valid and result.hash is not None:
            return result.hash
        return super().graph_key(adjacency, op_index)

    def constrained_decode(self, adjacency_prob: np.ndarray, op_prob: np.ndarray) -> nb101.NB101Cell | None:
        """Input first; the output at its most likely position; the most likely legal op in between; the
        decoded edges among those nodes, the 9 most likely when there are more. None when still invalid."""
        n = 1 + int(np.argmax(op_prob[1:, self._output])) + 1
        ops = [0] + [1 + int(np.argmax(op_prob[v, 1:self._output])) for v in range(1, n - 1)] + [self._output]
        prob = np.triu(adjacency_prob[:n, :n], 1)
        edges = np.argwhere(prob > 0.5)
        if len(edges) > nb101.MAX_EDGES:
            order = np.argsort(-prob[edges[:, 0], edges[:, 1]])[: nb101.MAX_EDGES]
            edges = edges[order]
        adjacency = np.zeros((n, n), dtype=np.int64)
        adjacency[edges[:, 0], edges[:, 1]] = 1
        cell = nb101.make_cell(adjacency, [self.op_names[o] for o in ops])
        return cell if nb101.analyse(cell).valid else None


class DartsCodec(GraphCodec):
    """DARTS as arch2vec encodes it: the normal cell as an 11-node DAG (c_{k-2}, c_{k-1}, 8 op-nodes, output)
    with 11-wide one-hot ops; decoded genotypes use the normal cell for the reduction cell too."""

    space = "darts"
    num_nodes = 11
    op_names = darts.ARCH2VEC_OPS
    _edge_ops = tuple(darts.ARCH2VEC_OPS.index(op) for op in darts.EDGE_OPS)

    @staticmethod
    def normal_only(genotype: darts.Genotype) -> darts.Genotype:
        """The genotype arch2vec trains on: reduction cell = normal cell."""
        return darts.Genotype(genotype.normal, genotype.normal_concat, genotype.normal, genotype.normal_concat)

    def encode(self, cell: darts.Genotype) -> tuple[np.ndarray, np.ndarray]:
        if not isinstance(cell, darts.Genotype):
            raise CellError(f"the DARTS graph encoding takes genotypes, got {type(cell).__name__}")
        adjacency, onehot = darts.arch2vec_encoding(cell, "normal")
        return adjacency.astype(np.int8), onehot.argmax(axis=1).astype(np.int64)

    def to_cell(self, adjacency: np.ndarray, op_index: np.ndarray) -> darts.Genotype | None:
        try:
            genotype = darts.from_arch2vec(adjacency, op_index.tolist())
        except (CellError, IndexError):
            return None
        return genotype if darts.check_genotype(genotype).valid else None

    def constrained_decode(self, adjacency_prob: np.ndarray, op_prob: np.ndarray) -> darts.Genotype | None:
        """Per op-node: the most likely non-zero DARTS op and the most likely legal source (c_{k-2}, c_{k-1}
        or an earlier block, scored by the mean probability of its edges); the two op-nodes of a block take
        different sources."""
        pairs = []
        for block in range(darts.NUM_NODES):
            scores = []
            for node in (2 + 2 * block, 3 + 2 * block):
                per_source = [adjacency_prob[0, node], adjacency_prob[1, node]]
                per_source += [(adjacency_prob[2 + 2 * b, node] + adjacency_prob[3 + 2 * b, node]) / 2 for b in range(block)]
                scores.append(np.asarray(per_source))
            first, second = np.unravel_index(np.argmax(scores[0][:, None] + scores[1][None, :]
                                                        - np.eye(len(scores[0])) * 1e9), (len(scores[0]),) * 2)
            for node, source in zip((2 + 2 * block, 3 + 2 * block), (int(first), int(second)), strict=True):
                op = self._edge_ops[int(np.argmax(op_prob[node, list(self._edge_ops)]))]
                pairs.append((self.op_names[op], source))
        return darts.Genotype(tuple(pairs), darts.DEFAULT_CONCAT, tuple(pairs), darts.DEFAULT_CONCAT)
