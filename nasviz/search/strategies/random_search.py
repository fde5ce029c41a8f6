"""Random search: cells drawn uniformly (without repetition) from the domain."""

from __future__ import annotations

from typing import Any

from nasviz.search.base import Strategy


class RandomSearch(Strategy):
    name = "random"
    title = "Random search"
    defaults: dict[str, Any] = {}

    def ask(self, n: int) -> list[Any]:
        pending: set[str] = set()
        cells = []
        for _ in range(n):
            cell = self.random_new_cell(pending)
            pending.add(self.moves.cell_id(cell))
            cells.append(cell)
        return cells
