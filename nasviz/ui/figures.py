"""Plotly figures on pages, with PNG/SVG/PDF (optional paper preset) and CSV downloads via :mod:`nasviz.export`."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import streamlit as st

from nasviz.export import MIME_TYPES, apply_paper_style, figure_bytes, figure_csv, find_browser

WIDTH_CHOICES = {"as shown": None, "single column (3.5 in)": "single", "double column (7.16 in)": "double"}


@lru_cache(maxsize=64)
def _export(fig_json: str, fmt: str, width: str | None, serif: bool) -> bytes:
    fig = pio.from_json(fig_json)
    if width is not None:
        fig = apply_paper_style(fig, width=width, serif=serif)
    return figure_bytes(fig, fmt)


def figure_downloads(fig: go.Figure, file_stem: str, data: pd.DataFrame | None = None, key: str | None = None) -> None:
    """Download buttons for ``fig``: PNG, SVG and PDF (as shown or in the paper preset) and the CSV
    of its data (``data`` when given, else its traces). Images are rendered only when clicked."""
    key = key or f"fig_{file_stem}"
    with st.expander("Download figure", icon=":material/download:"):
        choice = st.radio("Size", list(WIDTH_CHOICES), key=f"{key}_width", horizontal=True)
        serif = st.checkbox("Serif font (paper preset)", key=f"{key}_serif")
        width = WIDTH_CHOICES[choice]
        browser = find_browser()
        columns = st.columns(4)
        for column, fmt in zip(columns, ("png", "svg", "pdf"), strict=False):
            column.download_button(
                fmt.upper(), data=_lazy_image(fig, fmt, width, serif), file_name=f"{file_stem}.{fmt}", mime=MIME_TYPES[fmt],
                key=f"{key}_{fmt}", on_click="ignore", disabled=browser is None,
            )
        columns[3].download_button("CSV", data=_lazy_csv(fig, data), file_name=f"{file_stem}.csv", mime="text/csv",
                                   key=f"{key}_csv", on_click="ignore")
        if browser is None:
            st.caption("Image export needs Chrome/Chromium (`apt-get install chromium`); CSV works without it.")


def _lazy_image(fig: go.Figure, fmt: str, width: str | None, serif: bool) -> Any:
    """A callable that renders the image only when its button is clicked."""
    def render() -> bytes:
        return _export(fig.to_json(), fmt, width, serif)

    return render


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
