"""The DARTS search space (Liu et al., ICLR 2019), also the space of NAS-Bench-301.

Canonical cell: a :class:`Genotype` with a normal and a reduction cell. Each cell is a tuple of
``(op, input)`` pairs, two per intermediate node; nodes 0 and 1 are the outputs of the two previous
cells (c_{k-2}, c_{k-1}) and intermediate node ``i`` (2, 3, ...) is fed by pairs ``2(i-2)`` and
``2(i-2)+1``. The cell output concatenates the nodes of ``*_concat`` (DARTS: all four).

Accepted formats (:meth:`DartsSpace.parse`):

- JSON ``{"normal": [["sep_conv_3x3", 0], ...], "normal_concat": [2, 3, 4, 5], "reduce": [...], "reduce_concat": [...]}``
- the NASLib compact encoding ``[[8 x (input, op_id)], [8 x (input, op_id)]]`` (op ids
  0 max_pool_3x3, 1 avg_pool_3x3, 2 skip_connect, 3 sep_conv_3x3, 4 sep_conv_5x5, 5 dil_conv_3x3, 6 dil_conv_5x5)
- a Python-literal DARTS genotype string ``Genotype(normal=[('sep_conv_3x3', 0), ...], normal_concat=range(2, 6), ...)``
  read with :mod:`ast` (never evaluated)
- the canonical id string ``normal=|op~in|op~in|+|...|;reduce=|...|`` that :meth:`DartsSpace.cell_id` returns
- a NAS-Bench-301 configuration (``NetworkSelectorDatasetInfo:darts:edge_normal_0`` ... keys), or an NB301
  result record holding one in ``optimized_hyperparamater_config``.

Validity (genotype form of the arch2vec appendix-B checks, see :func:`check_genotype`): exactly 4 intermediate
nodes with 2 inputs each, every input an earlier node (no forward or self reference, so the cell is a DAG),
the two inputs of a node distinct (DARTS keeps the top-2 *distinct* predecessor edges), every op one of the 7
non-zero DARTS ops (DARTS never derives ``none``: a zero edge would leave its node with fewer than two inputs),
and the output concatenating all intermediate nodes (every node has a successor).

Cost (:func:`network_cost`): exact parameters and multiply-adds of the DARTS evaluation network
(CIFAR: C=36, 20 cells; ImageNet mobile: C=48, 14 cells), auxiliary head excluded unless asked for. It
reproduces DARTS_V2's 3,349,342 CIFAR parameters and the ``model_parameters`` of a real NB301 training record
(C=50, auxiliary head included) exactly. MACs count
convolutions and the classifier; BN, ReLU, pooling and additions are not counted (the DARTS convention).
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations
from pathlib import Path
from typing import Any, Literal

import networkx as nx
import numpy as np

from nasviz.errors import CellError
from nasviz.paths import ASSETS_DIR
from nasviz.spaces.base import NetworkCost, SearchSpace, Validity, check_cell_text, count_ops, load_json_text

#: the 8 DARTS primitives, in the DARTS (and arch2vec one-hot) order
DARTS_OPS: tuple[str, ...] = ("none", "max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3", "sep_conv_5x5",
                              "dil_conv_3x3", "dil_conv_5x5")
#: the ops a DARTS cell can hold (every primitive but the zero op)
EDGE_OPS: tuple[str, ...] = DARTS_OPS[1:]
#: ops of published genotypes outside the DARTS space (NASNet, AmoebaNet): parsed and costed, never valid here
EXTRA_OPS: tuple[str, ...] = ("sep_conv_7x7", "conv_7x1_1x7")
KNOWN_OPS: tuple[str, ...] = DARTS_OPS + EXTRA_OPS
#: NASLib compact-encoding op ids (``convert_compact_to_genotype``)
NASLIB_OPS: tuple[str, ...] = EDGE_OPS
#: arch2vec 11-wide one-hot order
ARCH2VEC_OPS: tuple[str, ...] = ("c_k-2", "c_k-1", *DARTS_OPS, "output")
NUM_NODES = 4
NUM_PAIRS = 2 * NUM_NODES
DEFAULT_CONCAT: tuple[int, ...] = tuple(range(2, 2 + NUM_NODES))

#: dataset -> (input resolution, classes, default channels, default cells)
DATASETS: dict[str, tuple[int, int, int, int]] = {
    "cifar10": (32, 10, 36, 20),
    "cifar100": (32, 100, 36, 20),
    "imagenet": (224, 1000, 48, 14),
}
DATASET_ALIASES = {"c10": "cifar10", "c100": "cifar100", "imagenet-mobile": "imagenet", "ImageNet": "imagenet",
                   "in1k": "imagenet"}
GENOTYPES_ASSET = ASSETS_DIR / "darts_genotypes.json"

CellName = Literal["normal", "reduce"]
Pair = tuple[str, int]
#: an edge of a cell DAG: (op, from node, to node), nodes 0/1 = cell inputs, 2.. = intermediate nodes
Edge = tuple[str, int, int]


@dataclass(frozen=True)
class Genotype:
    """A DARTS genotype: normal and reduction cells as (op, input) pairs, two per intermediate node."""

    normal: tuple[Pair, ...]
    normal_concat: tuple[int, ...]
    reduce: tuple[Pair, ...]
    reduce_concat: tuple[int, ...]

    def __post_init__(self) -> None:
        for name in ("normal", "reduce"):
            pairs = tuple(_as_pair(p, f"{name}[{i}]") for i, p in enumerate(getattr(self, name)))
            if len(pairs) % 2:
                raise CellError(f"the {name} cell has {len(pairs)} (op, input) pairs: each intermediate node needs 2")
            object.__setattr__(self, name, pairs)
            concat = getattr(self, f"{name}_concat")
            object.__setattr__(self, f"{name}_concat", tuple(_as_int(c, f"{name}_concat") for c in concat))

    def pairs(self, cell: CellName = "normal") -> tuple[Pair, ...]:
        return self.normal if cell == "normal" else self.reduce

    def concat(self, cell: CellName = "normal") -> tuple[int, ...]:
        return self.normal_concat if cell == "normal" else self.reduce_concat

    def edges(self, cell: CellName = "normal") -> list[Edge]:
        """The cell as ``(op, from, to)`` edges."""
        return [(op, src, 2 + i // 2) for i, (op, src) in enumerate(self.pairs(cell))]

    def __str__(self) -> str:
        return genotype_to_string(self)


def _as_int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise CellError(f"{where}: expected an integer node index, got {value!r}")
    return int(value)


def _as_pair(value: Any, where: str) -> Pair:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise CellError(f"{where}: expected an [op, input] pair, got {value!r}")
    op, src = value
    if not isinstance(op, str):
        raise CellError(f"{where}: the op must be a string, got {op!r}")
    return op, _as_int(src, where)


# ---- validity -------------------------------------------------------------------------------

def check_cell(pairs: tuple[Pair, ...], concat: tuple[int, ...], cell: str = "normal") -> str | None:
    """Why a cell is not a member of the DARTS space, or None when it is."""
    if len(pairs) != NUM_PAIRS:
        return (f"the {cell} cell has {len(pairs)} (op, input) pairs ({len(pairs) // 2} intermediate nodes); "
                f"a DARTS cell has exactly {NUM_NODES} intermediate nodes x 2 inputs = {NUM_PAIRS}")
    for i, (op, src) in enumerate(pairs):
        node = 2 + i // 2
        if op == "none":
            return (f"{cell}[{i}] (node {node}) is 'none': DARTS never derives the zero op, "
                    f"so every intermediate node has two non-zero input edges")
        if op in EXTRA_OPS:
            return f"op {op!r} at {cell}[{i}] is not a DARTS op (it belongs to the NASNet space)"
        if op not in EDGE_OPS:
            return f"unknown op {op!r} at {cell}[{i}]; DARTS ops: {', '.join(EDGE_OPS)}"
        if src < 0:
            return f"input {src} of node {node} ({cell}[{i}]) is out of range: inputs are node indices 0..{node - 1}"
        if src >= node:
            return (f"node {node} of the {cell} cell takes input {src}, which is not an earlier node "
                    f"(allowed 0..{node - 1}); a forward or self reference would make a cycle")
    for node in range(2, 2 + NUM_NODES):
        a, b = pairs[2 * (node - 2)][1], pairs[2 * (node - 2) + 1][1]
        if a == b:
            return f"node {node} of the {cell} cell takes both inputs from node {a}; DARTS picks two distinct predecessors"
    if tuple(sorted(concat)) != DEFAULT_CONCAT:
        return (f"the {cell} output concatenates nodes {list(concat)}; a DARTS cell concatenates all intermediate "
                f"nodes {list(DEFAULT_CONCAT)} (otherwise a node has no successor)")
    return None


def check_genotype(genotype: Genotype) -> Validity:
    for cell in ("normal", "reduce"):
        reason = check_cell(genotype.pairs(cell), genotype.concat(cell), cell)
        if reason:
            return Validity.invalid(reason)
    return Validity.ok()


def require_valid(genotype: Genotype) -> None:
    validity = check_genotype(genotype)
    if not validity.valid:
        raise CellError(f"not a valid DARTS genotype: {validity.reason}")


# ---- formats --------------------------------------------------------------------------------

def genotype_from_dict(obj: dict[str, Any]) -> Genotype:
    missing = [k for k in ("normal", "reduce") if k not in obj]
    if missing:
        raise CellError(f"a DARTS genotype needs the field(s) {', '.join(missing)}; got {', '.join(map(str, obj)) or 'none'}")
    for key in ("normal", "reduce"):
        if not isinstance(obj[key], (list, tuple)):
            raise CellError(f"field {key!r} must be a list of [op, input] pairs, got {type(obj[key]).__name__}")
    normal_concat = obj.get("normal_concat", range(2, 2 + len(obj["normal"]) // 2))
    reduce_concat = obj.get("reduce_concat", range(2, 2 + len(obj["reduce"]) // 2))
    for key, value in (("normal_concat", normal_concat), ("reduce_concat", reduce_concat)):
        if not isinstance(value, (list, tuple, range)):
            raise CellError(f"field {key!r} must be a list of node indices, got {value!r}")
    return Genotype(tuple(obj["normal"]), tuple(normal_concat), tuple(obj["reduce"]), tuple(reduce_concat))


def genotype_to_dict(genotype: Genotype) -> dict[str, Any]:
    return {"normal": [[op, src] for op, src in genotype.normal], "normal_concat": list(genotype.normal_concat),
            "reduce": [[op, src] for op, src in genotype.reduce], "reduce_concat": list(genotype.reduce_concat)}


def _is_compact(obj: Any) -> bool:
    return (isinstance(obj, (list, tuple)) and len(obj) == 2
            and all(isinstance(cell, (list, tuple)) for cell in obj)
            and all(isinstance(p, (list, tuple)) and len(p) == 2 and all(isinstance(x, int) for x in p)
                    for cell in obj for p in cell))


def genotype_from_compact(compact: Any) -> Genotype:
    """From NASLib's compact encoding ``[[(input, op_id) x 8], [(input, op_id) x 8]]``."""
    if not _is_compact(compact):
        raise CellError("a NASLib compact DARTS encoding is [[8 x (input_node, op_id)], [8 x (input_node, op_id)]]")
    cells = []
    for name, cell in zip(("normal", "reduce"), compact, strict=True):
        pairs = []
        for i, (src, op_id) in enumerate(cell):
            if not 0 <= op_id < len(NASLIB_OPS):
                raise CellError(f"NASLib op id {op_id} at {name}[{i}] out of range 0..{len(NASLIB_OPS) - 1}")
            pairs.append((NASLIB_OPS[op_id], src))
        cells.append(tuple(pairs))
    return Genotype(cells[0], tuple(range(2, 2 + len(cells[0]) // 2)), cells[1], tuple(range(2, 2 + len(cells[1]) // 2)))


def genotype_to_compact(genotype: Genotype) -> list[list[tuple[int, int]]]:
    """NASLib's compact encoding (the key format of NASLib's zero-cost NB301 files)."""
    require_valid(genotype)
    return [[(src, NASLIB_OPS.index(op)) for op, src in genotype.pairs(cell)] for cell in ("normal", "reduce")]


NB301_PREFIX = "NetworkSelectorDatasetInfo:darts:"
#: first dense-supernet edge index of each intermediate node (node k has k incoming candidate edges)
_NB301_EDGE_OFFSET = {2: 0, 3: 2, 4: 5, 5: 9}


def genotype_from_nb301_config(config: dict[str, Any]) -> Genotype:
    """From a NAS-Bench-301 configuration (``edge_<cell>_<i>`` ops on the 14 dense edges and
    ``inputs_node_<cell>_<k>`` = "a_b" for nodes 3-5), as in NB301's ``optimized_hyperparamater_config``."""
    cells = {}
    for cell in ("normal", "reduce"):
        pairs: list[Pair] = []
        for node in range(2, 2 + NUM_NODES):
            key = f"{NB301_PREFIX}inputs_node_{cell}_{node}"
            if node == 2:
                inputs = [0, 1]
            else:
                if key not in config:
                    raise CellError(f"NB301 config lacks {key!r}")
                try:
                    inputs = [int(x) for x in str(config[key]).split("_")]
                except ValueError:
                    raise CellError(f"{key}: expected 'a_b' node indices, got {config[key]!r}") from None
                if len(inputs) != 2:
                    raise CellError(f"{key}: expected two inputs 'a_b', got {config[key]!r}")
            for src in inputs:
                edge_key = f"{NB301_PREFIX}edge_{cell}_{_NB301_EDGE_OFFSET[node] + src}"
                if edge_key not in config:
                    raise CellError(f"NB301 config lacks {edge_key!r} (node {node} takes input {src})")
                pairs.append((str(config[edge_key]), src))
        cells[cell] = tuple(pairs)
    return Genotype(cells["normal"], DEFAULT_CONCAT, cells["reduce"], DEFAULT_CONCAT)


def genotype_to_nb301_config(genotype: Genotype) -> dict[str, str]:
    """The architecture part of a NAS-Bench-301 configuration."""
    require_valid(genotype)
    config: dict[str, str] = {}
    for cell in ("normal", "reduce"):
        nodes = _sorted_nodes(genotype.pairs(cell))
        for node, pairs in enumerate(nodes, start=2):
            if node > 2:
                config[f"{NB301_PREFIX}inputs_node_{cell}_{node}"] = f"{pairs[0][1]}_{pairs[1][1]}"
            for op, src in pairs:
                config[f"{NB301_PREFIX}edge_{cell}_{_NB301_EDGE_OFFSET[node] + src}"] = op
    return config


def _literal_concat(node: ast.expr, where: str) -> tuple[int, ...]:
    """A concat list: a literal list/tuple, ``range(a, b)`` or ``list(range(a, b))``."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "list" and len(node.args) == 1:
        node = node.args[0]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "range":
        try:
            bounds = [ast.literal_eval(a) for a in node.args]
        except ValueError:
            raise CellError(f"{where}: range() arguments must be integer literals") from None
        if not 1 <= len(bounds) <= 3 or not all(isinstance(b, int) for b in bounds):
            raise CellError(f"{where}: range() takes 1 to 3 integer literals")
        return tuple(range(*bounds))
    try:
        value = ast.literal_eval(node)
    except ValueError:
        raise CellError(f"{where}: expected a list of node indices or range(a, b)") from None
    if not isinstance(value, (list, tuple)):
        raise CellError(f"{where}: expected a list of node indices, got {value!r}")
    return tuple(value)


def genotype_from_python(text: str) -> Genotype:
    """Parse a DARTS ``Genotype(normal=[...], normal_concat=range(2, 6), ...)`` literal with :mod:`ast` (no eval)."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise CellError(f"malformed Genotype string: {exc.msg} (column {exc.offset})") from None
    call = tree.body
    if not isinstance(call, ast.Call) or not (isinstance(call.func, ast.Name) and call.func.id == "Genotype"
                                              or isinstance(call.func, ast.Attribute) and call.func.attr == "Genotype"):
        raise CellError("expected a Genotype(normal=..., normal_concat=..., reduce=..., reduce_concat=...) expression")
    fields = ["normal", "normal_concat", "reduce", "reduce_concat"]
    values: dict[str, ast.expr] = dict(zip(fields, call.args, strict=False))
    for kw in call.keywords:
        if kw.arg not in fields:
            raise CellError(f"unknown Genotype field {kw.arg!r}; fields: {', '.join(fields)}")
        values[kw.arg] = kw.value
    obj: dict[str, Any] = {}
    for key, node in values.items():
        if key.endswith("concat"):
            obj[key] = _literal_concat(node, key)
        else:
            try:
                obj[key] = ast.literal_eval(node)
            except ValueError:
                raise CellError(f"field {key!r} must be a literal list of (op, input) pairs") from None
    return genotype_from_dict(obj)


def genotype_to_python(genotype: Genotype) -> str:
    """The DARTS ``genotypes.py`` literal form."""
    def concat(c: tuple[int, ...]) -> str:
        return f"range({c[0]}, {c[-1] + 1})" if c and c == tuple(range(c[0], c[-1] + 1)) else repr(list(c))
    return (f"Genotype(normal={list(genotype.normal)!r}, normal_concat={concat(genotype.normal_concat)}, "
            f"reduce={list(genotype.reduce)!r}, reduce_concat={concat(genotype.reduce_concat)})")


def _sorted_nodes(pairs: tuple[Pair, ...]) -> list[tuple[Pair, ...]]:
    return [tuple(sorted(pairs[i:i + 2], key=lambda p: (p[1], p[0]))) for i in range(0, len(pairs), 2)]


def canonical_genotype(genotype: Genotype) -> Genotype:
    """The same genotype with each node's two inputs sorted by (input, op) and the concat sorted."""
    cells = [tuple(p for node in _sorted_nodes(genotype.pairs(c)) for p in node) for c in ("normal", "reduce")]
    return Genotype(cells[0], tuple(sorted(genotype.normal_concat)), cells[1], tuple(sorted(genotype.reduce_concat)))


def genotype_to_string(genotype: Genotype) -> str:
    """Canonical id ``normal=|op~in|op~in|+|...|;reduce=|...|`` (each node's inputs sorted, so symmetric pairs match).
    A concat other than all intermediate nodes is appended as ``;normal_concat=4,5``."""
    canon = canonical_genotype(genotype)
    parts = []
    for cell in ("normal", "reduce"):
        nodes = _sorted_nodes(canon.pairs(cell))
        parts.append(f"{cell}=|" + "|+|".join("|".join(f"{op}~{src}" for op, src in node) for node in nodes) + "|")
    for cell in ("normal", "reduce"):
        concat = canon.concat(cell)
        if concat != tuple(range(2, 2 + len(canon.pairs(cell)) // 2)):
            parts.append(f"{cell}_concat=" + ",".join(map(str, concat)))
    return ";".join(parts)


_ID_PART_RE = re.compile(r"^(normal|reduce)(_concat)?=(.*)$")
_ID_PAIR_RE = re.compile(r"^([A-Za-z0-9_]+)~(-?\d+)$")


def genotype_from_string(text: str) -> Genotype:
    """Inverse of :func:`genotype_to_string`."""
    obj: dict[str, Any] = {}
    for part in text.strip().split(";"):
        match = _ID_PART_RE.match(part.strip())
        if not match:
            raise CellError(f"malformed DARTS cell id part {part!r}: expected normal=|op~in|op~in|+|...| or reduce=...")
        cell, is_concat, body = match.groups()
        if is_concat:
            try:
                obj[f"{cell}_concat"] = [int(x) for x in body.split(",") if x.strip()]
            except ValueError:
                raise CellError(f"malformed {cell}_concat {body!r}: expected comma-separated node indices") from None
            continue
        if not (body.startswith("|") and body.endswith("|")):
            raise CellError(f"malformed {cell} cell {body!r}: expected |op~in|op~in|+|...|")
        pairs = []
        for node in body[1:-1].split("|+|"):
            for token in node.split("|"):
                pair = _ID_PAIR_RE.match(token)
                if not pair:
                    raise CellError(f"malformed edge {token!r} in the {cell} cell: expected op~input")
                pairs.append((pair.group(1), int(pair.group(2))))
        obj[cell] = pairs
    return genotype_from_dict(obj)


# ---- published genotypes -------------------------------------------------------------------

def build_genotype_asset(source: Path, out: Path = GENOTYPES_ASSET) -> dict[str, Any]:
    """Write ``assets/darts_genotypes.json`` from the shared ``published_genotypes.json`` (literals only)."""
    data = json.loads(Path(source).read_text())
    asset = {"format": "DARTS genotypes: normal/reduce = [op, input] pairs, 2 per intermediate node; nodes 0, 1 = "
                       "c_{k-2}, c_{k-1}; *_concat = concatenated nodes. 'nao_arch_strings' hold NAONet cells in NAO's "
                       "token encoding (see nasviz.spaces.nat.nat_cells_from_nao).",
             "derived_from": f"{source.name} (literal values; each entry keeps its own source)",
             "genotypes": {}, "nao_arch_strings": {}}
    for name, entry in data["genotypes"].items():
        genotype = genotype_from_dict(entry)
        asset["genotypes"][name] = {**genotype_to_dict(genotype), "source": entry["source"]}
    for name, entry in data.get("nao_arch_strings", {}).items():
        if not name.startswith("_"):
            asset["nao_arch_strings"][name] = {"arch": entry["arch"], "source": entry["source"]}
    out.write_text(json.dumps(asset, indent=1) + "\n")
    return asset


@lru_cache(maxsize=1)
def _genotype_asset() -> dict[str, Any]:
    if not GENOTYPES_ASSET.exists():
        raise CellError(f"missing asset {GENOTYPES_ASSET}; rebuild it with nasviz.spaces.darts.build_genotype_asset")
    return json.loads(GENOTYPES_ASSET.read_text())


def published_genotypes() -> dict[str, Genotype]:
    """Published genotypes (DARTS_V1/V2, PDARTS, PC-DARTS, GDAS, SNAS, MdeNAS, ENAS, NASNet, AmoebaNet).
    NASNet, AmoebaNet and ENASNet have 5 nodes (and NASNet/AmoebaNet extra ops): they are not valid DARTS-space cells."""
    return {name: genotype_from_dict(entry) for name, entry in _genotype_asset()["genotypes"].items()}


def published_sources() -> dict[str, str]:
    """Where each published genotype (and NAO arch string) comes from."""
    asset = _genotype_asset()
    return {name: entry["source"] for group in ("genotypes", "nao_arch_strings") for name, entry in asset[group].items()}


def nao_arch_strings() -> dict[str, str]:
    """NAONet arch strings in NAO's token encoding (5 normal then 5 reduction nodes of [in1, op1, in2, op2])."""
    return {name: entry["arch"] for name, entry in _genotype_asset()["nao_arch_strings"].items()}


# ---- arch2vec 11-node encoding --------------------------------------------------------------

def arch2vec_encoding(genotype: Genotype, cell: CellName = "normal") -> tuple[np.ndarray, np.ndarray]:
    """The arch2vec 11-node DAG of one cell: (11x11 upper-triangular adjacency, 11x11 one-hot ops).

    Nodes: 0 c_{k-2}, 1 c_{k-1}, 2..9 the 8 op-nodes (two per block, genotype order), 10 output. An op-node
    consuming block j's output is connected from both op-nodes of block j; every op-node feeds the output.
    """
    pairs = genotype.pairs(cell)
    if len(pairs) != NUM_PAIRS or tuple(sorted(genotype.concat(cell))) != DEFAULT_CONCAT:
        raise CellError("the arch2vec encoding needs a 4-node cell concatenating all intermediate nodes")
    adj = np.zeros((11, 11), dtype=np.int8)
    ops = np.zeros((11, len(ARCH2VEC_OPS)), dtype=np.int8)
    ops[0, 0] = ops[1, 1] = ops[10, 10] = 1
    for i, (op, src) in enumerate(pairs):
        if op not in DARTS_OPS:
            raise CellError(f"op {op!r} has no arch2vec one-hot column")
        node = 2 + i
        block = i // 2
        if not 0 <= src < 2 + block:
            raise CellError(f"input {src} of {cell}[{i}] is not an earlier node")
        ops[node, ARCH2VEC_OPS.index(op)] = 1
        if src < 2:
            adj[src, node] = 1
        else:
            adj[2 + 2 * (src - 2), node] = adj[3 + 2 * (src - 2), node] = 1
        adj[node, 10] = 1
    return adj, ops


def from_arch2vec(adj: np.ndarray, ops: np.ndarray | list[str]) -> Genotype:
    """Decode an 11-node arch2vec graph (normal cell = reduce cell). Raises CellError naming the failed
    appendix-B check: input/output roles, upper triangular, every non-input node has a predecessor, every
    non-output node a successor, each op-node fed by exactly one source (an input or both op-nodes of an
    earlier block)."""
    adj = np.asarray(adj)
    if adj.shape != (11, 11):
        raise CellError(f"an arch2vec DARTS adjacency is 11x11, got {adj.shape}")
    if isinstance(ops, np.ndarray) and ops.ndim == 2:
        labels = [ARCH2VEC_OPS[int(k)] for k in ops.argmax(axis=1)]
    else:
        labels = [ARCH2VEC_OPS[int(o)] if not isinstance(o, str) else o for o in ops]
    if len(labels) != 11:
        raise CellError(f"an arch2vec DARTS graph has 11 nodes, got {len(labels)} op labels")
    if labels[0] != "c_k-2" or labels[1] != "c_k-1":
        raise CellError("the first two nodes must be the input nodes c_{k-2} and c_{k-1}")
    if labels[10] != "output":
        raise CellError("the last node must be the output node c_k")
    bad = [f"{i}:{lab}" for i, lab in enumerate(labels[2:10], start=2) if lab not in DARTS_OPS]
    if bad:
        raise CellError(f"op-nodes must hold DARTS ops, got {', '.join(bad)}")
    a = (adj > 0).astype(np.int8)
    if np.tril(a).any():
        raise CellError("the adjacency must be strictly upper-triangular (a DAG)")
    for node in range(2, 11):
        if not a[:, node].any():
            raise CellError(f"node {node} has no predecessor")
    for node in range(0, 10):
        if not a[node].any():
            raise CellError(f"node {node} has no successor")
    pairs = []
    for node in range(2, 10):
        block = (node - 2) // 2
        preds = tuple(np.flatnonzero(a[:10, node]).tolist())
        sources = {(0,): 0, (1,): 1, **{(2 + 2 * b, 3 + 2 * b): 2 + b for b in range(block)}}
        if preds not in sources:
            raise CellError(f"op-node {node} (block {block + 2}) must be fed by c_k-2, c_k-1 or both op-nodes of one "
                            f"earlier block; it is fed by {list(preds)}")
        pairs.append((labels[node], sources[preds]))
    if not a[2:10, 10].all():
        raise CellError("every op-node must feed the output (the output concatenates all intermediate nodes)")
    return Genotype(tuple(pairs), DEFAULT_CONCAT, tuple(pairs), DEFAULT_CONCAT)


# ---- network cost -------------------------------------------------------------------------

def _out_size(h: int, stride: int) -> int:
    return (h - 1) // stride + 1


def op_cost(op: str, c: int, h_in: int, stride: int, affine: bool = True) -> tuple[int, int]:
    """(params, MACs) of one edge op on ``c`` channels with input resolution ``h_in`` (square maps).

    DARTS ops: sep_conv_k = 2 x (ReLU, depthwise kxk, pointwise 1x1, BN); dil_conv_k = ReLU, depthwise kxk
    dilation 2, pointwise, BN; skip_connect with stride 2 = FactorizedReduce; pools, identity, none/null are free.
    NAT ops: conv_k = ReLU, kxk conv, BN. NASNet ops: sep_conv_7x7, conv_7x1_1x7 (1x7 then 7x1 conv, BN).
    ``affine=False``: the BNs of the op have no weight and bias (the DARTS search-phase ops).
    """
    params, macs = _op_cost_affine(op, c, h_in, stride)
    if not affine:
        params -= 2 * c * _op_batchnorms(op, stride)
    return params, macs


def _op_batchnorms(op: str, stride: int) -> int:
    if op.startswith("sep_conv"):
        return 2
    if op == "skip_connect":
        return int(stride > 1)
    return int(op.startswith(("dil_conv", "conv_")))


def _op_cost_affine(op: str, c: int, h_in: int, stride: int) -> tuple[int, int]:
    h = _out_size(h_in, stride)
    hw = h * h
    if op in ("none", "null", "max_pool_3x3", "avg_pool_3x3"):
        return 0, 0
    if op == "skip_connect":
        return (0, 0) if stride == 1 else factorized_reduce_cost(c, c, h)
    match = re.fullmatch(r"(sep_conv|dil_conv|conv)_(\d)x\2", op)
    if match:
        kind, k = match.group(1), int(match.group(2))
        if kind == "sep_conv":
            return 2 * (k * k * c + c * c + 2 * c), 2 * (k * k * c + c * c) * hw
        if kind == "dil_conv":
            return k * k * c + c * c + 2 * c, (k * k * c + c * c) * hw
        return k * k * c * c + 2 * c, k * k * c * c * hw
    if op == "conv_7x1_1x7":
        return 14 * c * c + 2 * c, 7 * c * c * h_in * h + 7 * c * c * hw
    raise CellError(f"no cost model for op {op!r}")


def factorized_reduce_cost(c_in: int, c_out: int, h_out: int) -> tuple[int, int]:
    """FactorizedReduce: ReLU, two stride-2 1x1 convs to c_out/2 each (concatenated), BN."""
    if c_out % 2:
        raise CellError(f"FactorizedReduce needs an even number of output channels, got {c_out}")
    return 2 * c_in * (c_out // 2) + 2 * c_out, 2 * c_in * (c_out // 2) * h_out * h_out


def relu_conv_bn_cost(c_in: int, c_out: int, h: int) -> tuple[int, int]:
    """ReLUConvBN with a 1x1 conv (the cell preprocessing)."""
    return c_in * c_out + 2 * c_out, c_in * c_out * h * h


def cell_cost(edges: list[Edge], concat: tuple[int, ...], c_prev_prev: int, c_prev: int, c: int, h_in: int,
              reduction: bool, reduction_prev: bool, affine_ops: bool = True) -> tuple[int, int, int]:
    """(params, MACs, output channels) of one DARTS-style cell; ``h_in`` = resolution of the c_{k-1} input."""
    params = macs = 0
    p, m = (factorized_reduce_cost(c_prev_prev, c, h_in) if reduction_prev else relu_conv_bn_cost(c_prev_prev, c, h_in))
    params, macs = params + p, macs + m
    p, m = relu_conv_bn_cost(c_prev, c, h_in)
    params, macs = params + p, macs + m
    h_out = _out_size(h_in, 2) if reduction else h_in
    for op, src, _dst in edges:
        stride = 2 if reduction and src < 2 else 1
        p, m = op_cost(op, c, h_in if src < 2 else h_out, stride, affine_ops)
        params, macs = params + p, macs + m
    return params, macs, len(concat) * c


def auxiliary_head_cost(c_in: int, h: int, classes: int, imagenet: bool) -> tuple[int, int]:
    """DARTS auxiliary head: ReLU, 5x5 avg-pool (stride 3 CIFAR, 2 ImageNet), 1x1 conv to 128 + BN, ReLU,
    2x2 conv to 768 (+ BN on CIFAR only, as in the DARTS ImageNet head), ReLU, linear classifier."""
    pooled = (h - 5) // (2 if imagenet else 3) + 1
    out = pooled - 1
    params = c_in * 128 + 2 * 128 + 128 * 768 * 4 + (0 if imagenet else 2 * 768) + 768 * classes + classes
    macs = c_in * 128 * pooled * pooled + 128 * 768 * 4 * out * out + 768 * classes
    return params, macs


def network_cost(normal: list[Edge], normal_concat: tuple[int, ...], reduce: list[Edge], reduce_concat: tuple[int, ...],
                 dataset: str, channels: int | None = None, layers: int | None = None,
                 auxiliary: bool = False, affine_ops: bool = True) -> tuple[int, int]:
    """Exact (params, MACs) of the DARTS evaluation network (NetworkCIFAR / NetworkImageNet), reductions at
    layers//3 and 2*layers//3; the auxiliary head (after cell 2*layers//3) only with ``auxiliary=True``.
    ``affine_ops=False`` drops the BN weights inside edge ops: with C=32 and 8 cells this is the model behind
    the ``params`` score of NASLib's zero-cost NB301 files."""
    resolution, classes, default_c, default_layers = DATASETS[dataset]
    c = channels or default_c
    layers = layers or default_layers
    params = macs = 0
    if dataset == "imagenet":
        h = _out_size(resolution, 2)  # stem0: conv3x3/2 to C/2, BN, ReLU, conv3x3/2 to C, BN
        params += 27 * (c // 2) + 2 * (c // 2)
        macs += 27 * (c // 2) * h * h
        h = _out_size(h, 2)
        params += 9 * (c // 2) * c + 2 * c
        macs += 9 * (c // 2) * c * h * h
        h = _out_size(h, 2)  # stem1: ReLU, conv3x3/2, BN
        params += 9 * c * c + 2 * c
        macs += 9 * c * c * h * h
        c_prev_prev, c_prev, c_curr, reduction_prev = c, c, c, True
    else:
        h = resolution
        stem = 3 * c
        params += 27 * stem + 2 * stem
        macs += 27 * stem * h * h
        c_prev_prev, c_prev, c_curr, reduction_prev = stem, stem, c, False
    for i in range(layers):
        reduction = i in (layers // 3, 2 * layers // 3)
        if reduction:
            c_curr *= 2
        edges, concat = (reduce, reduce_concat) if reduction else (normal, normal_concat)
        p, m, c_out = cell_cost(edges, concat, c_prev_prev, c_prev, c_curr, h, reduction, reduction_prev, affine_ops)
        params, macs = params + p, macs + m
        if reduction:
            h = _out_size(h, 2)
        c_prev_prev, c_prev, reduction_prev = c_prev, c_out, reduction
        if auxiliary and i == 2 * layers // 3:
            p, m = auxiliary_head_cost(c_prev, h, classes, dataset == "imagenet")
            params, macs = params + p, macs + m
    params += c_prev * classes + classes
    macs += c_prev * classes
    return params, macs


def genotype_cost(genotype: Genotype, dataset: str = "cifar10", channels: int | None = None,
                  layers: int | None = None, auxiliary: bool = False, affine_ops: bool = True) -> tuple[int, int]:
    """(params, MACs) of the network a genotype defines (any node count, DARTS and NASNet ops)."""
    return network_cost(genotype.edges("normal"), genotype.normal_concat, genotype.edges("reduce"), genotype.reduce_concat,
                        dataset, channels, layers, auxiliary, affine_ops)


# ---- graph view ---------------------------------------------------------------------------

def cell_graph(genotype: Genotype, cell: CellName = "normal") -> nx.DiGraph:
    """Op-on-edge DAG of one cell: nodes 0 c_{k-2}, 1 c_{k-1}, 2.. intermediate, then the output c_{k}.
    Two inputs from the same node (possible only in invalid cells) are merged into one edge with ``ops``."""
    pairs = genotype.pairs(cell)
    n = len(pairs) // 2
    out = 2 + n
    graph = nx.DiGraph(space="darts", cell=cell)
    graph.add_node(0, label="c_{k-2}", role="input")
    graph.add_node(1, label="c_{k-1}", role="input")
    for node in range(2, 2 + n):
        graph.add_node(node, label=str(node - 2), role="node")
    graph.add_node(out, label="c_{k}", role="output")
    for op, src, dst in genotype.edges(cell):
        if src not in graph:
            graph.add_node(src, label=str(src), role="node")
        if graph.has_edge(src, dst):
            data = graph.edges[src, dst]
            data["ops"].append(op)
            data["op"] = "+".join(data["ops"])
        else:
            graph.add_edge(src, dst, op=op, ops=[op])
    for node in genotype.concat(cell):
        graph.add_edge(node, out, op=None, ops=[])
    return graph


# ---- the space ----------------------------------------------------------------------------

class DartsSpace(SearchSpace[Genotype]):
    name = "darts"
    title = "DARTS / NAS-Bench-301"
    ops = DARTS_OPS
    datasets = tuple(DATASETS)
    default_dataset = "cifar10"
    input_format = ('{"normal": [["sep_conv_3x3", 0], ...], "normal_concat": [2,3,4,5], "reduce": [...], "reduce_concat": '
                    '[...]}, NASLib [[8 x (input, op_id)], [8 x (input, op_id)]], Genotype(normal=[...], ...) or the id '
                    '"normal=|op~in|op~in|+|...|;reduce=|...|"')

    def parse(self, obj: Any) -> Genotype:
        if isinstance(obj, Genotype):
            return obj
        if isinstance(obj, str):
            return self.parse_text(obj)
        if isinstance(obj, dict):
            if "optimized_hyperparamater_config" in obj:
                obj = obj["optimized_hyperparamater_config"]
            if any(str(k).startswith(NB301_PREFIX) for k in obj):
                return genotype_from_nb301_config(obj)
            for key in ("genotype", "cell", "arch"):
                if key in obj and "normal" not in obj:
                    return self.parse(obj[key])
            return genotype_from_dict(obj)
        if isinstance(obj, (list, tuple)):
            return genotype_from_compact(obj)
        raise CellError(f"cannot read a DARTS genotype from {type(obj).__name__}")

    def parse_text(self, text: str) -> Genotype:
        text = check_cell_text(text, "DARTS genotype").strip()
        if not text:
            raise CellError("empty input: expected a DARTS genotype")
        if text.startswith(("normal=", "reduce=")):
            return genotype_from_string(text)
        if re.match(r"^[\w.]*Genotype\s*\(", text):
            return genotype_from_python(text)
        if text.startswith("[") and "(" in text:  # NASLib key: a Python literal of tuples
            try:
                return genotype_from_compact(ast.literal_eval(text))
            except (ValueError, SyntaxError, TypeError, RecursionError, MemoryError):
                raise CellError("malformed NASLib compact DARTS encoding: expected [[(input, op_id), ...], [...]]") from None
        return self.parse(load_json_text(text, "DARTS genotype"))

    def to_json(self, cell: Genotype) -> dict[str, Any]:
        return genotype_to_dict(cell)

    def is_valid(self, cell: Genotype) -> Validity:
        return check_genotype(cell)

    def canonical(self, cell: Genotype) -> dict[str, Any]:
        return {"id": genotype_to_string(cell), "genotype": genotype_to_python(canonical_genotype(cell))}

    def cell_id(self, cell: Genotype) -> str:
        return genotype_to_string(cell)

    def size(self) -> tuple[int, bool]:
        """Distinct genotypes (unordered input pairs), normal x reduce: (180 * 7^8)^2 ~ 1.1e18. Not exact as a count of
        distinct networks: isomorphic cells (permuted independent nodes) are counted separately."""
        per_cell = 1
        for node in range(2, 2 + NUM_NODES):
            per_cell *= len(list(combinations(range(node), 2))) * len(EDGE_OPS) ** 2
        return per_cell**2, False

    def sample(self, n: int, seed: int) -> list[Genotype]:
        """Uniform over distinct genotypes: per node a uniform pair of distinct inputs and two uniform non-zero ops."""
        rng = np.random.default_rng(seed)
        pair_choices = [list(combinations(range(node), 2)) for node in range(2, 2 + NUM_NODES)]
        picks = np.stack([rng.integers(len(c), size=(n, 2)) for c in pair_choices], axis=2)  # (n, cell, node)
        ops = rng.integers(len(EDGE_OPS), size=(n, 2, NUM_PAIRS))
        out = []
        for i in range(n):
            cells = []
            for c in range(2):
                inputs = [src for k, choices in enumerate(pair_choices) for src in choices[picks[i, c, k]]]
                cells.append(tuple((EDGE_OPS[o], src) for o, src in zip(ops[i, c].tolist(), inputs, strict=True)))
            out.append(Genotype(cells[0], DEFAULT_CONCAT, cells[1], DEFAULT_CONCAT))
        return out

    def to_networkx(self, cell: Genotype) -> nx.DiGraph:
        """The normal cell; use :func:`cell_graph` with ``cell="reduce"`` for the reduction cell."""
        return cell_graph(cell, "normal")

    def edit_distance(self, a: Genotype, b: Genotype) -> int:
        """Op changes plus input changes, summed over nodes of both cells, each node's pairs matched optimally."""
        total = 0
        for cell in ("normal", "reduce"):
            na, nb = _sorted_nodes(a.pairs(cell)), _sorted_nodes(b.pairs(cell))
            for x, y in zip(na, nb, strict=False):
                straight = sum((p[0] != q[0]) + (p[1] != q[1]) for p, q in zip(x, y, strict=True))
                crossed = sum((p[0] != q[0]) + (p[1] != q[1]) for p, q in zip(x, reversed(y), strict=True))
                total += min(straight, crossed)
            total += 4 * abs(len(na) - len(nb))  # a missing node: two ops and two inputs
            total += len(set(a.concat(cell)) ^ set(b.concat(cell)))
        return total

    def op_counts(self, cell: Genotype, which: CellName | None = None) -> dict[str, int]:
        """Op counts over both cells (or one cell with ``which``)."""
        pairs = cell.pairs(which) if which else cell.normal + cell.reduce
        ops = [op for op, _ in pairs]
        known = DARTS_OPS + tuple(op for op in EXTRA_OPS if op in ops)
        return count_ops(ops, known)

    def cost(self, cell: Genotype, dataset: str | None = None, channels: int | None = None,
             layers: int | None = None, auxiliary: bool = False, affine_ops: bool = True) -> NetworkCost:
        """Exact params and MACs (conv + linear) of the DARTS network: CIFAR C=36, 20 cells; ImageNet mobile C=48,
        14 cells; ``channels``/``layers`` override; the auxiliary head is excluded unless ``auxiliary``;
        ``affine_ops=False`` for non-affine BNs inside edge ops (NASLib's NB301 zero-cost model: C=32, 8 cells)."""
        dataset = DATASET_ALIASES.get(dataset or "", dataset)
        dataset = self.check_dataset(dataset)
        params, macs = genotype_cost(cell, dataset, channels, layers, auxiliary, affine_ops)
        return NetworkCost(params, macs, dataset)

    def published(self) -> dict[str, Genotype]:
        return published_genotypes()
