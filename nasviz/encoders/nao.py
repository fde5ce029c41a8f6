"""Neural Architecture Optimization (Luo et al., NeurIPS 2018) on the NAO token sequences of a space.

Model (reference notes A2): token embedding -> LSTM encoder whose per-token outputs are L2-normalised;
the architecture embedding is their mean, L2-normalised again; an MLP predictor with a sigmoid maps it to
the (min-max normalised) performance; an attention LSTM decoder, initialised with the architecture
embedding, reconstructs the tokens. Decoding applies the per-position masks of legal tokens of
:mod:`nasviz.encoders.nao_tokens`, so every decode is a valid cell. Loss: ``trade_off * MSE +
(1 - trade_off) * NLL`` (trade_off 0.8); cells without a target contribute only the NLL. The NLL is taken
over the legal tokens of each position only, so the decoder never learns to rule out illegal tokens by
itself: unmasked decodes (``constrained=False``) of NB101/DARTS are not cells (reported as such).

New architectures (:func:`ascend`): gradient ascent on the per-token encoder outputs, ``h + eta * df/dh``,
re-normalised, decoded; eta takes the values 1, 2, ... until the decode is a new cell (paper footnote 4).

Public API::

    from nasviz.encoders.nao import NAOEncoder, train_nao, fit_and_save, evaluate, decode_walk, walk_gains
    enc = NAOEncoder.load("nb201")
    enc.embed(cells)                 # (n, hidden) mean normalised hidden states
    enc.predict(cells)               # predicted accuracy (benchmark units)
    enc.ascend(cells)                # [AscentResult]: new cell, step size, predicted before/after
    decode_walk(enc, cell, steps=8)  # chain of ascents from one cell (for the pages)
"""

from __future__ import annotations

import io
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from nasviz.encoders.base import Encoder
from nasviz.encoders.nao_tokens import SOS, TokenCodec, get_token_codec, hamming_distance, pairwise_accuracy
from nasviz.encoders.store import EmbeddingSet, atomic_write_bytes, user_model_dir, write_manifest
from nasviz.errors import ConfigError, DataError
from nasviz.progress import ProgressCallback, no_progress

CHECKPOINT = "checkpoint.pt"


@dataclass(frozen=True)
class NAOConfig:
    """Shape of a NAO model (defaults: NAO_V1 train_search.py)."""

    vocab_size: int
    length: int
    embedding_dim: int = 48
    hidden_dim: int = 96
    mlp_layers: int = 3
    mlp_hidden: int = 200
    dropout: float = 0.1

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Attention(nn.Module):
    """Dot attention with a tanh output projection over ``[context, output]``."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.project = nn.Linear(2 * dim, dim)

    def forward(self, output: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        weights = torch.softmax(torch.bmm(output, context.transpose(1, 2)), dim=-1)  # (B, T, L)
        mixed = torch.bmm(weights, context)
        return torch.tanh(self.project(torch.cat([mixed, output], dim=-1)))


class NAOModel(nn.Module):
    """Encoder, predictor and attention decoder."""

    def __init__(self, cfg: NAOConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.enc_embedding = nn.Embedding(cfg.vocab_size, cfg.embedding_dim)
        self.enc_dropout = nn.Dropout(cfg.dropout)
        self.encoder = nn.LSTM(cfg.embedding_dim, cfg.hidden_dim, batch_first=True)
        layers: list[nn.Module] = []
        dim = cfg.hidden_dim
        for _ in range(cfg.mlp_layers):
            layers += [nn.Linear(dim, cfg.mlp_hidden), nn.ReLU(), nn.Dropout(cfg.dropout)]
            dim = cfg.mlp_hidden
        layers.append(nn.Linear(dim, 1))
        self.predictor = nn.Sequential(*layers)
        self.dec_embedding = nn.Embedding(cfg.vocab_size, cfg.hidden_dim)
        self.decoder = nn.LSTM(cfg.hidden_dim, cfg.hidden_dim, batch_first=True)
        self.attention = Attention(cfg.hidden_dim)
        self.out = nn.Linear(cfg.hidden_dim, cfg.vocab_size)
        self.register_buffer("target_min", torch.tensor(0.0))
        self.register_buffer("target_max", torch.tensor(1.0))

    # ---- encoder and predictor ---------------------------------------------------------------
    def encode(self, tokens: torch.Tensor) -> torch.Tensor:
        """Per-token outputs, L2-normalised: (B, L, hidden)."""
        outputs, _ = self.encoder(self.enc_dropout(self.enc_embedding(tokens)))
        return F.normalize(outputs, dim=-1)

    @staticmethod
    def arch_embedding(outputs: torch.Tensor) -> torch.Tensor:
        """Mean of the per-token outputs, L2-normalised: (B, hidden)."""
        return F.normalize(outputs.mean(dim=1), dim=-1)

    def predict(self, arch_emb: torch.Tensor) -> torch.Tensor:
        """Normalised performance in (0, 1): (B,)."""
        return torch.sigmoid(self.predictor(arch_emb)).squeeze(-1)

    # ---- decoder ----------------------------------------------------------------------------
    def _initial_state(self, arch_emb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = arch_emb.unsqueeze(0).contiguous()
        return h, h.clone()

    def decode_logits(self, outputs: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """Teacher-forced logits (B, L, vocab): the decoder reads SOS then ``tokens[:, :-1]``."""
        sos = torch.full_like(tokens[:, :1], SOS)
        inputs = torch.cat([sos, tokens[:, :-1]], dim=1)
        hidden, _ = self.decoder(self.dec_embedding(inputs), self._initial_state(self.arch_embedding(outputs)))
        return self.out(self.attention(hidden, outputs))

    @torch.no_grad()
    def greedy_decode(self, outputs: torch.Tensor, codec: TokenCodec | None) -> np.ndarray:
        """Greedy token decode (B, L); with ``codec`` every step is restricted to the legal tokens."""
        batch = outputs.shape[0]
        state = self._initial_state(self.arch_embedding(outputs))
        token = torch.full((batch, 1), SOS, dtype=torch.long)
        decoded = np.zeros((batch, self.cfg.length), dtype=np.int64)
        for t in range(self.cfg.length):
            hidden, state = self.decoder(self.dec_embedding(token), state)
            logits = self.out(self.attention(hidden, outputs))[:, 0]
            logits[:, SOS] = -math.inf
            if codec is not None:
                allowed = np.stack([codec.allowed(decoded[b, :t].tolist()) for b in range(batch)])
                logits = logits.masked_fill(~torch.from_numpy(allowed), -math.inf)
            token = logits.argmax(dim=-1, keepdim=True)
            decoded[:, t] = token[:, 0].numpy()
        return decoded


def nao_loss(model: NAOModel, tokens: torch.Tensor, masks: torch.Tensor, targets: torch.Tensor,
             labelled: torch.Tensor, trade_off: float) -> tuple[torch.Tensor, dict[str, float]]:
    """``trade_off * MSE(pred, y) + (1 - trade_off) * NLL(tokens)``; MSE only over labelled cells."""
    outputs = model.encode(tokens)
    logits = model.decode_logits(outputs, tokens).masked_fill(~masks, -1e9)
    nll = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tokens.reshape(-1))
    if labelled.any():
        pred = model.predict(model.arch_embedding(outputs))
        mse = F.mse_loss(pred[labelled], targets[labelled])
    else:
        mse = torch.zeros(())
    loss = trade_off * mse + (1 - trade_off) * nll
    return loss, {"loss": loss.item(), "mse": mse.item(), "nll": nll.item()}


@dataclass
class NAOTrainConfig:
    """Everything that determines a trained NAO model (recorded in its manifest)."""

    space: str
    seed: int = 0
    epochs: int = 200
    batch_size: int = 100
    learning_rate: float = 1e-3
    weight_decay: float = 1e-4
    grad_clip: float = 5.0
    trade_off: float = 0.8
    augment: bool = True
    threads: int = 1
    model: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _seed(seed: int, threads: int) -> None:
    import random

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if threads > 0:
        torch.set_num_threads(threads)


def min_max(values: np.ndarray) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    if len(finite) == 0:
        return 0.0, 1.0
    lo, hi = float(finite.min()), float(finite.max())
    return lo, hi if hi > lo else lo + 1.0


def train_nao(cfg: NAOTrainConfig, cells: Sequence[Any], targets: np.ndarray | None = None,
              progress: ProgressCallback = no_progress) -> tuple[NAOModel, list[dict[str, float]]]:
    """Fit NAO on ``cells`` with ``targets`` (benchmark units, NaN = unlabelled; None = all unlabelled).
    Targets are min-max normalised over the labelled training cells; the range is kept in the model."""
    codec = get_token_codec(cfg.space)
    if len(cells) < 2:
        raise ConfigError("NAO needs at least two training cells")
    _seed(cfg.seed, cfg.threads)
    model = NAOModel(NAOConfig(codec.vocab_size, codec.length, **cfg.model))
    tokens_np = codec.encode_many(cells)
    y = np.full(len(cells), np.nan) if targets is None else np.asarray(targets, dtype=np.float64)
    if len(y) != len(cells):
        raise ConfigError(f"{len(cells)} cells but {len(y)} targets")
    lo, hi = min_max(y)
    model.target_min.fill_(lo)
    model.target_max.fill_(hi)
    labelled = torch.from_numpy(np.isfinite(y))
    y_norm = torch.from_numpy(np.nan_to_num((y - lo) / (hi - lo)).astype(np.float32))
    rng = np.random.default_rng(cfg.seed)
    static_masks = None if codec.symmetric and cfg.augment else torch.from_numpy(codec.masks(tokens_np))
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
    history: list[dict[str, float]] = []
    n = len(cells)
    steps = (n + cfg.batch_size - 1) // cfg.batch_size
    for epoch in range(cfg.epochs):
        model.train()
        order = rng.permutation(n)
        sums = {"loss": 0.0, "mse": 0.0, "nll": 0.0}
        for start in range(0, n, cfg.batch_size):
            index = order[start:start + cfg.batch_size]
            batch_tokens = tokens_np[index]
            if static_masks is None:
                batch_tokens = np.stack([codec.swap(t, rng) for t in batch_tokens])
                masks = torch.from_numpy(codec.masks(batch_tokens))
            else:
                masks = static_masks[torch.from_numpy(index)]
            index_t = torch.from_numpy(index)
            loss, parts = nao_loss(model, torch.from_numpy(batch_tokens), masks, y_norm[index_t], labelled[index_t],
                                   cfg.trade_off)
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            optimizer.step()
            for key in sums:
                sums[key] += parts[key] / steps
        history.append({"epoch": epoch + 1, **{k: round(v, 6) for k, v in sums.items()}})
        progress(epoch + 1, cfg.epochs, f"epoch {epoch + 1}/{cfg.epochs} loss {sums['loss']:.4f}")
    model.eval()
    return model, history


@dataclass(frozen=True)
class AscentResult:
    """One gradient-ascent move: the start cell, the new cell (None if none found) and the step size."""

    start: Any
    cell: Any | None
    step_size: float | None
    predicted_start: float
    predicted_new: float | None


class NAOEncoder(Encoder):
    """A trained NAO model of one space."""

    name = "nao"
    title = "NAO (LSTM encoder-predictor-decoder)"
    has_decoder = True

    def __init__(self, space: str, model: NAOModel, manifest: dict[str, Any] | None = None) -> None:
        super().__init__(space, manifest)
        self.codec = get_token_codec(space)
        if model.cfg.vocab_size != self.codec.vocab_size or model.cfg.length != self.codec.length:
            raise ConfigError(f"NAO model of vocabulary {model.cfg.vocab_size} and length {model.cfg.length} does not fit "
                              f"the {space} tokens ({self.codec.vocab_size}, {self.codec.length})")
        self.model = model.eval()

    @property
    def dim(self) -> int:
        return self.model.cfg.hidden_dim

    def tokens(self, cells: Sequence[Any]) -> torch.Tensor:
        return torch.from_numpy(self.codec.encode_many(cells))

    def embed(self, cells: Sequence[Any], progress: ProgressCallback = no_progress) -> np.ndarray:
        out = []
        with torch.no_grad():
            for start in range(0, len(cells), 2048):
                out.append(self.model.arch_embedding(self.model.encode(self.tokens(cells[start:start + 2048]))).numpy())
                progress(min(start + 2048, len(cells)), len(cells), "embedding")
        return np.concatenate(out).astype(np.float32) if out else np.zeros((0, self.dim), np.float32)

    def encode(self, cells: Sequence[Any]) -> np.ndarray:
        """Per-token normalised encoder outputs (n, length, hidden): what the decoder attends to."""
        with torch.no_grad():
            return self.model.encode(self.tokens(cells)).numpy()

    def decode(self, latent: np.ndarray, constrained: bool = True) -> list[Any | None]:
        """Cells from per-token outputs (n, length, hidden) or architecture embeddings (n, hidden) (then the
        decoder attends to the single vector). Masked (``constrained``) decodes are always valid cells."""
        return [self.codec.decode(t) for t in self.decode_tokens(latent, constrained)]

    def decode_tokens(self, latent: np.ndarray, constrained: bool = True) -> np.ndarray:
        x = torch.as_tensor(np.asarray(latent, dtype=np.float32))
        if x.ndim == 2:
            x = x.unsqueeze(1)
        if x.ndim != 3 or x.shape[-1] != self.dim:
            raise ConfigError(f"NAO latents are (n, length, {self.dim}) or (n, {self.dim}), got {tuple(x.shape)}")
        return self.model.greedy_decode(F.normalize(x, dim=-1), self.codec if constrained else None)

    def denormalise(self, values: np.ndarray) -> np.ndarray:
        lo, hi = float(self.model.target_min), float(self.model.target_max)
        return lo + np.asarray(values) * (hi - lo)

    def predict(self, cells: Sequence[Any]) -> np.ndarray:
        """Predicted performance in benchmark units (the predictor's sigmoid output, de-normalised)."""
        with torch.no_grad():
            pred = self.model.predict(self.model.arch_embedding(self.model.encode(self.tokens(cells))))
        return self.denormalise(pred.numpy())

    def ascend(self, cells: Sequence[Any], max_step: int = 50, exclude: set[str] | None = None) -> list[AscentResult]:
        """NAO's search move for each cell: gradient ascent of the predictor on the per-token encoder outputs,
        ``h + eta * df/dh`` re-normalised, with eta = 1, 2, ..., ``max_step`` until the masked decode is a cell
        different from the start (and not in ``exclude``, ids of :meth:`SearchSpace.cell_id`)."""
        from nasviz.spaces import get_space

        space = get_space(self.space)
        if not cells:
            return []
        tokens = self.tokens(cells)
        outputs = self.model.encode(tokens).detach().requires_grad_(True)
        pred = self.model.predict(self.model.arch_embedding(outputs))
        (grad,) = torch.autograd.grad(pred.sum(), outputs)
        start_pred = self.denormalise(pred.detach().numpy())
        found: list[AscentResult | None] = [None] * len(cells)
        start_ids = [space.cell_id(c) for c in cells]
        pending = list(range(len(cells)))
        exclude = exclude or set()
        for eta in range(1, max_step + 1):
            if not pending:
                break
            moved = F.normalize(outputs.detach()[pending] + eta * grad[pending], dim=-1)
            decoded = self.model.greedy_decode(moved, self.codec)
            with torch.no_grad():
                new_pred = self.denormalise(self.model.predict(self.model.arch_embedding(moved)).numpy())
            still = []
            for k, i in enumerate(pending):
                cell = self.codec.decode(decoded[k])
                cid = space.cell_id(cell) if cell is not None else None
                if cid is not None and cid != start_ids[i] and cid not in exclude:
                    found[i] = AscentResult(cells[i], cell, float(eta), float(start_pred[i]), float(new_pred[k]))
                else:
                    still.append(i)
            pending = still
        return [r if r is not None else AscentResult(cells[i], None, None, float(start_pred[i]), None)
                for i, r in enumerate(found)]

    # ---- persistence -------------------------------------------------------------------------
    @classmethod
    def load_dir(cls, directory: Path, space: str) -> NAOEncoder:
        manifest = cls.read_manifest(directory, cls.name, space)
        try:
            cfg = NAOConfig(**manifest["model"])
        except (KeyError, TypeError) as exc:
            raise DataError(f"manifest in {directory} has no valid NAO model shape: {exc}") from None
        path = directory / CHECKPOINT
        if not path.exists():
            raise DataError(f"no checkpoint at {path}")
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            model = NAOModel(cfg)
            model.load_state_dict(state)
        except Exception as exc:  # noqa: BLE001 - torch raises many types for corrupt checkpoints
            raise DataError(f"cannot read NAO checkpoint {path}: {exc}") from None
        return cls(space, model, manifest)

    @classmethod
    def train_model(cls, space: str, out_dir: Path | None = None, seed: int | None = None, epochs: int | None = None,
              command: str | None = None, progress: ProgressCallback = no_progress, **options: Any) -> dict[str, Any]:
        """Train and save (the registry hook ``nasviz encoders train nao`` calls). Returns the manifest."""
        return fit_and_save(space, out_dir=out_dir, seed=seed, epochs=epochs, command=command, progress=progress, **options)

    @classmethod
    def evaluate_model(cls, space: str, progress: ProgressCallback = no_progress) -> dict[str, Any]:
        """Metrics of the trained model of ``space`` on its held-out cells."""
        return evaluate(space, progress=progress)


def decode_walk(encoder: NAOEncoder, cell: Any, steps: int = 8, max_step: int = 50,
                metric: Callable[[str], float] | None = None) -> list[dict[str, Any]]:
    """A NAO decode walk for the pages: starting at ``cell``, repeat the gradient-ascent move ``steps`` times
    (never revisiting a cell; stops early when no step size up to ``max_step`` decodes a new cell). Each row:
    step, cell, cell_id, step_size (eta that found it), edit_distance (to the previous cell), predicted (the
    predictor, benchmark units) and true (``metric(cell_id)``, e.g. the benchmark table; NaN when unknown)."""
    from nasviz.spaces import get_space

    space = get_space(encoder.space)

    def true_value(cid: str) -> float:
        return float(metric(cid)) if metric is not None else float("nan")

    current = cell
    cid = space.cell_id(cell)
    rows = [{"step": 0, "cell": cell, "cell_id": cid, "step_size": 0.0, "edit_distance": 0,
             "predicted": float(encoder.predict([cell])[0]), "true": true_value(cid)}]
    seen = {cid}
    for step in range(1, steps + 1):
        result = encoder.ascend([current], max_step=max_step, exclude=seen)[0]
        if result.cell is None:
            break
        cid = space.cell_id(result.cell)
        seen.add(cid)
        rows.append({"step": step, "cell": result.cell, "cell_id": cid, "step_size": result.step_size,
                     "edit_distance": int(space.edit_distance(current, result.cell)),
                     "predicted": float(encoder.predict([result.cell])[0]), "true": true_value(cid)})
        current = result.cell
    return rows


def walk_gains(rows: Sequence[dict[str, Any]]) -> dict[str, float]:
    """Predicted and true change from the first to the last cell of a :func:`decode_walk`, the best true value
    reached, and how many steps the predictor ranked the same way as the truth (sign of the change)."""
    predicted = np.array([r["predicted"] for r in rows], dtype=np.float64)
    true = np.array([r["true"] for r in rows], dtype=np.float64)
    steps_known = np.isfinite(true[1:]) & np.isfinite(true[:-1])
    agree = np.sign(np.diff(predicted)) == np.sign(np.diff(true))
    return {"predicted_gain": float(predicted[-1] - predicted[0]) if len(rows) else float("nan"),
            "true_gain": float(true[-1] - true[0]) if len(rows) else float("nan"),
            "best_true": float(np.nanmax(true)) if np.isfinite(true).any() else float("nan"),
            "steps_with_true": int(steps_known.sum()), "steps_agreeing": int((agree & steps_known).sum())}


# ---- data, metrics, training commands ---------------------------------------------------------

def labelled_cells(space: str) -> tuple[list[Any], np.ndarray, str]:
    """Benchmark cells with an accuracy target: NB201 CIFAR-10 test accuracy (200 epochs) of all cells,
    NB101 NASLib validation accuracy (108 epochs) of the 292 distinct cells of its 500 records.
    Returns (cells, targets in %, source)."""
    from nasviz.encoders.agnet_data import nb101_labelled, nb201_accuracy

    if space == "nb201":
        from nasviz.spaces import nb201

        acc = nb201_accuracy()
        return nb201.enumerate_cells(), acc, "NB201 c10_test_200ep (nb201_merged.csv)"
    if space == "nb101":
        cells, acc = nb101_labelled()
        return cells, acc, "NB101 val_accuracy, NASLib zc_nasbench101 (500 records, 292 distinct cells)"
    raise DataError(f"no accuracy data for NAO on {space}; labelled training supports nb201 and nb101")


#: space -> (labelled train cells, held-out cells, unlabelled extra cells, epochs)
NAO_DEFAULTS: dict[str, tuple[int, int, int, int]] = {"nb201": (500, 2000, 0, 300), "nb101": (230, 62, 4000, 60),
                                                      "darts": (0, 500, 5000, 30), "nat": (0, 500, 5000, 30)}


def split_data(space: str, seed: int, train_size: int | None = None, held_out: int | None = None,
               unlabelled: int | None = None) -> dict[str, Any]:
    """Seeded split: ``train_size`` labelled cells, ``held_out`` labelled cells (disjoint) and ``unlabelled``
    sampled cells (reconstruction only). DARTS and NAT have no labels: everything is unlabelled."""
    from nasviz.spaces import get_space

    sp = get_space(space)
    d_train, d_held, d_unlab, _ = NAO_DEFAULTS[sp.name]
    train_size = d_train if train_size is None else train_size
    held_out = d_held if held_out is None else held_out
    unlabelled = d_unlab if unlabelled is None else unlabelled
    rng = np.random.default_rng(seed)
    out: dict[str, Any] = {"space": sp.name, "seed": seed}
    if sp.name in ("darts", "nat"):
        cells = sp.sample(unlabelled + held_out, seed)
        out.update(train_cells=cells[:unlabelled], train_targets=None, held_cells=cells[unlabelled:], held_targets=None,
                   source=f"{sp.name}.sample({unlabelled + held_out}, seed={seed})")
        return out
    cells, acc, source = labelled_cells(sp.name)
    keep = np.nonzero(np.isfinite(acc))[0]
    if train_size + held_out > len(keep):
        raise ConfigError(f"{space} has {len(keep)} labelled cells: cannot take {train_size} + {held_out}")
    order = rng.permutation(keep)
    train_idx, held_idx = order[:train_size], order[train_size:train_size + held_out]
    train_cells = [cells[i] for i in train_idx]
    train_targets = acc[train_idx].astype(np.float64)
    if unlabelled:
        taken = {sp.cell_id(c) for c in cells}
        extra = [c for c in sp.sample(unlabelled, seed + 1) if sp.cell_id(c) not in taken]
        train_cells += extra
        train_targets = np.concatenate([train_targets, np.full(len(extra), np.nan)])
    out.update(train_cells=train_cells, train_targets=train_targets, held_cells=[cells[i] for i in held_idx],
               held_targets=acc[held_idx].astype(np.float64), source=source, num_labelled_train=int(train_size),
               num_unlabelled_train=len(train_cells) - int(train_size))
    return out


def model_metrics(encoder: NAOEncoder, cells: Sequence[Any], targets: np.ndarray | None) -> dict[str, Any]:
    """Predictor pairwise accuracy (when targets are given) and decoder Hamming distance / exact rate /
    validity of masked and unmasked decodes of ``cells``."""
    tokens = encoder.codec.encode_many(cells)
    latent = encoder.encode(cells)
    masked = encoder.decode_tokens(latent, constrained=True)
    free = encoder.decode_tokens(latent, constrained=False)
    free_valid = [encoder.codec.decode(t) is not None for t in free]
    out: dict[str, Any] = {
        "num_cells": len(cells),
        "hamming_distance": hamming_distance(tokens, masked),
        "exact_reconstruction": float((tokens == masked).all(axis=1).mean()),
        "hamming_distance_unmasked": hamming_distance(tokens, free),
        "unmasked_validity": float(np.mean(free_valid)),
        "masked_validity": float(np.mean([encoder.codec.decode(t) is not None for t in masked])),
    }
    if targets is not None and np.isfinite(targets).sum() >= 2:
        ok = np.isfinite(targets)
        pred = encoder.predict([c for c, k in zip(cells, ok, strict=True) if k])
        out["pairwise_accuracy"] = pairwise_accuracy(targets[ok], pred)
    return out


def fit_and_save(space: str, out_dir: Path | None = None, seed: int | None = None, epochs: int | None = None,
                 train_size: int | None = None, held_out: int | None = None, unlabelled: int | None = None,
                 threads: int = 1, command: str | None = None, progress: ProgressCallback = no_progress,
                 **model: Any) -> dict[str, Any]:
    """Train NAO on ``space`` and write checkpoint.pt, embeddings.npz (NB201: all cells) and manifest.json into
    ``out_dir`` (default NASVIZ_HOME/models/<space>/nao). Returns the manifest."""
    from nasviz.encoders.training import command_line
    from nasviz.spaces import get_space

    sp = get_space(space)
    if sp.name not in NAO_DEFAULTS:
        raise ConfigError(f"NAO supports spaces {', '.join(NAO_DEFAULTS)}, not {space!r}")
    seed = 0 if seed is None else seed
    epochs = NAO_DEFAULTS[sp.name][3] if epochs is None else epochs
    started = time.perf_counter()
    data = split_data(sp.name, seed, train_size, held_out, unlabelled)
    cfg = NAOTrainConfig(sp.name, seed=seed, epochs=epochs, threads=threads, model=model)
    fit_started = time.perf_counter()
    trained, history = train_nao(cfg, data["train_cells"], data["train_targets"], progress)
    train_seconds = time.perf_counter() - fit_started
    manifest: dict[str, Any] = {
        "encoder": "nao", "space": sp.name, "seed": seed, "config": cfg.to_dict(), "model": trained.cfg.to_dict(),
        "data": {k: v for k, v in data.items() if not k.endswith(("_cells", "_targets"))}
        | {"num_train": len(data["train_cells"]), "num_held_out": len(data["held_cells"])},
        "command": command or command_line(), "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "versions": {"torch": torch.__version__, "numpy": np.__version__},
        "target_range": [float(trained.target_min), float(trained.target_max)],
        "history": history[-5:], "training_seconds": round(train_seconds, 2), "threads": threads,
    }
    encoder = NAOEncoder(sp.name, trained, manifest)
    manifest["metrics"] = {"held_out": model_metrics(encoder, data["held_cells"], data["held_targets"]),
                           "train": model_metrics(encoder, data["train_cells"][:1000],
                                                  None if data["train_targets"] is None else data["train_targets"][:1000])}
    embed_cells = sp.enumerate() if sp.name == "nb201" else data["train_cells"] + data["held_cells"]
    ids, unique_cells, seen = [], [], set()
    for c in embed_cells:
        cid = sp.cell_id(c)
        if cid not in seen:
            seen.add(cid)
            ids.append(cid)
            unique_cells.append(c)
    vectors = encoder.embed(unique_cells)
    directory = Path(out_dir) if out_dir is not None else user_model_dir(sp.name, "nao")
    directory.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    torch.save(trained.state_dict(), buffer)
    atomic_write_bytes(directory / CHECKPOINT, buffer.getvalue())
    manifest["embedding"] = {"num_cells": len(ids), "dim": int(vectors.shape[1]),
                             "kind": "mean of the L2-normalised per-token LSTM outputs, L2-normalised"}
    manifest["total_seconds"] = round(time.perf_counter() - started, 2)
    EmbeddingSet(sp.name, "nao", np.asarray(ids), vectors, manifest, cell_arrays=stored_cells(sp.name, unique_cells)).save(
        directory, precision="float16")  # 96-d
    write_manifest(directory, manifest)
    return manifest


def stored_cells(space: str, cells: Sequence[Any]) -> dict[str, np.ndarray]:
    """``cells_*`` arrays saved with the embeddings of spaces whose ids cannot be turned back into cells (NB101
    module hashes), so that walks and maps can draw them; empty for other spaces."""
    if space != "nb101":
        return {}
    from nasviz.spaces.nb101 import pack_cells

    return pack_cells(list(cells))


def evaluate(space: str, progress: ProgressCallback = no_progress) -> dict[str, Any]:
    """Re-evaluate the trained NAO model of ``space`` on the held-out cells of its manifest's split."""
    from nasviz.spaces import get_space

    sp = get_space(space)
    encoder = NAOEncoder.load(sp.name)
    data_cfg = encoder.manifest.get("data", {})
    data = split_data(sp.name, int(encoder.manifest.get("seed", 0)), data_cfg.get("num_labelled_train"),
                      data_cfg.get("num_held_out"), data_cfg.get("num_unlabelled_train"))
    progress(0, 1, "evaluating")
    out = {"encoder": "nao", "space": sp.name, "held_out": model_metrics(encoder, data["held_cells"], data["held_targets"])}
    progress(1, 1, "done")
    return out


def learning_curve(space: str, sizes: Sequence[int], seed: int = 0, held_out: int = 2000, epochs: int | None = None,
                   progress: ProgressCallback = no_progress) -> list[dict[str, Any]]:
    """NAO paper figure 2(a): held-out pairwise accuracy and Hamming distance versus the number of training
    cells (models trained in memory, nothing saved)."""
    rows = []
    for size in sizes:
        data = split_data(space, seed, size, held_out, 0)
        cfg = NAOTrainConfig(space, seed=seed, epochs=epochs or NAO_DEFAULTS[space][3])
        started = time.perf_counter()
        model, _ = train_nao(cfg, data["train_cells"], data["train_targets"])
        seconds = time.perf_counter() - started
        metrics = model_metrics(NAOEncoder(space, model), data["held_cells"], data["held_targets"])
        rows.append({"train_size": size, "training_seconds": round(seconds, 2), **metrics})
        progress(len(rows), len(sizes), f"{size} cells: pairwise {metrics.get('pairwise_accuracy', float('nan')):.3f}")
    return rows
