"""NAO: token sequences and masks of NB201/NB101/DARTS/NAT (every masked decode is a valid cell, also from
untrained decoders), metrics on hand-built cases, a model that learns a
small set (loss falls, exact reconstruction), gradient-ascent moves, and the saved model round trip."""

from __future__ import annotations

import numpy as np
import pytest

from nasviz.encoders import get_encoder
from nasviz.encoders.nao import (
    NAOConfig,
    NAOEncoder,
    NAOModel,
    NAOTrainConfig,
    decode_walk,
    fit_and_save,
    train_nao,
    walk_gains,
)
from nasviz.encoders.nao_tokens import get_token_codec, hamming_distance, pairwise_accuracy
from nasviz.errors import CellError, ConfigError, DataError
from nasviz.spaces import get_space, nb101, nb201


@pytest.fixture(autouse=True)
def one_thread():
    """Small models: one torch thread is fastest (and avoids oversubscribing a shared machine)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)



@pytest.mark.parametrize("space", ["nb201", "nb101", "darts", "nat"])
def test_tokens_round_trip_and_teacher_masks_admit_the_truth(space: str) -> None:
    codec = get_token_codec(space)
    sp = get_space(space)
    cells = sp.sample(40, seed=4)
    tokens = codec.encode_many(cells)
    assert tokens.shape == (40, codec.length) and tokens.min() >= 1 and tokens.max() < codec.vocab_size
    for cell, seq in zip(cells, tokens, strict=True):
        assert sp.cell_id(codec.decode(seq)) == sp.cell_id(cell)
    masks = codec.masks(tokens)
    assert masks[np.arange(40)[:, None], np.arange(codec.length)[None, :], tokens].all()


@pytest.mark.parametrize("space", ["nb201", "nb101", "darts", "nat"])
def test_any_masked_sequence_is_a_valid_cell(space: str) -> None:
    codec = get_token_codec(space)
    sp = get_space(space)
    rng = np.random.default_rng(0)
    for _ in range(120):
        prefix: list[int] = []
        for _ in range(codec.length):
            prefix.append(int(rng.choice(np.nonzero(codec.allowed(prefix))[0])))
        cell = codec.decode(prefix)
        assert cell is not None, codec.decode_reason(prefix)
        assert sp.is_valid(cell).valid


@pytest.mark.parametrize("space", ["nb201", "nb101", "darts", "nat"])
@pytest.mark.parametrize("scale", [1.0, 25.0])
def test_untrained_decoders_decode_only_valid_cells_under_masks(space: str, scale: float) -> None:
    """Random decoder weights (``scale`` blows up the output layer so logits are extreme) and random latents:
    every masked greedy decode is a valid cell of the space; unmasked, the same decoder produces garbage."""
    import torch

    codec = get_token_codec(space)
    sp = get_space(space)
    torch.manual_seed(int(scale) + codec.length)
    model = NAOModel(NAOConfig(codec.vocab_size, codec.length, embedding_dim=8, hidden_dim=16, mlp_hidden=8,
                               mlp_layers=1, dropout=0.0)).eval()
    with torch.no_grad():
        model.out.weight.mul_(scale)
        model.out.bias.uniform_(-scale, scale)
    enc = NAOEncoder(space, model)
    latents = np.random.default_rng(3).normal(size=(60, codec.length, 16)).astype(np.float32)
    decoded = enc.decode(latents, constrained=True)
    assert all(cell is not None and sp.is_valid(cell).valid for cell in decoded)
    assert all(cell is not None for cell in enc.decode(latents[:, 0], constrained=True))  # (n, hidden) latents too
    unmasked = enc.decode_tokens(latents, constrained=False)
    assert unmasked.shape == (60, codec.length) and (unmasked != 0).all()  # SOS is never emitted


def test_nat_tokens_keep_a_live_input_in_every_node() -> None:
    from nasviz.spaces import nat

    codec = get_token_codec("nat")
    null = codec.op_offset + nat.NAT_OPS.index("null")
    prefix = [1, null]  # node 0: first input c_{k-2} through a null edge
    assert not codec.allowed(prefix)[1]  # the second input differs from the first
    allowed = codec.allowed(prefix + [2])
    assert not allowed[null] and allowed[codec.op_offset]  # and its op cannot be null as well
    # null edges where a node keeps a live input decode to valid NAT cells (NAT's null op)
    cell = codec.decode([1, null, 2, 6, 1, 7, 3, null, 2, 9, 4, 10, 1, null, 5, 12])
    assert cell is not None and get_space("nat").is_valid(cell).valid
    assert sum(op == "null" for op, _, _ in cell.edges) == 3
    with pytest.raises(CellError):
        codec.encode(get_space("nat").sample(1, seed=0, nodes=3)[0])


def test_nb101_masks_enforce_edge_limit_and_inputs() -> None:
    codec = get_token_codec("nb101")
    # greedily always prefer an edge: the masks must stop at 9 edges and still end in a valid cell
    prefix: list[int] = []
    for _ in range(codec.length):
        allowed = np.nonzero(codec.allowed(prefix))[0]
        prefix.append(2 if 2 in allowed else int(allowed[0]))
    cell = codec.decode(prefix)
    assert cell is not None and cell.num_edges <= nb101.MAX_EDGES
    # unmasked garbage is reported, not silently accepted
    bad = [1] * codec.length
    assert codec.decode(bad) is None and codec.decode_reason(bad)


def test_darts_swap_keeps_the_cell() -> None:
    codec = get_token_codec("darts")
    sp = get_space("darts")
    cell = sp.sample(1, seed=2)[0]
    tokens = codec.encode(cell)
    swapped = codec.swap(tokens, np.random.default_rng(1))
    assert not np.array_equal(swapped, tokens)
    assert sp.cell_id(codec.decode(swapped)) == sp.cell_id(cell)


def test_metrics_on_hand_built_cases() -> None:
    assert pairwise_accuracy([1, 2, 3, 4], [10, 20, 30, 40]) == 1.0
    assert pairwise_accuracy([1, 2, 3, 4], [4, 3, 2, 1]) == 0.0
    assert pairwise_accuracy([1, 2, 3], [1, 3, 2]) == pytest.approx(2 / 3)
    assert pairwise_accuracy([1, 1], [5, 3]) == 1.0  # a tie agrees with either order
    a = np.array([[1, 2, 3], [1, 2, 3]])
    assert hamming_distance(a, np.array([[1, 2, 3], [3, 2, 1]])) == 1.0
    with pytest.raises(ConfigError):
        pairwise_accuracy([1], [1])


def _small_set() -> tuple[list[nb201.NB201Cell], np.ndarray]:
    cells = get_space("nb201").sample(40, seed=11)
    targets = np.array([sum(op.startswith("nor_conv") for op in c.ops) + 0.1 * i / 40 for i, c in enumerate(cells)])
    return cells, targets


def test_nao_learns_a_small_set() -> None:
    cells, targets = _small_set()
    small = {"hidden_dim": 32, "embedding_dim": 16, "mlp_hidden": 32, "mlp_layers": 1, "dropout": 0.0}
    cfg = NAOTrainConfig("nb201", seed=0, epochs=80, batch_size=20, learning_rate=5e-3, model=small)
    model, history = train_nao(cfg, cells, targets)
    assert history[-1]["loss"] < 0.25 * history[0]["loss"]
    enc = NAOEncoder("nb201", model)
    decoded = enc.decode(enc.encode(cells))
    assert sum(d == c for d, c in zip(decoded, cells, strict=True)) >= 36
    assert pairwise_accuracy(targets, enc.predict(cells)) > 0.8
    # gradient ascent finds new cells with a higher prediction
    moves = enc.ascend(cells[:4])
    found = [m for m in moves if m.cell is not None]
    assert found and all(m.cell != m.start and m.step_size >= 1 for m in found)
    assert np.mean([m.predicted_new - m.predicted_start for m in found]) > 0
    truth = {get_space("nb201").cell_id(c): float(t) for c, t in zip(cells, targets, strict=True)}
    walk = decode_walk(enc, cells[0], steps=3, metric=lambda cid: truth.get(cid, float("nan")))
    assert len({row["cell_id"] for row in walk}) == len(walk) >= 2
    assert walk[0]["true"] == truth[walk[0]["cell_id"]] and walk[0]["edit_distance"] == 0
    sp = get_space("nb201")
    for before, row in zip(walk, walk[1:], strict=False):
        assert row["edit_distance"] == sp.edit_distance(before["cell"], row["cell"]) >= 1
        assert row["predicted"] == pytest.approx(float(enc.predict([row["cell"]])[0]))  # the predictor on the decoded cell
        assert row["true"] == truth.get(row["cell_id"]) or (np.isnan(row["true"]) and row["cell_id"] not in truth)


def test_walk_gains_compare_predicted_and_true_changes() -> None:
    rows = [{"predicted": 90.0, "true": 91.0}, {"predicted": 91.0, "true": 90.0}, {"predicted": 92.0, "true": 93.0},
            {"predicted": 93.0, "true": float("nan")}]
    gains = walk_gains(rows)
    assert gains["predicted_gain"] == 3.0 and np.isnan(gains["true_gain"]) and gains["best_true"] == 93.0
    assert gains["steps_with_true"] == 2 and gains["steps_agreeing"] == 1  # 90 -> 91 predicted up, true down
    assert walk_gains(rows[:3])["true_gain"] == 2.0


def test_nao_saved_model_round_trip(tmp_path, isolated_home) -> None:
    cells = get_space("darts").sample(30, seed=1)
    from nasviz.encoders import nao

    # DARTS has no labels: a reconstruction-only model, trained through the saving path
    manifest = fit_and_save("darts", unlabelled=30, held_out=10, epochs=2, command="test", hidden_dim=16,
                            embedding_dim=8, mlp_hidden=8, mlp_layers=1)
    assert manifest["encoder"] == "nao" and manifest["metrics"]["held_out"]["masked_validity"] == 1.0
    enc = get_encoder("nao", "darts")
    assert enc.embed(cells).shape == (30, 16)
    assert all(c is not None for c in enc.decode(enc.encode(cells)))
    directory = isolated_home / "models" / "darts" / "nao"
    assert (directory / "embeddings.npz").exists()
    with pytest.raises(DataError):
        NAOEncoder.load_dir(directory, "nb201")
    assert nao.NAO_DEFAULTS["nb201"][0] == 500


def test_nao_search_strategy_asks_new_cells(source_data, monkeypatch) -> None:
    from nasviz.search.base import Observation
    from nasviz.search.runner import build_strategy

    monkeypatch.setenv("NASVIZ_DATA", str(source_data))
    fit_and_save("nb201", train_size=60, held_out=20, epochs=3, command="test", hidden_dim=16, embedding_dim=8,
                 mlp_hidden=16, mlp_layers=1)
    sp = get_space("nb201")
    strategy = build_strategy("nao", "nb201", 0, settings={"initial_samples": 8, "epochs": 3, "top_k": 6, "max_step": 10})
    for _ in range(3):
        cells = strategy.ask(4)
        ids = [sp.cell_id(c) for c in cells]
        assert len(set(ids)) == 4 and not set(ids) & strategy.visited
        strategy.tell(cells, [Observation(float(c.ops.count("nor_conv_3x3"))) for c in cells])
    assert strategy.rounds == 1


@pytest.mark.parametrize("space", ["nb201", "nb101"])
def test_shipped_model_decode_walk_gives_valid_new_cells(space: str) -> None:
    """The walk of the Neighbour Walk page on the shipped models: every move is a new valid cell, its predicted
    value is the predictor's on that cell and the true value comes from the given lookup."""
    from nasviz.encoders.store import find_model_dir

    if find_model_dir(space, "nao") is None:
        pytest.skip(f"no shipped NAO model for {space}")
    enc = NAOEncoder.load(space)
    sp = get_space(space)
    start = sp.sample(1, seed=5)[0]
    truth = {sp.cell_id(start): 90.0}
    walk = decode_walk(enc, start, steps=2, max_step=30, metric=lambda cid: truth.get(cid, float("nan")))
    assert walk[0]["cell_id"] == sp.cell_id(start) and walk[0]["true"] == 90.0 and len(walk) >= 2
    assert len({row["cell_id"] for row in walk}) == len(walk)
    for row in walk[1:]:
        assert sp.is_valid(row["cell"]).valid and np.isnan(row["true"]) and row["step_size"] >= 1
        assert row["predicted"] == pytest.approx(float(enc.predict([row["cell"]])[0]), abs=1e-4)
