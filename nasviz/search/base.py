"""The ask/tell interface every search strategy implements, and the strategy registry.

A strategy is seeded and deterministic: given the same seed, settings and observations it asks for
the same cells. Its state is rebuilt for a resumed run by replaying the stored history
(``ask`` then ``tell`` the stored observations, batch by batch), so nothing needs pickling.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from nasviz.errors import ConfigError
from nasviz.search.constraints import INFEASIBLE_ORDERS, Constraint, fitness_scores
from nasviz.search.moves import SpaceMoves
from nasviz.settings import Setting, parse_assignments, resolve_settings


@dataclass(frozen=True)
class Observation:
    """What a strategy learns from one query.

    ``signal``: the search signal, oriented so that higher is better; ``latency``: the constrained
    hardware cost (None without a constraint); ``feasible``: whether the constraint holds.
    """

    signal: float
    latency: float | None = None
    feasible: bool = True

    def __post_init__(self) -> None:
        if not math.isfinite(self.signal):
            raise ConfigError(f"a search signal must be a finite number, got {self.signal!r}")


@dataclass
class SearchContext:
    """What a strategy may use: the space's moves, the allowed cells and the constraint."""

    moves: SpaceMoves
    constraint: Constraint | None = None
    #: ids of the cells a query may return (a benchmark table's cells); None = the whole space
    domain: Sequence[str] | None = None
    #: extra resources (e.g. embeddings) loaded by the strategy factory
    resources: dict[str, Any] = field(default_factory=dict)


def parse_settings(items: Sequence[str] | None) -> dict[str, str]:
    """``KEY=VALUE`` strategy settings (CLI ``--set``) as text: each value is converted by the type its strategy
    declares when the strategy is built (:meth:`Strategy.resolve_settings`). Blank items are skipped; an item without
    ``=`` is a ConfigError. The one reader of such text (:func:`nasviz.settings.parse_assignments`)."""
    return parse_assignments(items)


#: how infeasible observations are ordered among themselves under a latency limit (strategies that compare cells)
INFEASIBLE_ORDER_SETTING = Setting(
    "infeasible_order", "choice", "violation",
    "Under a latency limit, how infeasible cells are ordered among themselves: violation = by latency (the "
    "faster first), agnet = AG-Net's order (by accuracy).", choices=INFEASIBLE_ORDERS)


class Strategy(ABC):
    """Seeded ask/tell search strategy.

    ``ask(n)`` returns ``n`` distinct cells not told before; ``tell(cells, observations)`` records the
    results (it accepts any cells, also ones it did not ask for).
    """

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    #: the settings the strategy reads, typed (name, type, default, range or choices, help); the effective values
    #: are recorded with every run
    setting_fields: ClassVar[tuple[Setting, ...]] = ()
    #: ``{name: default}`` of :attr:`setting_fields` (derived for every subclass)
    defaults: ClassVar[dict[str, Any]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        names = [entry.name for entry in cls.setting_fields]
        if len(set(names)) != len(names):
            raise TypeError(f"strategy {cls.__name__} declares a setting twice: {names}")
        cls.defaults = {entry.name: entry.default for entry in cls.setting_fields}

    @classmethod
    def setting(cls, name: str) -> Setting:
        """The declared setting ``name`` (ConfigError naming the known ones otherwise)."""
        for entry in cls.setting_fields:
            if entry.name == name:
                return entry
        raise ConfigError(f"unknown setting {name} for strategy {cls.name}; "
                          f"known: {', '.join(cls.defaults) or 'none'}")

    @classmethod
    def resolve_settings(cls, given: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Every setting of the strategy: ``given`` ones (text or values) converted by their declared type, the
        others at their default; then :meth:`check_settings`. The one place settings are validated."""
        settings = resolve_settings(cls.setting_fields, given or {}, f"strategy {cls.name}")
        cls.check_settings(settings)
        return settings

    @classmethod
    def check_settings(cls, settings: dict[str, Any]) -> None:
        """ConfigError when typed settings do not fit together (e.g. a sample larger than the population)."""
        return None

    def __init__(self, context: SearchContext, seed: int, **settings: Any) -> None:
        self.settings: dict[str, Any] = self.resolve_settings(settings)
        self.context = context
        self.moves = context.moves
        self.constraint = context.constraint
        self.seed = int(seed)
        self.rng = np.random.default_rng(self.seed)
        self.history_ids: list[str] = []
        self.history_cells: list[Any] = []
        self.history_obs: list[Observation] = []
        self.visited: set[str] = set()
        self._domain_list: list[str] | None = list(context.domain) if context.domain is not None else None
        self._domain_set: set[str] | None = set(self._domain_list) if self._domain_list is not None else None

    # ---- the interface ---------------------------------------------------------------------
    @abstractmethod
    def ask(self, n: int) -> list[Any]:
        """``n`` new cells to query."""

    def tell(self, cells: Sequence[Any], observations: Sequence[Observation]) -> None:
        """Record the observations of ``cells`` (same order)."""
        if len(cells) != len(observations):
            raise ConfigError(f"tell: {len(cells)} cells but {len(observations)} observations")
        for cell, obs in zip(cells, observations, strict=True):
            cid = self.moves.cell_id(cell)
            self.history_ids.append(cid)
            self.history_cells.append(cell)
            self.history_obs.append(obs)
            self.visited.add(cid)
        self._after_tell(list(cells), list(observations))

    def _after_tell(self, cells: list[Any], observations: list[Observation]) -> None:
        """Hook for strategies that update a model or a population."""
        return None

    # ---- helpers -----------------------------------------------------------------------------
    def in_domain(self, cell: Any) -> bool:
        return self._domain_set is None or self.moves.cell_id(cell) in self._domain_set

    def is_new(self, cell: Any, pending: set[str] | None = None) -> bool:
        cid = self.moves.cell_id(cell)
        return cid not in self.visited and (pending is None or cid not in pending) and self.in_domain(cell)

    def random_new_cells(self, n: int, pending: set[str] | None = None) -> list[Any]:
        """``n`` distinct uniformly drawn cells, none told before nor in ``pending`` (which is extended)."""
        pending = set() if pending is None else pending
        cells = []
        for _ in range(n):
            cell = self.random_new_cell(pending)
            pending.add(self.moves.cell_id(cell))
            cells.append(cell)
        return cells

    def random_new_cell(self, pending: set[str] | None = None, tries: int = 10_000) -> Any:
        """A uniformly drawn cell of the domain that was neither told nor is pending."""
        for _ in range(tries):
            if self._domain_list is not None:
                cell = self.moves.cell_from_id(self._domain_list[int(self.rng.integers(len(self._domain_list)))])
            else:
                cell = self.moves.random_cell(self.rng)
            if self.is_new(cell, pending):
                return cell
        # nearly exhausted: scan for what is left, in a seeded order
        left = [cid for cid in (self._domain_list or []) if cid not in self.visited and cid not in (pending or set())]
        if not left:
            raise ConfigError("the search has queried every cell of the domain; lower the budget")
        return self.moves.cell_from_id(left[int(self.rng.integers(len(left)))])

    def fitness(self) -> np.ndarray:
        """Higher-is-better score of every told observation (AG-Net penalised ranking under a constraint;
        a strategy's ``infeasible_order`` setting picks how infeasible observations are ordered)."""
        return fitness_scores(self.history_obs, self.constraint, str(self.settings.get("infeasible_order", "agnet")))

    @classmethod
    def required_encoders(cls, settings: dict[str, Any]) -> tuple[str, ...]:
        """Pre-trained encoders whose embeddings the strategy needs with these settings."""
        encoder = getattr(cls, "encoder", None)
        return (encoder,) if encoder else ()

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "settings": dict(self.settings), "seed": self.seed}

    def decisions(self) -> dict[str, Any]:
        """Choices the strategy made from the data during the run (stored in the run's summary); none by default."""
        return {}


@contextmanager
def one_torch_thread() -> Iterator[None]:
    """Run the block with a single torch (intra-op) thread, restoring the previous count afterwards."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class RoundStrategy(Strategy):
    """A model-based strategy that proposes cells in rounds of ``round_size`` after ``initial_samples``
    random ones: a round (model update + proposals, :meth:`_round_body`) runs once, with one torch
    thread (the models are tiny; more threads only contend), and is served across ``ask`` calls
    whatever the runner's batch size; a short round is topped up with random cells."""

    def __init__(self, context: SearchContext, seed: int, **settings: Any) -> None:
        super().__init__(context, seed, **settings)
        self.queue: list[Any] = []  # proposals of the current round not yet asked

    def round_size(self) -> int:
        """Proposals per round (a strategy may change it during a run)."""
        return int(self.settings["round_size"])

    @abstractmethod
    def _round_body(self, n: int) -> list[Any]:
        """At least ``n`` new proposals (fewer when the model finds no more)."""

    def ask(self, n: int) -> list[Any]:
        if len(self.history_obs) < int(self.settings["initial_samples"]):
            return self.random_new_cells(n)
        self.queue = [c for c in self.queue if self.is_new(c)]
        if len(self.queue) < n:
            with one_torch_thread():
                self.queue += self._round_body(max(n, self.round_size()) - len(self.queue))
        cells, self.queue = self.queue[:n], self.queue[n:]
        if len(cells) < n:
            cells += self.random_new_cells(n - len(cells), {self.moves.cell_id(c) for c in cells})
        return cells


StrategyFactory = Callable[..., Strategy]
#: strategy name -> "module:Class" (imported lazily); names appear here only when they work
_REGISTRY: dict[str, str] = {
    "random": "nasviz.search.strategies.random_search:RandomSearch",
    "re": "nasviz.search.strategies.evolution:RegularizedEvolution",
    "ls": "nasviz.search.strategies.local_search:LocalSearch",
    "tpe": "nasviz.search.strategies.tpe:TPESearch",
    "arch2vec-bo": "nasviz.search.strategies.arch2vec_bo:Arch2vecBO",
    "arch2vec-rl": "nasviz.search.strategies.arch2vec_rl:Arch2vecRL",
    "gp-bo": "nasviz.search.strategies.gp_bo:GPBO",
    "nao": "nasviz.search.strategies.nao:NAOSearch",
    "agnet": "nasviz.search.strategies.agnet:AGNetSearch",
    "agnet-xgb": "nasviz.search.strategies.agnet:AGNetXGBSearch",
}
_ALIASES = {"rs": "random", "random-search": "random", "evolution": "re", "regularized-evolution": "re",
            "local": "ls", "local-search": "ls", "optuna-tpe": "tpe", "bo": "arch2vec-bo", "rl": "arch2vec-rl"}


def register_strategy(name: str, target: str) -> None:
    """Add a strategy (``"module:Class"``) to the registry, e.g. from a model package once it exists."""
    _REGISTRY[name] = target


def strategy_names() -> tuple[str, ...]:
    return tuple(_REGISTRY)


def strategy_class(name: str) -> type[Strategy]:
    """The class of the strategy called ``name``; ConfigError naming the known ones otherwise."""
    from importlib import import_module

    key = _ALIASES.get(name.lower(), name.lower())
    if key not in _REGISTRY:
        raise ConfigError(f"unknown search strategy {name!r}; choose one of {', '.join(_REGISTRY)}")
    module_name, class_name = _REGISTRY[key].split(":")
    try:
        return getattr(import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"search strategy {name!r} is not available in this installation ({exc})") from None


def canonical_strategy_name(name: str) -> str:
    key = _ALIASES.get(name.lower(), name.lower())
    if key not in _REGISTRY:
        raise ConfigError(f"unknown search strategy {name!r}; choose one of {', '.join(_REGISTRY)}")
    return key
