"""NAT transformations: rules, validity, pruning and exact costs (the paper rule never raises the cost)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from nasviz.errors import CellError, ConfigError
from nasviz.nat import action_mask, enumerate_actions, get_adapter, prune_nat, transform
from nasviz.nat.rules import ACTIONS
from nasviz.spaces.nat import NAT_OPS, NatCell, check_nat_cell, nat_from_darts, preset_cells
from nasviz.spaces.nb201 import OPS as NB201_OPS
from nasviz.spaces.nb201 import NB201Cell

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                           HealthCheck.filter_too_much])


@st.composite
def nb201_cells(draw: st.DrawFn) -> NB201Cell:
    return NB201Cell(tuple(draw(st.lists(st.sampled_from(NB201_OPS), min_size=6, max_size=6))))


@st.composite
def nat_cells(draw: st.DrawFn) -> NatCell:
    nodes = draw(st.integers(1, 5))
    edges = []
    for node in range(2, 2 + nodes):
        for _ in range(2):
            edges.append((draw(st.sampled_from(NAT_OPS)), draw(st.integers(0, node - 1)), node))
    cell = NatCell(tuple(edges), draw(st.sampled_from(("concat", "loose_end"))))
    assume(check_nat_cell(cell).valid)
    return cell


@st.composite
def darts_cells(draw: st.DrawFn) -> NatCell:
    from nasviz.spaces.darts import DartsSpace

    genotype = DartsSpace().sample(1, draw(st.integers(0, 10_000)))[0]
    return nat_from_darts(genotype, draw(st.sampled_from(("normal", "reduce"))))


def _random_actions(adapter, cell, rule: str, data: st.DataObject) -> list[int]:
    mask = action_mask(adapter, cell, rule)
    return [data.draw(st.sampled_from(np.flatnonzero(row).tolist())) for row in mask]


def _check_never_raises(space: str, cell, data: st.DataObject) -> None:
    adapter = get_adapter(space)
    actions = _random_actions(adapter, cell, "paper", data)
    result = transform(space, cell, actions, "paper")
    raw_after = adapter.cost(result.transformed) if result.valid else None
    if result.valid:
        assert result.cost_after.params <= result.cost_before.params
        assert result.cost_after.flops <= result.cost_before.flops
        assert raw_after.params <= result.cost_before.params
        assert raw_after.flops <= result.cost_before.flops
    else:
        assert "depend" in result.reason


@SETTINGS
@given(cell=nb201_cells(), data=st.data())
def test_paper_rule_never_raises_nb201_cost(cell: NB201Cell, data: st.DataObject) -> None:
    _check_never_raises("nb201", cell, data)


@SETTINGS
@given(cell=nat_cells(), data=st.data())
def test_paper_rule_never_raises_nat_cost(cell: NatCell, data: st.DataObject) -> None:
    _check_never_raises("nat", cell, data)


@SETTINGS
@given(cell=darts_cells(), data=st.data())
def test_paper_rule_never_raises_darts_cost(cell: NatCell, data: st.DataObject) -> None:
    _check_never_raises("nat", cell, data)


def test_rule_masks() -> None:
    nb201 = get_adapter("nb201")
    cell = NB201Cell(("nor_conv_3x3", "skip_connect", "none", "avg_pool_3x3", "nor_conv_1x1", "none"))
    paper = action_mask(nb201, cell, "paper")
    code = action_mask(nb201, cell, "code")
    assert paper.tolist()[0] == [True, True, True]  # conv -> keep/skip/null
    assert paper.tolist()[1] == [True, False, True]  # skip -> skip/null
    assert paper.tolist()[2] == [True, False, False]  # null -> null
    assert code.tolist()[2] == [True, True, False]  # code rule: null -> null or skip
    assert len(list(enumerate_actions(nb201, cell, "paper"))) == 3 * 2 * 1 * 3 * 3 * 1
    with pytest.raises(CellError, match="not allowed"):
        transform("nb201", cell, ["keep", "keep", "skip", "keep", "keep", "keep"], "paper")
    with pytest.raises(ConfigError, match="unknown NAT rule"):
        action_mask(nb201, cell, "greedy")


def test_pooling_skip_masked_where_it_would_cost_more() -> None:
    adapter = get_adapter("nat")
    cell = NatCell((("avg_pool_3x3", 0, 2), ("conv_3x3", 1, 2), ("max_pool_3x3", 2, 3), ("sep_conv_3x3", 1, 3)))
    mask = action_mask(adapter, cell, "paper")
    edges = adapter.edges(cell)
    by_edge = dict(zip(edges, mask.tolist(), strict=True))
    assert by_edge[("avg_pool_3x3", 0, 2)] == [True, False, True]  # stride-2 FactorizedReduce costs more than a pool
    assert by_edge[("max_pool_3x3", 2, 3)] == [True, True, True]  # inside the cell a skip is free
    assert action_mask(adapter, cell, "code")[edges.index(("avg_pool_3x3", 0, 2))].tolist() == [True, True, True]


def test_code_rule_turns_vgg_null_edges_into_shortcuts() -> None:
    vgg = preset_cells()["VGG"]
    adapter = get_adapter("nat")
    actions = ["skip" if op == "null" else "keep" for op, _, _ in adapter.edges(vgg)]
    with pytest.raises(CellError, match="not allowed"):
        transform("nat", vgg, actions, "paper")
    result = transform("nat", vgg, actions, "code")
    assert result.valid
    assert sum(op == "skip_connect" for op, _, _ in result.transformed.edges) == 4
    assert result.cost_after.params > result.cost_before.params  # shortcuts from c_{k-2} cost a FactorizedReduce


def test_nb201_validity_and_pruning() -> None:
    cell = NB201Cell(("nor_conv_3x3", "nor_conv_3x3", "nor_conv_1x1", "skip_connect", "nor_conv_3x3", "nor_conv_3x3"))
    cut = transform("nb201", cell, ["null", "null", "keep", "null", "keep", "keep"], "paper")
    assert not cut.valid and "no longer depends" in cut.reason and cut.cost_after is None
    pruned = transform("nb201", cell, ["keep", "keep", "keep", "keep", "keep", "null"], "paper")
    assert pruned.valid
    # node 2 no longer reaches the output: its conv edges are pruned from the cost
    assert pruned.pruned.ops == ("nor_conv_3x3", "none", "none", "skip_connect", "nor_conv_3x3", "none")
    assert any("cannot affect the output" in note for note in pruned.notes)
    assert pruned.cost_after.params < get_adapter("nb201").cost(pruned.transformed).params
    left = transform("nb201", cell, ["null", "keep", "keep", "keep", "keep", "keep"], "paper")
    assert any("node 1 is left without inputs" in note for note in left.notes)


def test_nat_dead_node_pruning_renumbers() -> None:
    cell = NatCell((("conv_3x3", 0, 2), ("conv_3x3", 1, 2), ("sep_conv_3x3", 2, 3), ("skip_connect", 1, 3),
                    ("conv_1x1", 3, 4), ("avg_pool_3x3", 2, 4)), "concat")
    result = transform("nat", cell, ["null", "null", "keep", "keep", "keep", "keep"], "paper")
    assert result.valid
    assert any("node 0 is left without inputs" in n for n in result.notes)
    assert result.pruned.num_nodes == 2
    assert ("null", 0, 2) in result.pruned.edges  # the edge from the removed node carries nothing
    assert check_nat_cell(result.pruned).valid
    assert result.cost_after.params < result.cost_before.params


def test_loose_end_outputs_are_kept() -> None:
    cell = NatCell((("conv_3x3", 0, 2), ("conv_3x3", 1, 2), ("sep_conv_3x3", 2, 3), ("skip_connect", 1, 3)),
                   "loose_end")
    assert cell.output_nodes() == (3,)
    adapter = get_adapter("nat")
    actions = ["null" if op == "sep_conv_3x3" else "keep" for op, _, _ in adapter.edges(cell)]
    result = transform("nat", cell, actions, "paper")
    # node 0 lost its consumer but does not join the output: the transformed cell keeps output {1}
    assert result.transformed.output_nodes() == (3,)
    assert result.cost_after.params <= result.cost_before.params
    assert prune_nat(result.transformed).num_nodes == 1


def test_transformation_dict_lists_every_edge() -> None:
    cell = preset_cells()["ResNet_V1"]
    result = transform("nat", cell, ["keep"] * len(cell.edges), "paper").to_dict()
    assert [a["action"] for a in result["actions"]] == ["keep"] * len(cell.edges)
    assert result["delta_params"] == 0 and result["valid"]
    assert set(ACTIONS) == {"keep", "skip", "null"}


def test_a_wrong_number_of_actions_names_the_edge_count() -> None:
    from nasviz.errors import ConfigError
    from nasviz.nat.transform import transform

    cell = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
    with pytest.raises(ConfigError, match="2 action\\(s\\) given for a cell of 6 edge\\(s\\)"):
        transform("nb201", cell, ["keep", "null"])
    with pytest.raises(ConfigError, match="action 7 is not 0"):
        transform("nb201", cell, [7, 0, 0, 0, 0, 0])
