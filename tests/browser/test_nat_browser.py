"""The NAT page in Chromium: drag a transformation chip onto an edge; the cell and its cost change."""

from __future__ import annotations

import pytest


def _params(page) -> str:
    metric = page.locator("[data-testid='stMetric']").filter(has_text="Params")
    return metric.locator("[data-testid='stMetricValue']").inner_text()


@pytest.mark.browser
def test_drag_chip_onto_edge_changes_cell_and_cost(streamlit_server: str, page) -> None:
    from playwright.sync_api import expect

    page.goto(f"{streamlit_server}/NAT")
    page.get_by_role("heading", name="Neural Architecture Transformer").wait_for()
    editor = page.get_by_test_id("nat-editor")
    editor.wait_for()
    before = _params(page)
    conv_edge = editor.locator("[data-op='conv_3x3']").first
    edge_id = conv_edge.get_attribute("data-testid")
    page.get_by_test_id("nat-chip-skip").drag_to(conv_edge)
    target = page.get_by_test_id(edge_id)
    expect(target).to_contain_text("skip")
    expect(target).to_have_class("nat-target nat-target-changed")
    page.wait_for_function(
        "before => { const m = [...document.querySelectorAll(\"[data-testid='stMetric']\")]"
        ".find(e => e.innerText.includes('Params')); return m && !m.innerText.includes(before); }",
        arg=before)
    assert _params(page) != before
    # a forbidden drop (null -> skip under the paper rule) is refused in the browser with a message
    null_edge = editor.locator("[data-op='null']").first
    null_edge.click()
    page.get_by_test_id("nat-chip-skip").click()
    null_edge.click()
    expect(page.get_by_test_id("nat-status")).to_contain_text("not allowed")
    # undo restores the original cost
    page.get_by_role("button", name="Undo").click()
    expect(page.locator("[data-testid='stMetric']").filter(has_text="Params")).to_contain_text(before)
    assert page.locator("[data-testid='stException']").count() == 0


@pytest.mark.browser
def test_forbidden_drop_is_explained_and_pruned_nodes_are_greyed(streamlit_server: str, page) -> None:
    from playwright.sync_api import expect

    page.goto(f"{streamlit_server}/NAT")
    editor = page.get_by_test_id("nat-editor")
    editor.wait_for()
    before = _params(page)
    # skip on a null edge is not a paper-rule transformation: dropping it (not only clicking) says so
    null_edge = editor.locator("[data-op='null']").first
    page.get_by_test_id("nat-chip-skip").drag_to(null_edge)
    expect(page.get_by_test_id("nat-status")).to_contain_text("skip is not allowed on")
    expect(page.get_by_test_id("nat-status")).to_contain_text("under the paper rule")
    assert _params(page) == before
    # VGG: nulling the last conv cuts node 3 off; the editor greys it out
    assert editor.locator("circle[data-pruned='true']").count() == 0
    last_conv = editor.locator("[data-op='conv_3x3']").last
    edge_id = last_conv.get_attribute("data-testid")
    page.get_by_test_id("nat-chip-null").drag_to(last_conv)
    expect(page.get_by_test_id(edge_id)).to_contain_text("null")
    expect(page.get_by_test_id("nat-node-3")).to_have_attribute("data-pruned", "true")
    expect(page.get_by_test_id("nat-status")).to_contain_text("pruned (greyed out)")
    assert page.locator("[data-testid='stException']").count() == 0
