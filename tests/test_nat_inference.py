"""NAT's NumPy inference path: same probabilities and actions as the torch policy, no torch import, the npz export."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from nasviz.errors import DataError
from nasviz.nat import get_adapter
from nasviz.nat.decide import decide
from nasviz.nat.features import featurize_arrays
from nasviz.nat.inference import NumpyPolicy, read_npz_weights, sample_actions
from nasviz.nat.policy import NatPolicy, PolicyConfig, featurize
from nasviz.nat.store import WEIGHTS, export_weights, find_policy_dir, load_policy, save_policy
from nasviz.spaces.nat import NatSpace, preset_cells
from nasviz.spaces.nb201 import NB201Space


def _trained_like(adapter, seed: int, config: PolicyConfig) -> NatPolicy:
    """A policy with non-trivial weights (random, scaled up so that decisions are not all ties)."""
    torch.manual_seed(seed)
    policy = NatPolicy.for_adapter(adapter, config)
    with torch.no_grad():
        for param in policy.parameters():
            param.mul_(3.0)
    return policy.eval()


@pytest.mark.parametrize(("space", "rule"), [("nb201", "paper"), ("nb201", "code"), ("nat", "paper"), ("nat", "code")])
def test_numpy_forward_matches_torch(space: str, rule: str) -> None:
    adapter = get_adapter(space)
    config = PolicyConfig(edge_dim=16, hidden=32, max_nodes=8)
    policy = _trained_like(adapter, 7, config)
    mirror = NumpyPolicy.for_adapter(adapter, policy.numpy_weights(), config)
    if space == "nb201":
        cells = NB201Space().sample(200, seed=1)
    else:  # random NAT cells of several sizes in one padded batch, plus the presets (VGG, ResNet, DARTS, ...)
        cells = [c for n in (2, 3, 4, 5) for c in NatSpace().sample(30, seed=n, nodes=n)] + list(preset_cells().values())
    expected = policy.probabilities(featurize(adapter, cells, rule))
    got = mirror.action_probabilities(featurize_arrays(adapter, cells, rule))
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert (got.argmax(-1) == expected.argmax(-1)).all()
    torch_decision = decide(policy, adapter, cells, rule)
    numpy_decision = decide(mirror, adapter, cells, rule)
    assert torch_decision.actions == numpy_decision.actions
    assert torch_decision.transformed == numpy_decision.transformed


def test_shipped_policies_have_matching_numpy_weights() -> None:
    found = 0
    for space, rule in (("nb201", "paper"), ("nb201", "code"), ("nat", "paper")):
        path = find_policy_dir(space, rule)
        if path is None:
            continue
        found += 1
        assert read_npz_weights(path / WEIGHTS, path / "policy.pt") is not None, f"stale or missing {path / WEIGHTS}"
        adapter = get_adapter(space)
        cells = NB201Space().sample(50, seed=2) if space == "nb201" else list(preset_cells().values())
        fast = load_policy(space, rule).policy
        slow = load_policy(space, rule, backend="torch").policy
        assert isinstance(fast, NumpyPolicy) and isinstance(slow, NatPolicy)
        np.testing.assert_allclose(fast.action_probabilities(featurize_arrays(adapter, cells, rule)),
                                   slow.probabilities(featurize(adapter, cells, rule)), atol=1e-5)
    if not found:
        pytest.skip("no shipped NAT policy")


def test_npz_export_and_staleness(tmp_path: Path) -> None:
    adapter = get_adapter("nb201")
    config = PolicyConfig(edge_dim=8, hidden=16)
    folder = tmp_path / "p"
    save_policy(folder, _trained_like(adapter, 1, config), {"space": "nb201", "rule": "paper", "command": "test"})
    with np.load(folder / WEIGHTS, allow_pickle=False) as data:  # plain arrays only
        assert all(data[k].dtype.kind in "fU" for k in data.files)
    first = read_npz_weights(folder / WEIGHTS, folder / "policy.pt")
    # a new checkpoint without its npz (e.g. written by an older nasviz): the npz is stale and not used
    other = _trained_like(adapter, 2, config)
    (folder / "policy.pt").write_bytes(_state_bytes(other))
    assert read_npz_weights(folder / WEIGHTS, folder / "policy.pt") is None
    cells = NB201Space().sample(20, seed=0)
    converted = load_policy("nb201", "paper", folder).policy  # falls back to converting policy.pt
    np.testing.assert_allclose(converted.action_probabilities(featurize_arrays(adapter, cells, "paper")),
                               other.probabilities(featurize(adapter, cells, "paper")), atol=1e-5)
    export_weights(folder, "nb201")
    again = read_npz_weights(folder / WEIGHTS, folder / "policy.pt")
    assert again is not None and not np.allclose(again["head.weight"], first["head.weight"])
    (folder / WEIGHTS).write_bytes(b"garbage")
    with pytest.raises(DataError, match="cannot read"):
        read_npz_weights(folder / WEIGHTS)
    with pytest.raises(DataError, match="lack"):
        NumpyPolicy.for_adapter(adapter, {"op_embedding.weight": np.zeros((6, 8), np.float32)}, config)


def _state_bytes(policy: NatPolicy) -> bytes:
    import io

    buffer = io.BytesIO()
    torch.save(policy.state_dict(), buffer)
    return buffer.getvalue()


def test_sampling_respects_masks_and_seed() -> None:
    probs = np.array([[[0.0, 0.3, 0.7], [1.0, 0.0, 0.0], [0.5, 0.5, 0.0]]] * 4000, dtype=np.float32)
    draws = sample_actions(probs, np.random.default_rng(0))
    assert set(draws[:, 0]) == {1, 2} and set(draws[:, 1]) == {0} and set(draws[:, 2]) == {0, 1}
    assert abs((draws[:, 0] == 2).mean() - 0.7) < 0.03
    assert (draws == sample_actions(probs, np.random.default_rng(0))).all()


def _run_cli_apply(home: Path) -> tuple[dict, str]:
    """Run `nasviz nat apply` on an NB201 cell in a fresh interpreter: (its JSON, the heavy modules it imported)."""
    code = ("import sys, runpy; sys.argv = ['nasviz', 'nat', 'apply', '--space', 'nb201', '--cell', "
            "'|nor_conv_3x3~0|+|avg_pool_3x3~0|skip_connect~1|+|nor_conv_1x1~0|none~1|nor_conv_3x3~2|', '--json']\n"
            "try:\n    runpy.run_module('nasviz.cli.main', run_name='__main__')\nexcept SystemExit:\n    pass\n"
            "heavy = sorted(m for m in ('torch', 'networkx', 'pyarrow', 'pandas') if m in sys.modules)\n"
            "print('HEAVY', ','.join(heavy))")
    env = {"NASVIZ_HOME": str(home), "PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path(__file__).parents[1])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60, check=True)
    document, heavy = out.stdout.rsplit("HEAVY", 1)
    return json.loads(document), heavy.strip()


needs_policy = pytest.mark.skipif(find_policy_dir("nb201", "paper") is None, reason="no shipped NB201 NAT policy")


@needs_policy
def test_cli_apply_does_not_import_torch(tmp_path: Path) -> None:
    """The `nasviz nat apply` path on NB201 (policy, costs, the embedded table's accuracy) stays free of torch and
    networkx; once its column cache is built (first run in a fresh home reads the embedded table with pyarrow),
    free of pyarrow and pandas too."""
    first, heavy = _run_cli_apply(tmp_path)
    assert "torch" not in heavy and "networkx" not in heavy
    result, heavy = _run_cli_apply(tmp_path)
    assert heavy == ""
    assert result["decision"].startswith("greedy") and len(result["probabilities"]) == 6
    first.pop("seconds"), result.pop("seconds")
    assert result["metric_measured"] and result == first  # nothing imported: the embedded table's accuracy


@needs_policy
def test_cli_apply_true_delta_from_the_column_cache(nb201_csv: Path, isolated_home: Path) -> None:
    """With the NB201 table imported, the true accuracy delta comes from a cached column (no pyarrow once cached)."""
    from nasviz.data import import_benchmark, load_table
    from nasviz.nat.rewards import NB201_EVAL_METRIC, TabularReward
    from nasviz.spaces.nb201 import NB201Space

    import_benchmark("nb201-merged", nb201_csv)
    reward = TabularReward("nb201", NB201_EVAL_METRIC)  # builds the cache
    cell = NB201Space().parse("|nor_conv_3x3~0|+|avg_pool_3x3~0|skip_connect~1|+|nor_conv_1x1~0|none~1|nor_conv_3x3~2|")
    table = load_table("nb201")
    assert reward.values([cell])[0] == table.lookup(NB201Space().cell_id(cell), NB201_EVAL_METRIC)
    result, heavy = _run_cli_apply(isolated_home)
    assert heavy == ""
    assert result["metric_measured"] and result["metric_before"] == pytest.approx(reward.values([cell])[0], abs=1e-4)
    assert result["metric_delta"] == pytest.approx(result["metric_after"] - result["metric_before"], abs=1e-3)
