"""Hostile cell inputs in every space: a cell or a NasvizError naming the problem, never another exception."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nasviz.errors import CellError, NasvizError
from nasviz.spaces import SPACE_NAMES, get_space
from nasviz.spaces.base import MAX_CELL_TEXT, MAX_JSON_DEPTH, json_depth, load_json_text

HOSTILE = {
    '{"index": null}': "must be an integer",
    '{"index": "abc"}': "must be an integer",
    '{"index": 1e309}': "not finite",
    '{"index": true}': "must be an integer",
    '{"index": 2.5}': "must be an integer",
    '{"index": NaN}': "NaN",
    '{"index": -Infinity}': "-Infinity",
    "[" * 5000 + "]" * 5000: "5,000 levels deep",
    '{"a":' * 5000 + "1" + "}" * 5000: "5,000 levels deep",
    '"' + "x" * (MAX_CELL_TEXT + 1) + '"': "characters long",
    "\x00\x01\x02 binary \x7f": "binary data",
}


@pytest.mark.parametrize("space_name", SPACE_NAMES)
@pytest.mark.parametrize("text", list(HOSTILE), ids=lambda t: t[:20])
def test_hostile_text_is_a_cell_error_naming_the_problem(space_name, text):
    space = get_space(space_name)
    try:
        space.parse_text(text)
    except NasvizError as exc:
        message = str(exc)
    else:  # some inputs are cells of some spaces ({"index": ...} is not an NB101 cell, say)
        pytest.fail(f"{space_name} parsed {text[:30]!r}")
    if space_name == "nb201" or HOSTILE[text] in ("5,000 levels deep", "characters long", "binary data", "not finite",
                                                  "NaN", "-Infinity"):
        assert HOSTILE[text] in message, message
    assert len(message) < 300  # a huge input is not echoed back whole


def test_nb201_index_field_errors_name_the_field_and_value():
    space = get_space("nb201")
    with pytest.raises(CellError, match=r'"index" must be an integer, got None \(null\)'):
        space.parse_text('{"index": null}')
    with pytest.raises(CellError, match=r"out of range 0\.\.15624"):
        space.parse_text('{"index": -1}')
    with pytest.raises(CellError, match="must be an integer"):
        space.parse({"index": "5"})
    assert space.parse_text('{"index": 6111}').index == 6111


def test_json_depth_skips_strings_and_stays_linear():
    assert json_depth('{"a": "[[[[{{{", "b": [[1]]}') == 3
    assert json_depth('"\\"[[[["') == 0
    assert json_depth("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1)) == MAX_JSON_DEPTH + 1
    with pytest.raises(CellError, match="nests"):
        load_json_text("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1))
    assert load_json_text("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH) is not None


def test_bytes_that_are_not_utf8_are_named_binary():
    with pytest.raises(CellError, match="binary data"):
        load_json_text(b"\xff\xfe\x00garbage")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**20, 10**20) | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20) | st.sampled_from(["none", "skip_connect", "nor_conv_3x3", "conv3x3-bn-relu", "input",
                                              "output", "sep_conv_3x3", "|nor_conv_3x3~0|+|"]),
    lambda children: st.lists(children, max_size=8) | st.dictionaries(
        st.sampled_from(["index", "arch", "ops", "matrix", "edges", "normal", "reduce", "normal_concat",
                         "reduce_concat", "output", "concat", "cell", "input1", "x"]), children, max_size=5),
    max_leaves=30)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(space_name=st.sampled_from(SPACE_NAMES), text=st.text(max_size=200))
def test_any_text_is_a_cell_or_a_nasviz_error(space_name, text):
    with contextlib.suppress(NasvizError):
        get_space(space_name).parse_text(text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(space_name=st.sampled_from(SPACE_NAMES), value=json_values)
def test_any_json_value_is_a_cell_or_a_nasviz_error(space_name, value):
    space = get_space(space_name)
    try:
        text = json.dumps(value)
    except ValueError:
        return
    for attempt in (lambda: space.parse(value), lambda: space.parse_text(text)):
        try:
            cell = attempt()
        except NasvizError:
            continue
        space.is_valid(cell)  # a parsed cell can be checked without an exception


def test_split_cells_of_deep_or_huge_text_has_no_recursion_error():
    from nasviz.ui.cells import split_cells

    deep = "[" * 5000 + "]" * 5000
    assert split_cells(deep) == [deep]  # one line; parsing it then gives the depth CellError
    with pytest.raises(CellError, match="levels deep"):
        get_space("nb201").parse_text(split_cells(deep)[0])
    assert split_cells('{"arch":\n "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"}') == [
        '{"arch":\n "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"}']
