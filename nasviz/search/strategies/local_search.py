"""Local search (White et al., 2021): steepest ascent over one-edit neighbourhoods with restarts.

Start from the best of ``initial_samples`` random cells; query the unvisited neighbours of the
current cell in random order; when they are all known, move to the best neighbour if it beats
the current cell, otherwise restart from a random cell. Comparisons use the AG-Net penalised
ranking under a latency constraint (AG-Net appendix: 16 initial samples help under constraints).
"""

from __future__ import annotations

from typing import Any

from nasviz.search.base import INFEASIBLE_ORDER_SETTING, SearchContext, Strategy
from nasviz.settings import Setting


class LocalSearch(Strategy):
    name = "ls"
    title = "Local search"
    setting_fields = (
        Setting("initial_samples", "int", 16, "Random cells before the first climb; it starts from the best.",
                low=1, high=100_000),
        INFEASIBLE_ORDER_SETTING,
    )

    def __init__(self, context: SearchContext, seed: int, **settings: Any) -> None:
        super().__init__(context, seed, **settings)
        self.center: str | None = None
        self.queue: list[Any] = []

    def _index(self) -> dict[str, int]:
        return {cid: i for i, cid in enumerate(self.history_ids)}

    def _new_neighbours(self, cell: Any, pending: set[str]) -> list[Any]:
        cells = [c for c in self.moves.neighbours(cell) if self.is_new(c, pending)]
        order = self.rng.permutation(len(cells))
        return [cells[i] for i in order]

    def _advance(self, pending: set[str]) -> Any | None:
        """Move the center until it has unvisited neighbours; None means: restart with a random cell."""
        index = self._index()
        fitness = self.fitness()
        for _ in range(len(self.history_ids) + 1):
            if self.center is None:
                return None
            center_cell = self.history_cells[index[self.center]]
            self.queue = self._new_neighbours(center_cell, pending)
            if self.queue:
                return self.queue.pop(0)
            known = [index[self.moves.cell_id(c)] for c in self.moves.neighbours(center_cell)
                     if self.moves.cell_id(c) in index]
            best = max(known, key=lambda i: (fitness[i], -i), default=None)
            if best is not None and fitness[best] > fitness[index[self.center]]:
                self.center = self.history_ids[best]
            else:
                self.center = None  # local optimum: restart
        return None

    def ask(self, n: int) -> list[Any]:
        pending: set[str] = set()
        cells = []
        for _ in range(n):
            cell = None
            if len(self.history_obs) + len(cells) >= int(self.settings["initial_samples"]):
                while self.queue and not self.is_new(self.queue[0], pending):
                    self.queue.pop(0)
                cell = self.queue.pop(0) if self.queue else (self._advance(pending) if self.center is not None else None)
            if cell is None:
                cell = self.random_new_cell(pending)
            pending.add(self.moves.cell_id(cell))
            cells.append(cell)
        return cells

    def _after_tell(self, cells: list[Any], observations: list[Any]) -> None:
        initial = int(self.settings["initial_samples"])
        n = len(self.history_obs)
        if n < initial or self.center is not None:
            return
        # after the initial sample, or after a restart's random cell: start from the best cell told since
        fitness = self.fitness()
        start = 0 if n - len(cells) < initial else n - len(cells)
        best = max(range(start, n), key=lambda i: (fitness[i], -i))
        self.center = self.history_ids[best]
        self.queue = []
