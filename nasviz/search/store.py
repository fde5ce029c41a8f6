"""The run store: SQLite (WAL) at ``NASVIZ_HOME/runs.sqlite``.

``runs``: one row per search run (configuration JSON, seed, data version, strategy, status
running/stopped/finished/crashed, reference optima, summary). ``queries``: one row per query,
appended as it happens, so an interrupted run keeps everything it evaluated and a UI can poll the
table while a run goes on. Every call opens its own short-lived connection (safe across threads).

A run row records the process running it (pid, host and the process's start time, so a PID reused by
another program is recognised); :func:`run_state` is the one judge of live/stale, and
:meth:`RunStore.claim_run` hands a run to one process atomically.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from nasviz.errors import ConfigError, DataError
from nasviz.fileio import atomic_write_bytes
from nasviz.paths import home_dir

STATUSES = ("running", "stopped", "finished", "crashed")
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created TEXT NOT NULL,
    updated TEXT NOT NULL,
    strategy TEXT NOT NULL,
    seed INTEGER NOT NULL,
    config TEXT NOT NULL,
    data_version TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'stopped', 'finished', 'crashed')),
    budget INTEGER NOT NULL,
    error TEXT,
    pid INTEGER,
    host TEXT,
    reference TEXT,
    summary TEXT
);
CREATE TABLE IF NOT EXISTS queries (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    query INTEGER NOT NULL,
    iteration INTEGER NOT NULL,
    time REAL NOT NULL,
    cell_id TEXT NOT NULL,
    cell TEXT NOT NULL,
    signal REAL NOT NULL,
    reported TEXT NOT NULL,
    latency REAL,
    predictor_score REAL,
    feasible INTEGER NOT NULL,
    PRIMARY KEY (run_id, query)
);
"""


def default_store_path() -> Path:
    return home_dir() / "runs.sqlite"


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + "Z"


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def process_start_token(pid: int) -> str | None:
    """An id of process ``pid`` that a reused PID does not share: the boot id and the process's start time
    (clock ticks since boot, field 22 of ``/proc/PID/stat``). None where /proc cannot tell (not Linux, gone)."""
    try:
        stat = Path(f"/proc/{int(pid)}/stat").read_text()
    except (OSError, ValueError):
        return None
    fields = stat[stat.rfind(")") + 2:].split()  # after the command name, which may hold spaces
    if len(fields) < 20:
        return None
    return f"{_boot_id()}:{fields[19]}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def run_state(info: RunInfo) -> tuple[str, str]:
    """(state, why) of a run: the stored status, except that a 'running' row whose process is gone or whose PID
    now belongs to another program is 'stale' (resumable). The one rule ``runs list``, ``runs show``, resume
    and the Search page share."""
    if info.status != "running":
        return info.status, f"the run is {info.status}"
    if info.pid is None:
        return "running", "no process recorded"
    if info.host != socket.gethostname():
        return "running", f"it runs on host {info.host}, which this machine cannot check"
    if not _pid_alive(info.pid):
        return "stale", f"its process {info.pid} is gone"
    if info.proc_start is None:
        return "running", f"process {info.pid} is alive (the run predates start-time checks: cannot tell whether " \
                          "it is this run)"
    current = process_start_token(info.pid)
    if current is None:
        return "running", f"process {info.pid} is alive (its start time cannot be read)"
    if current != info.proc_start:
        return "stale", f"its process {info.pid} is gone (the PID now belongs to another program)"
    return "running", f"process {info.pid} on {info.host} is running it"


def _finite_or_none(value: float | None) -> float | None:
    return None if value is None or (isinstance(value, float) and not math.isfinite(value)) else float(value)


@dataclass(frozen=True)
class QueryRecord:
    """One query of a run, as stored (``signal`` as measured; ``reported`` metric key -> value)."""

    run_id: int
    query: int
    iteration: int
    time: float
    cell_id: str
    cell: Any
    signal: float
    reported: dict[str, float]
    latency: float | None
    predictor_score: float | None
    feasible: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RunInfo:
    """A run's row."""

    id: int
    created: str
    updated: str
    strategy: str
    seed: int
    config: dict[str, Any]
    data_version: str
    status: str
    budget: int
    queries: int
    error: str | None = None
    pid: int | None = None
    host: str | None = None
    reference: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    #: :func:`process_start_token` of the process running it (None for rows written before it was stored)
    proc_start: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def state(self) -> str:
        """The status to show: the stored one, or 'stale' for a 'running' run whose process is gone (see
        :func:`run_state`)."""
        return run_state(self)[0]

    @property
    def is_live(self) -> bool:
        """Whether a process still runs it, as far as this machine can tell (see :func:`run_state`)."""
        return self.state == "running"


class RunStore:
    """Search runs and their queries in one SQLite file."""

    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path) if path is not None else default_store_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        try:
            with self._connect() as conn:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.executescript(_SCHEMA)
                conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
                columns = {row[1] for row in conn.execute("PRAGMA table_info(runs)")}
                if "proc_start" not in columns:  # stores written before the start time was recorded
                    try:
                        conn.execute("ALTER TABLE runs ADD COLUMN proc_start TEXT")
                    except sqlite3.OperationalError as exc:  # another process added it first
                        if "duplicate column" not in str(exc):
                            raise
        except DataError:
            self.close()
            raise
        except sqlite3.DatabaseError as exc:
            self.close()
            raise DataError(self._corrupt_message(exc)) from None

    def _corrupt_message(self, exc: Exception) -> str:
        return (f"{self.path} is not a usable nasviz run store ({exc}); nothing was changed. Move it aside "
                f"(mv {self.path} {self.path}.broken) and nasviz starts a new, empty run store there")

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection (kept open: closing the last WAL connection checkpoints), in a transaction."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30.0)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=30000")
            conn.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: safe against a crashed process
            self._local.conn = conn
        try:
            with conn:  # one transaction
                yield conn
        except sqlite3.DatabaseError as exc:
            if type(exc) is sqlite3.DatabaseError or "malformed" in str(exc):  # not a lock or a constraint
                raise DataError(self._corrupt_message(exc)) from None
            raise

    def close(self) -> None:
        """Close this thread's connection (others close when their thread's store object is collected)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # ---- runs -----------------------------------------------------------------------------
    def create_run(self, *, strategy: str, seed: int, config: dict[str, Any], data_version: str, budget: int,
                   reference: dict[str, Any] | None = None) -> int:
        now = _now()
        with self._connect() as conn:
            cur = conn.execute(
                "INSERT INTO runs(created, updated, strategy, seed, config, data_version, status, budget, pid, host,"
                " proc_start, reference) VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?, ?, ?, ?)",
                (now, now, strategy, int(seed), json.dumps(config, sort_keys=True), data_version, int(budget),
                 os.getpid(), socket.gethostname(), process_start_token(os.getpid()), json.dumps(reference or {})))
            return int(cur.lastrowid)

    def set_status(self, run_id: int, status: str, *, error: str | None = None,
                   summary: dict[str, Any] | None = None, claim: bool = False, only_if_mine: bool = False) -> bool:
        """Change a run's status (``claim``: also record this process as the one running it; ``only_if_mine``:
        only while this process is the one recorded, so a run another process took over is left alone).
        Returns whether the row was changed."""
        if status not in STATUSES:
            raise ConfigError(f"unknown run status {status!r}; one of {', '.join(STATUSES)}")
        sets = ["status = ?", "updated = ?", "error = ?"]
        args: list[Any] = [status, _now(), error]
        if summary is not None:
            sets.append("summary = ?")
            args.append(json.dumps(summary))
        if claim:
            sets += ["pid = ?", "host = ?", "proc_start = ?"]
            args += [os.getpid(), socket.gethostname(), process_start_token(os.getpid())]
        where, where_args = "id = ?", [int(run_id)]
        if only_if_mine:
            where += " AND pid = ? AND host = ?"
            where_args += [os.getpid(), socket.gethostname()]
        with self._connect() as conn:
            cur = conn.execute(f"UPDATE runs SET {', '.join(sets)} WHERE {where}", (*args, *where_args))
            if cur.rowcount == 0 and not only_if_mine:
                raise ConfigError(f"no search run with id {run_id}")
            return cur.rowcount == 1

    def claim_run(self, seen: RunInfo, *, take_over: bool = False) -> None:
        """Record this process as the one running ``seen`` (the row as read before), atomically: the row is
        changed only if nobody changed it since ``seen`` was read (one UPDATE ... WHERE, checked by its row
        count), so of two processes resuming one run exactly one wins. ConfigError naming the process that
        runs it when it is live (unless ``take_over``) or was claimed meanwhile; the row is then untouched."""
        state, why = run_state(seen)
        if state == "running" and not take_over:
            raise ConfigError(f"run {seen.id} is being run by process {seen.pid} on {seen.host} ({why}); stop it "
                              "first. If that process is not this run (its PID was reused, or its host is gone), "
                              "resume with --take-over")
        with self._connect() as conn:
            cur = conn.execute(
                "UPDATE runs SET status = 'running', error = NULL, updated = ?, pid = ?, host = ?, proc_start = ? "
                "WHERE id = ? AND status = ? AND updated = ? AND pid IS ? AND host IS ? AND proc_start IS ?",
                (_now(), os.getpid(), socket.gethostname(), process_start_token(os.getpid()), int(seen.id),
                 seen.status, seen.updated, seen.pid, seen.host, seen.proc_start))
            claimed = cur.rowcount == 1
        if not claimed:
            now = self.get_run(seen.id)
            raise ConfigError(f"run {seen.id} is being resumed by process {now.pid} on {now.host} (it claimed the run "
                              f"first; status {now.state}); nothing was changed")

    def update_budget(self, run_id: int, budget: int) -> None:
        with self._connect() as conn:
            conn.execute("UPDATE runs SET budget = ?, updated = ? WHERE id = ?", (int(budget), _now(), int(run_id)))

    def get_run(self, run_id: int) -> RunInfo:
        with self._connect() as conn:
            return self._get_run(conn, run_id)

    def _get_run(self, conn: sqlite3.Connection, run_id: int) -> RunInfo:
        row = conn.execute("SELECT r.*, (SELECT COUNT(*) FROM queries q WHERE q.run_id = r.id) AS n "
                           "FROM runs r WHERE r.id = ?", (int(run_id),)).fetchone()
        if row is None:
            raise ConfigError(f"no search run with id {run_id} in {self.path}")
        return _run_info(row)

    def snapshot(self, run_id: int) -> tuple[RunInfo, list[QueryRecord]]:
        """The run and its queries read in one transaction: a consistent moment, even while it runs."""
        with self._connect() as conn:
            conn.execute("BEGIN")  # a read transaction: both reads see one snapshot of the WAL
            info = self._get_run(conn, run_id)
            records = self._queries(conn, run_id, 0)
        return info, records

    def list_runs(self, status: str | None = None, limit: int | None = None) -> list[RunInfo]:
        sql = "SELECT r.*, (SELECT COUNT(*) FROM queries q WHERE q.run_id = r.id) AS n FROM runs r"
        args: list[Any] = []
        if status:
            if status not in STATUSES:
                raise ConfigError(f"unknown run status {status!r}; one of {', '.join(STATUSES)}")
            sql += " WHERE status = ?"
            args.append(status)
        sql += " ORDER BY r.id DESC"
        if limit:
            sql += f" LIMIT {int(limit)}"
        with self._connect() as conn:
            return [_run_info(row) for row in conn.execute(sql, args).fetchall()]

    def delete_run(self, run_id: int) -> None:
        with self._connect() as conn:
            conn.execute("DELETE FROM queries WHERE run_id = ?", (int(run_id),))
            if conn.execute("DELETE FROM runs WHERE id = ?", (int(run_id),)).rowcount == 0:
                raise ConfigError(f"no search run with id {run_id}")

    # ---- queries ----------------------------------------------------------------------------
    def append_query(self, record: QueryRecord) -> None:
        """Store one query (DataError when another process already stored that query of the run)."""
        try:
            self._append_query(record)
        except sqlite3.IntegrityError:
            raise DataError(f"query {record.query} of run {record.run_id} is already stored: another process is "
                            "running this run") from None

    def _append_query(self, record: QueryRecord) -> None:
        with self._connect() as conn:
            conn.execute(
                "INSERT INTO queries(run_id, query, iteration, time, cell_id, cell, signal, reported, latency,"
                " predictor_score, feasible) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (record.run_id, record.query, record.iteration, record.time, record.cell_id, json.dumps(record.cell),
                 float(record.signal), json.dumps(record.reported), _finite_or_none(record.latency),
                 _finite_or_none(record.predictor_score), int(bool(record.feasible))))
            conn.execute("UPDATE runs SET updated = ? WHERE id = ?", (_now(), record.run_id))

    def queries(self, run_id: int, since: int = 0) -> list[QueryRecord]:
        """The run's queries with query number >= ``since``, in order (poll with the last count)."""
        with self._connect() as conn:
            return self._queries(conn, run_id, since)

    @staticmethod
    def _queries(conn: sqlite3.Connection, run_id: int, since: int) -> list[QueryRecord]:
        rows = conn.execute("SELECT * FROM queries WHERE run_id = ? AND query >= ? ORDER BY query",
                            (int(run_id), int(since))).fetchall()
        return [QueryRecord(run_id=r["run_id"], query=r["query"], iteration=r["iteration"], time=r["time"],
                            cell_id=r["cell_id"], cell=json.loads(r["cell"]), signal=r["signal"],
                            reported=json.loads(r["reported"]), latency=r["latency"],
                            predictor_score=r["predictor_score"], feasible=bool(r["feasible"])) for r in rows]

    def count_queries(self, run_id: int) -> int:
        with self._connect() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM queries WHERE run_id = ?", (int(run_id),)).fetchone()[0])

    # ---- export -----------------------------------------------------------------------------
    def export(self, run_id: int, path: Path | str, fmt: str | None = None) -> Path:
        """Write a run (config, reference, summary, queries) as JSON, or its queries as CSV: read in one
        transaction (the run's query count matches its queries even while it runs) and written atomically
        (a failed export leaves no partial file, and an existing file intact)."""
        path = Path(path)
        fmt = (fmt or path.suffix.lstrip(".") or "json").lower()
        if fmt not in ("json", "csv"):
            raise ConfigError(f"unknown export format {fmt!r}; use json or csv")
        if path.is_dir():
            raise ConfigError(f"{path} is a directory; give a file name, e.g. {path / f'run{run_id}.{fmt}'}")
        run, records = self.snapshot(run_id)
        if fmt == "json":
            doc = {"run": run.to_dict(), "queries": [r.to_dict() for r in records]}
            data = (json.dumps(doc, indent=1, default=str) + "\n").encode()
        else:
            buffer = io.StringIO()
            reported_keys = sorted({k for r in records for k in r.reported})
            writer = csv.writer(buffer)
            writer.writerow(["run_id", "query", "iteration", "time", "cell_id", "cell", "signal", *reported_keys,
                             "latency", "predictor_score", "feasible"])
            for r in records:
                writer.writerow([r.run_id, r.query, r.iteration, f"{r.time:.3f}", r.cell_id, json.dumps(r.cell),
                                 r.signal, *[r.reported.get(k, "") for k in reported_keys],
                                 "" if r.latency is None else r.latency,
                                 "" if r.predictor_score is None else r.predictor_score, int(r.feasible)])
            data = buffer.getvalue().encode()
        atomic_write_bytes(path, data)
        return path


def _run_info(row: sqlite3.Row) -> RunInfo:
    return RunInfo(id=row["id"], created=row["created"], updated=row["updated"], strategy=row["strategy"],
                   seed=row["seed"], config=json.loads(row["config"]), data_version=row["data_version"],
                   status=row["status"], budget=row["budget"], queries=int(row["n"]), error=row["error"],
                   pid=row["pid"], host=row["host"], reference=json.loads(row["reference"] or "{}"),
                   summary=json.loads(row["summary"] or "{}"),
                   proc_start=row["proc_start"])
