"""The NAT cell editor: a drag-and-drop Streamlit component (custom components v2, plain JS, no build step).

The cell is laid out left to right (inputs, intermediate nodes, output); every transformable edge carries a drop
target labelled with its op and pending action. Dragging a chip (keep / skip / null) onto it, or clicking a chip
then the edge, sends ``{"edge": i, "action": "skip", "nonce": ...}`` back as the trigger value ``drop``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from nasviz.nat.cells import CellAdapter
from nasviz.nat.rules import ACTION_LABELS, ACTIONS, KEEP, SKIP
from nasviz.nat.transform import action_mask

HERE = Path(__file__).resolve().parent
COMPONENT_NAME = "nasviz_nat_editor"
SHORT_OPS = {"conv_1x1": "conv1", "conv_3x3": "conv3", "conv_5x5": "conv5", "nor_conv_1x1": "conv1",
             "nor_conv_3x3": "conv3", "sep_conv_3x3": "sep3", "sep_conv_5x5": "sep5", "dil_conv_3x3": "dil3",
             "dil_conv_5x5": "dil5", "max_pool_3x3": "maxpool", "avg_pool_3x3": "avgpool", "skip_connect": "skip",
             "null": "null", "none": "none"}
DX, MARGIN, ARC, RADIUS = 130, 40, 44, 17


def short_op(op: str) -> str:
    return SHORT_OPS.get(op, op)


def _node_label(adapter: CellAdapter, node: int) -> str:
    if adapter.name == "nb201":
        return {0: "in", 3: "out"}.get(node, str(node))
    return {0: "-2", 1: "-1"}.get(node, str(node - 2))


def pruned_nodes(adapter: CellAdapter, cell: Any, actions: list[int]) -> set[int]:
    """Non-input nodes the transformation cuts off: no longer fed from a cell input, or (but for the output nodes)
    no longer reaching an output node, through the edges that are not null after ``actions`` (NAT prunes them)."""
    graph = adapter.graph(cell)
    live = [(src, dst) for (op, src, dst), action in zip(adapter.edges(cell), actions, strict=True)
            if (op if action == KEEP else adapter.skip_op if action == SKIP else adapter.null_op) != adapter.null_op]
    fed = set(range(graph.num_inputs))
    for src, dst in sorted(live):  # sources ascending: a node's inputs are settled before its outputs
        if src in fed:
            fed.add(dst)
    reaching = set(graph.outputs)
    for src, dst in sorted(live, key=lambda edge: -edge[1]):  # targets descending
        if dst in reaching:
            reaching.add(src)
    return {n for n in range(graph.num_inputs, graph.num_nodes) if n not in fed or n not in reaching}


def editor_data(adapter: CellAdapter, cell: Any, actions: list[int], rule: str) -> dict[str, Any]:
    """Everything the JS draws: node positions, edge paths and drop-target positions, allowed actions per edge, and
    the nodes (with their edges) the transformation prunes, drawn greyed out."""
    from nasviz.figures.cells import op_color

    graph = adapter.graph(cell)
    edges = adapter.edges(cell)
    mask = action_mask(adapter, cell, rule)
    order = list(range(graph.num_nodes))
    extra_output = adapter.name != "nb201"
    spans = [dst - src for _, src, dst in edges] or [1]
    up = max([s for (_, src, dst), s in zip(edges, spans, strict=True) if src % 2 == 0] + [1])
    down = max([s for (_, src, dst), s in zip(edges, spans, strict=True) if src % 2 == 1] + [1])
    if extra_output:
        down = max(down, 2)
    top = MARGIN + ARC * up / 2 + 10
    height = int(top + ARC * down / 2 + MARGIN + 10)
    count = len(order) + (1 if extra_output else 0)
    width = int(2 * MARGIN + DX * (count - 1))
    x = {n: MARGIN + DX * i for i, n in enumerate(order)}
    y = top
    nodes = []
    cut = pruned_nodes(adapter, cell, actions)
    for n in order:
        role = "input" if n < graph.num_inputs else "output" if (adapter.name == "nb201" and n == 3) else "node"
        nodes.append({"id": n, "label": _node_label(adapter, n), "role": role, "x": x[n], "y": y, "r": RADIUS,
                      "pruned": role == "node" and n in cut})
    cut = {node["id"] for node in nodes if node["pruned"]}
    out_edges = []
    seen: dict[tuple[int, int], int] = {}
    for index, ((op, src, dst), action) in enumerate(zip(edges, actions, strict=True)):
        new_op = op if action == KEEP else adapter.skip_op if action == SKIP else adapter.null_op
        repeat = seen.get((src, dst), 0)
        seen[(src, dst)] = repeat + 1
        span = dst - src
        side = -1 if src % 2 == 0 else 1
        if repeat:
            side = -side
        bend = 0.0 if span == 1 and not repeat else side * ARC * max(span, 1)
        x0, x1 = x[src] + RADIUS, x[dst] - RADIUS
        cx, cy = (x0 + x1) / 2, y + bend
        path = f"M {x0:.1f} {y:.1f} Q {cx:.1f} {cy:.1f} {x1:.1f} {y:.1f}"
        lx, ly = (x0 + x1) / 2, y + bend / 2
        label = short_op(op) if action == KEEP else f"{short_op(op)} \u2192 {short_op(new_op)}"
        state = "changed" if action != KEEP else ("null" if new_op == adapter.null_op else "normal")
        pruned = new_op != adapter.null_op and (src in cut or dst in cut)
        out_edges.append({"index": index, "src": src, "dst": dst, "op": op, "new_op": new_op, "action": ACTIONS[action],
                          "allowed": {a: bool(m) for a, m in zip(ACTIONS, mask[index], strict=True)},
                          "path": path, "lx": round(lx, 1), "ly": round(ly, 1), "label": label, "state": state,
                          "pruned": pruned,
                          "color": op_color(new_op), "title": f"{_node_label(adapter, src)}\u2192{_node_label(adapter, dst)} "
                                                                f"({op})"})
    if extra_output:
        out_x = MARGIN + DX * (count - 1)
        nodes.append({"id": "out", "label": "c_k", "role": "output", "x": out_x, "y": y, "r": RADIUS, "pruned": False})
        for n in graph.outputs:
            x0 = x[n] + RADIUS * 0.7
            cx, cy = (x0 + out_x) / 2, y + ARC * max(1, (out_x - x[n]) / DX) * 0.9
            out_edges_plain = {"path": f"M {x0:.1f} {y + 6:.1f} Q {cx:.1f} {cy:.1f} {out_x - RADIUS:.1f} {y + 4:.1f}"}
            nodes.append({"id": f"link{n}", "label": "", "role": "link", "x": 0, "y": 0, "r": 0, "pruned": n in cut,
                          **out_edges_plain})
    return {"nodes": [n for n in nodes if n["role"] != "link"],
            "links": [{"path": n["path"], "pruned": n["pruned"]} for n in nodes if n["role"] == "link"],
            "pruned": sorted(_node_label(adapter, n) for n in cut),
            "edges": out_edges, "actions": list(ACTIONS), "action_labels": ACTION_LABELS, "rule": rule,
            "width": width, "height": height}


@cache
def _component() -> Any:
    import streamlit as st

    return st.components.v2.component(COMPONENT_NAME, html="", css=(HERE / "editor.css").read_text(),
                                      js=(HERE / "editor.js").read_text())


def nat_editor(data: dict[str, Any], key: str, on_drop: Callable[[], None]) -> Any:
    """Mount the editor; ``on_drop`` runs (before the page script) when an action is dropped on an edge; the drop is
    in ``st.session_state[key]["drop"]`` / the returned result's ``drop``."""
    component = _component()
    return component(data=data, key=key, on_drop_change=on_drop)
