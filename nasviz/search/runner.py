"""Running a search: validate everything first, then ask/evaluate/tell, storing each query as it happens.

:class:`SearchRunner` executes one run (fresh or resumed) with progress callbacks: ``progress(done,
total, message)`` and ``on_query(record)`` after every query. A ``threading.Event`` stops a run
between batches; every query already made stays in the store. A resumed run rebuilds the
strategy by replaying the stored queries (ask, compare, tell the stored observations: nothing is
re-queried), then continues.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from nasviz.errors import ConfigError, DataError, NasvizError
from nasviz.progress import ProgressCallback, no_progress
from nasviz.search.base import Observation, SearchContext, Strategy, strategy_class
from nasviz.search.constraints import Constraint
from nasviz.search.moves import moves_for
from nasviz.search.objective import Objective, TableObjective, feasibility_report
from nasviz.search.presets import get_preset, resolve_strategy
from nasviz.search.store import QueryRecord, RunInfo, RunStore, run_state
from nasviz.search.summary import summarize
from nasviz.spaces import get_space

QueryCallback = Callable[[QueryRecord], None]


@dataclass
class SearchConfig:
    """Everything that defines a run (stored as JSON with it)."""

    space: str = "nb201"
    dataset: str = "cifar10"
    #: a strategy (or a preset's name); None: the preset's strategy, or random search
    algo: str | None = None
    budget: int = 192
    seed: int = 0
    batch_size: int = 1
    signal: str | None = None
    reported: list[str] | None = None
    device: str | None = None
    max_latency: float | None = None
    joint: int = 0
    settings: dict[str, Any] = field(default_factory=dict)
    #: a named preset (:mod:`nasviz.search.presets`); ``settings`` override its settings
    preset: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SearchConfig:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)

    def constraint(self) -> Constraint | None:
        if self.device is None and self.max_latency is None:
            return None
        if self.device is None or self.max_latency is None:
            raise ConfigError("a latency constraint needs both --device and --max-latency")
        return Constraint(self.device, float(self.max_latency), int(self.joint))


@dataclass
class RunResult:
    run_id: int
    status: str
    summary: dict[str, Any]
    config: dict[str, Any]
    protocol: dict[str, Any]
    reference: dict[str, Any]
    replay_divergence: int | None = None


def build_strategy(name: str | None, space: str, seed: int, *, constraint: Constraint | None = None,
                   domain: list[str] | None = None, settings: dict[str, Any] | None = None,
                   preset: str | None = None) -> Strategy:
    """A strategy (``name``: a strategy or a preset's name; ``preset``: a preset whose settings ``settings``
    override) with the resources it needs (e.g. arch2vec embeddings: DataError when not trained)."""
    resolved = resolve_strategy(name, preset, settings)
    cls = strategy_class(resolved.strategy)
    resources: dict[str, Any] = {}
    for encoder in cls.required_encoders(resolved.settings):
        from nasviz.encoders.store import load_embeddings

        resources[f"embeddings:{encoder}"] = load_embeddings(get_space(space).name, encoder)
    context = SearchContext(moves_for(space), constraint, domain, resources)
    return cls(context, seed, **resolved.given)


def min_budget(strategy: Strategy) -> int:
    """Queries a strategy needs before it does anything beyond its initial sample."""
    s = strategy.settings
    return int(max(s.get("initial_samples", 0), s.get("population_size", 0), 1))


class SearchRunner:
    """Executes one search run against a store; construct, then :meth:`run` (all checks happen in
    the constructor, before anything is stored or evaluated)."""

    def __init__(self, config: SearchConfig, *, store: RunStore | None = None, objective: Objective | None = None,
                 progress: ProgressCallback | None = None, on_query: QueryCallback | None = None,
                 stop_event: threading.Event | None = None, run_id: int | None = None) -> None:
        self.config = config
        self.store = store or RunStore()
        self.progress = progress or no_progress
        self.on_query = on_query
        self.stop_event = stop_event or threading.Event()
        self.run_id = run_id
        self._validate_and_build(objective)

    # ---- validation --------------------------------------------------------------------------
    def _validate_and_build(self, objective: Objective | None) -> None:
        cfg = self.config
        resolved = resolve_strategy(cfg.algo, cfg.preset, cfg.settings)  # every setting checked here, typed
        cfg.algo, cfg.preset, cfg.settings = resolved.strategy, resolved.preset, resolved.given
        space = get_space(cfg.space)
        cfg.space = space.name
        if isinstance(cfg.budget, bool) or int(cfg.budget) < 1:
            raise ConfigError(f"the budget must be a positive number of queries, got {cfg.budget!r}")
        if int(cfg.batch_size) < 1:
            raise ConfigError(f"the batch size must be >= 1, got {cfg.batch_size!r}")
        if cfg.joint not in (0, 1):
            raise ConfigError(f"--joint must be 0 or 1, got {cfg.joint!r}")
        self.constraint = cfg.constraint()
        self.objective = objective or TableObjective(cfg.space, cfg.dataset, cfg.signal, cfg.reported, cfg.device)
        self.protocol = self.objective.protocol
        #: things the user should know before the run starts (e.g. hardly any cell meets the latency limit)
        self.warnings: list[str] = []
        if cfg.preset is not None and get_preset(cfg.preset).constrained and self.constraint is None:
            self.warnings.append(f"preset {cfg.preset} is meant for a latency limit (--device, --max-latency); "
                                 "without one most of its settings have no effect")
        if self.constraint is not None:
            self.objective.check_constraint(self.constraint)  # ConfigError: no cell meets the limit
            report = feasibility_report(self.objective, self.constraint)
            warning = report.warning(int(cfg.budget)) if report is not None else None
            if warning:
                self.warnings.append(warning)
            self.constraint = Constraint(self.constraint.device, self.constraint.max_latency, self.constraint.joint,
                                         self.protocol.latency or "")
        domain = self.objective.domain()
        if domain is not None and len(domain) < int(cfg.budget):
            raise ConfigError(f"budget {cfg.budget} exceeds the {len(domain)} cells that can be evaluated")
        self.moves = moves_for(space)
        self.strategy = build_strategy(cfg.algo, cfg.space, cfg.seed, constraint=self.constraint, domain=domain,
                                       settings=cfg.settings)
        needed = min_budget(self.strategy)
        if int(cfg.budget) < needed:
            raise ConfigError(f"budget {cfg.budget} is smaller than the initial sample of {cfg.algo} ({needed} queries)")
        self.reference = self.objective.reference(self.constraint)

    def stored_config(self) -> dict[str, Any]:
        return {**self.config.to_dict(), "protocol": self.protocol.to_dict(),
                "strategy": self.strategy.describe(),
                "constraint": self.constraint.to_dict() if self.constraint else None}

    # ---- running -----------------------------------------------------------------------------
    def stop(self) -> None:
        """Ask the run to stop after the current batch."""
        self.stop_event.set()

    def start(self) -> int:
        """Create the run's row (fresh runs) and return its id."""
        if self.run_id is None:
            # the preset's name where there is one (agnet-8 runs stay apart from plain agnet runs)
            self.run_id = self.store.create_run(strategy=self.config.preset or str(self.config.algo),
                                                seed=self.config.seed,
                                                config=self.stored_config(), data_version=self.protocol.data_version,
                                                budget=int(self.config.budget), reference=self.reference)
        return self.run_id

    def _observation(self, signal: float, latency: float | None) -> Observation:
        value = signal if self.protocol.maximize else -signal
        feasible = True if self.constraint is None else self.constraint.feasible(latency)
        return Observation(value, latency, feasible)

    def run(self) -> RunResult:
        run_id = self.start()
        stored = self.store.queries(run_id)
        budget = int(self.config.budget)
        total = max(budget, len(stored))
        query, iteration = 0, 0
        divergence: int | None = None
        start_time = time.time()
        status = "running"
        try:
            while query < budget:
                if self.stop_event.is_set():
                    status = "stopped"
                    break
                cells = self.strategy.ask(min(int(self.config.batch_size), budget - query))
                told_cells, observations = [], []
                for cell in cells:
                    cell_id = self.moves.cell_id(cell)
                    if query < len(stored):  # replay: the stored result, nothing is evaluated
                        record = stored[query]
                        if record.cell_id != cell_id:
                            divergence = query if divergence is None else divergence
                            cell = get_space(self.config.space).parse(record.cell)
                    else:
                        evaluation = self.objective.evaluate(cell_id, cell)
                        obs = self._observation(evaluation.signal, evaluation.latency)
                        score = getattr(self.strategy, "proposal_scores", {}).get(cell_id)
                        record = QueryRecord(run_id=run_id, query=query, iteration=iteration, time=time.time(),
                                             cell_id=cell_id, cell=get_space(self.config.space).to_json(cell),
                                             signal=evaluation.signal, reported=evaluation.reported,
                                             latency=evaluation.latency, predictor_score=score, feasible=obs.feasible)
                        self.store.append_query(record)
                        stored.append(record)
                        if self.on_query is not None:
                            self.on_query(record)
                    told_cells.append(cell)
                    observations.append(self._observation(record.signal, record.latency))
                    query += 1
                self.strategy.tell(told_cells, observations)
                iteration += 1
                best = max((o.signal for o in self.strategy.history_obs if o.feasible), default=None)
                self.progress(query, total, "" if best is None else f"best {abs(best):.2f}")
            else:
                status = "finished"
        except KeyboardInterrupt:
            self._finish(run_id, "stopped", stored, "interrupted")
            raise
        except NasvizError as exc:
            self._finish(run_id, "crashed", stored, str(exc))
            raise
        except Exception as exc:
            self._finish(run_id, "crashed", stored, f"{type(exc).__name__}: {exc}")
            raise
        summary = self._finish(run_id, status, stored, None, divergence, time.time() - start_time)
        return RunResult(run_id, status, summary, self.config.to_dict(), self.protocol.to_dict(), self.reference,
                         divergence)

    def _finish(self, run_id: int, status: str, records: list[QueryRecord], error: str | None,
                divergence: int | None = None, seconds: float | None = None) -> dict[str, Any]:
        summary = summarize(records, self.protocol.to_dict(), self.constraint is not None, self.reference)
        if divergence is not None:
            summary["replay_diverged_at"] = divergence
        if seconds is not None:
            summary["seconds"] = round(seconds, 3)
        decisions = self.strategy.decisions()
        if decisions:
            summary["strategy_decisions"] = decisions
        # only while this process still owns the run: one another process took over is not marked crashed
        self.store.set_status(run_id, status, error=error, summary=summary, only_if_mine=True)
        return summary

    # ---- resuming ----------------------------------------------------------------------------
    @classmethod
    def resume(cls, run_id: int, *, store: RunStore | None = None, objective: Objective | None = None,
               progress: ProgressCallback | None = None, on_query: QueryCallback | None = None,
               stop_event: threading.Event | None = None, budget: int | None = None,
               force: bool = False, take_over: bool = False) -> SearchRunner:
        """A runner that continues run ``run_id`` (stopped, crashed, or 'running' in a process that is gone).

        The run is claimed atomically (:meth:`RunStore.claim_run`): of two resumes at once one wins, the other
        gets a ConfigError naming the winner and changes nothing. ``take_over``: claim a run recorded as running
        whose process cannot be checked (another host, a row without a start time). ``force``: resume although
        the benchmark data version changed (mixes results)."""
        store = store or RunStore()
        info: RunInfo = store.get_run(run_id)
        if info.status == "finished" and (budget is None or budget <= info.queries):
            raise ConfigError(f"run {run_id} is finished ({info.queries} queries); give a larger --budget to extend it")
        state, why = run_state(info)
        if state == "running" and not take_over:  # checked again atomically by claim_run below
            raise ConfigError(f"run {run_id} is being run by process {info.pid} on {info.host} ({why}); stop it "
                              "first. If that process is not this run (its PID was reused, or its host is gone), "
                              "resume with --take-over")
        config = SearchConfig.from_dict(info.config)
        if budget is not None:
            if budget < info.queries:
                raise ConfigError(f"budget {budget} is below the {info.queries} queries run {run_id} already made")
            config.budget = int(budget)
        runner = cls(config, store=store, objective=objective, progress=progress, on_query=on_query,
                     stop_event=stop_event, run_id=run_id)
        if runner.protocol.data_version != info.data_version and not force:
            raise DataError(f"run {run_id} used data version {info.data_version} but the data is now "
                            f"{runner.protocol.data_version}; resuming would mix results (use force to resume anyway)")
        store.claim_run(info, take_over=take_over)
        if budget is not None:
            store.update_budget(run_id, budget)
        return runner


def run_search(config: SearchConfig, **kwargs: Any) -> RunResult:
    """Validate, run and return the result of one search (see :class:`SearchRunner`)."""
    return SearchRunner(config, **kwargs).run()
