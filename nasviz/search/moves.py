"""Elementary moves of a search space used by the strategies: random cells, one-edit mutations,
neighbourhoods and a categorical parametrisation (for TPE).

NB201 is handled exactly here (one op change on one of the 6 edges). Other spaces provide the
moves through optional methods on their :class:`SearchSpace` (``mutate(cell, rng)``,
``neighbours(cell)``, ``search_params()``, ``cell_params(cell)``, ``cell_from_params(params)``,
``cell_from_id(cell_id)``); a space without them raises a ConfigError naming what is missing.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nasviz.errors import CellError, ConfigError
from nasviz.spaces import SearchSpace, get_space


class SpaceMoves:
    """Moves of one space; subclasses implement them for a concrete cell type."""

    def __init__(self, space: SearchSpace) -> None:
        self.space = space
        self.name = space.name

    def cell_id(self, cell: Any) -> str:
        return self.space.cell_id(cell)

    def cell_from_id(self, cell_id: str) -> Any:
        if hasattr(self.space, "cell_from_id"):
            return self.space.cell_from_id(cell_id)
        raise ConfigError(f"space {self.name} cannot rebuild a cell from its id {cell_id!r}")

    def random_cell(self, rng: np.random.Generator) -> Any:
        return self.space.sample(1, int(rng.integers(2**31 - 1)))[0]

    def mutate(self, cell: Any, rng: np.random.Generator) -> Any:
        if hasattr(self.space, "mutate"):
            return self.space.mutate(cell, rng)
        raise ConfigError(f"space {self.name} has no mutation move yet; use random or tpe")

    def neighbours(self, cell: Any) -> list[Any]:
        if hasattr(self.space, "neighbours"):
            return list(self.space.neighbours(cell))
        raise ConfigError(f"space {self.name} has no neighbourhood yet; use random or tpe")

    def param_choices(self) -> dict[str, list[str]]:
        if hasattr(self.space, "search_params"):
            return dict(self.space.search_params())
        raise ConfigError(f"space {self.name} has no categorical parametrisation for TPE yet")

    def cell_params(self, cell: Any) -> dict[str, str]:
        return dict(self.space.cell_params(cell))

    def cell_from_params(self, params: dict[str, str]) -> Any | None:
        """The cell the parameters stand for, or None when they define no valid cell."""
        try:
            cell = self.space.cell_from_params(params)
        except CellError:
            return None
        return cell if self.space.is_valid(cell).valid else None


class NB201Moves(SpaceMoves):
    """NB201: a mutation changes the op of one edge; the neighbourhood is the 24 such cells."""

    def __init__(self, space: SearchSpace) -> None:
        super().__init__(space)
        from nasviz.spaces import nb201

        self._nb201 = nb201

    def cell_from_id(self, cell_id: str) -> Any:
        try:
            return self._nb201.cell_from_index(int(cell_id))
        except ValueError:
            raise CellError(f"bad NB201 cell id {cell_id!r}: expected an index 0..15624") from None

    def random_cell(self, rng: np.random.Generator) -> Any:
        return self._nb201.cell_from_code(int(rng.integers(self._nb201.NUM_CELLS)))

    def mutate(self, cell: Any, rng: np.random.Generator) -> Any:
        ops = list(cell.ops)
        edge = int(rng.integers(len(ops)))
        others = [op for op in self._nb201.OPS if op != ops[edge]]
        ops[edge] = others[int(rng.integers(len(others)))]
        return self._nb201.NB201Cell(tuple(ops))

    def neighbours(self, cell: Any) -> list[Any]:
        out = []
        for edge in range(len(cell.ops)):
            for op in self._nb201.OPS:
                if op != cell.ops[edge]:
                    ops = list(cell.ops)
                    ops[edge] = op
                    out.append(self._nb201.NB201Cell(tuple(ops)))
        return out

    def param_choices(self) -> dict[str, list[str]]:
        return {f"edge{i}_{src}to{dst}": list(self._nb201.OPS) for i, (src, dst) in enumerate(self._nb201.EDGES)}

    def cell_params(self, cell: Any) -> dict[str, str]:
        return dict(zip(self.param_choices(), cell.ops, strict=True))

    def cell_from_params(self, params: dict[str, str]) -> Any | None:
        return self._nb201.NB201Cell(tuple(params[name] for name in self.param_choices()))


def moves_for(space: SearchSpace | str) -> SpaceMoves:
    """The moves of a space (by object or name)."""
    if isinstance(space, str):
        space = get_space(space)
    if space.name == "nb201":
        return NB201Moves(space)
    return SpaceMoves(space)
