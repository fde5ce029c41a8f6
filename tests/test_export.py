"""Figure export: paper preset, CSV of the data, and real PNG/SVG/PDF files through Kaleido."""

from __future__ import annotations

import io
import re

import pandas as pd
import plotly.graph_objects as go
import pytest

from nasviz import export
from nasviz.errors import ConfigError
from nasviz.export import (
    OKABE_ITO,
    PX_PER_PT,
    ExportError,
    apply_paper_style,
    export_session,
    figure_bytes,
    figure_csv,
    figure_dataframe,
    find_browser,
)


def small_figure() -> go.Figure:
    fig = go.Figure([go.Scatter(x=[1, 2, 3], y=[0.91, 0.93, 0.94], name="arch2vec", mode="lines+markers"),
                     go.Scatter(x=[1, 2, 3], y=[0.90, 0.92, 0.935], name="random", mode="markers",
                                customdata=[["a", 7], ["b", 8], ["c", 9]])])
    fig.update_layout(title="Search", xaxis_title="queries", yaxis_title="test accuracy")
    return fig


@pytest.mark.parametrize(("width", "inches"), [("single", 3.5), ("double", 7.16)])
def test_paper_style_sets_size_fonts_palette_and_background(width: str, inches: float) -> None:
    fig = small_figure()
    styled = apply_paper_style(fig, width=width, serif=True)
    assert styled.layout.width == round(inches * 96)
    assert 8 <= styled.layout.font.size / PX_PER_PT <= 9
    assert "serif" in styled.layout.font.family and "Times" in styled.layout.font.family
    assert tuple(styled.layout.colorway) == OKABE_ITO
    assert styled.layout.paper_bgcolor == "white" and styled.layout.plot_bgcolor == "white"
    assert styled.data[0].line.color == OKABE_ITO[0] and styled.data[1].marker.color == OKABE_ITO[1]
    assert fig.layout.width is None and fig.data[0].line.color is None  # the input figure is untouched
    sans = apply_paper_style(fig, width=width)
    assert "serif" not in sans.layout.font.family.replace("sans-serif", "")
    with pytest.raises(ConfigError, match="single"):
        apply_paper_style(fig, width="triple")


def test_csv_from_traces_has_one_row_per_point() -> None:
    frame = pd.read_csv(io.BytesIO(figure_csv(small_figure())))
    assert list(frame["trace"]) == ["arch2vec"] * 3 + ["random"] * 3
    assert frame["y"].tolist() == [0.91, 0.93, 0.94, 0.90, 0.92, 0.935]
    assert frame["customdata_1"].dropna().tolist() == [7, 8, 9]


def test_csv_melts_heatmaps_and_prefers_the_given_frame() -> None:
    heatmap = go.Figure(go.Heatmap(z=[[1, 2, 3], [4, 5, 6]], x=["a", "b", "c"], y=["r0", "r1"], name="h"))
    frame = figure_dataframe(heatmap)
    assert len(frame) == 6
    assert frame.loc[(frame.x == "c") & (frame.y == "r1"), "z"].item() == 6
    data = pd.DataFrame({"arch": ["x", "y"], "acc": [0.5, 0.6]})
    assert figure_csv(heatmap, data).decode() == "arch,acc\nx,0.5\ny,0.6\n"


def test_unknown_format_and_missing_browser_are_clear_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ExportError, match="png, svg, pdf"):
        figure_bytes(small_figure(), "gif")
    monkeypatch.setattr(export, "find_browser", lambda: None)
    with pytest.raises(ExportError, match="apt-get install chromium"):
        figure_bytes(small_figure(), "png")


def test_exports_png_svg_pdf_files() -> None:
    if find_browser() is None:
        pytest.skip("no Chrome/Chromium for Kaleido on this machine (apt-get install chromium)")
    fig = apply_paper_style(small_figure(), width="single")
    with export_session():
        png, svg, pdf = (figure_bytes(fig, fmt) for fmt in ("png", "svg", "pdf"))
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width_px = int.from_bytes(png[16:20], "big")
    assert width_px == round(3.5 * 300)  # 3.5 in at 300 dpi
    assert svg.lstrip().startswith(b"<svg") and b"</svg>" in svg[-200:]
    assert pdf.startswith(b"%PDF-")
    box = re.search(rb"MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    assert box and abs(float(box.group(1)) - 3.5 * 72) < 1  # the page is one column wide


def _figure_page() -> None:
    import plotly.graph_objects as go

    from nasviz.ui import show_figure

    show_figure(go.Figure(go.Scatter(x=[1, 2], y=[3, 4], name="s")), "demo")


def test_figure_download_buttons_on_a_page() -> None:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_figure_page, default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    buttons = {b.proto.label: b.proto for b in at.get("download_button")}
    assert set(buttons) == {"PNG", "SVG", "PDF", "CSV"}
    assert buttons["PNG"].deferred_file_id  # images are rendered only when clicked
    assert buttons["CSV"].deferred_file_id  # the CSV too: large maps take a while to serialise
    assert at.radio[0].options == ["as shown", "single column (3.5 in)", "double column (7.16 in)"]


def test_deferred_csv_download_holds_the_figure_data() -> None:
    import plotly.graph_objects as go

    from nasviz.ui.figures import _lazy_csv

    fig = go.Figure(go.Scatter(x=[1, 2], y=[3, 4], name="s"))
    text = _lazy_csv(fig, None)()
    text = text.decode() if isinstance(text, bytes) else text
    lines = text.strip().splitlines()
    assert len(lines) == 3 and "3" in lines[1] and "4" in lines[2]
