"""The Latent Space and Neighbour Walk pages in a real browser: wait for the map, click a point, see the cell
drawing, open a walk from it and see the walk's drawings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nasviz import projection
from nasviz.encoders.store import MODELS_DIR, EmbeddingSet, write_manifest
from nasviz.spaces.nb201 import OPS, cell_from_index

ENCODER = "browsertest"
#: Streamlit reruns on a busy 2-core machine can take a while
WAIT_MS = 60_000


def _server_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    homes = sorted(tmp_path_factory.getbasetemp().glob("browser_nasviz_home*"))
    if not homes:
        pytest.skip("the streamlit_server fixture did not create its NASVIZ_HOME where expected")
    return homes[0]


@pytest.fixture(scope="module")
def latent_encoder(streamlit_server: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The encoder the page opens with: the shipped NB201 one when present, else a small one-hot encoder
    of 800 NB201 cells (with its PCA cached) written into the server's NASVIZ_HOME."""
    shipped = [e for e in ("arch2vec", *sorted(p.name for p in (MODELS_DIR / "nb201").glob("*")))
               if (MODELS_DIR / "nb201" / e / "manifest.json").exists()]
    if shipped:
        return "arch2vec" if "arch2vec" in shipped else shipped[0]
    home = _server_home(tmp_path_factory)
    ids = [str(i) for i in range(799)] + ["6111"]
    vectors = np.zeros((len(ids), 30), dtype=np.float32)
    for row, cell_id in enumerate(ids):
        for edge, op in enumerate(cell_from_index(int(cell_id)).ops):
            vectors[row, 5 * edge + OPS.index(op)] = 1.0
    vectors += np.random.default_rng(0).normal(scale=0.05, size=vectors.shape).astype(np.float32)
    directory = home / "models" / "nb201" / ENCODER
    directory.mkdir(parents=True)
    write_manifest(directory, {"space": "nb201", "encoder": ENCODER, "seed": 0})
    embeddings = EmbeddingSet("nb201", ENCODER, np.array(ids), vectors)
    embeddings.save(directory)
    proj = projection.compute_projection(embeddings, "pca")
    projection.save_projection(proj, directory / "projections" / "pca.npz")
    return ENCODER


_POINT_JS = """
() => {
  const gd = document.querySelector('[data-testid="stPlotlyChart"] .js-plotly-plot');
  if (!gd || !gd._fullData) return null;
  const index = gd._fullData.findIndex(t => t.name === 'cells');
  if (index < 0) return null;
  const trace = gd._fullData[index];
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
  // a point in the lower middle of the map, away from the title and the mode bar (top right)
  let best = 0, bestDist = Infinity;
  for (let i = 0; i < trace.x.length; i += 1) {
    const d = Math.abs(trace.x[i]) + Math.abs(trace.y[i] + 0.4);
    if (d < bestDist) { bestDist = d; best = i; }
  }
  const box = gd.getBoundingClientRect();
  return {x: box.left + xa._offset + xa.l2p(trace.x[best]), y: box.top + ya._offset + ya.l2p(trace.y[best]),
          id: String(trace.hovertext[best]).split('<br>')[0].replace('cell ', '')};
}
"""


@pytest.mark.browser
def test_click_a_point_then_walk_from_it(streamlit_server: str, latent_encoder: str, page) -> None:
    from playwright.sync_api import expect

    page.goto(f"{streamlit_server}/Latent_Space")
    page.get_by_role("heading", name="Latent Space").wait_for()
    chart = page.locator('[data-testid="stPlotlyChart"] .js-plotly-plot').first
    chart.wait_for()
    page.wait_for_function("() => { const gd = document.querySelector('.js-plotly-plot');"
                           " return gd && gd._fullData && gd._fullData.some(t => t.name === 'cells'); }")
    page.wait_for_timeout(500)  # let plotly finish its first draw before clicking
    chart.scroll_into_view_if_needed()  # the colour and selection controls sit above the map
    point = page.evaluate(_POINT_JS)
    assert point is not None, "no selectable trace in the map"
    page.mouse.click(point["x"], point["y"])
    drawing = page.locator(".nasviz-cell-drawing svg").first
    expect(drawing).to_be_visible(timeout=WAIT_MS)
    expect(drawing).to_contain_text("out", timeout=WAIT_MS)
    expect(page.get_by_text("Selected cells", exact=True)).to_be_visible(timeout=WAIT_MS)
    assert page.locator("[data-testid='stException']").count() == 0

    page.get_by_role("button", name="Open the Neighbour Walk").click()
    page.get_by_role("heading", name="Neighbour Walk").wait_for()
    expect(page.get_by_role("textbox", name="Start cell")).to_have_value(point["id"], timeout=WAIT_MS)
    expect(page.locator(".nasviz-cell-drawing svg")).to_have_count(16, timeout=WAIT_MS)  # start + 15 steps
    expect(page.locator('[data-testid="stPlotlyChart"]').first).to_be_visible(timeout=WAIT_MS)
    assert page.locator("[data-testid='stException']").count() == 0


@pytest.mark.browser
def test_every_start_cell_edit_takes(streamlit_server: str, latent_encoder: str, page) -> None:
    """Issue 18: typing a start cell used to snap back to the previous one every other edit."""
    from playwright.sync_api import expect

    page.goto(f"{streamlit_server}/Neighbour_Walk")
    page.get_by_role("heading", name="Neighbour Walk").wait_for()
    field = page.get_by_role("textbox", name="Start cell")
    expect(page.locator(".nasviz-cell-drawing svg").first).to_be_visible(timeout=WAIT_MS)
    for start in ("6111", "17", "100"):
        field.fill(start)
        field.press("Enter")
        expect(page.get_by_text(f"step 0: cell {start}", exact=False).first).to_be_visible(timeout=WAIT_MS)
        page.wait_for_timeout(1500)  # a revert would come with the next message
        expect(field).to_have_value(start)
        expect(page.get_by_text(f"step 0: cell {start}", exact=False).first).to_be_visible()
    assert page.locator("[data-testid='stException']").count() == 0
