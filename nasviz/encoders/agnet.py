"""AG-Net (Lukasik, Jung, Keuper, ECCV 2022): a purely generative graph model with an MLP surrogate.

Generator (paper algorithm 3, reference notes A4): from ``z`` in R^32 it builds the graph node by node. Each
step scores the next node's type from ``[z, h_G]`` (softmax, no sampling), embeds the soft type with an MLP,
initialises the node state from ``[z, h_G, embedding]``, scores an edge from every earlier node, runs 2
rounds of forward and backward GRU message passing over the soft partial graph and updates the graph
state ``h_G`` by a gated sum. A learned embedding of the step t is added to the inputs of f_addNode and
f_initNode, and those of t and j to f_addEdges (not in the paper; explicit node positions make training
far faster on CPU). Everything is
differentiable; node types and edges are sampled only at the
end (categorical / Bernoulli, from seeded noise so that a (z, noise seed) pair always gives the same cell).

Training is unsupervised: each random ``z ~ N(0, I)`` is paired with a randomly drawn cell and the loss is
``CE(node types) + BCE(edges)``. The generator therefore learns the distribution of the training cells:
since z and the target are independent, the optimum is the same per-node / per-edge marginals for every
z, so the output hardly depends on z and the diversity of samples comes from the final sampling
(an interpolation walk in z with fixed sampling noise mostly stays on one cell).
The surrogate is a 4-layer MLP on the vector representation (node type probabilities then the upper
triangular edge probabilities: NB201 8x7 + 28 = 84, NB101 7x5 + 21 = 56). Weighted retraining fine-tunes
generator and surrogate on evaluated cells drawn with rank weights ``1 / (kN + rank)`` and the loss
``(1 - alpha) * recon + alpha * MSE``.

Public API::

    from nasviz.encoders.agnet import AGNetEncoder, generated_distribution, retraining_shift, interpolation_walk
    enc = AGNetEncoder.load("nb201")
    enc.generate(1000, seed=0)                     # cells (None where invalid)
    generated_distribution(enc, 10_000, seed=0)    # validity/uniqueness/novelty + ids of generated cells
    retraining_shift(enc, cells, scores, ...)      # accuracy of samples before/after weighted retraining
    interpolation_walk(enc, z_a, z_b, steps=10)    # decoded points of a line in z, invalid ones flagged
    distinct_endpoints(enc, seed=0)                # two z's of U(-3, 3) whose decodes differ
"""

from __future__ import annotations

import copy
import io
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from nasviz.encoders.base import Encoder
from nasviz.encoders.store import EmbeddingSet, atomic_write_bytes, user_model_dir, write_manifest
from nasviz.errors import CellError, ConfigError, DataError
from nasviz.progress import ProgressCallback, no_progress
from nasviz.spaces import nb101, nb201

CHECKPOINT = "checkpoint.pt"


# ---- graph encodings ------------------------------------------------------------------------------

class AGNetGraphs:
    """AG-Net's node-typed DAG encoding of one space: node labels (V,) in AG-Net op order (output = 0,
    input = 1) and a (V, V) upper-triangular adjacency."""

    space: ClassVar[str] = ""
    num_nodes: ClassVar[int] = 0
    op_names: ClassVar[tuple[str, ...]] = ()
    INPUT: ClassVar[int] = 1

    @property
    def num_ops(self) -> int:
        return len(self.op_names)

    @property
    def vector_dim(self) -> int:
        return self.num_nodes * self.num_ops + self.num_nodes * (self.num_nodes - 1) // 2

    def target(self, cell: Any) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def reason(self, labels: np.ndarray, adjacency: np.ndarray) -> str | None:
        """Why a generated graph is not a cell (None when it is one)."""
        raise NotImplementedError

    def to_cell(self, labels: np.ndarray, adjacency: np.ndarray) -> Any | None:
        raise NotImplementedError

    def targets(self, cells: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
        pairs = [self.target(c) for c in cells]
        return np.stack([p[0] for p in pairs]).astype(np.int64), np.stack([p[1] for p in pairs]).astype(np.float32)

    def vectors(self, labels: np.ndarray, adjacency: np.ndarray) -> np.ndarray:
        """Vector representation of hard graphs: one-hot labels then the upper-triangular adjacency."""
        onehot = np.eye(self.num_ops, dtype=np.float32)[labels]
        iu = np.triu_indices(self.num_nodes, 1)
        return np.concatenate([onehot.reshape(len(labels), -1), adjacency[:, iu[0], iu[1]].astype(np.float32)], axis=1)


class NB201Graphs(AGNetGraphs):
    space = "nb201"
    num_nodes = 8
    op_names = nb201.AGNET_OPS

    def target(self, cell: Any) -> tuple[np.ndarray, np.ndarray]:
        adjacency, ops = nb201.to_node_dag(cell)
        return np.array([self.op_names.index(o) for o in ops], dtype=np.int64), adjacency

    def reason(self, labels: np.ndarray, adjacency: np.ndarray) -> str | None:
        labels = [int(x) for x in labels]
        if labels[0] != 1:
            return "node 0 is not the input"
        if labels[7] != 0:
            return "node 7 is not the output"
        bad = [v for v in range(1, 7) if labels[v] < 2]
        if bad:
            return f"node {bad[0]} is {self.op_names[labels[bad[0]]]}, not an edge op"
        if not np.array_equal(np.triu(np.asarray(adjacency), 1).astype(np.int8), nb201.NODE_DAG_ADJACENCY):
            return "the edges are not the NB201 node DAG"
        return None

    def to_cell(self, labels: np.ndarray, adjacency: np.ndarray) -> Any | None:
        if self.reason(labels, adjacency) is not None:
            return None
        return nb201.NB201Cell(tuple(self.op_names[int(x)] for x in labels[1:7]))


class NB101Graphs(AGNetGraphs):
    space = "nb101"
    num_nodes = 7
    op_names = nb101.AGNET_OPS

    def target(self, cell: Any) -> tuple[np.ndarray, np.ndarray]:
        adjacency, labels = nb101.to_agnet(cell)
        return labels, adjacency

    def reason(self, labels: np.ndarray, adjacency: np.ndarray) -> str | None:
        if int(labels[0]) != 1:
            return "node 0 is not the input"
        if 1 in [int(x) for x in labels[1:]]:
            return "a second input node"
        try:
            cell = nb101.from_agnet(np.triu(np.asarray(adjacency), 1), labels)
        except CellError as exc:
            return str(exc)
        return nb101.analyse(cell).reason

    def to_cell(self, labels: np.ndarray, adjacency: np.ndarray) -> Any | None:
        if self.reason(labels, adjacency) is not None:
            return None
        return nb101.pruned_cell(nb101.from_agnet(np.triu(np.asarray(adjacency), 1), labels))


_GRAPHS: dict[str, type[AGNetGraphs]] = {"nb201": NB201Graphs, "nb101": NB101Graphs}


def get_graphs(space: str) -> AGNetGraphs:
    from nasviz.spaces import get_space

    key = get_space(space).name
    if key not in _GRAPHS:
        raise ConfigError(f"AG-Net supports spaces {', '.join(_GRAPHS)}, not {space!r}")
    return _GRAPHS[key]()


# ---- model ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AGNetConfig:
    """Shape of the generator and surrogate (defaults: AG-Net table 13)."""

    num_nodes: int
    num_ops: int
    latent_dim: int = 32
    node_dim: int = 32
    gnn_layers: int = 2
    predictor_layers: int = 4
    predictor_hidden: int = 64

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def mlp(in_dim: int, hidden: int, out_dim: int, layers: int = 2) -> nn.Sequential:
    modules: list[nn.Module] = []
    dim = in_dim
    for _ in range(layers - 1):
        modules += [nn.Linear(dim, hidden), nn.ReLU()]
        dim = hidden
    modules.append(nn.Linear(dim, out_dim))
    return nn.Sequential(*modules)


class Generator(nn.Module):
    """Node-by-node differentiable graph generator (AG-Net algorithm 3 without sampling inside)."""

    def __init__(self, cfg: AGNetConfig) -> None:
        super().__init__()
        self.cfg = cfg
        d, zd, k = cfg.node_dim, cfg.latent_dim, cfg.num_ops
        self.embedding = mlp(k, d, d)  # f_Embedding on (soft) one-hot node types
        self.position = nn.Embedding(cfg.num_nodes, d)  # which node is being added (step t)
        self.init_node = mlp(zd + zd + 2 * d, d, d)  # f_initNode(z, h_G, embedding, position)
        self.add_node = mlp(zd + zd + d, d, k)  # f_addNode(z, h_G, position) -> type scores
        self.add_edge = mlp(4 * d + zd + zd, d, 1)  # f_addEdges(h_new, h_j, h_G, z, position t, position j)
        self.forward_gru = nn.ModuleList(nn.GRUCell(d, d) for _ in range(cfg.gnn_layers))
        self.backward_gru = nn.ModuleList(nn.GRUCell(d, d) for _ in range(cfg.gnn_layers))
        self.forward_msg = nn.ModuleList(nn.Linear(d, d) for _ in range(cfg.gnn_layers))
        self.backward_msg = nn.ModuleList(nn.Linear(d, d) for _ in range(cfg.gnn_layers))
        self.gate = nn.Linear(d, 1)
        self.graph_map = nn.Linear(d, zd)

    def _propagate(self, h: torch.Tensor, adj: torch.Tensor) -> torch.Tensor:
        """Forward (along edges) then backward GRU message passing, weighted by edge probabilities."""
        b, n, d = h.shape
        for layer in range(self.cfg.gnn_layers):
            msg = torch.bmm(adj.transpose(1, 2), self.forward_msg[layer](h))  # sum over predecessors
            h = self.forward_gru[layer](msg.reshape(-1, d), h.reshape(-1, d)).reshape(b, n, d)
            msg = torch.bmm(adj, self.backward_msg[layer](h))  # sum over successors
            h = self.backward_gru[layer](msg.reshape(-1, d), h.reshape(-1, d)).reshape(b, n, d)
        return h

    def _aggregate(self, h: torch.Tensor) -> torch.Tensor:
        return (torch.sigmoid(self.gate(h)) * self.graph_map(h)).sum(dim=1)

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(node type logits (B, V, K), edge probabilities (B, V, V) upper triangular). Node 0 is the input."""
        cfg = self.cfg
        b = z.shape[0]
        v = cfg.num_nodes
        input_onehot = torch.zeros(b, cfg.num_ops)
        input_onehot[:, AGNetGraphs.INPUT] = 1.0
        h_graph = z
        positions = self.position.weight
        h = self.init_node(torch.cat([z, h_graph, self.embedding(input_onehot), positions[0].expand(b, -1)], dim=-1)).unsqueeze(1)
        input_logits = torch.full((b, cfg.num_ops), -20.0)
        input_logits[:, AGNetGraphs.INPUT] = 20.0
        logits = [input_logits]
        adj = torch.zeros(b, 1, 1)
        edge_columns = []
        for t in range(1, v):
            position = positions[t].expand(b, -1)
            node_logits = self.add_node(torch.cat([z, h_graph, position], dim=-1))
            logits.append(node_logits)
            h_new = self.init_node(torch.cat([z, h_graph, self.embedding(torch.softmax(node_logits, -1)), position], dim=-1))
            pair = torch.cat([h_new.unsqueeze(1).expand(-1, t, -1), h, h_graph.unsqueeze(1).expand(-1, t, -1),
                              z.unsqueeze(1).expand(-1, t, -1), position.unsqueeze(1).expand(-1, t, -1),
                              positions[:t].unsqueeze(0).expand(b, -1, -1)], dim=-1)
            edge_prob = torch.sigmoid(self.add_edge(pair)).squeeze(-1)  # (B, t): edges j -> t
            edge_columns.append(edge_prob)
            h = torch.cat([h, h_new.unsqueeze(1)], dim=1)
            grown = torch.zeros(b, t + 1, t + 1)
            grown[:, :t, :t] = adj
            grown[:, :t, t] = edge_prob
            adj = grown
            h = self._propagate(h, adj)
            h_graph = self._aggregate(h)
        return torch.stack(logits, dim=1), adj


class Surrogate(nn.Module):
    """The AG-Net performance predictor: an MLP with ReLU on the vector representation."""

    def __init__(self, cfg: AGNetConfig) -> None:
        super().__init__()
        in_dim = cfg.num_nodes * cfg.num_ops + cfg.num_nodes * (cfg.num_nodes - 1) // 2
        self.net = mlp(in_dim, cfg.predictor_hidden, 1, cfg.predictor_layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(-1)


class AGNetModel(nn.Module):
    """Generator + surrogate, with the target range of the surrogate kept as buffers."""

    def __init__(self, cfg: AGNetConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.generator = Generator(cfg)
        self.surrogate = Surrogate(cfg)
        self.register_buffer("target_min", torch.tensor(0.0))
        self.register_buffer("target_max", torch.tensor(1.0))

    def vector(self, node_logits: torch.Tensor, edge_prob: torch.Tensor) -> torch.Tensor:
        """Differentiable vector representation of generated graphs (B, V*K + V(V-1)/2)."""
        iu = torch.triu_indices(self.cfg.num_nodes, self.cfg.num_nodes, 1)
        return torch.cat([torch.softmax(node_logits, -1).flatten(1), edge_prob[:, iu[0], iu[1]]], dim=1)


def reconstruction_loss(node_logits: torch.Tensor, edge_prob: torch.Tensor, labels: torch.Tensor, adjacency: torch.Tensor,
                        reduction: str = "mean") -> torch.Tensor:
    """CE over node types (nodes 1..V-1) + BCE over the upper-triangular edges; per graph with reduction 'none'."""
    v = node_logits.shape[1]
    ce = F.cross_entropy(node_logits[:, 1:].reshape(-1, node_logits.shape[-1]), labels[:, 1:].reshape(-1),
                         reduction="none").reshape(-1, v - 1).mean(1)
    iu = torch.triu_indices(v, v, 1)
    bce = F.binary_cross_entropy(edge_prob[:, iu[0], iu[1]].clamp(1e-6, 1 - 1e-6), adjacency[:, iu[0], iu[1]],
                                 reduction="none").mean(1)
    per_graph = ce + bce
    return per_graph if reduction == "none" else per_graph.mean()


# ---- sampling ------------------------------------------------------------------------------------

def sample_graphs(node_logits: np.ndarray, edge_prob: np.ndarray, seed: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Final sampling of algorithm 3: categorical node types (Gumbel-max) and Bernoulli edges from seeded
    noise; ``seed=None`` takes the argmax types and thresholds edges at 0.5 instead."""
    v = edge_prob.shape[1]
    if seed is None:
        labels = node_logits.argmax(-1)
        adjacency = (edge_prob > 0.5).astype(np.int8)
    else:
        rng = np.random.default_rng(seed)
        gumbel = -np.log(-np.log(rng.uniform(1e-12, 1.0, size=node_logits.shape)))
        labels = (node_logits + gumbel).argmax(-1)
        adjacency = (rng.uniform(size=edge_prob.shape) < edge_prob).astype(np.int8)
    return labels.astype(np.int64), np.triu(adjacency, 1).reshape(-1, v, v)


def _seed(seed: int, threads: int) -> None:
    import random

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if threads > 0:
        torch.set_num_threads(threads)


# ---- encoder --------------------------------------------------------------------------------------

class AGNetEncoder(Encoder):
    """A pretrained AG-Net generator (+ surrogate) of one space. Embeddings are the vector representation."""

    name = "agnet"
    title = "AG-Net (generator + MLP surrogate)"
    has_decoder = True

    def __init__(self, space: str, model: AGNetModel, manifest: dict[str, Any] | None = None) -> None:
        super().__init__(space, manifest)
        self.graphs = get_graphs(space)
        if model.cfg.num_nodes != self.graphs.num_nodes or model.cfg.num_ops != self.graphs.num_ops:
            raise ConfigError(f"AG-Net model of {model.cfg.num_nodes} nodes x {model.cfg.num_ops} ops does not fit {space}")
        self.model = model.eval()

    @property
    def dim(self) -> int:
        return self.graphs.vector_dim

    def embed(self, cells: Sequence[Any], progress: ProgressCallback = no_progress) -> np.ndarray:
        labels, adjacency = self.graphs.targets(cells)
        return self.graphs.vectors(labels, adjacency)

    def sample_prior(self, n: int, seed: int) -> np.ndarray:
        return np.random.default_rng(seed).standard_normal((n, self.model.cfg.latent_dim)).astype(np.float32)

    def generate_graphs(self, z: np.ndarray, noise_seed: int | None = 0,
                        shared_noise: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(labels, adjacency, vectors of the soft graphs) of latents ``z`` (n, 32). With ``shared_noise`` every
        row is sampled with the same noise (as if decoded alone with ``noise_seed``), as a walk in z needs."""
        with torch.no_grad():
            out_labels, out_adj, out_vec = [], [], []
            for start in range(0, len(z), 2048):
                zb = torch.as_tensor(np.asarray(z[start:start + 2048], dtype=np.float32))
                logits, edges = self.model.generator(zb)
                if shared_noise and noise_seed is not None:
                    rows = [sample_graphs(logits[i:i + 1].numpy(), edges[i:i + 1].numpy(), noise_seed) for i in range(len(zb))]
                    labels, adjacency = np.concatenate([r[0] for r in rows]), np.concatenate([r[1] for r in rows])
                else:
                    labels, adjacency = sample_graphs(logits.numpy(), edges.numpy(),
                                                      None if noise_seed is None else noise_seed + start)
                out_labels.append(labels)
                out_adj.append(adjacency)
                out_vec.append(self.model.vector(logits, edges).numpy())
        return np.concatenate(out_labels), np.concatenate(out_adj), np.concatenate(out_vec)

    def decode(self, latent: np.ndarray, constrained: bool = False, noise_seed: int | None = 0) -> list[Any | None]:
        """Cells generated from ``z`` with the final sampling driven by ``noise_seed`` (None: argmax decode);
        None where the generated graph is not a valid cell."""
        labels, adjacency, _ = self.generate_graphs(np.asarray(latent), noise_seed)
        return [self.graphs.to_cell(lab, adj) for lab, adj in zip(labels, adjacency, strict=True)]

    def generate(self, n: int, seed: int = 0, uniform: float | None = None) -> list[Any | None]:
        """``n`` generated cells (None where invalid); z ~ N(0, I), or U(-a, a) with ``uniform=a`` (search)."""
        rng = np.random.default_rng(seed)
        z = (rng.uniform(-uniform, uniform, size=(n, self.model.cfg.latent_dim)) if uniform
             else rng.standard_normal((n, self.model.cfg.latent_dim))).astype(np.float32)
        return self.decode(z, noise_seed=seed + 1)

    def predict(self, cells: Sequence[Any]) -> np.ndarray:
        """Surrogate prediction (benchmark units) for cells."""
        with torch.no_grad():
            pred = self.model.surrogate(torch.from_numpy(self.embed(cells))).numpy()
        lo, hi = float(self.model.target_min), float(self.model.target_max)
        return lo + pred * (hi - lo)

    @classmethod
    def load_dir(cls, directory: Path, space: str) -> AGNetEncoder:
        manifest = cls.read_manifest(directory, cls.name, space)
        try:
            cfg = AGNetConfig(**manifest["model"])
        except (KeyError, TypeError) as exc:
            raise DataError(f"manifest in {directory} has no valid AG-Net model shape: {exc}") from None
        path = directory / CHECKPOINT
        if not path.exists():
            raise DataError(f"no checkpoint at {path}")
        try:
            model = AGNetModel(cfg)
            model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        except Exception as exc:  # noqa: BLE001 - torch raises many types for corrupt checkpoints
            raise DataError(f"cannot read AG-Net checkpoint {path}: {exc}") from None
        return cls(space, model, manifest)

    @classmethod
    def train_model(cls, space: str, out_dir: Path | None = None, seed: int | None = None, epochs: int | None = None,
              command: str | None = None, progress: ProgressCallback = no_progress, **options: Any) -> dict[str, Any]:
        """Train and save (the registry hook ``nasviz encoders train agnet`` calls); ``epochs`` = steps / 100."""
        steps = None if epochs is None else 100 * epochs
        return fit_and_save(space, out_dir=out_dir, seed=seed, steps=steps, command=command, progress=progress, **options)

    @classmethod
    def evaluate_model(cls, space: str, progress: ProgressCallback = no_progress) -> dict[str, Any]:
        return evaluate(space, progress=progress)


# ---- training ------------------------------------------------------------------------------------

def train_generator(model: AGNetModel, labels: np.ndarray, adjacency: np.ndarray, steps: int, seed: int,
                    batch_size: int = 64, learning_rate: float = 5e-3, betas: tuple[float, float] = (0.5, 0.999),
                    ticks: int = 10, graphs: AGNetGraphs | None = None, tick_samples: int = 1000,
                    progress: ProgressCallback = no_progress) -> list[dict[str, float]]:
    """Unsupervised pretraining: random z paired with random training graphs, loss CE(nodes) + BCE(edges).
    Every ``steps / ticks`` steps the validity of ``tick_samples`` generated graphs is measured and the state
    with the best validity is kept (paper appendix E.1). The learning rate decays with a cosine schedule (the
    paper's 2.5 M instances at lr 2e-4 are out of reach on 2 CPU cores: larger batches, a larger rate)."""
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.generator.parameters(), lr=learning_rate, betas=betas)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(steps, 1))
    labels_t, adj_t = torch.from_numpy(labels), torch.from_numpy(adjacency.astype(np.float32))
    history: list[dict[str, float]] = []
    best = (-1.0, copy.deepcopy(model.state_dict()))
    tick_every = max(1, steps // max(ticks, 1))
    running = 0.0
    for step in range(1, steps + 1):
        model.train()
        index = torch.randint(len(labels_t), (batch_size,), generator=generator)
        z = torch.randn(batch_size, model.cfg.latent_dim, generator=generator)
        logits, edges = model.generator(z)
        loss = reconstruction_loss(logits, edges, labels_t[index], adj_t[index])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        running += loss.item()
        if step % tick_every == 0 or step == steps:
            entry = {"step": step, "loss": round(running / tick_every, 5)}
            running = 0.0
            if graphs is not None:
                model.eval()
                enc_validity = _validity(model, graphs, tick_samples, seed + step)
                entry["validity"] = enc_validity
                if enc_validity > best[0]:
                    best = (enc_validity, copy.deepcopy(model.state_dict()))
            history.append(entry)
            progress(step, steps, f"step {step}/{steps} loss {entry['loss']:.4f}")
    if graphs is not None:
        model.load_state_dict(best[1])
    model.eval()
    return history


def _validity(model: AGNetModel, graphs: AGNetGraphs, n: int, seed: int) -> float:
    z = torch.from_numpy(np.random.default_rng(seed).standard_normal((n, model.cfg.latent_dim)).astype(np.float32))
    with torch.no_grad():
        logits, edges = model.generator(z)
    labels, adjacency = sample_graphs(logits.numpy(), edges.numpy(), seed)
    return float(np.mean([graphs.reason(lab, adj) is None for lab, adj in zip(labels, adjacency, strict=True)]))


def rank_weights(scores: Sequence[float], k: float = 1e-3) -> np.ndarray:
    """Weighted-retraining weights ``1 / (kN + rank)``, rank = number of strictly better cells (normalised)."""
    s = np.asarray(scores, dtype=np.float64)
    if len(s) == 0:
        raise ConfigError("rank weights need at least one score")
    rank = (s[None, :] > s[:, None]).sum(axis=1)
    w = 1.0 / (k * len(s) + rank)
    return w / w.sum()


def weighted_retrain(model: AGNetModel, graphs: AGNetGraphs, cells: Sequence[Any], scores: Sequence[float], epochs: int,
                     seed: int, alpha: float = 0.9, k: float = 1e-3, batch_size: int = 32, learning_rate: float = 2e-4,
                     predictor_lr: float = 1e-3, steps_per_epoch: int | None = None,
                     progress: Callable[[int, int], None] | None = None) -> dict[str, float]:
    """Fine-tune generator and surrogate on evaluated ``cells`` (higher ``scores`` better): batches are drawn
    with the rank weights, the loss is ``(1 - alpha) * recon(G(z), cell) + alpha * MSE(P(vector(cell)), y)``
    with y the min-max normalised score; ``progress(done, total)`` is called after each optimiser step.
    Returns the last epoch's mean losses."""
    if len(cells) == 0:
        raise ConfigError("weighted retraining needs evaluated cells")
    y = np.asarray(scores, dtype=np.float64)
    lo, hi = float(y.min()), float(y.max())
    hi = hi if hi > lo else lo + 1.0
    model.target_min.fill_(lo)
    model.target_max.fill_(hi)
    labels, adjacency = graphs.targets(cells)
    vectors = torch.from_numpy(graphs.vectors(labels, adjacency))
    labels_t, adj_t = torch.from_numpy(labels), torch.from_numpy(adjacency.astype(np.float32))
    y_t = torch.from_numpy(((y - lo) / (hi - lo)).astype(np.float32))
    weights = torch.from_numpy(rank_weights(y, k))
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam([{"params": model.generator.parameters(), "lr": learning_rate, "betas": (0.5, 0.999)},
                                  {"params": model.surrogate.parameters(), "lr": predictor_lr}])
    steps = steps_per_epoch or max(1, (len(cells) + batch_size - 1) // batch_size)
    last = {"recon": 0.0, "mse": 0.0}
    done = 0
    model.train()
    for _ in range(epochs):
        sums = {"recon": 0.0, "mse": 0.0}
        for _ in range(steps):
            index = torch.multinomial(weights, batch_size, replacement=True, generator=generator)
            z = torch.randn(batch_size, model.cfg.latent_dim, generator=generator)
            logits, edges = model.generator(z)
            recon = reconstruction_loss(logits, edges, labels_t[index], adj_t[index])
            mse = F.mse_loss(model.surrogate(vectors[index]), y_t[index])
            loss = (1 - alpha) * recon + alpha * mse
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            sums["recon"] += recon.item() / steps
            sums["mse"] += mse.item() / steps
            done += 1
            if progress is not None:
                progress(done, epochs * steps)
        last = sums
    model.eval()
    return last


#: space -> (number of drawn training cells (None = all 90 %), pretraining steps)
AGNET_DEFAULTS: dict[str, tuple[int | None, int]] = {"nb201": (None, 2400), "nb101": (20_000, 800)}


def training_cells(space: str, seed: int, sample_size: int | None = None) -> tuple[list[Any], list[Any], str]:
    """(train cells, held-out cells, description): NB201 all cells, seeded 90/10 split; NB101 a seeded sample
    of valid cells (nb101.sample), deduplicated, 90/10."""
    from nasviz.spaces import get_space

    sp = get_space(space)
    rng = np.random.default_rng(seed)
    if sp.name == "nb201":
        cells = sp.enumerate()
        source = "all 15,625 NB201 cells"
    else:
        size = sample_size or AGNET_DEFAULTS[sp.name][0] or 20_000
        seen: set[str] = set()
        cells = []
        for c in sp.sample(size, seed):
            cid = sp.cell_id(c)
            if cid not in seen:
                seen.add(cid)
                cells.append(c)
        source = f"{sp.name}.sample({size}, seed={seed}), deduplicated"
    order = rng.permutation(len(cells))
    n_train = int(0.9 * len(cells))
    return [cells[i] for i in order[:n_train]], [cells[i] for i in order[n_train:]], source


def generation_metrics(encoder: AGNetEncoder, n: int, seed: int, train_ids: set[str]) -> dict[str, Any]:
    """Paper table 12: validity (valid / samples), uniqueness (distinct valid / valid) and novelty (valid
    samples not in the training set / valid; also over the distinct ones) of ``n`` samples z ~ N(0, I)."""
    from nasviz.encoders.metrics import counting
    from nasviz.spaces import get_space

    sp = get_space(encoder.space)
    cells = encoder.decode(encoder.sample_prior(n, seed), noise_seed=seed + 1)
    ids = [sp.cell_id(c) for c in cells if c is not None]
    out: dict[str, Any] = counting(n, ids)
    out["novelty"] = float(np.mean([i not in train_ids for i in ids])) if ids else 0.0
    distinct = set(ids)
    out["novelty_unique"] = float(np.mean([i not in train_ids for i in distinct])) if distinct else 0.0
    out["seed"] = seed
    return out


def fit_and_save(space: str, out_dir: Path | None = None, seed: int | None = None, steps: int | None = None,
                 sample_size: int | None = None, samples: int = 10_000, threads: int = 1, command: str | None = None,
                 batch_size: int = 64, learning_rate: float = 5e-3, progress: ProgressCallback = no_progress,
                 **model: Any) -> dict[str, Any]:
    """Pretrain the AG-Net generator of ``space`` and write checkpoint.pt, embeddings.npz (vector representation
    of the training + held-out cells) and manifest.json (with table-12 metrics of ``samples`` samples)."""
    from nasviz.encoders.training import command_line
    from nasviz.spaces import get_space

    sp = get_space(space)
    graphs = get_graphs(sp.name)
    seed = 0 if seed is None else seed
    steps = AGNET_DEFAULTS[sp.name][1] if steps is None else steps
    started = time.perf_counter()
    _seed(seed, threads)
    train, held, source = training_cells(sp.name, seed, sample_size)
    cfg = AGNetConfig(graphs.num_nodes, graphs.num_ops, **model)
    net = AGNetModel(cfg)
    labels, adjacency = graphs.targets(train)
    fit_started = time.perf_counter()
    history = train_generator(net, labels, adjacency, steps, seed, batch_size=batch_size, learning_rate=learning_rate,
                              graphs=graphs, progress=progress)
    train_seconds = time.perf_counter() - fit_started
    manifest: dict[str, Any] = {
        "encoder": "agnet", "space": sp.name, "seed": seed, "model": cfg.to_dict(),
        "config": {"steps": steps, "batch_size": batch_size, "learning_rate": learning_rate, "schedule": "cosine",
                   "betas": [0.5, 0.999],
                   "ticks": 10,
                   "selection": "tick with the best validity of 1,000 samples", "threads": threads},
        "data": {"source": source, "split": "seeded 90/10", "num_train": len(train), "num_held_out": len(held)},
        "command": command or command_line(), "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "versions": {"torch": torch.__version__, "numpy": np.__version__}, "history": history,
        "training_seconds": round(train_seconds, 2),
    }
    encoder = AGNetEncoder(sp.name, net, manifest)
    train_ids = {sp.cell_id(c) for c in train}
    manifest["metrics"] = {"generation": generation_metrics(encoder, samples, seed, train_ids)}
    directory = Path(out_dir) if out_dir is not None else user_model_dir(sp.name, "agnet")
    directory.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    torch.save(net.state_dict(), buffer)
    atomic_write_bytes(directory / CHECKPOINT, buffer.getvalue())
    embed_cells = sp.enumerate() if sp.name == "nb201" else train + held
    vectors = encoder.embed(embed_cells)
    manifest["embedding"] = {"num_cells": len(embed_cells), "dim": int(vectors.shape[1]),
                             "kind": "AG-Net vector representation (one-hot node types, upper-triangular edges)"}
    manifest["total_seconds"] = round(time.perf_counter() - started, 2)
    from nasviz.encoders.nao import stored_cells

    EmbeddingSet(sp.name, "agnet", np.asarray([sp.cell_id(c) for c in embed_cells]), vectors, manifest,
                 cell_arrays=stored_cells(sp.name, embed_cells)).save(directory)
    write_manifest(directory, manifest)
    return manifest


def evaluate(space: str, samples: int = 10_000, seed: int = 0, progress: ProgressCallback = no_progress) -> dict[str, Any]:
    """Table-12 metrics of the trained generator of ``space`` (training set rebuilt from the manifest's seed)."""
    from nasviz.spaces import get_space

    sp = get_space(space)
    encoder = AGNetEncoder.load(sp.name)
    progress(0, 1, "rebuilding the training set")
    train, _, _ = training_cells(sp.name, int(encoder.manifest.get("seed", 0)))
    out = {"encoder": "agnet", "space": sp.name,
           "generation": generation_metrics(encoder, samples, seed, {sp.cell_id(c) for c in train})}
    progress(1, 1, "done")
    return out


# ---- backend functions for the pages --------------------------------------------------------------

def generated_distribution(encoder: AGNetEncoder, n: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Generate ``n`` cells: ``cell_ids`` of the valid ones (repeats kept, for projecting them with any
    encoder's embeddings), ``counts`` per distinct id, validity, uniqueness and invalid reasons."""
    from collections import Counter

    from nasviz.spaces import get_space

    sp = get_space(encoder.space)
    z = encoder.sample_prior(n, seed)
    labels, adjacency, _ = encoder.generate_graphs(z, noise_seed=seed + 1)
    ids, reasons = [], Counter()
    for lab, adj in zip(labels, adjacency, strict=True):
        reason = encoder.graphs.reason(lab, adj)
        if reason is None:
            ids.append(sp.cell_id(encoder.graphs.to_cell(lab, adj)))
        else:
            reasons[reason.split(":")[0]] += 1
    counts = Counter(ids)
    return {"cell_ids": ids, "counts": dict(counts), "samples": n, "valid": len(ids),
            "validity": len(ids) / n if n else 0.0, "uniqueness": len(counts) / len(ids) if ids else 0.0,
            "invalid_reasons": dict(reasons.most_common())}


def retraining_shift(encoder: AGNetEncoder, cells: Sequence[Any], scores: Sequence[float], accuracy: dict[str, float],
                     samples: int = 1000, epochs: int = 15, seed: int = 0, alpha: float = 0.9, k: float = 1e-3,
                     steps_per_epoch: int | None = 20, learning_rate: float = 1e-3,
                     progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """How weighted retraining shifts the generated distribution towards good cells: retrain a copy of the
    generator on ``cells`` with ``scores`` and compare ``accuracy`` (id -> value) of the valid samples before
    and after. The encoder itself is not changed. Returns before/after accuracy arrays and their means."""
    from nasviz.spaces import get_space

    sp = get_space(encoder.space)
    after_model = copy.deepcopy(encoder.model)
    _seed(seed, 0)
    losses = weighted_retrain(after_model, encoder.graphs, cells, scores, epochs, seed, alpha=alpha, k=k,
                              steps_per_epoch=steps_per_epoch, learning_rate=learning_rate, progress=progress)
    after = AGNetEncoder(encoder.space, after_model, encoder.manifest)
    out: dict[str, Any] = {"epochs": epochs, "alpha": alpha, "k": k, "learning_rate": learning_rate, "losses": losses,
                           "num_training_cells": len(cells)}
    for name, enc in (("before", encoder), ("after", after)):
        generated = enc.generate(samples, seed=seed)
        values = [accuracy.get(sp.cell_id(c), np.nan) for c in generated if c is not None]
        arr = np.asarray(values, dtype=np.float64)
        out[name] = {"accuracy": arr, "mean": float(np.nanmean(arr)) if np.isfinite(arr).any() else float("nan"),
                     "validity": float(np.mean([c is not None for c in generated]))}
    return out


def interpolation_walk(encoder: AGNetEncoder, z_start: np.ndarray, z_end: np.ndarray, steps: int = 10,
                       noise_seed: int | None = None) -> list[dict[str, Any]]:
    """Decode ``steps + 1`` evenly spaced points of the segment z_start -> z_end, by default with the argmax
    decode (``noise_seed=None``), else with the same final-sampling noise at every point. Rows: t, z, cell (None
    if invalid), cell_id, valid, reason, vector (the soft graph's vector representation) and margin (smallest gap
    between the two most likely types of a generated node: how close the argmax decode is to flipping)."""
    from nasviz.spaces import get_space

    if steps < 1:
        raise ConfigError("an interpolation walk needs at least one step")
    sp = get_space(encoder.space)
    t = np.linspace(0.0, 1.0, steps + 1, dtype=np.float32)
    z = (1 - t)[:, None] * np.asarray(z_start, np.float32)[None] + t[:, None] * np.asarray(z_end, np.float32)[None]
    labels, adjacency, vectors = encoder.generate_graphs(z, noise_seed, shared_noise=True)
    rows = []
    for i, point in enumerate(z):
        reason = encoder.graphs.reason(labels[i], adjacency[i])
        cell = encoder.graphs.to_cell(labels[i], adjacency[i]) if reason is None else None
        rows.append({"t": float(t[i]), "z": point, "cell": cell, "cell_id": sp.cell_id(cell) if cell is not None else None,
                     "valid": cell is not None, "reason": reason, "vector": vectors[i],
                     "margin": type_margin(encoder.graphs, vectors[i])})
    return rows


def type_margin(graphs: AGNetGraphs, vector: np.ndarray) -> float:
    """Smallest top-1 minus top-2 type probability over the generated nodes (1..V-1) of a soft vector."""
    probs = np.asarray(vector[:graphs.num_nodes * graphs.num_ops]).reshape(graphs.num_nodes, graphs.num_ops)[1:]
    top = np.sort(probs, axis=1)
    return float((top[:, -1] - top[:, -2]).min())


def distinct_endpoints(encoder: AGNetEncoder, seed: int, uniform: float | None = 3.0, noise_seed: int | None = None,
                       tries: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """Two latents whose decodes (argmax when ``noise_seed`` is None) are valid and different cells, drawn seeded
    from U(-a, a)^32 (``uniform=a``, the prior of the paper's search) or N(0, I) (``uniform=None``). Falls back to
    the last pair drawn when ``tries`` pairs never decode to two different valid cells."""
    from nasviz.spaces import get_space

    sp = get_space(encoder.space)
    rng = np.random.default_rng(seed)
    dim = encoder.model.cfg.latent_dim
    tries = max(tries, 1)
    z = (rng.uniform(-uniform, uniform, size=(tries, 2, dim)) if uniform else rng.standard_normal((tries, 2, dim)))
    z = z.astype(np.float32)
    labels, adjacency, _ = encoder.generate_graphs(z.reshape(2 * tries, dim), noise_seed, shared_noise=True)
    cells = [encoder.graphs.to_cell(lab, adj) for lab, adj in zip(labels, adjacency, strict=True)]
    ids = [sp.cell_id(c) if c is not None else None for c in cells]
    for i in range(tries):
        if ids[2 * i] is not None and ids[2 * i + 1] is not None and ids[2 * i] != ids[2 * i + 1]:
            return z[i, 0], z[i, 1]
    return z[-1, 0], z[-1, 1]
