"""Shared by the arch2vec strategies: the table of pre-trained embeddings the search moves in."""

from __future__ import annotations

from typing import Any

import numpy as np

from nasviz.errors import ConfigError, DataError
from nasviz.search.base import SearchContext


class LatentTable:
    """Embeddings of the cells a query may return (the strategy's candidates), row-aligned with ids."""

    def __init__(self, context: SearchContext, encoder: str) -> None:
        embeddings = context.resources.get(f"embeddings:{encoder}")
        if embeddings is None:
            raise DataError(f"no {encoder} embeddings were loaded for {context.moves.name}; "
                            f"train them with `nasviz encoders train {encoder} --space {context.moves.name}`")
        ids = np.asarray(embeddings.cell_ids).astype(str)
        vectors = np.asarray(embeddings.vectors, dtype=np.float64)
        if context.domain is not None:
            allowed = set(context.domain)
            keep = np.array([cid in allowed for cid in ids], dtype=bool)
            ids, vectors = ids[keep], vectors[keep]
        if len(ids) < 2:
            raise ConfigError(f"the {encoder} embeddings cover fewer than 2 cells of the search domain")
        self.encoder = encoder
        self.ids: list[str] = ids.tolist()
        self.vectors = vectors
        self.row = {cid: i for i, cid in enumerate(self.ids)}
        self.manifest: dict[str, Any] = dict(getattr(embeddings, "manifest", {}) or {})

    def __len__(self) -> int:
        return len(self.ids)

    def rows_of(self, cell_ids: list[str]) -> np.ndarray:
        missing = [cid for cid in cell_ids if cid not in self.row]
        if missing:
            raise DataError(f"{len(missing)} queried cell(s) have no {self.encoder} embedding, e.g. {missing[0]}")
        return np.array([self.row[cid] for cid in cell_ids], dtype=np.int64)

    def nearest_unvisited(self, point: np.ndarray, excluded: set[str]) -> int:
        """Row of the embedding nearest (L2) to ``point`` among the cells not in ``excluded``."""
        dist = ((self.vectors - point[None, :]) ** 2).sum(1)
        if excluded:
            mask = np.fromiter((cid in excluded for cid in self.ids), dtype=bool, count=len(self.ids))
            dist = np.where(mask, np.inf, dist)
        row = int(np.argmin(dist))
        if not np.isfinite(dist[row]):
            raise ConfigError("every cell with an embedding has been queried; lower the budget")
        return row
