"""Trained graph autoencoders (arch2vec, GAE, VGAE) behind the :class:`Encoder` interface."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from nasviz.encoders.base import Encoder, GraphDataset, get_codec
from nasviz.encoders.models import GraphAutoencoder, ModelConfig
from nasviz.errors import ConfigError, DataError
from nasviz.progress import ProgressCallback, no_progress

CHECKPOINT = "checkpoint.pt"


def load_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """A checkpoint's state dict, read with ``weights_only=True`` (no arbitrary unpickling)."""
    if not path.exists():
        raise DataError(f"no checkpoint at {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch raises many types for corrupt or unsafe files
        raise DataError(f"cannot read checkpoint {path}: {exc}") from None
    if not isinstance(state, dict):
        raise DataError(f"checkpoint {path} does not hold a state dict")
    return state


def state_dict_bytes(model: torch.nn.Module) -> bytes:
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.getvalue()


class GraphAEEncoder(Encoder):
    """A graph autoencoder over the arch2vec graph encoding of one space."""

    has_decoder = True
    kind: ClassVar[str] = ""

    def __init__(self, space: str, model: GraphAutoencoder, manifest: dict[str, Any] | None = None) -> None:
        super().__init__(space, manifest)
        self.codec = get_codec(space)
        if model.cfg.num_nodes != self.codec.num_nodes or model.cfg.num_ops != self.codec.num_ops:
            raise ConfigError(f"{self.name} model of shape {model.cfg.num_nodes} nodes x {model.cfg.num_ops} ops does not "
                              f"fit the {space} graph encoding ({self.codec.num_nodes} x {self.codec.num_ops})")
        self.model = model.eval()

    @property
    def dim(self) -> int:
        return self.model.cfg.latent_dim

    # ---- encoding ----------------------------------------------------------------------------
    def graphs(self, cells: Sequence[Any]) -> GraphDataset:
        return self.codec.dataset(cells, cell_ids=[str(i) for i in range(len(cells))])

    @torch.no_grad()
    def encode_graphs(self, data: GraphDataset, batch_size: int = 2048,
                      progress: ProgressCallback = no_progress) -> np.ndarray:
        """Per-node means mu, float32 (n, V, latent)."""
        self.model.eval()
        out = np.zeros((len(data), data.num_nodes, self.dim), dtype=np.float32)
        for start in range(0, len(data), batch_size):
            stop = min(start + batch_size, len(data))
            adj = torch.from_numpy(data.adjacency[start:stop].astype(np.float32))
            ops = torch.from_numpy(data.ops[start:stop])
            mu, _ = self.model.encode(adj, ops)
            out[start:stop] = mu.numpy()
            progress(stop, len(data), "embedding")
        return out

    def encode(self, cells: Sequence[Any]) -> np.ndarray:
        return self.encode_graphs(self.graphs(cells))

    def embed(self, cells: Sequence[Any], progress: ProgressCallback = no_progress) -> np.ndarray:
        """Graph embedding = mean over nodes of mu (the arch2vec feature)."""
        return self.encode_graphs(self.graphs(cells), progress=progress).mean(axis=1)

    # ---- decoding ----------------------------------------------------------------------------
    def _latent_tensor(self, latent: np.ndarray) -> torch.Tensor:
        z = np.asarray(latent, dtype=np.float32)
        if z.ndim == 2 and z.shape == (self.codec.num_nodes, self.dim):
            z = z[None]
        if z.ndim != 3 or z.shape[1:] != (self.codec.num_nodes, self.dim):
            raise ConfigError(f"{self.name} decodes per-node latents of shape (n, {self.codec.num_nodes}, {self.dim}), "
                              f"got {tuple(np.shape(latent))}")
        return torch.from_numpy(z)

    def decode_probs(self, latent: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(adjacency probabilities (n, V, V), op probabilities (n, V, K))."""
        adj_prob, op_prob = self.model.decode_probs(self._latent_tensor(latent))
        return adj_prob.numpy(), op_prob.numpy()

    def decode(self, latent: np.ndarray, constrained: bool = False) -> list[Any | None]:
        adj_prob, op_prob = self.decode_probs(latent)
        return self.codec.decode_probs(adj_prob, op_prob, constrained=constrained)

    def sample_prior(self, n: int, seed: int) -> np.ndarray:
        """z ~ N(0, I) per node, rescaled by the per-(node, dimension) mean and std of training mu."""
        rng = np.random.default_rng(seed)
        eps = rng.standard_normal((n, self.codec.num_nodes, self.dim)).astype(np.float32)
        return eps * self.model.prior_std.numpy() + self.model.prior_mean.numpy()

    # ---- persistence -------------------------------------------------------------------------
    @classmethod
    def load_dir(cls, directory: Path, space: str) -> GraphAEEncoder:
        manifest = cls.read_manifest(directory, cls.name, space)
        try:
            cfg = ModelConfig(**manifest["model"])
        except (KeyError, TypeError) as exc:
            raise DataError(f"{directory / 'manifest.json'} has no valid 'model' configuration: {exc}") from None
        model = GraphAutoencoder(cfg)
        state = load_state_dict(directory / CHECKPOINT)
        try:
            model.load_state_dict(state)
        except RuntimeError as exc:
            raise DataError(f"checkpoint {directory / CHECKPOINT} does not match its manifest: {exc}") from None
        return cls(space, model, manifest)


class Arch2VecEncoder(GraphAEEncoder):
    name = "arch2vec"
    title = "arch2vec (variational GIN autoencoder)"


class VGAEEncoder(GraphAEEncoder):
    name = "vgae"
    title = "VGAE (variational GCN autoencoder)"


class GAEEncoder(GraphAEEncoder):
    name = "gae"
    title = "GAE (GCN autoencoder)"


GRAPH_ENCODERS: dict[str, type[GraphAEEncoder]] = {c.name: c for c in (Arch2VecEncoder, VGAEEncoder, GAEEncoder)}
