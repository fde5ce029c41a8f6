"""The NAT page (AppTest): presets, edits with undo/reset, bad pasted cells, Optimise with NAT."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from nasviz.nat.rules import NULL, SKIP
from nasviz.nat.store import find_policy_dir

PAGE = str(Path(__file__).resolve().parents[1] / "views" / "5_NAT.py")


def _metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


@pytest.fixture
def app() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.run()
    assert not at.exception
    return at


def test_edit_undo_reset(app: AppTest) -> None:
    app.selectbox(key="nat_preset").select("ResNet_V1").run()
    params = _metric(app, "Params")
    state = app.session_state["nat_state"]
    conv = next(i for i, (op, _, _) in enumerate(state.cell.edges) if op == "conv_3x3")
    state.apply(conv, "skip", "paper")
    app.run()
    assert _metric(app, "Params") != params
    assert not app.exception
    app.button(key="nat_undo").click().run()
    assert _metric(app, "Params") == params
    state = app.session_state["nat_state"]
    state.apply(conv, "null", "paper")
    app.button(key="nat_reset").click().run()
    assert _metric(app, "Params") == params
    assert app.session_state["nat_state"].actions[conv] != NULL


def test_code_rule_switch_and_forbidden_actions(app: AppTest) -> None:
    app.selectbox(key="nat_preset").select("VGG").run()
    state = app.session_state["nat_state"]
    null_edge = next(i for i, (op, _, _) in enumerate(state.cell.edges) if op == "null")
    app.radio(key="nat_rule").set_value("code").run()
    state = app.session_state["nat_state"]
    state.apply(null_edge, "skip", "code")
    app.run()
    assert app.session_state["nat_state"].actions[null_edge] == SKIP
    app.radio(key="nat_rule").set_value("paper").run()  # null -> skip is not a paper transformation
    assert app.session_state["nat_state"].actions[null_edge] != SKIP
    assert any("reset to keep" in i.value for i in app.info)


def test_bad_pasted_cell_keeps_the_previous_one(app: AppTest) -> None:
    app.selectbox(key="nat_preset").select("ENAS_normal").run()
    app.radio(key="nat_source").set_value("Upload or paste").run()
    before = app.session_state["nat_state"].cell
    for text, message in (('{"edges": [["conv_9x9", -1, 0], ["null", -2, 0]]}', "unknown op"),
                          ('{"edges": [["conv_3x3", -1, 0]', "malformed JSON"),
                          ('{"edges": [["conv_3x3", 1, 0], ["null", -2, 0], ["conv_3x3", 0, 1], ["null", -2, 1]]}',
                           "cycle")):
        app.text_area(key="nat_paste").input(text)
        app.button(key="nat_load_paste").click().run()
        assert any(message in e.value for e in app.error), [e.value for e in app.error]
        assert app.session_state["nat_state"].cell == before
        assert not app.exception
    app.text_area(key="nat_paste").input('{"edges": [["sep_conv_3x3", -1, 0], ["max_pool_3x3", -2, 0]]}')
    app.button(key="nat_load_paste").click().run()
    assert app.session_state["nat_state"].cell != before and not app.error


@pytest.mark.skipif(find_policy_dir("nb201", "paper") is None, reason="no shipped NB201 policy (models/nat/nb201-paper)")
def test_optimise_with_nat(app: AppTest) -> None:
    app.selectbox(key="nat_preset").select("NB201 all avg-pool").run()
    assert app.number_input(key="nat_samples").value == 10  # best of the 10 most probable, when a reward exists
    app.button(key="nat_optimise").click().run()
    assert not app.exception and not app.error
    assert "nat_optimised" in app.session_state
    result = app.session_state["nat_optimised"]
    assert len(result["probabilities"]) == 6 and result["valid"]
    assert result["delta_params"] <= 0
    assert len(app.dataframe) >= 2  # probabilities and the comparison table


def test_nb201_true_accuracy_with_nothing_imported(app: AppTest) -> None:
    """A fresh NASVIZ_HOME (nothing imported): NB201 cells show their true accuracy from the embedded table."""
    from nasviz.data import load_table, table_source
    from nasviz.nat.rewards import NB201_EVAL_METRIC
    from nasviz.spaces import get_space

    assert table_source("nb201") == "embedded"
    app.selectbox(key="nat_preset").select("NB201 all avg-pool").run()
    assert not app.exception and not app.error
    space = get_space("nb201")
    cell = space.parse("|avg_pool_3x3~0|+|avg_pool_3x3~0|avg_pool_3x3~1|+|avg_pool_3x3~0|avg_pool_3x3~1|avg_pool_3x3~2|")
    expected = load_table("nb201").lookup(space.cell_id(cell), NB201_EVAL_METRIC)
    assert _metric(app, "Accuracy (true)") == f"{expected:.2f} %"


# ---- hostile input, caps, pruned nodes (issue 18) -------------------------------------------------

HOSTILE = ['{"index": null}', '{"index": "abc"}', '{"index": 1e309}', "[" * 5000 + "]" * 5000]


def _plain(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


@pytest.mark.parametrize("space", ["nb201", "nat"])
def test_hostile_paste_and_upload_keep_the_previous_cell(app: AppTest, space: str) -> None:
    app.radio(key="nat_source").set_value("Upload or paste").run()
    app.radio(key="nat_upload_space").set_value(space).run()
    before = app.session_state["nat_state"].cell
    for n, text in enumerate(HOSTILE):
        app.text_area(key="nat_paste").input(text)
        app.button(key="nat_load_paste").click().run()
        assert not app.exception, [e.value for e in app.exception]
        shown = [_plain(e.value) for e in app.error]
        assert len(shown) == 1 and shown[0].startswith("Could not load the pasted cell: "), shown
        assert shown[0].endswith("The previous cell is kept.")
        app.text_area(key="nat_paste").input("")
        app.file_uploader(key="nat_upload").set_value((f"bad{n}.json", text.encode(), "application/json")).run()
        assert not app.exception, [e.value for e in app.exception]
        shown = [_plain(e.value) for e in app.error]
        assert len(shown) == 1 and shown[0].startswith(f"Could not load the file bad{n}.json: "), shown
        assert app.session_state["nat_state"].cell == before
        app.file_uploader(key="nat_upload").set_value(None).run()


def test_oversized_upload_is_refused_before_reading(app: AppTest) -> None:
    app.radio(key="nat_source").set_value("Upload or paste").run()
    big = b'{"edges": [' + b'["conv_3x3", -1, 0], ' * 20_000 + b'["null", -2, 0]]}'
    app.file_uploader(key="nat_upload").set_value(("big.json", big, "application/json")).run()
    assert not app.exception
    assert [_plain(e.value) for e in app.error] == [
        f"Could not load the file big.json: the file big.json is {round(len(big) / 1024)} KB; a cell file is at most "
        "256 KB (a cell of any space takes under 2 KB). The previous cell is kept."]
    assert app.text_area(key="nat_paste").proto.max_chars == 256 * 1024


def test_nb201_arch_in_an_error_is_not_strikethrough(app: AppTest) -> None:
    app.radio(key="nat_source").set_value("Upload or paste").run()
    app.radio(key="nat_upload_space").set_value("nb201").run()
    app.text_area(key="nat_paste").input("|nor_conv_3x3~0|+|oops~1|")
    app.button(key="nat_load_paste").click().run()
    assert app.error and "\\~" in app.error[0].value and "~" not in app.error[0].value.replace("\\~", "")


def test_pruned_nodes_match_the_backend_pruning() -> None:
    """The editor greys out exactly the nodes NAT's pruning removes, for every preset and every one or two nulls."""
    from nasviz.nat.cells import get_adapter
    from nasviz.nat.page import EditState, cell_choices
    from nasviz.nat.rules import KEEP
    from nasviz.nat.transform import action_mask
    from nasviz.ui.nat_component import editor_data, pruned_nodes

    checked = with_pruned = 0
    for label, (space, cell) in cell_choices().items():
        adapter = get_adapter(space)
        mask = action_mask(adapter, cell, "paper")
        edges = adapter.edges(cell)
        for combo in [(i,) for i in range(len(edges))] + list(itertools.combinations(range(len(edges)), 2)):
            if not all(mask[i, NULL] for i in combo):
                continue
            actions = [NULL if i in combo else KEEP for i in range(len(edges))]
            result = EditState(space, cell, label, actions).result("paper")
            if not result.valid:
                continue
            cut = pruned_nodes(adapter, cell, actions)
            if space == "nat":
                assert len(result.pruned.nodes) == len(cell.nodes) - len(cut), (label, actions, cut)
            else:
                dead = {n for n in (1, 2) if all(op == "none" for op, s, d in adapter.edges(result.pruned) if n in (s, d))}
                assert dead == cut, (label, actions, cut)
            data = editor_data(adapter, cell, actions, "paper")
            assert {n["id"] for n in data["nodes"] if n["pruned"]} == cut
            assert all(e["pruned"] == (e["new_op"] != adapter.null_op and bool({e["src"], e["dst"]} & cut))
                       for e in data["edges"])
            checked += 1
            with_pruned += bool(cut)
    assert checked > 100 and with_pruned > 30


def test_a_cell_too_large_for_the_editor_is_refused(app: AppTest) -> None:
    app.radio(key="nat_source").set_value("Upload or paste").run()
    before = app.session_state["nat_state"].cell
    edges = [edge for k in range(1000) for edge in (["conv_3x3", k - 1, k], ["conv_3x3", k - 2, k])]
    text = json.dumps({"edges": edges, "output": "concat"})  # 47 KB, valid: the editor would take seconds
    app.file_uploader(key="nat_upload").set_value(("big.json", text.encode(), "application/json")).run()
    assert not app.exception
    assert [_plain(e.value) for e in app.error] == [
        "Could not load the file big.json: the cell has 1,003 nodes and 3,000 edges; the NAT editor takes cells of at "
        "most 40 nodes. The previous cell is kept."]
    assert app.session_state["nat_state"].cell == before
