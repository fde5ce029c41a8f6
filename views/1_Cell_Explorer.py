"""Cell Explorer: pick, paste or upload a cell of any search space; validate, draw and describe it."""

from __future__ import annotations

from typing import Any

import streamlit as st

from nasviz.errors import NasvizError
from nasviz.spaces import SearchSpace, get_space
from nasviz.ui import cell_input, setup_page, show_cell_drawing, space_selector
from nasviz.ui.cells import cell_json_text
from nasviz.ui.explorer import (
    canonical_fields,
    cost_rows,
    describe_size_problem,
    file_stem,
    op_count_rows,
    parse_cell,
    preset_cells,
    preset_label,
    table_metric_rows,
)
from nasviz.ui.guard import guarded, md_escape


def choose_cell(space: SearchSpace, source: str, label: str | None) -> Any | None:
    """The cell picked by ``source`` (browse, sample, preset or paste/upload); None when there is none yet."""
    if source == "Browse by index":
        size, _ = space.size()
        st.session_state.setdefault("nb201_index", 0)
        st.session_state["nb201_index_slider"] = st.session_state["nb201_index"]
        slider_col, number_col = st.columns([4, 1])
        slider_col.slider("NB201 index (official order)", 0, size - 1, key="nb201_index_slider",
                          on_change=lambda: st.session_state.update(nb201_index=st.session_state["nb201_index_slider"]))
        index = number_col.number_input("Index", min_value=0, max_value=size - 1, step=1, key="nb201_index")
        return space.parse({"index": int(index)})
    if source == "Sample":
        seed = st.number_input("Seed", min_value=0, value=0, step=1, key=f"sample_seed_{space.name}")
        return space.sample(1, seed=int(seed))[0]
    if source == label:
        presets = preset_cells(space)
        name = st.selectbox(label, list(presets), key=f"preset_{space.name}")
        return presets[name]
    return cell_input(space, key=f"cell_input_{space.name}")


def other_cell(space: SearchSpace) -> Any | None:
    """The cell to compare with (its differences are highlighted), or None."""
    with st.expander("Compare with another cell (highlights what differs)"):
        text = st.text_input("Other cell", key=f"diff_{space.name}", placeholder="same formats as above")
        if not text.strip():
            return None
        try:
            return parse_cell(space, text, "the other cell")
        except NasvizError as exc:
            st.error(md_escape(str(exc)))
            return None


def show_table_metrics(space: SearchSpace, cell: Any) -> None:
    """The benchmark table's metrics of the cell, or what to import to see them."""
    st.markdown("**Benchmark results**")
    try:
        rows, note, command = table_metric_rows(space, cell)
    except NasvizError as exc:
        st.warning(md_escape(f"Cannot read the {space.title} benchmark table: {exc}"))
        return
    if rows:
        st.dataframe(rows, hide_index=True, width="stretch", key="cell_table_metrics",
                     column_order=["value", "metric", "key"],  # the value first: long labels push it off a narrow column
                     column_config={"value": st.column_config.NumberColumn("value", width="small", format="%.4g"),
                                    "key": st.column_config.TextColumn("key", width="small")})
    st.caption(md_escape(note))
    if command:
        st.code(command, language="bash")


def cell_view(space_name: str, source: str, label: str | None) -> None:
    """Everything that depends on the cell (a fragment: choosing or pasting a cell reruns only this)."""
    space = get_space(space_name)
    cell = choose_cell(space, source, label)
    other = other_cell(space)
    if cell is None:
        return
    too_large = describe_size_problem(space, cell)
    if too_large:
        st.error(md_escape(f"Not shown: {too_large}."))
        return
    validity = space.is_valid(cell)
    if not validity.valid:
        st.error(md_escape(f"Invalid {space.title} cell: {validity.reason}"))

    left, right = st.columns([3, 2], gap="large")
    with left:
        st.subheader("Drawing")
        show_cell_drawing(space, cell, highlight_diff=other, key="cell_drawing", file_stem=file_stem(space, cell))
        if other is not None:
            try:
                st.metric("Edit distance to the other cell", space.edit_distance(cell, other))
            except NasvizError as exc:
                st.warning(md_escape(f"No edit distance: {exc}"))
        st.download_button("Cell JSON", data=cell_json_text(space, cell), file_name=f"{file_stem(space, cell)}.json",
                           mime="application/json", key="cell_json", on_click="ignore", icon=":material/download:")

    with right:
        st.subheader("Description")
        if validity.valid:
            st.markdown("**Canonical form**")
            st.json(canonical_fields(space, cell), expanded=True)
            show_table_metrics(space, cell)
            st.markdown("**Network cost per dataset** (FLOPs = multiply-adds)")
            st.dataframe(cost_rows(space, cell), hide_index=True, width="stretch")
            st.markdown("**Op counts**")
            st.dataframe(op_count_rows(space, cell), hide_index=True, width="stretch")
        else:
            st.json(space.describe(cell), expanded=True)


@st.fragment
def cell_fragment(space_name: str, source: str, label: str | None) -> None:
    guarded(lambda: cell_view(space_name, source, label), "Cell Explorer")


def page() -> None:
    setup_page("Cell Explorer")
    st.title("Cell Explorer")
    st.caption("Choose a cell of a search space, or paste / upload one, to check it, draw it and see what it costs.")
    space = space_selector(key="space")
    sources = ["Sample"]
    if space.name == "nb201":
        sources.insert(0, "Browse by index")
    label = preset_label(space)
    if label:
        sources.append(label)
    sources.append("Paste or upload")
    source = st.radio("Cell", sources, horizontal=True, key=f"cell_source_{space.name}")
    cell_fragment(space.name, source, label)


guarded(page, "Cell Explorer")
