"""``nasviz search`` and ``nasviz runs``: JSON and text output, errors with exit code 2."""

from __future__ import annotations

import json

import numpy as np
from test_search_support import write_table
from typer.testing import CliRunner

from nasviz.cli.main import app

runner = CliRunner()


def test_search_several_seeds_then_list_show_export_resume(tmp_path):
    arrays = write_table()
    out = runner.invoke(app, ["search", "--algo", "re", "--budget", "30", "--seeds", "2", "--set", "population_size=10",
                              "--set", "sample_size=3", "--json"])
    assert out.exit_code == 0, out.output
    report = json.loads(out.stdout)
    assert report["seeds"] == [0, 1] and len(report["runs"]) == 2
    assert report["protocol"]["signal"] == "accuracy/cifar10/valid/12ep"
    stats = report["mean"]["accuracy/cifar10/test/200ep"]["30"]
    values = [r["reported"]["accuracy/cifar10/test/200ep"] for r in report["runs"]]
    assert stats["mean"] == sum(values) / 2 and stats["runs"] == 2
    # each seed's best cell ranked among the table's cells by signal, and the median rank over seeds
    signals = np.sort(arrays["signal"])[::-1]
    ranks = [1 + int((signals > run["best_signal"] + 1e-9).sum()) for run in report["runs"]]
    assert [run["signal_rank"] for run in report["runs"]] == [r if r <= 100 else None for r in ranks]
    assert report["signal_rank_median"] == float(np.median([min(r, 101) for r in ranks]))

    text = runner.invoke(app, ["search", "--algo", "random", "--budget", "20", "--device", "pixel3",
                               "--max-latency", "3", "--joint", "1"])
    assert text.exit_code == 0, text.output
    assert "feasibility ratio" in text.stdout and "+-" in text.stdout
    assert "(rank " in text.stdout and "median rank of the best cell's signal among the feasible cells" in text.stdout

    listed = json.loads(runner.invoke(app, ["runs", "list", "--json"]).stdout)
    assert [r["id"] for r in listed] == [3, 2, 1] and listed[0]["device"] == "pixel3"
    shown = runner.invoke(app, ["runs", "show", "1", "--queries"])
    assert shown.exit_code == 0 and "q  29" in shown.stdout
    exported = runner.invoke(app, ["runs", "export", "2", "-o", str(tmp_path / "r.csv")])
    assert exported.exit_code == 0 and (tmp_path / "r.csv").read_text().count("\n") == 31
    resumed = runner.invoke(app, ["runs", "resume", "1", "--budget", "35", "--json"])
    assert resumed.exit_code == 0, resumed.output
    assert json.loads(resumed.stdout)["summary"]["queries"] == 35


def test_errors_exit_2_with_a_message():
    write_table()
    for args, message in [
        (["search", "--algo", "re", "--budget", "5"], "smaller than the initial sample"),
        (["search", "--algo", "nope"], "unknown search strategy"),
        (["search", "--algo", "re", "--device", "pixel3", "--max-latency", "0.001"], "no nb201 cell has latency"),
        (["search", "--algo", "re", "--set", "population_size"], "expected KEY=VALUE"),
        (["runs", "show", "42"], "no search run with id 42"),
    ]:
        out = runner.invoke(app, args)
        assert out.exit_code == 2, (args, out.output)
        assert message in out.output


def test_algo_help_names_every_registered_strategy():
    from nasviz.cli.search import ALGO_CHOICES
    from nasviz.search.base import strategy_names

    assert [name.strip() for name in ALGO_CHOICES.split(",")] == list(strategy_names())


def test_a_gp_bo_run_records_its_encoding_decision():
    """Choices a strategy makes from the data (here gp-bo's dead-code encodings) are stored in the run's summary and
    shown by ``nasviz runs show``."""
    write_table()
    out = runner.invoke(app, ["search", "--algo", "gp-bo", "--budget", "18", "--device", "pixel3", "--max-latency", "3",
                              "--set", "latency_model=raw", "--set", "dead_code_encodings_below=0.99", "--json"])
    assert out.exit_code == 0, out.output
    run_id = json.loads(out.stdout)["runs"][0]["run_id"]
    shown = json.loads(runner.invoke(app, ["runs", "show", str(run_id), "--json"]).stdout)
    decision = shown["summary"]["strategy_decisions"]["encodings"]
    assert decision["observations"] == 16 and 0.0 < decision["feasible_share"] < 0.99
    assert decision["dead_code_encodings"] is True
    text = runner.invoke(app, ["runs", "show", str(run_id)]).stdout
    assert f"decision (encodings): observations 16, feasible_share {decision['feasible_share']:.3f}, " \
           "dead_code_encodings True" in text
    plain = runner.invoke(app, ["search", "--algo", "gp-bo", "--budget", "18", "--json"])
    assert "strategy_decisions" not in json.loads(runner.invoke(
        app, ["runs", "show", str(json.loads(plain.stdout)["runs"][0]["run_id"]), "--json"]).stdout)["summary"]


def test_a_run_without_a_feasible_cell_says_so(isolated_home) -> None:  # noqa: ANN001
    """The embedded NB201 table, a 2 ms Pixel 3 limit and 5 random queries: no feasible cell, said in words."""
    from typer.testing import CliRunner

    from nasviz.cli.main import app

    result = CliRunner().invoke(app, ["search", "--space", "nb201", "--algo", "random", "--budget", "5", "--device",
                                      "pixel3", "--max-latency", "0.5"])
    assert result.exit_code == 0, result.output
    assert "no feasible cell found" in result.stdout and "None" not in result.stdout
