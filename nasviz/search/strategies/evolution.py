"""Regularized evolution (Real et al., 2019): tournament selection, one-edit mutation, ageing.

The population is the ``population_size`` most recently told cells. A child is a mutation (one
op/edge change through the space's moves) of the best of ``sample_size`` population members drawn
at random; under a latency constraint "best" follows the AG-Net penalised ranking (Joint=0/1), with
infeasible cells ordered by their latency (``infeasible_order="violation"``; ``"agnet"`` keeps the
AG-Net order, by accuracy, among them).
"""

from __future__ import annotations

from typing import Any

from nasviz.errors import ConfigError
from nasviz.search.base import INFEASIBLE_ORDER_SETTING, Strategy
from nasviz.settings import Setting


class RegularizedEvolution(Strategy):
    name = "re"
    title = "Regularized evolution"
    setting_fields = (
        Setting("population_size", "int", 20, "Cells in the population (the most recently told ones); also the "
                "number of random initial cells.", low=2, high=100_000),
        Setting("sample_size", "int", 5, "Population members drawn for each tournament (at most population_size).",
                low=1, high=100_000),
        Setting("mutation_tries", "int", 100, "Mutations tried for a new child before a random cell is taken.",
                low=1, high=100_000),
        INFEASIBLE_ORDER_SETTING,
    )

    @classmethod
    def check_settings(cls, settings: dict[str, Any]) -> None:
        p, s = settings["population_size"], settings["sample_size"]
        if not 1 <= s <= p:
            raise ConfigError(f"regularized evolution needs population_size >= 2 and 1 <= sample_size <= "
                              f"population_size, got {p} and {s}")

    def ask(self, n: int) -> list[Any]:
        pending: set[str] = set()
        cells = []
        population = int(self.settings["population_size"])
        for _ in range(n):
            initial = len(self.history_obs) + len(cells) < population
            cell = self.random_new_cell(pending) if initial else self._child(pending)
            pending.add(self.moves.cell_id(cell))
            cells.append(cell)
        return cells

    def _child(self, pending: set[str]) -> Any:
        population = int(self.settings["population_size"])
        fitness = self.fitness()
        members = list(range(max(0, len(self.history_obs) - population), len(self.history_obs)))
        sample = self.rng.choice(members, size=int(self.settings["sample_size"]), replace=False)
        parent = self.history_cells[max(sample.tolist(), key=lambda i: (fitness[i], -i))]
        for _ in range(int(self.settings["mutation_tries"])):
            child = self.moves.mutate(parent, self.rng)
            if self.is_new(child, pending):
                return child
            parent = child if self.in_domain(child) else parent  # random walk out of a visited region
        return self.random_new_cell(pending)
