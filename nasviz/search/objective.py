"""What a search optimises: a benchmark-table metric or a live evaluator, with an explicit protocol.

The :class:`Protocol` names the search signal (what strategies see), the reported metrics (looked
up for every query but never shown to the strategy), the latency metric of a constraint, the data
version and where the numbers come from; it is stored with every run. The default NB201 protocol
is arch2vec's: search on the CIFAR-10 validation accuracy after 12 epochs, report the 200-epoch
test accuracy of the best cell by signal.
"""

from __future__ import annotations

import math
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from nasviz.errors import ConfigError, DataError
from nasviz.search.constraints import Constraint


@dataclass(frozen=True)
class Protocol:
    """The recorded meaning of a search's numbers."""

    space: str
    dataset: str
    signal: str
    maximize: bool
    reported: tuple[str, ...]
    source: str
    data_version: str
    latency: str | None = None
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["reported"] = list(self.reported)
        return out


@dataclass(frozen=True)
class Evaluation:
    """One query's result: the signal (as measured, see ``Protocol.maximize``), the reported metrics
    and the latency (when constrained)."""

    signal: float
    reported: dict[str, float]
    latency: float | None = None
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


#: below this share of feasible cells a constrained search is warned that it may find none
TINY_FEASIBLE_SHARE = 0.01
#: fewer feasible cells than this are warned about whatever their share
FEW_FEASIBLE_CELLS = 20


@dataclass(frozen=True)
class FeasibilityReport:
    """How many of the cells a search can evaluate meet a latency limit, known before the search starts.

    Unpacks as ``(n_feasible, n_total, min_value)``; ``min_value`` is the smallest latency among them."""

    n_feasible: int
    n_total: int
    min_value: float
    device: str
    max_latency: float
    latency_key: str
    space: str = ""
    #: best search signal among the feasible cells (None when none is feasible)
    best_signal: float | None = None

    def __iter__(self):  # noqa: ANN204 - tuple-like unpacking
        return iter((self.n_feasible, self.n_total, self.min_value))

    @property
    def share(self) -> float:
        return self.n_feasible / self.n_total if self.n_total else 0.0

    def _limit(self) -> str:
        return f"latency <= {self.max_latency:g} ms on {self.device} ({self.latency_key})"

    def error(self) -> str | None:
        """Why the search cannot start (no feasible cell), else None."""
        if self.n_feasible:
            return None
        space = f"{self.space} " if self.space else ""
        return (f"no {space}cell has {self._limit()}: the table's fastest cell takes {self.min_value:.4g} ms on "
                f"{self.device}; raise the limit to at least {self.min_value:.4g} ms")

    def warning(self, budget: int | None = None) -> str | None:
        """A warning when so few cells are feasible that a search may find none, else None."""
        if not self.n_feasible or (self.share >= TINY_FEASIBLE_SHARE and self.n_feasible >= FEW_FEASIBLE_CELLS):
            return None
        text = (f"only {self.n_feasible:,} of {self.n_total:,} cells ({self.share:.2%}) meet {self._limit()} "
                f"(the table's fastest: {self.min_value:.4g} ms)")
        if budget:
            text += f"; {budget} random queries would find {self.share * budget:.1f} of them on average"
        if self.best_signal is not None:
            text += f"; the best feasible cell's signal is {self.best_signal:.4g}"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "share": self.share}


def latency_feasibility(latency: np.ndarray, *, device: str, max_latency: float, latency_key: str, space: str = "",
                        signal: np.ndarray | None = None, maximize: bool = True) -> FeasibilityReport:
    """Count the cells whose measured ``latency`` is at most ``max_latency`` (cells without a latency, or without a
    ``signal`` when one is given, are left out); the best feasible signal when ``signal`` is given."""
    latency = np.asarray(latency, dtype=float)
    usable = ~np.isnan(latency) if signal is None else ~np.isnan(latency) & ~np.isnan(signal)
    measured = latency[usable]
    feasible = measured <= float(max_latency)
    best = None
    if signal is not None and feasible.any():
        signals = np.asarray(signal, dtype=float)[usable][feasible]
        best = float(signals.max() if maximize else signals.min())
    return FeasibilityReport(n_feasible=int(np.count_nonzero(feasible)), n_total=int(measured.size),
                             min_value=float(measured.min()) if measured.size else float("nan"), device=device,
                             max_latency=float(max_latency), latency_key=latency_key, space=space, best_signal=best)


def feasibility_report(objective: Objective, constraint: Constraint) -> FeasibilityReport | None:
    """Feasible cells of ``constraint`` among those ``objective`` can evaluate (None when it cannot tell, e.g.
    a live evaluator). The CLI and the Search page call it before a run: ``error()`` stops, ``warning()`` warns."""
    return objective.feasibility(constraint)


class Objective(ABC):
    """A source of evaluations for one protocol."""

    protocol: Protocol

    @abstractmethod
    def evaluate(self, cell_id: str, cell: Any) -> Evaluation:
        """Evaluate one cell (raises DataError when it cannot be)."""

    def domain(self) -> list[str] | None:
        """Ids of the cells that can be evaluated (None: the whole space)."""
        return None

    def reference(self, constraint: Constraint | None) -> dict[str, Any]:
        """Exact optima (and Pareto front under a constraint) when the objective knows them."""
        return {}

    def check_constraint(self, constraint: Constraint) -> None:
        """Raise before anything starts when the constraint cannot be evaluated or satisfied."""
        return None

    def feasibility(self, constraint: Constraint) -> FeasibilityReport | None:
        """How many evaluable cells meet ``constraint`` (None: unknown before evaluating)."""
        return None


# ---- benchmark tables ----------------------------------------------------------------------

#: metric kinds a search minimises when used as the signal
LOWER_IS_BETTER = frozenset({"latency", "energy", "params", "flops", "loss", "train_time"})


def default_metrics(table: Any, dataset: str) -> tuple[str, str, str]:
    """(signal key, reported key, note) of the default protocol of a table for ``dataset``.

    Signal: the validation accuracy with the fewest epochs (NB201: 12 epochs, as arch2vec and the
    NB201 paper search); reported: the test accuracy with the most epochs (NB201: 200). When the
    table has no validation split the signal is the reported metric itself (said in the note).
    """
    acc = [m for m in table.metrics if m.kind == "accuracy" and m.dataset == dataset]
    if not acc:
        datasets = sorted({m.dataset for m in table.metrics if m.kind == "accuracy" and m.dataset})
        raise ConfigError(f"the {table.space} table has no accuracy for dataset {dataset!r}; "
                          f"datasets with accuracy: {', '.join(datasets) or 'none'}")
    valid = sorted((m for m in acc if m.split == "valid"), key=lambda m: m.epochs or 10**6)
    test = sorted((m for m in acc if m.split == "test"), key=lambda m: -(m.epochs or 0))
    reported = (test or valid)[0]
    if valid:
        signal = valid[0]
        note = (f"search signal: {signal.label}; reported: {reported.label} of the best cell by signal")
        return signal.key, reported.key, note
    return reported.key, reported.key, f"no validation split in the table: the search signal is the reported {reported.label}"


def latency_key_for(table: Any, device: str, dataset: str) -> str:
    """The latency metric of ``device`` (measured for ``dataset`` when the table says so)."""
    matches = [m for m in table.metrics if m.kind == "latency" and m.device == device]
    if not matches:
        devices = sorted({m.device for m in table.metrics if m.kind == "latency" and m.device})
        raise ConfigError(f"unknown device {device!r} for {table.space}: the table has latency for "
                          f"{', '.join(devices) or 'no device'}")
    for m in matches:
        if m.dataset == dataset:
            return m.key
    generic = [m for m in matches if m.dataset is None]
    if generic:
        return generic[0].key
    raise ConfigError(f"device {device!r} has latency only for {', '.join(str(m.dataset) for m in matches)}, "
                      f"not for {dataset}")


class TableObjective(Objective):
    """Look-ups in an imported benchmark table (:func:`nasviz.data.load_table`)."""

    def __init__(self, space: str, dataset: str, signal: str | None = None, reported: Sequence[str] | None = None,
                 device: str | None = None, table: Any = None) -> None:
        from nasviz.data import load_table, normalize_dataset

        self.table = table if table is not None else load_table(space)
        dataset = normalize_dataset(dataset) or dataset
        default_signal, default_reported, note = default_metrics(self.table, dataset)
        signal = signal or default_signal
        reported_keys = tuple(reported) if reported else (default_reported,)
        for key in (signal, *reported_keys):
            self.table.metric(key)  # ConfigError naming the available keys
        spec = self.table.metric(signal)
        maximize = spec.kind not in LOWER_IS_BETTER
        latency = latency_key_for(self.table, device, dataset) if device else None
        if signal != default_signal or reported_keys != (default_reported,):
            note = f"search signal: {spec.label}; reported: {', '.join(self.table.metric(k).label for k in reported_keys)}"
        self.protocol = Protocol(space=self.table.space, dataset=dataset, signal=signal, maximize=maximize,
                                 reported=reported_keys, source="table", data_version=self.table.data_version,
                                 latency=latency, note=note)
        self._signal = self.table.values(signal)
        self._reported = {k: self.table.values(k) for k in reported_keys}
        self._latency = self.table.values(latency) if latency else None
        usable = ~np.isnan(self._signal)
        if self._latency is not None:
            usable &= ~np.isnan(self._latency)
        self._domain = [cid for cid, ok in zip(self.table.cell_ids, usable.tolist(), strict=True) if ok]
        if not self._domain:
            raise DataError(f"no {self.table.space} cell has a value for {signal}")

    def domain(self) -> list[str] | None:
        return self._domain

    def evaluate(self, cell_id: str, cell: Any) -> Evaluation:
        row = self.table.row_of(cell_id)
        if row is None or math.isnan(self._signal[row]):
            raise DataError(f"cell {cell_id} has no {self.protocol.signal} value in the {self.table.space} table")
        value = float(self._signal[row])
        reported = {k: float(v[row]) for k, v in self._reported.items()}
        latency = float(self._latency[row]) if self._latency is not None else None
        return Evaluation(value, reported, latency)

    def check_constraint(self, constraint: Constraint) -> None:
        report = self.feasibility(constraint)
        assert report is not None
        if report.error():
            raise DataError(report.error())  # DataError, as before: the table admits no cell

    def feasibility(self, constraint: Constraint) -> FeasibilityReport:
        if self.protocol.latency is None or self._latency is None:
            raise ConfigError("a latency constraint needs a device (--device)")
        return latency_feasibility(self._latency, device=constraint.device, max_latency=float(constraint.max_latency),
                                   latency_key=self.protocol.latency, space=self.table.space, signal=self._signal,
                                   maximize=self.protocol.maximize)

    def reference(self, constraint: Constraint | None) -> dict[str, Any]:
        key = None if constraint is None else (constraint.max_latency, constraint.joint)
        cache = self.__dict__.setdefault("_reference_cache", {})
        if key not in cache:
            cache[key] = self._reference(constraint)
        return cache[key]

    def _reference(self, constraint: Constraint | None) -> dict[str, Any]:
        from nasviz.data import constrained_optimum, optimum, pareto_front

        p = self.protocol
        out: dict[str, Any] = {"optimum": {
            "signal": optimum(self.table, p.signal, p.maximize).to_dict(),
            **{f"reported:{k}": optimum(self.table, k).to_dict() for k in p.reported}}}
        sig_opt = out["optimum"]["signal"]
        out["optimum"]["reported_of_signal_optimum"] = {k: self.table.lookup(sig_opt["cell_id"], k) for k in p.reported}
        signal = self.table.values(p.signal)
        out["optimum"]["top_signals"] = top_values(signal, ~np.isnan(signal), p.maximize)
        if constraint is not None and p.latency:
            lat = self.table.values(p.latency)
            feasible = lat <= constraint.max_latency
            c_sig = constrained_optimum(self.table, p.signal, p.latency, constraint.max_latency, p.maximize).to_dict()
            out["constrained_optimum"] = {
                "signal": c_sig,
                "reported_of_signal_optimum": {k: self.table.lookup(c_sig["cell_id"], k) for k in p.reported},
                **{f"reported:{k}": constrained_optimum(self.table, k, p.latency, constraint.max_latency).to_dict()
                   for k in p.reported},
                "top_signals": top_values(signal, feasible & ~np.isnan(signal), p.maximize)}
            out["feasible_cells"] = int(np.count_nonzero(feasible))
            out["feasible_fraction"] = float(np.count_nonzero(feasible) / np.count_nonzero(~np.isnan(lat)))
            front = pareto_front(self.table, p.reported[0], p.latency)
            out["pareto_front"] = {"key_a": front.key_a, "key_b": front.key_b, "points": front.to_records()}
        return out


#: how many of a table's best signal values a run's reference keeps (for the rank of the cell a run found)
TOP_SIGNALS = 100


def top_values(values: np.ndarray, mask: np.ndarray, maximize: bool, n: int = TOP_SIGNALS) -> list[float]:
    """The ``n`` best of ``values[mask]``, best first (ties kept)."""
    chosen = np.sort(values[mask])
    return [float(v) for v in (chosen[::-1] if maximize else chosen)[:n]]


# ---- functions and live evaluators ----------------------------------------------------------

class FunctionObjective(Objective):
    """A Python function of the cell (synthetic objectives, tests, custom scores)."""

    def __init__(self, space: str, fn: Callable[[Any], float], *, name: str = "function",
                 latency_fn: Callable[[Any], float] | None = None, reported: dict[str, Callable[[Any], float]] | None = None,
                 domain: Sequence[str] | None = None, dataset: str = "", version: str = "1") -> None:
        self.fn, self.latency_fn = fn, latency_fn
        self.reported_fns = dict(reported or {"signal": fn})
        self._domain = list(domain) if domain is not None else None
        self.protocol = Protocol(space=space, dataset=dataset, signal=name, maximize=True,
                                 reported=tuple(self.reported_fns), source=f"function:{name}", data_version=version,
                                 latency=f"{name}:latency" if latency_fn else None,
                                 note="a Python function of the cell")
        self.calls = 0

    def domain(self) -> list[str] | None:
        return self._domain

    def evaluate(self, cell_id: str, cell: Any) -> Evaluation:
        self.calls += 1
        return Evaluation(float(self.fn(cell)), {k: float(f(cell)) for k, f in self.reported_fns.items()},
                          float(self.latency_fn(cell)) if self.latency_fn else None)

    def check_constraint(self, constraint: Constraint) -> None:
        if self.latency_fn is None:
            raise ConfigError("this objective has no latency: a constraint cannot be evaluated")


class EvaluatorObjective(Objective):
    """A live evaluator from :mod:`nasviz.evaluators` (training, proxies, measured latency).

    The evaluator's own spec string is the protocol's signal, so the run records exactly how cells
    were evaluated; ``latency`` is an optional second evaluator for a constraint.
    """

    def __init__(self, evaluator: Any, *, dataset: str = "", latency: Any = None) -> None:
        self.evaluator, self.latency_evaluator = evaluator, latency
        spec = evaluator.spec_string() if hasattr(evaluator, "spec_string") else repr(evaluator)
        lat_spec = latency.spec_string() if latency is not None and hasattr(latency, "spec_string") else None
        self.protocol = Protocol(space=evaluator.space.name, dataset=dataset, signal=spec,
                                 maximize=bool(evaluator.higher_is_better), reported=(spec,),
                                 source=f"evaluator:{evaluator.kind}", data_version=_evaluator_version(evaluator),
                                 latency=lat_spec, note=f"live evaluation with {spec}")

    def evaluate(self, cell_id: str, cell: Any) -> Evaluation:
        start = time.perf_counter()
        result = self.evaluator.evaluate([cell])[0]
        if not result.ok:
            raise DataError(f"evaluator {self.protocol.signal} failed on cell {cell_id}: {result.error}")
        latency = None
        if self.latency_evaluator is not None:
            lat = self.latency_evaluator.evaluate([cell])[0]
            if not lat.ok:
                raise DataError(f"latency evaluator failed on cell {cell_id}: {lat.error}")
            latency = float(lat.value)
        value = float(result.value)
        return Evaluation(value, {self.protocol.signal: value}, latency,
                          time.perf_counter() - start, {"cached": bool(result.cached)})

    def check_constraint(self, constraint: Constraint) -> None:
        if self.latency_evaluator is None:
            raise ConfigError("a latency constraint with a live evaluator needs a latency evaluator")


def _evaluator_version(evaluator: Any) -> str:
    try:
        return str(evaluator.cache_key())
    except Exception:  # noqa: BLE001 - an evaluator without a cache key is still usable
        return "live"
