"""Walks through an encoder's latent space (arch2vec figures 2 and 3).

- :func:`nearest_neighbour_walk`: from a start cell, repeatedly move to the nearest *unvisited* cell of the
  embedding table (L2), as arch2vec's ``visgraph.py`` does: the walk looks existing cells up, it does not
  decode latents. Each step records the cell, its L2 distance and edit distance to the previous cell and the
  change of a metric.
- :func:`compare_walks`: the same walk under two encoders, with their mean edit distances (figure 2 compares
  arch2vec, mean 2.9, with a supervised encoder, mean 8.9, on NB101).
- :func:`decode_walk`: linear interpolation between two cells' latents decoded through an encoder's decoder,
  with invalid decodes flagged.
- :func:`l2_vs_edit_distance`: L2 distance of cell pairs by their edit distance (figure 3).

Everything is vectorised numpy over the embedding table: a 15-step walk on the 15,625 NB201 cells takes
a few milliseconds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from nasviz.encoders.store import EmbeddingSet
from nasviz.errors import CellError, ConfigError
from nasviz.spaces import SearchSpace, get_space

MAX_STEPS = 200


# ---- cells from ids ------------------------------------------------------------------------

def cell_for_id(space: SearchSpace, cell_id: str) -> Any | None:
    """The cell with canonical id ``cell_id`` when the space can rebuild it from its id, else None.

    NB201 ids are official indices; other spaces may offer ``cell_from_id`` (or ``stored_cell``: NB101 module
    hashes of cells held by a stored embedding table) or ids that parse as cells.
    """
    from_id = getattr(space, "cell_from_id", None) or getattr(space, "stored_cell", None)
    try:
        if callable(from_id):
            return from_id(cell_id)
        if space.name == "nb201":
            return space.parse(int(cell_id))
        return space.parse(cell_id)
    except (CellError, ValueError, TypeError):
        return None


def typed_cell_id(space: SearchSpace, text: str, embeddings: EmbeddingSet | None = None) -> str:
    """The canonical id of a typed cell (any format the space parses, or an id present in ``embeddings``).

    Raises :class:`CellError` naming the problem: unparsable text, an invalid cell, or a cell that the
    embedding table does not hold.
    """
    text = str(text).strip()
    if not text:
        raise CellError("empty input: type a cell")
    if embeddings is not None and text in embeddings.position():
        return text
    cell = space.parse(int(text)) if text.isdigit() and space.name == "nb201" else space.parse_text(text)
    validity = space.is_valid(cell)
    if not validity.valid:
        raise CellError(f"not a valid {space.title or space.name} cell: {validity.reason}")
    cell_id = space.cell_id(cell)
    if embeddings is not None and cell_id not in embeddings.position():
        raise CellError(f"cell {cell_id} is valid but has no {embeddings.encoder} embedding in this table")
    return cell_id


# ---- nearest-neighbour walks ---------------------------------------------------------------

@dataclass
class WalkStep:
    step: int
    position: int  # row in the embedding table
    cell_id: str
    l2: float  # latent distance to the previous cell (0 for the start)
    edit_distance: int | None  # to the previous cell (None for the start, or when unknown)
    metric: float = float("nan")
    metric_change: float = float("nan")


@dataclass
class Walk:
    """A sequence of cells through one encoder's latent space."""

    space: str
    encoder: str
    steps: list[WalkStep] = field(default_factory=list)
    metric_key: str | None = None

    def __len__(self) -> int:
        return len(self.steps)

    @property
    def cell_ids(self) -> list[str]:
        return [s.cell_id for s in self.steps]

    @property
    def edit_distances(self) -> list[int]:
        return [s.edit_distance for s in self.steps[1:] if s.edit_distance is not None]

    @property
    def mean_edit_distance(self) -> float:
        distances = self.edit_distances
        return float(np.mean(distances)) if distances else float("nan")

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([vars(s) for s in self.steps])


def _metric_lookup(metric: np.ndarray | dict[str, float] | None, embeddings: EmbeddingSet) -> Callable[[int], float]:
    if metric is None:
        return lambda _row: float("nan")
    if isinstance(metric, dict):
        ids = embeddings.cell_ids
        return lambda row: float(metric.get(str(ids[row]), float("nan")))
    values = np.asarray(metric, dtype=np.float64)
    if len(values) != len(embeddings):
        raise ConfigError(f"metric values ({len(values)}) are not aligned with the {len(embeddings)} embeddings")
    return lambda row: float(values[row])


def nearest_neighbour_walk(embeddings: EmbeddingSet, start: str, steps: int = 15, *,
                           space: SearchSpace | None = None, metric: np.ndarray | dict[str, float] | None = None,
                           metric_key: str | None = None, exclude: Sequence[str] = ()) -> Walk:
    """Walk ``steps`` moves from cell id ``start``, each to the L2-nearest cell not visited yet.

    ``metric``: values aligned with the embedding rows (or id -> value) reported with each step.
    ``exclude``: cell ids never visited (e.g. cells without metric values).
    """
    if not 0 <= steps <= MAX_STEPS:
        raise ConfigError(f"a walk has 0..{MAX_STEPS} steps, got {steps}")
    position = embeddings.position()
    if str(start) not in position:
        raise CellError(f"cell {start} has no {embeddings.encoder} embedding in the {embeddings.space} table")
    space = space or get_space(embeddings.space)
    vectors = np.ascontiguousarray(embeddings.vectors, dtype=np.float32)
    norms = np.einsum("ij,ij->i", vectors, vectors)
    blocked = np.zeros(len(vectors), dtype=bool)
    for cid in exclude:
        if cid in position:
            blocked[position[cid]] = True
    metric_of = _metric_lookup(metric, embeddings)
    ids = embeddings.cell_ids
    steps = min(steps, len(vectors) - 1 - int(blocked.sum()) + int(blocked[position[str(start)]]))

    current = position[str(start)]
    blocked[current] = True
    cells: dict[int, Any] = {current: cell_for_id(space, str(ids[current]))}
    first_metric = metric_of(current)
    walk = Walk(embeddings.space, embeddings.encoder, [WalkStep(0, current, str(ids[current]), 0.0, None, first_metric)],
                metric_key)
    for step in range(1, steps + 1):
        v = vectors[current]
        # squared L2 via the norm expansion: one matrix-vector product over the table
        d2 = norms - 2.0 * (vectors @ v) + norms[current]
        d2[blocked] = np.inf
        nxt = int(np.argmin(d2))
        if not np.isfinite(d2[nxt]):
            break
        blocked[nxt] = True
        cells[nxt] = cell_for_id(space, str(ids[nxt]))
        previous_cell, cell = cells[current], cells[nxt]
        edit = space.edit_distance(previous_cell, cell) if previous_cell is not None and cell is not None else None
        value = metric_of(nxt)
        l2 = float(np.linalg.norm(vectors[nxt] - v))  # exact distance for the record
        walk.steps.append(WalkStep(step, nxt, str(ids[nxt]), l2, edit, value, value - walk.steps[-1].metric))
        current = nxt
    return walk


def step_captions(walk: Walk) -> list[str]:
    """One caption per step: cell id, edit distance to the previous cell and the metric with its change."""
    out = []
    for s in walk.steps:
        parts = [f"step {s.step}: cell {s.cell_id}"]
        if s.edit_distance is not None:
            parts.append(f"edit distance {s.edit_distance}")
        if np.isfinite(s.metric):
            parts.append(f"{s.metric:.4g}" + (f" ({s.metric_change:+.3g})" if np.isfinite(s.metric_change) else ""))
        out.append(" · ".join(parts))
    return out


@dataclass
class WalkComparison:
    """The same walk under two encoders."""

    walks: tuple[Walk, Walk]

    @property
    def mean_edit_distances(self) -> tuple[float, float]:
        return self.walks[0].mean_edit_distance, self.walks[1].mean_edit_distance

    def to_frame(self) -> pd.DataFrame:
        frames = []
        for walk in self.walks:
            frame = walk.to_frame()
            frame.insert(0, "encoder", walk.encoder)
            frames.append(frame)
        return pd.concat(frames, ignore_index=True)


def compare_walks(first: EmbeddingSet, second: EmbeddingSet, start: str, steps: int = 15, **options: Any) -> WalkComparison:
    """The nearest-neighbour walk from ``start`` under two encoders of the same space."""
    if first.space != second.space:
        raise ConfigError(f"cannot compare walks across spaces ({first.space} vs {second.space})")
    return WalkComparison((nearest_neighbour_walk(first, start, steps, **options),
                           nearest_neighbour_walk(second, start, steps, **options)))


# ---- decoded walks -------------------------------------------------------------------------

@dataclass
class DecodedStep:
    step: int
    t: float  # interpolation weight: 0 = start cell, 1 = end cell
    cell: Any | None  # None when the decode is not a valid cell
    cell_id: str | None
    valid: bool
    edit_distance: int | None  # to the previous valid decode
    metric: float = float("nan")


@dataclass
class DecodedWalk:
    space: str
    encoder: str
    start_id: str
    end_id: str
    steps: list[DecodedStep]
    constrained: bool = False

    @property
    def validity(self) -> float:
        return float(np.mean([s.valid for s in self.steps])) if self.steps else float("nan")

    @property
    def distinct_cells(self) -> int:
        return len({s.cell_id for s in self.steps if s.valid})

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{k: v for k, v in vars(s).items() if k != "cell"} for s in self.steps])


def decode_walk(encoder: Any, start_cell: Any, end_cell: Any, steps: int = 10, *, constrained: bool = False,
                metric: Callable[[str], float] | None = None) -> DecodedWalk:
    """Decode ``steps + 1`` latents evenly spaced on the segment between two cells' latents.

    ``encoder`` is a trained :class:`nasviz.encoders.base.Encoder` with a decoder. Decodes that are not
    cells of the space come back invalid (``valid=False``), unless ``constrained`` restricts the decoder
    to legal cells.
    """
    if not getattr(encoder, "has_decoder", False):
        raise ConfigError(f"the {getattr(encoder, 'name', 'chosen')} encoder has no decoder; choose arch2vec, gae or vgae")
    if not 1 <= steps <= MAX_STEPS:
        raise ConfigError(f"a decoded walk has 1..{MAX_STEPS} steps, got {steps}")
    space = get_space(encoder.space)
    latents = np.asarray(encoder.encode([start_cell, end_cell]), dtype=np.float32)
    t = np.linspace(0.0, 1.0, steps + 1, dtype=np.float32)
    shape = (len(t),) + (1,) * (latents.ndim - 1)
    path = (1.0 - t.reshape(shape)) * latents[0] + t.reshape(shape) * latents[1]
    decoded = encoder.decode(path, constrained=constrained)
    out: list[DecodedStep] = []
    previous = None
    for i, (weight, cell) in enumerate(zip(t.tolist(), decoded, strict=True)):
        valid = cell is not None and space.is_valid(cell).valid
        cell_id = space.cell_id(cell) if valid else None
        edit = space.edit_distance(previous, cell) if valid and previous is not None else None
        value = metric(cell_id) if (metric is not None and cell_id is not None) else float("nan")
        out.append(DecodedStep(i, float(weight), cell if valid else None, cell_id, valid, edit, value))
        if valid:
            previous = cell
    return DecodedWalk(space.name, encoder.name, space.cell_id(start_cell), space.cell_id(end_cell), out, constrained)


# ---- L2 versus edit distance (figure 3) ----------------------------------------------------

def _nb201_op_matrix(cell_ids: Sequence[str]) -> np.ndarray:
    from nasviz.spaces.nb201 import OPS, cell_from_index

    return np.array([[OPS.index(op) for op in cell_from_index(int(c)).ops] for c in cell_ids], dtype=np.int8)


def _nb201_random_walk(n: int, rng: np.random.Generator) -> list[str]:
    """``n`` distinct NB201 cell ids, consecutive ones one edit apart (the paper's long random walk)."""
    from nasviz.spaces.nb201 import NUM_EDGES, OPS, NB201Cell

    current = tuple(int(x) for x in rng.integers(len(OPS), size=NUM_EDGES))
    seen = {current}
    out = [current]
    attempts = 0
    while len(out) < n and attempts < 50 * n:
        attempts += 1
        edge = int(rng.integers(NUM_EDGES))
        new = list(out[-1])
        new[edge] = int((new[edge] + rng.integers(1, len(OPS))) % len(OPS))
        if tuple(new) in seen:
            continue
        seen.add(tuple(new))
        out.append(tuple(new))
    return [str(NB201Cell(tuple(OPS[o] for o in ops)).index) for ops in out]


def l2_vs_edit_distance(embeddings: EmbeddingSet, n_cells: int = 400, seed: int = 0,
                        max_pairs: int = 50_000) -> pd.DataFrame:
    """L2 latent distance and edit distance of cell pairs: columns ``edit_distance``, ``l2``.

    On NB201 the cells are a long random walk with one edit between consecutive cells (as the paper's
    figure 3), so small edit distances are well represented; on other spaces they are sampled from the
    table. All pairs among the cells are used (at most ``max_pairs``, seeded subset).
    """
    rng = np.random.default_rng(seed)
    position = embeddings.position()
    space = get_space(embeddings.space)
    if space.name == "nb201":
        ids = [c for c in _nb201_random_walk(n_cells, rng) if c in position]
    else:
        chosen = rng.choice(len(embeddings), size=min(n_cells, len(embeddings)), replace=False)
        ids = [str(embeddings.cell_ids[i]) for i in chosen]
    if len(ids) < 2:
        raise ConfigError("not enough embedded cells to compare distances")
    rows = np.array([position[c] for c in ids])
    vectors = np.asarray(embeddings.vectors, dtype=np.float64)[rows]
    i, j = np.triu_indices(len(ids), k=1)
    if len(i) > max_pairs:
        keep = np.sort(rng.choice(len(i), size=max_pairs, replace=False))
        i, j = i[keep], j[keep]
    l2 = np.linalg.norm(vectors[i] - vectors[j], axis=1)
    if space.name == "nb201":
        ops = _nb201_op_matrix(ids)
        edit = (ops[i] != ops[j]).sum(axis=1)
    else:
        cells = [cell_for_id(space, c) for c in ids]
        edit = np.array([space.edit_distance(cells[a], cells[b]) if cells[a] is not None and cells[b] is not None
                         else -1 for a, b in zip(i.tolist(), j.tolist(), strict=True)])
        keep = edit >= 0
        i, j, l2, edit = i[keep], j[keep], l2[keep], edit[keep]
    return pd.DataFrame({"cell_a": [ids[a] for a in i], "cell_b": [ids[b] for b in j],
                         "edit_distance": edit.astype(int), "l2": l2.astype(float)})


def l2_summary(pairs: pd.DataFrame) -> pd.DataFrame:
    """Per edit distance: number of pairs, mean, median and quartiles of L2."""
    grouped = pairs.groupby("edit_distance")["l2"]
    return pd.DataFrame({"pairs": grouped.size(), "mean": grouped.mean(), "median": grouped.median(),
                         "q25": grouped.quantile(0.25), "q75": grouped.quantile(0.75)}).reset_index()
