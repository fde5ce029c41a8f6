"""Cell input (paste or upload) and cell drawings with downloads."""

from __future__ import annotations

import json
import re
from typing import Any

import streamlit as st

from nasviz.drawing import MIME_TYPES, render_cell
from nasviz.errors import CellError, NasvizError
from nasviz.spaces import SearchSpace
from nasviz.spaces.base import load_json_text

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
    be invalid: check ``space.is_valid``), or None when nothing usable was entered (errors are shown)."""
    st.caption(f"Accepted formats: {space.input_format}")
    text = st.text_area("Paste a cell", key=f"{key}_text", height=110, placeholder=example_text(space))
    upload = st.file_uploader("...or upload a file (.json, .jsonl, .txt)", type=["json", "jsonl", "txt"],
                              key=f"{key}_file")
    if upload is not None:
        try:
            text = upload.getvalue().decode("utf-8")
        except UnicodeDecodeError:
            st.error(f"{upload.name} is not a UTF-8 text file")
            return None
    cells = split_cells(text or "")
    if not cells:
        st.info("Paste a cell above or upload a file.")
        return None
    line = 1
    if len(cells) > 1:
        line = int(st.number_input(f"The input holds {len(cells)} cells; show cell number", 1, len(cells), 1,
                                   key=f"{key}_line"))
    try:
        return space.parse_text(cells[line - 1])
    except NasvizError as exc:
        where = f" (cell {line})" if len(cells) > 1 else ""
        st.error(f"Not a {space.title} cell{where}: {exc}")
        return None


def svg_html(svg: bytes | str, css_class: str = "nasviz-cell-drawing") -> str:
    """Inline-able SVG markup (XML prolog removed, scaled to the column width)."""
    text = svg.decode("utf-8") if isinstance(svg, bytes) else svg
    text = _PROLOG.sub("", text, count=1)
    text = text.replace("<svg ", '<svg style="max-width:100%;height:auto" ', 1)
    return f'<div class="{css_class}">{text}</div>'


def show_cell_drawing(space: SearchSpace, cell: Any, highlight_diff: Any = None, title: str | None = None,
                      key: str = "drawing", file_stem: str = "cell", downloads: bool = True) -> None:
    """Draw ``cell`` inline (SVG) with SVG/PDF/PNG download buttons (rendered on click, cached)."""
    try:
        svg = render_cell(space, cell, "svg", highlight_diff, title)
    except NasvizError as exc:
        st.error(f"Cannot draw the cell: {exc}")
        return
    # st.html sanitises SVG away; markdown with raw HTML keeps the inline SVG (our own Graphviz output)
    st.markdown(svg_html(svg), unsafe_allow_html=True)
    if not downloads:
        return
    columns = st.columns(3)
    for column, fmt in zip(columns, ("svg", "pdf", "png"), strict=True):
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
