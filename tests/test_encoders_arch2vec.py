"""arch2vec / GAE / VGAE / raw encoders: graph encodings, model shapes, training, metrics, persistence."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from nasviz.encoders import ENCODER_NAMES, get_codec, get_encoder
from nasviz.encoders.base import GraphDataset
from nasviz.encoders.metrics import (
    counting,
    distance_by_edit_distance,
    predictive_power,
    reconstruction_metrics,
    uniqueness_bound,
    validity_uniqueness,
)
from nasviz.encoders.models import GraphAutoencoder, ModelConfig, bidirectional, elbo_loss
from nasviz.encoders.store import MODELS_DIR, EmbeddingSet
from nasviz.encoders.training import TrainConfig, fit_and_save, train_autoencoder
from nasviz.errors import ConfigError, DataError
from nasviz.spaces import get_space, nb201

NB201 = get_space("nb201")


def _cells(n: int, seed: int = 0) -> list[nb201.NB201Cell]:
    return NB201.sample(n, seed)


def test_registry_names() -> None:
    assert {"arch2vec", "gae", "vgae", "raw"} <= set(ENCODER_NAMES)
    with pytest.raises(ConfigError, match="unknown encoder"):
        get_encoder("word2vec", "nb201")


def test_nb201_graph_encoding_follows_arch2vec_order() -> None:
    cell = NB201.parse("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_1x1~1|none~2|")
    data = GraphDataset.from_cells("nb201", [cell])
    assert data.adjacency.shape == (1, 8, 8) and data.ops.shape == (1, 8, 7)
    # input, 3x3, none, skip, avgpool, 1x1, none, output in the order input,1x1,3x3,avgpool,skip,none,output
    assert data.ops[0].argmax(-1).tolist() == [0, 2, 5, 4, 3, 1, 5, 6]
    assert np.array_equal(data.adjacency[0], nb201.NODE_DAG_ADJACENCY)
    assert data.cell_ids == [str(cell.index)]
    sym = bidirectional(torch.from_numpy(data.adjacency.astype(np.float32)))
    assert torch.equal(sym[0], sym[0].T)


def test_nb201_codec_round_trip_and_rules() -> None:
    codec = get_codec("nb201")
    for cell in _cells(200):
        adjacency, ops = codec.encode(cell)
        assert codec.to_cell(adjacency, ops) == cell
        assert codec.constrained_decode(adjacency.astype(float), codec.one_hot(ops)) == cell
    adjacency, ops = codec.encode(_cells(1)[0])
    wrong_adjacency = adjacency.copy()
    wrong_adjacency[0, 3] = 1
    assert codec.to_cell(wrong_adjacency, ops) is None
    assert codec.graph_valid(wrong_adjacency, ops, "paper")  # the official check ignores the adjacency
    node1_input = ops.copy()
    node1_input[1] = 0
    assert not codec.graph_valid(adjacency, node1_input, "strict")
    assert codec.graph_valid(adjacency, node1_input, "paper")  # ... and never looks at node 1
    node2_output = ops.copy()
    node2_output[2] = 6
    assert not codec.graph_valid(adjacency, node2_output, "paper")


def test_nb101_codec_round_trip() -> None:
    space = get_space("nb101")
    codec = get_codec("nb101")
    for cell in space.sample(60, 3):
        adjacency, ops = codec.encode(cell)
        assert adjacency.shape == (7, 7) and ops.shape == (7,)
        decoded_ops = codec.op_index_from_probs(codec.one_hot(ops)[None])[0]
        assert space.cell_id(codec.to_cell(adjacency, decoded_ops)) == space.cell_id(cell)


@pytest.mark.parametrize("encoder", ["arch2vec", "gae", "vgae"])
def test_model_shapes(encoder: str) -> None:
    torch.manual_seed(0)
    data = GraphDataset.from_cells("nb201", _cells(5))
    model = GraphAutoencoder(ModelConfig(encoder, 8, 7))
    adj, ops = torch.from_numpy(data.adjacency.astype(np.float32)), torch.from_numpy(data.ops)
    ops_logits, adj_logits, mu, logstd = model(adj, ops)
    assert ops_logits.shape == (5, 8, 7) and adj_logits.shape == (5, 8, 8)
    assert mu.shape == logstd.shape == (5, 8, 16)
    loss, parts = elbo_loss(model, adj, ops)
    assert loss.ndim == 0 and ("kl" in parts) == (encoder != "gae")
    adj_prob, op_prob = model.decode_probs(mu)
    assert torch.allclose(op_prob.sum(-1), torch.ones(5, 8))


def test_loss_falls_and_training_is_deterministic() -> None:
    data = GraphDataset.from_cells("nb201", _cells(160, seed=1))
    cfg = TrainConfig("arch2vec", "nb201", epochs=6, seed=0)
    model, history = train_autoencoder(cfg, data)
    assert history[-1]["loss"] < 0.6 * history[0]["loss"]
    _, again = train_autoencoder(cfg, data)
    assert again == history
    # prior statistics were set from the training mu
    assert model.prior_std.shape == (8, 16) and float(model.prior_std.min()) > 0


def test_reconstruction_counts_whole_graphs_exactly() -> None:
    codec = get_codec("nb201")
    data = GraphDataset.from_cells("nb201", _cells(4, seed=2))
    adj_prob = data.adjacency.astype(np.float32) * 0.9 + 0.05
    op_prob = data.ops * 0.8 + 0.02
    op_prob[1, 3] = np.roll(op_prob[1, 3], 1)  # one wrong op in graph 1
    adj_prob[2, 0, 3] = 0.7  # one spurious edge in graph 2
    adj_prob[3, 1, 0] = 0.9  # lower triangle: ignored
    metrics = reconstruction_metrics(codec, data, adj_prob, op_prob)
    assert metrics["reconstruction_accuracy"] == pytest.approx(2 / 4)
    assert metrics["ops_exact"] == pytest.approx(3 / 4)
    assert metrics["adjacency_exact"] == pytest.approx(3 / 4)
    assert metrics["ops_node_accuracy"] == pytest.approx(31 / 32)
    assert metrics["adjacency_entry_accuracy"] == pytest.approx(111 / 112)


def test_validity_and_uniqueness_counting() -> None:
    assert counting(10, ["a", "a", "b"]) == {"samples": 10, "valid": 3, "unique": 2, "validity": 0.3,
                                             "uniqueness": pytest.approx(2 / 3)}
    assert counting(5, [])["uniqueness"] == 0.0
    codec = get_codec("nb201")
    cells = _cells(3, seed=4)
    data = GraphDataset.from_cells("nb201", [cells[0], cells[0], cells[1], cells[2]])
    adj_prob = data.adjacency.astype(np.float32)
    op_prob = data.ops.copy()
    adj_prob[2, 0, 7] = 1.0  # graph 2: extra edge -> invalid (strict), valid (paper)
    op_prob[3, 1] = np.eye(7)[0]  # graph 3: node 1 decoded as input -> invalid (strict), valid (paper)
    out = validity_uniqueness(codec, adj_prob, op_prob, NB201.cell_id)
    assert (out["strict"]["valid"], out["strict"]["unique"]) == (2, 1)
    assert (out["paper"]["valid"], out["paper"]["unique"]) == (4, 3)
    assert out["constrained"]["validity"] == 1.0 and out["constrained"]["unique"] == 3


def test_distance_by_edit_distance_buckets() -> None:
    cells = _cells(6, seed=5)
    vectors = np.arange(6, dtype=float)[:, None] * np.ones((6, 2))
    by_fn = distance_by_edit_distance(vectors, cells, NB201.edit_distance)
    assert sum(b["pairs"] for b in by_fn["buckets"]) == 15
    ops = np.array([c.ops for c in cells])
    by_matrix = distance_by_edit_distance(vectors, cells, (ops[:, None] != ops[None]).sum(-1))
    assert by_matrix == by_fn


def test_raw_encoder_is_invertible() -> None:
    encoder = get_encoder("raw", "nb201")  # no training needed
    cells = _cells(50, seed=6)
    vectors = encoder.embed(cells)
    assert vectors.shape == (50, 8 * 7 + 28) == (50, encoder.dim)
    assert encoder.decode(vectors) == cells


def test_save_load_round_trip_and_wrong_space(tmp_path: Path, isolated_home: Path) -> None:
    cfg = TrainConfig("arch2vec", "nb201", epochs=1, seed=7, sample_size=96, prior_samples=200)
    out = tmp_path / "a2v"
    manifest = fit_and_save(cfg, out_dir=out, command="nasviz encoders train arch2vec --space nb201 --epochs 1")
    assert {"checkpoint.pt", "manifest.json", "embeddings.npz"} <= {p.name for p in out.iterdir()}
    assert manifest["data"]["num_cells"] <= 96 and manifest["embedding"]["num_cells"] == nb201.NUM_CELLS
    assert manifest["seed"] == 7 and manifest["command"].startswith("nasviz encoders train")
    state = torch.load(out / "checkpoint.pt", weights_only=True)
    assert "prior_mean" in state

    from nasviz.encoders.gnn import Arch2VecEncoder

    encoder = Arch2VecEncoder.load_dir(out, "nb201")
    stored = EmbeddingSet.load(out)
    position = stored.position()
    cells = _cells(20, seed=8)
    rows = [position[NB201.cell_id(c)] for c in cells]
    np.testing.assert_allclose(encoder.embed(cells), stored.vectors[rows], atol=1e-5)
    latents = encoder.encode(cells)
    assert latents.shape == (20, 8, 16)
    assert all(c is not None for c in encoder.decode(latents, constrained=True))
    assert encoder.sample_prior(4, 0).shape == (4, 8, 16)
    with pytest.raises(ConfigError, match="per-node latents"):
        encoder.decode(encoder.embed(cells))

    # the user's store takes precedence and is what get_encoder loads
    user_dir = isolated_home / "models" / "nb201" / "arch2vec"
    shutil.copytree(out, user_dir)
    assert get_encoder("arch2vec", "nb201").manifest["seed"] == 7

    # a checkpoint of another space gives a clear error
    wrong = isolated_home / "models" / "nb101" / "arch2vec"
    shutil.copytree(out, wrong)
    with pytest.raises(DataError, match="trained on space 'nb201', not 'nb101'"):
        get_encoder("arch2vec", "nb101")
    # a checkpoint that does not match its manifest gives a clear error too
    manifest_path = user_dir / "manifest.json"
    bad = json.loads(manifest_path.read_text())
    bad["model"]["hidden_dim"] = 64
    manifest_path.write_text(json.dumps(bad))
    with pytest.raises(DataError, match="does not match its manifest"):
        get_encoder("arch2vec", "nb201")


def test_cli_train_raw_and_list(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from nasviz.cli.main import app

    runner = CliRunner()
    result = runner.invoke(app, ["encoders", "train", "raw", "--space", "nb201", "--quiet", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["embedding"] == {"num_cells": nb201.NUM_CELLS, "dim": 84, "kind": "one-hot ops + upper adjacency"}
    listed = json.loads(runner.invoke(app, ["encoders", "list", "--space", "nb201", "--json"]).stdout)
    assert any(r["encoder"] == "raw" and r["model_dir"] for r in listed)
    bad = runner.invoke(app, ["encoders", "train", "arch2vec", "--space", "nat"])
    assert bad.exit_code == 2 and "error:" in bad.output


@pytest.mark.parametrize("name", ["arch2vec", "gae", "vgae", "raw"])
def test_shipped_nb201_embeddings_align_with_official_index(name: str) -> None:
    directory = MODELS_DIR / "nb201" / name
    if not (directory / "manifest.json").exists():
        pytest.skip(f"no shipped {name} NB201 model in {directory}")
    stored = EmbeddingSet.load(directory)
    assert stored.cell_ids.tolist() == [str(i) for i in range(nb201.NUM_CELLS)]
    encoder = get_encoder(name, "nb201")
    indices = [0, 1, 6111, 9930, 15624]
    cells = [nb201.cell_from_index(i) for i in indices]
    np.testing.assert_allclose(encoder.embed(cells), stored.vectors[indices], atol=1e-4)
    manifest = json.loads((directory / "manifest.json").read_text())
    assert manifest["command"].startswith("nasviz encoders train") and manifest["space"] == "nb201"


def test_evaluate_raw_predictive_power_and_edit_distance(nb201_csv: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from nasviz.encoders.evaluation import evaluate_encoder, nb201_cifar10_accuracy

    accuracy = nb201_cifar10_accuracy(nb201_csv)
    assert accuracy.shape == (nb201.NUM_CELLS,) and accuracy.max() == pytest.approx(0.943733, abs=1e-5)
    assert int(accuracy.argmax()) == 6111  # the NB201 CIFAR-10 optimum
    monkeypatch.setenv("NASVIZ_DATA", str(nb201_csv.parents[1]))
    result = evaluate_encoder("raw", "nb201", gp_seeds=1, walk_length=120)
    power = result["metrics"]["predictive_power"]
    assert len(power["rmse"]) == 1 and 0 < power["rmse_mean"] < 0.1 and 0 < power["pearson_mean"] <= 1
    buckets = result["metrics"]["distance_by_edit_distance"]["buckets"]
    means = [b["mean_l2"] for b in buckets]
    assert [b["edit_distance"] for b in buckets][:2] == [1, 2] and means == sorted(means)  # raw: L2 = sqrt(2 * edits)
    assert means[0] == pytest.approx(np.sqrt(2))


def test_darts_codec_round_trip() -> None:
    from nasviz.encoders.graphs import DartsCodec

    space = get_space("darts")
    codec = get_codec("darts")
    for genotype in space.sample(40, 2):
        cell = DartsCodec.normal_only(genotype)
        adjacency, ops = codec.encode(cell)
        assert adjacency.shape == (11, 11) and ops.shape == (11,)
        assert space.cell_id(codec.to_cell(adjacency, ops)) == space.cell_id(cell)
        assert space.cell_id(codec.constrained_decode(adjacency.astype(float), codec.one_hot(ops))) == space.cell_id(cell)
    adjacency, ops = codec.encode(DartsCodec.normal_only(space.sample(1, 0)[0]))
    adjacency[2, 10] = 0  # an op-node that feeds nothing
    assert codec.to_cell(adjacency, ops) is None


def test_uniqueness_bound_is_the_uniform_expectation() -> None:
    assert uniqueness_bound(0, 15625) == 1.0 and uniqueness_bound(1, 15625) == pytest.approx(1.0)
    assert uniqueness_bound(10, 1) == pytest.approx(0.1)
    # 3 draws from 2 cells: E[distinct] = 2 (1 - 1/8) = 1.75
    assert uniqueness_bound(3, 2) == pytest.approx(1.75 / 3)
    # the paper's NB201 validity (79.41 % of 10,000) caps the uniqueness of cells at 78.4 %, below its 98.72 %
    assert uniqueness_bound(7941, 15625) == pytest.approx(0.784, abs=1e-3)
    assert uniqueness_bound(5000, 15625) > uniqueness_bound(6000, 15625)
    assert counting(4, ["a", "b"], space_size=2)["uniqueness_bound"] == pytest.approx(0.75)
    with pytest.raises(ConfigError):
        uniqueness_bound(3, 0)


def test_uniqueness_bound_reported_for_cells_not_for_paper_graphs() -> None:
    data = GraphDataset.from_cells("nb201", _cells(3, seed=5))
    out = validity_uniqueness(get_codec("nb201"), data.adjacency.astype(np.float32), data.ops, NB201.cell_id)
    assert out["strict"]["uniqueness_bound"] == pytest.approx(uniqueness_bound(3, 15625))
    assert out["constrained"]["uniqueness_bound"] == pytest.approx(uniqueness_bound(3, 15625))
    assert "uniqueness_bound" not in out["paper"]


def test_gcn_encoder_variants_and_kl_weight() -> None:
    assert ModelConfig("gae", 8, 7).num_layers == 4 and ModelConfig("gae", 8, 7).gcn_heads == "linear"
    assert ModelConfig("vgae", 8, 7, gcn_heads="gcn").num_layers == 1
    with pytest.raises(ConfigError):
        ModelConfig("gae", 8, 7, gcn_heads="mean")
    data = GraphDataset.from_cells("nb201", _cells(6, seed=6))
    adj, ops = torch.from_numpy(data.adjacency.astype(np.float32)), torch.from_numpy(data.ops)
    kipf = GraphAutoencoder(ModelConfig("gae", 8, 7, gcn_heads="gcn"))
    assert hasattr(kipf.encoder, "conv_mu") and kipf(adj, ops)[2].shape == (6, 8, 16)
    losses = {}
    for weight in (1.0, 3.0):
        torch.manual_seed(0)
        model = GraphAutoencoder(ModelConfig("arch2vec", 8, 7, kl_weight=weight))
        torch.manual_seed(1)
        losses[weight] = elbo_loss(model, adj, ops)
    (loss1, parts1), (loss3, parts3) = losses[1.0], losses[3.0]
    assert parts1["kl"] == pytest.approx(parts3["kl"])
    assert loss3.item() - loss1.item() == pytest.approx(2 * parts1["kl"], rel=1e-4)


def test_node_position_separates_nodes_gin_cannot_tell_apart() -> None:
    """Two parallel conv3x3 branches (input -> a, b -> output) are 1-WL twins: without positions GIN gives them the
    same mu, so sigmoid(z_a . z_b) > 0.5 decodes an edge a -> b that is not there; with node positions they differ."""
    adj = torch.zeros(1, 4, 4)
    adj[0, 0, 1] = adj[0, 0, 2] = adj[0, 1, 3] = adj[0, 2, 3] = 1
    ops = torch.zeros(1, 4, 5)
    ops[0, [0, 1, 2, 3], [0, 2, 2, 4]] = 1
    for position in (False, True):
        torch.manual_seed(0)
        model = GraphAutoencoder(ModelConfig("arch2vec", 4, 5, node_position=position)).eval()
        assert model.cfg.input_dim == 5 + 4 * position
        mu, _ = model.encode(adj, ops)
        twins_equal = torch.allclose(mu[0, 1], mu[0, 2])
        assert twins_equal is not position
        if not position:  # the inner product of equal vectors is positive: a phantom edge 1 -> 2
            adj_prob, _ = model.decode_probs(mu)
            assert adj_prob[0, 1, 2] > 0.5
    assert ModelConfig("arch2vec", 4, 5).node_position is False  # old manifests load as before
    assert TrainConfig("arch2vec", "nb101").model["node_position"] is True  # NB101 default (the shipped model)
    assert "node_position" not in TrainConfig("arch2vec", "nb201").model  # NB201: the paper's input


def test_cli_training_options_reach_config_and_manifest(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from nasviz.cli.main import app

    out = tmp_path / "raw"
    args = ["encoders", "train", "raw", "--space", "nb201", "--batch-size", "64", "--lr", "0.0005", "--lr-schedule", "cosine",
            "--kl-weight", "0.5", "--node-position", "--out", str(out), "--quiet", "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    config = manifest["config"]
    assert (config["batch_size"], config["learning_rate"], config["lr_schedule"]) == (64, 0.0005, "cosine")
    assert config["model"]["kl_weight"] == 0.5 and config["model"]["node_position"] is True
    for option in ("--batch-size 64", "--lr 0.0005", "--lr-schedule cosine", "--kl-weight 0.5", "--node-position"):
        assert option in manifest["command"]
    bad = CliRunner().invoke(app, ["encoders", "train", "arch2vec", "--space", "nb201", "--lr-schedule", "step"])
    assert bad.exit_code == 2 and "schedule" in bad.output


def test_cosine_schedule_decays_to_zero_and_defaults_stay_constant() -> None:
    data = GraphDataset.from_cells("nb201", _cells(40, seed=2))
    _, cosine = train_autoencoder(TrainConfig("arch2vec", "nb201", epochs=2, seed=0, batch_size=8, learning_rate=0.01,
                                              lr_schedule="cosine"), data)
    assert cosine[0]["lr"] == pytest.approx(0.005, rel=0.05) and cosine[-1]["lr"] == pytest.approx(0.0, abs=1e-9)
    _, constant = train_autoencoder(TrainConfig("arch2vec", "nb201", epochs=2, seed=0, batch_size=8), data)
    assert [h["lr"] for h in constant] == [1e-3, 1e-3]
    assert TrainConfig("arch2vec", "nb201").lr_schedule == "constant" and TrainConfig("arch2vec", "nb101").lr_schedule == "cosine"
    with pytest.raises(ConfigError, match="KL weight"):
        TrainConfig("arch2vec", "nb201", model={"kl_weight": -1.0})


def test_predictive_power_smooth_embedding_beats_noise() -> None:
    rng = np.random.default_rng(0)
    n = 1200
    smooth = rng.uniform(-2, 2, size=(n, 3))
    accuracy = 0.88 + 0.04 * np.sin(1.5 * smooth[:, 0]) + 0.03 * np.cos(smooth[:, 1]) + 0.002 * rng.normal(size=n)
    noise = rng.normal(size=(n, 3))
    good = predictive_power(smooth, accuracy, train_size=250, seeds=range(3))
    bad = predictive_power(noise, accuracy, train_size=250, seeds=range(3))
    assert good["pearson_mean"] > 0.95 and abs(bad["pearson_mean"]) < 0.2
    assert good["rmse_mean"] < 0.3 * bad["rmse_mean"] and good["rmse_mean"] < 0.3 * good["rmse_constant"]
    # the fit does not collapse onto the training cells (tiny length scale, the mean predicted elsewhere)
    assert all(fit["length_scale_over_median"] > 0.2 for fit in good["gp"]) and good["num_evaluated"] == n
    assert predictive_power(smooth, accuracy, train_size=250, seeds=range(3)) == good  # deterministic
    # failed cells (accuracy 0.1) among the training samples distort the fit; leaving them out of it recovers it
    failed = accuracy.copy()
    failed[rng.choice(n, 60, replace=False)] = 0.1
    distorted = predictive_power(smooth, failed, train_size=250, seeds=range(3))
    cleaned = predictive_power(smooth, failed, train_size=250, seeds=range(3), fit_above_threshold=True)
    assert cleaned["pearson_mean"] > 0.95 and cleaned["pearson_mean"] > distorted["pearson_mean"]
    assert cleaned["num_evaluated"] == distorted["num_evaluated"] == n - 60
    with pytest.raises(ConfigError):
        predictive_power(smooth, accuracy, train_size=n + 1)
