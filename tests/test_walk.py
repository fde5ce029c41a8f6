"""Latent-space walks: nearest unvisited neighbour, two-encoder comparison, decoded walks, L2 vs edit distance."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nasviz.encoders.base import Encoder
from nasviz.encoders.store import EmbeddingSet
from nasviz.errors import CellError, ConfigError
from nasviz.spaces import get_space
from nasviz.spaces.nb201 import OPS, NB201Cell, cell_from_index, enumerate_cells
from nasviz.walk import (
    compare_walks,
    decode_walk,
    l2_summary,
    l2_vs_edit_distance,
    nearest_neighbour_walk,
    typed_cell_id,
)

NB201 = get_space("nb201")


def _line_embeddings(positions: dict[str, float]) -> EmbeddingSet:
    ids = np.array(list(positions))
    vectors = np.zeros((len(ids), 3), dtype=np.float32)
    vectors[:, 0] = list(positions.values())
    return EmbeddingSet("nb201", "line", ids, vectors)


def _one_hot(cells: Sequence[NB201Cell]) -> np.ndarray:
    out = np.zeros((len(cells), 30), dtype=np.float32)
    for i, cell in enumerate(cells):
        for edge, op in enumerate(cell.ops):
            out[i, 5 * edge + OPS.index(op)] = 1.0
    return out


def test_walk_visits_nearest_unvisited_without_revisits() -> None:
    # on a line: from 0 the nearest is 1; from 1 the nearest unvisited is 2.2 (0 is visited, -1.5 farther),
    # then 5 (2.8 away) beats -1.5 (3.7 away); then -1.5 is the only one left nearer than 40
    embeddings = _line_embeddings({"10": 0.0, "11": 1.0, "12": -1.5, "13": 2.2, "14": 5.0, "15": 40.0})
    walk = nearest_neighbour_walk(embeddings, "10", steps=4)
    assert walk.cell_ids == ["10", "11", "13", "14", "12"]
    assert len(set(walk.cell_ids)) == len(walk.cell_ids)
    assert [round(s.l2, 5) for s in walk.steps] == [0.0, 1.0, 1.2, 2.8, 6.5]
    expected = [NB201.edit_distance(cell_from_index(int(a)), cell_from_index(int(b)))
                for a, b in zip(walk.cell_ids, walk.cell_ids[1:], strict=False)]
    assert walk.edit_distances == expected
    assert walk.steps[0].edit_distance is None
    assert walk.mean_edit_distance == pytest.approx(np.mean(expected))
    # more steps than cells: the walk stops when every cell is visited
    full = nearest_neighbour_walk(embeddings, "10", steps=50)
    assert len(full) == 6 and sorted(full.cell_ids) == sorted(embeddings.cell_ids.tolist())


def test_walk_reports_metric_changes_and_respects_exclusions() -> None:
    embeddings = _line_embeddings({"10": 0.0, "11": 1.0, "12": -1.5, "13": 2.2})
    metric = np.array([90.0, 91.5, 80.0, 89.0])
    walk = nearest_neighbour_walk(embeddings, "10", steps=2, metric=metric, metric_key="acc", exclude=["11"])
    assert walk.cell_ids == ["10", "12", "13"]
    assert [s.metric for s in walk.steps] == [90.0, 80.0, 89.0]
    assert np.isnan(walk.steps[0].metric_change) and walk.steps[1].metric_change == -10.0
    frame = walk.to_frame()
    assert list(frame["cell_id"]) == ["10", "12", "13"] and frame["metric_change"].iloc[2] == 9.0
    by_id = nearest_neighbour_walk(embeddings, "10", steps=1, metric={"11": 1.0, "10": 0.5})
    assert by_id.steps[1].metric_change == 0.5


def test_walk_errors() -> None:
    embeddings = _line_embeddings({"10": 0.0, "11": 1.0})
    with pytest.raises(CellError, match="cell 99 has no line embedding"):
        nearest_neighbour_walk(embeddings, "99")
    with pytest.raises(ConfigError, match="0..200 steps"):
        nearest_neighbour_walk(embeddings, "10", steps=-1)
    with pytest.raises(ConfigError, match="not aligned"):
        nearest_neighbour_walk(embeddings, "10", metric=np.zeros(5))


def test_typed_cells() -> None:
    embeddings = _line_embeddings({"10": 0.0, "6111": 1.0})
    assert typed_cell_id(NB201, "6111", embeddings) == "6111"
    arch = cell_from_index(6111).arch_str
    assert typed_cell_id(NB201, arch, embeddings) == "6111"
    assert typed_cell_id(NB201, '{"index": 10}', embeddings) == "10"
    with pytest.raises(CellError, match="malformed NB201 arch string"):
        typed_cell_id(NB201, "|nor_conv_3x3~0|+|", embeddings)
    with pytest.raises(CellError, match="unknown NB201 op 'conv9x9'"):
        typed_cell_id(NB201, '["conv9x9", "none", "none", "none", "none", "none"]', embeddings)
    with pytest.raises(CellError, match="has no line embedding"):
        typed_cell_id(NB201, cell_from_index(12).arch_str, embeddings)
    with pytest.raises(CellError, match="out of range"):
        typed_cell_id(NB201, "99999", embeddings)
    with pytest.raises(CellError, match="empty"):
        typed_cell_id(NB201, "  ", embeddings)


def test_one_hot_walk_moves_one_edit_at_a_time_and_comparison() -> None:
    cells = enumerate_cells()
    one_hot = EmbeddingSet("nb201", "onehot", np.array([str(c.index) for c in cells]), _one_hot(cells))
    rng = np.random.default_rng(0)
    scrambled = EmbeddingSet("nb201", "scrambled", one_hot.cell_ids,
                             rng.normal(size=(len(cells), 16)).astype(np.float32))
    comparison = compare_walks(one_hot, scrambled, "6111", steps=15)
    walk_a, walk_b = comparison.walks
    # with one-hot vectors L2 = sqrt(2 * edit distance): the nearest unvisited cell is always one edit away
    assert walk_a.edit_distances == [1] * 15
    assert comparison.mean_edit_distances[0] == 1.0
    assert comparison.mean_edit_distances[1] > 3.0  # random vectors ignore structure
    assert len(set(walk_b.cell_ids)) == 16
    assert set(comparison.to_frame()["encoder"]) == {"onehot", "scrambled"}
    with pytest.raises(ConfigError, match="across spaces"):
        compare_walks(one_hot, EmbeddingSet("nb101", "x", one_hot.cell_ids[:2], one_hot.vectors[:2]), "6111")


def test_l2_versus_edit_distance_on_one_hot() -> None:
    cells = enumerate_cells()
    one_hot = EmbeddingSet("nb201", "onehot", np.array([str(c.index) for c in cells]), _one_hot(cells))
    pairs = l2_vs_edit_distance(one_hot, n_cells=200, seed=1)
    assert len(pairs) == 200 * 199 // 2
    assert np.allclose(pairs["l2"], np.sqrt(2 * pairs["edit_distance"]))
    summary = l2_summary(pairs)
    assert list(summary["edit_distance"]) == [1, 2, 3, 4, 5, 6]
    assert summary.loc[summary["edit_distance"] == 1, "pairs"].item() >= 199  # consecutive cells of the walk
    assert (np.diff(summary["mean"]) > 0).all()
    assert l2_vs_edit_distance(one_hot, n_cells=200, seed=1).equals(pairs)  # seeded


class OneHotEncoder(Encoder):
    """The exact one-hot encoding of NB201 edge ops with its exact inverse (argmax per edge); a block whose
    largest entry is not above 0.5 is ambiguous and decodes as invalid."""

    name = "onehot"
    has_decoder = True

    @property
    def dim(self) -> int:
        return 30

    def embed(self, cells: Sequence[Any], progress: Any = None) -> np.ndarray:
        return _one_hot([NB201.parse(c) for c in cells])

    def decode(self, latent: np.ndarray, constrained: bool = False) -> list[Any | None]:
        out: list[Any | None] = []
        for row in np.asarray(latent).reshape(len(latent), 6, 5):
            if not constrained and (row.max(axis=1) <= 0.5).any():
                out.append(None)
                continue
            out.append(NB201Cell(tuple(OPS[i] for i in row.argmax(axis=1))))
        return out

    @classmethod
    def load_dir(cls, directory: Path, space: str) -> Encoder:
        return cls(space)


def test_decode_walk_flags_invalid_decodes() -> None:
    encoder = OneHotEncoder("nb201")
    start, end = cell_from_index(6111), cell_from_index(0)
    walk = decode_walk(encoder, start, end, steps=4, metric=lambda cid: float(cid))
    assert [s.t for s in walk.steps] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert [s.valid for s in walk.steps] == [True, True, False, True, True]
    assert walk.steps[0].cell_id == "6111" and walk.steps[-1].cell_id == "0"
    assert walk.steps[2].cell is None and walk.steps[2].cell_id is None
    assert walk.steps[3].edit_distance == NB201.edit_distance(start, end)  # from the last valid decode
    assert walk.validity == pytest.approx(0.8) and walk.distinct_cells == 2
    assert walk.steps[4].metric == 0.0
    constrained = decode_walk(encoder, start, end, steps=4, constrained=True)
    assert all(s.valid for s in constrained.steps)
    assert "cell" not in walk.to_frame().columns


def test_decode_walk_needs_a_decoder() -> None:
    class NoDecoder(OneHotEncoder):
        name = "nodec"
        has_decoder = False

    with pytest.raises(ConfigError, match="has no decoder"):
        decode_walk(NoDecoder("nb201"), cell_from_index(1), cell_from_index(2))
