"""Graph autoencoders in PyTorch / PyTorch Geometric (dense batching, no compiled extensions).

- arch2vec (Yan et al., 2020): variational graph isomorphism autoencoder. 4 GIN layers (2-layer MLP with
  hidden 128, BatchNorm, ReLU, learnable epsilon), a 16-d Gaussian latent per node, an inner-product
  adjacency decoder and a linear op decoder.
- GAE / VGAE (Kipf & Welling, 2016) with GCN encoders, trained by the same code (paper table 1): the
  arch2vec encoder with each GIN layer replaced by a GCN layer (4 GCN layers of 128, BatchNorm, ReLU, then
  per-node linear heads for mu and log sigma), so that the comparison isolates the aggregation scheme.
  Kipf's original design (one GCN layer, then GCN heads: ``gcn_heads="gcn"``, ``num_layers=1``) averages
  each node's latent with its neighbours', which cannot tell NB201's nodes apart (docs/arch2vec.md).

The encoder sees the adjacency made bidirectional (``A + triu(A, 1)^T``); the decoder reconstructs the
directed upper triangle. With ``node_position`` the encoder input is each node's op one-hot followed by a one-hot of
its index in the encoding's topological order: the only change to the paper's model, needed on NB101, where GIN
otherwise gives 1-WL twins (parallel identical branches, padding nodes) equal latents that the inner-product decoder
cannot keep apart.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.nn import DenseGCNConv, DenseGINConv

from nasviz.errors import ConfigError

#: encoder name -> (graph layer kind, variational)
ARCHITECTURES: dict[str, tuple[str, bool]] = {"arch2vec": ("gin", True), "vgae": ("gcn", True), "gae": ("gcn", False)}


@dataclass(frozen=True)
class ModelConfig:
    """Shape and regularisation of a graph autoencoder (defaults: arch2vec cfg 4)."""

    encoder: str
    num_nodes: int
    num_ops: int
    hidden_dim: int = 128
    latent_dim: int = 16
    #: graph layers before the Gaussian heads (default 4; 1 for Kipf's GCN heads)
    num_layers: int | None = None
    mlp_layers: int = 2
    decoder_dropout: float = 0.3
    #: "ce": softmax cross-entropy over each real node's op (padded nodes ignored); "bce": sigmoid BCE on
    #: the one-hot rows, as the official code does (with dropout 0.3 it fails to learn the ops on NB201)
    ops_loss: str = "ce"
    #: multiplier of the KL term (variational models)
    kl_weight: float = 1.0
    #: GCN encoders only: "linear" = BatchNorm after each GCN layer and per-node linear heads, as arch2vec's
    #: GIN encoder; "gcn" = Kipf's GCN heads for mu / log sigma (cannot reconstruct NB201 exactly)
    gcn_heads: str = "linear"
    #: append a one-hot of each node's index to its op one-hot at the encoder input. The encodings are in a fixed
    #: topological order, so the index is part of the cell; without it GIN gives nodes that 1-WL cannot tell
    #: apart (parallel identical branches, padding) the same mu, and the inner-product decoder then always
    #: predicts an edge between them (sigmoid(|z|^2) > 0.5): 9 % of NB101 cells, 86 % of them misdecoded
    node_position: bool = False

    @property
    def input_dim(self) -> int:
        return self.num_ops + (self.num_nodes if self.node_position else 0)

    def __post_init__(self) -> None:
        if self.encoder not in ARCHITECTURES:
            raise ConfigError(f"unknown graph autoencoder {self.encoder!r}; choose one of {', '.join(ARCHITECTURES)}")
        if self.ops_loss not in ("ce", "bce"):
            raise ConfigError(f"unknown ops loss {self.ops_loss!r}; choose ce or bce")
        if self.gcn_heads not in ("gcn", "linear"):
            raise ConfigError(f"unknown GCN heads {self.gcn_heads!r}; choose gcn or linear")
        if self.num_layers is None:
            kipf = ARCHITECTURES[self.encoder][0] == "gcn" and self.gcn_heads == "gcn"
            object.__setattr__(self, "num_layers", 1 if kipf else 4)

    def to_dict(self) -> dict:
        return asdict(self)


class NodeBatchNorm(nn.BatchNorm1d):
    """BatchNorm over the feature axis of node features shaped (B, V, F)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        return super().forward(x.reshape(-1, shape[-1])).reshape(shape)


class MLP(nn.Sequential):
    """``layers`` linear layers with BatchNorm and ReLU between them (the GIN update function)."""

    def __init__(self, in_dim: int, hidden_dim: int, out_dim: int, layers: int = 2) -> None:
        modules: list[nn.Module] = []
        dim = in_dim
        for _ in range(layers - 1):
            modules += [nn.Linear(dim, hidden_dim), NodeBatchNorm(hidden_dim), nn.ReLU()]
            dim = hidden_dim
        modules.append(nn.Linear(dim, out_dim))
        super().__init__(*modules)


class GINEncoder(nn.Module):
    """GIN layers (learnable epsilon), each followed by BatchNorm and ReLU, then Gaussian heads."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.convs = nn.ModuleList()
        self.norms = nn.ModuleList()
        dim = cfg.input_dim
        for _ in range(cfg.num_layers):
            self.convs.append(DenseGINConv(MLP(dim, cfg.hidden_dim, cfg.hidden_dim, cfg.mlp_layers), train_eps=True))
            self.norms.append(NodeBatchNorm(cfg.hidden_dim))
            dim = cfg.hidden_dim
        self.fc_mu = nn.Linear(cfg.hidden_dim, cfg.latent_dim)
        self.fc_logstd = nn.Linear(cfg.hidden_dim, cfg.latent_dim)

    def forward(self, x: torch.Tensor, adj: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        for conv, norm in zip(self.convs, self.norms, strict=True):
            x = F.relu(norm(conv(x, adj)))
        return self.fc_mu(x), self.fc_logstd(x)


class GCNEncoder(nn.Module):
    """GCN layers (symmetric normalisation with self-loops) with ReLU, then Gaussian heads: GCN layers
    (Kipf) or, with ``gcn_heads="linear"``, BatchNorm after each layer and per-node linear heads."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        dims = [cfg.input_dim] + [cfg.hidden_dim] * cfg.num_layers
        self.convs = nn.ModuleList(DenseGCNConv(a, b) for a, b in zip(dims[:-1], dims[1:], strict=True))
        self.linear_heads = cfg.gcn_heads == "linear"
        if self.linear_heads:
            self.norms = nn.ModuleList(NodeBatchNorm(cfg.hidden_dim) for _ in range(cfg.num_layers))
            self.fc_mu = nn.Linear(cfg.hidden_dim, cfg.latent_dim)
            self.fc_logstd = nn.Linear(cfg.hidden_dim, cfg.latent_dim)
        else:
            self.conv_mu = DenseGCNConv(cfg.hidden_dim, cfg.latent_dim)
            self.conv_logstd = DenseGCNConv(cfg.hidden_dim, cfg.latent_dim)

    def forward(self, x: torch.Tensor, adj: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.linear_heads:
            for conv, norm in zip(self.convs, self.norms, strict=True):
                x = F.relu(norm(conv(x, adj)))
            return self.fc_mu(x), self.fc_logstd(x)
        for conv in self.convs:
            x = F.relu(conv(x, adj))
        return self.conv_mu(x, adj), self.conv_logstd(x, adj)


class InnerProductDecoder(nn.Module):
    """Ops = Linear(latent -> K) logits; adjacency = z z^T logits; dropout on z while training."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.dropout = nn.Dropout(cfg.decoder_dropout)
        self.ops = nn.Linear(cfg.latent_dim, cfg.num_ops)

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.dropout(z)
        return self.ops(z), torch.matmul(z, z.transpose(-1, -2))


def bidirectional(adj: torch.Tensor) -> torch.Tensor:
    """``A + triu(A, 1)^T``: the undirected copy the encoder sees."""
    return adj + torch.triu(adj, 1).transpose(-1, -2)


class GraphAutoencoder(nn.Module):
    """Encoder + decoder, with the training-set statistics of mu kept as buffers for prior sampling."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        kind, self.variational = ARCHITECTURES[cfg.encoder]
        self.encoder = GINEncoder(cfg) if kind == "gin" else GCNEncoder(cfg)
        self.decoder = InnerProductDecoder(cfg)
        self.register_buffer("prior_mean", torch.zeros(cfg.num_nodes, cfg.latent_dim))
        self.register_buffer("prior_std", torch.ones(cfg.num_nodes, cfg.latent_dim))

    def encode(self, adj: torch.Tensor, ops: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mu, log sigma), each (B, V, latent)."""
        x = ops
        if self.cfg.node_position:
            batch, nodes = ops.shape[0], ops.shape[1]
            position = torch.eye(nodes, dtype=ops.dtype, device=ops.device).expand(batch, nodes, nodes)
            x = torch.cat([ops, position], dim=-1)
        return self.encoder(x, bidirectional(adj))

    def reparameterize(self, mu: torch.Tensor, logstd: torch.Tensor) -> torch.Tensor:
        if self.training and self.variational:
            return mu + torch.randn_like(mu) * torch.exp(logstd)
        return mu

    def forward(self, adj: torch.Tensor, ops: torch.Tensor) -> tuple[torch.Tensor, ...]:
        mu, logstd = self.encode(adj, ops)
        ops_logits, adj_logits = self.decoder(self.reparameterize(mu, logstd))
        return ops_logits, adj_logits, mu, logstd

    @torch.no_grad()
    def decode_probs(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(adjacency probabilities (B, V, V), op probabilities (B, V, K)) in eval mode."""
        was_training = self.training
        self.eval()
        ops_logits, adj_logits = self.decoder(z)
        self.train(was_training)
        ops_prob = torch.softmax(ops_logits, -1) if self.cfg.ops_loss == "ce" else torch.sigmoid(ops_logits)
        return torch.sigmoid(adj_logits), ops_prob


def upper_mask(num_nodes: int) -> torch.Tensor:
    return torch.triu(torch.ones(num_nodes, num_nodes, dtype=torch.bool), 1)


def elbo_loss(model: GraphAutoencoder, adj: torch.Tensor, ops: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
    """Reconstruction (ops: cross-entropy over real nodes, or BCE on one-hot rows; adjacency: BCE on the upper
    triangle, padded nodes included) + KL (variational models only).

    The KL is weighted as in the official code (after Kipf's VGAE): the per-graph KL summed over nodes,
    averaged over graphs and latent dimensions, then scaled by ``1 / (B * V)``, i.e.
    ``-0.5 / (B * V) * mean_{b,d} sum_v (1 + 2 log sigma - mu^2 - sigma^2)``. This makes the KL a weak
    regulariser next to the reconstruction (a stronger KL collapses the posterior on these small graphs).
    """
    ops_logits, adj_logits, mu, logstd = model(adj, ops)
    mask = upper_mask(adj.shape[-1]).to(adj.device)
    if model.cfg.ops_loss == "ce":
        real = ops.sum(-1) > 0
        loss_ops = F.cross_entropy(ops_logits[real], ops[real].argmax(-1))
    else:
        loss_ops = F.binary_cross_entropy_with_logits(ops_logits, ops)
    loss_adj = F.binary_cross_entropy_with_logits(adj_logits[:, mask], adj[:, mask])
    loss = loss_ops + loss_adj
    parts = {"ops": loss_ops.item(), "adj": loss_adj.item()}
    if model.variational:
        per_entry = 1 + 2 * logstd - mu.pow(2) - torch.exp(2 * logstd)
        kl = -0.5 / (adj.shape[0] * adj.shape[1]) * per_entry.sum(dim=1).mean()
        loss = loss + model.cfg.kl_weight * kl
        parts["kl"] = kl.item()
    parts["loss"] = loss.item()
    return loss, parts
