from __future__ import annotations

import csv

import pytest

from nasviz.errors import CellError
from nasviz.spaces import get_space, nb201


def test_enumeration_matches_official_index_and_params(nb201_csv):
    space = get_space("nb201")
    cells = nb201.enumerate_cells()
    assert len(cells) == 15625
    with open(nb201_csv, newline="") as fh:
        rows = list(csv.DictReader(fh))
    for row, cell in zip(rows, cells, strict=True):
        assert cell.arch_str == row["arch_str"]
        assert cell.index == int(row["index"])
        for dataset, column in (("cifar10", "params_M_c10"), ("cifar100", "params_M_c100"),
                                ("ImageNet16-120", "params_M_in16")):
            assert space.cost(cell, dataset).params / 1e6 == pytest.approx(float(row[column]), abs=1e-6)


def test_round_trips():
    space = get_space("nb201")
    for cell in space.sample(200, seed=0):
        assert space.parse(space.to_json(cell)) == cell
        assert nb201.cell_from_index(cell.index) == cell
        assert nb201.from_naslib_op_indices(nb201.to_naslib_op_indices(cell)) == cell
        assert nb201.from_node_dag(nb201.to_node_dag(cell)[1]) == cell
        assert space.parse({"index": cell.index}) == cell


def test_naslib_edge_order_differs_from_string_order():
    cell = nb201.parse_arch_str("|none~0|+|skip_connect~0|nor_conv_1x1~1|+|nor_conv_3x3~0|avg_pool_3x3~1|none~2|")
    # NASLib order: 0->1, 0->2, 0->3, 1->2, 1->3, 2->3; ids skip 0, none 1, 3x3 2, 1x1 3, avg 4
    assert nb201.to_naslib_op_indices(cell) == (1, 0, 2, 3, 4, 1)


def test_functional_equivalence():
    # node 1 has no input, so its outgoing edges are dead: equivalent to the cell with them removed
    dead = nb201.parse_arch_str("|none~0|+|skip_connect~0|nor_conv_3x3~1|+|nor_conv_1x1~0|avg_pool_3x3~1|skip_connect~2|")
    clean = nb201.parse_arch_str("|none~0|+|skip_connect~0|none~1|+|nor_conv_1x1~0|none~1|skip_connect~2|")
    assert nb201.canonical_equivalent(dead) == nb201.canonical_equivalent(clean)
    # swapping the two independent intermediate nodes gives the same network
    a = nb201.parse_arch_str("|nor_conv_3x3~0|+|skip_connect~0|none~1|+|none~0|avg_pool_3x3~1|nor_conv_1x1~2|")
    b = nb201.parse_arch_str("|skip_connect~0|+|nor_conv_3x3~0|none~1|+|none~0|nor_conv_1x1~1|avg_pool_3x3~2|")
    assert nb201.canonical_equivalent(a) == nb201.canonical_equivalent(b)
    assert nb201.canonical_equivalent(a) != nb201.canonical_equivalent(dead)
    all_none = nb201.NB201Cell(("none",) * 6)
    assert nb201.is_degenerate(all_none)


def test_edit_distance_and_sampling_is_seeded():
    space = get_space("nb201")
    a, b = space.sample(2, seed=3)
    assert space.edit_distance(a, a) == 0
    assert space.edit_distance(a, b) == sum(x != y for x, y in zip(a.ops, b.ops, strict=True))
    assert space.sample(5, seed=1) == space.sample(5, seed=1)


@pytest.mark.parametrize("bad, message", [
    ("|nor_conv_3x3~0|+|bogus~0|none~1|+|none~0|none~1|none~2|", "unknown NB201 op 'bogus'"),
    ("|nor_conv_3x3~0|+|none~0|", "malformed NB201 arch string"),
    ('{"arch": 3', "malformed JSON"),
    ('{"index": 99999}', "out of range"),
])
def test_bad_input_names_the_problem(bad, message):
    with pytest.raises(CellError, match=message):
        get_space("nb201").parse_text(bad)
