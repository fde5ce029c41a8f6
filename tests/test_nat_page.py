"""The NAT page (AppTest): presets, edits with undo/reset, bad pasted cells, Optimise with NAT."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from nasviz.nat.rules import NULL, SKIP
from nasviz.nat.store import find_policy_dir

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "5_NAT.py")


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
