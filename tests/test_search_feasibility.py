"""A latency limit no cell meets stops a search before it starts; one few cells meet is warned about."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from nasviz.cli.main import app
from nasviz.errors import DataError
from nasviz.search import Constraint, SearchConfig, SearchRunner, TableObjective, feasibility_report

runner = CliRunner()


@pytest.fixture
def imported(nb201_csv: Path) -> None:
    from nasviz.data import import_benchmark

    import_benchmark("nb201-merged", nb201_csv)


def _pixel3_latencies() -> list[float]:
    from nasviz.data import load_table

    return [float(v) for v in load_table("nb201").values("latency/pixel3/cifar10")]


@pytest.mark.usefixtures("imported")
def test_feasibility_report_counts_the_table_before_a_run():
    latencies = _pixel3_latencies()
    objective = TableObjective("nb201", "cifar10", device="pixel3")
    n_feasible, n_total, min_value = feasibility_report(objective, Constraint("pixel3", 0.01))
    assert (n_feasible, n_total) == (sum(v <= 0.01 for v in latencies), 15_625)
    assert 0 < n_feasible < 0.01 * n_total and min_value == min(latencies)
    report = feasibility_report(objective, Constraint("pixel3", 0.01))
    assert report.error() is None
    assert f"only {n_feasible} of 15,625 cells" in report.warning(60) and "pixel3" in report.warning(60)
    assert feasibility_report(objective, Constraint("pixel3", 5.0)).warning(60) is None

    none = feasibility_report(objective, Constraint("pixel3", min_value / 2))
    assert none.n_feasible == 0
    assert f"{min_value / 2:g} ms on pixel3" in none.error() and f"{min_value:.4g} ms" in none.error()
    with pytest.raises(DataError, match="the table.s fastest cell takes"):
        SearchRunner(SearchConfig(algo="random", budget=60, device="pixel3", max_latency=min_value / 2))
    warned = SearchRunner(SearchConfig(algo="random", budget=60, device="pixel3", max_latency=0.01))
    assert len(warned.warnings) == 1 and "60 random queries would find" in warned.warnings[0]


@pytest.mark.usefixtures("imported")
def test_cli_stops_on_no_feasible_cell_and_warns_on_a_tiny_share():
    minimum = min(_pixel3_latencies())
    stopped = runner.invoke(app, ["search", "--algo", "re", "--budget", "60", "--device", "pixel3",
                                  "--max-latency", "0.001"])
    assert stopped.exit_code == 2
    assert "latency <= 0.001 ms on pixel3" in stopped.stderr and f"fastest cell takes {minimum:.4g} ms" in stopped.stderr
    listed = runner.invoke(app, ["runs", "list", "--json"])
    assert listed.stdout.strip() == "[]"  # nothing ran, nothing stored
    warned = runner.invoke(app, ["search", "--algo", "random", "--budget", "20", "--device", "pixel3",
                                 "--max-latency", "0.01", "--json"])
    assert warned.exit_code == 0, warned.output
    assert "nasviz: warning: only" in warned.stderr and "cells (0." in warned.stderr
    quiet = runner.invoke(app, ["search", "--algo", "random", "--budget", "20", "--device", "pixel3",
                                "--max-latency", "5", "--json"])
    assert quiet.exit_code == 0 and "warning" not in quiet.stderr
