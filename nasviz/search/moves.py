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

    def is_degenerate(self, cell: Any) -> bool:
        """True for a cell whose output does not depend on its input (chance accuracy whatever it is trained on);
        False in spaces whose cells always connect input to output."""
        return False

    def functional_cell(self, cell: Any) -> Any:
        """The cell with every op that cannot influence the output replaced by the space's zero op (the same network
        function, so the same accuracy); the cell itself in spaces without such ops."""
        return cell

    def executed_cell(self, cell: Any) -> Any:
        """The cell with every op whose result never reaches the output replaced by the zero op: what a graph compiler
        still executes after dead-code elimination (the ops that cost latency); the cell itself by default."""
        return cell

    def path_tokens(self, cell: Any) -> list[tuple[str, ...]]:
        """The op sequence of every input-to-output path of the cell's graph (the path encoding of
        BANANAS, White et al. 2021), read from ``to_networkx``: edge ops (``op`` edge attribute) and
        interior node ops (``op`` node attribute of nodes whose role is ``op``) in path order. Paths
        through a ``none`` (zero) op carry nothing and are left out; pruned nodes are skipped."""
        import networkx as nx

        graph = self.space.to_networkx(cell)
        roles = nx.get_node_attributes(graph, "role")
        sources = [v for v, role in roles.items() if role == "input"]
        sinks = [v for v, role in roles.items() if role == "output"]
        out = []
        for source in sources:
            for sink in sinks:
                for path in nx.all_simple_paths(graph, source, sink):
                    if any(graph.nodes[v].get("pruned") for v in path):
                        continue
                    tokens: list[str] = []
                    for a, b in zip(path, path[1:], strict=False):
                        if (op := graph.edges[a, b].get("op")) is not None:
                            tokens.append(str(op))
                        if b != sink and roles.get(b) == "op" and graph.nodes[b].get("op") is not None:
                            tokens.append(str(graph.nodes[b]["op"]))
                    if "none" not in tokens:
                        out.append(tuple(tokens))
        return out

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

    def is_degenerate(self, cell: Any) -> bool:
        return self._nb201.is_degenerate(cell)

    def functional_cell(self, cell: Any) -> Any:
        live = self._nb201.live_edges(cell)
        return self._nb201.NB201Cell(tuple(op if on else "none" for op, on in zip(cell.ops, live, strict=True)))

    def executed_cell(self, cell: Any) -> Any:
        reaching = self._nb201.edges_reaching_output(cell)
        return self._nb201.NB201Cell(tuple(op if on else "none" for op, on in zip(cell.ops, reaching, strict=True)))

    def param_choices(self) -> dict[str, list[str]]:
        return {f"edge{i}_{src}to{dst}": list(self._nb201.OPS) for i, (src, dst) in enumerate(self._nb201.EDGES)}

    def cell_params(self, cell: Any) -> dict[str, str]:
        return dict(zip(self.param_choices(), cell.ops, strict=True))

    def cell_from_params(self, params: dict[str, str]) -> Any | None:
        return self._nb201.NB201Cell(tuple(params[name] for name in self.param_choices()))


class NB101Moves(SpaceMoves):
    """NB101 on the padded 7-vertex representation: a mutation flips one upper-triangular edge or
    changes one interior op (NAS-Bench-101's RE mutation), repeated until the cell is valid; cells are
    kept pruned. TPE sees 21 edge bits and 5 interior ops (invalid combinations are failed trials).
    Cells are rebuilt from ids only for cells seen in this process (hashes are one-way)."""

    def __init__(self, space: SearchSpace) -> None:
        super().__init__(space)
        from nasviz.spaces import nb101

        self._nb101 = nb101
        self._n = nb101.MAX_VERTICES
        self._pairs = [(i, j) for i in range(self._n) for j in range(i + 1, self._n)]
        self._seen: dict[str, Any] = {}

    def cell_id(self, cell: Any) -> str:
        cid = self.space.cell_id(cell)
        self._seen.setdefault(cid, cell)
        return cid

    def cell_from_id(self, cell_id: str) -> Any:
        if cell_id in self._seen:
            return self._seen[cell_id]
        raise ConfigError(f"NB101 cell {cell_id} cannot be rebuilt from its hash; search NB101 without a "
                          "restricted domain (live evaluator) or with a strategy that does not sample the table")

    def _padded(self, cell: Any) -> tuple[np.ndarray, list[str]]:
        matrix = np.zeros((self._n, self._n), dtype=np.int64)
        k = cell.num_vertices
        matrix[: k - 1, : k - 1] = cell.to_numpy()[: k - 1, : k - 1]
        matrix[: k - 1, self._n - 1] = cell.to_numpy()[: k - 1, k - 1]
        ops = list(cell.ops[: k - 1]) + [self._nb101.OPS[0]] * (self._n - k) + [self._nb101.OUTPUT]
        return matrix, ops

    def _make(self, matrix: np.ndarray, ops: list[str]) -> Any | None:
        cell = self._nb101.NB101Cell(tuple(tuple(int(x) for x in row) for row in matrix), tuple(ops))
        return self.space.prune(cell) if self.space.is_valid(cell).valid else None

    def random_cell(self, rng: np.random.Generator) -> Any:
        return self.space.sample(1, int(rng.integers(2**31 - 1)))[0]

    def _edits(self, cell: Any) -> list[tuple[np.ndarray, list[str]]]:
        matrix, ops = self._padded(cell)
        out = []
        for i, j in self._pairs:
            m = matrix.copy()
            m[i, j] = 1 - m[i, j]
            out.append((m, ops))
        for v in range(1, self._n - 1):
            for op in self._nb101.OPS:
                if op != ops[v]:
                    out.append((matrix, [*ops[:v], op, *ops[v + 1:]]))
        return out

    def mutate(self, cell: Any, rng: np.random.Generator) -> Any:
        edits = self._edits(cell)
        for index in rng.permutation(len(edits)):
            made = self._make(*edits[int(index)])
            if made is not None and self.space.cell_id(made) != self.space.cell_id(cell):
                return made
        return self.random_cell(rng)

    def neighbours(self, cell: Any) -> list[Any]:
        out, seen = [], {self.space.cell_id(cell)}
        for edit in self._edits(cell):
            made = self._make(*edit)
            if made is not None and (cid := self.space.cell_id(made)) not in seen:
                seen.add(cid)
                out.append(made)
        return out

    def param_choices(self) -> dict[str, list[str]]:
        edges = {f"edge{i}{j}": ["0", "1"] for i, j in self._pairs}
        return {**edges, **{f"op{v}": list(self._nb101.OPS) for v in range(1, self._n - 1)}}

    def cell_params(self, cell: Any) -> dict[str, str]:
        matrix, ops = self._padded(cell)
        out = {f"edge{i}{j}": str(int(matrix[i, j])) for i, j in self._pairs}
        return {**out, **{f"op{v}": ops[v] for v in range(1, self._n - 1)}}

    def cell_from_params(self, params: dict[str, str]) -> Any | None:
        matrix = np.zeros((self._n, self._n), dtype=np.int64)
        for i, j in self._pairs:
            matrix[i, j] = int(params[f"edge{i}{j}"])
        ops = [self._nb101.INPUT, *(params[f"op{v}"] for v in range(1, self._n - 1)), self._nb101.OUTPUT]
        return self._make(matrix, ops)


def moves_for(space: SearchSpace | str) -> SpaceMoves:
    """The moves of a space (by object or name)."""
    if isinstance(space, str):
        space = get_space(space)
    if space.name == "nb201":
        return NB201Moves(space)
    if space.name == "nb101":
        return NB101Moves(space)
    return SpaceMoves(space)
