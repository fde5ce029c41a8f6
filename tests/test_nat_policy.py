"""NAT policy: masking, REINFORCE on a toy reward, best-of-K decisions, checkpoints, the supernet reward."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from nasviz.errors import CellError, ConfigError, DataError
from nasviz.nat import get_adapter
from nasviz.nat.decide import decide, most_probable_actions
from nasviz.nat.features import featurize_arrays
from nasviz.nat.policy import NatPolicy, PolicyConfig, featurize, repeat_batch
from nasviz.nat.rewards import Reward
from nasviz.nat.rules import KEEP, NULL, SKIP
from nasviz.nat.store import load_policy, save_policy
from nasviz.nat.train import TrainConfig, entropy_weight, train_policy
from nasviz.spaces.nat import NatCell, NatSpace, preset_cells
from nasviz.spaces.nb201 import NB201Cell, cell_from_code


class ToyReward(Reward):
    """Best action per edge is known: pools should become skip, 1x1 convs null, 3x3 convs stay."""

    name = "toy"
    space = "nb201"

    def values(self, cells: list) -> np.ndarray:
        score = {"skip_connect": 1.0, "none": 0.5, "nor_conv_3x3": 3.0, "nor_conv_1x1": 0.0, "avg_pool_3x3": 0.0}
        out = []
        for cell in cells:
            total = 0.0
            for op in cell.ops:
                total += score[op]
            out.append(total)
        return np.array(out) * 10.0


def _sampler(rng: np.random.Generator, n: int) -> list[NB201Cell]:
    return [cell_from_code(int(c)) for c in rng.integers(0, 5**6, size=n)]


def best_toy_action(op: str) -> int:
    return {"avg_pool_3x3": SKIP, "nor_conv_1x1": SKIP, "nor_conv_3x3": KEEP, "skip_connect": KEEP, "none": KEEP}[op]


def test_reinforce_learns_the_best_action_on_a_toy_reward() -> None:
    torch.set_num_threads(1)
    adapter = get_adapter("nb201")
    config = TrainConfig(rule="paper", steps=100, batch_size=64, lr=1e-2, entropy=0.001, baseline_decay=0.9, seed=0,
                         policy=PolicyConfig(edge_dim=8, hidden=32))
    result = train_policy(adapter, ToyReward(), _sampler, config, log_every=20)
    assert result.history[-1]["mean_gain"] > result.history[0]["mean_gain"]
    cells = _sampler(np.random.default_rng(123), 100)
    decision = decide(result.policy, adapter, cells, "paper")
    hits = [a == best_toy_action(op) for cell, acts in zip(cells, decision.actions, strict=True)
            for op, a in zip(cell.ops, acts, strict=True) if op != "none"]
    assert np.mean(hits) > 0.95
    # same seed -> same policy
    again = train_policy(adapter, ToyReward(), _sampler, config, log_every=20)
    assert again.history == result.history


@pytest.mark.parametrize("improve_bonus", [0.0, 5.0])
def test_per_cell_baseline_with_normalised_advantages_learns_the_toy_reward(improve_bonus: float) -> None:
    torch.set_num_threads(1)
    adapter = get_adapter("nb201")
    config = TrainConfig(rule="paper", steps=100, batch_size=32, samples_per_cell=4, normalize_per_cell=True, lr=1e-2,
                         entropy=0.01, entropy_final=0.0, improve_bonus=improve_bonus, seed=0,
                         policy=PolicyConfig(edge_dim=8, hidden=32))
    result = train_policy(adapter, ToyReward(), _sampler, config, log_every=20)
    cells = _sampler(np.random.default_rng(7), 100)
    decision = decide(result.policy, adapter, cells, "paper")
    hits = [a == best_toy_action(op) for cell, acts in zip(cells, decision.actions, strict=True)
            for op, a in zip(cell.ops, acts, strict=True) if op != "none"]
    assert np.mean(hits) > 0.95


def test_entropy_schedule_and_per_cell_settings_are_checked() -> None:
    config = TrainConfig(steps=11, entropy=0.02, entropy_final=0.0)
    assert entropy_weight(config, 0) == pytest.approx(0.02)
    assert entropy_weight(config, 5) == pytest.approx(0.01)
    assert entropy_weight(config, 10) == pytest.approx(0.0)
    assert entropy_weight(TrainConfig(entropy=0.003), 7) == 0.003
    with pytest.raises(ConfigError, match="at least 2 samples per cell"):
        TrainConfig(samples_per_cell=1, normalize_per_cell=True)
    with pytest.raises(ConfigError, match="samples per cell"):
        TrainConfig(samples_per_cell=0)
    with pytest.raises(ConfigError, match="improvement bonus"):
        TrainConfig(improve_bonus=-1.0)


def test_repeat_batch_matches_featurising_repeated_cells() -> None:
    adapter = get_adapter("nat")
    cells = list(preset_cells().values())[:3]
    direct = featurize(adapter, [c for c in cells for _ in range(3)], "code")
    repeated = repeat_batch(featurize(adapter, cells, "code"), 3)
    for name in ("slot_ops", "node_kind", "is_output", "adjacency", "edge_node", "edge_slot", "mask", "edge_valid"):
        assert torch.equal(getattr(direct, name), getattr(repeated, name)), name
    assert direct.num_edges == repeated.num_edges


def test_masked_actions_are_never_sampled() -> None:
    adapter = get_adapter("nat")
    cells = list(preset_cells().values())
    policy = NatPolicy.for_adapter(adapter, PolicyConfig(edge_dim=8, hidden=16))
    batch = featurize(adapter, cells, "paper")
    probs = policy.probabilities(batch)
    assert np.all(probs[~batch.mask.numpy()] == 0)
    for _ in range(5):
        actions, log_prob, entropy = policy.sample(batch, torch.Generator().manual_seed(1))
        assert batch.mask.gather(2, actions.unsqueeze(-1)).all()
        assert torch.isfinite(log_prob).all() and (entropy >= 0).all()
    vgg = preset_cells()["VGG"]
    null_edges = [i for i, (op, _, _) in enumerate(adapter.edges(vgg)) if op == "null"]
    paper = policy.probabilities(featurize(adapter, [vgg], "paper"))[0]
    assert np.allclose(paper[null_edges, KEEP], 1.0)  # paper rule: null stays null
    code = policy.probabilities(featurize(adapter, [vgg], "code"))[0]
    assert (code[null_edges, SKIP] > 0).all() and (code[null_edges, NULL] == 0).all()


def _toy_decision():
    """An untrained NB201 policy, 20 cells, the toy reward and the greedy decision."""
    adapter = get_adapter("nb201")
    policy = NatPolicy.for_adapter(adapter, PolicyConfig(edge_dim=8, hidden=16))
    cells = _sampler(np.random.default_rng(5), 20)
    return adapter, policy, cells, ToyReward(), decide(policy, adapter, cells, "paper")


def test_best_of_k_keeps_the_best_sample() -> None:
    adapter, policy, cells, reward, greedy = _toy_decision()
    best = decide(policy, adapter, cells, "paper", samples=8, reward=reward, seed=3)
    assert (reward.values(best.transformed) >= reward.values(greedy.transformed)).all()
    assert all(max(scores) == pytest.approx(v) for scores, v in zip(best.sampled_rewards, reward.values(best.transformed),
                                                                    strict=True))


def test_most_probable_actions_match_brute_force() -> None:
    """Best-first top-K equals sorting every joint action by its probability, masks respected, no duplicates."""
    rng = np.random.default_rng(0)
    for _ in range(20):
        edges = int(rng.integers(1, 6))
        probs = rng.dirichlet(np.ones(3), size=edges)
        probs[rng.random((edges, 3)) < 0.3] = 0.0
        probs[np.arange(edges), probs.argmax(1)] += 0.1  # every edge keeps at least one allowed action
        probs /= probs.sum(1, keepdims=True)
        every = np.array(list(itertools.product(*[np.flatnonzero(row) for row in probs])))
        joint = np.prod(probs[np.arange(edges), every], axis=1)
        for k in (1, 4, len(every) + 3):
            top = most_probable_actions(probs, k)
            assert len(top) == min(k, len(every)) and len({tuple(r) for r in top}) == len(top)
            assert (probs[np.arange(edges), top] > 0).all()
            got = np.prod(probs[np.arange(edges), top], axis=1)
            assert np.allclose(got, np.sort(joint)[::-1][:len(top)])
        assert (most_probable_actions(probs, 1)[0] == probs.argmax(1)).all()


def test_top_candidates_are_distinct_and_include_greedy() -> None:
    adapter, policy, cells, reward, greedy = _toy_decision()
    top = decide(policy, adapter, cells, "paper", samples=8, reward=reward)
    sampled = decide(policy, adapter, cells, "paper", samples=8, reward=reward, seed=3, candidates="sample")
    assert (reward.values(top.transformed) >= reward.values(greedy.transformed)).all()
    assert top.sampled_rewards[0][0] == pytest.approx(reward.values(greedy.transformed)[0])  # candidate 0 = greedy
    assert top.actions == decide(policy, adapter, cells, "paper", samples=8, reward=reward, seed=99).actions
    assert sampled.actions == decide(policy, adapter, cells, "paper", samples=8, reward=reward, seed=3,
                                     candidates="sample").actions
    with pytest.raises(ValueError, match="unknown candidates"):
        decide(policy, adapter, cells, "paper", samples=8, reward=reward, candidates="beam")


def test_policy_checkpoint_roundtrip(tmp_path) -> None:
    adapter = get_adapter("nat")
    policy = NatPolicy.for_adapter(adapter, PolicyConfig(edge_dim=8, hidden=16, max_nodes=5))
    save_policy(tmp_path / "p", policy, {"space": "nat", "rule": "code", "command": "test"})
    assert (tmp_path / "p" / "policy.npz").exists()
    cells = NatSpace().sample(4, seed=0)
    batch = featurize(adapter, cells, "code")
    for backend in ("numpy", "torch"):
        loaded = load_policy("nat", "code", tmp_path / "p", backend=backend)
        assert np.allclose(loaded.policy.action_probabilities(featurize_arrays(adapter, cells, "code")),
                           policy.probabilities(batch), atol=1e-6)
    assert loaded.manifest["policy_config"]["max_nodes"] == 5
    big = NatSpace().sample(1, seed=0, nodes=7)[0]
    with pytest.raises(CellError, match="at most 5"):
        adapter.check_size(big, loaded.policy.config.max_nodes)
    (tmp_path / "p" / "policy.pt").write_bytes(b"not a checkpoint")  # the npz no longer matches: the .pt is read
    with pytest.raises(DataError, match="cannot load"):
        load_policy("nat", "code", tmp_path / "p")


def test_featurize_pads_cells_of_different_sizes() -> None:
    adapter = get_adapter("nat")
    small = NatCell((("conv_3x3", 0, 2), ("skip_connect", 1, 2)))
    large = NatSpace().sample(1, seed=2, nodes=5)[0]
    batch = featurize(adapter, [small, large], "paper")
    assert batch.num_edges == [2, 10]
    assert batch.edge_valid.sum().item() == 12
    policy = NatPolicy.for_adapter(adapter, PolicyConfig(edge_dim=8, hidden=16))
    single = policy.probabilities(featurize(adapter, [small], "paper"))[0]
    padded = policy.probabilities(batch)[0, :2]
    assert np.allclose(single, padded, atol=1e-6)


def test_supernet_reward_is_deterministic_and_bounded() -> None:
    from nasviz.nat.supernet import SupernetConfig, nat_sampler, train_supernet

    torch.set_num_threads(1)
    config = SupernetConfig(channels=4, nodes=2, steps=3, batch_size=16, eval_images=48, seed=0)
    reward = train_supernet(config)
    cells = nat_sampler(2)(np.random.default_rng(0), 4)
    values = reward.values(cells)
    assert ((values >= 0) & (values <= 100)).all()
    again = train_supernet(config).values(cells)
    assert np.allclose(values, again)
    dead = NatCell((("null", 0, 2), ("null", 1, 2)))
    assert reward.values([dead])[0] == reward.invalid_value
    with pytest.raises(DataError, match="at most 2 nodes"):
        reward.values([preset_cells()["VGG"]])
