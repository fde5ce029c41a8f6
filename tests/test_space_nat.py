"""NAT cells: formats and numbering conventions, validity reasons, pruning, presets, DARTS/NAO conversion,
sampling, and the exact network cost checked against a PyTorch build of the same network."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from nasviz.errors import CellError
from nasviz.spaces import get_space
from nasviz.spaces.darts import canonical_genotype, genotype_cost, nao_arch_strings, published_genotypes
from nasviz.spaces.nat import (
    PRESETS_ASSET,
    NatCell,
    build_preset_asset,
    darts_to_nat,
    dead_nodes,
    edge_index,
    gcn_encoding,
    nat_cell_from_json,
    nat_cell_to_json,
    nat_cells_from_nao,
    nat_to_darts,
    preset_cells,
    preset_sources,
    prune,
    transform,
)

SPACE = get_space("nat")

VGG_JSON = {"edges": [["conv_3x3", -1, 0], ["null", -2, 0], ["conv_3x3", 0, 1], ["null", -2, 1],
                      ["conv_3x3", 1, 2], ["null", -2, 2], ["conv_3x3", 2, 3], ["null", -2, 3]],
            "output": "concat", "concat": [3]}


def test_presets_load_valid_with_sources() -> None:
    cells = preset_cells()
    expected = {"VGG", "ResNet_V1", "ResNet_V2", "ResNet_V3", "DARTS_V2_normal", "DARTS_V2_reduce", "ENAS_normal",
                "ENAS_reduce", "NAONet-B_normal", "NAONet-B_reduce", "NAONet-V2_normal", "NAONet-V2_reduce"}
    assert set(cells) == expected
    for name, cell in cells.items():
        assert SPACE.is_valid(cell), (name, SPACE.is_valid(cell).reason)
        assert preset_sources()[name]
    assert cells["VGG"] == SPACE.parse(VGG_JSON)
    # the three ResNet graphs differ only in where node 2's null input comes from: -2, 1, 0
    nulls = {name: [src - 2 for op, src, dst in cells[name].edges if op == "null" and dst == 4] for name in
             ("ResNet_V1", "ResNet_V2", "ResNet_V3")}
    assert nulls == {"ResNet_V1": [-2], "ResNet_V2": [1], "ResNet_V3": [0]}
    assert SPACE.edit_distance(cells["ResNet_V1"], cells["ResNet_V2"]) == 1
    assert json.loads(PRESETS_ASSET.read_text()) == build_preset_asset()  # the asset is reproducible


def test_round_trips_both_numberings() -> None:
    cell = SPACE.parse(VGG_JSON)
    assert cell.edges[0] == ("null", 0, 2) and cell.edges[1] == ("conv_3x3", 1, 2)  # stored in NAT numbering
    assert SPACE.parse(SPACE.to_json(cell)) == cell
    assert SPACE.parse_text(json.dumps(SPACE.to_json(cell))) == cell
    nat = nat_cell_to_json(cell, "nat")
    assert nat["edges"][0] == ["null", 0, 2] and nat["indexing"] == "nat"
    assert SPACE.parse(nat) == cell
    assert nat_cell_from_json({"edges": nat["edges"], "concat": [5]}, indexing="nat") == cell
    canonical = nat_cell_to_json(cell, "canonical")  # the default numbering, named explicitly
    assert canonical == SPACE.to_json(cell) and "indexing" not in canonical
    assert SPACE.parse({**VGG_JSON, "indexing": "canonical"}) == cell
    assert SPACE.parse_text(SPACE.cell_id(cell)) == cell
    for name, preset in preset_cells().items():
        assert SPACE.parse_text(SPACE.cell_id(preset)) == preset, name
        assert SPACE.parse(SPACE.to_json(preset)) == preset, name


def test_darts_conversion_both_ways() -> None:
    genotype = published_genotypes()["DARTS_V2"]
    normal, reduce = darts_to_nat(genotype)
    assert normal == preset_cells()["DARTS_V2_normal"] and reduce == preset_cells()["DARTS_V2_reduce"]
    assert normal.output_nodes() == (2, 3, 4, 5)
    assert nat_to_darts(normal, reduce) == canonical_genotype(genotype)
    assert SPACE.parse(get_space("darts").to_json(genotype)) == normal  # a DARTS genotype parses as its normal cell
    with pytest.raises(CellError, match="not a DARTS op"):
        nat_to_darts(preset_cells()["VGG"], reduce)


def test_nao_conversion() -> None:
    arch = nao_arch_strings()["NAONet-B (NAO-WS)"]
    normal, reduce = nat_cells_from_nao(arch)
    assert normal.num_nodes == reduce.num_nodes == 5
    # node 0 of NAONet-B: [0, 1, 0, 2] = sep_conv_5x5 and avg_pool_3x3, both from c_{k-2}
    assert normal.inputs_of(2) == [("avg_pool_3x3", 0), ("sep_conv_5x5", 0)]
    assert normal.output == "loose_end" and normal.output_nodes() == (3, 5, 6)
    with pytest.raises(CellError, match="no NAT equivalent"):
        nat_cells_from_nao(nao_arch_strings()["NAONet-A"])


def _cell(edges: list[list], **kw) -> NatCell:
    return nat_cell_from_json({"edges": edges, **kw})


@pytest.mark.parametrize(
    ("edges", "extra", "message"),
    [
        ([["conv_9x9", -1, 0], ["null", -2, 0]], {}, "unknown op 'conv_9x9'"),
        ([["conv_3x3", -1, 0], ["conv_3x3", 1, 0], ["conv_3x3", 0, 1], ["null", -2, 1]], {}, "cycle: 0 -> 1 -> 0"),
        ([["conv_3x3", -1, 0], ["null", -2, 0], ["conv_3x3", 0, 1]], {}, "node 1 has 1 input(s)"),
        ([["conv_3x3", -1, 0], ["null", -2, 0], ["skip_connect", -1, 0]], {}, "node 0 has 3 input(s)"),
        ([["conv_3x3", -1, 0], ["conv_3x3", 0, 0]], {}, "cycle: 0 -> 0"),
        ([["conv_3x3", -3, 0], ["null", -2, 0]], {}, "input -3 is out of range"),
        ([["conv_3x3", -1, 0], ["null", 4, 0]], {}, "input 4 is out of range"),
        ([["conv_3x3", -1, 0], ["null", -2, 0], ["conv_3x3", -1, 2], ["null", -2, 2]], {}, "node 1 has no inputs"),
        ([["conv_3x3", -1, 0], ["null", -2, 0], ["conv_3x3", -1, 1], ["null", -2, 1]], {"concat": [1]},
         "node 0 is disconnected"),
        ([["null", -1, 0], ["null", -2, 0], ["conv_3x3", 0, 1], ["skip_connect", 0, 1]], {}, "does not depend on the cell"),
        ([["conv_3x3", -1, 0], ["null", -2, 0]], {"concat": [3]}, "node 3, which is not an intermediate node"),
    ],
)
def test_validity_reasons(edges: list[list], extra: dict, message: str) -> None:
    validity = SPACE.is_valid(_cell(edges, **extra))
    assert not validity
    assert message in validity.reason, validity.reason


def test_parse_errors_are_named() -> None:
    with pytest.raises(CellError, match="malformed JSON.*line 1"):
        SPACE.parse_text('{"edges": [["conv_3x3", -1, 0]')
    with pytest.raises(CellError, match='needs an "edges" field'):
        SPACE.parse({"nodes": []})
    with pytest.raises(CellError, match=r"edge #1: expected \[op, from, to\]"):
        SPACE.parse({"edges": [["conv_3x3", -1, 0], ["null", -2]]})
    with pytest.raises(CellError, match="unknown output mode"):
        SPACE.parse({"edges": VGG_JSON["edges"], "output": "average"})
    with pytest.raises(CellError, match="unknown indexing"):
        SPACE.parse({"edges": VGG_JSON["edges"], "indexing": "one-based"})
    with pytest.raises(CellError, match="not a valid NAT cell"):
        SPACE.cost(_cell([["conv_9x9", -1, 0], ["null", -2, 0]]))


def test_prune_removes_null_fed_nodes() -> None:
    cell = _cell([["conv_3x3", -1, 0], ["null", -2, 0], ["null", -1, 1], ["null", -2, 1],
                  ["sep_conv_3x3", 1, 2], ["conv_1x1", 0, 2]])
    assert SPACE.is_valid(cell)
    assert dead_nodes(cell) == [3]
    pruned = prune(cell)
    assert pruned.num_nodes == 2 and SPACE.is_valid(pruned)
    assert pruned.inputs_of(3) == [("null", 0), ("conv_1x1", 2)]
    assert pruned.output_nodes() == (2, 3)
    assert prune(pruned) == pruned
    assert SPACE.cost(pruned).params < SPACE.cost(cell).params
    # node 0 only feeds dead node 1 (through a null edge): with an explicit concat it is removed too
    chained = _cell([["conv_3x3", -1, 0], ["null", -2, 0], ["null", 0, 1], ["null", -2, 1],
                     ["conv_3x3", -1, 2], ["sep_conv_3x3", 1, 2]], concat=[2])
    assert SPACE.is_valid(chained) and dead_nodes(chained) == [3]
    assert prune(chained) == _cell([["conv_3x3", -1, 0], ["null", -2, 0]], concat=[0])


def test_sampling_seeded_and_valid() -> None:
    cells = SPACE.sample(100, seed=3)
    assert cells == SPACE.sample(100, seed=3) and cells != SPACE.sample(100, seed=4)
    assert all(c.num_nodes == 4 and SPACE.is_valid(c) for c in cells)
    assert not any(op == "null" for c in cells for op, _, _ in c.edges)
    with_null = SPACE.sample(50, seed=3, nodes=6, ops=("null", "conv_3x3", "skip_connect"), output="loose_end")
    assert all(c.num_nodes == 6 and SPACE.is_valid(c) for c in with_null)
    assert any(op == "null" for c in with_null for op, _, _ in c.edges)
    size, exact = SPACE.size()
    assert size == 180 * 11**8 and not exact


def test_graph_view() -> None:
    graph = SPACE.to_networkx(preset_cells()["ResNet_V2"])
    assert [graph.nodes[n]["label"] for n in (0, 1, 6)] == ["c_{k-2}", "c_{k-1}", "c_{k}"]
    assert graph.nodes[6]["role"] == "output" and list(graph.predecessors(6)) == [5]
    assert graph.edges[3, 4]["ops"] == ["conv_3x3", "null"]  # node 2 takes both inputs from node 1
    assert graph.edges[1, 3]["op"] == "skip_connect"
    counts = SPACE.op_counts(preset_cells()["VGG"])
    assert counts["conv_3x3"] == 4 and counts["null"] == 4 and sum(counts.values()) == 8


# ---- exact cost, checked against a PyTorch build of the network ----------------------------

class _Zero(nn.Module):
    def __init__(self, stride: int) -> None:
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :, :: self.stride, :: self.stride] * 0.0


class _FactorizedReduce(nn.Module):
    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.relu = nn.ReLU()
        self.a = nn.Conv2d(c_in, c_out // 2, 1, 2, bias=False)
        self.b = nn.Conv2d(c_in, c_out // 2, 1, 2, bias=False)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        return self.bn(torch.cat([self.a(x), self.b(x[:, :, 1:, 1:])], dim=1))


def _op(name: str, c: int, stride: int) -> nn.Module:
    if name == "null":
        return _Zero(stride)
    if name == "skip_connect":
        return nn.Identity() if stride == 1 else _FactorizedReduce(c, c)
    if name.endswith("pool_3x3"):
        return nn.MaxPool2d(3, stride, 1) if name.startswith("max") else nn.AvgPool2d(3, stride, 1, count_include_pad=False)
    kind, k = name.rsplit("_", 1)
    k = int(k[0])
    if kind == "conv":
        return nn.Sequential(nn.ReLU(), nn.Conv2d(c, c, k, stride, k // 2, bias=False), nn.BatchNorm2d(c))
    if kind == "dil_conv":
        return nn.Sequential(nn.ReLU(), nn.Conv2d(c, c, k, stride, k - 1, dilation=2, groups=c, bias=False),
                             nn.Conv2d(c, c, 1, bias=False), nn.BatchNorm2d(c))
    half = [nn.ReLU(), nn.Conv2d(c, c, k, stride, k // 2, groups=c, bias=False), nn.Conv2d(c, c, 1, bias=False),
            nn.BatchNorm2d(c)]
    rest = [nn.ReLU(), nn.Conv2d(c, c, k, 1, k // 2, groups=c, bias=False), nn.Conv2d(c, c, 1, bias=False), nn.BatchNorm2d(c)]
    return nn.Sequential(*half, *rest)


class _Cell(nn.Module):
    def __init__(self, cell: NatCell, c_pp: int, c_p: int, c: int, reduction: bool, reduction_prev: bool) -> None:
        super().__init__()
        self.pre0 = _FactorizedReduce(c_pp, c) if reduction_prev else nn.Sequential(
            nn.ReLU(), nn.Conv2d(c_pp, c, 1, bias=False), nn.BatchNorm2d(c))
        self.pre1 = nn.Sequential(nn.ReLU(), nn.Conv2d(c_p, c, 1, bias=False), nn.BatchNorm2d(c))
        self.edges = cell.edges
        self.ops = nn.ModuleList(_op(op, c, 2 if reduction and src < 2 else 1) for op, src, _ in cell.edges)
        self.out = cell.output_nodes()

    def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        states = {0: self.pre0(s0), 1: self.pre1(s1)}
        for (_, src, dst), op in zip(self.edges, self.ops, strict=True):
            y = op(states[src])
            states[dst] = states[dst] + y if dst in states else y
        return torch.cat([states[n] for n in self.out], dim=1)


def _torch_cost(normal: NatCell, reduce: NatCell, imagenet: bool, c: int, layers: int) -> tuple[int, int]:
    mods: list[nn.Module] = []
    if imagenet:
        stem0 = nn.Sequential(nn.Conv2d(3, c // 2, 3, 2, 1, bias=False), nn.BatchNorm2d(c // 2), nn.ReLU(),
                              nn.Conv2d(c // 2, c, 3, 2, 1, bias=False), nn.BatchNorm2d(c))
        stem1 = nn.Sequential(nn.ReLU(), nn.Conv2d(c, c, 3, 2, 1, bias=False), nn.BatchNorm2d(c))
        c_pp, c_p, c_cur, red_prev, classes, size = c, c, c, True, 1000, 224
        mods += [stem0, stem1]
    else:
        stem = nn.Sequential(nn.Conv2d(3, 3 * c, 3, 1, 1, bias=False), nn.BatchNorm2d(3 * c))
        c_pp, c_p, c_cur, red_prev, classes, size = 3 * c, 3 * c, c, False, 10, 32
        mods.append(stem)
    cells = []
    for i in range(layers):
        red = i in (layers // 3, 2 * layers // 3)
        c_cur = c_cur * 2 if red else c_cur
        cell = _Cell(reduce if red else normal, c_pp, c_p, c_cur, red, red_prev)
        cells.append(cell)
        c_pp, c_p, red_prev = c_p, len(cell.out) * c_cur, red
    classifier = nn.Linear(c_p, classes)
    model = nn.ModuleList([*mods, *cells, classifier])
    macs = 0

    def hook(module: nn.Module, _inp: tuple, out: torch.Tensor) -> None:
        nonlocal macs
        if isinstance(module, nn.Conv2d):
            kh, kw = module.kernel_size
            macs += out.numel() * module.in_channels // module.groups * kh * kw
        else:
            macs += module.in_features * module.out_features

    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            m.register_forward_hook(hook)
    with torch.no_grad():
        x = torch.zeros(1, 3, size, size)
        s0 = s1 = mods[0](x)
        if imagenet:
            s1 = mods[1](s0)
        for cell in cells:
            s0, s1 = s1, cell(s0, s1)
        classifier(s1.mean(dim=(2, 3)))
    return sum(p.numel() for p in model.parameters()), macs


@pytest.mark.parametrize("imagenet", [False, True])
def test_cost_equals_pytorch_network(imagenet: bool) -> None:
    torch.set_num_threads(1)
    presets = preset_cells()
    random_cell = SPACE.sample(1, seed=11, nodes=5, ops=("null", "conv_1x1", "conv_5x5", "dil_conv_5x5", "skip_connect",
                                                          "sep_conv_5x5", "avg_pool_3x3"))[0]
    dataset = "imagenet" if imagenet else "cifar10"
    for normal, reduce in ((presets["DARTS_V2_normal"], presets["DARTS_V2_reduce"]), (presets["VGG"], presets["VGG"]),
                           (presets["NAONet-B_normal"], presets["NAONet-B_reduce"]), (random_cell, random_cell)):
        cost = SPACE.cost(normal, dataset, channels=8, layers=5, reduce_cell=reduce)
        assert (cost.params, cost.flops) == _torch_cost(normal, reduce, imagenet, 8, 5)


def test_cost_defaults_match_darts() -> None:
    genotype = published_genotypes()["DARTS_V2"]
    normal, reduce = darts_to_nat(genotype)
    cost = SPACE.cost(normal, "cifar10", reduce_cell=reduce)
    assert (cost.params, cost.flops) == genotype_cost(genotype, "cifar10")
    assert cost.params == 3_349_342
    vgg = SPACE.cost(preset_cells()["VGG"], "cifar10")
    # VGG cell: 4 conv_3x3 on C channels per cell; the output is one node, so every cell outputs C channels
    assert vgg.params > 0 and SPACE.cost(preset_cells()["ResNet_V1"]).params > vgg.params  # ResNet adds FactorizedReduce


def test_nat_encoding_and_transformations() -> None:
    assert [edge_index(f, t) for t in range(2, 6) for f in range(t)] == list(range(14))
    vgg = preset_cells()["VGG"]
    adj, op_ids = gcn_encoding(vgg)
    assert adj.shape == (6, 6) and adj[2, 0] == adj[2, 1] == 1 and adj[5, 4] == 1 and adj.sum() == 8
    assert op_ids.tolist() == [[10, 8], [10, 8], [10, 8], [10, 8]]  # (null from -2, conv_3x3 from the chain)
    resnet_v2 = preset_cells()["ResNet_V2"]
    assert gcn_encoding(resnet_v2)[0][4, 3] == 2  # both inputs of node 2 from node 1
    # NAT adds shortcuts to VGG by turning the added null edges into skip connections
    actions = ["skip_connect" if op == "null" else "same" for op, _, _ in vgg.edges]
    shortcut = transform(vgg, actions)
    assert SPACE.op_counts(shortcut)["skip_connect"] == 4 and SPACE.is_valid(shortcut)
    cut = transform(vgg, ["null"] * len(vgg.edges))
    assert "does not depend" in SPACE.is_valid(cut).reason
    with pytest.raises(CellError, match="unknown NAT action"):
        transform(vgg, ["grow"] * len(vgg.edges))


def test_sampled_round_trips_and_distance_is_a_metric() -> None:
    cells = SPACE.sample(40, seed=5, nodes=5, ops=("null", "conv_3x3", "sep_conv_3x3", "skip_connect"), output="loose_end")
    for cell in cells:
        assert SPACE.parse(SPACE.to_json(cell)) == cell
        assert SPACE.parse(nat_cell_to_json(cell, "nat")) == cell
        assert SPACE.parse_text(SPACE.cell_id(cell)) == cell
        pruned = prune(cell)
        assert SPACE.is_valid(pruned) and not dead_nodes(pruned)
    for a, b, c in zip(cells, cells[1:], cells[2:], strict=False):
        assert SPACE.edit_distance(a, a) == 0
        assert SPACE.edit_distance(a, b) == SPACE.edit_distance(b, a) > 0
        assert SPACE.edit_distance(a, c) <= SPACE.edit_distance(a, b) + SPACE.edit_distance(b, c)
