"""DARTS space: formats, validity, canonical ids, sampling, arch2vec encoding, exact network cost."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from nasviz.errors import CellError
from nasviz.spaces import get_space
from nasviz.spaces.darts import (
    GENOTYPES_ASSET,
    Genotype,
    arch2vec_encoding,
    build_genotype_asset,
    canonical_genotype,
    cell_graph,
    from_arch2vec,
    genotype_from_python,
    genotype_to_compact,
    genotype_to_nb301_config,
    genotype_to_python,
    nao_arch_strings,
    published_genotypes,
    published_sources,
)

SPACE = get_space("darts")
DARTS_SPACE_GENOTYPES = ("DARTS_V1", "DARTS_V2", "GDAS_V1", "MdeNAS", "PC_DARTS_cifar", "PDARTS", "SNAS")

DARTS_V2_TEXT = (
    "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
    "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], "
    "reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), "
    "('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])"
)


@pytest.fixture(scope="module")
def darts_v2() -> Genotype:
    return published_genotypes()["DARTS_V2"]


def test_published_genotypes_load_with_sources_and_validity() -> None:
    genotypes = published_genotypes()
    sources = published_sources()
    assert set(DARTS_SPACE_GENOTYPES) <= set(genotypes)
    for name in DARTS_SPACE_GENOTYPES:
        assert SPACE.is_valid(genotypes[name]), (name, SPACE.is_valid(genotypes[name]).reason)
        assert "@" in sources[name]
    for name in ("NASNet", "AmoebaNet", "ENASNet"):  # 5-node cells of other spaces
        validity = SPACE.is_valid(genotypes[name])
        assert not validity and "5 intermediate nodes" in validity.reason
    assert set(nao_arch_strings()) == {"NAONet-A", "NAONet-B (NAO-WS)", "NAONet-V2"}


def test_asset_matches_shared_source(source_data: Path, tmp_path: Path) -> None:
    src = source_data / "nasbench301_darts" / "published_genotypes.json"
    rebuilt = build_genotype_asset(src, tmp_path / "g.json")
    assert rebuilt == json.loads(GENOTYPES_ASSET.read_text())


def test_round_trips_every_format(darts_v2: Genotype) -> None:
    assert SPACE.parse_text(DARTS_V2_TEXT) == darts_v2
    assert SPACE.parse(SPACE.to_json(darts_v2)) == darts_v2
    assert SPACE.parse_text(json.dumps(SPACE.to_json(darts_v2))) == darts_v2
    assert SPACE.parse_text(genotype_to_python(darts_v2)) == darts_v2
    assert SPACE.parse(genotype_to_compact(darts_v2)) == darts_v2
    assert SPACE.parse_text(str(genotype_to_compact(darts_v2))) == darts_v2  # NASLib key string
    assert SPACE.parse_text(SPACE.cell_id(darts_v2)) == canonical_genotype(darts_v2)
    ranged = genotype_from_python(DARTS_V2_TEXT.replace("normal_concat=[2, 3, 4, 5]", "normal_concat=range(2, 6)"))
    assert ranged == darts_v2


def test_naslib_keys_parse_and_are_valid(source_data: Path) -> None:
    data = json.loads((source_data / "nasbench301_darts" / "naslib_zc_nasbench301_500.json").read_text())
    keys = list(data["nasbench301"]["cifar10"])[:50]
    for key in keys:
        genotype = SPACE.parse_text(key)
        assert SPACE.is_valid(genotype), SPACE.is_valid(genotype).reason
        assert str(genotype_to_compact(genotype)) == key


def test_canonical_id_matches_symmetric_pairs(darts_v2: Genotype) -> None:
    swapped = list(darts_v2.normal)
    swapped[0], swapped[1] = swapped[1], swapped[0]
    other = Genotype(tuple(swapped), darts_v2.normal_concat, darts_v2.reduce, darts_v2.reduce_concat)
    assert other != darts_v2
    assert SPACE.cell_id(other) == SPACE.cell_id(darts_v2)
    assert SPACE.edit_distance(other, darts_v2) == 0
    assert SPACE.cell_id(published_genotypes()["DARTS_V1"]) != SPACE.cell_id(darts_v2)


def _with_normal(genotype: Genotype, index: int, pair: tuple[str, int]) -> Genotype:
    normal = list(genotype.normal)
    normal[index] = pair
    return Genotype(tuple(normal), genotype.normal_concat, genotype.reduce, genotype.reduce_concat)


@pytest.mark.parametrize(
    ("index", "pair", "message"),
    [
        (0, ("conv_9x9", 0), "unknown op 'conv_9x9' at normal[0]"),
        (3, ("none", 1), "'none'"),
        (6, ("sep_conv_3x3", 5), "not an earlier node"),  # node 5 feeding itself: a cycle
        (6, ("sep_conv_3x3", -1), "out of range"),
        (1, ("sep_conv_3x3", 0), "both inputs from node 0"),
        (2, ("sep_conv_7x7", 0), "NASNet"),
    ],
)
def test_validity_reasons(darts_v2: Genotype, index: int, pair: tuple[str, int], message: str) -> None:
    validity = SPACE.is_valid(_with_normal(darts_v2, index, pair))
    assert not validity
    assert message in validity.reason


def test_structural_errors_are_named(darts_v2: Genotype) -> None:
    with pytest.raises(CellError, match="malformed JSON"):
        SPACE.parse_text('{"normal": [["sep_conv_3x3", 0]')
    with pytest.raises(CellError, match="each intermediate node needs 2"):
        SPACE.parse({"normal": [["sep_conv_3x3", 0]] * 7, "reduce": [["sep_conv_3x3", 0]] * 8})
    with pytest.raises(CellError, match="reduce"):
        SPACE.parse({"normal": [["sep_conv_3x3", 0]] * 8})
    with pytest.raises(CellError, match=r"normal\[2\].*integer"):
        SPACE.parse({"normal": [["sep_conv_3x3", 0]] * 2 + [["sep_conv_3x3", "x"]], "reduce": []})
    with pytest.raises(CellError, match="malformed Genotype"):
        SPACE.parse_text("Genotype(normal=[('sep_conv_3x3', 0)")
    with pytest.raises(CellError, match="literal"):
        SPACE.parse_text("Genotype(normal=__import__('os').listdir('.'), normal_concat=[2], reduce=[], reduce_concat=[])")
    three_nodes = Genotype(darts_v2.normal[:6], (2, 3, 4), darts_v2.reduce, darts_v2.reduce_concat)
    assert "3 intermediate nodes" in SPACE.is_valid(three_nodes).reason
    partial = Genotype(darts_v2.normal, (4, 5), darts_v2.reduce, darts_v2.reduce_concat)
    assert "concatenates nodes [4, 5]" in SPACE.is_valid(partial).reason


def test_sampling_is_seeded_uniform_and_valid() -> None:
    a = SPACE.sample(200, seed=7)
    assert a == SPACE.sample(200, seed=7)
    assert a != SPACE.sample(200, seed=8)
    assert all(SPACE.is_valid(g) for g in a)
    assert len({SPACE.cell_id(g) for g in a}) == 200
    ops = [op for g in a for op, _ in g.normal]
    counts = np.array([ops.count(op) for op in SPACE.op_counts(a[0]) if op != "none"])
    assert counts.min() > 0.7 * counts.mean()  # 7 ops drawn uniformly
    size, exact = SPACE.size()
    assert size == (180 * 7**8) ** 2 and exact is False


def test_arch2vec_encoding_round_trip(darts_v2: Genotype) -> None:
    adj, ops = arch2vec_encoding(darts_v2, "normal")
    assert adj.shape == (11, 11) and ops.shape == (11, 11)
    assert not np.tril(adj).any()
    # node 9 = dil_conv_3x3 from block 2, i.e. from both op-nodes 2 and 3
    assert adj[2, 9] == adj[3, 9] == 1 and adj[:, 9].sum() == 2
    assert ops[9].argmax() == 8 and ops[0].argmax() == 0 and ops[10].argmax() == 10
    assert adj[2:10, 10].all()
    decoded = from_arch2vec(adj, ops)
    assert decoded.normal == darts_v2.normal and decoded.reduce == darts_v2.normal
    broken = adj.copy()
    broken[3, 9] = 0
    with pytest.raises(CellError, match="op-node 9"):
        from_arch2vec(broken, ops)
    cyclic = adj.copy()
    cyclic[9, 2] = 1
    with pytest.raises(CellError, match="upper-triangular"):
        from_arch2vec(cyclic, ops)


def test_graph_view_and_counts(darts_v2: Genotype) -> None:
    graph = SPACE.to_networkx(darts_v2)
    assert graph.nodes[0]["label"] == "c_{k-2}" and graph.nodes[6]["role"] == "output"
    assert graph.edges[2, 5]["op"] == "dil_conv_3x3"
    assert sum(1 for *_, d in graph.edges(data=True) if d["op"]) == 8
    reduce = cell_graph(darts_v2, "reduce")
    assert reduce.edges[2, 3]["op"] == "skip_connect"
    counts = SPACE.op_counts(darts_v2)
    assert counts["sep_conv_3x3"] == 5 and counts["max_pool_3x3"] == 5 and counts["skip_connect"] == 5
    assert SPACE.edit_distance(darts_v2, published_genotypes()["DARTS_V1"]) > 0


def test_exact_cost_matches_published(darts_v2: Genotype) -> None:
    cifar = SPACE.cost(darts_v2, "cifar10")
    assert cifar.params == 3_349_342  # DARTS reports 3.3M (train.py logs 3.349342 MB)
    imagenet = SPACE.cost(darts_v2, "imagenet")
    assert round(imagenet.params / 1e6, 1) == 4.7  # published 4.7M
    assert 500e6 < imagenet.flops < 600e6  # mobile setting (< 600M); published 574M counts more than conv+linear MACs
    assert SPACE.cost(darts_v2, "cifar100").params == cifar.params + 90 * (576 + 1)
    small = SPACE.cost(darts_v2, "cifar10", channels=16, layers=8)
    assert small.params < cifar.params / 4
    pdarts = SPACE.cost(published_genotypes()["PDARTS"], "cifar10")
    assert round(pdarts.params / 1e6, 1) == 3.4  # P-DARTS reports 3.4M
    describe = SPACE.describe(darts_v2)
    assert describe["valid"] and describe["params"] == 3_349_342


def test_nb301_record_parses_and_its_parameter_count_is_reproduced(source_data: Path) -> None:
    record = json.loads((source_data / "nasbench301_darts" / "nb301_example_results_0.json").read_text())
    genotype = SPACE.parse(record)
    assert SPACE.is_valid(genotype)
    config = record["optimized_hyperparamater_config"]
    assert genotype_to_nb301_config(genotype).items() <= config.items()
    assert SPACE.parse(genotype_to_nb301_config(genotype)) == genotype
    channels, layers = config["NetworkSelectorDatasetInfo:darts:init_channels"], config["NetworkSelectorDatasetInfo:darts:layers"]
    assert config["NetworkSelectorDatasetInfo:darts:auxiliary"] == "True"
    cost = SPACE.cost(genotype, "cifar10", channels=channels, layers=layers, auxiliary=True)
    assert cost.params == record["info"][0]["model_parameters"] == 6_369_358
    with pytest.raises(CellError, match="lacks"):
        SPACE.parse({k: v for k, v in config.items() if not k.endswith("edge_normal_10")})


@pytest.mark.parametrize(("name", "path"), [("725", ("cifar10",)), ("500", ("nasbench301", "cifar10"))])
def test_params_match_naslib_zero_cost_model(source_data: Path, name: str, path: tuple[str, ...]) -> None:
    """NASLib's NB301 ``params`` score (its C=32, 8-cell model with non-affine BNs in edge ops) for every architecture."""
    data = json.loads((source_data / "nasbench301_darts" / f"naslib_zc_nasbench301_{name}.json").read_text())
    for key in path:
        data = data[key]
    for key, entry in data.items():
        expected = entry["params"]["score"] if isinstance(entry["params"], dict) else entry["params"]
        cost = SPACE.cost(SPACE.parse_text(key), "cifar10", channels=32, layers=8, affine_ops=False)
        assert cost.params == round(expected * 1e6), key


def test_sampled_round_trips_and_distance_is_a_metric() -> None:
    cells = SPACE.sample(40, seed=21)
    for g in cells:
        assert SPACE.parse(SPACE.to_json(g)) == g
        assert SPACE.parse_text(genotype_to_python(g)) == g
        assert SPACE.parse(genotype_to_compact(g)) == g
        assert SPACE.parse(genotype_to_nb301_config(g)) == canonical_genotype(g)
        assert SPACE.parse_text(SPACE.cell_id(g)) == canonical_genotype(g)
        assert from_arch2vec(*arch2vec_encoding(g)).normal == g.normal
    for a, b, c in zip(cells, cells[1:], cells[2:], strict=False):
        assert SPACE.edit_distance(a, a) == 0
        assert SPACE.edit_distance(a, b) == SPACE.edit_distance(b, a) > 0
        assert SPACE.edit_distance(a, c) <= SPACE.edit_distance(a, b) + SPACE.edit_distance(b, c)
