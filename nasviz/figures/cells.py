"""Graphviz drawings of cells of every search space (SVG, PDF, PNG).

Drawings are built from ``space.to_networkx(cell)``: ops on edges (NB201, DARTS, NAT) become
coloured, labelled edges; ops on nodes (NB101) become filled nodes. One op palette
(:data:`OP_COLORS`, colour-blind friendly) is shared by every space, so ``skip_connect`` or
``avg_pool_3x3`` look the same in NB201 and DARTS drawings.

``highlight_diff=other`` marks what differs from another cell (a walk step, a NAT edit): changed
or added ops are thick vermillion edges / bold-outlined nodes labelled with the old op, and
edges or nodes only the other cell has are drawn dashed.

Rendered bytes are cached (keyed by the cells' JSON), since dashboard pages redraw often.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Any

import graphviz
import networkx as nx

from nasviz.errors import ConfigError
from nasviz.spaces import SearchSpace, get_space

FORMATS: tuple[str, ...] = ("svg", "pdf", "png")

#: op -> colour, shared by every space. Okabe-Ito colours first, then Paul Tol's for the rest;
#: the same op name (or the same operation under another space's name) always gets the same colour.
OP_COLORS: dict[str, str] = {
    # no-op / zero ops
    "none": "#BBBBBB",
    "null": "#BBBBBB",
    "zero": "#BBBBBB",
    # identity
    "skip_connect": "#000000",
    "identity": "#000000",
    # plain convolutions (NB201 and NB101 names)
    "nor_conv_1x1": "#56B4E9",
    "conv1x1-bn-relu": "#56B4E9",
    "conv_1x1": "#56B4E9",
    "nor_conv_3x3": "#E69F00",
    "conv3x3-bn-relu": "#E69F00",
    "conv_3x3": "#E69F00",
    "conv_5x5": "#117733",
    # pooling
    "avg_pool_3x3": "#009E73",
    "max_pool_3x3": "#CCBB44",
    "maxpool3x3": "#CCBB44",
    # DARTS / NAT convolutions
    "sep_conv_3x3": "#0072B2",
    "sep_conv_5x5": "#CC79A7",
    "sep_conv_7x7": "#882255",
    "dil_conv_3x3": "#44AA99",
    "dil_conv_5x5": "#AA3377",
    "conv_7x1_1x7": "#332288",
}
#: colours for ops not in :data:`OP_COLORS` (picked deterministically from the op name)
FALLBACK_COLORS: tuple[str, ...] = ("#999933", "#661100", "#6699CC", "#888888")
#: inputs / outputs / plain intermediate nodes
ROLE_FILLS = {"input": "#E8E8E8", "output": "#E8E8E8", "node": "#FFFFFF", "op": "#FFFFFF"}
#: diff highlight (vermillion, not used by any op)
HIGHLIGHT = "#D55E00"

_SHORT_NAMES = {
    "none": "none", "null": "null", "zero": "zero", "skip_connect": "skip", "identity": "identity",
    "nor_conv_1x1": "conv 1x1", "conv1x1-bn-relu": "conv 1x1", "conv_1x1": "conv 1x1",
    "nor_conv_3x3": "conv 3x3", "conv3x3-bn-relu": "conv 3x3", "conv_3x3": "conv 3x3", "conv_5x5": "conv 5x5",
    "avg_pool_3x3": "avg pool 3x3", "max_pool_3x3": "max pool 3x3", "maxpool3x3": "max pool 3x3",
    "sep_conv_3x3": "sep 3x3", "sep_conv_5x5": "sep 5x5", "sep_conv_7x7": "sep 7x7",
    "dil_conv_3x3": "dil 3x3", "dil_conv_5x5": "dil 5x5", "conv_7x1_1x7": "conv 7x1/1x7",
}
_NO_OPS = {"none", "null", "zero"}
#: node attributes that split a graph into clusters (e.g. DARTS normal / reduce cells)
_GROUP_KEYS = ("cell", "cell_type", "group")
_FONT = "Helvetica"


class GraphvizMissingError(ConfigError):
    """The Graphviz ``dot`` program is not installed."""


def op_color(op: str | None) -> str:
    """The colour of ``op`` (black for plain connections)."""
    if op is None:
        return "#000000"
    if op in OP_COLORS:
        return OP_COLORS[op]
    return FALLBACK_COLORS[sum(op.encode()) % len(FALLBACK_COLORS)]


def op_label(op: str) -> str:
    """Short display name of an op (``nor_conv_3x3`` -> ``conv 3x3``; merged ``a+b`` -> ``a + b``)."""
    if "+" in op:
        return " + ".join(_SHORT_NAMES.get(part, part) for part in op.split("+"))
    return _SHORT_NAMES.get(op, op)


def check_dot() -> str:
    """Path of the ``dot`` executable, or :class:`GraphvizMissingError` saying how to install it."""
    path = shutil.which("dot")
    if path is None:
        raise GraphvizMissingError(
            "Graphviz 'dot' is not installed, so cells cannot be drawn; install it with `apt-get install graphviz`"
        )
    return path


# ---- diff -----------------------------------------------------------------------------------

def _edge_ops(graph: nx.DiGraph) -> dict[tuple[Any, Any], list[str | None]]:
    edges: dict[tuple[Any, Any], list[str | None]] = {}
    for u, v, data in graph.edges(data=True):
        edges.setdefault((u, v), []).append(data.get("op"))
    return edges


def _sort_key(value: Any) -> str:
    return "" if value is None else str(value)


def _edge_plan(graph: nx.DiGraph, other: nx.DiGraph | None) -> list[tuple[Any, Any, str | None, str]]:
    """Edges to draw as (u, v, op, status); status: same, changed:<old op>, added or removed."""
    plan: list[tuple[Any, Any, str | None, str]] = []
    mine = _edge_ops(graph)
    theirs = _edge_ops(other) if other is not None else {}
    for (u, v), ops in mine.items():
        if other is None:
            plan.extend((u, v, op, "same") for op in ops)
            continue
        a, b = Counter(ops), Counter(theirs.get((u, v), []))
        for op in sorted((a & b).elements(), key=_sort_key):
            plan.append((u, v, op, "same"))
        added = sorted((a - b).elements(), key=_sort_key)
        removed = sorted((b - a).elements(), key=_sort_key)
        for new, old in zip(added, removed, strict=False):
            plan.append((u, v, new, f"changed:{old}"))
        plan.extend((u, v, op, "added") for op in added[len(removed):])
        plan.extend((u, v, op, "removed") for op in removed[len(added):])
    for (u, v), ops in theirs.items():
        if (u, v) not in mine:
            plan.extend((u, v, op, "removed") for op in ops)
    return plan


def _node_status(node: Any, graph: nx.DiGraph, other: nx.DiGraph | None) -> str:
    if other is None:
        return "same"
    if node not in other.nodes:
        return "added"
    mine, theirs = graph.nodes[node].get("op"), other.nodes[node].get("op")
    return "same" if mine == theirs else f"changed:{theirs}"


# ---- dot source -----------------------------------------------------------------------------

def _node_attrs(data: dict[str, Any], node: Any, status: str) -> dict[str, str]:
    role = data.get("role", "node")
    op = data.get("op")
    label = op_label(op) if (role == "op" and op) else str(data.get("label", node))
    attrs = {"label": label, "style": "filled", "fillcolor": ROLE_FILLS.get(role, "#FFFFFF"), "penwidth": "1.2"}
    if role in ("input", "output"):
        attrs.update(shape="box", style="rounded,filled,bold")
    elif role == "op":
        attrs.update(shape="box", style="rounded,filled")
        if op:
            attrs["fillcolor"] = op_color(op)
            dark = op_color(op) in ("#000000", "#0072B2", "#332288", "#882255", "#AA3377", "#661100", "#117733")
            attrs["fontcolor"] = "white" if dark else "black"
    else:
        attrs.update(shape="circle", width="0.35", fixedsize="false")
    if data.get("pruned"):  # NB101 vertices the benchmark prunes away
        attrs.update(style=attrs["style"] + ",dashed", fillcolor="#F4F4F4", fontcolor="#777777", color="#777777")
        attrs["label"] += "\n(pruned)"
    if status == "added" or status.startswith("changed:"):
        attrs.update(color=HIGHLIGHT, penwidth="3.5")
        attrs["style"] = attrs["style"] + ",bold"
        if status.startswith("changed:") and role == "op":
            old = status.split(":", 1)[1]
            attrs["label"] = f"{label}\n(was {op_label(old) if old != 'None' else '-'})"
    elif status == "removed":
        attrs.update(style="dashed", color=HIGHLIGHT, fillcolor="#FFFFFF", fontcolor=HIGHLIGHT)
    return attrs


def _edge_attrs(op: str | None, status: str, labelled: bool) -> dict[str, str]:
    attrs: dict[str, str] = {"color": op_color(op), "penwidth": "1.6", "arrowsize": "0.7"}
    if op is not None and labelled:
        attrs.update(label=op_label(op), fontcolor=op_color(op) if op not in _NO_OPS else "#777777")
    if op in _NO_OPS:
        attrs.update(style="dotted", penwidth="1.2")
    if status == "added" or status.startswith("changed:"):
        attrs.update(color=HIGHLIGHT, penwidth="3.5", fontcolor=HIGHLIGHT, style="bold")
        if status.startswith("changed:") and op is not None:
            old = status.split(":", 1)[1]
            attrs["label"] = f"{op_label(op)}\n(was {op_label(old)})"
    elif status == "removed":
        attrs.update(color=HIGHLIGHT, style="dashed", penwidth="1.6", fontcolor=HIGHLIGHT)
        if op is not None:
            attrs["label"] = f"removed: {op_label(op)}"
    return attrs


def _group_of(data: dict[str, Any]) -> str | None:
    for key in _GROUP_KEYS:
        if data.get(key) is not None:
            return str(data[key])
    return None


def cell_graphs(space: SearchSpace, cell: Any) -> dict[str | None, nx.DiGraph]:
    """The graphs a cell is drawn from: ``{None: graph}``, or one graph per sub-cell (DARTS-like
    genotypes: ``{"normal": ..., "reduce": ...}``). A space may define ``cell_graphs(cell)`` itself."""
    method = getattr(space, "cell_graphs", None)
    if callable(method):
        return dict(method(cell))
    module_cell_graph = getattr(sys.modules.get(type(space).__module__), "cell_graph", None)
    if callable(module_cell_graph) and hasattr(cell, "pairs") and hasattr(cell, "reduce"):
        return {"normal": module_cell_graph(cell, "normal"), "reduce": module_cell_graph(cell, "reduce")}
    return {None: space.to_networkx(cell)}


def _merged_graph(space: SearchSpace, cell: Any) -> nx.DiGraph:
    """One graph holding every sub-cell; sub-cell nodes are keyed ``(name, node)`` and carry ``cell=name``."""
    graphs = cell_graphs(space, cell)
    if list(graphs) == [None]:
        return graphs[None]
    merged = nx.DiGraph()
    for name, graph in graphs.items():
        for node, data in graph.nodes(data=True):
            merged.add_node((name, node), **{**data, "cell": f"{name} cell"})
        for u, v, data in graph.edges(data=True):
            merged.add_edge((name, u), (name, v), **data)
    return merged


def cell_digraph(space: SearchSpace | str, cell: Any, highlight_diff: Any = None, title: str | None = None,
                 fmt: str = "svg") -> graphviz.Digraph:
    """The Graphviz drawing of ``cell`` (optionally highlighting its differences from ``highlight_diff``)."""
    space = get_space(space) if isinstance(space, str) else space
    cell = space.parse(cell)
    graph = _merged_graph(space, cell)
    other = _merged_graph(space, space.parse(highlight_diff)) if highlight_diff is not None else None

    dot = graphviz.Digraph(name="cell", format=fmt)
    dot.attr("graph", rankdir="LR", fontname=_FONT, fontsize="11", nodesep="0.3", ranksep="0.45", bgcolor="white",
             pad="0.1")
    if fmt == "png":
        dot.attr("graph", dpi="150")
    dot.attr("node", fontname=_FONT, fontsize="10", margin="0.06,0.03")
    dot.attr("edge", fontname=_FONT, fontsize="9")
    if title:
        dot.attr("graph", label=title, labelloc="t", labeljust="c", fontsize="12")

    names: dict[Any, str] = {}
    nodes: list[tuple[Any, dict[str, Any], str]] = [(n, d, _node_status(n, graph, other)) for n, d in graph.nodes(data=True)]
    if other is not None:
        nodes += [(n, d, "removed") for n, d in other.nodes(data=True) if n not in graph.nodes]
    groups: dict[str | None, list[tuple[Any, dict[str, Any], str]]] = {}
    for item in nodes:
        groups.setdefault(_group_of(item[1]), []).append(item)
    # graphviz stacks disconnected clusters of an LR layout bottom-up: add them in reverse to keep the given order
    for index, (group, members) in enumerate(reversed(groups.items())):
        target = dot
        sub = None
        if group is not None:
            sub = graphviz.Digraph(name=f"cluster_{index}")
            sub.attr(label=group, fontname=_FONT, fontsize="11", style="rounded", color="#999999")
            target = sub
        for node, data, status in members:
            names[node] = f"n{len(names)}"
            target.node(names[node], **_node_attrs(data, node, status))
        if sub is not None:
            dot.subgraph(sub)

    for u, v, op, status in _edge_plan(graph, other):
        dot.edge(names[u], names[v], **_edge_attrs(op, status, labelled=True))
    return dot


def dot_source(space: SearchSpace | str, cell: Any, highlight_diff: Any = None, title: str | None = None) -> str:
    """The DOT source of a drawing (handy for debugging and tests)."""
    return cell_digraph(space, cell, highlight_diff, title).source


# ---- rendering ------------------------------------------------------------------------------

def _key(space: SearchSpace, cell: Any) -> str | None:
    if cell is None:
        return None
    return json.dumps(space.to_json(space.parse(cell)), sort_keys=True)


def render_cell(space: SearchSpace | str, cell: Any, fmt: str = "svg", highlight_diff: Any = None,
                title: str | None = None) -> bytes:
    """The drawing of ``cell`` as SVG, PDF or PNG bytes (cached)."""
    space = get_space(space) if isinstance(space, str) else space
    fmt = fmt.lower().lstrip(".")
    if fmt not in FORMATS:
        raise ConfigError(f"unknown drawing format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return _render_cached(space.name, _key(space, cell), _key(space, highlight_diff), title, fmt)


@lru_cache(maxsize=512)
def _render_cached(space_name: str, cell_key: str, diff_key: str | None, title: str | None, fmt: str) -> bytes:
    check_dot()
    space = get_space(space_name)
    diff = json.loads(diff_key) if diff_key is not None else None
    dot = cell_digraph(space, json.loads(cell_key), diff, title, fmt=fmt)
    try:
        return dot.pipe(format=fmt)
    except graphviz.ExecutableNotFound as exc:  # pragma: no cover - dot vanished after check_dot
        raise GraphvizMissingError(
            f"Graphviz 'dot' could not be run ({exc}); install it with `apt-get install graphviz`"
        ) from None


def render_svg(space: SearchSpace | str, cell: Any, highlight_diff: Any = None, title: str | None = None) -> str:
    """The drawing as SVG text (for embedding in HTML)."""
    return render_cell(space, cell, "svg", highlight_diff, title).decode("utf-8")


def save_cell_drawing(space: SearchSpace | str, cell: Any, path: str | Path, highlight_diff: Any = None,
                      title: str | None = None) -> Path:
    """Write the drawing to ``path``; the format comes from its suffix (.svg, .pdf, .png)."""
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise ConfigError(f"cannot tell the drawing format from {path.name!r}: use a .svg, .pdf or .png file name")
    data = render_cell(space, cell, fmt, highlight_diff, title)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


MIME_TYPES = {"svg": "image/svg+xml", "pdf": "application/pdf", "png": "image/png"}
