"""The evaluator interface used by searches, NAT and the dashboard.

An :class:`Evaluator` turns cells into :class:`EvalResult` values. Results are cached on disk by
(space, canonical cell id, evaluator config); cells that miss the cache are evaluated either in the
calling process (cheap evaluators) or in a pool of worker processes (training, latency).
:meth:`Evaluator.submit` returns an :class:`EvaluationJob` at once, so a UI can poll its progress
while the work goes on in the background; :meth:`Evaluator.evaluate` waits for it.
"""

from __future__ import annotations

import hashlib
import json
import math
import multiprocessing
import os
import sys
import threading
import time
import types
from abc import ABC, abstractmethod
from collections.abc import Iterator
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

from nasviz.errors import CellError, ConfigError, DataError
from nasviz.evaluators.cache import EvalCache
from nasviz.progress import ProgressCallback
from nasviz.spaces import SearchSpace, get_space


@dataclass(frozen=True)
class EvalResult:
    """One cell's evaluation.

    ``value`` is NaN when the cell could not be evaluated (``error`` says why, e.g. a cell missing
    from a benchmark table). ``higher_is_better`` gives the metric's direction (accuracy: True,
    latency or params: False).
    """

    space: str
    cell_id: str
    value: float
    metric: str
    higher_is_better: bool
    unit: str
    seconds: float
    cached: bool
    evaluator: str
    provenance: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and not math.isnan(self.value)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def spec_string(spec: dict[str, Any]) -> str:
    """``kind:key=value,...`` form of a spec dict (the format :func:`make_evaluator` parses)."""
    rest = ",".join(f"{k}={v}" for k, v in spec.items() if k != "kind" and v is not None)
    return f"{spec['kind']}:{rest}" if rest else str(spec["kind"])


class Evaluator(ABC):
    """Base class. Subclasses set ``kind`` and implement :meth:`config` and :meth:`evaluate_cell`."""

    kind: ClassVar[str] = ""
    #: whether misses are evaluated in worker processes (True for slow evaluators)
    runs_in_pool: ClassVar[bool] = False
    #: whether results are stored in the on-disk cache
    cacheable: ClassVar[bool] = True

    metric: str = ""
    higher_is_better: bool = True
    unit: str = ""

    def __init__(self, space: str | SearchSpace, max_workers: int | None = None, use_cache: bool = True) -> None:
        self.space: SearchSpace = get_space(space) if isinstance(space, str) else space
        if max_workers is not None and max_workers < 0:
            raise ConfigError(f"max_workers must be 0 (run in this process) or positive, got {max_workers}")
        self.max_workers = max_workers
        self.use_cache = use_cache
        self._pool: ProcessPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        self._cache: EvalCache | None = None

    # ---- identity --------------------------------------------------------------------------
    @abstractmethod
    def config(self) -> dict[str, Any]:
        """The settings that determine the values (JSON-serialisable); part of the cache key."""

    def spec(self) -> dict[str, Any]:
        """A dict that :func:`make_evaluator` turns back into an equal evaluator."""
        return {"kind": self.kind, "space": self.space.name, **self.config()}

    def spec_string(self) -> str:
        return spec_string(self.spec())

    def cache_context(self) -> dict[str, Any]:
        """What cached values depend on besides :meth:`spec` (library versions, CPU, data version)."""
        return {}

    def cache_key(self) -> str:
        text = json.dumps({"spec": self.spec(), "context": self.cache_context()}, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:24]

    def prepare(self) -> None:
        """Load what every evaluation needs (data sets...) before the first, timed, evaluation."""
        return None

    def provenance(self) -> dict[str, Any]:
        """What a result depends on beyond the config: data version, device..."""
        return {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.spec_string()})"

    # ---- the work ----------------------------------------------------------------------------
    @abstractmethod
    def evaluate_cell(self, cell: Any) -> tuple[float, dict[str, Any]]:
        """Evaluate one parsed, valid cell in this process: (value, extra provenance)."""

    def evaluate(self, cells: list[Any], progress: ProgressCallback | None = None) -> list[EvalResult]:
        """Evaluate cells (cached values are reused) and wait for the results, in input order."""
        return self.submit(cells, progress).result()

    def submit(self, cells: list[Any], progress: ProgressCallback | None = None) -> EvaluationJob:
        """Start evaluating in the background; returns at once with a job to poll or wait on."""
        parsed = [self.space.parse(cell) for cell in cells]
        for position, cell in enumerate(parsed):
            validity = self.space.is_valid(cell)
            if not validity.valid:
                raise CellError(f"cell {position} is not a valid {self.space.name} cell: {validity.reason}")
        job = EvaluationJob(self, parsed, progress)
        job.start()
        return job

    # ---- resources ----------------------------------------------------------------------------
    @property
    def cache(self) -> EvalCache:
        if self._cache is None:
            self._cache = EvalCache()
        return self._cache

    def workers(self) -> int:
        if self.max_workers is not None:
            return self.max_workers
        return max(1, min(4, (os.cpu_count() or 1)))

    def pool(self) -> ProcessPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(max_workers=self.workers(), mp_context=multiprocessing.get_context("spawn"),
                                                 initializer=_init_worker)
            return self._pool

    def close(self) -> None:
        """Shut the worker pool down (it is started again on the next pooled evaluation)."""
        with self._pool_lock:
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool = None

    def __enter__(self) -> Evaluator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_pool"] = None
        state["_pool_lock"] = None
        state["_cache"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._pool_lock = threading.Lock()


# ---- worker processes -------------------------------------------------------------------------
_WORKER_EVALUATORS: dict[str, Evaluator] = {}


def _init_worker() -> None:
    import torch

    torch.set_num_threads(1)


def _evaluate_in_worker(spec: dict[str, Any], cell_json: Any) -> tuple[float, dict[str, Any], float, str | None]:
    """Run in a worker process: (value, extras, seconds, error)."""
    from nasviz.evaluators.registry import make_evaluator

    key = json.dumps(spec, sort_keys=True, default=str)
    evaluator = _WORKER_EVALUATORS.get(key)
    if evaluator is None:
        evaluator = _WORKER_EVALUATORS[key] = make_evaluator({**spec, "max_workers": 0})
        evaluator.prepare()
    return _timed(evaluator, evaluator.space.parse(cell_json))


def _timed(evaluator: Evaluator, cell: Any) -> tuple[float, dict[str, Any], float, str | None]:
    start = time.perf_counter()
    try:
        value, extras = evaluator.evaluate_cell(cell)
        error = None
    except (CellError, DataError) as exc:
        value, extras, error = math.nan, {}, str(exc)
    return float(value), extras, time.perf_counter() - start, error


class EvaluationJob:
    """A batch of evaluations running in a background thread.

    Poll :meth:`done` and :attr:`progress`, or wait with :meth:`result`. :meth:`cancel` stops
    scheduling new cells (finished ones stay cached).
    """

    def __init__(self, evaluator: Evaluator, cells: list[Any], progress: ProgressCallback | None = None) -> None:
        self.evaluator = evaluator
        self.cells = cells
        self.total = len(cells)
        self.completed = 0
        self.future: Future[list[EvalResult]] = Future()
        self._callback = progress
        self._cancelled = threading.Event()
        self._thread = threading.Thread(target=self._run, name="nasviz-evaluation", daemon=True)

    def start(self) -> None:
        self.future.set_running_or_notify_cancel()
        self._thread.start()

    @property
    def progress(self) -> tuple[int, int]:
        return self.completed, self.total

    def done(self) -> bool:
        return self.future.done()

    def result(self, timeout: float | None = None) -> list[EvalResult]:
        return self.future.result(timeout)

    def cancel(self) -> None:
        self._cancelled.set()

    def _report(self, message: str = "") -> None:
        if self._callback is not None:
            self._callback(self.completed, self.total, message)

    def _run(self) -> None:
        try:
            self.future.set_result(self._evaluate_all())
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting caller
            self.future.set_exception(exc)

    def _evaluate_all(self) -> list[EvalResult]:
        ev = self.evaluator
        space = ev.space
        cell_ids = [space.cell_id(cell) for cell in self.cells]
        config_key, name, provenance = ev.cache_key(), ev.spec_string(), ev.provenance()
        results: dict[str, EvalResult] = {}

        def make(cell_id: str, value: float, seconds: float, cached: bool, extras: dict[str, Any],
                 error: str | None = None) -> EvalResult:
            return EvalResult(space.name, cell_id, value, ev.metric, ev.higher_is_better, ev.unit, seconds, cached,
                              name, {**provenance, **extras}, error)

        use_cache = ev.use_cache and ev.cacheable
        if use_cache:
            for cell_id, hit in ev.cache.get_many(space.name, config_key, cell_ids).items():
                results[cell_id] = make(cell_id, hit.value, hit.seconds, True, hit.extras)
        self.completed = sum(1 for cell_id in cell_ids if cell_id in results)
        self._report("cache")
        todo = {cell_id: cell for cell_id, cell in zip(cell_ids, self.cells, strict=True) if cell_id not in results}

        def finish(cell_id: str, outcome: tuple[float, dict[str, Any], float, str | None]) -> None:
            value, extras, seconds, error = outcome
            results[cell_id] = make(cell_id, value, seconds, False, extras, error)
            if use_cache and error is None and not math.isnan(value):
                ev.cache.put(space.name, cell_id, config_key, name, ev.metric, value, seconds, extras)
            self.completed += cell_ids.count(cell_id)
            self._report(f"{cell_id}: {value:.4g}")

        if ev.runs_in_pool and ev.workers() > 0 and todo:
            pool, spec = ev.pool(), ev.spec()
            with _bare_main_module():  # workers start during submit
                futures = {pool.submit(_evaluate_in_worker, spec, space.to_json(cell)): cell_id
                           for cell_id, cell in todo.items()}
            try:
                for future in as_completed(futures):
                    finish(futures[future], future.result())
                    if self._cancelled.is_set():
                        raise CancelledError("evaluation cancelled")
            except BrokenProcessPool:
                ev.close()  # a worker died (killed, out of memory): start a fresh pool next time
                raise
            finally:
                for future in futures:
                    future.cancel()
        else:
            if todo:
                ev.prepare()
            for cell_id, cell in todo.items():
                if self._cancelled.is_set():
                    raise CancelledError("evaluation cancelled")
                finish(cell_id, _timed(ev, cell))
        return [results[cell_id] for cell_id in cell_ids]


@contextmanager
def _bare_main_module() -> Iterator[None]:
    """Hide the parent's ``__main__`` while spawned workers start.

    A spawned worker re-imports the parent's main module: a Streamlit page under AppTest, a script
    read from stdin or a notebook, none of which a worker can or should run. Workers only need nasviz,
    so they get an empty main module instead."""
    main = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if main is not None:
            sys.modules["__main__"] = main
