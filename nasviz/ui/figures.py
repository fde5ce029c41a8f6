"""Plotly figures on pages, with PNG/SVG/PDF (optional paper preset) and CSV downloads via :mod:`nasviz.figures.render`.

Images are rendered only when asked: a format's button renders it (with a progress bar; this process's shared
Kaleido browser makes each render a second or two, also for a 15,625-point map) and then offers the file. The
panel is a fragment, so rendering reruns the panel only, never the page or the map around it.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from nasviz.figures.render import MIME_TYPES, apply_paper_style, figure_bytes, figure_csv, find_browser

WIDTH_CHOICES = {"as shown": None, "single column (3.5 in)": "single", "double column (7.16 in)": "double"}
IMAGE_FORMATS = ("png", "svg", "pdf")
#: rendered images kept per session (a 15,625-point map's PNG is ~2 MB)
MAX_RENDERED = 6


def render_image(fig: go.Figure, fmt: str, width: str | None, serif: bool, progress: Any = None) -> bytes:
    """``fig`` as ``fmt`` bytes, as shown or in the paper preset ``width`` (``progress(fraction, text)``)."""
    if width is not None:
        fig = apply_paper_style(fig, width=width, serif=serif)
    return figure_bytes(fig, fmt, progress=progress)


def figure_digest(fig: go.Figure) -> str:
    """A short fingerprint of what ``fig`` shows (a rendered file belongs to one figure)."""
    return hashlib.sha1(fig.to_json().encode()).hexdigest()[:16]


def figure_downloads(fig: go.Figure, file_stem: str, data: pd.DataFrame | None = None, key: str | None = None) -> None:
    """Render-then-download buttons for ``fig``: PNG, SVG and PDF (as shown or in the paper preset), and the
    CSV of its data (``data`` when given, else its traces). Nothing is rendered until a button is clicked."""
    key = key or f"fig_{file_stem}"
    with st.expander("Download figure", icon=":material/download:"):
        _download_panel(fig, file_stem, data, key)


@st.fragment
def _download_panel(fig: go.Figure, file_stem: str, data: pd.DataFrame | None, key: str) -> None:
    choice = st.radio("Size", list(WIDTH_CHOICES), key=f"{key}_width", horizontal=True)
    serif = st.checkbox("Serif font (paper preset)", key=f"{key}_serif")
    width = WIDTH_CHOICES[choice]
    browser = find_browser()
    store_key = f"{key}_rendered"
    rendered: dict[tuple[str, str | None, bool], tuple[str, bytes]] = st.session_state.setdefault(store_key, {})
    digest = figure_digest(fig) if rendered else None
    columns = st.columns(4)
    for column, fmt in zip(columns, IMAGE_FORMATS, strict=False):
        slot = (fmt, width, serif)
        place = column.empty()  # the render button, replaced by the download once rendered
        if (slot not in rendered or rendered[slot][0] != digest) and place.button(
                f"Render {fmt.upper()}", key=f"{key}_{fmt}_render", disabled=browser is None, icon=":material/image:",
                help="Render the figure, then download it."):
            bar = st.progress(0.0, text=f"Rendering the {fmt.upper()}...")
            image = render_image(fig, fmt, width, serif, progress=lambda f, t, bar=bar: bar.progress(min(f, 1.0), text=t))
            bar.empty()
            digest = digest or figure_digest(fig)
            while len(rendered) >= MAX_RENDERED:
                rendered.pop(next(iter(rendered)))
            rendered[slot] = (digest, image)
        if slot in rendered and rendered[slot][0] == digest:
            place.download_button(fmt.upper(), data=rendered[slot][1], file_name=f"{file_stem}.{fmt}",
                                  mime=MIME_TYPES[fmt], key=f"{key}_{fmt}", on_click="ignore",
                                  icon=":material/download:", type="primary")
    columns[3].download_button("CSV", data=_lazy_csv(fig, data), file_name=f"{file_stem}.csv", mime="text/csv",
                               key=f"{key}_csv", on_click="ignore")
    if browser is None:
        st.caption("Image export needs Chrome/Chromium (`apt-get install chromium`); CSV works without it.")


def _lazy_csv(fig: go.Figure, data: pd.DataFrame | None) -> Any:
    """A callable that builds the CSV only when its button is clicked (large maps take ~0.4 s)."""
    def render() -> str | bytes:
        return figure_csv(fig, data)

    return render


def show_figure(fig: go.Figure, file_stem: str, data: pd.DataFrame | None = None, key: str | None = None,
                **plotly_chart_kwargs: Any) -> Any:
    """``st.plotly_chart`` followed by :func:`figure_downloads`; returns what plotly_chart returns
    (the selection event when ``on_select`` is passed)."""
    key = key or f"fig_{file_stem}"
    event = st.plotly_chart(fig, key=f"{key}_chart", **plotly_chart_kwargs)
    figure_downloads(fig, file_stem, data, key)
    return event
