"""Cell input (paste or upload) and cell drawings with downloads."""

from __future__ import annotations

import json
import re
from typing import Any

import streamlit as st

from nasviz.errors import CellError, NasvizError
from nasviz.figures.cells import MIME_TYPES, render_cell
from nasviz.spaces import SearchSpace
from nasviz.spaces.base import load_json_text
from nasviz.ui.explorer import MAX_CELL_BYTES, check_cell_size, decode_cell_file, drawing_size_problem, parse_cell, size_text
from nasviz.ui.guard import md_escape

_PROLOG = re.compile(r"^.*?(?=<svg)", re.DOTALL)


def split_cells(text: str) -> list[str]:
    """The cells in pasted/uploaded text: the whole text when it is one JSON value (multi-line
    genotypes), otherwise its non-blank lines (a JSONL file or arch strings, one per line)."""
    text = text.strip()
    if not text:
        return []
    try:
        load_json_text(text)  # size, depth and number checks first: never a RecursionError on hostile input
        return [text]
    except CellError:
        return [line.strip() for line in text.splitlines() if line.strip()]


def example_text(space: SearchSpace) -> str:
    """A sample cell of ``space`` as text, to show the expected format."""
    value = space.to_json(space.sample(1, seed=0)[0])
    return value if isinstance(value, str) else json.dumps(value)


def cell_input(space: SearchSpace, key: str = "cell_input") -> Any | None:
    """Paste or upload a cell in any format ``space`` accepts. Returns the parsed cell (which may
    be invalid: check ``space.is_valid``), or None when nothing usable was entered (errors are shown,
    naming the input: any parser failure, a file over :data:`MAX_CELL_BYTES`, a text too long)."""
    st.caption(f"Accepted formats: {md_escape(space.input_format)}")
    text = st.text_area("Paste a cell", key=f"{key}_text", height=110, placeholder=example_text(space),
                        max_chars=MAX_CELL_BYTES)
    upload = st.file_uploader(f"...or upload a file (.json, .jsonl, .txt; at most {size_text(MAX_CELL_BYTES)})",
                              type=["json", "jsonl", "txt"], key=f"{key}_file")
    what = "the pasted text"
    try:
        if upload is not None:
            what = f"the file {upload.name}"
            check_cell_size(upload.size, what)  # before reading it
            text = decode_cell_file(upload.getvalue(), what)
        else:
            check_cell_size(len((text or "").encode("utf-8", errors="replace")), what)
    except NasvizError as exc:
        st.error(md_escape(str(exc)))
        return None
    try:
        cells = split_cells(text or "")
    except Exception:  # noqa: BLE001 - JSON too deep for json.loads: one cell, the parser says why
        cells = [(text or "").strip()]
    if not cells:
        st.info("Paste a cell above or upload a file.")
        return None
    line = 1
    if len(cells) > 1:
        line = int(st.number_input(f"The input holds {len(cells)} cells; show cell number", 1, len(cells), 1,
                                   key=f"{key}_line"))
        what = f"cell {line} of {what}"
    try:
        return parse_cell(space, cells[line - 1], what)
    except NasvizError as exc:
        st.error(md_escape(str(exc)))
        return None


def svg_html(svg: bytes | str, css_class: str = "nasviz-cell-drawing") -> str:
    """Inline-able SVG markup (XML prolog removed, scaled to the column width)."""
    text = svg.decode("utf-8") if isinstance(svg, bytes) else svg
    text = _PROLOG.sub("", text, count=1)
    text = text.replace("<svg ", '<svg style="max-width:100%;height:auto" ', 1)
    return f'<div class="{css_class}">{text}</div>'


@st.dialog("Cell drawing", width="large")
def _enlarged_drawing(markup: str) -> None:
    """The drawing scaled to the dialog's width (a large modal)."""
    st.markdown(markup, unsafe_allow_html=True)


def drawing_markup(space: SearchSpace, cell: Any, highlight_diff: Any = None, title: str | None = None,
                   css_class: str = "nasviz-cell-drawing") -> str:
    """The inline SVG markup of the drawing (the Graphviz SVG is cached on the cell's JSON by ``render_cell``)."""
    return svg_html(render_cell(space, cell, "svg", highlight_diff, title), css_class)


def show_cell_drawing(space: SearchSpace, cell: Any, highlight_diff: Any = None, title: str | None = None,
                      key: str = "drawing", file_stem: str = "cell", downloads: bool = True,
                      enlarge: bool | None = None) -> None:
    """Draw ``cell`` inline (SVG) with an Enlarge button (a large dialog; by default when there are downloads) and
    SVG/PDF/PNG download buttons (rendered on click, cached). A cell too large to draw quickly
    (:func:`drawing_size_problem`) is not drawn: a note says why."""
    enlarge = downloads if enlarge is None else enlarge
    problem = drawing_size_problem(space, cell)
    if problem is not None:
        st.info(md_escape(f"No drawing: {problem}."))
        return
    try:
        markup = drawing_markup(space, cell, highlight_diff, title)
    except NasvizError as exc:
        st.error(md_escape(f"Cannot draw the cell: {exc}"))
        return
    # st.html sanitises SVG away; markdown with raw HTML keeps the inline SVG (our own Graphviz output)
    st.markdown(markup, unsafe_allow_html=True)
    if not downloads and not enlarge:
        return
    columns = st.columns(4 if downloads else 1)
    if enlarge and columns[-1].button("Enlarge", key=f"{key}_enlarge", icon=":material/zoom_in:",
                                      help="Show the drawing at the width of the window"):
        _enlarged_drawing(markup.replace('class="nasviz-cell-drawing"', 'class="nasviz-cell-drawing-large"', 1)
                          .replace('style="max-width:100%;height:auto"', 'style="width:100%;height:auto"', 1))
    if not downloads:
        return
    for column, fmt in zip(columns[:3], ("svg", "pdf", "png"), strict=True):
        column.download_button(
            f"{fmt.upper()}", data=_lazy_render(space, cell, fmt, highlight_diff, title), file_name=f"{file_stem}.{fmt}",
            mime=MIME_TYPES[fmt], key=f"{key}_{fmt}", on_click="ignore", icon=":material/download:",
        )


def _lazy_render(space: SearchSpace, cell: Any, fmt: str, highlight_diff: Any, title: str | None) -> Any:
    def render() -> bytes:
        return render_cell(space, cell, fmt, highlight_diff, title)

    if fmt == "svg":  # already rendered (cached): hand the bytes over directly
        return render()
    return render


def cell_json_text(space: SearchSpace, cell: Any) -> str:
    """The cell in the JSON format ``space.parse`` reads back."""
    return json.dumps(space.to_json(cell), indent=1)


def parse_or_error(space: SearchSpace, text: str) -> Any | None:
    """Parse ``text`` as a cell; show st.error and return None when it is not one."""
    try:
        return space.parse_text(text)
    except (CellError, NasvizError) as exc:
        st.error(f"Not a {space.title} cell: {exc}")
        return None
