"""The Search page in a real browser: start a short search and watch the live chart grow."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

WAIT_MS = 60_000

#: points of the "All queries" chart (marker traces of the first chart that has them)
_POINTS_JS = """
() => {
  for (const gd of document.querySelectorAll('[data-testid="stPlotlyChart"] .js-plotly-plot')) {
    if (!gd._fullData) continue;
    const traces = gd._fullData.filter(t => ['queries', 'feasible', 'infeasible'].includes(t.name));
    if (traces.length) return traces.reduce((n, t) => n + (t.x ? t.x.length : 0), 0);
  }
  return 0;
}
"""


@pytest.fixture(scope="module")
def server_with_nb201(streamlit_server: str, nb201_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The browser server with the real NB201 table imported into its NASVIZ_HOME (found the way the
    streamlit_server fixture creates it; the server notices the new table on its next rerun)."""
    homes = sorted(tmp_path_factory.getbasetemp().glob("browser_nasviz_home*"))
    if not homes:
        pytest.skip("the streamlit_server fixture did not create its NASVIZ_HOME where expected")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NASVIZ_HOME", str(homes[0]))
        from nasviz.data import has_table, import_benchmark

        if not has_table("nb201"):
            import_benchmark("nb201-merged", nb201_csv)
    return streamlit_server


@pytest.mark.browser
def test_live_search_chart_grows(server_with_nb201: str, page) -> None:
    from playwright.sync_api import expect

    page.goto(f"{server_with_nb201}/Search")
    page.get_by_role("heading", name="New search").wait_for(timeout=WAIT_MS)
    budget = page.get_by_role("spinbutton", name="Budget (queries)")
    budget.fill("60")
    budget.press("Enter")
    pause = page.get_by_role("spinbutton", name="Pause after each query (s)")
    pause.fill("0.15")
    pause.press("Enter")
    expect(pause).to_have_value("0.15")
    page.locator(".st-key-search_start button").click()
    page.get_by_role("heading", name="Live run").wait_for(timeout=WAIT_MS)

    page.wait_for_function(f"({_POINTS_JS})() >= 3", timeout=WAIT_MS)
    first = page.evaluate(_POINTS_JS)
    deadline = time.monotonic() + 30
    later = first
    while later <= first and time.monotonic() < deadline:
        page.wait_for_timeout(1000)
        later = page.evaluate(_POINTS_JS)
    assert first < later <= 60, (first, later)
    page.locator(".st-key-search_stop button").click()  # not the status widget's Stop
    page.get_by_role("heading", name="Last run").wait_for(timeout=WAIT_MS)
    assert page.locator("[data-testid='stException']").count() == 0


@pytest.mark.browser
def test_limit_admitting_no_cell_is_refused_before_start(server_with_nb201: str, page) -> None:
    from playwright.sync_api import expect

    page.goto(f"{server_with_nb201}/Search")
    page.get_by_role("heading", name="New search").wait_for(timeout=WAIT_MS)
    page.get_by_text("latency", exact=True).click()
    limit = page.get_by_role("spinbutton", name="L (ms)")
    limit.fill("0.001")
    limit.press("Enter")
    alert = page.locator("[data-testid='stAlertContentError']").filter(has_text="No nb201 cell has latency")
    expect(alert).to_contain_text("0.001 ms on pixel3 (latency/pixel3/cifar10): the table's fastest cell takes")
    page.locator(".st-key-search_start button").click()
    expect(page.locator("[data-testid='stAlertContentError']").filter(has_text="Cannot start the search")).to_be_visible()
    assert page.get_by_role("heading", name="Live run").count() == 0
    assert page.locator("[data-testid='stException']").count() == 0
