"""Background search jobs for the dashboard, and the data behind its search charts (no Streamlit here).

A *job* runs one search configuration for several seeds (one stored run per seed, one after the
other) in a worker thread. Jobs live in a process-wide registry, so every rerun of a Streamlit
script (and every browser session of the same server) finds them::

    job = start_job(SearchConfig(space="nb201", algo="re", budget=100), seeds=[0, 1, 2])
    job.run_ids                         # stored runs, known at once (every check happened before)
    RunStore().queries(job.current_run_id, since=n)   # poll while job.alive
    stop_job(job)                       # ends the current run after its batch; queries made so far stay

The frame helpers (:func:`queries_frame`, :func:`comparison_frame`, :func:`checkpoint_table`) turn
stored runs into the tables the page plots and exports.
"""

from __future__ import annotations

import itertools
import json
import math
import tempfile
import threading
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nasviz.errors import ConfigError
from nasviz.search import QueryRecord, RunInfo, RunStore, SearchConfig, SearchRunner
from nasviz.search.summary import rank_text, signal_rank, trajectory

#: query counts of the comparison table (arch2vec / AG-Net report 96, 100 and 192 queries)
COMPARISON_CHECKPOINTS: tuple[int, ...] = (96, 100, 192)
MAX_SEEDS = 50


@dataclass
class SearchJob:
    """One configuration run for several seeds in a background thread."""

    id: int
    config: SearchConfig
    seeds: list[int]
    run_ids: list[int]
    stop_event: threading.Event
    delay_s: float = 0.0
    thread: threading.Thread | None = None
    started: float = field(default_factory=time.time)
    finished: float | None = None
    current_index: int = 0
    error: str | None = None

    @property
    def alive(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    @property
    def stopping(self) -> bool:
        return self.stop_event.is_set() and self.alive

    @property
    def current_run_id(self) -> int:
        """The run being executed (the last one once the job is over)."""
        return self.run_ids[min(self.current_index, len(self.run_ids) - 1)]

    @property
    def status(self) -> str:
        if self.alive:
            return "stopping" if self.stop_event.is_set() else "running"
        if self.error:
            return "crashed"
        return "stopped" if self.stop_event.is_set() else "finished"

    def label(self) -> str:
        seeds = ", ".join(map(str, self.seeds))
        name = f"{self.config.preset} ({self.config.algo})" if self.config.preset else self.config.algo
        return f"job {self.id}: {name} on {self.config.space}/{self.config.dataset}, seeds {seeds} ({self.status})"


_JOBS: dict[int, SearchJob] = {}
_LOCK = threading.Lock()
_IDS = itertools.count(1)


#: the longest seeds text :func:`parse_seeds` reads ("0-49" or 50 numbers fit in far less)
MAX_SEEDS_TEXT = 1000


def parse_seeds(text: str) -> list[int]:
    """Seeds from text such as ``"0, 1, 2"`` or ``"0-4"`` (ranges inclusive); ConfigError when malformed or
    when more than :data:`MAX_SEEDS` seeds are asked for (counted before any list is built)."""
    text = str(text)
    if len(text) > MAX_SEEDS_TEXT:
        raise ConfigError(f"the seeds text is {len(text):,} characters long; give at most {MAX_SEEDS} seeds, "
                          "e.g. '0-9'")
    seeds: dict[int, None] = {}  # ordered, without duplicates
    for part in text.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            if "-" in part[1:]:
                low, high = (int(v) for v in part.split("-", 1))
                if high < low:
                    raise ValueError
                values: range | tuple[int] = range(low, high + 1)
            else:
                values = (int(part),)
        except ValueError:
            raise ConfigError(f"seeds must be integers or ranges like '0-4', got {part!r}") from None
        if values[0] < 0:
            raise ConfigError(f"seeds must be >= 0, got {values[0]}")
        if len(values) > MAX_SEEDS:  # checked on the range object: nothing is allocated
            raise ConfigError(f"at most {MAX_SEEDS} seeds per job; {part!r} holds {len(values):,}")
        for seed in values:
            seeds[seed] = None
        if len(seeds) > MAX_SEEDS:
            raise ConfigError(f"at most {MAX_SEEDS} seeds per job, got more ({text[:40]!r})")
    if not seeds:
        raise ConfigError("give at least one seed (e.g. '0' or '0, 1, 2' or '0-4')")
    return list(seeds)


def start_job(config: SearchConfig, seeds: Sequence[int] | None = None, *, delay_s: float = 0.0,
              store: RunStore | None = None) -> SearchJob:
    """Validate ``config`` for every seed (raising ConfigError/DataError before anything starts),
    create one stored run per seed and execute them one after the other in a daemon thread.

    ``delay_s`` waits that long after every query (so a fast table search can be watched live);
    the wait ends at once when the job is stopped."""
    if delay_s < 0 or not math.isfinite(delay_s):
        raise ConfigError(f"the delay between queries must be >= 0 s, got {delay_s!r}")
    seeds = list(seeds) if seeds is not None else [int(config.seed)]
    if not seeds:
        raise ConfigError("give at least one seed")
    store = store or RunStore()
    stop_event = threading.Event()
    on_query = _pacer(stop_event, delay_s) if delay_s > 0 else None
    runners = [SearchRunner(replace(config, seed=int(seed), settings=dict(config.settings)), store=store,
                            stop_event=stop_event, on_query=on_query) for seed in seeds]
    run_ids = [runner.start() for runner in runners]
    job = SearchJob(id=next(_IDS), config=runners[0].config, seeds=[int(s) for s in seeds], run_ids=run_ids,
                    stop_event=stop_event, delay_s=float(delay_s))
    job.thread = threading.Thread(target=_work, args=(job, runners), name=f"nasviz-search-job-{job.id}", daemon=True)
    with _LOCK:
        _JOBS[job.id] = job
    job.thread.start()
    return job


def _pacer(stop_event: threading.Event, delay_s: float) -> Any:
    def wait(_record: QueryRecord) -> None:
        stop_event.wait(delay_s)

    return wait


def _work(job: SearchJob, runners: list[SearchRunner]) -> None:
    try:
        for index, runner in enumerate(runners):
            job.current_index = index
            runner.run()  # a stopped job still closes every remaining run as "stopped"
    except Exception as exc:  # the runner has stored the run as crashed; keep the message for the page
        job.error = f"{type(exc).__name__}: {exc}" if not str(exc).startswith(type(exc).__name__) else str(exc)
        for runner in runners[job.current_index + 1:]:
            runner.store.set_status(runner.run_id, "stopped", error="an earlier seed of the job crashed")
    finally:
        job.finished = time.time()


def stop_job(job: SearchJob, wait_s: float | None = None) -> None:
    """Ask the job to stop after the current batch (optionally wait up to ``wait_s`` for it)."""
    job.stop_event.set()
    if wait_s is not None and job.thread is not None:
        job.thread.join(wait_s)


def get_job(job_id: int) -> SearchJob | None:
    with _LOCK:
        return _JOBS.get(int(job_id))


def list_jobs(alive_only: bool = False) -> list[SearchJob]:
    """Jobs of this process, newest first."""
    with _LOCK:
        jobs = sorted(_JOBS.values(), key=lambda j: -j.id)
    return [j for j in jobs if j.alive] if alive_only else jobs


# ---- what the page shows ------------------------------------------------------------------------

def run_protocol(info: RunInfo) -> dict[str, Any]:
    return dict(info.config.get("protocol") or {})


def run_reported_key(info: RunInfo) -> str:
    reported = run_protocol(info).get("reported") or []
    return str(reported[0]) if reported else ""


def is_constrained(info: RunInfo) -> bool:
    return bool(info.config.get("constraint"))


def queries_frame(records: Sequence[QueryRecord], info: RunInfo) -> pd.DataFrame:
    """One row per query: signal, reported metric, latency, feasibility and the best-so-far values
    (of the best cell by signal, feasible first under a constraint)."""
    protocol = run_protocol(info)
    maximize = bool(protocol.get("maximize", True))
    key = run_reported_key(info)
    constrained = is_constrained(info)
    return pd.DataFrame({
        "query": [r.query + 1 for r in records],
        "iteration": [r.iteration for r in records],
        "cell_id": [r.cell_id for r in records],
        "signal": [r.signal for r in records],
        "reported": [float(r.reported.get(key, math.nan)) for r in records],
        "latency": [math.nan if r.latency is None else r.latency for r in records],
        "feasible": [bool(r.feasible) for r in records],
        "best_signal": trajectory(records, None, maximize, constrained),
        "best_reported": trajectory(records, key, maximize, constrained),
    })


def optimum_lines(info: RunInfo) -> dict[str, float]:
    """Exact reference values of the run's table: ``signal`` (best signal), ``reported`` (best reported
    metric) and ``reported_of_signal_optimum``; the constrained optimum under a constraint."""
    block = info.reference.get("constrained_optimum" if is_constrained(info) else "optimum") or {}
    key = run_reported_key(info)
    out: dict[str, float] = {}
    if block.get("signal"):
        out["signal"] = float(block["signal"]["value"])
    if block.get(f"reported:{key}"):
        out["reported"] = float(block[f"reported:{key}"]["value"])
    value = (block.get("reported_of_signal_optimum") or {}).get(key)
    if value is not None and math.isfinite(value):
        out["reported_of_signal_optimum"] = float(value)
    return out


def best_signal_rank_text(frame: pd.DataFrame, info: RunInfo) -> str | None:
    """The rank of the best cell's signal so far among the table's (feasible) cells, as shown on the page: "1" is the
    exact optimum, "> 100" lies past the table's best 100; None without a table reference or a feasible cell."""
    block = info.reference.get("constrained_optimum" if is_constrained(info) else "optimum") or {}
    top = block.get("top_signals")
    if not top or frame.empty or not math.isfinite(frame["best_signal"].iloc[-1]):
        return None
    rank = signal_rank(float(frame["best_signal"].iloc[-1]), top, bool(run_protocol(info).get("maximize", True)))
    return rank_text(rank, len(top))


def pareto_points(info: RunInfo) -> pd.DataFrame | None:
    """The exact accuracy/latency Pareto front of the run's table (constrained runs), or None."""
    front = info.reference.get("pareto_front")
    if not front:
        return None
    a, b = front["key_a"], front["key_b"]
    return pd.DataFrame({"cell_id": [p["cell_id"] for p in front["points"]], "reported": [p[a] for p in front["points"]],
                         "latency": [p[b] for p in front["points"]]}).sort_values("latency")


def feasibility_frame(records: Sequence[QueryRecord], window: int = 10) -> pd.DataFrame:
    """Feasible share per iteration (``step`` = iteration number); when the strategy asks one cell
    per iteration, per window of ``window`` queries instead (``step`` = the window's last query)."""
    columns = ["step", "first_query", "last_query", "queries", "feasible", "ratio"]
    if not records:
        return pd.DataFrame(columns=columns)
    single = len({r.iteration for r in records}) == len(records)
    groups: dict[int, list[QueryRecord]] = {}
    for r in records:
        groups.setdefault(r.query // window if single else r.iteration, []).append(r)
    rows = []
    for step, group in sorted(groups.items()):
        flags = [bool(r.feasible) for r in group]
        rows.append({"step": group[-1].query + 1 if single else step, "first_query": group[0].query + 1,
                     "last_query": group[-1].query + 1, "queries": len(flags), "feasible": int(sum(flags)),
                     "ratio": sum(flags) / len(flags)})
    frame = pd.DataFrame(rows, columns=columns)
    frame.attrs["by"] = f"queries (windows of {window})" if single else "iteration"
    return frame


def run_group(info: RunInfo) -> str:
    """What runs are averaged over seeds by: strategy and constraint (same protocol assumed)."""
    constraint = info.config.get("constraint")
    if not constraint:
        return info.strategy
    return f"{info.strategy} ({constraint['device']} <= {constraint['max_latency']:g} ms, Joint={constraint['joint']})"


def protocol_signature(info: RunInfo) -> tuple[str, str, str, str]:
    p = run_protocol(info)
    return str(p.get("space", "")), str(p.get("dataset", "")), str(p.get("signal", "")), run_reported_key(info)


def comparison_frame(infos: Sequence[RunInfo], store: RunStore | None = None) -> pd.DataFrame:
    """Mean and std over seeds of the best-so-far reported metric, per group (strategy/constraint)
    and query count; ``runs`` says how many runs reached that query count."""
    store = store or RunStore()
    curves: dict[str, list[np.ndarray]] = {}
    for info in infos:
        records = store.queries(info.id)
        if not records:
            continue
        p = run_protocol(info)
        values = trajectory(records, run_reported_key(info), bool(p.get("maximize", True)), is_constrained(info))
        curves.setdefault(run_group(info), []).append(np.asarray(values, dtype=float))
    frames = []
    for group, arrays in curves.items():
        length = max(len(a) for a in arrays)
        matrix = np.full((len(arrays), length), np.nan)
        for i, a in enumerate(arrays):
            matrix[i, :len(a)] = a
        with warnings.catch_warnings():  # query counts no run reached give NaN quietly
            warnings.simplefilter("ignore", category=RuntimeWarning)
            mean = np.nanmean(matrix, axis=0)
            std = np.nanstd(matrix, axis=0)
        frames.append(pd.DataFrame({"group": group, "query": np.arange(1, length + 1), "mean": mean, "std": std,
                                    "runs": np.isfinite(matrix).sum(axis=0)}))
    if not frames:
        return pd.DataFrame(columns=["group", "query", "mean", "std", "runs"])
    return pd.concat(frames, ignore_index=True)


def checkpoint_table(comparison: pd.DataFrame, checkpoints: Sequence[int] = COMPARISON_CHECKPOINTS) -> pd.DataFrame:
    """Mean ± std per group at the given query counts ("n/a" where no run got that far)."""
    rows = []
    for group, frame in comparison.groupby("group", sort=False):
        row: dict[str, Any] = {"strategy": group, "runs": int(frame["runs"].max())}
        for q in checkpoints:
            hit = frame[frame["query"] == q]
            if hit.empty or not np.isfinite(hit["mean"].iloc[0]):
                row[f"{q} queries"] = "n/a"
            else:
                r = hit.iloc[0]
                row[f"{q} queries"] = f"{r['mean']:.2f} ± {r['std']:.2f} (n={int(r['runs'])})"
        rows.append(row)
    return pd.DataFrame(rows, columns=["strategy", "runs", *[f"{q} queries" for q in checkpoints]])


def export_runs(run_ids: Sequence[int], fmt: str, store: RunStore | None = None) -> bytes:
    """The runs (config, reference, summary, queries) as one JSON list, or all their queries as one CSV,
    written through :meth:`RunStore.export`."""
    store = store or RunStore()
    if fmt not in ("json", "csv"):
        raise ConfigError(f"unknown export format {fmt!r}; use json or csv")
    with tempfile.TemporaryDirectory(prefix="nasviz-runs-") as tmp:
        paths = [store.export(run_id, Path(tmp) / f"run-{run_id}.{fmt}", fmt) for run_id in run_ids]
        if fmt == "json":
            docs = [json.loads(p.read_text()) for p in paths]
            return (json.dumps(docs, indent=1, default=str) + "\n").encode("utf-8")
        frames = [pd.read_csv(p, dtype={"cell_id": str}) for p in paths]
        frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        return frame.to_csv(index=False).encode("utf-8")
