"""NAT's policy: a two-layer GCN over the cell graph giving a categorical distribution over (keep, skip, null) per edge.

Node attributes follow the NAT supplementary (section 2): an intermediate node is the concatenation of the
embeddings of the ops on its input edges, ordered by source node (the "first" and "second" operation; NB201's
output node has three inputs, so NB201 nodes have three slots, absent slots use a learned padding embedding); the
cell inputs get learned embeddings of the same length. One extra scalar marks the nodes the cell output reads. A
linear layer maps the attribute to the GCN width, two graph convolutions with a ReLU between them follow, and each
intermediate node's row goes through ``Linear(hidden -> slots x 3)``: the logits of its input edges' actions,
masked by the rule. Difference from the official ``ArchTransformer`` (reference notes A3): each graph convolution has
separate weights for the node itself, its inputs (``adj[to, from]``) and its consumers (mean-aggregated), so a node
sees its own attribute and what it feeds; with one shared normalised adjacency every node of NB201's dense DAG would
get the same row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from nasviz.nat.cells import CellAdapter
from nasviz.nat.features import ArrayBatch, CellArrays, cell_arrays, featurize_arrays
from nasviz.nat.inference import PolicyConfig


@dataclass
class GraphBatch:
    """Dense tensors of a batch of cells (B cells, N nodes, S slots, E edges, all padded); see
    :class:`nasviz.nat.features.ArrayBatch`."""

    slot_ops: torch.Tensor  # (B, N, S) op index, pad = len(ops)
    node_kind: torch.Tensor  # (B, N) input index for cell inputs, num_inputs for intermediate, num_inputs+1 padding
    is_output: torch.Tensor  # (B, N) float
    adjacency: torch.Tensor  # (B, N, N) adj[to, from] = number of edges from -> to
    edge_node: torch.Tensor  # (B, E) node of each edge (its target)
    edge_slot: torch.Tensor  # (B, E) slot of each edge in its target
    mask: torch.Tensor  # (B, E, 3) allowed actions (padding edges: keep only)
    edge_valid: torch.Tensor  # (B, E) bool
    num_edges: list[int]

    @classmethod
    def from_arrays(cls, arrays: ArrayBatch) -> GraphBatch:
        return cls(*(torch.from_numpy(getattr(arrays, name)) for name in ArrayBatch.FIELDS), list(arrays.num_edges))


def featurize(adapter: CellAdapter, cells: list[Any], rule: str) -> GraphBatch:
    """The dense batch of ``cells`` under ``rule``."""
    return GraphBatch.from_arrays(featurize_arrays(adapter, cells, rule))


def repeat_batch(batch: GraphBatch, k: int) -> GraphBatch:
    """Every cell of ``batch`` repeated ``k`` times in a row (cell 0 k times, then cell 1, ...)."""
    if k == 1:
        return batch
    fields = ("slot_ops", "node_kind", "is_output", "adjacency", "edge_node", "edge_slot", "mask", "edge_valid")
    tensors = [getattr(batch, name).repeat_interleave(k, dim=0) for name in fields]
    return GraphBatch(*tensors, [n for n in batch.num_edges for _ in range(k)])


class GraphConvolution(nn.Module):
    """A directed graph convolution: h'_v = W_self h_v + W_in mean_{u -> v} h_u + W_out mean_{v -> w} h_w.

    Separate weights for a node, its inputs and its consumers: in a dense DAG such as NB201's (every node linked to
    every other) a single normalised adjacency would give every node the same row."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.self_weight = nn.Linear(in_features, out_features)
        self.in_weight = nn.Linear(in_features, out_features, bias=False)
        self.out_weight = nn.Linear(in_features, out_features, bias=False)

    def forward(self, h: torch.Tensor, adjacency: torch.Tensor) -> torch.Tensor:
        incoming = adjacency / adjacency.sum(-1, keepdim=True).clamp(min=1.0)
        outgoing = adjacency.transpose(1, 2)
        outgoing = outgoing / outgoing.sum(-1, keepdim=True).clamp(min=1.0)
        return self.self_weight(h) + incoming @ self.in_weight(h) + outgoing @ self.out_weight(h)


class NatPolicy(nn.Module):
    """The GCN transformer policy of one space."""

    def __init__(self, num_ops: int, num_inputs: int, max_in: int, config: PolicyConfig | None = None) -> None:
        super().__init__()
        self.config = config or PolicyConfig()
        c = self.config
        self.num_ops, self.num_inputs, self.max_in = num_ops, num_inputs, max_in
        self.op_embedding = nn.Embedding(num_ops + 1, c.edge_dim)  # + padding slot
        self.input_embedding = nn.Embedding(num_inputs + 2, max_in * c.edge_dim)  # inputs, (unused), padding node
        self.attribute = nn.Linear(max_in * c.edge_dim + 1, c.hidden)
        self.gcn1 = GraphConvolution(c.hidden, c.hidden)
        self.gcn2 = GraphConvolution(c.hidden, c.hidden)
        self.head = nn.Linear(c.hidden, max_in * 3)

    @classmethod
    def for_adapter(cls, adapter: CellAdapter, config: PolicyConfig | None = None) -> NatPolicy:
        return cls(len(adapter.ops), adapter.num_inputs, adapter.max_in, config)

    def logits(self, batch: GraphBatch) -> torch.Tensor:
        """(B, E, 3) masked logits (disallowed actions at -inf)."""
        b, n, s = batch.slot_ops.shape
        ops = self.op_embedding(batch.slot_ops).reshape(b, n, -1)
        is_input = (batch.node_kind < self.num_inputs).unsqueeze(-1)
        inputs = self.input_embedding(batch.node_kind.clamp(max=self.num_inputs + 1))
        x = torch.where(is_input, inputs, ops)
        x = torch.cat([x, batch.is_output.unsqueeze(-1)], dim=-1)
        h = torch.relu(self.attribute(x))
        h = torch.relu(self.gcn1(h, batch.adjacency))
        h = self.gcn2(h, batch.adjacency)
        node_logits = self.head(torch.relu(h)).reshape(b, n, s, 3)
        gather_node = batch.edge_node[:, :, None, None].expand(-1, -1, s, 3)
        per_edge_node = torch.gather(node_logits, 1, gather_node)  # (B, E, S, 3)
        slot = batch.edge_slot[:, :, None, None].expand(-1, -1, 1, 3)
        logits = torch.gather(per_edge_node, 2, slot).squeeze(2)
        return logits.masked_fill(~batch.mask, float("-inf"))

    def distribution(self, batch: GraphBatch) -> torch.distributions.Categorical:
        return torch.distributions.Categorical(logits=self.logits(batch))

    def sample(self, batch: GraphBatch, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor,
                                                                                        torch.Tensor]:
        """(actions (B, E), log-probability (B,), entropy (B,)), summed over the real edges."""
        dist = self.distribution(batch)
        probs = dist.probs
        flat = probs.reshape(-1, 3)
        actions = torch.multinomial(flat, 1, generator=generator).reshape(probs.shape[:2])
        valid = batch.edge_valid.float()
        log_prob = (dist.log_prob(actions) * valid).sum(-1)
        entropy = (dist.entropy() * valid).sum(-1)
        return actions, log_prob, entropy

    @torch.no_grad()
    def probabilities(self, batch: GraphBatch) -> np.ndarray:
        return self.distribution(batch).probs.numpy()

    def action_probabilities(self, batch: ArrayBatch) -> np.ndarray:
        """(B, E, 3) per-edge action probabilities of a NumPy batch (the interface :mod:`nasviz.nat.decide` uses)."""
        return self.probabilities(GraphBatch.from_arrays(batch))

    def numpy_weights(self) -> dict[str, np.ndarray]:
        """The state dict as float32 arrays (``policy.npz``, read by :class:`nasviz.nat.inference.NumpyPolicy`)."""
        return {key: value.detach().cpu().numpy().astype(np.float32) for key, value in self.state_dict().items()}


__all__ = ["ArrayBatch", "CellArrays", "GraphBatch", "GraphConvolution", "NatPolicy", "PolicyConfig", "cell_arrays",
           "featurize", "repeat_batch"]
