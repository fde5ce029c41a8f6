"""Neighbour Walk: from a start cell, step to the nearest unvisited cell in an encoder's latent space (arch2vec
figure 2), drawing each cell with its changes highlighted; compare two encoders; decode a latent interpolation;
and plot latent L2 distance against edit distance (figure 3)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from nasviz import latent
from nasviz.encoders.store import EmbeddingSet, available_encoders, model_file_stamp
from nasviz.errors import NasvizError
from nasviz.ui import setup_page, show_cell_drawing, show_figure, space_selector
from nasviz.walk import (
    Walk,
    cell_for_id,
    decode_walk,
    l2_summary,
    l2_vs_edit_distance,
    nearest_neighbour_walk,
    typed_cell_id,
)

setup_page("Neighbour Walk")
st.title("Neighbour Walk")
st.caption("Each step moves to the nearest cell not visited yet (L2 over the encoder's embedding table), as in "
           "arch2vec's figure 2: a smooth latent space changes few ops per step. Changed ops are highlighted.")


# ---- carried start (Latent Space page or ?space=&encoder=&cell= in the URL) ----------------------

def carry_start() -> None:
    """Move a start cell carried from another page or the URL into this page's widgets (once)."""
    carried: dict[str, Any] | None = st.session_state.get("walk_start")
    params = st.query_params
    if carried is None and params.get("cell"):
        carried = {"space": params.get("space", "nb201"), "cell_id": params.get("cell"), "encoder": params.get("encoder"),
                   "time": f"url:{params.get('space')}:{params.get('cell')}:{params.get('encoder')}"}
    if not carried or st.session_state.get("_walk_consumed") == carried.get("time"):
        return
    st.session_state["_walk_consumed"] = carried.get("time")
    space_name = str(carried.get("space") or "nb201")
    st.session_state["space"] = space_name
    st.session_state[f"walk_start_text_{space_name}"] = str(carried.get("cell_id", ""))
    if carried.get("encoder"):
        st.session_state[f"walk_encoder_{space_name}"] = str(carried["encoder"])


carry_start()


@st.cache_resource(show_spinner=False, max_entries=8)
def load_embeddings(space: str, encoder: str, stamp: int) -> EmbeddingSet:
    from nasviz.encoders.store import load_embeddings as load

    return load(space, encoder)


def embeddings_of(space: str, encoder: str) -> EmbeddingSet:
    return load_embeddings(space, encoder, model_file_stamp(space, encoder))


@st.cache_data(show_spinner=False, ttl=60)
def metric_choices(space: str) -> list[latent.MetricChoice]:
    return latent.metric_choices(space)


@st.cache_data(show_spinner=False, max_entries=16)
def metric_array(space: str, key: str, cell_ids: tuple[str, ...]) -> np.ndarray:
    return latent.metric_values(space, key, cell_ids)


@st.cache_data(show_spinner="Measuring latent distances of cell pairs...", max_entries=16)
def l2_pairs(space: str, encoder: str, n_cells: int, seed: int) -> pd.DataFrame:
    return l2_vs_edit_distance(embeddings_of(space, encoder), n_cells=n_cells, seed=seed)


@st.cache_resource(show_spinner="Loading the encoder model...", max_entries=4)
def load_encoder(name: str, space: str) -> Any:
    from nasviz.encoders.base import get_encoder

    return get_encoder(name, space)


def has_decoder(name: str) -> bool:
    try:
        from nasviz.encoders.base import encoder_class

        return bool(encoder_class(name).has_decoder)
    except (NasvizError, ImportError, AttributeError):
        return False


# ---- controls --------------------------------------------------------------------------------

space = space_selector(key="space")
encoders = available_encoders(space.name)
if not encoders:
    st.warning(f"No trained encoder for {space.title} yet. Train one with "
               f"`nasviz encoders train arch2vec --space {space.name}`.")
    st.stop()
encoder_key = f"walk_encoder_{space.name}"
if st.session_state.get(encoder_key) not in encoders:
    st.session_state[encoder_key] = "arch2vec" if "arch2vec" in encoders else encoders[0]

top = st.columns([2, 3, 2])
encoder = top[0].selectbox("Encoder", encoders, key=encoder_key)
embeddings = embeddings_of(space.name, encoder)
start_key = f"walk_start_text_{space.name}"
if not st.session_state.get(start_key):
    st.session_state[start_key] = str(embeddings.cell_ids[0])
start_text = top[1].text_input("Start cell", key=start_key,
                               help=f"A cell id from the map, or a cell: {space.input_format}")
steps = int(top[2].slider("Steps", 1, 50, 15, key="walk_steps"))

choices = metric_choices(space.name)
labels = {c.key: c.label for c in choices}
options = [c.key for c in choices]
default = latent.default_metric(choices)
row = st.columns([3, 2])
metric_key = row[0].selectbox("Metric along the walk", options, index=options.index(default.key) if default else 0,
                              format_func=lambda k: labels.get(k, k), key=f"walk_metric_{space.name}") if options else None
others = [e for e in encoders if e != encoder]
second = None
with row[1]:
    if st.toggle("Compare with a second encoder", key="walk_compare", disabled=not others,
                 help="Needs a second trained encoder." if not others else None) and others:
        second = st.selectbox("Second encoder", others, index=others.index("raw") if "raw" in others else 0,
                              key=f"walk_second_{space.name}")

try:
    start_id = typed_cell_id(space, start_text, embeddings)
except NasvizError as exc:
    st.error(f"Cannot start a walk from {start_text.strip()!r}: {exc}")
    st.stop()
st.query_params.update({"space": space.name, "encoder": encoder, "cell": start_id})


# ---- the walk(s) -----------------------------------------------------------------------------

def run_walk(name: str) -> Walk:
    emb = embeddings_of(space.name, name)
    values = metric_array(space.name, metric_key, tuple(emb.cell_ids.tolist())) if metric_key else None
    return nearest_neighbour_walk(emb, start_id, steps, space=space, metric=values, metric_key=metric_key)


try:
    walks = [run_walk(encoder)] + ([run_walk(second)] if second else [])
except NasvizError as exc:
    st.error(str(exc))
    st.stop()

metric_text = labels.get(metric_key or "", "metric")
summary = st.columns(len(walks) * 2)
for i, walk in enumerate(walks):
    summary[2 * i].metric(f"{walk.encoder}: mean edit distance per step", f"{walk.mean_edit_distance:.2f}")
    changes = walk.to_frame()["metric_change"].abs()
    summary[2 * i + 1].metric(f"{walk.encoder}: mean |change| of the metric",
                              f"{changes.mean():.3g}" if changes.notna().any() else "n/a")

fig = latent.walk_metric_figure(walks, metric_text)
frames = pd.concat([w.to_frame().assign(encoder=w.encoder) for w in walks], ignore_index=True)
show_figure(fig, f"walk_{space.name}_{start_id}", data=frames, key="walk_metric_fig")


def captions_for(walk: Walk) -> list[str]:
    out = []
    for s in walk.steps:
        parts = [f"step {s.step}: cell {s.cell_id}"]
        if s.edit_distance is not None:
            parts.append(f"edit distance {s.edit_distance}")
        if np.isfinite(s.metric):
            parts.append(f"{s.metric:.4g}" + (f" ({s.metric_change:+.3g})" if np.isfinite(s.metric_change) else ""))
        out.append(" · ".join(parts))
    return out


def show_walk(walk: Walk, per_row: int) -> None:
    cells = [cell_for_id(space, c) for c in walk.cell_ids]
    captions = captions_for(walk)
    table = walk.to_frame()
    table.insert(2, "cell", latent.cell_labels(space.name, walk.cell_ids))
    st.dataframe(table.drop(columns=["position"]).rename(columns={"metric": metric_text}), hide_index=True,
                 width="stretch", key=f"walk_table_{walk.encoder}")
    if all(c is not None for c in cells):
        st.download_button("Walk drawings (PDF)", data=lambda: latent.walk_drawing(
            space, cells, captions, "pdf", title=f"{walk.encoder} nearest-neighbour walk on {space.title}"),
            file_name=f"walk_{space.name}_{walk.encoder}_{walk.cell_ids[0]}.pdf", mime="application/pdf",
            key=f"walk_pdf_{walk.encoder}", on_click="ignore", icon=":material/download:")
    grid = st.columns(per_row)
    previous = None
    for i, (cell, caption) in enumerate(zip(cells, captions, strict=True)):
        with grid[i % per_row]:
            st.caption(caption)
            if cell is None:
                st.write("(the id does not describe the cell: no drawing)")
                continue
            show_cell_drawing(space, cell, highlight_diff=previous, key=f"walk_{walk.encoder}_{i}", downloads=False)
            previous = cell


st.subheader("The walk" if len(walks) == 1 else "The walks side by side")
columns = st.columns(len(walks))
for column, walk in zip(columns, walks, strict=True):
    with column:
        if len(walks) > 1:
            st.markdown(f"**{walk.encoder}** (mean edit distance {walk.mean_edit_distance:.2f})")
        show_walk(walk, per_row=4 if len(walks) == 1 else 2)


# ---- decoded interpolation ---------------------------------------------------------------------

st.subheader("Decode a latent interpolation")
# which encoders decode is known only by importing their models (torch): do it when the section is opened
if st.toggle("Decode points between two cells", key="walk_decode",
             help="Interpolates linearly between the latents of two cells and decodes each point; decodes that "
                  "are not cells of the space are flagged invalid.") and not (
        decoders := [e for e in [encoder] + others if has_decoder(e)]):
    st.info("None of the trained encoders has a decoder (arch2vec, GAE and VGAE do).")
elif st.session_state.get("walk_decode"):
    row = st.columns([2, 3, 1, 1])
    decoder_name = row[0].selectbox("Decoder", decoders, key=f"walk_decoder_{space.name}")
    end_key = f"walk_end_text_{space.name}"
    if not st.session_state.get(end_key):
        st.session_state[end_key] = walks[0].cell_ids[-1]
    end_text = row[1].text_input("End cell", key=end_key)
    points = int(row[2].number_input("Steps", 1, 40, 10, key="walk_decode_steps"))
    constrained = row[3].toggle("Legal cells only", key="walk_constrained",
                                help="Restrict the decoder to cells of the space (no invalid decodes).")
    try:
        end_id = typed_cell_id(space, end_text)
        model = load_encoder(decoder_name, space.name)
        values = metric_array(space.name, metric_key, tuple(embeddings.cell_ids.tolist())) if metric_key else None
        lookup = dict(zip(embeddings.cell_ids.tolist(), values.tolist(), strict=True)) if values is not None else {}
        decoded = decode_walk(model, space.parse(cell_for_id(space, start_id) or start_text),
                              space.parse(cell_for_id(space, end_id) or end_text), points, constrained=constrained,
                              metric=lambda cid: lookup.get(cid, float("nan")))
    except NasvizError as exc:
        st.error(f"Cannot decode the interpolation: {exc}")
    else:
        stats = st.columns(3)
        stats[0].metric("Valid decodes", f"{decoded.validity:.0%}")
        stats[1].metric("Distinct cells", decoded.distinct_cells)
        invalid = sum(not s.valid for s in decoded.steps)
        stats[2].metric("Invalid decodes", invalid)
        st.dataframe(decoded.to_frame(), hide_index=True, width="stretch", key="decoded_table")
        captions = [f"t = {s.t:.2f}: " + (f"cell {s.cell_id}" if s.valid else "INVALID decode")
                    + (f" · edit distance {s.edit_distance}" if s.edit_distance is not None else "")
                    for s in decoded.steps]
        st.download_button("Decoded walk drawings (PDF)", data=lambda: latent.walk_drawing(
            space, [s.cell for s in decoded.steps], captions, "pdf", title=f"{decoder_name} decoded interpolation"),
            file_name=f"decoded_{space.name}_{decoder_name}_{start_id}_{end_id}.pdf", mime="application/pdf",
            key="decoded_pdf", on_click="ignore", icon=":material/download:")
        grid = st.columns(4)
        previous = None
        for i, (step, caption) in enumerate(zip(decoded.steps, captions, strict=True)):
            with grid[i % 4]:
                if not step.valid:
                    st.error(caption, icon=":material/block:")
                    continue
                st.caption(caption)
                show_cell_drawing(space, step.cell, highlight_diff=previous, key=f"decoded_{i}", downloads=False)
                previous = step.cell


# ---- L2 versus edit distance ---------------------------------------------------------------------

st.subheader("Latent distance versus edit distance")
if st.toggle("Show L2 distance by edit distance (arch2vec figure 3)", key="walk_l2"):
    n_cells = int(st.select_slider("Cells sampled (all pairs among them)", [100, 200, 400, 800], 400, key="walk_l2_n"))
    pairs = {w.encoder: l2_pairs(space.name, w.encoder, n_cells, 0) for w in walks}
    st.caption("On NB201 the cells form a long random walk with one edit between consecutive cells, as in the paper; "
               "distances are divided by each encoder's median so encoders of different scales compare.")
    show_figure(latent.l2_edit_figure(pairs), f"l2_vs_edit_{space.name}",
                data=pd.concat([p.assign(encoder=e) for e, p in pairs.items()], ignore_index=True), key="l2_fig")
    st.dataframe(pd.concat([l2_summary(p).assign(encoder=e) for e, p in pairs.items()], ignore_index=True),
                 hide_index=True, width="stretch", key="l2_summary")
