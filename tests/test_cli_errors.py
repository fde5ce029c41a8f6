"""No traceback from any CLI command: one ``nasviz: error:`` line naming the input, batch lines reported and skipped."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_search_support import write_table
from typer.testing import CliRunner

from nasviz.cli.main import app

runner = CliRunner()
REPO = Path(__file__).resolve().parents[1]
GOOD = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"

HOSTILE_CELLS = {
    '{"index": null}': '"index" must be an integer, got None',
    '{"index": "abc"}': "\"index\" must be an integer, got 'abc'",
    '{"index": 1e309}': "too large (not finite)",
    '{"index": true}': '"index" must be an integer, got True',
    '{"index": -1}': "out of range 0..15624",
    "[" * 5000 + "]" * 5000: "5,000 levels deep",
}


def _walk(command, path=()):
    subcommands = getattr(command, "commands", None)
    if subcommands is None:
        yield " ".join(path), command
        return
    for name, sub in subcommands.items():
        yield from _walk(sub, (*path, name))


def test_every_command_turns_failures_into_one_line():
    import typer.main

    unwrapped = [name for name, command in _walk(typer.main.get_command(app))
                 if not getattr(command.callback, "handles_errors", False)]
    assert unwrapped == []


def _one_error_line(result, *needles):
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and result.exception is None or isinstance(result.exception, SystemExit)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("nasviz: error: "), result.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


@pytest.mark.parametrize("text", list(HOSTILE_CELLS), ids=lambda t: t[:16])
def test_hostile_cells_in_describe_query_and_nat_apply(text):
    write_table()
    for command in (["cells", "describe", "-s", "nb201"], ["query"], ["nat", "apply", "--space", "nb201"]):
        result = runner.invoke(app, [*command, "--cell", text])
        _one_error_line(result, HOSTILE_CELLS[text], "--cell")


def test_binary_file_and_directory_as_input(tmp_path):
    write_table()
    binary = tmp_path / "weights.bin"
    binary.write_bytes(bytes(range(256)) * 40)
    for command in (["cells", "describe", "-s", "nb201"], ["query"], ["nat", "apply"]):
        _one_error_line(runner.invoke(app, [*command, "--input", str(binary)]), str(binary), "binary")
        _one_error_line(runner.invoke(app, [*command, "--input", str(tmp_path)]), str(tmp_path), "directory")
        _one_error_line(runner.invoke(app, [*command, "--input", str(tmp_path / "missing.jsonl")]),
                        "missing.jsonl")


def _batch_file(tmp_path: Path) -> Path:
    path = tmp_path / "cells.jsonl"
    lines = [json.dumps({"index": 5}).encode(), b'{"index": null}', b"\xff\xfe\x00 garbage", b'{"index": 1e309}',
             ("[" * 5000 + "]" * 5000).encode(), b'"' + b"x" * 70_000 + b'"', json.dumps({"arch": GOOD}).encode()]
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def test_describe_batch_reports_each_bad_line_and_goes_on(tmp_path):
    path = _batch_file(tmp_path)
    result = runner.invoke(app, ["cells", "describe", "-s", "nb201", "--input", str(path)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert [json.loads(line)["line"] for line in result.stdout.splitlines()] == [1, 7]
    errors = result.stderr.splitlines()
    for number, reason in [(2, "must be an integer"), (3, "not UTF-8"), (4, "not finite"), (5, "levels deep"),
                           (6, "bytes long")]:
        assert any(line.startswith(f"{path}:{number}: ") and reason in line for line in errors), (number, errors)
    assert errors[-1] == f"nasviz: error: 5 line(s) of {path} are not nb201 cells"


def test_query_batch_reports_each_bad_line_and_goes_on(tmp_path):
    write_table()
    path = _batch_file(tmp_path)
    result = runner.invoke(app, ["query", "--input", str(path), "--json"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r.get("cell_id") for r in records if "error" not in r] == ["5", "1"]
    assert [r["line"] for r in records if "error" in r] == [2, 3, 4, 5, 6]
    assert sum(f"{path}: line" in line for line in result.stderr.splitlines()) == 5
    assert result.stderr.splitlines()[-1].startswith("nasviz: error: 5 line(s)")


def test_unexpected_exception_is_one_line_naming_the_command(monkeypatch):
    import nasviz.cli.cells as cells_cli

    def broken(*args, **kwargs):
        raise TypeError("unsupported operand")

    monkeypatch.setattr(cells_cli, "describe_line", broken)
    monkeypatch.delenv("NASVIZ_DEBUG", raising=False)
    result = runner.invoke(app, ["cells", "describe", "-s", "nb201", "--cell", GOOD])
    line = _one_error_line(result, "nasviz cells describe", "--space='nb201'", "TypeError: unsupported operand",
                           "NASVIZ_DEBUG=1")
    assert GOOD[:20] in line
    debug = runner.invoke(app, ["--debug", "cells", "describe", "-s", "nb201", "--cell", GOOD])
    assert isinstance(debug.exception, TypeError)  # developers get the real exception (and its traceback)
    again = runner.invoke(app, ["cells", "describe", "-s", "nb201", "--cell", GOOD])
    assert again.exit_code == 2 and again.exception is None or isinstance(again.exception, SystemExit)
    monkeypatch.setenv("NASVIZ_DEBUG", "1")
    assert isinstance(runner.invoke(app, ["cells", "describe", "-s", "nb201", "--cell", GOOD]).exception, TypeError)


def test_real_process_prints_no_traceback(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO), "NASVIZ_HOME": str(tmp_path)}
    env.pop("NASVIZ_DEBUG", None)
    binary = tmp_path / "x.bin"
    binary.write_bytes(b"\x80\x04\x95" + bytes(500))
    for args in (["cells", "describe", "-s", "nb201", "--cell", '{"index": null}'],
                 ["cells", "describe", "-s", "darts", "--input", str(binary)],
                 ["cells", "describe", "-s", "nat", "--input", str(tmp_path)]):
        done = subprocess.run([sys.executable, "-m", "nasviz.cli.main", *args], capture_output=True, text=True,
                              env=env, timeout=60)
        assert done.returncode == 2, done.stderr
        assert "Traceback" not in done.stderr and done.stderr.startswith("nasviz: error: "), done.stderr
        assert len(done.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(("args", "message"), [
    (["search", "--algo", "re", "--set", "population_size=1e309"], "(not finite)"),
    (["search", "--algo", "re", "--set", "population_size=" + "[" * 3000], "must be an integer in [2, 100000]"),
    (["cells", "sample", "-s", "nb201", "-n", "1000000000"], "less than or equal to"),
    (["nat", "evaluate", "--cells", "100000000"], "between 1 and 3,125"),
    (["encoders", "evaluate", "arch2vec", "--seeds", "10000000"], "less than or equal to 1000"),
    (["runs", "export", "1", "-o", "{tmp}"], "is a directory; give a file name"),
])
def test_out_of_range_options_fail_at_once_with_their_reason(args, message, tmp_path):
    write_table()
    assert runner.invoke(app, ["search", "--algo", "random", "--budget", "5"]).exit_code == 0
    result = runner.invoke(app, [a.replace("{tmp}", str(tmp_path)) for a in args])
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.replace("│", " ").split())
    assert message in text and "unexpected" not in text and "Traceback" not in text
