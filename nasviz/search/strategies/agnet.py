"""AG-Net search (Lukasik et al., 2022, appendix algorithm 1) and its XGBoost variant.

16 random initial cells; then every round: weighted retraining of the pretrained generator + MLP surrogate
on all queried cells (rank weights ``1 / (kN + rank)``, loss ``(1 - alpha) recon + alpha MSE``), generation
of candidates from ``z ~ U(-3, 3)^32`` in batches of 100 until ``candidates`` new valid cells are found, and
the top-n by the surrogate are queried. ``agnet-xgb`` ranks the candidates with XGBoost fitted on the
vector representation of the queried cells (the generator is still retrained with the weighted
reconstruction; the paper's rank-gradient estimation through XGBoost is not implemented). Under a latency
constraint the scores are the search's penalised fitness (the AG-Net ranking with Joint and the 1000x
penalty).

``late_after`` N > 0 adds a late phase: from the first round after N queries the loop restarts from a fresh copy of
the pre-trained generator (``late_restart``; it is retrained on every query so far, as each round does) and goes on with
rounds of ``late_round_size`` and ``late_epochs`` retraining epochs. The presets ``agnet-8`` (rounds of 8 with 8
epochs) and ``agnet-8-late`` (the same with ``late_after=100``) are settings of this strategy
(:mod:`nasviz.search.presets`; what they measured: docs/search-nb201.md).

The generator and surrogate are tiny (node states of 32): every round runs with one torch thread
(:class:`~nasviz.search.base.RoundStrategy`), which is faster than two and does not slow down when the cores are shared
(timings: docs/search-nb201.md).
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from nasviz.search.base import RoundStrategy, SearchContext
from nasviz.settings import Setting


class AGNetSearch(RoundStrategy):
    name = "agnet"
    title = "AG-Net (generator + MLP surrogate, weighted retraining)"
    ranker = "mlp"
    setting_fields = (
        Setting("initial_samples", "int", 16, "Random cells before the first round.", low=1, high=100_000),
        Setting("retrain_epochs", "int", 15, "Weighted retraining epochs of the generator and surrogate per round.",
                low=1, high=10_000),
        Setting("candidates", "int", 100, "New valid cells generated per round; the surrogate's top ones are "
                "queried.", low=1, high=100_000),
        Setting("alpha", "float", 0.9, "Loss weight: (1 - alpha) reconstruction + alpha surrogate MSE.", low=0.0,
                high=1.0, step=0.05),
        Setting("k", "float", 1e-3, "Rank weighting 1 / (kN + rank) of the retraining.", low=0.0, high=1e6,
                step=1e-4),
        Setting("uniform", "float", 3.0, "Latent samples z ~ U(-a, a): a.", low=1e-6, high=1e3, step=0.5),
        Setting("max_batches", "int", 9, "Generation batches (100, 200, ... samples) tried per round.", low=1,
                high=1000),
        Setting("steps_per_epoch", "int", 0, "Optimiser steps per retraining epoch (0: one pass over the queried "
                "cells).", low=0, high=100_000),
        Setting("round_size", "int", 16, "Proposals per round.", low=1, high=100_000),
        Setting("late_after", "int", 0, "From the first round after this many queries: the late phase (0: off).",
                low=0, high=1_000_000),
        Setting("late_round_size", "int", 16, "Proposals per round in the late phase.", low=1, high=100_000),
        Setting("late_epochs", "int", 15, "Retraining epochs per round in the late phase.", low=1, high=10_000),
        Setting("late_restart", "bool", True, "Start the late phase from a fresh copy of the pre-trained generator."),
    )

    def __init__(self, context: SearchContext, seed: int, **settings: Any) -> None:
        super().__init__(context, seed, **settings)
        self.encoder = self._pretrained()
        self.rounds = 0
        self.late = False

    def _pretrained(self) -> Any:
        """A fresh copy of the pre-trained generator and surrogate."""
        from nasviz.encoders.agnet import AGNetEncoder

        pretrained = AGNetEncoder.load(self.moves.space.name)
        return AGNetEncoder(pretrained.space, copy.deepcopy(pretrained.model), pretrained.manifest)

    def _enter_late_phase(self) -> None:
        """From the first round after ``late_after`` queries: rounds of ``late_round_size`` with ``late_epochs``
        retraining epochs, from a fresh copy of the pre-trained generator when ``late_restart``."""
        self.late = True
        if self.settings["late_restart"]:
            self.encoder = self._pretrained()

    def _retrain(self, scores: np.ndarray) -> None:
        import torch

        from nasviz.encoders.agnet import weighted_retrain

        round_seed = self.seed * 1000 + len(self.history_obs)
        torch.manual_seed(round_seed)
        steps = int(self.settings["steps_per_epoch"]) or None
        epochs = int(self.settings["late_epochs" if self.late else "retrain_epochs"])
        weighted_retrain(self.encoder.model, self.encoder.graphs, self.history_cells, scores, epochs, round_seed,
                         alpha=float(self.settings["alpha"]), k=float(self.settings["k"]), steps_per_epoch=steps)

    def round_size(self) -> int:
        return int(self.settings["late_round_size" if self.late else "round_size"])

    def _candidates(self) -> list[Any]:
        """New valid cells generated from z ~ U(-a, a), in batches of 100, up to ``candidates``."""
        found: dict[str, Any] = {}
        wanted = int(self.settings["candidates"])
        a = float(self.settings["uniform"])
        for batch in range(int(self.settings["max_batches"])):
            rng = np.random.default_rng([self.seed, len(self.history_obs), batch])
            z = rng.uniform(-a, a, size=(100 * (batch + 1), self.encoder.model.cfg.latent_dim)).astype(np.float32)
            for cell in self.encoder.decode(z, noise_seed=int(rng.integers(2**31 - 1))):
                if cell is not None and self.is_new(cell):
                    found.setdefault(self.moves.cell_id(cell), cell)
            if len(found) >= wanted:
                break
        return list(found.values())[:wanted]

    def _rank(self, candidates: list[Any], scores: np.ndarray) -> np.ndarray:
        return self.encoder.predict(candidates)

    def _round_body(self, n: int) -> list[Any]:
        late_after = int(self.settings["late_after"])
        if late_after and not self.late and len(self.history_obs) >= late_after:
            self._enter_late_phase()
            n = max(n, self.round_size())
        scores = self.fitness()
        self._retrain(scores)
        self.rounds += 1
        queued = {self.moves.cell_id(c) for c in self.queue}
        candidates = [c for c in self._candidates() if self.moves.cell_id(c) not in queued]
        if not candidates:
            return []
        predicted = self._rank(candidates, scores)
        order = np.lexsort((np.arange(len(candidates)), -np.asarray(predicted)))[:n]
        return [candidates[i] for i in order.tolist()]

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "rounds": self.rounds, "ranker": self.ranker, "late_phase": self.late}


class AGNetXGBSearch(AGNetSearch):
    name = "agnet-xgb"
    title = "AG-Net with an XGBoost surrogate"
    ranker = "xgb"

    def _rank(self, candidates: list[Any], scores: np.ndarray) -> np.ndarray:
        from xgboost import XGBRegressor

        x = self.encoder.embed(self.history_cells)
        model = XGBRegressor(n_estimators=200, max_depth=6, learning_rate=0.1, subsample=0.9, random_state=self.seed,
                             n_jobs=1)
        model.fit(x, np.asarray(scores, dtype=np.float64))
        return model.predict(self.encoder.embed(candidates))
