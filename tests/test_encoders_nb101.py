"""arch2vec on NB101: the paper's validity rule, training data from the uniform sampler, embeddings that
carry their cells (so walks and maps can draw NB101 module hashes)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from nasviz.encoders import get_codec
from nasviz.encoders.store import EmbeddingSet
from nasviz.encoders.training import TrainConfig, fit_and_save, training_data
from nasviz.spaces import get_space, nb101
from nasviz.walk import cell_for_id, nearest_neighbour_walk

NB101 = get_space("nb101")
CODEC = get_codec("nb101")


def _graph(edges: list[tuple[int, int]], ops: list[int]) -> tuple[np.ndarray, np.ndarray]:
    adjacency = np.zeros((7, 7), dtype=np.int8)
    for i, j in edges:
        adjacency[i, j] = 1
    return adjacency, np.array(ops + [-1] * (7 - len(ops)), dtype=np.int64)


def test_paper_rule_is_the_nasbench_spec_check() -> None:
    # ops indices: 0 input, 1 conv1x1, 2 conv3x3, 3 maxpool, 4 output
    chain = [(0, 1), (1, 2), (2, 3)]
    # a dangling vertex labelled "input": nasbench prunes it (valid); the strict rule rejects the label
    adjacency, ops = _graph([(0, 1), (1, 2), (2, 4), (0, 3)], [0, 1, 2, 0, 4])
    assert CODEC.graph_valid(adjacency, ops, "paper")
    assert not CODEC.graph_valid(adjacency, ops, "strict")
    pruned = NB101.parse({"matrix": [[0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]],
                          "ops": ["input", "conv1x1-bn-relu", "conv3x3-bn-relu", "output"]})
    assert CODEC.graph_key(adjacency, ops) == NB101.cell_id(pruned)
    # an edge into padding is ignored by the spec check, not by the strict rule
    adjacency, ops = _graph(chain + [(1, 5)], [0, 1, 2, 4])
    assert CODEC.graph_valid(adjacency, ops, "paper") and not CODEC.graph_valid(adjacency, ops, "strict")
    # an interior "output" that survives pruning, a disconnected output, too many edges: invalid for both
    for edges, labels in ((chain, [0, 1, 2, 4]), ([(0, 1), (1, 2)], [0, 1, 2, 4]),
                          ([(i, j) for i in range(7) for j in range(i + 1, 7)][:10], [0, 1, 1, 1, 2, 3, 4])):
        adjacency, ops = _graph(edges, labels)
        assert CODEC.graph_valid(adjacency, ops, "strict") == CODEC.graph_valid(adjacency, ops, "paper")
    adjacency, ops = _graph([(0, 1), (1, 2)], [0, 1, 2, 4])
    assert not CODEC.graph_valid(adjacency, ops, "paper")
    # a cell decoded exactly is valid under both rules and keyed by its module hash
    cell = nb101.sample_uniform(1, seed=3)[0]
    adjacency, ops = CODEC.encode(cell)
    assert CODEC.graph_valid(adjacency, ops, "paper") and CODEC.graph_valid(adjacency, ops, "strict")
    assert CODEC.graph_key(adjacency, ops) == NB101.cell_id(cell)


def test_uniqueness_counts_canonical_cells_and_raw_graphs() -> None:
    from nasviz.encoders.metrics import validity_uniqueness

    # the same pruned cell three times: bare, with a dangling vertex, with another dangling vertex; then a new cell
    graphs = [_graph([(0, 1), (1, 2), (2, 3)], [0, 1, 2, 4]),
              _graph([(0, 1), (1, 2), (2, 4), (0, 3)], [0, 1, 2, 0, 4]),
              _graph([(0, 1), (1, 2), (2, 4), (0, 3)], [0, 1, 2, 3, 4]),
              _graph([(0, 1), (1, 2), (2, 3)], [0, 2, 2, 4])]
    adjacency = np.stack([a for a, _ in graphs]).astype(np.float32)
    op_prob = np.zeros((4, 7, 5), dtype=np.float32)
    for k, (_, ops) in enumerate(graphs):
        for v, op in enumerate(ops):
            if op >= 0:
                op_prob[k, v, op] = 1.0
    out = validity_uniqueness(CODEC, adjacency, op_prob, NB101.cell_id)
    paper = out["paper"]
    assert (paper["valid"], paper["unique"], paper["unique_raw_graphs"]) == (4, 2, 4)
    assert paper["uniqueness"] == 0.5 and paper["uniqueness_raw_graphs"] == 1.0
    assert "uniqueness_raw_graphs" not in out["strict"] and set(out["definitions"]) >= {"uniqueness", "uniqueness_raw_graphs"}


def test_training_data_is_a_uniform_sample_of_distinct_cells() -> None:
    data = training_data(TrainConfig("arch2vec", "nb101", sample_size=300, seed=2))
    assert "method='uniform'" in data.description["source"]
    assert data.description["num_cells"] == 300 and len(set(data.graphs.cell_ids)) == 300
    assert data.graphs.cell_ids == [NB101.cell_id(c) for c in nb101.sample_uniform(300, 2)]
    assert (data.graphs.ops[:, 6].sum(-1) > 0).mean() > 0.7  # mostly 7-vertex cells


def test_trained_nb101_embeddings_carry_their_cells(tmp_path: Path) -> None:
    cfg = TrainConfig("arch2vec", "nb101", epochs=1, seed=5, sample_size=120, prior_samples=100)
    out = tmp_path / "arch2vec"
    manifest = fit_and_save(cfg, out_dir=out, command="test")
    assert manifest["embedding"]["stored_precision"] == "float16"
    with np.load(out / "embeddings.npz") as stored:
        assert stored["vectors"].dtype == np.float16 and stored["cells_ops"].shape == (len(stored["cell_id_digests"]), 7)
    nb101._KNOWN_CELLS.clear()
    nb101._TABLES.clear()
    embeddings = EmbeddingSet.load(out)  # registers the cells
    ids = [str(c) for c in embeddings.cell_ids]
    cells = [cell_for_id(NB101, c) for c in ids]
    assert all(c is not None and NB101.cell_id(c) == i for c, i in zip(cells, ids, strict=True))
    walk = nearest_neighbour_walk(embeddings, ids[0], steps=5)
    assert len(walk) == 6 and all(d is not None and d > 0 for d in walk.edit_distances)
    assert json.loads((out / "manifest.json").read_text())["data"]["num_cells"] == 120


def test_embeddings_without_cells_still_load(tmp_path: Path) -> None:
    ids = np.array([NB101.cell_id(c) for c in nb101.sample_uniform(3, seed=9)])
    EmbeddingSet("nb101", "plain", ids, np.eye(3, dtype=np.float32)).save(tmp_path)
    loaded = EmbeddingSet.load(tmp_path)
    assert loaded.cell_arrays == {} and loaded.vectors.shape == (3, 3)
    with pytest.raises(Exception, match="cells_"):
        EmbeddingSet("nb101", "bad", ids, np.eye(3, dtype=np.float32), cell_arrays={"edges": ids}).save(tmp_path)


def test_hash_ids_are_stored_as_digests_and_other_ids_as_text(tmp_path: Path) -> None:
    hashes = np.array([NB101.cell_id(c) for c in nb101.sample_uniform(4, seed=11)])
    vectors = np.arange(8, dtype=np.float32).reshape(4, 2)
    for ids, stored_as in ((hashes, "cell_id_digests"), (np.array(["12", "7", "abc", "x"]), "cell_ids"),
                           (np.char.upper(hashes), "cell_ids")):  # upper case would not round-trip through bytes
        folder = tmp_path / stored_as / str(ids[0])
        EmbeddingSet("nb101", "plain", ids, vectors).save(folder)
        with np.load(folder / "embeddings.npz") as stored:
            assert stored.files == [stored_as, "vectors"]
        loaded = EmbeddingSet.load(folder)
        assert loaded.cell_ids.dtype.kind == "U" and loaded.cell_ids.tolist() == ids.tolist()
    old_layout = tmp_path / "old"  # files written before digests keep loading
    old_layout.mkdir()
    np.savez_compressed(old_layout / "embeddings.npz", cell_ids=hashes, vectors=vectors)
    assert EmbeddingSet.load(old_layout).cell_ids.tolist() == hashes.tolist()
