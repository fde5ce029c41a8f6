"""NAO token sequences of each search space, with the per-position masks of legal tokens.

Token 0 is SOS (never emitted). Each :class:`TokenCodec` turns a cell into a fixed-length sequence and
back, and says which tokens are legal at a position given the tokens before it. Decoding greedily under
these masks yields a valid cell of the space by construction:

- NB201: the 6 edge ops in arch-string order (tokens 1..5 = none, skip, 1x1, 3x3, avgpool); the symmetric
  augmentation exchanges the two intermediate nodes when no edge joins them.
- NB101: the pruned cell, vertex by vertex (vertices 1..6): the vertex's op token (1x1, 3x3, maxpool,
  output, or pad after the output), then one token per earlier vertex u saying whether u feeds it
  (27 tokens). Masks force the output at the last vertex at the latest, pad after it, at least one input
  per vertex (so every vertex is reachable from the input) and at most 9 edges (keeping one edge in
  reserve for the output); pruning then only removes vertices that do not reach the output.
- DARTS: NAO's ``[in1, op1, in2, op2]`` per intermediate node, normal cell then reduce cell (32 tokens);
  inputs of node i are earlier nodes 0..i-1 and the two inputs differ.
- NAT: one cell of 4 intermediate nodes with the fully-concat output, ``[in1, op1, in2, op2]`` per node (16
  tokens) over NAT's 11 ops including ``null``; the two inputs of a node differ and a node's second op may be
  ``null`` only when its first is not, so every node keeps a live input and the output depends on the inputs.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from nasviz.errors import CellError, ConfigError

SOS = 0


class TokenCodec(ABC):
    """Cells of one space <-> fixed-length token sequences with prefix-dependent legal-token masks."""

    space: ClassVar[str] = ""
    vocab_size: ClassVar[int] = 0
    length: ClassVar[int] = 0
    #: whether cells have two-input nodes whose inputs can be swapped (NAO's symmetric augmentation)
    symmetric: ClassVar[bool] = False

    @abstractmethod
    def encode(self, cell: Any) -> np.ndarray:
        """Tokens (length,) int64, all >= 1."""

    @abstractmethod
    def decode(self, tokens: Sequence[int]) -> Any | None:
        """The cell the tokens denote, or None when they are not a valid cell of the space."""

    @abstractmethod
    def allowed(self, prefix: Sequence[int]) -> np.ndarray:
        """Boolean mask (vocab_size,) of the tokens legal at position ``len(prefix)``."""

    def decode_reason(self, tokens: Sequence[int]) -> str | None:
        """Why tokens are not a valid cell (None when they are)."""
        return None if self.decode(tokens) is not None else "not a valid cell"

    def masks(self, tokens: np.ndarray) -> np.ndarray:
        """Teacher-forcing masks (n, length, vocab) of sequences ``tokens`` (n, length)."""
        out = np.zeros((len(tokens), self.length, self.vocab_size), dtype=bool)
        for i, seq in enumerate(np.asarray(tokens).tolist()):
            for t in range(self.length):
                out[i, t] = self.allowed(seq[:t])
        return out

    def swap(self, tokens: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Symmetric-branch augmentation (identity for spaces without two-input nodes)."""
        return tokens

    def encode_many(self, cells: Sequence[Any]) -> np.ndarray:
        return np.stack([self.encode(c) for c in cells]).astype(np.int64) if len(cells) else \
            np.zeros((0, self.length), dtype=np.int64)


class NB201Tokens(TokenCodec):
    space = "nb201"
    vocab_size = 6
    length = 6
    symmetric = True

    def encode(self, cell: Any) -> np.ndarray:
        from nasviz.spaces import nb201

        if not isinstance(cell, nb201.NB201Cell):
            raise CellError(f"NAO NB201 tokens take NB201 cells, got {type(cell).__name__}")
        return np.array([1 + nb201.OPS.index(op) for op in cell.ops], dtype=np.int64)

    def decode(self, tokens: Sequence[int]) -> Any | None:
        from nasviz.spaces import nb201

        tokens = [int(t) for t in tokens]
        if len(tokens) != self.length or not all(1 <= t <= 5 for t in tokens):
            return None
        return nb201.NB201Cell(tuple(nb201.OPS[t - 1] for t in tokens))

    def allowed(self, prefix: Sequence[int]) -> np.ndarray:
        mask = np.zeros(self.vocab_size, dtype=bool)
        mask[1:] = True
        return mask

    def masks(self, tokens: np.ndarray) -> np.ndarray:
        out = np.ones((len(tokens), self.length, self.vocab_size), dtype=bool)
        out[:, :, SOS] = False
        return out

    def swap(self, tokens: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """With probability 1/2, exchange the intermediate nodes 1 and 2 when no edge joins them (edge 1->2 is
        'none'): 0->1 <-> 0->2 and 1->3 <-> 2->3. The two cells are isomorphic (NB201's symmetric branches)."""
        if tokens[2] != 1 or rng.random() < 0.5:
            return tokens
        return tokens[[1, 0, 2, 3, 5, 4]]


# NB101 tokens
NO_EDGE, EDGE = 1, 2
NB101_OP_TOKENS = {"conv1x1-bn-relu": 3, "conv3x3-bn-relu": 4, "maxpool3x3": 5}
OUTPUT_TOKEN, PAD_TOKEN = 6, 7


def _nb101_layout() -> list[tuple[int, int | None]]:
    """(vertex, source vertex or None for the op token) of each of the 27 positions."""
    layout: list[tuple[int, int | None]] = []
    for v in range(1, 7):
        layout.append((v, None))
        layout.extend((v, u) for u in range(v))
    return layout


class NB101Tokens(TokenCodec):
    space = "nb101"
    vocab_size = 8
    max_edges = 9
    layout = _nb101_layout()
    length = len(layout)

    def encode(self, cell: Any) -> np.ndarray:
        from nasviz.spaces import nb101

        pruned = nb101.pruned_cell(cell)
        n = pruned.num_vertices
        tokens = []
        for v, u in self.layout:
            if u is None:
                if v < n - 1:
                    tokens.append(NB101_OP_TOKENS[pruned.ops[v]])
                else:
                    tokens.append(OUTPUT_TOKEN if v == n - 1 else PAD_TOKEN)
            else:
                tokens.append(EDGE if v < n and pruned.matrix[u][v] else NO_EDGE)
        return np.array(tokens, dtype=np.int64)

    def _graph(self, tokens: Sequence[int]) -> tuple[np.ndarray, list[str]] | str:
        from nasviz.spaces import nb101

        op_names = {t: op for op, t in NB101_OP_TOKENS.items()}
        ops = [nb101.INPUT]
        edges: list[tuple[int, int]] = []
        n = None
        for (v, u), t in zip(self.layout, tokens, strict=True):
            if u is None:
                if n is not None:
                    if t != PAD_TOKEN:
                        return f"vertex {v} after the output is not padding"
                    continue
                if t == OUTPUT_TOKEN:
                    ops.append(nb101.OUTPUT)
                    n = v + 1
                elif t in op_names:
                    ops.append(op_names[t])
                else:
                    return f"token {t} is not an op at vertex {v}"
            elif t == EDGE:
                if n is not None and v >= n:
                    return f"edge into padding vertex {v}"
                edges.append((u, v))
            elif t != NO_EDGE:
                return f"token {t} is not an edge flag ({u}->{v})"
        if n is None:
            return "no output vertex"
        matrix = np.zeros((n, n), dtype=np.int64)
        for u, v in edges:
            matrix[u, v] = 1
        return matrix, ops

    def decode(self, tokens: Sequence[int]) -> Any | None:
        from nasviz.spaces import nb101

        tokens = [int(t) for t in tokens]
        if len(tokens) != self.length:
            return None
        graph = self._graph(tokens)
        if isinstance(graph, str):
            return None
        cell = nb101.make_cell(*graph)
        if not nb101.analyse(cell).valid:
            return None
        return nb101.pruned_cell(cell)

    def decode_reason(self, tokens: Sequence[int]) -> str | None:
        from nasviz.spaces import nb101

        graph = self._graph([int(t) for t in tokens])
        if isinstance(graph, str):
            return graph
        return nb101.analyse(nb101.make_cell(*graph)).reason

    def allowed(self, prefix: Sequence[int]) -> np.ndarray:
        t = len(prefix)
        if t >= self.length:
            raise ConfigError(f"position {t} is past the {self.length} NB101 tokens")
        mask = np.zeros(self.vocab_size, dtype=bool)
        edges = 0
        current_has_input = False
        current_op = None  # op token of the vertex of position t (of the previous vertex at an op position)
        for (_, u), tok in zip(self.layout[:t], prefix, strict=True):
            if u is None:
                current_op = tok
                current_has_input = False
            elif tok == EDGE:
                edges += 1
                current_has_input = True
        v, u = self.layout[t]
        if u is None:
            if current_op in (OUTPUT_TOKEN, PAD_TOKEN):
                mask[PAD_TOKEN] = True
            elif v == 6 or edges >= self.max_edges - 1:
                mask[OUTPUT_TOKEN] = True  # a non-output vertex needs an edge, and the output one more
            else:
                mask[[3, 4, 5, OUTPUT_TOKEN]] = True
            return mask
        if current_op == PAD_TOKEN:
            mask[NO_EDGE] = True
            return mask
        reserve = 0 if current_op == OUTPUT_TOKEN else 1
        can_add = edges + 1 + reserve <= self.max_edges
        if u == v - 1 and not current_has_input:
            mask[EDGE] = True  # every vertex needs an input; the reserve guarantees the budget
        else:
            mask[NO_EDGE] = True
            mask[EDGE] = can_add
        return mask


class DartsTokens(TokenCodec):
    """NAO's DARTS sequence: input tokens 1..5 (nodes 0..4), op tokens 6..12 (the 7 DARTS edge ops)."""

    space = "darts"
    vocab_size = 13
    length = 32
    symmetric = True
    op_offset = 6

    def encode(self, cell: Any) -> np.ndarray:
        from nasviz.spaces import darts

        tokens: list[int] = []
        for name in ("normal", "reduce"):
            for op, src in cell.pairs(name):
                if op not in darts.EDGE_OPS:
                    raise CellError(f"op {op!r} is not a DARTS edge op")
                tokens += [src + 1, self.op_offset + darts.EDGE_OPS.index(op)]
        if len(tokens) != self.length:
            raise CellError(f"a DARTS genotype gives {self.length} NAO tokens, this one gives {len(tokens)}")
        return np.array(tokens, dtype=np.int64)

    def decode(self, tokens: Sequence[int]) -> Any | None:
        from nasviz.spaces import darts

        tokens = [int(t) for t in tokens]
        if len(tokens) != self.length:
            return None
        cells = []
        for c in range(2):
            pairs = []
            for k in range(8):
                src_tok, op_tok = tokens[16 * c + 2 * k], tokens[16 * c + 2 * k + 1]
                if not 1 <= src_tok <= 5 or not 0 <= op_tok - self.op_offset < len(darts.EDGE_OPS):
                    return None
                pairs.append((darts.EDGE_OPS[op_tok - self.op_offset], src_tok - 1))
            cells.append(tuple(pairs))
        genotype = darts.Genotype(cells[0], darts.DEFAULT_CONCAT, cells[1], darts.DEFAULT_CONCAT)
        return genotype if darts.check_genotype(genotype).valid else None

    def allowed(self, prefix: Sequence[int]) -> np.ndarray:
        t = len(prefix)
        mask = np.zeros(self.vocab_size, dtype=bool)
        if t % 2 == 1:
            mask[self.op_offset:] = True
            return mask
        node = 2 + (t % 16) // 4
        mask[1:node + 1] = True
        if (t % 4) == 2:
            mask[prefix[t - 2]] = False  # the two inputs of a node differ
        return mask

    def swap(self, tokens: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Swap the two (input, op) branches of one random node per cell."""
        out = tokens.copy()
        for c in range(2):
            k = int(rng.integers(4))
            start = 16 * c + 4 * k
            out[start:start + 2], out[start + 2:start + 4] = tokens[start + 2:start + 4], tokens[start:start + 2]
        return out


class NatTokens(TokenCodec):
    """NAO-style sequence of a NAT cell (4 nodes, output "concat"): input tokens 1..5 (NAT-code nodes 0..4),
    op tokens 6..16 (:data:`nasviz.spaces.nat.NAT_OPS`, ``null`` last)."""

    space = "nat"
    nodes = 4
    vocab_size = 17
    length = 16
    symmetric = True
    op_offset = 6

    def encode(self, cell: Any) -> np.ndarray:
        from nasviz.spaces import nat

        if cell.output != "concat" or cell.concat is not None or cell.num_nodes != self.nodes:
            raise CellError(f"NAO's NAT tokens cover cells of {self.nodes} nodes with the fully-concat output")
        tokens: list[int] = []
        for node in cell.nodes:
            for op, src in cell.inputs_of(node):
                tokens += [src + 1, self.op_offset + nat.NAT_OPS.index(op)]
        if len(tokens) != self.length:
            raise CellError(f"a NAT cell of {self.nodes} two-input nodes gives {self.length} NAO tokens, this one "
                            f"gives {len(tokens)}")
        return np.array(tokens, dtype=np.int64)

    def decode(self, tokens: Sequence[int]) -> Any | None:
        from nasviz.spaces import nat

        tokens = [int(t) for t in tokens]
        if len(tokens) != self.length:
            return None
        edges = []
        for k in range(2 * self.nodes):
            src_tok, op_tok = tokens[2 * k], tokens[2 * k + 1]
            if not 1 <= src_tok <= 5 or not 0 <= op_tok - self.op_offset < len(nat.NAT_OPS):
                return None
            edges.append((nat.NAT_OPS[op_tok - self.op_offset], src_tok - 1, 2 + k // 2))
        try:
            cell = nat.NatCell(tuple(edges))
        except CellError:
            return None
        return cell if nat.check_nat_cell(cell).valid else None

    def allowed(self, prefix: Sequence[int]) -> np.ndarray:
        t = len(prefix)
        mask = np.zeros(self.vocab_size, dtype=bool)
        if t % 2 == 1:
            mask[self.op_offset:] = True
            if t % 4 == 3 and prefix[t - 2] == self.vocab_size - 1:
                mask[self.vocab_size - 1] = False  # both ops null would cut the node off its inputs
            return mask
        node = 2 + t // 4
        mask[1:node + 1] = True
        if t % 4 == 2:
            mask[prefix[t - 2]] = False  # the two inputs of a node differ
        return mask

    def swap(self, tokens: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Swap the two (input, op) branches of one random node."""
        out = tokens.copy()
        start = 4 * int(rng.integers(self.nodes))
        out[start:start + 2], out[start + 2:start + 4] = tokens[start + 2:start + 4], tokens[start:start + 2]
        return out


_TOKEN_CODECS: dict[str, type[TokenCodec]] = {"nb201": NB201Tokens, "nb101": NB101Tokens, "darts": DartsTokens,
                                              "nat": NatTokens}


def get_token_codec(space: str) -> TokenCodec:
    """The NAO token sequence of ``space`` (nb201, nb101, darts, nat)."""
    from nasviz.spaces import get_space

    key = get_space(space).name
    if key not in _TOKEN_CODECS:
        raise ConfigError(f"NAO has no token sequence for space {space!r}; supported: {', '.join(_TOKEN_CODECS)}")
    return _TOKEN_CODECS[key]()


def hamming_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Mean number of differing tokens per sequence (NAO's decoder metric)."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        raise ConfigError(f"hamming distance of token arrays of shapes {a.shape} and {b.shape}")
    if len(a) == 0:
        raise ConfigError("hamming distance needs at least one sequence")
    return float((a != b).sum(axis=-1).mean())


def pairwise_accuracy(truth: Sequence[float], predicted: Sequence[float]) -> float:
    """Fraction of pairs (i < j) that ``predicted`` orders like ``truth`` (NAO's predictor metric; a pair
    counts as consistent when both differences are >= 0 or both are <= 0, so ties agree with anything
    they are tied with in the same direction)."""
    x = np.asarray(truth, dtype=np.float64)
    y = np.asarray(predicted, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ConfigError(f"pairwise accuracy of arrays of shapes {x.shape} and {y.shape}")
    n = len(x)
    if n < 2:
        raise ConfigError("pairwise accuracy needs at least two values")
    total = 0
    consistent = 0
    for start in range(0, n - 1, 1024):  # blocks of rows keep memory at O(1024 n)
        rows = np.arange(start, min(start + 1024, n - 1))
        dx = x[None, :] - x[rows, None]
        dy = y[None, :] - y[rows, None]
        upper = np.arange(n)[None, :] > rows[:, None]
        ok = ((dx >= 0) & (dy >= 0)) | ((dx <= 0) & (dy <= 0))
        consistent += int((ok & upper).sum())
        total += int(upper.sum())
    return consistent / total
