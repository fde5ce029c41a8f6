"""Optuna TPE (``optuna.samplers.TPESampler``) through Optuna's own ask/tell interface.

One categorical parameter per edge/op of the space. Under a latency constraint each trial carries
``latency - L`` as an Optuna constraint (c-TPE); with ``Joint=1`` the study is two-objective
(maximise the signal, minimise the latency: MOTPE). A proposal that repeats a known cell is told at
once with the known result (TPE still learns from it) and TPE is asked again, so every query is new; after
``max_repeat_proposals`` repeats in a row the query is an unvisited one-edit neighbour of the last
proposal (a random unvisited cell when there is none), enqueued into the study so TPE sees it.
"""

from __future__ import annotations

import logging
from typing import Any

import optuna
from optuna.distributions import CategoricalDistribution
from optuna.trial import TrialState

from nasviz.search.base import Observation, SearchContext, Strategy
from nasviz.settings import Setting


class TPESearch(Strategy):
    name = "tpe"
    title = "TPE (Optuna)"
    setting_fields = (
        Setting("n_startup_trials", "int", 10, "Random trials before TPE models the results (Optuna's "
                "n_startup_trials).", low=0, high=100_000),
        Setting("n_ei_candidates", "int", 24, "Candidates TPE scores per proposal (Optuna's n_ei_candidates).",
                low=1, high=100_000),
        Setting("multivariate", "bool", True, "Model the parameters jointly (multivariate TPE) rather than one "
                "by one."),
        Setting("max_repeat_proposals", "int", 5, "Proposals of known cells in a row before an unvisited "
                "neighbour of the last one is queried instead.", low=1, high=10_000),
    )

    def __init__(self, context: SearchContext, seed: int, **settings: Any) -> None:
        super().__init__(context, seed, **settings)
        optuna.logging.set_verbosity(logging.WARNING)
        sampler = optuna.samplers.TPESampler(seed=self.seed, n_startup_trials=int(self.settings["n_startup_trials"]),
                                             n_ei_candidates=int(self.settings["n_ei_candidates"]),
                                             multivariate=bool(self.settings["multivariate"]))
        joint = self.constraint is not None and self.constraint.joint == 1
        directions = ["maximize", "minimize"] if joint else ["maximize"]
        self.study = optuna.create_study(sampler=sampler, directions=directions)
        self.distributions = {name: CategoricalDistribution(choices)
                              for name, choices in self.moves.param_choices().items()}
        self.pending: dict[str, optuna.trial.Trial] = {}
        self.known: dict[str, Observation] = {}

    def _finish(self, trial: optuna.trial.Trial, obs: Observation) -> None:
        values: list[float] = [obs.signal]
        if self.constraint is not None:
            latency = obs.latency if obs.latency is not None else float("inf")
            trial.set_constraint("latency", float(latency) - self.constraint.max_latency)
            if self.constraint.joint == 1:
                values.append(float(latency))
        self.study.tell(trial, values if len(values) > 1 else values[0])

    def _ask_one(self, batch: set[str]) -> Any:
        last = None
        for _ in range(int(self.settings["max_repeat_proposals"])):
            trial = self.study.ask(self.distributions)
            cell = self.moves.cell_from_params(trial.params)
            if cell is None or not self.in_domain(cell):
                self.study.tell(trial, state=TrialState.FAIL)
                continue
            cid = self.moves.cell_id(cell)
            last = cell
            if cid in self.known:
                self._finish(trial, self.known[cid])  # a repeat: TPE learns it again, no new query
                continue
            if cid in batch or cid in self.pending:
                self.study.tell(trial, state=TrialState.FAIL)
                continue
            self.pending[cid] = trial
            return cell
        excluded = batch | set(self.pending)
        options = [c for c in self.moves.neighbours(last) if self.is_new(c, excluded)] if last is not None else []
        cell = options[int(self.rng.integers(len(options)))] if options else self.random_new_cell(excluded)
        self.pending[self.moves.cell_id(cell)] = self._enqueued_trial(cell)
        return cell

    def _enqueued_trial(self, cell: Any) -> optuna.trial.Trial:
        self.study.enqueue_trial(self.moves.cell_params(cell), skip_if_exists=False)
        return self.study.ask(self.distributions)

    def ask(self, n: int) -> list[Any]:
        batch: set[str] = set()
        cells = []
        for _ in range(n):
            cell = self._ask_one(batch)
            batch.add(self.moves.cell_id(cell))
            cells.append(cell)
        return cells

    def _after_tell(self, cells: list[Any], observations: list[Observation]) -> None:
        for cell, obs in zip(cells, observations, strict=True):
            cid = self.moves.cell_id(cell)
            trial = self.pending.pop(cid, None)
            if trial is None:  # a cell this strategy did not ask for (e.g. replayed history)
                trial = self._enqueued_trial(cell)
            self._finish(trial, obs)
            self.known[cid] = obs
