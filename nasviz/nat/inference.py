"""The NAT policy's forward pass in NumPy, for inference without importing torch (``nasviz nat apply`` stays fast).

The weights come from ``policy.npz`` beside ``policy.pt``: the same state dict as float32 arrays (no pickle; read with
``np.load(..., allow_pickle=False)``), written by :func:`nasviz.nat.store.save_policy` or ``nasviz nat export-npz``.
:class:`NumpyPolicy` computes exactly what :meth:`nasviz.nat.policy.NatPolicy.logits` computes (the equivalence is
tested to 1e-5 on the per-edge probabilities): op / input embeddings -> linear -> two directed graph convolutions ->
per-slot action logits, masked by the rule, softmax per edge.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nasviz.errors import DataError
from nasviz.nat.features import ArrayBatch

#: key of the checkpoint's SHA-256 inside ``policy.npz`` (ties the NumPy weights to the torch checkpoint they mirror)
CHECKPOINT_HASH_KEY = "__checkpoint_sha256__"


@dataclass(frozen=True)
class PolicyConfig:
    """Sizes of the policy network."""

    edge_dim: int = 32
    hidden: int = 64
    max_nodes: int = 8

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _linear(x: np.ndarray, weights: dict[str, np.ndarray], name: str, bias: bool = True) -> np.ndarray:
    out = x @ weights[f"{name}.weight"].T
    return out + weights[f"{name}.bias"] if bias else out


def _relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0.0)


class NumpyPolicy:
    """The GCN transformer policy of one space, evaluated with NumPy (inference only)."""

    def __init__(self, weights: dict[str, np.ndarray], num_ops: int, num_inputs: int, max_in: int,
                 config: PolicyConfig | None = None) -> None:
        self.config = config or PolicyConfig()
        self.num_ops, self.num_inputs, self.max_in = num_ops, num_inputs, max_in
        c = self.config
        expected = {
            "op_embedding.weight": (num_ops + 1, c.edge_dim),
            "input_embedding.weight": (num_inputs + 2, max_in * c.edge_dim),
            "attribute.weight": (c.hidden, max_in * c.edge_dim + 1), "attribute.bias": (c.hidden,),
            "head.weight": (max_in * 3, c.hidden), "head.bias": (max_in * 3,),
        }
        for layer in ("gcn1", "gcn2"):
            expected.update({f"{layer}.self_weight.weight": (c.hidden, c.hidden), f"{layer}.self_weight.bias": (c.hidden,),
                             f"{layer}.in_weight.weight": (c.hidden, c.hidden),
                             f"{layer}.out_weight.weight": (c.hidden, c.hidden)})
        for key, shape in expected.items():
            if key not in weights:
                raise DataError(f"the NAT policy weights lack {key!r}")
            if tuple(weights[key].shape) != shape:
                raise DataError(f"the NAT policy weight {key!r} has shape {tuple(weights[key].shape)}, expected {shape}")
        self.weights = {key: np.asarray(weights[key], dtype=np.float32) for key in expected}

    @classmethod
    def for_adapter(cls, adapter: Any, weights: dict[str, np.ndarray], config: PolicyConfig | None = None) -> NumpyPolicy:
        return cls(weights, len(adapter.ops), adapter.num_inputs, adapter.max_in, config)

    def eval(self) -> NumpyPolicy:
        """No-op (API parity with the torch policy)."""
        return self

    def _convolution(self, h: np.ndarray, adjacency: np.ndarray, incoming: np.ndarray, outgoing: np.ndarray,
                     layer: str) -> np.ndarray:
        w = self.weights
        return (_linear(h, w, f"{layer}.self_weight") + incoming @ _linear(h, w, f"{layer}.in_weight", bias=False)
                + outgoing @ _linear(h, w, f"{layer}.out_weight", bias=False))

    def logits(self, batch: ArrayBatch) -> np.ndarray:
        """(B, E, 3) masked logits (disallowed actions at -inf), as :meth:`NatPolicy.logits`."""
        w = self.weights
        b, n, s = batch.slot_ops.shape
        ops = w["op_embedding.weight"][batch.slot_ops].reshape(b, n, -1)
        is_input = (batch.node_kind < self.num_inputs)[..., None]
        inputs = w["input_embedding.weight"][np.minimum(batch.node_kind, self.num_inputs + 1)]
        x = np.where(is_input, inputs, ops)
        x = np.concatenate([x, batch.is_output.astype(np.float32)[..., None]], axis=-1)
        adjacency = batch.adjacency.astype(np.float32)
        incoming = adjacency / np.maximum(adjacency.sum(-1, keepdims=True), 1.0)
        outgoing = np.swapaxes(adjacency, 1, 2)
        outgoing = outgoing / np.maximum(outgoing.sum(-1, keepdims=True), 1.0)
        h = _relu(_linear(x, w, "attribute"))
        h = _relu(self._convolution(h, adjacency, incoming, outgoing, "gcn1"))
        h = self._convolution(h, adjacency, incoming, outgoing, "gcn2")
        node_logits = _linear(_relu(h), w, "head").reshape(b, n, s, 3)
        rows = np.arange(b)[:, None]
        logits = node_logits[rows, batch.edge_node, batch.edge_slot]  # (B, E, 3)
        return np.where(batch.mask, logits, -np.inf).astype(np.float32)

    def action_probabilities(self, batch: ArrayBatch) -> np.ndarray:
        """(B, E, 3) per-edge action probabilities (0 for disallowed actions)."""
        logits = self.logits(batch)
        shifted = logits - logits.max(-1, keepdims=True)
        exp = np.exp(shifted)
        return (exp / exp.sum(-1, keepdims=True)).astype(np.float32)


def weights_to_npz_bytes(weights: dict[str, np.ndarray], checkpoint_bytes: bytes) -> bytes:
    """``policy.npz`` content: the float32 weights and the SHA-256 of the torch checkpoint they come from."""
    arrays = {key: np.asarray(value, dtype=np.float32) for key, value in weights.items()}
    arrays[CHECKPOINT_HASH_KEY] = np.array(hashlib.sha256(checkpoint_bytes).hexdigest())
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def read_npz_weights(path: Path, checkpoint: Path | None = None) -> dict[str, np.ndarray] | None:
    """The weights of ``policy.npz``; None when the file is missing or was not exported from ``checkpoint`` (stale)."""
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            weights = {key: data[key] for key in data.files}
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read the NAT policy weights {path}: {exc}") from None
    recorded = weights.pop(CHECKPOINT_HASH_KEY, None)
    stale = checkpoint is not None and checkpoint.exists() and (
        recorded is None or str(recorded) != hashlib.sha256(checkpoint.read_bytes()).hexdigest())
    return None if stale else weights


def sample_actions(probabilities: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(B, E) actions drawn from per-edge probabilities (B, E, 3); zero-probability actions are never drawn."""
    cumulative = np.cumsum(probabilities.astype(np.float64), axis=-1)
    cumulative = cumulative / cumulative[..., -1:]
    u = rng.random(probabilities.shape[:-1])[..., None]
    return np.argmax(u < cumulative, axis=-1)
