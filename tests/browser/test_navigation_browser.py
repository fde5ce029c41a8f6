"""Deep links run through app.py's navigation: the sidebar lists Home (not the entry script's file name) and every
page, whatever page the browser opens first."""

from __future__ import annotations

import pytest


@pytest.mark.browser
@pytest.mark.parametrize("path", ["NAT", "Search"])
def test_a_deep_link_shows_the_app_navigation(streamlit_server: str, page, path: str) -> None:
    page.goto(f"{streamlit_server}/{path}")
    nav = page.locator("[data-testid='stSidebarNav']")
    nav.get_by_text("Home", exact=True).wait_for()
    links = [text.strip().splitlines()[-1] for text in nav.locator("a").all_inner_texts()]  # after the icon
    assert links == ["Home", "Cell Explorer", "Latent Space", "Neighbour Walk", "Search", "NAT"], links
    assert page.locator("[data-testid='stException']").count() == 0
