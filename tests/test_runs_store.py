"""The run store under concurrency and failure: atomic resume claims, stale and reused PIDs, one status rule,
consistent atomic exports and a corrupt store file named, not overwritten."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_search_support import write_table
from typer.testing import CliRunner

from nasviz.cli.main import app
from nasviz.errors import ConfigError, DataError
from nasviz.search.store import QueryRecord, RunStore, process_start_token, run_state

runner = CliRunner()
REPO = Path(__file__).resolve().parents[1]
BIG_BUDGET = 12_000  # a resume that takes seconds, so a second process meets it running


def _cli(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("NASVIZ_DEBUG", None)
    return subprocess.Popen([sys.executable, "-m", "nasviz.cli.main", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def _finished_run() -> int:
    write_table()
    result = runner.invoke(app, ["search", "--algo", "random", "--budget", "5", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["runs"][0]["run_id"]


def _wait_for(predicate, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _set_row(run_id: int, **values) -> None:
    conn = sqlite3.connect(RunStore().path)
    with conn:
        sets = ", ".join(f"{k} = ?" for k in values)
        conn.execute(f"UPDATE runs SET {sets} WHERE id = ?", (*values.values(), run_id))
    conn.close()


def test_a_second_resume_of_a_live_run_is_refused_and_changes_nothing():
    run_id = _finished_run()
    first = _cli("runs", "resume", str(run_id), "--budget", str(BIG_BUDGET), "--json")
    store = RunStore()
    _wait_for(lambda: store.get_run(run_id).pid == first.pid and store.get_run(run_id).queries > 5)
    second = _cli("runs", "resume", str(run_id), "--budget", str(BIG_BUDGET), "--json")
    out, err = second.communicate(timeout=120)
    assert second.returncode == 2, err
    assert f"run {run_id} is being run by process {first.pid}" in err and "Traceback" not in err
    assert store.get_run(run_id).pid == first.pid and store.get_run(run_id).status == "running"
    assert first.poll() is None  # still running, undisturbed
    _stop_and_check(first, run_id)


def _stop_and_check(proc: subprocess.Popen, run_id: int) -> None:
    """Interrupt the winning process (Ctrl-C) and check that it, not the loser, recorded how the run ended."""
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert "IntegrityError" not in err
    info = RunStore().get_run(run_id)
    assert (info.status, info.error, info.pid) == ("stopped", "interrupted", proc.pid), err
    assert 5 < info.queries < BIG_BUDGET


def test_two_resumes_at_once_one_wins_and_the_run_is_never_marked_crashed():
    run_id = _finished_run()
    procs = [_cli("runs", "resume", str(run_id), "--budget", str(BIG_BUDGET), "--json") for _ in range(2)]
    store = RunStore()
    seen = set()
    while all(p.poll() is None for p in procs):  # until the loser gives up
        seen.add(store.get_run(run_id).status)
        time.sleep(0.02)
    (loser,) = [p for p in procs if p.poll() is not None]
    (winner,) = [p for p in procs if p is not loser]
    _, loser_err = loser.communicate()
    assert loser.returncode == 2, loser_err
    assert "IntegrityError" not in loser_err and "Traceback" not in loser_err
    assert f"run {run_id} is being r" in loser_err  # "being run by" / "being resumed by process P"
    assert f"process {winner.pid}" in loser_err
    _wait_for(lambda: store.get_run(run_id).queries > 20)
    seen.add(store.get_run(run_id).status)
    assert winner.poll() is None and seen <= {"finished", "running"}  # never 'crashed'
    _stop_and_check(winner, run_id)


def test_claim_is_atomic_against_the_row_as_read():
    run_id = _finished_run()
    store, other = RunStore(), RunStore()
    seen = store.get_run(run_id)
    other.claim_run(other.get_run(run_id))
    _set_row(run_id, pid=999_999_999)  # the winner is some other process now
    with pytest.raises(ConfigError, match=f"run {run_id} is being resumed by process 999999999"):
        store.claim_run(seen)
    assert store.get_run(run_id).pid == 999_999_999


def test_killed_run_is_stale_in_list_and_show_and_resumable():
    run_id = _finished_run()
    proc = _cli("runs", "resume", str(run_id), "--budget", str(BIG_BUDGET))
    store = RunStore()
    _wait_for(lambda: store.get_run(run_id).pid == proc.pid and store.get_run(run_id).queries > 20)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert store.get_run(run_id).status == "running"  # the row still says so: the process had no time to say more
    listed = json.loads(runner.invoke(app, ["runs", "list", "--json"]).stdout)
    shown = json.loads(runner.invoke(app, ["runs", "show", str(run_id), "--json"]).stdout)
    assert listed[0]["status"] == shown["status"] == "stale"
    assert "is gone" in shown["status_reason"]
    text = runner.invoke(app, ["runs", "show", str(run_id)]).stdout
    assert " - stale (" in text.splitlines()[0]
    resumed = runner.invoke(app, ["runs", "resume", str(run_id), "--budget", "200", "--json"])
    assert resumed.exit_code == 2 or resumed.exit_code == 0
    if resumed.exit_code == 2:  # the killed process got past 200 queries: extend further
        resumed = runner.invoke(app, ["runs", "resume", str(run_id), "--budget", str(BIG_BUDGET + 10), "--json"])
    assert resumed.exit_code == 0, resumed.output


def test_reused_pid_is_recognised_and_unknown_ones_need_take_over():
    run_id = _finished_run()
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        _wait_for(lambda: process_start_token(sleeper.pid) is not None)
        # the recorded process started at another time: its PID now belongs to another program
        _set_row(run_id, status="running", pid=sleeper.pid, proc_start="another-boot:12345")
        store = RunStore()
        state, why = run_state(store.get_run(run_id))
        assert state == "stale" and "another program" in why
        shown = json.loads(runner.invoke(app, ["runs", "show", str(run_id), "--json"]).stdout)
        listed = json.loads(runner.invoke(app, ["runs", "list", "--json"]).stdout)
        assert shown["status"] == listed[0]["status"] == "stale"
        assert runner.invoke(app, ["runs", "resume", str(run_id), "--budget", "8", "--json"]).exit_code == 0

        # a row without a start time (written before they were recorded) whose PID is alive: cannot tell
        _set_row(run_id, status="running", pid=sleeper.pid, proc_start=None)
        assert run_state(store.get_run(run_id))[0] == "running"
        refused = runner.invoke(app, ["runs", "resume", str(run_id), "--budget", "10"])
        assert refused.exit_code == 2 and "--take-over" in refused.stderr and str(sleeper.pid) in refused.stderr
        forced = runner.invoke(app, ["runs", "resume", str(run_id), "--budget", "10", "--force"])
        assert forced.exit_code == 2 and "--take-over" in forced.stderr  # --force is about data versions only
        taken = runner.invoke(app, ["runs", "resume", str(run_id), "--budget", "10", "--take-over", "--json"])
        assert taken.exit_code == 0, taken.output
        info = store.get_run(run_id)
        assert (info.status, info.queries, info.pid) == ("finished", 10, os.getpid())
    finally:
        sleeper.kill()
        sleeper.wait()


def test_resume_help_names_the_flags_meanings():
    text = " ".join(runner.invoke(app, ["runs", "resume", "--help"]).stdout.split())
    assert "--take-over" in text and "PID" in text
    force_help = text[text.index("--force"):text.index("--take-over")]
    assert "data version" in force_help and "PID" not in force_help


def test_export_is_one_consistent_snapshot(monkeypatch, tmp_path):
    import nasviz.search.store as store_module

    run_id = _finished_run()
    store, writer = RunStore(), RunStore()  # two connections: the writer appends while the export reads
    original = store_module._run_info
    appended = []

    def run_info_then_append(row):
        info = original(row)
        if not appended:
            appended.append(True)
            n = writer.count_queries(run_id)
            writer.append_query(QueryRecord(run_id=run_id, query=n, iteration=n, time=time.time(), cell_id="1",
                                            cell="|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", signal=1.0,
                                            reported={}, latency=None, predictor_score=None, feasible=True))
        return info

    monkeypatch.setattr(store_module, "_run_info", run_info_then_append)
    path = store.export(run_id, tmp_path / "run.json")
    doc = json.loads(path.read_text())
    assert appended and doc["run"]["queries"] == len(doc["queries"]) == 5
    assert writer.count_queries(run_id) == 6  # the query appended meanwhile is in the store, not in the export


def test_failed_export_leaves_no_partial_file(monkeypatch, tmp_path):
    import nasviz.search.store as store_module

    run_id = _finished_run()
    target = tmp_path / "run.csv"
    target.write_text("the previous export\n")
    calls = []
    real_dumps = json.dumps

    def failing_dumps(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("disk full")
        return real_dumps(*args, **kwargs)

    monkeypatch.setattr(store_module.json, "dumps", failing_dumps)
    with pytest.raises(RuntimeError):
        RunStore().export(run_id, target)
    monkeypatch.setattr(store_module.json, "dumps", real_dumps)
    assert target.read_text() == "the previous export\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.csv"]
    fresh = tmp_path / "new.csv"
    monkeypatch.setattr(store_module.json, "dumps", failing_dumps)
    calls.clear()
    with pytest.raises(RuntimeError):
        RunStore().export(run_id, fresh)
    assert not fresh.exists()


def test_corrupt_store_is_named_with_the_fix_and_left_as_it_is(isolated_home):
    path = isolated_home / "runs.sqlite"
    garbage = b"this is not sqlite\x00" + bytes(range(256)) * 20
    path.write_bytes(garbage)
    for args in (["runs", "list"], ["runs", "show", "1"], ["search", "--algo", "random", "--budget", "5"]):
        write_table()
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        assert str(path) in result.stderr and "Move it aside" in result.stderr and "Traceback" not in result.output
    assert path.read_bytes() == garbage
    assert not (isolated_home / "runs.sqlite-wal").exists()
    with pytest.raises(DataError, match="not a usable nasviz run store"):
        RunStore()
