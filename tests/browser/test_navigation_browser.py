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


@pytest.mark.browser
def test_no_deploy_button_and_no_usage_statistics(streamlit_server: str, page) -> None:
    """.streamlit/config.toml: a local workbench has no "Deploy" button and sends no usage statistics."""
    import tomllib
    from pathlib import Path

    page.goto(streamlit_server)
    page.locator("h1").first.wait_for()
    page.wait_for_timeout(500)
    assert page.get_by_role("button", name="Deploy").count() == 0
    assert page.get_by_text("Deploy", exact=True).count() == 0
    config = tomllib.loads((Path(__file__).resolve().parents[2] / ".streamlit" / "config.toml").read_text())
    assert config["browser"]["gatherUsageStats"] is False
