"""``nasviz nat``: transform, apply (shipped policy), evaluate on the real NB201 table, clean errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nasviz.cli.main import app
from nasviz.nat.store import find_policy_dir

runner = CliRunner()
NB201 = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"
needs_policy = pytest.mark.skipif(find_policy_dir("nb201", "paper") is None, reason="no shipped NB201 NAT policy")


def _json(args: list[str]) -> dict:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_transform_reports_costs_and_validity(tmp_path: Path) -> None:
    out = _json(["nat", "transform", "--space", "nb201", "--cell", NB201, "--actions", "skip,null,keep,keep,keep,keep",
                 "--json"])
    assert out["transformed"].startswith("|skip_connect~0|+|none~0|")
    assert out["delta_params"] < 0 and out["valid"]
    cell = tmp_path / "vgg.json"
    cell.write_text(json.dumps({"edges": [["conv_3x3", -1, 0], ["null", -2, 0], ["conv_3x3", 0, 1], ["null", -2, 1]],
                                "output": "concat", "concat": [1]}))
    code = _json(["nat", "transform", "--space", "nat", "--input", str(cell), "--rule", "code",
                  "--actions", "skip,keep,skip,keep", "--json"])
    assert code["delta_params"] > 0  # shortcuts from c_{k-2}: the code rule may raise the cost
    refused = runner.invoke(app, ["nat", "transform", "--space", "nat", "--input", str(cell), "--actions",
                                  "skip,keep,skip,keep"])
    assert refused.exit_code == 2 and "not allowed" in refused.output


def test_bad_input_exits_cleanly(tmp_path: Path) -> None:
    binary = tmp_path / "cell.pkl"
    binary.write_bytes(b"\x80\x04\x95not a cell")
    for args, message in ((["--input", str(binary)], "binary"),
                          (["--cell", '{"edges": [["conv_3x3", -1, 0]]}'], "1 input(s)"),
                          (["--cell", NB201, "--input", str(binary)], "exactly one")):
        result = runner.invoke(app, ["nat", "apply", "--space", "nat", *args])
        assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output


@needs_policy
def test_apply_with_shipped_policy() -> None:
    out = _json(["nat", "apply", "--space", "nb201", "--cell", NB201, "--json"])
    assert [p["edge"][:3] for p in out["probabilities"]][0] == ["avg_pool_3x3", 0, 1]
    for row in out["probabilities"]:
        assert abs(row["keep"] + row["skip"] + row["null"] - 1) < 1e-3
    assert out["decision"].startswith("greedy") and out["cost_after"]["params"] <= out["cost_before"]["params"]


@needs_policy
def test_evaluate_on_nb201(nb201_csv: Path) -> None:
    from nasviz.data import import_benchmark

    import_benchmark("nb201-merged", nb201_csv)
    out = _json(["nat", "evaluate", "--space", "nb201", "--cells", "30", "--seed", "1", "--random-draws", "2", "--json"])
    assert out["cells"] == 30 and out["rule"] == "paper"
    assert out["nat"]["params_increased"] == 0
    assert out["best_by_signal"]["mean_gain"] >= out["random"]["mean_gain"]
    assert out["nat"]["mean_gain"] > out["random"]["mean_gain"]
    applied = _json(["nat", "apply", "--space", "nb201", "--cell", NB201, "--samples", "5", "--json"])
    assert applied["metric_measured"] and applied["metric_delta"] is not None
    assert "best of 5 most probable" in applied["decision"]
    sampled = _json(["nat", "apply", "--space", "nb201", "--cell", NB201, "--samples", "5", "--candidates", "sample",
                     "--json"])
    assert "best of 5 samples" in sampled["decision"]
    refused = runner.invoke(app, ["nat", "apply", "--space", "nb201", "--cell", NB201, "--samples", "5", "--candidates",
                                  "beam"])
    assert refused.exit_code == 2 and "unknown candidates" in refused.output
    from nasviz.nat.rewards import NB201_TRAIN_METRIC, EvaluatorReward, TabularReward
    from nasviz.spaces.nb201 import NB201Space

    cells = NB201Space().sample(5, seed=3)
    via_evaluator = EvaluatorReward(f"tabular:metric={NB201_TRAIN_METRIC}", "nb201").values(cells)
    assert via_evaluator.tolist() == TabularReward("nb201", NB201_TRAIN_METRIC).values(cells).tolist()
