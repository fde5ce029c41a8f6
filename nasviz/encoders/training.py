"""Training graph autoencoders and writing model directories (checkpoint, manifest, embeddings).

NB201: all 15,625 cells in official index order, first 90 % train / last 10 % held out (as the official
code splits its JSON), seed 3, 15 epochs, KL weight 0.25. NB101 / DARTS: a seeded sample of valid cells, same
split; the embeddings cover the sample plus the space's benchmark cells.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from nasviz.encoders.base import GraphDataset, get_codec
from nasviz.encoders.store import EmbeddingSet, atomic_write_bytes, user_model_dir, write_manifest
from nasviz.errors import ConfigError
from nasviz.progress import ProgressCallback, no_progress

TRAINABLE = ("arch2vec", "gae", "vgae", "raw")
#: space -> (epochs, seed, sample size) defaults, after the official scripts
SPACE_DEFAULTS: dict[str, tuple[int, int, int | None]] = {"nb201": (15, 3, None), "nb101": (60, 1, 100_000),
                                                         "darts": (10, 1, 100_000)}
#: space -> settings that differ from the official ones (batch 32, Adam 1e-3, decoder dropout 0.3). NB101: the
#: official run makes 95k steps over 381k cells; on 2 CPU cores batch 128 at 2e-3 without decoder dropout reaches
#: exact reconstruction in far fewer steps (measured: 17 % of held-out cells after 390 steps against 6 % with
#: dropout 0.3 after 450); 16 epochs at KL weight 1 gave 87 % reconstruction and 48 % prior validity (paper check);
#: 24 epochs at KL weight 0.25 (as on NB201), constant rate: 88.7 % and 42.2 %; 60 epochs with cosine decay to 0
#: (42k steps, 1,423 s CPU): 91.9 % and 47.0 %. The same with node positions at the encoder input (42k steps,
#: 1,416 s CPU): 99.99 % and 62.2 % (the shipped model; see ModelConfig.node_position)
#: NB201: 15 epochs at KL weight 0.25 (10 epochs at weight 1 leave a held-out cell wrong and decode 59 % of the
#: prior samples to cells; weight 0.25: 100 % and 87 %; weight 4: 95 % and 29 %)
SPACE_SETTINGS: dict[str, dict[str, Any]] = {"nb101": {"batch_size": 128, "learning_rate": 2e-3, "lr_schedule": "cosine",
                                                       "model": {"decoder_dropout": 0.0, "kl_weight": 0.25,
                                                                 "node_position": True}},
                                             "nb201": {"model": {"kl_weight": 0.25}}}
LR_SCHEDULES = ("constant", "cosine")
SPLIT = "first 90% train / last 10% held out, in data order"


@dataclass
class TrainConfig:
    """Everything that determines a trained model (recorded in its manifest)."""

    encoder: str
    space: str
    epochs: int | None = None
    seed: int | None = None
    #: cells sampled for training (nb101/darts; nb201 trains on all cells when unset)
    sample_size: int | None = None
    #: default 32 (NB101: SPACE_SETTINGS)
    batch_size: int | None = None
    #: default 1e-3 (NB101: SPACE_SETTINGS)
    learning_rate: float | None = None
    #: "constant" or "cosine" (per-step cosine decay from learning_rate to 0 over all epochs); default constant
    #: (NB101: SPACE_SETTINGS)
    lr_schedule: str | None = None
    betas: tuple[float, float] = (0.9, 0.999)
    grad_clip: float = 5.0
    val_fraction: float = 0.1
    prior_samples: int = 10_000
    threads: int = 1
    model: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        from nasviz.spaces import get_space

        if self.encoder not in TRAINABLE:
            raise ConfigError(f"cannot train encoder {self.encoder!r}; trainable: {', '.join(TRAINABLE)}")
        self.space = get_space(self.space).name
        if self.space not in SPACE_DEFAULTS:
            raise ConfigError(f"no graph encoding for {self.space}; train on {', '.join(SPACE_DEFAULTS)}")
        epochs, seed, sample = SPACE_DEFAULTS[self.space]
        self.epochs = epochs if self.epochs is None else self.epochs
        self.seed = seed if self.seed is None else self.seed
        self.sample_size = sample if self.sample_size is None else self.sample_size
        settings = SPACE_SETTINGS.get(self.space, {})
        self.batch_size = settings.get("batch_size", 32) if self.batch_size is None else self.batch_size
        self.learning_rate = settings.get("learning_rate", 1e-3) if self.learning_rate is None else self.learning_rate
        self.lr_schedule = settings.get("lr_schedule", "constant") if self.lr_schedule is None else self.lr_schedule
        self.model = {**settings.get("model", {}), **self.model}
        if self.lr_schedule not in LR_SCHEDULES:
            raise ConfigError(f"unknown learning-rate schedule {self.lr_schedule!r}; choose {' or '.join(LR_SCHEDULES)}")
        if self.epochs < 0 or self.batch_size < 1 or not 0 < self.val_fraction < 1 or not self.learning_rate > 0:
            raise ConfigError(f"bad training settings: epochs={self.epochs}, batch={self.batch_size}, "
                              f"learning_rate={self.learning_rate}, val_fraction={self.val_fraction}")
        if float(self.model.get("kl_weight", 0.0)) < 0:
            raise ConfigError(f"bad KL weight {self.model['kl_weight']}: it must be >= 0")

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["betas"] = list(self.betas)
        return out


@dataclass
class TrainingData:
    """Cells to train on (split in order) and the cells whose embeddings are stored."""

    graphs: GraphDataset
    embed_cells: list[Any]
    embed_ids: list[str]
    description: dict[str, Any]

    @property
    def num_train(self) -> int:
        return int(len(self.graphs) * (1 - self.description["val_fraction"]))

    def train(self) -> GraphDataset:
        return self.graphs.subset(np.arange(self.num_train))

    def held_out(self) -> GraphDataset:
        return self.graphs.subset(np.arange(self.num_train, len(self.graphs)))


#: space -> benchmark file (under NASVIZ_DATA) whose cells are embedded besides the training sample
BENCHMARK_FILES = {"nb101": Path("nasbench101") / "naslib_zc_nasbench101_500.json"}


def benchmark_cells(space: str) -> list[Any]:
    """Cells with benchmark results (NB101: the 500 NASLib cells), embedded besides the sample; empty when
    NASVIZ_DATA does not hold the file."""
    import json

    from nasviz.paths import source_data_dir

    root = source_data_dir()
    if space not in BENCHMARK_FILES or root is None or not (root / BENCHMARK_FILES[space]).exists():
        return []
    from nasviz.spaces import nb101

    data = json.loads((root / BENCHMARK_FILES[space]).read_text())
    keys = {key for per_dataset in data.get("nasbench101", {}).values() for key in per_dataset}
    return [nb101.pruned_cell(nb101.from_naslib_tuple(key)) for key in sorted(keys)]


def training_data(cfg: TrainConfig, progress: ProgressCallback = no_progress) -> TrainingData:
    from nasviz.spaces import get_space

    space = get_space(cfg.space)
    codec = get_codec(cfg.space)
    description: dict[str, Any] = {"space": cfg.space, "split": SPLIT, "val_fraction": cfg.val_fraction}
    if cfg.space == "nb201" and not cfg.sample_size:
        cells = space.enumerate()
        ids = [space.cell_id(c) for c in cells]
        description.update(source="all NB201 cells in official index order")
        graphs = codec.dataset(cells, ids)
        embed_cells, embed_ids = cells, ids
    else:
        progress(0, 0, f"sampling {cfg.sample_size} {cfg.space} cells")
        # NB101: distinct cells uniform over the 423,624 (nasbench-style random specs repeat small cells)
        sample_kwargs = {"method": "uniform"} if cfg.space == "nb101" else {}
        sampled = space.sample(cfg.sample_size, cfg.seed, **sample_kwargs)
        if cfg.space == "darts":  # arch2vec encodes the normal cell only; reduction cell = normal cell
            from nasviz.encoders.graphs import DartsCodec

            sampled = [DartsCodec.normal_only(g) for g in sampled]
        cells, ids, seen = [], [], set()
        for cell in sampled:
            cid = space.cell_id(cell)
            if cid not in seen:
                seen.add(cid)
                cells.append(cell)
                ids.append(cid)
        everything = space.enumerate() if cfg.space == "nb201" else benchmark_cells(cfg.space)
        extra = []
        for cell in everything:  # NB201: embed every cell; others: the benchmark cells
            cid = space.cell_id(cell)
            if cid not in seen:
                seen.add(cid)
                extra.append((cell, cid))
        method = "".join(f", method={v!r}" for v in sample_kwargs.values())
        description.update(source=f"{space.name}.sample({cfg.sample_size}, seed={cfg.seed}{method}), deduplicated",
                           sampled=len(sampled), embedded_besides_sample=len(extra))
        graphs = codec.dataset(cells, ids)
        embed_cells = cells + [c for c, _ in extra]
        embed_ids = ids + [cid for _, cid in extra]
    n_train = int(len(graphs) * (1 - cfg.val_fraction))
    description.update(num_cells=len(graphs), num_train=n_train, num_held_out=len(graphs) - n_train,
                       num_embedded=len(embed_ids))
    return TrainingData(graphs, embed_cells, embed_ids, description)


def seed_everything(seed: int) -> None:
    import random

    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


@contextmanager
def deterministic_torch(threads: int) -> Iterator[None]:
    """Deterministic algorithms and a fixed thread count while training; the previous settings after."""
    import torch

    previous = (torch.are_deterministic_algorithms_enabled(), torch.get_num_threads())
    torch.use_deterministic_algorithms(True)
    if threads > 0:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(previous[0])
        torch.set_num_threads(previous[1])


def train_autoencoder(cfg: TrainConfig, train: GraphDataset, progress: ProgressCallback = no_progress) -> tuple[Any, list[dict]]:
    """Fit a graph autoencoder with the ELBO (Adam, gradient clipping); returns (model, per-epoch history).
    Afterwards the model's prior buffers hold the per-(node, dim) mean and std of mu over ``train``."""
    with deterministic_torch(cfg.threads):
        return _train(cfg, train, progress)


def _train(cfg: TrainConfig, train: GraphDataset, progress: ProgressCallback) -> tuple[Any, list[dict]]:
    import torch

    from nasviz.encoders.models import GraphAutoencoder, ModelConfig, elbo_loss

    seed_everything(cfg.seed)
    model_cfg = ModelConfig(cfg.encoder, train.num_nodes, train.num_ops, **cfg.model)
    model = GraphAutoencoder(model_cfg)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.learning_rate, betas=cfg.betas)
    adj_all = torch.from_numpy(train.adjacency.astype(np.float32))
    ops_all = torch.from_numpy(train.ops)
    generator = torch.Generator().manual_seed(cfg.seed)
    steps_per_epoch = (len(train) + cfg.batch_size - 1) // cfg.batch_size
    total = steps_per_epoch * cfg.epochs
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(total, 1)) \
        if cfg.lr_schedule == "cosine" else None
    history: list[dict] = []
    step = 0
    for epoch in range(cfg.epochs):
        model.train()
        order = torch.randperm(len(train), generator=generator)
        sums: dict[str, float] = {}
        for start in range(0, len(train), cfg.batch_size):
            index = order[start:start + cfg.batch_size]
            if len(index) < 2:  # BatchNorm needs two graphs
                continue
            loss, parts = elbo_loss(model, adj_all[index], ops_all[index])
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            for key, value in parts.items():
                sums[key] = sums.get(key, 0.0) + value
            step += 1
            if step % 20 == 0 or step == total:
                progress(step, total, f"epoch {epoch + 1}/{cfg.epochs} loss {parts['loss']:.4f}")
        history.append({"epoch": epoch + 1, **{k: v / steps_per_epoch for k, v in sums.items()},
                        "lr": optimizer.param_groups[0]["lr"]})
    set_prior_statistics(model, train)
    return model, history


def set_prior_statistics(model: Any, train: GraphDataset, batch_size: int = 4096) -> None:
    import torch

    model.eval()
    mus = []
    with torch.no_grad():
        for start in range(0, len(train), batch_size):
            adj = torch.from_numpy(train.adjacency[start:start + batch_size].astype(np.float32))
            mu, _ = model.encode(adj, torch.from_numpy(train.ops[start:start + batch_size]))
            mus.append(mu)
    mu = torch.cat(mus)
    model.prior_mean.copy_(mu.mean(0))
    model.prior_std.copy_(mu.std(0))


def generative_metrics(encoder: Any, held_out: GraphDataset, prior_samples: int, seed: int) -> dict[str, Any]:
    """Reconstruction on ``held_out`` and validity/uniqueness of ``prior_samples`` prior decodes."""
    from nasviz.encoders.metrics import reconstruction_metrics, validity_uniqueness
    from nasviz.spaces import get_space

    space = get_space(encoder.space)
    codec = encoder.codec
    out: dict[str, Any] = {}
    if hasattr(encoder, "encode_graphs"):
        adj_prob, op_prob = encoder.decode_probs(encoder.encode_graphs(held_out))
        out["reconstruction"] = reconstruction_metrics(codec, held_out, adj_prob, op_prob)
        adj_prob, op_prob = encoder.decode_probs(encoder.sample_prior(prior_samples, seed))
        out["prior"] = validity_uniqueness(codec, adj_prob, op_prob, space.cell_id)
        out["prior"]["seed"] = seed
    return out


def command_line() -> str:
    import shlex
    import sys

    return shlex.join(["nasviz", *sys.argv[1:]]) if Path(sys.argv[0]).name in ("nasviz", "main.py", "__main__.py") \
        else shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]])


def fit_and_save(cfg: TrainConfig, out_dir: Path | None = None, command: str | None = None,
                 progress: ProgressCallback = no_progress) -> dict[str, Any]:
    """Train ``cfg.encoder`` on ``cfg.space`` and write checkpoint.pt, embeddings.npz and manifest.json into
    ``out_dir`` (default: NASVIZ_HOME/models/<space>/<encoder>). Returns the manifest."""
    import torch

    from nasviz.encoders.gnn import CHECKPOINT, GRAPH_ENCODERS, state_dict_bytes
    from nasviz.encoders.raw import RawEncoder

    directory = Path(out_dir) if out_dir is not None else user_model_dir(cfg.space, cfg.encoder)
    started = time.perf_counter()
    data = training_data(cfg, progress)
    manifest: dict[str, Any] = {
        "encoder": cfg.encoder, "space": cfg.space, "seed": cfg.seed, "config": cfg.to_dict(),
        "data": data.description, "command": command or command_line(),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "versions": {"torch": torch.__version__, "python": platform.python_version(), "numpy": np.__version__},
    }
    if cfg.encoder == "raw":
        encoder: Any = RawEncoder(cfg.space)
        train_seconds = 0.0
        vectors = encoder.vectors(get_codec(cfg.space).dataset(data.embed_cells, data.embed_ids))
        manifest["metrics"] = {}
    else:
        fit_started, cpu_started = time.perf_counter(), time.process_time()
        model, history = train_autoencoder(cfg, data.train(), progress)
        train_seconds = time.perf_counter() - fit_started
        manifest["training_cpu_seconds"] = round(time.process_time() - cpu_started, 2)
        encoder = GRAPH_ENCODERS[cfg.encoder](cfg.space, model, manifest)
        manifest["model"] = model.cfg.to_dict()
        manifest["history"] = history
        progress(0, len(data.embed_cells), "evaluating")
        manifest["metrics"] = generative_metrics(encoder, data.held_out(), cfg.prior_samples, cfg.seed)
        embed_graphs = get_codec(cfg.space).dataset(data.embed_cells, data.embed_ids)
        vectors = encoder.encode_graphs(embed_graphs).mean(axis=1)
        directory.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(directory / CHECKPOINT, state_dict_bytes(model))
    manifest["training_seconds"] = round(train_seconds, 2)
    manifest["total_seconds"] = round(time.perf_counter() - started, 2)
    manifest["embedding"] = {"num_cells": len(vectors), "dim": int(vectors.shape[1]),
                             "kind": "mean over nodes of mu" if cfg.encoder != "raw" else "one-hot ops + upper adjacency"}
    cell_arrays, precision = {}, "float32"
    if cfg.space == "nb101":  # module hashes cannot be inverted: store the cells; float16 keeps 100k+ rows small
        from nasviz.spaces.nb101 import pack_cells

        cell_arrays, precision = pack_cells(data.embed_cells), "float16"
        manifest["embedding"].update(stored_precision=precision, cells="cells_edges / cells_ops (nb101.pack_cells)")
    EmbeddingSet(cfg.space, cfg.encoder, np.asarray(data.embed_ids), vectors.astype(np.float32), manifest,
                 cell_arrays).save(directory, precision)
    write_manifest(directory, manifest)
    return manifest

