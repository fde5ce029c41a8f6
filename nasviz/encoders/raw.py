"""The ``raw`` baseline: flattened one-hot ops followed by the upper-triangular adjacency (no learning)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nasviz.encoders.base import Encoder, GraphDataset, get_codec
from nasviz.encoders.store import find_model_dir
from nasviz.errors import ConfigError
from nasviz.progress import ProgressCallback, no_progress


class RawEncoder(Encoder):
    name = "raw"
    title = "raw (one-hot ops + adjacency)"
    has_decoder = True

    def __init__(self, space: str, manifest: dict[str, Any] | None = None) -> None:
        super().__init__(space, manifest)
        self.codec = get_codec(space)
        self._upper = np.triu_indices(self.codec.num_nodes, 1)

    @property
    def dim(self) -> int:
        v, k = self.codec.num_nodes, self.codec.num_ops
        return v * k + v * (v - 1) // 2

    def vectors(self, data: GraphDataset) -> np.ndarray:
        ops = data.ops.reshape(len(data), -1)
        adj = data.adjacency[:, self._upper[0], self._upper[1]].astype(np.float32)
        return np.concatenate([ops, adj], axis=1).astype(np.float32)

    def embed(self, cells: Sequence[Any], progress: ProgressCallback = no_progress) -> np.ndarray:
        data = self.codec.dataset(cells, cell_ids=[str(i) for i in range(len(cells))])
        progress(len(cells), len(cells), "embedding")
        return self.vectors(data)

    def decode(self, latent: np.ndarray, constrained: bool = False) -> list[Any | None]:
        z = np.atleast_2d(np.asarray(latent, dtype=np.float32))
        if z.ndim != 2 or z.shape[1] != self.dim:
            raise ConfigError(f"raw {self.space} vectors have {self.dim} entries, got shape {tuple(np.shape(latent))}")
        v, k = self.codec.num_nodes, self.codec.num_ops
        op_prob = z[:, : v * k].reshape(-1, v, k)
        adj_prob = np.zeros((len(z), v, v), dtype=np.float32)
        adj_prob[:, self._upper[0], self._upper[1]] = z[:, v * k:]
        return self.codec.decode_probs(adj_prob, op_prob, constrained=constrained)

    @classmethod
    def load(cls, space: str) -> RawEncoder:
        """The raw encoder needs no training: load the stored manifest when there is one."""
        directory = find_model_dir(space, cls.name)
        return cls.load_dir(directory, space) if directory is not None else cls(space)

    @classmethod
    def load_dir(cls, directory: Path, space: str) -> RawEncoder:
        return cls(space, cls.read_manifest(directory, cls.name, space))
