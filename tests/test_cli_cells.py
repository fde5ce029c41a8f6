"""``nasviz spaces`` and ``nasviz cells describe|sample|draw`` through Typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nasviz.cli.main import app
from nasviz.spaces import SPACE_NAMES, get_space

runner = CliRunner()
NB201_A = "|nor_conv_3x3~0|+|skip_connect~0|none~1|+|avg_pool_3x3~0|nor_conv_1x1~1|nor_conv_3x3~2|"


def installed(name: str) -> str:
    get_space(name)
    return name


def jsonl(text: str) -> list:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize("args", [[], ["spaces"], ["cells"], ["cells", "describe"], ["cells", "sample"], ["cells", "draw"]])
def test_help_everywhere(args: list[str]) -> None:
    result = runner.invoke(app, [*args, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_spaces_json_lists_sizes_and_ops() -> None:
    result = runner.invoke(app, ["spaces", "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["space"]: row for row in json.loads(result.stdout)}
    assert set(rows) == set(SPACE_NAMES)
    assert rows["nb201"]["size"] == 15625 and rows["nb201"]["size_exact"] is True
    assert rows["nb201"]["ops"] == ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]
    human = runner.invoke(app, ["spaces"])
    assert "NAS-Bench-201: 15,625 cells" in human.stdout


def test_describe_file_reports_bad_lines_and_describes_good_ones(tmp_path: Path) -> None:
    path = tmp_path / "cells.txt"
    path.write_text(f'{NB201_A}\n\n"{NB201_A}"\n|bad~0|\n{{"index": 5}}\nnot json at all\n')
    result = runner.invoke(app, ["cells", "describe", "--space", "nb201", "--input", str(path), "--dataset", "cifar100"])
    assert result.exit_code == 1
    rows = jsonl(result.stdout)
    assert [row["line"] for row in rows] == [1, 3, 5]
    assert rows[0]["valid"] and rows[0]["index"] == 3638 and rows[0]["dataset"] == "cifar100"
    assert rows[0]["params"] == rows[1]["params"] > 0 and rows[0]["flops"] > 0
    assert rows[0]["op_counts"]["nor_conv_3x3"] == 2
    assert rows[2]["index"] == 5
    assert f"{path}:4: malformed NB201 arch string" in result.stderr
    assert f"{path}:6:" in result.stderr
    assert "2 line(s)" in result.stderr


def test_describe_single_cell_and_invalid_cell() -> None:
    nb101 = installed("nb101")
    cell = {"matrix": [[0, 1, 1], [0, 0, 1], [0, 0, 0]], "ops": ["input", "conv3x3-bn-relu", "output"]}
    result = runner.invoke(app, ["cells", "describe", "-s", nb101, "--cell", json.dumps(cell)])
    assert result.exit_code == 0, result.output
    (row,) = jsonl(result.stdout)
    assert row["valid"] is True and row["params"] > 0 and "hash" in row
    bad = {"matrix": [[0, 1], [0, 0]], "ops": ["input", "conv3x3-bn-relu"]}
    result = runner.invoke(app, ["cells", "describe", "-s", nb101, "--cell", json.dumps(bad)])
    (row,) = jsonl(result.stdout)
    assert row["valid"] is False and "output" in row["reason"]


def test_describe_errors_are_clean() -> None:
    result = runner.invoke(app, ["cells", "describe", "-s", "nb999", "--cell", NB201_A])
    assert result.exit_code == 2 and "unknown search space 'nb999'" in result.stderr
    result = runner.invoke(app, ["cells", "describe", "-s", "nb201", "--cell", NB201_A, "--dataset", "mnist"])
    assert result.exit_code == 2 and "unknown dataset 'mnist'" in result.stderr
    result = runner.invoke(app, ["cells", "describe", "-s", "nb201", "--input", "/nonexistent/cells.txt"])
    assert result.exit_code == 2 and "/nonexistent/cells.txt" in result.stderr


@pytest.mark.parametrize("name", SPACE_NAMES)
def test_sample_is_seeded_and_round_trips_through_describe(name: str, tmp_path: Path) -> None:
    installed(name)
    first = runner.invoke(app, ["cells", "sample", "--space", name, "-n", "4", "--seed", "7"])
    again = runner.invoke(app, ["cells", "sample", "--space", name, "-n", "4", "--seed", "7"])
    other = runner.invoke(app, ["cells", "sample", "--space", name, "-n", "4", "--seed", "8"])
    assert first.exit_code == 0, first.output
    assert first.stdout == again.stdout != other.stdout
    assert len(jsonl(first.stdout)) == 4
    path = tmp_path / "sample.jsonl"
    path.write_text(first.stdout)
    described = runner.invoke(app, ["cells", "describe", "--space", name, "--input", str(path)])
    assert described.exit_code == 0, described.stderr
    rows = jsonl(described.stdout)
    assert len(rows) == 4 and all(row["valid"] for row in rows)


def test_draw_writes_the_file(tmp_path: Path) -> None:
    out = tmp_path / "cell.svg"
    result = runner.invoke(app, ["cells", "draw", "-s", "nb201", "--cell", NB201_A, "--out", str(out),
                                 "--diff", '{"index": 5}', "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["out"] == str(out)
    assert out.read_text().rstrip().endswith("</svg>")
    png = tmp_path / "cell.png"
    assert runner.invoke(app, ["cells", "draw", "-s", "nb201", "--cell", '{"index": 9}', "--out", str(png)]).exit_code == 0
    assert png.read_bytes().startswith(b"\x89PNG")
    bad = runner.invoke(app, ["cells", "draw", "-s", "nb201", "--cell", NB201_A, "--out", str(tmp_path / "x.gif")])
    assert bad.exit_code == 2 and ".svg, .pdf or .png" in bad.stderr


def test_describe_reads_stdin() -> None:
    result = runner.invoke(app, ["cells", "describe", "-s", "nb201", "--input", "-"], input=f"{NB201_A}\n\n{{\"index\": 1}}\n")
    assert result.exit_code == 0, result.output
    assert [row["line"] for row in jsonl(result.stdout)] == [1, 3]
