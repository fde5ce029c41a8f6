"""Apply NAT actions to a cell: the transformed cell, its validity, pruning and exact cost before and after."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nasviz.errors import CellError, ConfigError
from nasviz.nat.cells import CellAdapter, get_adapter
from nasviz.nat.rules import ACTIONS, KEEP, NULL, SKIP, allowed_actions, check_action, check_rule
from nasviz.spaces.base import NetworkCost


def action_mask(adapter: CellAdapter, cell: Any, rule: str) -> np.ndarray:
    """(edges, 3) boolean mask of the allowed actions (keep, skip, null) of every edge under ``rule``."""
    rule = check_rule(rule)
    return np.array([allowed_actions(adapter.edge_kind(edge), rule) for edge in adapter.edges(cell)], dtype=bool)


def apply_actions(adapter: CellAdapter, cell: Any, actions: Sequence[int | str], rule: str) -> Any:
    """The transformed cell (not pruned). Raises CellError when an action is not allowed under ``rule``."""
    edges = adapter.edges(cell)
    if len(actions) != len(edges):
        raise CellError(f"expected {len(edges)} actions (one per edge), got {len(actions)}")
    mask = action_mask(adapter, cell, rule)
    ops = []
    for i, ((op, src, dst), action) in enumerate(zip(edges, actions, strict=True)):
        index = action if isinstance(action, (int, np.integer)) else check_action(action)
        if not 0 <= int(index) < len(ACTIONS):
            raise CellError(f"action index {index} out of range 0..{len(ACTIONS) - 1}")
        if not mask[i, int(index)]:
            raise CellError(f"action {ACTIONS[int(index)]!r} is not allowed on edge #{i} {op} {src}->{dst} under the "
                            f"{rule} rule")
        ops.append(op if index == KEEP else adapter.skip_op if index == SKIP else adapter.null_op)
    return adapter.rebuild(cell, ops)


def normalize_actions(adapter: CellAdapter, cell: Any, actions: Sequence[int | str]) -> list[int]:
    """Action indices with equivalent choices merged (skip on a skip edge = keep; null on a null edge = keep)."""
    edges = adapter.edges(cell)
    if len(actions) != len(edges):
        raise ConfigError(f"{len(actions)} action(s) given for a cell of {len(edges)} edge(s): give one action "
                          f"(keep, skip or null) per edge, in the cell's edge order")
    out = []
    for (op, _, _), action in zip(edges, actions, strict=True):
        if isinstance(action, (bool, np.bool_)):
            raise ConfigError(f"action {action!r} is not keep, skip, null or 0-2")
        index = int(action) if isinstance(action, (int, np.integer)) else check_action(action)
        if not 0 <= index <= 2:
            raise ConfigError(f"action {index} is not 0 (keep), 1 (skip) or 2 (null)")
        if (index == SKIP and op == adapter.skip_op) or (index == NULL and op == adapter.null_op):
            index = KEEP
        out.append(index)
    return out


def enumerate_actions(adapter: CellAdapter, cell: Any, rule: str) -> Iterator[tuple[int, ...]]:
    """Every distinct allowed combination of actions (at most 3^edges)."""
    mask = action_mask(adapter, cell, rule)
    choices = [np.flatnonzero(row).tolist() for row in mask]
    yield from itertools.product(*choices)


@dataclass(frozen=True)
class Transformation:
    """A transformed cell with everything the CLI and the page show."""

    space: str
    rule: str
    original: Any
    actions: tuple[int, ...]
    transformed: Any
    pruned: Any | None
    valid: bool
    reason: str | None
    notes: tuple[str, ...]
    cost_before: NetworkCost
    cost_after: NetworkCost | None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def changed_edges(self) -> list[int]:
        return [i for i, a in enumerate(self.actions) if a != KEEP]

    def to_dict(self, adapter: CellAdapter | None = None) -> dict[str, Any]:
        adapter = adapter or get_adapter(self.space)
        edges = adapter.edges(self.original)
        out: dict[str, Any] = {
            "space": self.space, "rule": self.rule, "valid": self.valid,
            "original": adapter.to_json(self.original), "transformed": adapter.to_json(self.transformed),
            "pruned": adapter.to_json(self.pruned) if self.pruned is not None else None,
            "actions": [{"edge": adapter.public_edge(edge), "action": ACTIONS[a]} for edge, a in zip(edges, self.actions,
                                                                                                     strict=True)],
            "notes": list(self.notes),
            "cost_before": {"params": self.cost_before.params, "madds": self.cost_before.flops,
                            "dataset": self.cost_before.dataset},
        }
        if not self.valid:
            out["reason"] = self.reason
        if self.cost_after is not None:
            out["cost_after"] = {"params": self.cost_after.params, "madds": self.cost_after.flops,
                                 "dataset": self.cost_after.dataset}
            out["delta_params"] = self.cost_after.params - self.cost_before.params
            out["delta_madds"] = self.cost_after.flops - self.cost_before.flops
        out.update(self.extra)
        return out


def pruned_cost(adapter: CellAdapter, cell: Any, dataset: str | None) -> NetworkCost:
    """Exact cost of the cell after pruning what cannot affect the output."""
    return adapter.cost(adapter.prune(cell), dataset)


def transform(space: str | CellAdapter, cell: Any, actions: Sequence[int | str], rule: str = "paper",
              dataset: str | None = None) -> Transformation:
    """Apply ``actions`` (one per edge, names or indices) to ``cell`` under ``rule``; validity, pruning and the exact
    params and MAdds before (the cell as given) and after (the transformed cell pruned of null-cut parts, as NAT does)."""
    adapter = space if isinstance(space, CellAdapter) else get_adapter(space)
    cell = adapter.parse(cell)
    rule = check_rule(rule)
    indices = normalize_actions(adapter, cell, actions)
    transformed = apply_actions(adapter, cell, indices, rule)
    validity, notes = adapter.transformed_validity(transformed)
    cost_before = adapter.cost(cell, dataset)
    pruned = None
    cost_after = None
    if validity.valid:
        pruned = adapter.prune(transformed)
        cost_after = adapter.cost(pruned, dataset)
    return Transformation(adapter.name, rule, cell, tuple(indices), transformed, pruned, validity.valid, validity.reason,
                          tuple(notes), cost_before, cost_after)
