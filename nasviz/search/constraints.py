"""Hardware-constrained search (AG-Net section 4.3, algorithm 2): latency limit, Joint=0/1 ranking.

- ``Joint=0``: maximise accuracy subject to ``latency <= L``; observations are ranked by accuracy and
  the rank of an infeasible one is multiplied by a penalty, so every infeasible observation ranks
  below every feasible one.
- ``Joint=1``: rank by the sum of the accuracy rank and the latency rank, with the same penalty.

AG-Net uses a penalty factor of 1000; we use ``max(1000, 2n + 2)`` so that the "infeasible below
feasible" property also holds for more than 500 observations.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.stats import rankdata

from nasviz.errors import ConfigError

if TYPE_CHECKING:
    from nasviz.search.base import Observation

AGNET_PENALTY = 1000.0


@dataclass(frozen=True)
class Constraint:
    """A latency limit ``max_latency`` (ms) on ``device``; ``joint`` 0 or 1 as in AG-Net."""

    device: str
    max_latency: float
    joint: int = 0
    #: the table metric that holds the latency (filled in by the objective)
    latency_key: str = ""

    def __post_init__(self) -> None:
        if self.joint not in (0, 1):
            raise ConfigError(f"--joint must be 0 or 1, got {self.joint!r}")
        if not (isinstance(self.max_latency, (int, float)) and np.isfinite(self.max_latency) and self.max_latency > 0):
            raise ConfigError(f"the latency limit must be a positive number of ms, got {self.max_latency!r}")
        if not self.device:
            raise ConfigError("a latency constraint needs a device")

    def feasible(self, latency: float | None) -> bool:
        return latency is not None and bool(np.isfinite(latency)) and latency <= self.max_latency

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


INFEASIBLE_ORDERS = ("agnet", "violation")


def penalised_ranks(signals: Sequence[float], latencies: Sequence[float | None], feasible: Sequence[bool],
                    joint: int, infeasible: str = "agnet") -> np.ndarray:
    """AG-Net ranking keys (lower is better): ``(rank_acc + joint * rank_lat + 1) * penalty_if_infeasible``.

    ``rank_acc`` is 0 for the highest signal, ``rank_lat`` 0 for the lowest latency (ties share the
    lower rank). ``infeasible="violation"`` orders the infeasible observations among themselves by
    latency (the smallest violation first, as c-TPE does) instead of by the AG-Net key; they still
    rank below every feasible one.
    """
    if infeasible not in INFEASIBLE_ORDERS:
        raise ConfigError(f"unknown infeasible order {infeasible!r}; choose one of {', '.join(INFEASIBLE_ORDERS)}")
    n = len(signals)
    if n == 0:
        return np.zeros(0)
    acc_rank = rankdata(-np.asarray(signals, dtype=float), method="min") - 1
    keys = acc_rank.astype(float)
    if joint:
        lat = np.array([np.inf if v is None else float(v) for v in latencies], dtype=float)
        keys = keys + rankdata(lat, method="min") - 1
    keys = keys + 1.0
    penalty = max(AGNET_PENALTY, 2.0 * n + 2.0)
    if infeasible == "violation":
        lat = np.array([np.inf if v is None else float(v) for v in latencies], dtype=float)
        return np.where(np.asarray(feasible, dtype=bool), keys, (rankdata(lat, method="min") + 2.0 * n + 2.0) * penalty)
    return np.where(np.asarray(feasible, dtype=bool), keys, keys * penalty)


def fitness_scores(observations: Sequence[Observation], constraint: Constraint | None,
                   infeasible: str = "agnet") -> np.ndarray:
    """Higher-is-better score per observation: the signal without a constraint, else minus the
    penalised rank (the AG-Net order; see :func:`penalised_ranks` for ``infeasible``)."""
    if not observations:
        return np.zeros(0)
    if constraint is None:
        return np.array([o.signal for o in observations], dtype=float)
    keys = penalised_ranks([o.signal for o in observations], [o.latency for o in observations],
                           [o.feasible for o in observations], constraint.joint, infeasible)
    return -keys


def regression_targets(observations: Sequence[Observation], constraint: Constraint | None) -> np.ndarray:
    """What a BO surrogate regresses (higher is better): the signal, or with Joint=1 the negated joint
    rank of accuracy and latency (AG-Net), normalised to [0, 1]."""
    signals = np.array([o.signal for o in observations], dtype=float)
    if constraint is None or constraint.joint == 0:
        return signals
    lat = np.array([np.inf if o.latency is None else o.latency for o in observations], dtype=float)
    joint = (rankdata(-signals, method="average") + rankdata(lat, method="average")) / (2.0 * len(signals))
    return -joint


def latency_targets(observations: Sequence[Observation]) -> np.ndarray:
    """Latencies for a latency surrogate; a missing one counts as 10x the largest seen."""
    lat = np.array([o.latency if o.latency is not None else math.inf for o in observations], dtype=float)
    finite = np.isfinite(lat)
    return np.where(finite, lat, np.nanmax(lat[finite], initial=1.0) * 10)


def log_latency_targets(observations: Sequence[Observation]) -> np.ndarray:
    """Log latencies for a latency surrogate (:func:`latency_targets`, floored at 1e-6 ms)."""
    return np.log(np.maximum(latency_targets(observations), 1e-6))


def best_index(signals: Sequence[float], feasible: Sequence[bool] | None = None) -> int | None:
    """Index of the best observation by signal among the feasible ones (first one on ties); None if none."""
    best: int | None = None
    for i, value in enumerate(signals):
        if feasible is not None and not feasible[i]:
            continue
        if best is None or value > signals[best]:
            best = i
    return best


def feasibility_ratio(feasible: Sequence[bool]) -> float:
    """Share of the evaluated architectures that satisfy the constraint (AG-Net Table 5 "Feas.")."""
    return float(np.mean(np.asarray(feasible, dtype=float))) if len(feasible) else float("nan")
