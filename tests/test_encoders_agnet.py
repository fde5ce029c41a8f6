"""AG-Net: graph encodings and validity reasons, rank weights, a generator that learns a small set (loss
falls, generates only the set's cells), weighted retraining shifting samples, walks and the saved model."""

from __future__ import annotations

import numpy as np
import pytest

from nasviz.encoders import get_encoder
from nasviz.encoders.agnet import (
    AGNetConfig,
    AGNetEncoder,
    AGNetModel,
    distinct_endpoints,
    fit_and_save,
    generated_distribution,
    get_graphs,
    interpolation_walk,
    rank_weights,
    retraining_shift,
    sample_graphs,
    train_generator,
    type_margin,
)
from nasviz.errors import ConfigError
from nasviz.spaces import get_space, nb201


@pytest.fixture(autouse=True)
def one_thread():
    """Small models: one torch thread is fastest (and avoids oversubscribing a shared machine)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)



@pytest.mark.parametrize("space", ["nb201", "nb101"])
def test_graph_targets_round_trip(space: str) -> None:
    graphs = get_graphs(space)
    sp = get_space(space)
    cells = sp.sample(50, seed=3)
    labels, adjacency = graphs.targets(cells)
    assert graphs.vectors(labels, adjacency).shape == (50, {"nb201": 84, "nb101": 56}[space])
    for cell, lab, adj in zip(cells, labels, adjacency, strict=True):
        assert graphs.reason(lab, adj) is None
        assert sp.cell_id(graphs.to_cell(lab, adj)) == sp.cell_id(cell)


def test_invalid_graphs_are_reported() -> None:
    g201 = get_graphs("nb201")
    labels, adjacency = g201.targets([nb201.cell_from_code(0)])
    broken = adjacency[0].copy()
    broken[0, 7] = 1
    assert "node DAG" in g201.reason(labels[0], broken)
    wrong = labels[0].copy()
    wrong[3] = 0  # an 'output' in the middle
    assert g201.reason(wrong, adjacency[0]) is not None and g201.to_cell(wrong, adjacency[0]) is None
    g101 = get_graphs("nb101")
    lab = np.array([1, 3, 0, 0, 0, 0, 0])
    adj = np.zeros((7, 7), dtype=np.int8)  # vertex 1 fed by nothing, output unconnected
    assert g101.reason(lab, adj) is not None


def test_rank_weights() -> None:
    w = rank_weights([0.9, 0.5, 0.7], k=1e-3)
    assert w.argmax() == 0 and w.argmin() == 1 and w.sum() == pytest.approx(1.0)
    raw = 1 / (1e-3 * 3 + np.array([0, 2, 1]))
    assert np.allclose(w, raw / raw.sum())
    with pytest.raises(ConfigError):
        rank_weights([])


def test_sampling_is_seeded() -> None:
    logits = np.random.default_rng(0).standard_normal((5, 8, 7))
    edges = np.random.default_rng(1).uniform(size=(5, 8, 8))
    a = sample_graphs(logits, edges, 3)
    b = sample_graphs(logits, edges, 3)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    labels, adjacency = sample_graphs(logits, edges, None)
    assert np.array_equal(labels, logits.argmax(-1)) and not np.tril(adjacency[0]).any()


def _small_model(space: str) -> AGNetModel:
    graphs = get_graphs(space)
    return AGNetModel(AGNetConfig(graphs.num_nodes, graphs.num_ops, node_dim=16, predictor_hidden=16))


def test_generator_learns_a_small_set() -> None:
    import torch

    torch.manual_seed(0)
    graphs = get_graphs("nb201")
    target = nb201.cell_from_code(777)
    model = _small_model("nb201")
    labels, adjacency = graphs.targets([target])
    history = train_generator(model, labels, adjacency, steps=60, seed=0, batch_size=16, learning_rate=2e-2,
                              ticks=4, graphs=graphs, tick_samples=100)
    assert history[-1]["loss"] < 0.2 * history[0]["loss"]
    enc = AGNetEncoder("nb201", model)
    assert enc.decode(enc.sample_prior(50, seed=1), noise_seed=None) == [target] * 50  # exact reconstruction
    dist = generated_distribution(enc, 200, seed=2)
    assert dist["validity"] > 0.8 and max(dist["counts"], key=dist["counts"].get) == str(target.index)
    walk = interpolation_walk(enc, enc.sample_prior(1, 5)[0], enc.sample_prior(1, 6)[0], steps=4)
    assert len(walk) == 5 and walk[0]["t"] == 0.0 and walk[-1]["t"] == 1.0
    assert all(row["valid"] == (row["cell"] is not None) for row in walk)
    # every z decodes the one cell: no two endpoints differ, the last pair drawn comes back
    z_a, z_b = distinct_endpoints(enc, seed=0, tries=5)
    assert z_a.shape == (32,) and not np.array_equal(z_a, z_b) and np.abs(z_a).max() <= 3.0
    walk = interpolation_walk(enc, z_a, z_b, steps=3, noise_seed=4)
    assert {row["cell_id"] for row in walk} == {str(target.index)}
    assert all(0.0 <= row["margin"] <= 1.0 and row["vector"].shape == (84,) for row in walk)
    assert walk[0]["margin"] == type_margin(enc.graphs, walk[0]["vector"]) > 0.5  # a confident generator


def test_weighted_retraining_shifts_samples_to_good_cells() -> None:
    import torch

    torch.manual_seed(0)
    sp = get_space("nb201")
    cells = sp.sample(64, seed=5)
    # a synthetic score that prefers 3x3 convolutions, and an accuracy lookup equal to it
    score = {sp.cell_id(c): float(c.ops.count("nor_conv_3x3")) for c in sp.enumerate()}
    model = _small_model("nb201")
    graphs = get_graphs("nb201")
    labels, adjacency = graphs.targets(cells)
    train_generator(model, labels, adjacency, steps=60, seed=0, batch_size=16, learning_rate=2e-2, ticks=3,
                    graphs=graphs, tick_samples=100)
    enc = AGNetEncoder("nb201", model)
    shift = retraining_shift(enc, cells, [score[sp.cell_id(c)] for c in cells], score, samples=200, epochs=5,
                             seed=0, steps_per_epoch=8, learning_rate=5e-3)
    assert shift["before"]["validity"] > 0.5 and shift["after"]["validity"] > 0.5
    assert shift["after"]["mean"] > shift["before"]["mean"] + 0.3
    assert enc.model is model  # the encoder itself is unchanged


def test_saved_model_round_trip(isolated_home) -> None:
    manifest = fit_and_save("nb101", steps=20, sample_size=300, samples=200, command="test", node_dim=8,
                            predictor_hidden=8)
    gen = manifest["metrics"]["generation"]
    assert gen["samples"] == 200 and 0 <= gen["validity"] <= 1 and 0 <= gen["novelty"] <= 1
    enc = get_encoder("agnet", "nb101")
    assert enc.dim == 56
    cells = enc.generate(20, seed=0)
    assert len(cells) == 20
    from nasviz.encoders.store import EmbeddingSet
    from nasviz.walk import cell_for_id

    stored = EmbeddingSet.load(isolated_home / "models" / "nb101" / "agnet")  # NB101 embeddings keep their cells
    assert set(stored.cell_arrays) == {"cells_edges", "cells_ops"}
    sp = get_space("nb101")
    assert all(sp.cell_id(cell_for_id(sp, cid)) == cid for cid in stored.cell_ids[:20].tolist())


@pytest.mark.parametrize("name", ["agnet", "agnet-xgb"])
def test_agnet_search_strategies_ask_new_cells(name: str) -> None:
    from nasviz.search.base import Observation
    from nasviz.search.runner import build_strategy

    fit_and_save("nb201", steps=10, samples=100, command="test", node_dim=8, predictor_hidden=8)
    sp = get_space("nb201")
    strategy = build_strategy(name, "nb201", 0, settings={"initial_samples": 8, "retrain_epochs": 1, "candidates": 20,
                                                          "max_batches": 2})
    for _ in range(3):
        cells = strategy.ask(4)
        ids = [sp.cell_id(c) for c in cells]
        assert len(set(ids)) == 4 and not set(ids) & strategy.visited
        strategy.tell(cells, [Observation(float(c.ops.count("nor_conv_3x3"))) for c in cells])
    assert strategy.rounds == 1
