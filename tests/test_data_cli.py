"""``nasviz data`` and ``nasviz query`` commands end to end (CliRunner)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from data_fixtures import nb201_merged_parquet
from typer.testing import CliRunner

from nasviz.cli.main import app
from nasviz.data import clear_cache
from nasviz.paths import home_dir

runner = CliRunner()
BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"


@pytest.fixture(scope="module")
def nb201_parquet(tmp_path_factory: pytest.TempPathFactory, nb201_csv: Path) -> Path:
    """The nb201-merged import, done once per session (tests copy it into their own NASVIZ_HOME)."""
    return nb201_merged_parquet(nb201_csv, tmp_path_factory)


@pytest.fixture
def imported(nb201_parquet: Path) -> None:
    target = home_dir() / "benchmarks"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(nb201_parquet, target / "nb201.parquet")
    clear_cache()


def _json(args: list[str]) -> object:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_status_with_nothing_imported_shows_embedded_and_commands() -> None:
    result = runner.invoke(app, ["data", "status"])
    assert result.exit_code == 0
    assert "nb201  embedded: 15,625 cells" in result.stdout and "nb101  not imported" in result.stdout
    assert "\n       nasviz data download naslib-nb101\n" in result.stdout  # the recommended command, on its own line
    rows = _json(["data", "status", "--json"])
    assert [r["imported"] for r in rows] == [False] * 4
    assert [r["source"] for r in rows] == ["embedded", None, None, None]
    result = runner.invoke(app, ["query", "optimum"])
    assert result.exit_code == 0 and "94.37" in result.output


@pytest.mark.usefixtures("no_embedded_tables")
def test_status_with_an_empty_store_gives_commands() -> None:
    result = runner.invoke(app, ["data", "status"])
    assert result.exit_code == 0
    assert "nb201  not imported" in result.stdout and "nasviz data download hw-nas-bench" in result.stdout
    result = runner.invoke(app, ["query", "optimum"])
    assert result.exit_code == 2 and "no benchmark table imported for nb201" in result.output


def test_import_command_and_status(nb201_csv: Path) -> None:
    result = _json(["data", "import", "nb201-merged", str(nb201_csv), "--no-progress", "--json"])
    assert result["rows"] == 15625 and "accuracy/cifar10/test/200ep" in result["metrics"]
    rows = {r["benchmark"]: r for r in _json(["data", "status", "--json"])}
    assert rows["nb201"]["imported"] and rows["nb201"]["rows"] == 15625
    assert rows["nb201"]["provenance"][0]["files"][0]["name"] == "nb201_merged.csv"


def test_import_errors_exit_2_with_message(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("arch,acc\n|x~0|,1\n")
    result = runner.invoke(app, ["data", "import", "csv", str(bad), "--space", "nb201", "--arch-col", "arch",
                                 "--metric", "acc:accuracy:cifar10:test:200", "--no-progress"])
    assert result.exit_code == 2
    assert "bad.csv: line 2, column 'arch'" in result.output


@pytest.mark.usefixtures("imported")
def test_query_optimum_is_94_37() -> None:
    out = _json(["query", "optimum", "--space", "nb201", "--dataset", "cifar10", "--metric", "test", "--epochs", "200",
                 "--json"])
    assert round(out["value"], 2) == 94.37 and out["cell_id"] == "6111" and out["cell"] == BEST
    assert out["considered"] == 15625


@pytest.mark.usefixtures("imported")
def test_query_constrained_and_pareto(tmp_path: Path) -> None:
    out = _json(["query", "optimum", "--dataset", "cifar10", "--max-latency", "5", "--device", "pixel3", "--json"])
    assert out["constraint_key"] == "latency/pixel3/cifar10" and out["constraint_value"] <= 5 and out["value"] < 94.37
    front_csv = tmp_path / "front.csv"
    front = _json(["query", "pareto", "--dataset", "cifar10", "--device", "pixel3", "--csv", str(front_csv), "--json"])
    values = [r["accuracy/cifar10/test/200ep"] for r in front["front"]]
    assert values == sorted(values) and round(values[-1], 2) == 94.37
    assert front_csv.read_text().count("\n") == front["size"] + 1
    small = _json(["query", "optimum", "--dataset", "c10", "--max-params", "0.5", "--json"])
    assert small["constraint_key"] == "params/cifar10" and small["constraint_value"] <= 0.5
    params = _json(["query", "pareto", "--dataset", "c100", "--json"])
    assert params["versus"] == "params/cifar100"
    result = runner.invoke(app, ["query", "optimum", "--max-latency", "5"])
    assert result.exit_code == 2 and "needs both" in result.output


@pytest.mark.usefixtures("imported")
def test_query_cells_and_input_file(tmp_path: Path) -> None:
    out = _json(["query", "--space", "nb201", "--dataset", "cifar10", "--metric", "test", "--epochs", "200",
                 "--cell", BEST, "--json"])
    assert out["cell_id"] == "6111" and out["rank"] == 1 and out["regret"] == 0
    both = _json(["query", "--index", "1", "--index", "6111", "--json"])
    assert [r["cell_id"] for r in both] == ["1", "6111"] and both[0]["value"] == pytest.approx(93.66)
    cells = tmp_path / "cells.jsonl"
    cells.write_text(json.dumps({"arch": BEST}) + "\n\n" + json.dumps({"index": 1}) + "\n" + '"|bad|"\n')
    result = runner.invoke(app, ["query", "--input", str(cells), "--json"])
    assert result.exit_code == 2
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r.get("cell_id") for r in lines[:2]] == ["6111", "1"]
    assert "cells.jsonl: line 4" in lines[2]["error"]
    human = runner.invoke(app, ["query", "--index", "6111", "--metric", "valid", "--dataset", "cifar100"])
    assert human.exit_code == 0 and "accuracy/cifar100/valid/12ep" in human.stdout


@pytest.mark.usefixtures("imported")
def test_query_unknown_metric_lists_available() -> None:
    result = runner.invoke(app, ["query", "optimum", "--metric", "accuracy/cifar10/valid/200ep"])
    assert result.exit_code == 2 and "available:" in result.output


def test_download_list_and_manual() -> None:
    out = _json(["data", "download", "--list", "--json"])
    assert {"mini-nb201", "help-latency", "hw-nas-bench"} <= {r["name"] for r in out["downloadable"]}
    result = runner.invoke(app, ["data", "download", "nb201-v1_1"])
    assert result.exit_code == 2 and "Google Drive" in result.output and "nasviz data import nb201" in result.output
