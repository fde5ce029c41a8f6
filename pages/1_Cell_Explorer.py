"""Cell Explorer: pick, paste or upload a cell of any search space; validate, draw and describe it."""

from __future__ import annotations

import streamlit as st

from nasviz.errors import NasvizError
from nasviz.ui import cell_input, setup_page, show_cell_drawing, space_selector
from nasviz.ui.cells import cell_json_text, parse_or_error
from nasviz.ui.explorer import canonical_fields, cost_rows, file_stem, op_count_rows, preset_cells, preset_label

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

cell = None
if source == "Browse by index":
    size, _ = space.size()
    st.session_state.setdefault("nb201_index", 0)
    st.session_state["nb201_index_slider"] = st.session_state["nb201_index"]
    slider_col, number_col = st.columns([4, 1])
    slider_col.slider("NB201 index (official order)", 0, size - 1, key="nb201_index_slider",
                      on_change=lambda: st.session_state.update(nb201_index=st.session_state["nb201_index_slider"]))
    index = number_col.number_input("Index", min_value=0, max_value=size - 1, step=1, key="nb201_index")
    cell = space.parse({"index": int(index)})
elif source == "Sample":
    seed = st.number_input("Seed", min_value=0, value=0, step=1, key=f"sample_seed_{space.name}")
    cell = space.sample(1, seed=int(seed))[0]
elif source == label:
    presets = preset_cells(space)
    name = st.selectbox(label, list(presets), key=f"preset_{space.name}")
    cell = presets[name]
else:
    cell = cell_input(space, key=f"cell_input_{space.name}")

with st.expander("Compare with another cell (highlights what differs)"):
    other_text = st.text_input("Other cell", key=f"diff_{space.name}", placeholder="same formats as above")
    other = parse_or_error(space, other_text) if other_text.strip() else None

if cell is None:
    st.stop()

validity = space.is_valid(cell)
if not validity.valid:
    st.error(f"Invalid {space.title} cell: {validity.reason}")

left, right = st.columns([3, 2], gap="large")
with left:
    st.subheader("Drawing")
    show_cell_drawing(space, cell, highlight_diff=other, key="cell_drawing", file_stem=file_stem(space, cell))
    if other is not None:
        try:
            st.metric("Edit distance to the other cell", space.edit_distance(cell, other))
        except NasvizError as exc:
            st.warning(f"No edit distance: {exc}")
    st.download_button("Cell JSON", data=cell_json_text(space, cell), file_name=f"{file_stem(space, cell)}.json",
                       mime="application/json", key="cell_json", on_click="ignore", icon=":material/download:")

with right:
    st.subheader("Description")
    if validity.valid:
        st.markdown("**Canonical form**")
        st.json(canonical_fields(space, cell), expanded=True)
        st.markdown("**Network cost per dataset** (FLOPs = multiply-adds)")
        st.dataframe(cost_rows(space, cell), hide_index=True, width="stretch")
        st.markdown("**Op counts**")
        st.dataframe(op_count_rows(space, cell), hide_index=True, width="stretch")
    else:
        st.json(space.describe(cell), expanded=True)
