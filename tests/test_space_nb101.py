"""NAS-Bench-101 space: official hash, pruning, validity messages, exact cost, converters, sampling."""

from __future__ import annotations

import json
import random
from collections import defaultdict
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from nasviz.errors import CellError
from nasviz.spaces import get_space, nb101
from nasviz.spaces.nb101 import CONV1X1, CONV3X3, INPUT, MAXPOOL3X3, OUTPUT, NB101Cell, NB101Space

SPACE: NB101Space = get_space("nb101")  # type: ignore[assignment]

# Published fixture: the first record of the NAS-Bench-101 108-epoch data (NNI v1.7 docs
# "BenchmarksExample", searchspace_train tests, CTNAS dump): module hash and trainable parameters.
OFFICIAL_HASH = "00005c142e6f48ac74fdcf73e3439874"
OFFICIAL_MATRIX = [[0, 1, 0, 0, 1, 1, 0],
                   [0, 0, 1, 0, 0, 0, 0],
                   [0, 0, 0, 1, 0, 0, 1],
                   [0, 0, 0, 0, 0, 1, 0],
                   [0, 0, 0, 0, 0, 1, 0],
                   [0, 0, 0, 0, 0, 0, 1],
                   [0, 0, 0, 0, 0, 0, 0]]
OFFICIAL_OPS = [INPUT, CONV3X3, MAXPOOL3X3, CONV3X3, CONV3X3, CONV1X1, OUTPUT]
OFFICIAL_PARAMS = 8_555_530
OFFICIAL_NNI_ARCH = {"op1": CONV3X3, "op2": MAXPOOL3X3, "op3": CONV3X3, "op4": CONV3X3, "op5": CONV1X1,
                     "input1": [0], "input2": [1], "input3": [2], "input4": [0], "input5": [0, 3, 4], "input6": [2, 5]}

# The nasbench README/colab "Inception-like" cell: as queried, and as the dataset stores it
# (module_adjacency / module_operations printed by the colab), 2,694,282 trainable parameters.
INCEPTION_QUERY = {"matrix": [[0, 1, 1, 1, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 1, 0, 0],
                              [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0]],
                   "ops": [INPUT, CONV1X1, CONV3X3, CONV3X3, CONV3X3, MAXPOOL3X3, OUTPUT]}
INCEPTION_STORED = {"matrix": [[0, 1, 1, 1, 1, 0, 0], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1],
                               [0, 0, 0, 0, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0]],
                    "ops": [INPUT, CONV3X3, CONV1X1, MAXPOOL3X3, CONV3X3, CONV3X3, OUTPUT]}
INCEPTION_PARAMS = 2_694_282


@pytest.fixture(scope="module")
def naslib_cells(source_data: Path) -> list[tuple[NB101Cell, dict]]:
    path = source_data / "nasbench101" / "naslib_zc_nasbench101_500.json"
    if not path.exists():
        pytest.skip(f"{path} is missing")
    table = json.loads(path.read_text())["nasbench101"]["cifar10"]
    return [(SPACE.parse(key), record) for key, record in table.items()]


def random_topological_relabel(cell: NB101Cell, rng: random.Random) -> NB101Cell:
    """Same graph, vertices renumbered along a random topological order (input first, output last)."""
    n = cell.num_vertices
    m = cell.matrix
    order = [0]
    placed = {0}
    while len(order) < n - 1:
        ready = [v for v in range(1, n - 1) if v not in placed and all(m[u][v] == 0 or u in placed for u in range(n))]
        v = rng.choice(ready)
        order.append(v)
        placed.add(v)
    order.append(n - 1)
    pos = {v: p for p, v in enumerate(order)}
    matrix = [[0] * n for _ in range(n)]
    for i in range(n):
        for j in range(n):
            if m[i][j]:
                matrix[pos[i]][pos[j]] = 1
    ops = [cell.ops[v] for v in order]
    return nb101.make_cell(matrix, ops)


# ---- official hash --------------------------------------------------------------------------

def test_official_hash_and_params_of_published_record() -> None:
    cell = SPACE.parse({"matrix": OFFICIAL_MATRIX, "ops": OFFICIAL_OPS})
    assert SPACE.is_valid(cell)
    assert SPACE.cell_id(cell) == OFFICIAL_HASH
    assert SPACE.cost(cell, "cifar10").params == OFFICIAL_PARAMS
    # the same record written as NNI's arch dict, and as a NASLib tuple string
    assert SPACE.cell_id(SPACE.parse(OFFICIAL_NNI_ARCH)) == OFFICIAL_HASH
    assert SPACE.cell_id(SPACE.parse_text(str(nb101.to_naslib_tuple(cell)))) == OFFICIAL_HASH


def test_official_hash_survives_relabelling_and_dangling_vertices() -> None:
    cell = SPACE.parse({"matrix": OFFICIAL_MATRIX, "ops": OFFICIAL_OPS})
    rng = random.Random(0)
    for _ in range(20):
        assert SPACE.cell_id(random_topological_relabel(cell, rng)) == OFFICIAL_HASH
    # Extra vertices that are not on an input->output path are pruned before hashing (8 raw vertices).
    big = np.zeros((8, 8), dtype=int)
    big[:6, :6] = np.array(OFFICIAL_MATRIX)[:6, :6]
    big[:6, 7] = np.array(OFFICIAL_MATRIX)[:6, 6]
    big[3, 6] = 1  # vertex 6 hangs off vertex 3 and feeds nothing
    padded = SPACE.parse({"matrix": big.tolist(), "ops": OFFICIAL_OPS[:6] + [MAXPOOL3X3, OUTPUT]})
    assert SPACE.cell_id(padded) == OFFICIAL_HASH
    assert SPACE.canonical(padded)["pruned_vertices"] == [6]


def test_inception_cell_params_and_stored_form() -> None:
    query, stored = SPACE.parse(INCEPTION_QUERY), SPACE.parse(INCEPTION_STORED)
    assert SPACE.cost(query).params == INCEPTION_PARAMS
    assert SPACE.cost(stored).params == INCEPTION_PARAMS
    assert SPACE.cell_id(query) == SPACE.cell_id(stored)


def test_hash_module_reference_cases() -> None:
    """Cases from nasbench's graph_util tests: isomorphic pairs agree, tricky non-isomorphic differ."""
    diamond = ((0, 1, 1, 0), (0, 0, 0, 1), (0, 0, 0, 1), (0, 0, 0, 0))
    assert nb101.hash_module(diamond, [-1, 1, 2, -2]) == nb101.hash_module(diamond, [-1, 2, 1, -2])
    chain = ((0, 1, 0, 0, 0), (0, 0, 1, 0, 0), (0, 0, 0, 1, 0), (0, 0, 0, 0, 1), (0, 0, 0, 0, 0))
    assert nb101.hash_module(chain, [-1, 1, 0, 0, -2]) != nb101.hash_module(chain, [-1, 0, 0, 1, -2])
    directed = ((0, 1, 0, 1), (0, 0, 1, 0), (0, 0, 0, 1), (0, 0, 0, 0))
    assert nb101.hash_module(directed, [-1, 1, 0, -2]) != nb101.hash_module(directed, [-1, 0, 1, -2])


# ---- the 500 NASLib cells -------------------------------------------------------------------

def test_params_and_naslib_flops_match_all_500(naslib_cells: list[tuple[NB101Cell, dict]]) -> None:
    assert len(naslib_cells) == 500
    for cell, record in naslib_cells:
        assert SPACE.is_valid(cell), SPACE.is_valid(cell).reason
        cost = SPACE.cost(cell, "cifar10")
        assert round(cost.params / 1e6, 6) == pytest.approx(record["params"], abs=1e-9), cell
        assert round(SPACE.naslib_flops(cell) / 1e6, 6) == pytest.approx(record["flops"], abs=1e-6), cell
        assert cost.flops < SPACE.naslib_flops(cell)


def test_hash_invariant_under_topological_relabelling(naslib_cells: list[tuple[NB101Cell, dict]]) -> None:
    rng = random.Random(101)
    for cell, _ in naslib_cells:
        reference = SPACE.cell_id(cell)
        for _ in range(3):
            assert SPACE.cell_id(random_topological_relabel(cell, rng)) == reference


def test_hashes_separate_exactly_the_isomorphism_classes(naslib_cells: list[tuple[NB101Cell, dict]]) -> None:
    def graph(cell: NB101Cell) -> nx.DiGraph:
        c = SPACE.canonical(cell)
        g = nx.DiGraph()
        for v, op in enumerate(c["ops"]):
            g.add_node(v, op=op)
        g.add_edges_from((i, j) for i, row in enumerate(c["matrix"]) for j, x in enumerate(row) if x)
        return g

    same_op = nx.algorithms.isomorphism.categorical_node_match("op", None)
    classes: list[tuple[nx.DiGraph, str]] = []
    buckets: dict[tuple, list[int]] = defaultdict(list)
    for cell, _ in naslib_cells:
        g, h = graph(cell), SPACE.cell_id(cell)
        key = (g.number_of_nodes(), g.number_of_edges(), tuple(sorted(nx.get_node_attributes(g, "op").values())))
        match = next((k for k in buckets[key] if nx.is_isomorphic(classes[k][0], g, node_match=same_op)), None)
        if match is None:
            buckets[key].append(len(classes))
            classes.append((g, h))
        else:
            assert classes[match][1] == h  # isomorphic -> same hash
    hashes = [h for _, h in classes]
    assert len(set(hashes)) == len(hashes)  # non-isomorphic -> distinct hashes


# ---- pruning and validity -------------------------------------------------------------------

def test_pruning_matches_nasbench_model_spec_cases() -> None:
    ops4 = [INPUT, CONV3X3, CONV1X1, OUTPUT]
    island = SPACE.parse({"matrix": [[0, 1, 0, 0], [0, 0, 0, 1], [0, 0, 0, 0], [0, 0, 0, 0]], "ops": ops4})
    assert SPACE.canonical(island)["matrix"] == [[0, 1, 0], [0, 0, 1], [0, 0, 0]]
    assert SPACE.canonical(island)["ops"] == [INPUT, CONV3X3, OUTPUT]
    dangling = SPACE.parse({"matrix": [[0, 1, 1, 0], [0, 0, 0, 0], [0, 0, 0, 1], [0, 0, 0, 0]], "ops": ops4})
    assert SPACE.canonical(dangling)["ops"] == [INPUT, CONV1X1, OUTPUT]
    no_input = SPACE.parse({"matrix": [[0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]], "ops": ops4})
    assert SPACE.canonical(no_input)["ops"] == [INPUT, CONV1X1, OUTPUT]
    assert SPACE.canonical(no_input)["pruned_vertices"] == [1]
    direct = SPACE.parse({"matrix": [[0, 1], [0, 0]], "ops": [INPUT, OUTPUT]})
    assert SPACE.canonical(direct)["num_vertices"] == 2
    # input -> output only: the module is one 1x1 projection per module
    assert SPACE.cost(direct).params > 0


@pytest.mark.parametrize(("cell", "fragment"), [
    ({"matrix": [[0, 1, 0], [0, 0, 0], [0, 1, 0]], "ops": [INPUT, CONV3X3, OUTPUT]}, "cycle: edge 2->1 goes backwards"),
    ({"matrix": [[0, 1, 0], [0, 1, 1], [0, 0, 0]], "ops": [INPUT, CONV3X3, OUTPUT]}, "cycle: self-loop at vertex 1"),
    ({"matrix": [[0, 1, 0], [0, 0, 0], [0, 0, 0]], "ops": [INPUT, CONV3X3, OUTPUT]}, "output vertex 2 has no inputs"),
    ({"matrix": [[0, 0, 0], [0, 0, 1], [0, 0, 0]], "ops": [INPUT, CONV3X3, OUTPUT]}, "input vertex 0 has no outgoing"),
    ({"matrix": [[0, 1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 1], [0, 0, 0, 0]], "ops": [INPUT, CONV3X3, CONV3X3, OUTPUT]},
     "output vertex 3 is not reachable from the input"),
    ({"matrix": np.triu(np.ones((8, 8), dtype=int), 1).tolist(), "ops": [INPUT] + [CONV3X3] * 6 + [OUTPUT]},
     "too many vertices: 8 after pruning"),
    ({"matrix": np.triu(np.ones((7, 7), dtype=int), 1).tolist(), "ops": [INPUT] + [CONV3X3] * 5 + [OUTPUT]},
     "too many edges: 21 after pruning"),
    ({"matrix": [[0, 1, 0], [0, 0, 1], [0, 0, 0]], "ops": [CONV3X3, CONV3X3, OUTPUT]}, "first vertex must be 'input'"),
    ({"matrix": [[0, 1, 0], [0, 0, 1], [0, 0, 0]], "ops": [INPUT, CONV3X3, CONV1X1]}, "last vertex must be 'output'"),
    ({"matrix": [[0, 1, 0], [0, 0, 1], [0, 0, 0]], "ops": [INPUT, OUTPUT, OUTPUT]}, "interior vertex 1 has op 'output'"),
])
def test_invalid_cells_report_the_reason(cell: dict, fragment: str) -> None:
    parsed = SPACE.parse(cell)
    validity = SPACE.is_valid(parsed)
    assert not validity and fragment in (validity.reason or "")
    with pytest.raises(CellError, match="invalid NB101 cell: .*" + fragment.split(":")[0]):
        SPACE.parse(cell, require_valid=True)
    with pytest.raises(CellError):
        SPACE.cost(parsed)
    described = SPACE.describe(parsed)
    assert described["valid"] is False and fragment in described["reason"]


@pytest.mark.parametrize(("obj", "fragment"), [
    ({"matrix": [[0, 1], [0, 0, 1]], "ops": [INPUT, OUTPUT]}, "must be square: row 1 has 3 entries, expected 2"),
    ({"matrix": [[0, 2], [0, 0]], "ops": [INPUT, OUTPUT]}, "entry [0][1] is 2; entries must be 0 or 1"),
    ({"matrix": [[0, "x"], [0, 0]], "ops": [INPUT, OUTPUT]}, "entry [0][1] is 'x'"),
    ({"matrix": [[0, 1, 0], [0, 0, 1], [0, 0, 0]], "ops": [INPUT, "conv5x5", OUTPUT]}, "unknown NB101 op 'conv5x5' at vertex 1"),
    ({"matrix": [[0, 1], [0, 0]], "ops": [INPUT, CONV3X3, OUTPUT]}, "ops has 3 entries but the matrix has 2 vertices"),
    ({"matrix": [[0]], "ops": [INPUT]}, "at least 2 vertices"),
    ({"matrix": [[0, 1], [0, 0]]}, '"ops" is missing'),
    ({"foo": 1}, 'needs "matrix"'),
    ([0, 1, 2], "n*n + n ints"),
])
def test_malformed_input_raises_named_cell_error(obj: object, fragment: str) -> None:
    with pytest.raises(CellError) as info:
        SPACE.parse(obj)
    assert fragment in str(info.value)


def test_malformed_text() -> None:
    with pytest.raises(CellError, match="malformed JSON for the NB101 cell"):
        SPACE.parse_text('{"matrix": [[0, 1], [0, 0]], "ops": ')
    with pytest.raises(CellError, match="malformed NASLib NB101 tuple"):
        SPACE.parse_text("(0, 1, ")
    with pytest.raises(CellError, match="empty input"):
        SPACE.parse_text("  ")


# ---- converters -----------------------------------------------------------------------------

def test_naslib_tuple_round_trip(naslib_cells: list[tuple[NB101Cell, dict]]) -> None:
    for cell, _ in naslib_cells[:100]:
        key = nb101.to_naslib_tuple(cell)
        assert len(key) == 56
        assert nb101.from_naslib_tuple(key) == cell
        assert SPACE.parse_text(str(key)) == cell
    small = SPACE.parse({"matrix": [[0, 1, 0], [0, 0, 1], [0, 0, 0]], "ops": [INPUT, MAXPOOL3X3, OUTPUT]})
    assert nb101.to_naslib_tuple(small) == (0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 2, 1)


def test_arch2vec_and_agnet_round_trip() -> None:
    cells = SPACE.sample(200, seed=5)
    assert any(c.num_vertices < 7 for c in cells)
    for cell in cells:
        adjacency, onehot = nb101.to_arch2vec(cell)
        assert adjacency.shape == (7, 7) and onehot.shape == (7, 5)
        assert nb101.from_arch2vec(adjacency, onehot) == cell
        adjacency, labels = nb101.to_agnet(cell)
        assert nb101.from_agnet(adjacency, labels) == cell
        assert nb101.agnet_features(cell).shape == (56,)
    six = next(c for c in cells if c.num_vertices == 6)
    adjacency, onehot = nb101.to_arch2vec(six)
    assert onehot[5].tolist() == [0, 0, 0, 0, 1] and not onehot[6].any() and not adjacency[6].any()
    _, labels = nb101.to_agnet(six)
    assert labels[0] == 1 and labels[5] == 0 and labels[6] == 0  # input=1, output=0, padded with output
    with pytest.raises(CellError, match="7x7 adjacency"):
        nb101.from_arch2vec(np.zeros((6, 6)), np.zeros((7, 5)))


def test_op_id_orders() -> None:
    assert nb101.NASLIB_OPS == (INPUT, OUTPUT, MAXPOOL3X3, CONV1X1, CONV3X3)
    assert nb101.ARCH2VEC_OPS == (INPUT, CONV1X1, CONV3X3, MAXPOOL3X3, OUTPUT)
    assert nb101.AGNET_OPS == (OUTPUT, INPUT, CONV1X1, CONV3X3, MAXPOOL3X3)
    assert nb101.hash_labels((INPUT, CONV3X3, CONV1X1, MAXPOOL3X3, OUTPUT)) == [-1, 0, 1, 2, -2]


# ---- sampling, structure, interface ---------------------------------------------------------

def test_sampling_is_seeded_and_valid() -> None:
    first = SPACE.sample(50, seed=7)
    assert first == SPACE.sample(50, seed=7)
    assert first != SPACE.sample(50, seed=8)
    assert len(first) == 50
    for cell in first:
        assert SPACE.is_valid(cell)
        assert SPACE.canonical(cell)["matrix"] == [list(r) for r in cell.matrix]  # samples come pruned
        assert cell.num_vertices <= 7 and cell.num_edges <= 9
    assert len({SPACE.cell_id(c) for c in first}) > 40
    assert SPACE.size() == (423_624, True)


def test_edit_distance() -> None:
    a = SPACE.parse({"matrix": OFFICIAL_MATRIX, "ops": OFFICIAL_OPS})
    assert SPACE.edit_distance(a, a) == 0
    ops = list(OFFICIAL_OPS)
    ops[2] = CONV1X1
    b = SPACE.parse({"matrix": OFFICIAL_MATRIX, "ops": ops})
    assert SPACE.edit_distance(a, b) == 1
    matrix = [row[:] for row in OFFICIAL_MATRIX]
    matrix[0][5] = 0  # vertex 5 keeps its inputs from 3 and 4
    c = SPACE.parse({"matrix": matrix, "ops": ops})
    assert SPACE.edit_distance(a, c) == 2 and SPACE.edit_distance(c, a) == 2
    small = SPACE.parse({"matrix": [[0, 1, 0], [0, 0, 1], [0, 0, 0]], "ops": [INPUT, CONV3X3, OUTPUT]})
    # padded ops [in, 3x3, out, -, -, -, -] differ from the official ops at positions 2..6: 5 op edits
    expected = int(np.abs(nb101._pad_matrix(small.matrix) - np.array(OFFICIAL_MATRIX)).sum()) + 5
    assert SPACE.edit_distance(a, small) == expected


def test_networkx_view_and_describe() -> None:
    cell = SPACE.parse({"matrix": [[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0], [0, 0, 0, 0]],
                        "ops": [INPUT, CONV3X3, MAXPOOL3X3, OUTPUT]})
    g = SPACE.to_networkx(cell)
    assert g.nodes[0]["role"] == "input" and g.nodes[3]["role"] == "output" and g.nodes[1]["role"] == "op"
    assert g.nodes[1]["op"] == CONV3X3 and g.nodes[1]["label"] == "3x3"
    assert g.nodes[2]["pruned"] and not g.nodes[1]["pruned"]
    assert nx.is_directed_acyclic_graph(g) and g.number_of_edges() == 3
    out = SPACE.describe(cell)
    assert out["valid"] and out["hash"] == SPACE.cell_id(cell) and out["num_vertices"] == 3
    assert out["op_counts"] == {CONV3X3: 1, CONV1X1: 0, MAXPOOL3X3: 0}
    assert SPACE.parse(SPACE.to_json(cell)) == cell
    assert json.loads(json.dumps(out))["params"] == SPACE.cost(cell).params
    with pytest.raises(CellError, match="unknown dataset"):
        SPACE.cost(cell, "imagenet")


def test_vertex_channels_split_output_channels() -> None:
    cell = SPACE.parse({"matrix": OFFICIAL_MATRIX, "ops": OFFICIAL_OPS})
    # vertices 2 and 5 feed the output: 128 split as 64 + 64; 1 feeds 2 (64); 3, 4 feed 5 (64)
    assert SPACE.vertex_channels(cell) == [128, 64, 64, 64, 64, 64, 128]
    three = nb101.compute_vertex_channels(128, 128, ((0, 1, 1, 1, 0), (0, 0, 0, 0, 1), (0, 0, 0, 0, 1),
                                                     (0, 0, 0, 0, 1), (0, 0, 0, 0, 0)))
    assert three == [128, 43, 43, 42, 128]


# ---- uniform sampling over distinct cells ---------------------------------------------------

def test_cell_counts_per_vertex_count_are_exact_and_sum_to_the_space() -> None:
    # V <= 5 enumerated here (V = 6 takes seconds; its 62,010 is checked by the same code offline)
    for v in range(2, 6):
        assert nb101.count_cells(v) == pytest.approx(nb101.CELLS_PER_VERTEX_COUNT[v], abs=1e-6)
    assert sum(nb101.CELLS_PER_VERTEX_COUNT.values()) == nb101.NUM_CELLS
    assert nb101.CELLS_PER_VERTEX_COUNT[7] == 359_082


def test_relabellings_count_isomorphic_upper_triangular_specs() -> None:
    # input -> a -> output, input -> b -> output with a, b the same op: swapping a and b gives the same spec
    diamond = np.zeros((1, 4, 4), dtype=np.int8)
    diamond[0, 0, [1, 2]] = 1
    diamond[0, [1, 2], 3] = 1
    assert nb101.relabellings(diamond, np.array([[0, 0]])).tolist() == [1]
    assert nb101.relabellings(diamond, np.array([[0, 1]])).tolist() == [2]
    chain = np.zeros((1, 4, 4), dtype=np.int8)
    chain[0, 0, 1] = chain[0, 1, 2] = chain[0, 2, 3] = 1
    assert nb101.relabellings(chain, np.array([[0, 1]])).tolist() == [1]


def test_uniform_sample_is_distinct_valid_unpruned_and_seeded() -> None:
    cells = nb101.sample_uniform(1500, seed=4)
    assert cells == nb101.sample_uniform(1500, seed=4)
    assert cells != nb101.sample_uniform(1500, seed=5)
    hashes = {SPACE.cell_id(c) for c in cells}
    assert len(hashes) == 1500
    assert all(nb101.pruned_cell(c) == c for c in cells)
    sizes = np.bincount([c.num_vertices for c in cells], minlength=8)
    # 84.8 % of the cells have 7 vertices and 14.6 % have 6 (the random-spec sampler gives mostly small cells)
    assert 0.80 < sizes[7] / 1500 < 0.89
    assert 0.11 < sizes[6] / 1500 < 0.18
    assert SPACE.sample(20, 4, method="uniform") == nb101.sample_uniform(20, 4)
    with pytest.raises(CellError, match="sampling method"):
        SPACE.sample(3, 0, method="bogus")
    with pytest.raises(CellError, match="423624"):
        nb101.sample_uniform(nb101.NUM_CELLS + 1, 0)


def test_uniform_draws_give_every_cell_of_a_size_the_same_chance() -> None:
    # the accept-with-1/relabellings step, on 4-vertex cells (84 classes): every class about equally often
    rng = np.random.default_rng(0)
    counts: dict[int, int] = defaultdict(int)
    while sum(counts.values()) < 16_800:
        adjacency, op_ids = nb101._candidates(4, 4096, rng)
        number, canonical = nb101._relabelling_keys(adjacency, op_ids)
        for key in canonical[rng.random(len(number)) * number < 1.0].tolist():
            counts[key] += 1
    assert len(counts) == 84
    values = np.array(list(counts.values()))
    mean = values.mean()  # about 200 draws per class (binomial sd about 14)
    assert 0.7 * mean < values.min() and values.max() < 1.3 * mean


def test_packed_cells_round_trip_and_turn_hashes_back_into_cells() -> None:
    cells = nb101.sample_uniform(40, seed=1) + SPACE.sample(20, seed=2)
    arrays = nb101.pack_cells(cells)
    assert [nb101.pruned_cell(c) for c in cells] == nb101.unpack_cells(arrays)
    ids = [SPACE.cell_id(c) for c in cells]
    assert SPACE.remember_cells(np.array(ids), arrays) == 60
    assert SPACE.stored_cell(ids[5]) == nb101.pruned_cell(cells[5])
    assert SPACE.stored_cell(json.dumps(SPACE.to_json(cells[0]))) == cells[0]
    with pytest.raises(CellError, match="not in any stored table"):
        SPACE.stored_cell("0" * 32)
    with pytest.raises(CellError, match="cells_ops"):
        nb101.unpack_cells({"cells_edges": arrays["cells_edges"]})
