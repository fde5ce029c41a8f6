"""Backend of the NAT page (views/5_NAT.py): cell choices, the editing state (actions with undo), comparison rows, exports."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from nasviz.errors import CellError
from nasviz.nat.cells import get_adapter
from nasviz.nat.rules import ACTIONS, KEEP, check_action
from nasviz.nat.transform import Transformation, action_mask, transform

NB201_EXAMPLES: dict[str, str] = {
    "NB201 cell (index 1)": "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
    "NB201 all avg-pool": "|avg_pool_3x3~0|+|avg_pool_3x3~0|avg_pool_3x3~1|+|avg_pool_3x3~0|avg_pool_3x3~1|avg_pool_3x3~2|",
    "NB201 mixed": "|nor_conv_1x1~0|+|avg_pool_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|avg_pool_3x3~1|nor_conv_1x1~2|",
}
PRESET_ORDER = ("VGG", "ResNet_V1", "ResNet_V2", "ResNet_V3", "DARTS_V2_normal", "DARTS_V2_reduce", "ENAS_normal",
                "ENAS_reduce", "NAONet-B_normal", "NAONet-B_reduce", "NAONet-V2_normal", "NAONet-V2_reduce")


def cell_choices() -> dict[str, tuple[str, Any]]:
    """Label -> (space, cell): the NAT presets (VGG, ResNet V1-V3, DARTS_V2, ENAS, NAONet) and NB201 examples."""
    from nasviz.spaces.nat import preset_cells

    presets = preset_cells()
    out: dict[str, tuple[str, Any]] = {}
    for name in PRESET_ORDER:
        if name in presets:
            out[name] = ("nat", presets[name])
    for name, cell in presets.items():
        if name not in out:
            out[name] = ("nat", cell)
    adapter = get_adapter("nb201")
    for label, text in NB201_EXAMPLES.items():
        out[label] = ("nb201", adapter.parse(text))
    return out


@dataclass
class EditState:
    """The cell being edited: its space, the per-edge actions and the undo history."""

    space: str
    cell: Any
    label: str
    actions: list[int] = field(default_factory=list)
    history: list[list[int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.actions:
            self.actions = [KEEP] * len(get_adapter(self.space).edges(self.cell))

    def apply(self, edge: int, action: str | int, rule: str) -> None:
        """Set one edge's action (raises CellError when the rule forbids it)."""
        adapter = get_adapter(self.space)
        index = action if isinstance(action, int) else check_action(action)
        edges = adapter.edges(self.cell)
        if not 0 <= edge < len(edges):
            raise CellError(f"edge {edge} does not exist (the cell has {len(edges)} edges)")
        if not action_mask(adapter, self.cell, rule)[edge, index]:
            op, src, dst = edges[edge]
            raise CellError(f"{ACTIONS[index]} is not allowed on {op} {src}->{dst} under the {rule} rule")
        if self.actions[edge] == index:
            return
        self.history.append(list(self.actions))
        self.actions[edge] = index

    def set_all(self, actions: list[int]) -> None:
        self.history.append(list(self.actions))
        self.actions = list(actions)

    def undo(self) -> bool:
        if not self.history:
            return False
        self.actions = self.history.pop()
        return True

    def reset(self) -> None:
        if any(a != KEEP for a in self.actions):
            self.history.append(list(self.actions))
        self.actions = [KEEP] * len(self.actions)

    def clamp_to_rule(self, rule: str) -> bool:
        """Drop actions the rule does not allow (after switching rules); True when something changed."""
        mask = action_mask(get_adapter(self.space), self.cell, rule)
        clamped = [a if mask[i, a] else KEEP for i, a in enumerate(self.actions)]
        if clamped != self.actions:
            self.set_all(clamped)
            return True
        return False

    def result(self, rule: str, dataset: str | None = None) -> Transformation:
        return transform(self.space, self.cell, self.actions, rule, dataset)


def comparison_rows(space: str, result: Transformation, metric: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Original vs transformed: params, MAdds and the accuracy (true on NB201, predicted elsewhere)."""
    before, after = result.cost_before, result.cost_after
    rows = [{"quantity": "params (M)", "original": round(before.params / 1e6, 4),
             "transformed": round(after.params / 1e6, 4) if after else None,
             "delta": round((after.params - before.params) / 1e6, 4) if after else None},
            {"quantity": "MAdds (M)", "original": round(before.flops / 1e6, 2),
             "transformed": round(after.flops / 1e6, 2) if after else None,
             "delta": round((after.flops - before.flops) / 1e6, 2) if after else None}]
    if metric and metric.get("metric_before") is not None:
        kind = "true" if metric.get("metric_measured") else "predicted"
        rows.append({"quantity": f"accuracy % ({kind})", "original": metric["metric_before"],
                     "transformed": metric.get("metric_after"), "delta": metric.get("metric_delta")})
    return rows


def cell_json(space: str, cell: Any) -> str:
    return json.dumps(get_adapter(space).to_json(cell), indent=1)


def genotype_text(space: str, cell: Any) -> str | None:
    """The cell as a genotype text: a DARTS ``Genotype(...)`` (the cell as both normal and reduce cell) when it is a
    DARTS cell (4 nodes, DARTS ops, no null), else the NAT code's form with ``(op, from, to)`` triples (inputs 0, 1);
    None for NB201 cells (their arch string is the JSON download)."""
    if get_adapter(space).name != "nat":
        return None
    from nasviz.spaces.darts import genotype_to_python
    from nasviz.spaces.nat import nat_to_darts

    try:
        return genotype_to_python(nat_to_darts(cell, cell))
    except CellError:
        pass
    triples = ", ".join(f"({op!r}, {src}, {dst})" for op, src, dst in cell.edges)
    concat = list(cell.output_nodes())
    return f"Genotype(normal=[{triples}], normal_concat={concat}, reduce=[{triples}], reduce_concat={concat})"
