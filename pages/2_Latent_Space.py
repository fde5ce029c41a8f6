"""Latent Space: an encoder's embeddings projected to 2-D (t-SNE, UMAP, PCA), coloured by any metric (arch2vec
figure 4), with hover, click/lasso selection (table + drawings), metric-range filters and two encoders side by side."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st
from streamlit.errors import StreamlitAPIException

from nasviz import agnet_view, latent, projection
from nasviz.encoders.store import EmbeddingSet, available_encoders, find_model_dir, model_file_stamp
from nasviz.errors import NasvizError
from nasviz.ui import setup_page, show_cell_drawing, show_figure, space_selector
from nasviz.walk import cell_for_id

MAX_DRAWINGS = 8
WALK_PAGE = "pages/3_Neighbour_Walk.py"

setup_page("Latent Space")
st.title("Latent Space")
st.caption("Each point is a cell, placed by a 2-D projection of its encoder embedding. Hover for the cell and its "
           "metrics; click, box- or lasso-select points to list and draw them; open a walk from a selected cell.")


# ---- cached loading (first paint comes from these caches) -----------------------------------

def _stamp(path: Path | None) -> int:
    try:
        return path.stat().st_mtime_ns if path is not None else 0
    except FileNotFoundError:
        return 0


def embeddings_stamp(space: str, encoder: str) -> int:
    return model_file_stamp(space, encoder)


def projection_stamp(space: str, encoder: str, method: str) -> tuple[int, ...]:
    return tuple(_stamp(p) for p in projection.cache_candidates(space, encoder, method))


@st.cache_resource(show_spinner=False, max_entries=8)
def load_embeddings(space: str, encoder: str, stamp: int) -> EmbeddingSet:
    from nasviz.encoders.store import load_embeddings as load

    return load(space, encoder)


@st.cache_data(show_spinner=False, max_entries=32)
def projection_lookup(space: str, encoder: str, method: str, emb_stamp: int, proj_stamp: tuple[int, ...]) -> dict[str, Any]:
    lookup = projection.lookup_cached(load_embeddings(space, encoder, emb_stamp), method)
    coords = lookup.projection.coords if lookup.projection is not None else None
    indices = lookup.projection.indices if lookup.projection is not None else None
    params = lookup.projection.params if lookup.projection is not None else {}
    return {"status": lookup.status, "message": lookup.message, "path": str(lookup.path), "coords": coords,
            "indices": indices, "params": params}


@st.cache_data(show_spinner=False, max_entries=32)
def map_frame(space: str, encoder: str, method: str, emb_stamp: int, proj_stamp: tuple[int, ...],
              metric_keys: tuple[str, ...]) -> pd.DataFrame:
    embeddings = load_embeddings(space, encoder, emb_stamp)
    found = projection_lookup(space, encoder, method, emb_stamp, proj_stamp)
    proj = projection.Projection(space, encoder, method, found["coords"], found["indices"],
                                 projection.embeddings_fingerprint(embeddings), found["params"])
    return latent.assemble_map(embeddings, proj, metric_keys)


@st.cache_data(show_spinner=False, ttl=60)
def metric_choices(space: str) -> list[latent.MetricChoice]:
    return latent.metric_choices(space)


def compute_pca_now(space: str, encoder: str) -> None:
    """PCA takes well under a second: compute it inline so the page always has a map to show."""
    with st.spinner("Computing the PCA projection..."):
        embeddings = load_embeddings(space, encoder, embeddings_stamp(space, encoder))
        projection.get_projection(space, encoder, "pca", embeddings=embeddings)


# ---- controls --------------------------------------------------------------------------------

space = space_selector(key="space")
encoders = available_encoders(space.name)
if not encoders:
    st.warning(f"No trained encoder for {space.title} yet. Train one with "
               f"`nasviz encoders train arch2vec --space {space.name}` (the Encoders page shows progress).")
    st.stop()

controls = st.columns([2, 2, 3])
default_encoder = encoders.index("arch2vec") if "arch2vec" in encoders else 0
encoder = controls[0].selectbox("Encoder", encoders, index=default_encoder, key=f"latent_encoder_{space.name}")
emb_stamp = embeddings_stamp(space.name, encoder)


def first_cached_method(space_name: str, encoder_name: str) -> str:
    for method in ("tsne", "umap", "pca"):
        if any(p.exists() for p in projection.cache_candidates(space_name, encoder_name, method)):
            return method
    return "pca"


method_key = f"latent_method_{space.name}_{encoder}"
if method_key not in st.session_state:
    st.session_state[method_key] = first_cached_method(space.name, encoder)
method = controls[1].radio("Projection", list(projection.METHODS), key=method_key, horizontal=True,
                           format_func=lambda m: projection.METHOD_TITLES[m])
view = controls[2].radio("View", ["Points", "Binned mean (density)"], horizontal=True, key="latent_view",
                         help="Binned mean: the average metric of the cells in each small square (arch2vec figure 4).")

others = [e for e in encoders if e != encoder]
compare = st.toggle("Compare with a second encoder", key="latent_compare", disabled=not others,
                    help="Needs a second trained encoder." if not others else None)
second = None
if compare and others:
    default_second = others.index("raw") if "raw" in others else 0
    second = st.selectbox("Second encoder", others, index=default_second, key=f"latent_second_{space.name}")

choices = metric_choices(space.name)
labels = {c.key: c.label for c in choices}
if not choices:
    st.info(f"No metrics for {space.title}: import a benchmark (`nasviz data status` lists the commands). "
            "The map is shown uncoloured.")
default = latent.default_metric(choices)
metric_options = [c.key for c in choices]
color_key = st.selectbox("Colour by", metric_options, index=metric_options.index(default.key) if default else 0,
                         format_func=lambda k: labels.get(k, k), key=f"latent_color_{space.name}") if choices else None

filters: dict[str, tuple[float, float]] = {}
with st.expander("Filter by metric ranges", icon=":material/filter_alt:"):
    filter_keys = st.multiselect("Metrics to filter by", metric_options, format_func=lambda k: labels.get(k, k),
                                 key=f"latent_filters_{space.name}")
    filter_slots = {key: st.empty() for key in filter_keys}


# ---- projection state: cached, computing in the background, or stale ---------------------------

def projection_ready(encoder_name: str) -> str | None:
    """The method to draw for ``encoder_name`` now (the chosen one when cached, else PCA while it computes)."""
    stamp = embeddings_stamp(space.name, encoder_name)
    found = projection_lookup(space.name, encoder_name, method, stamp, projection_stamp(space.name, encoder_name, method))
    if found["status"] == "hit":
        return method
    if found["status"] in ("stale", "corrupt"):
        st.warning(found["message"])
    if method == "pca":
        compute_pca_now(space.name, encoder_name)
        return "pca"
    job = projection.start_projection_job(space.name, encoder_name, method)
    show_job_progress(job)
    pca = projection_lookup(space.name, encoder_name, "pca", stamp, projection_stamp(space.name, encoder_name, "pca"))
    if pca["status"] != "hit":
        compute_pca_now(space.name, encoder_name)
    st.caption(f"Showing PCA for {encoder_name} while {projection.METHOD_TITLES[method]} is computed.")
    return "pca"


def show_job_progress(job: projection.ProjectionJob) -> None:
    @st.fragment(run_every=1.0)
    def poll() -> None:
        if job.done:
            if job.error:
                st.error(f"{projection.METHOD_TITLES[job.method]} of {job.encoder} failed: {job.error}")
                return
            st.rerun(scope="app")
        st.progress(job.fraction, text=f"{projection.METHOD_TITLES[job.method]} of {job.encoder} in the background: "
                                       f"{job.message} ({job.elapsed:.0f} s). The map updates when it is done.")

    poll()


panels = [encoder] + ([second] if second else [])
ready: dict[str, str] = {}
for name in panels:
    drawn = projection_ready(name)
    if drawn:
        ready[name] = drawn

hover_keys = tuple(dict.fromkeys([k for k in (color_key, *filter_keys) if k]
                                 + [c.key for c in choices if c.key.startswith(("accuracy/", "cost/params"))][:2]))
frames: dict[str, pd.DataFrame] = {}
try:
    for name, drawn in ready.items():
        frames[name] = map_frame(space.name, name, drawn, embeddings_stamp(space.name, name),
                                 projection_stamp(space.name, name, drawn), hover_keys)
except NasvizError as exc:
    st.error(str(exc))
    st.stop()

# metric-range sliders (bounds from the data)
if filter_keys and frames:
    reference = next(iter(frames.values()))
    for key in filter_keys:
        values = reference[key].to_numpy(dtype=np.float64)
        finite = values[np.isfinite(values)]
        if not len(finite):
            filter_slots[key].caption(f"{labels.get(key, key)}: no values")
            continue
        low, high = float(finite.min()), float(finite.max())
        if low == high:
            continue
        filters[key] = filter_slots[key].slider(labels.get(key, key), low, high, (low, high), key=f"range_{space.name}_{key}")

# the selection: points picked in the maps (their widget state holds the last event) or carried in from another
# page through st.session_state[selection_key]; the "generation" in the chart keys lets the selection be cleared
selection_key = f"latent_selection_{space.name}"
generation = st.session_state.setdefault("latent_selection_generation", 0)
chart_keys = {name: f"map_{space.name}_{name}_{drawn}_{generation}" for name, drawn in ready.items()}
picked: dict[str, list[str]] = {}
for name, frame in frames.items():
    rows = latent.selected_rows(st.session_state.get(f"{chart_keys[name]}_chart"))
    picked[name] = frame["cell_id"].iloc[[r for r in rows if 0 <= r < len(frame)]].tolist()
carried: list[str] = [str(c) for c in st.session_state.get(selection_key, [])]
from_maps = list(dict.fromkeys(c for ids in picked.values() for c in ids))
selected: list[str] = from_maps or carried


# ---- maps ------------------------------------------------------------------------------------

def color_range(frames: dict[str, pd.DataFrame], key: str | None) -> tuple[float, float] | None:
    if not key:
        return None
    values = np.concatenate([f[key].to_numpy(dtype=np.float64) for f in frames.values()])
    values = values[np.isfinite(values)]
    if not len(values):
        return None
    return float(np.percentile(values, 2)), float(np.percentile(values, 98))


shared_range = color_range(frames, color_key)
if view.startswith("Binned") and color_key:
    options = st.columns(3)
    bins = options[0].slider("Bins per axis", 10, 120, 51, key="latent_bins")
    mark_top = options[1].toggle("Mark the best 1 %", key="latent_top",
                                 help="Red dots: the 1 % best cells (highest accuracy; lowest latency, size or FLOPs).")
columns = st.columns(len(frames)) if frames else []
for column, (name, frame) in zip(columns, frames.items(), strict=True):
    with column:
        drawn = ready[name]
        title = latent.projection_title(space.name, name, drawn)
        mask = latent.range_mask(frame, filters) if filters else None
        stem = f"latent_{space.name}_{name}_{drawn}"
        if view.startswith("Binned") and color_key:
            above = below = None
            if mark_top:  # the best 1 %: highest accuracy, lowest latency / size
                higher = next((c.higher_is_better for c in choices if c.key == color_key), True)
                threshold = float(np.nanpercentile(frame[color_key].to_numpy(dtype=np.float64), 99 if higher else 1))
                above, below = (threshold, None) if higher else (None, threshold)
            fig, binned = latent.density_figure(frame, color_key, bins=bins, title=title, label=labels.get(color_key, ""),
                                                color_range=shared_range, mask=mask, highlight_above=above,
                                                highlight_below=below)
            show_figure(fig, f"{stem}_density", data=binned.to_frame(), key=f"density_{name}_{drawn}")
            st.caption(f"{int((binned.counts > 0).sum()):,} non-empty bins of {bins * bins:,}; "
                       "select cells in the Points view.")
        else:
            # ring the selected cells this map did not pick itself (picked points are highlighted by Plotly)
            ring = [c for c in selected if c not in picked.get(name, [])]
            fig = latent.map_figure(frame, color_key, title=title, labels=labels, hover_keys=hover_keys, mask=mask,
                                    selected=ring, color_range=shared_range)
            show_figure(fig, stem, data=frame, key=chart_keys[name], on_select="rerun",
                        selection_mode=("points", "box", "lasso"))
        shown = int(mask.sum()) if mask is not None else len(frame)
        st.caption(f"{shown:,} of {len(frame):,} cells shown" + (" (filters applied)" if filters else ""))


# ---- AG-Net: generated cells on this map (AG-Net paper figures 1 right and 13) ------------------------

@st.cache_resource(show_spinner=False, max_entries=2)
def load_agnet(space_name: str, stamp: int) -> Any:
    return agnet_view.load_agnet(space_name)


def agnet_stamp(space_name: str) -> int:
    return model_file_stamp(space_name, "agnet", "checkpoint.pt")


@st.cache_data(show_spinner=False, max_entries=8)
def agnet_accuracy(space_name: str, key: str) -> dict[str, float]:
    return agnet_view.table_accuracy(space_name, key)


@st.cache_data(show_spinner=False, max_entries=16)
def agnet_generated(space_name: str, map_encoder: str, drawn: str, emb: int, proj: tuple[int, ...], model: int,
                    n: int, seed: int, acc_key: str | None) -> tuple[pd.DataFrame, dict[str, Any]]:
    base = map_frame(space_name, map_encoder, drawn, emb, proj, ())
    accuracy = agnet_accuracy(space_name, acc_key) if acc_key else None
    return agnet_view.generated_on_map(base, n=n, seed=seed, accuracy=accuracy, encoder=load_agnet(space_name, model))


@st.cache_data(show_spinner=False, max_entries=8)
def agnet_shift(space_name: str, model: int, acc_key: str, train_cells: int, samples: int, epochs: int,
                seed: int) -> dict[str, Any]:
    return agnet_view.retraining_accuracy_shift(agnet_accuracy(space_name, acc_key), space=space_name, train_cells=train_cells,
                                                samples=samples, epochs=epochs, seed=seed,
                                                encoder=load_agnet(space_name, model))


if encoder in frames and find_model_dir(space.name, "agnet") is not None:
    with st.expander("AG-Net: generated cells", icon=":material/auto_awesome:"):
        st.caption(f"AG-Net has no encoder: the cells it generates are placed on the {encoder} map by cell id (AG-Net "
                   "figure 1, right). Weighted retraining on a few evaluated cells shifts the generated cells towards "
                   "good ones (figure 13).")
        acc_key = agnet_view.accuracy_key(choices, color_key)
        options = st.columns(4)
        n_generate = int(options[0].number_input("Cells to generate", 10, 20_000, 1000, step=100, key="agnet_n"))
        agnet_seed = int(options[1].number_input("Seed", 0, 2**31 - 1, 0, key="agnet_seed"))
        retrain_cells = int(options[2].number_input("Retraining cells", 2, 1000, 100, step=10, key="agnet_train_cells",
                                                    disabled=acc_key is None))
        retrain_epochs = int(options[3].number_input("Retraining epochs", 1, 50, 5, key="agnet_epochs",
                                                     disabled=acc_key is None))
        request_key = f"agnet_request_{space.name}"
        if st.button("Generate", key="agnet_generate", icon=":material/play_arrow:"):
            st.session_state[request_key] = (n_generate, agnet_seed, retrain_cells, retrain_epochs)
        request = st.session_state.get(request_key)
        if request is not None:
            n_generate, agnet_seed, retrain_cells, retrain_epochs = request
            drawn = ready[encoder]
            model_stamp = agnet_stamp(space.name)
            try:
                with st.spinner(f"Generating {n_generate:,} cells with AG-Net..."):
                    generated, summary = agnet_generated(space.name, encoder, drawn, embeddings_stamp(space.name, encoder),
                                                         projection_stamp(space.name, encoder, drawn), model_stamp,
                                                         n_generate, agnet_seed, acc_key)
                base = frames[encoder]
                fig = agnet_view.overlay_figure(base, generated, title=f"AG-Net samples on the {encoder} map "
                                                f"({projection.METHOD_TITLES.get(drawn, drawn)})")
                show_figure(fig, f"agnet_generated_{space.name}_{encoder}_{drawn}", data=generated, key="agnet_overlay")
                st.caption(f"{summary['valid']:,} of {summary['samples']:,} samples valid ({summary['validity']:.1%}), "
                           f"{summary['distinct']:,} distinct cells ({summary['uniqueness']:.1%} unique), "
                           f"{summary['on_map']:,} of them on the map; seed {summary['seed']}.")
                if acc_key is None:
                    st.info("Import a benchmark table (`nasviz data status`) to score the generated cells and show how "
                            "weighted retraining shifts them.")
                else:
                    with st.spinner(f"Weighted retraining on {retrain_cells} cells for {retrain_epochs} epochs..."):
                        shift = agnet_shift(space.name, model_stamp, acc_key, retrain_cells, 500, retrain_epochs, agnet_seed)
                    hist = agnet_view.shift_histogram(shift["before"], shift["after"], label=labels.get(acc_key, acc_key))
                    data = pd.DataFrame({"phase": ["before"] * len(shift["before"]) + ["after"] * len(shift["after"]),
                                         "accuracy": np.concatenate([shift["before"], shift["after"]])})
                    show_figure(hist, f"agnet_retraining_shift_{space.name}", data=data, key="agnet_shift")
                    st.caption(f"Mean {labels.get(acc_key, acc_key)} of {shift['samples']} generated cells: "
                               f"{shift['mean_before']:.2f} before, {shift['mean_after']:.2f} after retraining on "
                               f"{shift['train_cells']} random cells (mean {shift['train_mean']:.2f}) for "
                               f"{shift['epochs']} epochs; seed {shift['seed']}.")
            except NasvizError as exc:
                st.error(str(exc))


# ---- the selection: table, drawings, walk --------------------------------------------------------

st.subheader("Selected cells")
if not selected:
    st.info("Click a point, or use the box / lasso tools of a map, to select cells.")
    st.stop()

frame = next(iter(frames.values())) if frames else None
table_columns = ["cell_id", "cell", *[k for k in hover_keys if frame is not None and k in frame]]
table = (frame.set_index("cell_id").reindex(selected).reset_index()[table_columns] if frame is not None
         else pd.DataFrame({"cell_id": selected}))
st.dataframe(table.rename(columns=labels), hide_index=True, width="stretch")
st.download_button("Selected cells (CSV)", table.to_csv(index=False).encode(), file_name=f"selected_{space.name}.csv",
                   mime="text/csv", key="latent_selected_csv", on_click="ignore")
clear, walk_column = st.columns([1, 3])
if clear.button("Clear the selection", key="latent_clear"):
    st.session_state[selection_key] = []
    st.session_state["latent_selection_generation"] = generation + 1
    st.rerun()
with walk_column:
    start = st.selectbox("Start a neighbour walk from", selected, key="latent_walk_start")
    if st.button("Open the Neighbour Walk", key="latent_open_walk", icon=":material/route:"):
        st.session_state["walk_start"] = {"space": space.name, "cell_id": str(start), "encoder": encoder,
                                          "time": time.time()}
        try:
            st.switch_page(WALK_PAGE)
        except StreamlitAPIException:  # the page runs outside the app (no pages registered)
            st.info("The start cell is set: open the Neighbour Walk page.")

shown_cells = selected[:MAX_DRAWINGS]
if len(selected) > MAX_DRAWINGS:
    st.caption(f"Drawing the first {MAX_DRAWINGS} of {len(selected)} selected cells.")
grid = st.columns(min(4, len(shown_cells)))
for i, cell_id in enumerate(shown_cells):
    cell = cell_for_id(space, cell_id)
    with grid[i % len(grid)]:
        if cell is None:
            st.write(f"cell {cell_id} (no drawing: the id does not describe the cell)")
            continue
        show_cell_drawing(space, cell, title=f"cell {cell_id}", key=f"latent_drawing_{cell_id}",
                          file_stem=f"{space.name}_cell_{cell_id}", downloads=False)
