"""Random search: cells drawn uniformly (without repetition) from the domain."""

from __future__ import annotations

from typing import Any

from nasviz.search.base import Strategy


class RandomSearch(Strategy):
    name = "random"
    title = "Random search"

    def ask(self, n: int) -> list[Any]:
        return self.random_new_cells(n)
