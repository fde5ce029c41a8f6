"""The Cell Explorer in a real browser: enter a cell, see its drawing."""

from __future__ import annotations

import pytest

NB201_A = "|nor_conv_3x3~0|+|skip_connect~0|none~1|+|avg_pool_3x3~0|nor_conv_1x1~1|nor_conv_3x3~2|"


@pytest.mark.browser
def test_pasted_cell_is_drawn(streamlit_server: str, page) -> None:
    from playwright.sync_api import expect

    page.goto(f"{streamlit_server}/Cell_Explorer")
    page.get_by_role("heading", name="Cell Explorer").wait_for()
    page.get_by_text("Paste or upload", exact=True).click()
    box = page.get_by_label("Paste a cell")
    box.fill(NB201_A)
    box.press("Control+Enter")
    drawing = page.locator(".nasviz-cell-drawing svg")
    # the index-0 cell drawn before has no 3x3 convolution: wait for the pasted cell's drawing
    expect(drawing).to_contain_text("conv 3x3")
    labels = drawing.locator("text").all_text_contents()
    assert labels.count("conv 3x3") == 2 and {"in", "out", "skip", "avg pool 3x3", "conv 1x1", "none"} <= set(labels)
    expect(page.get_by_text('"index"').first).to_be_visible()
    assert "3638" in page.locator("[data-testid='stJson']").first.text_content()
    assert page.locator("[data-testid='stException']").count() == 0


@pytest.mark.browser
def test_hostile_paste_is_an_error_not_a_traceback(streamlit_server: str, page) -> None:
    from playwright.sync_api import expect

    page.goto(f"{streamlit_server}/Cell_Explorer")
    page.get_by_role("heading", name="Cell Explorer").wait_for()
    page.get_by_text("Paste or upload", exact=True).click()
    box = page.get_by_label("Paste a cell")
    for text in ('{"index": null}', '{"index": 1e309}', "[" * 5000 + "]" * 5000):
        box.fill(text)
        box.press("Control+Enter")
        alert = page.locator("[data-testid='stAlertContentError']").first
        expect(alert).to_contain_text("the pasted text is not a NAS-Bench-201 cell")
        assert page.locator("[data-testid='stException']").count() == 0
    box.fill("|nor_conv_3x3~0|+|oops~1|")
    box.press("Control+Enter")
    alert = page.locator("[data-testid='stAlertContentError']").first
    expect(alert).to_contain_text("oops~1")  # the tilde is shown, not read as strikethrough
    assert alert.locator("del, s").count() == 0
