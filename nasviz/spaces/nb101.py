"""NAS-Bench-101: cells are DAGs of at most 7 vertices (ops on vertices) and 9 edges.

Canonical cell: :class:`NB101Cell`, an adjacency matrix (``matrix[i][j] == 1`` is an edge i -> j)
and one op per vertex, named as in ``google-research/nasbench``. A cell is kept exactly as
given (it may contain vertices that are pruned away); :func:`analyse` prunes it the way
NAS-Bench-101 does (only vertices on an input -> output path survive), checks validity with the
same rules as ``nasbench.api.NASBench.is_valid`` and computes the module hash that keys the
official dataset (the Weisfeiler-Lehman-style md5 fingerprint of the pruned graph with labels
``-1`` input, ``0`` conv3x3, ``1`` conv1x1, ``2`` maxpool, ``-2`` output).

Structural problems (a non-square matrix, entries other than 0/1, unknown op names, an ops
list of the wrong length) raise :class:`~nasviz.errors.CellError` when the cell is built.
Semantic problems (cycles, too many vertices or edges after pruning, no input -> output path,
misplaced input/output ops) make the cell *invalid*: :meth:`NB101Space.is_valid` returns the
reason and :meth:`NB101Space.validate` (or ``parse(..., require_valid=True)``) raises it.

The network cost reproduces NAS-Bench-101's model builder: a 3x3 conv-BN-ReLU stem with 128
channels, 3 stacks of 3 modules with 2x2 max-pool downsampling and channel doubling between
stacks, global average pooling and a dense classifier. Inside a module the output channels are
split among the vertices feeding the output (``compute_vertex_channels``), the module input
reaches vertices through 1x1 conv-BN-ReLU projections, interior tensors are summed (truncated
to the receiving vertex's channels) and the output concatenates its inputs.
"""

from __future__ import annotations

import ast
import hashlib
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

import networkx as nx
import numpy as np

from nasviz.errors import CellError
from nasviz.spaces.base import NetworkCost, SearchSpace, Validity, check_cell_text, count_ops, load_json_text

INPUT = "input"
OUTPUT = "output"
CONV1X1 = "conv1x1-bn-relu"
CONV3X3 = "conv3x3-bn-relu"
MAXPOOL3X3 = "maxpool3x3"

#: interior ops, in the order of ``nasbench`` ``config['available_ops']`` (hash labels 0, 1, 2)
OPS: tuple[str, ...] = (CONV3X3, CONV1X1, MAXPOOL3X3)
ALL_OPS: tuple[str, ...] = (INPUT, CONV1X1, CONV3X3, MAXPOOL3X3, OUTPUT)
MAX_VERTICES = 7
MAX_EDGES = 9
#: hard limit on the size of a matrix we agree to even look at
MAX_MATRIX_SIZE = 32
NUM_CELLS = 423_624

# Community encodings (reference notes A7/A8)
NASLIB_OPS: tuple[str, ...] = (INPUT, OUTPUT, MAXPOOL3X3, CONV1X1, CONV3X3)
ARCH2VEC_OPS: tuple[str, ...] = (INPUT, CONV1X1, CONV3X3, MAXPOOL3X3, OUTPUT)
AGNET_OPS: tuple[str, ...] = (OUTPUT, INPUT, CONV1X1, CONV3X3, MAXPOOL3X3)
SHORT_LABELS = {INPUT: "in", OUTPUT: "out", CONV1X1: "1x1", CONV3X3: "3x3", MAXPOOL3X3: "mp"}

#: network skeleton of NAS-Bench-101 (nasbench/lib/config.py)
STEM_CHANNELS = 128
NUM_STACKS = 3
MODULES_PER_STACK = 3
#: dataset -> (input resolution, number of classes)
DATASETS: dict[str, tuple[int, int]] = {"cifar10": (32, 10)}
DATASET_ALIASES = {"c10": "cifar10", "cifar-10": "cifar10", "cifar10-valid": "cifar10"}

Matrix = tuple[tuple[int, ...], ...]


@dataclass(frozen=True)
class NB101Cell:
    """An NB101 cell as given: square 0/1 adjacency matrix and one op per vertex."""

    matrix: Matrix
    ops: tuple[str, ...]

    def __post_init__(self) -> None:
        n = len(self.matrix)
        if n < 2:
            raise CellError(f"an NB101 cell needs at least 2 vertices (input and output), got {n}")
        if n > MAX_MATRIX_SIZE:
            raise CellError(f"NB101 matrix has {n} vertices; NAS-Bench-101 cells have at most {MAX_VERTICES}")
        for i, row in enumerate(self.matrix):
            if len(row) != n:
                raise CellError(f"NB101 matrix must be square: row {i} has {len(row)} entries, expected {n}")
            for j, value in enumerate(row):
                if not isinstance(value, int) or isinstance(value, bool) or value not in (0, 1):
                    raise CellError(f"NB101 matrix entry [{i}][{j}] is {value!r}; entries must be 0 or 1")
        if len(self.ops) != n:
            raise CellError(f"NB101 ops has {len(self.ops)} entries but the matrix has {n} vertices")
        for v, op in enumerate(self.ops):
            if op not in ALL_OPS:
                raise CellError(f"unknown NB101 op {op!r} at vertex {v}; known ops: {', '.join(ALL_OPS)}")

    @property
    def num_vertices(self) -> int:
        return len(self.ops)

    @property
    def num_edges(self) -> int:
        return sum(map(sum, self.matrix))

    def to_numpy(self) -> np.ndarray:
        return np.array(self.matrix, dtype=np.int8)

    def to_json(self) -> dict[str, Any]:
        return {"matrix": [list(row) for row in self.matrix], "ops": list(self.ops)}


def make_cell(matrix: Any, ops: Any) -> NB101Cell:
    """Build a cell from any nested sequence / numpy array and an op list, with clear errors."""
    if isinstance(matrix, np.ndarray):
        if matrix.ndim != 2:
            raise CellError(f"NB101 matrix must be 2-dimensional, got shape {matrix.shape}")
        matrix = matrix.tolist()
    if not isinstance(matrix, (list, tuple)) or not all(isinstance(r, (list, tuple, np.ndarray)) for r in matrix):
        raise CellError('NB101 "matrix" must be a list of rows (a square 0/1 matrix)')
    rows = []
    for i, row in enumerate(matrix):
        values = []
        for j, value in enumerate(list(row)):
            if isinstance(value, (bool, np.bool_, np.integer)) or (isinstance(value, (float, np.floating)) and value in (0, 1)):
                value = int(value)
            if not isinstance(value, int) or value not in (0, 1):
                raise CellError(f"NB101 matrix entry [{i}][{j}] is {value!r}; entries must be 0 or 1")
            values.append(value)
        rows.append(tuple(values))
    if isinstance(ops, np.ndarray):
        ops = ops.tolist()
    if not isinstance(ops, (list, tuple)) or not all(isinstance(op, str) for op in ops):
        raise CellError('NB101 "ops" must be a list of op names')
    return NB101Cell(tuple(rows), tuple(ops))


# ---- pruning, validity and the official hash ------------------------------------------------

@dataclass(frozen=True)
class Analysis:
    """Everything derived from a cell once: validity, pruned graph and the dataset hash."""

    reason: str | None
    matrix: Matrix | None = None
    ops: tuple[str, ...] | None = None
    kept: tuple[int, ...] | None = None
    hash: str | None = None

    @property
    def valid(self) -> bool:
        return self.reason is None


def _reachable(n: int, succ: list[list[int]], start: int) -> set[int]:
    seen = {start}
    stack = [start]
    while stack:
        v = stack.pop()
        for w in succ[v]:
            if w not in seen:
                seen.add(w)
                stack.append(w)
    return seen


def prune(matrix: Matrix, ops: tuple[str, ...]) -> tuple[Matrix, tuple[str, ...], tuple[int, ...]] | None:
    """Keep only vertices on an input -> output path (as ``ModelSpec._prune``).

    Returns (pruned matrix, pruned ops, kept original vertex indices), or None when the output is
    not reachable from the input. The matrix must be upper triangular.
    """
    n = len(matrix)
    succ = [[j for j in range(n) if matrix[i][j]] for i in range(n)]
    pred = [[i for i in range(n) if matrix[i][j]] for j in range(n)]
    from_input = _reachable(n, succ, 0)
    to_output = _reachable(n, pred, n - 1)
    kept = sorted(from_input & to_output)
    if len(kept) < 2:
        return None
    pruned = tuple(tuple(matrix[i][j] for j in kept) for i in kept)
    return pruned, tuple(ops[i] for i in kept), tuple(kept)


def hash_module(matrix: Matrix, labels: list[int]) -> str:
    """NAS-Bench-101's graph-invariant md5 fingerprint of a labelled DAG (``graph_util.hash_module``).

    Each vertex starts from md5 of ``str((out_degree, in_degree, label))``; then, ``V`` times,
    every vertex hash becomes md5 of its sorted in-neighbour hashes, ``|``, its sorted
    out-neighbour hashes, ``|``, its own hash. The fingerprint is md5 of ``str(sorted(hashes))``.
    """
    n = len(matrix)
    succ = [[j for j in range(n) if matrix[i][j]] for i in range(n)]
    pred = [[i for i in range(n) if matrix[i][j]] for j in range(n)]
    md5 = hashlib.md5
    hashes = [md5(str((len(succ[v]), len(pred[v]), labels[v])).encode("utf-8")).hexdigest() for v in range(n)]
    for _ in range(n):
        hashes = [
            md5(("".join(sorted(hashes[w] for w in pred[v])) + "|" + "".join(sorted(hashes[w] for w in succ[v]))
                 + "|" + hashes[v]).encode("utf-8")).hexdigest()
            for v in range(n)
        ]
    return md5(str(sorted(hashes)).encode("utf-8")).hexdigest()


def hash_labels(ops: tuple[str, ...]) -> list[int]:
    """Hash labels of a pruned, valid op list: -1 input, index in :data:`OPS`, -2 output."""
    return [-1] + [OPS.index(op) for op in ops[1:-1]] + [-2]


def _structure_problem(matrix: Matrix) -> str | None:
    n = len(matrix)
    for i in range(n):
        if matrix[i][i]:
            return f"cycle: self-loop at vertex {i} (the matrix must be strictly upper triangular)"
    for i in range(n):
        for j in range(i):
            if matrix[i][j]:
                return (f"cycle: edge {i}->{j} goes backwards (the matrix must be strictly upper triangular; "
                        "list vertices in topological order)")
    return None


def _disconnection_reason(matrix: Matrix) -> str:
    n = len(matrix)
    if not any(matrix[i][n - 1] for i in range(n)):
        return f"disconnected: the output vertex {n - 1} has no inputs"
    if not any(matrix[0]):
        return "disconnected: the input vertex 0 has no outgoing edges"
    return f"disconnected: the output vertex {n - 1} is not reachable from the input vertex 0"


@lru_cache(maxsize=1 << 18)
def analyse(cell: NB101Cell) -> Analysis:
    """Prune and validate ``cell`` with NAS-Bench-101's rules and hash it (cached per cell)."""
    problem = _structure_problem(cell.matrix)
    if problem:
        return Analysis(problem)
    pruned = prune(cell.matrix, cell.ops)
    if pruned is None:
        return Analysis(_disconnection_reason(cell.matrix))
    matrix, ops, kept = pruned
    n = len(ops)
    if n > MAX_VERTICES:
        return Analysis(f"too many vertices: {n} after pruning (NAS-Bench-101 allows at most {MAX_VERTICES})")
    edges = sum(map(sum, matrix))
    if edges > MAX_EDGES:
        return Analysis(f"too many edges: {edges} after pruning (NAS-Bench-101 allows at most {MAX_EDGES})")
    if ops[0] != INPUT:
        return Analysis(f"the first vertex must be {INPUT!r}, got {ops[0]!r}")
    if ops[-1] != OUTPUT:
        return Analysis(f"the last vertex must be {OUTPUT!r}, got {ops[-1]!r}")
    for v, op in zip(kept[1:-1], ops[1:-1], strict=True):
        if op not in OPS:
            return Analysis(f"interior vertex {v} has op {op!r}; interior ops are {', '.join(OPS)}")
    return Analysis(None, matrix, ops, kept, hash_module(matrix, hash_labels(ops)))


def valid_analysis(cell: NB101Cell) -> Analysis:
    """:func:`analyse`, raising :class:`CellError` with the reason when the cell is invalid."""
    result = analyse(cell)
    if not result.valid:
        raise CellError(f"invalid NB101 cell: {result.reason}")
    return result


def pruned_cell(cell: NB101Cell) -> NB101Cell:
    """The cell NAS-Bench-101 actually builds (dangling vertices removed). Raises when invalid."""
    result = valid_analysis(cell)
    assert result.matrix is not None and result.ops is not None
    return NB101Cell(result.matrix, result.ops)


def _pad_matrix(matrix: Matrix, size: int = MAX_VERTICES) -> np.ndarray:
    padded = np.zeros((size, size), dtype=np.int8)
    n = len(matrix)
    padded[:n, :n] = np.array(matrix, dtype=np.int8)
    return padded


# ---- uniform sampling over distinct cells -----------------------------------------------------

#: distinct NB101 cells (module hashes) per number of vertices after pruning. V <= 6: exact, from
#: :func:`count_cells` (every unpruned valid labelled spec of V vertices, each weighted by 1 / its number
#: of distinct upper-triangular relabellings, summed); V = 7: NUM_CELLS minus the others.
_SMALL_CELLS = {2: 1, 3: 6, 4: 84, 5: 2441, 6: 62010}
CELLS_PER_VERTEX_COUNT: dict[int, int] = {**_SMALL_CELLS, MAX_VERTICES: NUM_CELLS - sum(_SMALL_CELLS.values())}


@cache
def _interior_permutations(num_vertices: int) -> np.ndarray:
    """All relabellings of a cell's vertices that keep the input first and the output last, (P, V)."""
    from itertools import permutations

    last = num_vertices - 1
    return np.array([(0, *p, last) for p in permutations(range(1, last))], dtype=np.int64).reshape(-1, num_vertices)


def _unpruned(adjacency: np.ndarray) -> np.ndarray:
    """Per graph of a (B, V, V) 0/1 upper-triangular batch: every vertex lies on an input -> output path."""
    adj = adjacency.astype(bool)
    n = adj.shape[1]
    from_input = np.zeros(adj.shape[:2], dtype=bool)
    to_output = np.zeros(adj.shape[:2], dtype=bool)
    from_input[:, 0] = True
    to_output[:, n - 1] = True
    for v in range(1, n):
        from_input[:, v] = (from_input[:, :v] & adj[:, :v, v]).any(axis=1)
    for v in range(n - 2, -1, -1):
        to_output[:, v] = (to_output[:, v + 1:] & adj[:, v, v + 1:]).any(axis=1)
    return from_input.all(axis=1) & to_output.all(axis=1)


def _relabelling_keys(adjacency: np.ndarray, op_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(number of distinct upper-triangular relabellings, canonical key = the smallest of their integer codes)
    for each unpruned valid graph of a batch (adjacency (B, V, V), interior op ids (B, V - 2) in 0..2)."""
    batch, n = adjacency.shape[:2]
    perms = _interior_permutations(n)
    ops = np.concatenate([np.full((batch, 1), 3), op_ids, np.full((batch, 1), 4)], axis=1)
    permuted = adjacency[:, perms[:, :, None], perms[:, None, :]]  # (B, P, V, V)
    lower = np.tril_indices(n, -1)
    upper = np.triu_indices(n, 1)
    legal = ~permuted[:, :, lower[0], lower[1]].any(axis=-1)
    bits = permuted[:, :, upper[0], upper[1]].astype(np.int64)
    key = (bits << np.arange(bits.shape[-1], dtype=np.int64)).sum(-1)
    permuted_ops = ops[:, perms]  # (B, P, V)
    key = (key << (3 * n)) + (permuted_ops.astype(np.int64) << (3 * np.arange(n, dtype=np.int64))).sum(-1)
    key = np.where(legal, key, -1)
    key.sort(axis=1)
    has_illegal = key[:, 0] == -1
    distinct = (np.diff(key, axis=1) != 0).sum(axis=1) + 1 - has_illegal
    first_legal = np.argmax(key >= 0, axis=1)
    return distinct, key[np.arange(batch), first_legal]


def relabellings(adjacency: np.ndarray, op_ids: np.ndarray) -> np.ndarray:
    """Number of distinct upper-triangular (matrix, ops) pairs isomorphic to each unpruned valid graph of
    a batch (adjacency (B, V, V), interior op ids (B, V - 2) in 0..2): the labelled specs of its class."""
    return _relabelling_keys(adjacency, op_ids)[0]


@cache
def unpruned_matrices(num_vertices: int) -> np.ndarray:
    """Every upper-triangular 0/1 matrix of ``num_vertices`` vertices with at most MAX_EDGES edges whose
    vertices all lie on an input -> output path, (M, V, V) int8 (V = 7: 2**21 matrices checked once)."""
    upper = np.triu_indices(num_vertices, 1)
    num_bits = len(upper[0])
    codes = np.arange(2**num_bits, dtype=np.int64)
    bits = ((codes[:, None] >> np.arange(num_bits)) & 1).astype(np.int8)
    bits = bits[bits.sum(axis=1) <= MAX_EDGES]
    adjacency = np.zeros((len(bits), num_vertices, num_vertices), dtype=np.int8)
    adjacency[:, upper[0], upper[1]] = bits
    return adjacency[_unpruned(adjacency)]


def _candidates(num_vertices: int, batch: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Uniformly random labelled specs of ``num_vertices`` vertices that are valid and unchanged by pruning."""
    matrices = unpruned_matrices(num_vertices)
    adjacency = matrices[rng.integers(0, len(matrices), size=batch)]
    return adjacency, rng.integers(0, len(OPS), size=(batch, num_vertices - 2))


def count_cells(num_vertices: int, chunk: int = 1 << 16) -> float:
    """Distinct valid cells with exactly ``num_vertices`` vertices after pruning, by enumerating every
    labelled spec (feasible for V <= 6): the sum over unpruned valid specs of 1 / relabellings."""
    from itertools import product

    adjacency = unpruned_matrices(num_vertices)
    op_grid = np.array(list(product(range(len(OPS)), repeat=num_vertices - 2)), dtype=np.int64)
    op_grid = op_grid.reshape(len(OPS) ** (num_vertices - 2), num_vertices - 2)
    step = max(1, chunk // len(op_grid))
    total = 0.0
    for start in range(0, len(adjacency), step):
        adj = adjacency[start:start + step]
        total += float((1.0 / relabellings(np.repeat(adj, len(op_grid), axis=0), np.tile(op_grid, (len(adj), 1)))).sum())
    return total


def sample_uniform(n: int, seed: int, batch: int = 4096) -> list[NB101Cell]:
    """``n`` DISTINCT valid cells drawn uniformly over the 423,624 NB101 cells (isomorphism classes).

    Each draw picks the vertex count V with probability ``CELLS_PER_VERTEX_COUNT[V] / NUM_CELLS``, then a
    uniformly random labelled spec of V vertices that is valid and unchanged by pruning, accepted with
    probability 1 / (its number of distinct upper-triangular relabellings): every cell of V vertices is then
    equally likely. Draws are deduplicated by isomorphism class (the smallest code among a graph's
    upper-triangular relabellings: the classes the module hash separates) until ``n`` distinct cells are
    collected, which makes the result a uniform random n-subset of the space. Cells come back pruned (as stored in the benchmark),
    in draw order; deterministic for a seed."""
    if not 0 <= n <= NUM_CELLS:
        raise CellError(f"cannot sample {n} distinct NB101 cells; the space has {NUM_CELLS}")
    rng = np.random.default_rng(seed)
    sizes = np.array(sorted(CELLS_PER_VERTEX_COUNT))
    weights = np.array([CELLS_PER_VERTEX_COUNT[v] for v in sizes], dtype=np.float64)
    pending: dict[int, list[tuple[np.ndarray, np.ndarray, int]]] = {int(v): [] for v in sizes}
    seen: set[tuple[int, int]] = set()
    cells: list[NB101Cell] = []
    while len(cells) < n:
        for v in rng.choice(sizes, size=max(64, min(batch, 2 * (n - len(cells)))), p=weights / weights.sum()).tolist():
            queue = pending[v]
            while not queue:
                adjacency, op_ids = _candidates(v, batch, rng)
                count, canonical = _relabelling_keys(adjacency, op_ids)
                accept = rng.random(len(adjacency)) * count < 1.0
                queue.extend(zip(adjacency[accept][::-1], op_ids[accept][::-1], canonical[accept][::-1].tolist(), strict=True))
            adjacency, op_ids, canonical_key = queue.pop()
            if (v, canonical_key) not in seen:
                seen.add((v, canonical_key))
                cells.append(NB101Cell(tuple(tuple(int(x) for x in row) for row in adjacency),
                                       (INPUT, *(OPS[int(i)] for i in op_ids), OUTPUT)))
                if len(cells) == n:
                    break
    return cells


# ---- cells by id: module hashes -> cells, from stored tables ------------------------------------

#: tables registered with :func:`remember_cells`: fingerprint -> (id -> row, packed arrays); cells are unpacked
#: on demand (a table holds 100k+ cells) and kept in _KNOWN_CELLS
_TABLES: dict[str, tuple[dict[str, int], dict[str, np.ndarray]]] = {}
_KNOWN_CELLS: dict[str, NB101Cell] = {}
_stored_tables_loaded = False
_HEX = frozenset("0123456789abcdef")


def pack_cells(cells: list[NB101Cell]) -> dict[str, np.ndarray]:
    """Compact arrays of cells to store next to their ids: ``cells_edges`` (int32, the 21 upper-triangle
    bits of the pruned cell's 7x7 padded adjacency) and ``cells_ops`` (int8 (n, 7), index in
    :data:`ARCH2VEC_OPS`, -1 for padding)."""
    upper = np.triu_indices(MAX_VERTICES, 1)
    weights = np.left_shift(1, np.arange(len(upper[0]), dtype=np.int64))
    edges = np.zeros(len(cells), dtype=np.int32)
    ops = np.full((len(cells), MAX_VERTICES), -1, dtype=np.int8)
    for i, cell in enumerate(cells):
        result = valid_analysis(cell)
        assert result.matrix is not None and result.ops is not None
        edges[i] = int((_pad_matrix(result.matrix)[upper].astype(np.int64) * weights).sum())
        ops[i, :len(result.ops)] = [ARCH2VEC_OPS.index(op) for op in result.ops]
    return {"cells_edges": edges, "cells_ops": ops}


def unpack_cells(arrays: dict[str, np.ndarray]) -> list[NB101Cell]:
    """Inverse of :func:`pack_cells`."""
    try:
        edges, ops = np.asarray(arrays["cells_edges"]), np.asarray(arrays["cells_ops"])
    except KeyError as exc:
        raise CellError(f"packed NB101 cells need {exc}") from None
    if ops.ndim != 2 or ops.shape[1] != MAX_VERTICES or len(edges) != len(ops):
        raise CellError(f"packed NB101 cells: {len(edges)} edge codes and ops of shape {ops.shape}")
    upper = np.triu_indices(MAX_VERTICES, 1)
    bits = (edges[:, None].astype(np.int64) >> np.arange(len(upper[0]))) & 1
    cells = []
    for row_bits, row_ops in zip(bits, ops.tolist(), strict=True):
        n = sum(o >= 0 for o in row_ops)
        if not 2 <= n <= MAX_VERTICES or any(not 0 <= o < len(ARCH2VEC_OPS) for o in row_ops[:n]):
            raise CellError(f"packed NB101 cell has bad ops {row_ops}")
        matrix = np.zeros((MAX_VERTICES, MAX_VERTICES), dtype=np.int64)
        matrix[upper] = row_bits
        cells.append(make_cell(matrix[:n, :n], [ARCH2VEC_OPS[o] for o in row_ops[:n]]))
    return cells


def remember_cells(cell_ids: Any, arrays: dict[str, np.ndarray]) -> int:
    """Register the cells of a stored table (ids aligned with :func:`pack_cells` arrays) so that
    :meth:`NB101Space.stored_cell` can turn their ids back into cells. Returns how many."""
    ids = [str(c) for c in np.asarray(cell_ids).tolist()]
    edges, ops = np.asarray(arrays.get("cells_edges", [])), np.asarray(arrays.get("cells_ops", []))
    if ops.ndim != 2 or ops.shape[1:] != (MAX_VERTICES,) or not len(edges) == len(ops) == len(ids):
        raise CellError(f"packed NB101 cells: {len(ids)} ids, {len(edges)} edge codes and ops of shape {ops.shape}")
    fingerprint = hashlib.md5("\n".join(ids).encode() + edges.tobytes() + ops.tobytes()).hexdigest()
    if fingerprint not in _TABLES:
        _TABLES[fingerprint] = ({cid: row for row, cid in enumerate(ids)}, {"cells_edges": edges, "cells_ops": ops})
    return len(ids)


def _load_stored_tables() -> None:
    """Register the cells of every trained NB101 model's embeddings (once per process)."""
    global _stored_tables_loaded
    if _stored_tables_loaded:
        return
    _stored_tables_loaded = True
    from nasviz.encoders.store import EmbeddingSet, available_encoders, find_model_dir
    from nasviz.errors import DataError

    for encoder in available_encoders("nb101"):
        directory = find_model_dir("nb101", encoder)
        if directory is not None and (directory / "embeddings.npz").exists():
            try:
                EmbeddingSet.load(directory)  # registers its cells when it stores them
            except (DataError, CellError):
                continue


def cell_from_hash(cell_id: str) -> NB101Cell | None:
    """The (pruned) cell whose module hash is ``cell_id`` when a stored table holds it, else None."""
    cell = _KNOWN_CELLS.get(cell_id)
    if cell is not None:
        return cell
    if not _stored_tables_loaded:
        _load_stored_tables()
    for position, arrays in _TABLES.values():
        row = position.get(cell_id)
        if row is not None:
            cell = unpack_cells({k: v[row:row + 1] for k, v in arrays.items()})[0]
            _KNOWN_CELLS[cell_id] = cell
            return cell
    return None


# ---- network cost ---------------------------------------------------------------------------

def compute_vertex_channels(input_channels: int, output_channels: int, matrix: Matrix) -> list[int]:
    """Channels of each vertex of a pruned module, as NAS-Bench-101's model builder assigns them.

    The output channels are divided evenly among the vertices feeding the output (the first
    ``output_channels % fan_in`` of them get one extra channel); every other interior vertex gets
    the maximum of the vertices it feeds (walking backwards).
    """
    n = len(matrix)
    channels = [0] * n
    channels[0] = input_channels
    channels[n - 1] = output_channels
    if n == 2:
        return channels
    fan_in = sum(matrix[v][n - 1] for v in range(1, n))
    base, extra = divmod(output_channels, fan_in)
    for v in range(1, n - 1):
        if matrix[v][n - 1]:
            channels[v] = base + (1 if extra else 0)
            extra -= 1 if extra else 0
    for v in range(n - 3, 0, -1):
        if not matrix[v][n - 1]:
            for dst in range(v + 1, n - 1):
                if matrix[v][dst]:
                    channels[v] = max(channels[v], channels[dst])
    return channels


def _module_cost(matrix: Matrix, ops: tuple[str, ...], in_channels: int, out_channels: int,
                 hw: int) -> tuple[int, int, int]:
    """(params, MACs, extra) of one module: 1x1 projections of the input, vertex convs, output
    projection. ``extra`` counts what NASLib's FLOPs counter adds on top of the MACs: 3 per
    conv-BN-ReLU output element and 9 per 3x3 max-pool output element."""
    n = len(ops)
    channels = compute_vertex_channels(in_channels, out_channels, matrix)
    params = 0
    macs = 0
    extra = 0
    for v in range(1, n - 1):
        c = channels[v]
        if matrix[0][v]:  # projection conv1x1-bn-relu from the module input
            params += in_channels * c + 2 * c
            macs += in_channels * c * hw
            extra += 3 * c * hw
        op = ops[v]
        if op in (CONV1X1, CONV3X3):
            k2 = 9 if op == CONV3X3 else 1
            params += k2 * c * c + 2 * c
            macs += k2 * c * c * hw
            extra += 3 * c * hw
        else:
            extra += 9 * c * hw
    if matrix[0][n - 1]:  # input -> output projection (the only path when n == 2)
        params += in_channels * out_channels + 2 * out_channels
        macs += in_channels * out_channels * hw
        extra += 3 * out_channels * hw
    return params, macs, extra


@lru_cache(maxsize=1 << 16)
def network_cost(matrix: Matrix, ops: tuple[str, ...], dataset: str = "cifar10") -> tuple[int, int, int]:
    """(trainable parameters, multiply-adds, NASLib-convention FLOPs) of the NB101 network built
    from a pruned valid cell.

    Parameters count conv kernels (no biases), BN gamma and beta, and the dense layer with bias,
    exactly like ``trainable_parameters`` in the dataset. MACs count convolutions (stem,
    projections, vertex convs) and the dense layer; pooling, BN, ReLU and additions are free.
    NASLib's ``flops`` field (zero-cost JSON files) additionally counts 3 operations per
    conv-BN-ReLU output element, 9 per 3x3 max-pool and 4 per 2x2 downsampling max-pool output
    element (checked exactly on its 500 NB101 cells).
    """
    resolution, classes = DATASETS[dataset]
    c = STEM_CHANNELS
    hw = resolution * resolution
    params = 9 * 3 * c + 2 * c
    macs = 9 * 3 * c * hw
    extra = 3 * c * hw
    in_c = c
    for stack in range(NUM_STACKS):
        if stack > 0:
            resolution = (resolution + 1) // 2  # 2x2 max-pool, stride 2, 'same' padding
            hw = resolution * resolution
            extra += 4 * c * hw
            c *= 2
        for _ in range(MODULES_PER_STACK):
            p, m, e = _module_cost(matrix, ops, in_c, c, hw)
            params += p
            macs += m
            extra += e
            in_c = c
    params += c * classes + classes
    macs += c * classes
    return params, macs, macs + extra


# ---- community encodings --------------------------------------------------------------------

def to_naslib_tuple(cell: NB101Cell) -> tuple[int, ...]:
    """NASLib's ``convert_spec_to_tuple``: the n*n adjacency row-major, then n op ids
    (0 input, 1 output, 2 maxpool3x3, 3 conv1x1, 4 conv3x3). A 7-vertex cell gives 56 ints.
    The cell is used as given (NASLib keys hold unpruned matrices)."""
    return tuple(v for row in cell.matrix for v in row) + tuple(NASLIB_OPS.index(op) for op in cell.ops)


def from_naslib_tuple(values: Any) -> NB101Cell:
    """Inverse of :func:`to_naslib_tuple`; accepts a tuple/list of ints or its text ``"(0, 1, ...)"``."""
    if isinstance(values, str):
        try:
            values = ast.literal_eval(values.strip())
        except (ValueError, SyntaxError):
            raise CellError(f"malformed NASLib NB101 tuple {values[:60]!r}: expected '(0, 1, ..., 4, 1)'") from None
    if not isinstance(values, (list, tuple)) or not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        raise CellError("a NASLib NB101 key is a sequence of ints (n*n adjacency entries then n op ids)")
    length = len(values)
    n = next((k for k in range(2, MAX_MATRIX_SIZE + 1) if k * k + k == length), None)
    if n is None:
        raise CellError(f"a NASLib NB101 key has n*n + n ints (56 for 7 vertices), got {length}")
    op_ids = values[n * n:]
    bad = [i for i in op_ids if not 0 <= i < len(NASLIB_OPS)]
    if bad:
        raise CellError(f"NASLib NB101 op id {bad[0]} out of range 0..{len(NASLIB_OPS) - 1}")
    matrix = [values[r * n:(r + 1) * n] for r in range(n)]
    return make_cell(matrix, [NASLIB_OPS[i] for i in op_ids])


def to_arch2vec(cell: NB101Cell) -> tuple[np.ndarray, np.ndarray]:
    """arch2vec's NB101 encoding of the pruned cell: (7x7 adjacency, 7x5 one-hot ops in the order
    input, conv1x1, conv3x3, maxpool3x3, output). Smaller graphs are zero-padded at the end."""
    result = valid_analysis(cell)
    assert result.matrix is not None and result.ops is not None
    adjacency = _pad_matrix(result.matrix)
    onehot = np.zeros((MAX_VERTICES, len(ARCH2VEC_OPS)), dtype=np.int8)
    for v, op in enumerate(result.ops):
        onehot[v, ARCH2VEC_OPS.index(op)] = 1
    return adjacency, onehot


def from_arch2vec(adjacency: Any, onehot: Any) -> NB101Cell:
    """Inverse of :func:`to_arch2vec`: all-zero op rows are padding and are dropped."""
    adjacency = np.asarray(adjacency)
    onehot = np.asarray(onehot)
    if adjacency.shape != (MAX_VERTICES, MAX_VERTICES) or onehot.shape != (MAX_VERTICES, len(ARCH2VEC_OPS)):
        raise CellError(f"arch2vec NB101 encoding is a 7x7 adjacency and 7x5 ops, got {adjacency.shape} and {onehot.shape}")
    n = int((onehot.sum(axis=1) > 0).sum())
    if (onehot[:n].sum(axis=1) != 1).any() or onehot[n:].any():
        raise CellError("arch2vec NB101 ops must be one-hot rows followed by all-zero padding rows")
    if adjacency[n:].any() or adjacency[:, n:].any():
        raise CellError("arch2vec NB101 adjacency has edges into padding vertices")
    ops = [ARCH2VEC_OPS[int(i)] for i in onehot[:n].argmax(axis=1)]
    return make_cell(adjacency[:n, :n], ops)


def to_agnet(cell: NB101Cell) -> tuple[np.ndarray, np.ndarray]:
    """AG-Net's NB101 encoding of the pruned cell: (7x7 adjacency zero-padded at the end, 7 op
    ids in the order output, input, conv1x1, conv3x3, maxpool3x3, padded with 'output' = 0)."""
    result = valid_analysis(cell)
    assert result.matrix is not None and result.ops is not None
    labels = np.zeros(MAX_VERTICES, dtype=np.int64)
    for v, op in enumerate(result.ops):
        labels[v] = AGNET_OPS.index(op)
    return _pad_matrix(result.matrix), labels


def agnet_features(cell: NB101Cell) -> np.ndarray:
    """AG-Net's 56-d regression input: 7x5 one-hot ops (AG-Net order) then the 21 upper-triangle entries."""
    adjacency, labels = to_agnet(cell)
    onehot = np.eye(len(AGNET_OPS), dtype=np.float32)[labels]
    return np.concatenate([onehot.ravel(), adjacency[np.triu_indices(MAX_VERTICES, 1)].astype(np.float32)])


def from_agnet(adjacency: Any, labels: Any) -> NB101Cell:
    """Inverse of :func:`to_agnet`: the graph is cut after the first 'output' vertex."""
    adjacency = np.asarray(adjacency)
    labels = [int(x) for x in np.asarray(labels).ravel()]
    if adjacency.shape != (MAX_VERTICES, MAX_VERTICES) or len(labels) != MAX_VERTICES:
        raise CellError(f"AG-Net NB101 encoding is a 7x7 adjacency and 7 op ids, got {adjacency.shape} and {len(labels)}")
    if any(not 0 <= i < len(AGNET_OPS) for i in labels):
        raise CellError(f"AG-Net NB101 op ids are 0..{len(AGNET_OPS) - 1}, got {labels}")
    if 0 not in labels:
        raise CellError("AG-Net NB101 encoding has no 'output' vertex")
    n = labels.index(0) + 1
    return make_cell(adjacency[:n, :n], [AGNET_OPS[i] for i in labels[:n]])


def from_nni_arch(arch: dict[str, Any]) -> NB101Cell:
    """NNI's NB101 dict ``{"op1": ..., "input1": [0], ..., "inputN": [...]}`` (output = last vertex)."""
    inputs = sorted(int(k[5:]) for k in arch if k.startswith("input") and k[5:].isdigit())
    if not inputs:
        raise CellError('an NNI NB101 arch needs "inputK" lists')
    n = max(inputs) + 1
    matrix = [[0] * n for _ in range(n)]
    for v in range(1, n):
        sources = arch.get(f"input{v}", [])
        if not isinstance(sources, (list, tuple)):
            raise CellError(f'NNI NB101 "input{v}" must be a list of vertex indices')
        for s in sources:
            if not isinstance(s, int) or not 0 <= s < n:
                raise CellError(f'NNI NB101 "input{v}" names vertex {s!r}, outside 0..{n - 1}')
            matrix[s][v] = 1
    ops = [INPUT] + [arch.get(f"op{v}", "") for v in range(1, n - 1)] + [OUTPUT]
    missing = [f"op{v}" for v in range(1, n - 1) if f"op{v}" not in arch]
    if missing:
        raise CellError(f"NNI NB101 arch is missing {', '.join(missing)}")
    return make_cell(matrix, ops)


# ---- the space ------------------------------------------------------------------------------

class NB101Space(SearchSpace[NB101Cell]):
    name = "nb101"
    title = "NAS-Bench-101"
    ops = OPS
    datasets = tuple(DATASETS)
    default_dataset = "cifar10"
    input_format = ('{"matrix": [[0,1,...],...], "ops": ["input", ..., "output"]} (V<=7, upper triangular), '
                    "or a NASLib 56-int tuple \"(0, 1, ..., 4, 1)\"")

    # ---- parsing ----
    def parse(self, obj: Any, require_valid: bool = False) -> NB101Cell:
        cell = self._parse(obj)
        if require_valid:
            self.validate(cell)
        return cell

    def _parse(self, obj: Any) -> NB101Cell:
        if isinstance(obj, NB101Cell):
            return obj
        if isinstance(obj, str):
            return self.parse_text(obj)
        if isinstance(obj, dict):
            matrix_key = next((k for k in ("matrix", "module_adjacency", "adjacency") if k in obj), None)
            ops_key = next((k for k in ("ops", "module_operations", "operations") if k in obj), None)
            if matrix_key and ops_key:
                return make_cell(obj[matrix_key], obj[ops_key])
            if matrix_key or ops_key:
                missing = "ops" if matrix_key else "matrix"
                raise CellError(f'an NB101 JSON cell needs both "matrix" and "ops"; "{missing}" is missing')
            for key in ("cell", "arch", "spec"):
                if key in obj:
                    return self._parse(obj[key])
            if any(k.startswith("input") for k in obj):
                return from_nni_arch(obj)
            raise CellError('an NB101 JSON cell needs "matrix" (square 0/1 list of rows) and "ops" (op names)')
        if isinstance(obj, (list, tuple)):
            if obj and all(isinstance(v, int) and not isinstance(v, bool) for v in obj):
                return from_naslib_tuple(obj)
            if len(obj) == 2 and isinstance(obj[1], (list, tuple)) and all(isinstance(o, str) for o in obj[1]):
                return make_cell(obj[0], obj[1])
            raise CellError('a list NB101 cell is a NASLib int tuple or [matrix, ops]')
        raise CellError(f"cannot read an NB101 cell from {type(obj).__name__}")

    def parse_text(self, text: str) -> NB101Cell:
        text = check_cell_text(text, "NB101 cell").strip()
        if not text:
            raise CellError("empty input: expected an NB101 cell")
        if text.startswith("("):
            return from_naslib_tuple(text)
        value = load_json_text(text, "NB101 cell")
        if isinstance(value, str):
            raise CellError('an NB101 cell is JSON {"matrix": ..., "ops": ...}, not a string')
        return self._parse(value)

    def to_json(self, cell: NB101Cell) -> dict[str, Any]:
        return cell.to_json()

    # ---- validity and identity ----
    def is_valid(self, cell: NB101Cell) -> Validity:
        result = analyse(cell)
        return Validity.ok() if result.valid else Validity.invalid(result.reason or "invalid")

    def validate(self, cell: NB101Cell) -> NB101Cell:
        """Return ``cell`` when valid, else raise :class:`CellError` naming the problem."""
        valid_analysis(cell)
        return cell

    def canonical(self, cell: NB101Cell) -> dict[str, Any]:
        result = valid_analysis(cell)
        assert result.matrix is not None and result.ops is not None and result.kept is not None
        out: dict[str, Any] = {
            "hash": result.hash,
            "matrix": [list(row) for row in result.matrix],
            "ops": list(result.ops),
            "num_vertices": len(result.ops),
            "num_edges": sum(map(sum, result.matrix)),
        }
        pruned = [v for v in range(cell.num_vertices) if v not in result.kept]
        if pruned:
            out["pruned_vertices"] = pruned
        return out

    def cell_id(self, cell: NB101Cell) -> str:
        result = valid_analysis(cell)
        assert result.hash is not None
        return result.hash

    def stored_cell(self, cell_id: str) -> NB101Cell:
        """The cell of an id: a module hash held by a stored embedding table (see :func:`remember_cells`),
        or any text :meth:`parse_text` reads. CellError when the hash is unknown. (Not ``cell_from_id``:
        spaces with that method get exact-cost colourings of every embedded cell, too slow for 100k NB101 cells.)"""
        text = str(cell_id).strip()
        if len(text) == 32 and set(text) <= _HEX:
            cell = cell_from_hash(text)
            if cell is None:
                raise CellError(f"NB101 cell {text} is not in any stored table; type the cell as JSON "
                                '{"matrix": ..., "ops": ...}')
            return cell
        return self.parse_text(text)

    def remember_cells(self, cell_ids: Any, arrays: dict[str, np.ndarray]) -> int:
        """Register a stored table's cells (:func:`remember_cells`)."""
        return remember_cells(cell_ids, arrays)

    def hash(self, cell: NB101Cell) -> str:
        """The NAS-Bench-101 module hash (same as :meth:`cell_id`)."""
        return self.cell_id(cell)

    def prune(self, cell: NB101Cell) -> NB101Cell:
        return pruned_cell(cell)

    def size(self) -> tuple[int, bool]:
        return NUM_CELLS, True

    def sample(self, n: int, seed: int, method: str = "spec") -> list[NB101Cell]:
        """``n`` valid cells (pruned).

        ``method="spec"`` (default): by rejection, each draw a uniformly random 7-vertex upper triangular
        0/1 matrix with uniform interior ops (like the nasbench ``random_spec``), kept when valid. Uniform
        over specs, hence heavily biased to small pruned cells and with repeats (100,000 draws hold about
        13,000 distinct cells). ``method="uniform"``: :func:`sample_uniform`, ``n`` distinct cells drawn
        uniformly over the 423,624 cells."""
        if method == "uniform":
            return sample_uniform(n, seed)
        if method != "spec":
            raise CellError(f"unknown NB101 sampling method {method!r}; choose spec or uniform")
        rng = np.random.default_rng(seed)
        iu = np.triu_indices(MAX_VERTICES, 1)
        cells: list[NB101Cell] = []
        while len(cells) < n:
            batch = max(64, 8 * (n - len(cells)))
            edges = rng.integers(0, 2, size=(batch, len(iu[0])))
            op_ids = rng.integers(0, len(OPS), size=(batch, MAX_VERTICES - 2))
            for e, o in zip(edges, op_ids, strict=True):
                matrix = np.zeros((MAX_VERTICES, MAX_VERTICES), dtype=np.int64)
                matrix[iu] = e
                cell = NB101Cell(tuple(tuple(int(x) for x in row) for row in matrix),
                                 (INPUT, *(OPS[int(i)] for i in o), OUTPUT))
                result = analyse(cell)
                if result.valid:
                    assert result.matrix is not None and result.ops is not None
                    cells.append(NB101Cell(result.matrix, result.ops))
                    if len(cells) == n:
                        break
        return cells

    # ---- structure ----
    def to_networkx(self, cell: NB101Cell) -> nx.DiGraph:
        """The cell as given, ops on nodes; ``pruned`` marks vertices NAS-Bench-101 removes."""
        result = analyse(cell)
        kept = set(result.kept) if result.kept is not None else set(range(cell.num_vertices))
        graph = nx.DiGraph(space=self.name, valid=result.valid, reason=result.reason, hash=result.hash)
        last = cell.num_vertices - 1
        for v, op in enumerate(cell.ops):
            role = "input" if op == INPUT and v == 0 else "output" if op == OUTPUT and v == last else "op"
            graph.add_node(v, label=SHORT_LABELS[op], role=role, op=op, pruned=v not in kept)
        for i, row in enumerate(cell.matrix):
            for j, value in enumerate(row):
                if value:
                    graph.add_edge(i, j, op=None)
        return graph

    def edit_distance(self, a: NB101Cell, b: NB101Cell) -> int:
        """Graph edit distance of arch2vec's NB101 study: on the pruned cells padded (at the end) to
        7x7, the number of differing adjacency entries plus the number of vertices whose op differs
        (a padded vertex differs from any op). Not invariant to vertex relabelling."""
        ra, rb = valid_analysis(a), valid_analysis(b)
        assert ra.matrix is not None and rb.matrix is not None and ra.ops is not None and rb.ops is not None
        adjacency = int(np.abs(_pad_matrix(ra.matrix).astype(np.int16) - _pad_matrix(rb.matrix)).sum())
        ops_a = list(ra.ops) + [None] * (MAX_VERTICES - len(ra.ops))
        ops_b = list(rb.ops) + [None] * (MAX_VERTICES - len(rb.ops))
        return adjacency + sum(x != y for x, y in zip(ops_a, ops_b, strict=True))

    def op_counts(self, cell: NB101Cell) -> dict[str, int]:
        result = analyse(cell)
        return count_ops(result.ops if result.ops is not None else cell.ops, OPS)

    # ---- cost ----
    def cost(self, cell: NB101Cell, dataset: str | None = None) -> NetworkCost:
        dataset = DATASET_ALIASES.get(dataset or "", dataset)
        dataset = self.check_dataset(dataset)
        result = valid_analysis(cell)
        assert result.matrix is not None and result.ops is not None
        params, macs, _ = network_cost(result.matrix, result.ops, dataset)
        return NetworkCost(params, macs, dataset)

    def naslib_flops(self, cell: NB101Cell, dataset: str | None = None) -> int:
        """FLOPs in the convention of NASLib's ``flops`` field (MACs plus BN/ReLU/pool element ops)."""
        dataset = self.check_dataset(DATASET_ALIASES.get(dataset or "", dataset))
        result = valid_analysis(cell)
        assert result.matrix is not None and result.ops is not None
        return network_cost(result.matrix, result.ops, dataset)[2]

    def vertex_channels(self, cell: NB101Cell, stack: int = 0) -> list[int]:
        """Channels of each pruned vertex in the modules of ``stack`` (after the first module)."""
        result = valid_analysis(cell)
        assert result.matrix is not None
        c = STEM_CHANNELS * 2**stack
        return compute_vertex_channels(c, c, result.matrix)
