"""Run store and runner: records, statuses, export, stop, resume after a crash without re-querying,
protocol and errors raised before anything starts."""

from __future__ import annotations

import csv
import json
import sqlite3
import threading

import pytest
from test_search_support import score, write_onehot_embeddings, write_table

from nasviz.errors import ConfigError, DataError
from nasviz.search import FunctionObjective, RunStore, SearchConfig, SearchRunner, run_search


class CrashingObjective(FunctionObjective):
    """Fails (like a killed worker) on the ``crash_at``-th evaluation."""

    def __init__(self, crash_at: int) -> None:
        super().__init__("nb201", score)
        self.crash_at = crash_at

    def evaluate(self, cell_id, cell):
        if self.calls + 1 == self.crash_at:
            raise RuntimeError("simulated crash")
        return super().evaluate(cell_id, cell)


@pytest.mark.parametrize("algo", ["re", "ls", "tpe", "arch2vec-bo", "arch2vec-rl"])
def test_resume_after_crash_gives_the_same_history_without_requerying(algo):
    if algo.startswith("arch2vec"):
        write_onehot_embeddings()
    settings = {"epochs": 10, "hidden": 32} if algo == "arch2vec-bo" else {}
    budget = 40
    store = RunStore()
    reference = run_search(SearchConfig(algo=algo, budget=budget, seed=5, settings=settings),
                           objective=FunctionObjective("nb201", score), store=store)
    expected = [r.cell_id for r in store.queries(reference.run_id)]

    crashing = CrashingObjective(crash_at=25)
    runner = SearchRunner(SearchConfig(algo=algo, budget=budget, seed=5, settings=settings), objective=crashing,
                          store=store)
    with pytest.raises(RuntimeError, match="simulated crash"):
        runner.run()
    info = store.get_run(runner.run_id)
    assert info.status == "crashed" and "simulated crash" in info.error and info.queries == 24

    fresh = FunctionObjective("nb201", score)
    resumed = SearchRunner.resume(runner.run_id, store=store, objective=fresh)
    result = resumed.run()
    assert result.status == "finished" and result.replay_divergence is None
    assert fresh.calls == budget - 24  # the 24 stored queries were replayed, not re-queried
    assert [r.cell_id for r in store.queries(runner.run_id)] == expected
    assert [r.query for r in store.queries(runner.run_id)] == list(range(budget))


def test_stop_event_keeps_queries_and_the_run_can_be_resumed():
    stop = threading.Event()
    seen = []

    def on_query(record):
        seen.append(record.query)
        if record.query == 9:
            stop.set()

    store = RunStore()
    runner = SearchRunner(SearchConfig(algo="random", budget=30, seed=1, batch_size=2),
                          objective=FunctionObjective("nb201", score), store=store, on_query=on_query, stop_event=stop)
    result = runner.run()
    assert result.status == "stopped" and seen == list(range(10))
    assert store.get_run(result.run_id).status == "stopped" and store.count_queries(result.run_id) == 10
    again = SearchRunner.resume(result.run_id, store=store, objective=FunctionObjective("nb201", score)).run()
    assert again.status == "finished" and store.count_queries(result.run_id) == 30
    with pytest.raises(ConfigError, match="is finished"):
        SearchRunner.resume(result.run_id, store=store)
    extended = SearchRunner.resume(result.run_id, store=store, objective=FunctionObjective("nb201", score), budget=34)
    assert extended.run().summary["queries"] == 34


def test_store_schema_wal_records_and_export(tmp_path):
    write_table()
    progress = []
    result = run_search(SearchConfig(algo="re", budget=25, seed=2), progress=lambda d, t, m: progress.append((d, t)))
    assert progress[-1] == (25, 25)
    store = RunStore()
    assert store.path.name == "runs.sqlite"
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    info = store.get_run(result.run_id)
    assert info.status == "finished" and info.seed == 2 and info.strategy == "re" and info.queries == 25
    assert info.config["protocol"]["signal"] == "accuracy/cifar10/valid/12ep"
    assert info.config["protocol"]["reported"] == ["accuracy/cifar10/test/200ep"]
    assert info.config["strategy"]["settings"]["population_size"] == 20
    assert info.data_version == info.config["protocol"]["data_version"] != ""
    records = store.queries(result.run_id)
    first = records[0]
    assert first.iteration == 0 and first.cell.startswith("|") and first.feasible
    assert set(first.reported) == {"accuracy/cifar10/test/200ep"}
    assert store.queries(result.run_id, since=20)[0].query == 20
    # the summary: best by signal, its reported metric at the checkpoints
    best = max(records, key=lambda r: r.signal)
    assert info.summary["best"]["cell_id"] == best.cell_id
    assert info.summary["at"]["25"]["reported"] == best.reported
    # exports
    js = json.loads(store.export(result.run_id, tmp_path / "run.json").read_text())
    assert js["run"]["id"] == result.run_id and len(js["queries"]) == 25
    with open(store.export(result.run_id, tmp_path / "run.csv")) as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 25 and float(rows[3]["signal"]) == records[3].signal
    assert rows[0]["accuracy/cifar10/test/200ep"] == str(first.reported["accuracy/cifar10/test/200ep"])
    with pytest.raises(ConfigError, match="unknown export format"):
        store.export(result.run_id, tmp_path / "run.xlsx")


def test_same_seed_same_result_through_the_table():
    write_table()
    a = run_search(SearchConfig(algo="ls", budget=30, seed=4))
    b = run_search(SearchConfig(algo="ls", budget=30, seed=4))
    store = RunStore()
    assert [r.cell_id for r in store.queries(a.run_id)] == [r.cell_id for r in store.queries(b.run_id)]
    assert a.summary["best"] == b.summary["best"]


def test_bad_inputs_raise_before_anything_starts(monkeypatch, no_embedded_tables):
    store = RunStore()
    with pytest.raises(DataError, match="no benchmark table imported for nb201"):
        SearchRunner(SearchConfig(algo="re", budget=50), store=store)
    write_table()
    cases = [
        (SearchConfig(algo="annealing", budget=50), ConfigError, "unknown search strategy"),
        (SearchConfig(algo="re", budget=0), ConfigError, "positive number of queries"),
        (SearchConfig(algo="re", budget=10), ConfigError, r"smaller than the initial sample of re \(20 queries\)"),
        (SearchConfig(algo="arch2vec-bo", budget=8), None, None),
        (SearchConfig(algo="re", budget=50, signal="accuracy/cifar10/valid/99ep"), ConfigError, "not in the nb201 table"),
        (SearchConfig(algo="re", budget=50, dataset="mnist"), ConfigError, "no accuracy for dataset 'mnist'"),
        (SearchConfig(algo="re", budget=50, joint=3), ConfigError, "joint must be 0 or 1"),
        (SearchConfig(space="nb999", algo="re", budget=50), ConfigError, "unknown search space"),
        (SearchConfig(algo="re", budget=50, settings={"sample_size": 99}), ConfigError, "sample_size"),
    ]
    import nasviz.encoders.store as encoder_store

    monkeypatch.setattr(encoder_store, "find_model_dir", lambda space, encoder: None)
    for config, error, message in cases:
        if error is None:  # a strategy whose model is missing
            with pytest.raises(DataError, match="no trained arch2vec model for nb201"):
                SearchRunner(config, store=store)
            continue
        with pytest.raises(error, match=message):
            SearchRunner(config, store=store)
    assert store.list_runs() == []  # nothing was stored: every check happened first


def test_resume_refuses_a_changed_data_version():
    write_table()
    store = RunStore()
    stop = threading.Event()
    stop.set()
    result = SearchRunner(SearchConfig(algo="random", budget=20, seed=0), store=store, stop_event=stop).run()
    assert result.status == "stopped"
    with sqlite3.connect(store.path) as conn:
        conn.execute("UPDATE runs SET data_version = 'old' WHERE id = ?", (result.run_id,))
    with pytest.raises(DataError, match="data version old"):
        SearchRunner.resume(result.run_id, store=store)
