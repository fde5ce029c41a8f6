"""Neural Architecture Transformer (Guo et al., NeurIPS 2019): turn a cell's edges into keep / skip / null.

Public API::

    from nasviz.nat import transform, action_mask, get_adapter, RULES, ACTIONS

    t = transform("nb201", "|nor_conv_3x3~0|+|...|", ["keep", "skip", ...], rule="paper")
    t.transformed, t.valid, t.cost_before, t.cost_after, t.to_dict()

Policies (GCN over the cell graph, REINFORCE) live in :mod:`nasviz.nat.policy` and :mod:`nasviz.nat.train` (torch),
their torch-free inference (NumPy forward pass from ``policy.npz``) in :mod:`nasviz.nat.inference`, the cells'
array view in :mod:`nasviz.nat.features`, rewards in :mod:`nasviz.nat.rewards`, evaluation in
:mod:`nasviz.nat.evaluate`, saved models in :mod:`nasviz.nat.store`. Importing this package does not import torch.
"""

from __future__ import annotations

from nasviz.nat.cells import CellAdapter, CellGraph, get_adapter, prune_nat
from nasviz.nat.rules import ACTION_LABELS, ACTIONS, RULE_LABELS, RULES, allowed_actions, check_rule
from nasviz.nat.transform import (
    Transformation,
    action_mask,
    apply_actions,
    enumerate_actions,
    normalize_actions,
    transform,
)

__all__ = [
    "ACTIONS",
    "ACTION_LABELS",
    "RULES",
    "RULE_LABELS",
    "CellAdapter",
    "CellGraph",
    "Transformation",
    "action_mask",
    "allowed_actions",
    "apply_actions",
    "check_rule",
    "enumerate_actions",
    "get_adapter",
    "normalize_actions",
    "prune_nat",
    "transform",
]
