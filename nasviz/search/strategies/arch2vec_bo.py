"""arch2vec-BO (Yan et al., 2020, appendix A): DNGO + expected improvement over the arch2vec table.

16 random initial cells, then one proposal per step: DNGO is refitted on the embeddings of all
queried cells and EI is maximised over the unvisited rows of the embedding table (the
nearest-unvisited decoding of the EI maximiser over the table). Under a latency constraint a
second DNGO models log-latency and the acquisition is constrained EI, ``EI * P(latency <= L)``
(Gardner et al., 2014); with Joint=1 the regression target is the joint AG-Net rank score.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nasviz.errors import ConfigError
from nasviz.search.base import SearchContext, Strategy
from nasviz.search.constraints import log_latency_targets, regression_targets
from nasviz.search.dngo import DNGO, expected_improvement, probability_below
from nasviz.search.strategies.latent import LatentTable
from nasviz.settings import Setting


class Arch2vecBO(Strategy):
    name = "arch2vec-bo"
    title = "arch2vec-BO (DNGO + EI)"
    encoder = "arch2vec"
    setting_fields = (
        Setting("initial_samples", "int", 16, "Random cells before the first model fit.", low=1, high=100_000),
        Setting("hidden", "int", 128, "Hidden units of the DNGO network.", low=1, high=4096),
        Setting("epochs", "int", 100, "DNGO training epochs per fit.", low=1, high=10_000),
        Setting("lr", "float", 1e-2, "DNGO learning rate.", low=1e-8, high=10.0, step=1e-3),
        Setting("batch_size", "int", 32, "DNGO batch size.", low=1, high=100_000),
        Setting("ei_incumbent", "str", "best", "Incumbent of expected improvement: best (the best feasible "
                "observation so far) or a fixed number."),
        Setting("xi", "float", 0.0, "Exploration margin of expected improvement.", low=0.0, high=1e6, step=0.01),
    )

    @classmethod
    def check_settings(cls, settings: dict[str, Any]) -> None:
        incumbent = settings["ei_incumbent"]
        try:
            ok = incumbent == "best" or math.isfinite(float(incumbent))
        except ValueError:
            ok = False
        if not ok:
            raise ConfigError(f"setting ei_incumbent of strategy arch2vec-bo must be best or a number, "
                              f"got {incumbent!r}")

    def __init__(self, context: SearchContext, seed: int, **settings: Any) -> None:
        super().__init__(context, seed, **settings)
        self.table = LatentTable(context, self.encoder)
        self.proposal_scores: dict[str, float] = {}
        self.fits = 0

    def _model(self, x: np.ndarray, y: np.ndarray, salt: int) -> DNGO:
        self.fits += 1
        return DNGO(hidden=int(self.settings["hidden"]), epochs=int(self.settings["epochs"]), lr=float(self.settings["lr"]),
                    batch_size=int(self.settings["batch_size"]),
                    seed=int(self.rng.integers(2**31 - 1)) + salt).fit(x, y)

    def ask(self, n: int) -> list[Any]:
        if len(self.history_obs) < int(self.settings["initial_samples"]):
            pending: set[str] = set()
            cells = []
            for _ in range(n):
                cell = self.moves.cell_from_id(self.table.ids[self._random_row(pending)])
                pending.add(self.moves.cell_id(cell))
                cells.append(cell)
            return cells
        rows = self.table.rows_of(self.history_ids)
        x = self.table.vectors[rows]
        y = regression_targets(self.history_obs, self.constraint)
        model = self._model(x, y, 0)
        mean, var = model.predict(self.table.vectors)
        feasible = np.array([o.feasible for o in self.history_obs], dtype=bool)
        if self.settings["ei_incumbent"] == "best":
            incumbent = float(y[feasible].max()) if feasible.any() else float(y.min())
        else:
            incumbent = float(self.settings["ei_incumbent"])
        acquisition = expected_improvement(mean, var, incumbent, float(self.settings["xi"]))
        if self.constraint is not None:
            lat_model = self._model(x, log_latency_targets(self.history_obs), 1)
            lat_mean, lat_var = lat_model.predict(self.table.vectors)
            p_feasible = probability_below(lat_mean, lat_var, math.log(self.constraint.max_latency))
            acquisition = p_feasible if not feasible.any() else acquisition * p_feasible
        visited = np.fromiter((cid in self.visited for cid in self.table.ids), dtype=bool, count=len(self.table))
        acquisition = np.where(visited, -np.inf, acquisition)
        order = np.lexsort((np.arange(len(acquisition)), -acquisition))[:n]
        cells = []
        for row in order.tolist():
            if not np.isfinite(acquisition[row]):
                row = self._random_row({self.moves.cell_id(c) for c in cells})
            cid = self.table.ids[row]
            self.proposal_scores[cid] = float(mean[row])
            cells.append(self.moves.cell_from_id(cid))
        return cells

    def _random_row(self, pending: set[str]) -> int:
        excluded = self.visited | pending
        free = [i for i, cid in enumerate(self.table.ids) if cid not in excluded]
        if not free:
            raise ConfigError("every cell with an embedding has been queried; lower the budget")
        return free[int(self.rng.integers(len(free)))]
