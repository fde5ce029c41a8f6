"""Reading cells for NAT: uploads (JSON, genotypes) are validated with clear messages; nothing is unpickled."""

from __future__ import annotations

import json
import pickle

import pytest

from nasviz.errors import CellError
from nasviz.nat import get_adapter
from nasviz.nat.io import parse_cell_text, parse_upload

DARTS_V2 = ("Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
            "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], "
            "reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), "
            "('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])")


def _json(obj: object) -> bytes:
    return json.dumps(obj).encode()


def test_valid_uploads() -> None:
    cell = parse_upload("nat", _json({"edges": [["conv_3x3", -1, 0], ["null", -2, 0]], "output": "concat"}), "a.json")
    assert cell.edges == (("null", 0, 2), ("conv_3x3", 1, 2))
    normal = parse_upload("nat", DARTS_V2.encode(), "darts.txt")
    reduce = parse_upload("nat", DARTS_V2.encode(), "darts.txt", which="reduce")
    assert {op for op, _, _ in normal.edges} == {"sep_conv_3x3", "skip_connect", "dil_conv_3x3"}
    assert "max_pool_3x3" in {op for op, _, _ in reduce.edges}
    nb201 = parse_upload("nb201", b"|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_1x1~1|none~2|\n")
    assert nb201.ops[0] == "nor_conv_3x3"
    assert parse_cell_text("nb201", '{"index": 6111}').index == 6111


@pytest.mark.parametrize(("data", "message"), [
    (pickle.dumps({"edges": []}), "binary"),
    (b"\xff\xfe{\x00", "binary"),
    (b"\xc3\x28 not utf8", "not UTF-8"),
    (b"   ", "empty"),
    (b'{"edges": [["conv_3x3", -1, 0], ["null", -2, 0]', "line 1"),
    (_json({"edges": [["conv_9x9", -1, 0], ["null", -2, 0]]}), "unknown op 'conv_9x9'"),
    (_json({"edges": [["conv_3x3", -1, 0], ["null", -2, 0], ["skip_connect", -2, 0]]}), "3 input(s)"),
    (_json({"edges": [["conv_3x3", -1, 0]]}), "1 input(s)"),
    (_json({"edges": [["conv_3x3", 1, 0], ["null", -2, 0], ["conv_3x3", 0, 1], ["null", -2, 1]]}), "cycle"),
    (_json({"nodes": []}), '"edges"'),
    (_json({"edges": [["null", -1, 0], ["null", -2, 0]]}), "does not depend"),
    (b"Genotype(normal=[('sep_conv_3x3', 0)], normal_concat=[2], reduce=[], reduce_concat=[])", "a.txt"),
])
def test_bad_uploads_have_clear_messages(data: bytes, message: str) -> None:
    with pytest.raises(CellError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_upload("nat", data, "a.txt")


def test_bad_nb201_text_and_oversized_files() -> None:
    with pytest.raises(CellError, match="malformed NB201 arch string"):
        parse_cell_text("nb201", "|conv~0|+|", source="cell.txt")
    with pytest.raises(CellError, match="unknown NB201 op"):
        parse_cell_text("nb201", '["nor_conv_3x3", "x", "none", "none", "none", "none"]')
    with pytest.raises(CellError, match="too large"):
        parse_upload("nat", b"{" + b" " * 300_000 + b"}", "big.json")


def test_cells_too_large_for_the_policy() -> None:
    adapter = get_adapter("nat")
    edges = []
    for node in range(10):
        edges += [["conv_3x3", node - 1, node], ["null", -2, node]]
    cell = parse_cell_text("nat", json.dumps({"edges": edges, "output": "concat", "concat": [9]}))
    with pytest.raises(CellError, match="at most 8"):
        adapter.check_size(cell, 8)


def test_genotype_download_round_trips() -> None:
    from nasviz.nat.page import genotype_text
    from nasviz.spaces.nat import preset_cells

    presets = preset_cells()
    for name in ("VGG", "ResNet_V2", "DARTS_V2_normal"):
        text = genotype_text("nat", presets[name])
        assert parse_cell_text("nat", text) == presets[name]
    with pytest.raises(CellError, match="not a literal"):
        parse_cell_text("nat", "Genotype(normal=[('conv_3x3', 1, 2), ('null', 0, 2)] + __import__('os').listdir())")
