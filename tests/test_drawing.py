"""Cell drawings: valid SVG/PDF/PNG for every space, one op palette, diff highlighting."""

from __future__ import annotations

import re

import pytest

from nasviz.errors import ConfigError
from nasviz.figures import cells as drawing
from nasviz.figures.cells import (
    HIGHLIGHT,
    OP_COLORS,
    GraphvizMissingError,
    dot_source,
    op_color,
    render_cell,
    save_cell_drawing,
)
from nasviz.spaces import SPACE_NAMES, SearchSpace, get_space

MAGIC = {"svg": b"<svg", "pdf": b"%PDF-", "png": b"\x89PNG\r\n\x1a\n"}
NB201_A = "|nor_conv_3x3~0|+|skip_connect~0|none~1|+|avg_pool_3x3~0|nor_conv_1x1~1|nor_conv_3x3~2|"
NB201_B = "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|avg_pool_3x3~0|nor_conv_1x1~1|skip_connect~2|"


def load_space(name: str) -> SearchSpace:
    return get_space(name)


@pytest.fixture(params=SPACE_NAMES)
def space(request: pytest.FixtureRequest) -> SearchSpace:
    return load_space(request.param)


def test_every_format_is_a_valid_file(space: SearchSpace) -> None:
    cell = space.sample(1, seed=3)[0]
    for fmt, magic in MAGIC.items():
        data = render_cell(space, cell, fmt, title=f"{space.name} cell")
        assert magic in data[:400], f"{space.name} {fmt} drawing does not start like a {fmt} file"
    svg = render_cell(space, cell, "svg").decode()
    assert svg.rstrip().endswith("</svg>")


def test_every_op_has_a_palette_colour_distinct_within_its_space(space: SearchSpace) -> None:
    colours = {op: OP_COLORS.get(op) for op in space.ops}
    assert None not in colours.values(), f"ops without a palette colour: {[o for o, c in colours.items() if c is None]}"
    assert len(set(colours.values())) == len(colours), f"two {space.name} ops share a colour: {colours}"
    assert HIGHLIGHT not in colours.values()


def test_drawing_shows_inputs_outputs_and_ops(space: SearchSpace) -> None:
    cell = space.sample(1, seed=5)[0]
    source = dot_source(space, cell)
    graph = space.to_networkx(cell)
    for _, data in graph.nodes(data=True):
        if data.get("role") in ("input", "output"):
            assert f'label="{data["label"]}"' in source or f"label={data['label']}" in source
    used_ops = {op for op, count in space.op_counts(cell).items() if count}
    for op in used_ops:
        assert op_color(op) in source, f"{op} is not drawn in its colour"
    assert HIGHLIGHT not in source


def test_diff_highlights_changes_and_only_changes(space: SearchSpace) -> None:
    a, b = space.sample(2, seed=11)
    assert space.edit_distance(a, b) > 0
    assert HIGHLIGHT in dot_source(space, a, highlight_diff=b)
    assert HIGHLIGHT not in dot_source(space, a, highlight_diff=a)
    data = render_cell(space, a, "png", highlight_diff=b)
    assert data.startswith(MAGIC["png"])


def edge_statements(source: str) -> list[str]:
    """The DOT edge statements (labels may span lines)."""
    return re.findall(r"n\d+ -> n\d+ \[.*?\]", source, flags=re.DOTALL)


def test_nb201_diff_labels_old_op_on_changed_edges() -> None:
    source = dot_source("nb201", NB201_A, highlight_diff=NB201_B)
    highlighted = [edge for edge in edge_statements(source) if HIGHLIGHT in edge]
    assert len(highlighted) == 2  # edges 1->2 and 2->3 differ
    assert any("was conv 1x1" in line for line in highlighted)
    assert any("was skip" in line for line in highlighted)
    assert all("penwidth=3.5" in line for line in highlighted)


def test_removed_edges_are_dashed() -> None:
    space = load_space("nb101")
    small = {"matrix": [[0, 1, 0], [0, 0, 1], [0, 0, 0]], "ops": ["input", "conv3x3-bn-relu", "output"]}
    big = {"matrix": [[0, 1, 1], [0, 0, 1], [0, 0, 0]], "ops": ["input", "maxpool3x3", "output"]}
    source = dot_source(space, small, highlight_diff=big)
    removed = [edge for edge in edge_statements(source) if "style=dashed" in edge]
    assert len(removed) == 1 and HIGHLIGHT in removed[0]  # the input->output edge only the other cell has
    changed = re.findall(r"n\d+ \[label=\"conv 3x3\n\(was max pool 3x3\)\".*?\]", source, flags=re.DOTALL)
    assert len(changed) == 1 and "penwidth=3.5" in changed[0]


def test_nb101_ops_are_node_fills() -> None:
    space = load_space("nb101")
    cell = {"matrix": [[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]],
            "ops": ["input", "conv3x3-bn-relu", "maxpool3x3", "output"]}
    source = dot_source(space, cell)
    assert re.search(r'label="conv 3x3".*fillcolor="#E69F00"', source)
    assert re.search(r'label="max pool 3x3".*fillcolor="#CCBB44"', source)


def test_darts_draws_normal_and_reduce_cells() -> None:
    space = load_space("darts")
    source = dot_source(space, space.sample(1, seed=0)[0])
    assert "label=\"normal cell\"" in source and "label=\"reduce cell\"" in source
    assert source.count("subgraph cluster_") == 2


def test_save_picks_format_from_suffix(tmp_path) -> None:
    for fmt, magic in MAGIC.items():
        path = save_cell_drawing("nb201", NB201_A, tmp_path / f"cell.{fmt}", highlight_diff=NB201_B)
        assert path.read_bytes()[:400].find(magic) >= 0
    with pytest.raises(ConfigError, match="svg, .pdf or .png"):
        save_cell_drawing("nb201", NB201_A, tmp_path / "cell.gif")


def test_rendering_is_cached() -> None:
    first = render_cell("nb201", NB201_A, "svg", title="cached")
    assert render_cell("nb201", get_space("nb201").parse(NB201_A), "svg", title="cached") is first


def test_missing_dot_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(drawing.shutil, "which", lambda name: None)
    with pytest.raises(GraphvizMissingError, match="apt-get install graphviz"):
        render_cell("nb201", NB201_A, "svg", title="no dot here")
