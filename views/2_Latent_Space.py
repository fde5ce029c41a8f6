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
from nasviz.spaces import SearchSpace
from nasviz.ui import setup_page, show_cell_drawing, show_figure, space_selector
from nasviz.ui.guard import guarded, md_escape
from nasviz.walk import cell_for_id

MAX_DRAWINGS = 8
MAX_TYPED_IDS = 500
WALK_PAGE = "views/3_Neighbour_Walk.py"
#: the selection of a space's maps (plain key: kept across pages; the Neighbour Walk offers it as start cells)
SELECTION = "latent_selection_{space}"
GENERATION = "latent_selection_generation"


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


@st.cache_resource(show_spinner=False, max_entries=16)
def map_frame(space: str, encoder: str, method: str, emb_stamp: int, proj_stamp: tuple[int, ...],
              metric_keys: tuple[str, ...]) -> pd.DataFrame:
    embeddings = load_embeddings(space, encoder, emb_stamp)
    found = projection_lookup(space, encoder, method, emb_stamp, proj_stamp)
    proj = projection.Projection(space, encoder, method, found["coords"], found["indices"],
                                 projection.embeddings_fingerprint(embeddings), found["params"])
    return latent.assemble_map(embeddings, proj, metric_keys)  # shared, never modified by the page


@st.cache_data(show_spinner=False, ttl=60)
def metric_choices(space: str) -> list[latent.MetricChoice]:
    return latent.metric_choices(space)


def compute_pca_now(space: str, encoder: str) -> None:
    """PCA takes well under a second: compute it inline so the page always has a map to show."""
    with st.spinner("Computing the PCA projection..."):
        embeddings = load_embeddings(space, encoder, embeddings_stamp(space, encoder))
        projection.get_projection(space, encoder, "pca", embeddings=embeddings)


# ---- projection state: cached, computing in the background, or stale ---------------------------

def first_cached_method(space_name: str, encoder_name: str) -> str:
    for method in ("tsne", "umap", "pca"):
        if any(p.exists() for p in projection.cache_candidates(space_name, encoder_name, method)):
            return method
    return "pca"


def projection_ready(space_name: str, encoder_name: str, method: str) -> str:
    """The method to draw for ``encoder_name`` now (the chosen one when cached, else PCA while it computes)."""
    stamp = embeddings_stamp(space_name, encoder_name)
    found = projection_lookup(space_name, encoder_name, method, stamp, projection_stamp(space_name, encoder_name, method))
    if found["status"] == "hit":
        return method
    if found["status"] in ("stale", "corrupt"):
        st.warning(md_escape(found["message"]))
    if method == "pca":
        compute_pca_now(space_name, encoder_name)
        return "pca"
    job = projection.start_projection_job(space_name, encoder_name, method)
    show_job_progress(job)
    pca = projection_lookup(space_name, encoder_name, "pca", stamp, projection_stamp(space_name, encoder_name, "pca"))
    if pca["status"] != "hit":
        compute_pca_now(space_name, encoder_name)
    st.caption(f"Showing PCA for {md_escape(encoder_name)} while {projection.METHOD_TITLES[method]} is computed.")
    return "pca"


def show_job_progress(job: projection.ProjectionJob) -> None:
    @st.fragment(run_every=1.0)
    def poll() -> None:
        if job.done:
            if job.error:
                st.error(md_escape(f"{projection.METHOD_TITLES[job.method]} of {job.encoder} failed: {job.error}"))
                return
            st.rerun(scope="app")
        st.progress(job.fraction, text=md_escape(f"{projection.METHOD_TITLES[job.method]} of {job.encoder} in the "
                                                 f"background: {job.message} ({job.elapsed:.0f} s). The map updates "
                                                 "when it is done."))

    poll()


# ---- selection by id -------------------------------------------------------------------------------

def _select_typed(space_name: str, known: set[str], space: SearchSpace) -> None:
    text = st.session_state.get(f"latent_ids_{space_name}", "")
    found, missing = latent.parse_cell_ids(text, known, space, limit=MAX_TYPED_IDS)
    st.session_state[SELECTION.format(space=space_name)] = found
    st.session_state[f"latent_ids_missing_{space_name}"] = missing
    st.session_state[GENERATION] = st.session_state.get(GENERATION, 0) + 1  # the maps' own selections are cleared


# ---- the maps and the selection (one fragment: recolouring and selecting rerun only this) ------------

def colour_controls(space: SearchSpace, choices: list[latent.MetricChoice], frames: dict[str, pd.DataFrame]
                    ) -> tuple[str | None, latent.ColorScale, dict[str, tuple[float, float]]]:
    labels = {c.key: latent.grouped_label(c) for c in choices}
    options = [c.key for c in choices]
    default = latent.default_metric(choices)
    row = st.columns([4, 2, 2, 1.4, 1.6])
    color_key = row[0].selectbox("Colour by", options, index=options.index(default.key) if default else 0,
                                 format_func=lambda k: labels.get(k, k), key=f"latent_color_{space.name}",
                                 help="Grouped by dataset, CIFAR-10 first.") if choices else None
    scale = latent.ColorScale()
    if color_key and frames:
        choice = next(c for c in choices if c.key == color_key)
        values = np.concatenate([f[color_key].to_numpy(dtype=np.float64) for f in frames.values()])
        robust = latent.robust_range(values, choice.higher_is_better)
        if robust is not None:
            low_key, high_key = f"latent_cmin_{space.name}_{color_key}", f"latent_cmax_{space.name}_{color_key}"
            low = row[1].number_input("Colour from", value=robust[0], key=low_key, format="%.4g",
                                      help="Default: failed cells (the chance-level floor) left out, from the 2nd "
                                           "percentile of the others.")
            high = row[2].number_input("to", value=robust[1], key=high_key, format="%.4g")
            log = row[3].toggle("Log", key=f"latent_log_{space.name}", help="Logarithmic colour scale.")
            reverse = row[4].toggle("Reverse", key=f"latent_reverse_{space.name}", help="Reverse the colours.")
            scale = latent.ColorScale((float(min(low, high)), float(max(low, high))), log, reverse)
    filters: dict[str, tuple[float, float]] = {}
    with st.expander("Filter by metric ranges", icon=":material/filter_alt:"):
        filter_keys = st.multiselect("Metrics to filter by", options, format_func=lambda k: labels.get(k, k),
                                     key=f"latent_filters_{space.name}")
        reference = next(iter(frames.values())) if frames else None
        for key in filter_keys:
            if reference is None:
                break
            values = reference[key].to_numpy(dtype=np.float64)
            finite = values[np.isfinite(values)]
            if not len(finite):
                st.caption(f"{md_escape(labels.get(key, key))}: no values")
                continue
            low, high = float(finite.min()), float(finite.max())
            if low < high:
                filters[key] = st.slider(labels.get(key, key), low, high, (low, high), key=f"range_{space.name}_{key}")
    return color_key, scale, filters


@st.cache_resource(show_spinner=False, max_entries=24)
def cached_map_figure(space_name: str, name: str, drawn: str, emb: int, proj: tuple[int, ...], color_key: str | None,
                      hover_keys: tuple[str, ...], scale: latent.ColorScale, filters: tuple[tuple[str, float, float], ...],
                      ring: tuple[str, ...], labels: tuple[tuple[str, str], ...]) -> Any:
    """The map figure (shared between reruns and sessions: rebuilt only when what it shows changes)."""
    frame = map_frame(space_name, name, drawn, emb, proj, metric_keys(space_name))
    mask = latent.range_mask(frame, {k: (lo, hi) for k, lo, hi in filters}) if filters else None
    fig = latent.map_figure(frame, color_key, title=latent.projection_title(space_name, name, drawn), labels=dict(labels),
                            hover_keys=hover_keys, mask=mask, selected=list(ring), color_scale=scale)
    return fig, int(mask.sum()) if mask is not None else len(frame)


def metric_keys(space_name: str) -> tuple[str, ...]:
    return tuple(c.key for c in metric_choices(space_name))


@st.fragment
def map_view(space: SearchSpace, encoder: str, ready: dict[str, str], view: str) -> None:
    guarded(lambda: _map_view(space, encoder, ready, view), "Latent Space")


def _map_view(space: SearchSpace, encoder: str, ready: dict[str, str], view: str) -> None:
    choices = metric_choices(space.name)
    labels = {c.key: c.label for c in choices}
    keys = metric_keys(space.name)
    frames = {name: map_frame(space.name, name, drawn, embeddings_stamp(space.name, name),
                              projection_stamp(space.name, name, drawn), keys) for name, drawn in ready.items()}
    if not choices:
        st.info("No metrics for this space: import a benchmark (`nasviz data status` lists the commands). "
                "The map is shown uncoloured.")
    color_key, scale, filters = colour_controls(space, choices, frames)
    hover_keys = latent.hover_metrics(choices, color_key, list(filters))
    selection_key = SELECTION.format(space=space.name)
    reference = next(iter(frames.values()))
    known = set(reference["cell_id"].tolist())
    st.text_input("Select by id", key=f"latent_ids_{space.name}", placeholder="cell ids or arch strings, e.g. 6111, 17",
                  on_change=_select_typed, args=(space.name, known, space),
                  help=f"Up to {MAX_TYPED_IDS} cell ids (or cells in any format the space reads), separated by commas "
                       "or spaces: they are ringed on the maps and listed below.")
    missing = st.session_state.get(f"latent_ids_missing_{space.name}") or []
    if missing:
        st.warning(md_escape(f"Not on this map: {', '.join(missing[:20])}" + (" ..." if len(missing) > 20 else "")))

    # the selection: points picked in the maps (their widget state holds the last event), else the stored one
    # (typed ids, or carried from another page); the "generation" in the chart keys lets the selection be cleared
    generation = st.session_state.setdefault(GENERATION, 0)
    chart_keys = {name: f"map_{space.name}_{name}_{drawn}_{generation}" for name, drawn in ready.items()}
    picked: dict[str, list[str]] = {}
    for name, frame in frames.items():
        rows = latent.selected_rows(st.session_state.get(f"{chart_keys[name]}_chart"))
        picked[name] = frame["cell_id"].iloc[[r for r in rows if 0 <= r < len(frame)]].tolist()
    from_maps = list(dict.fromkeys(c for ids in picked.values() for c in ids))
    if from_maps:
        st.session_state[selection_key] = from_maps
    selected: list[str] = [str(c) for c in st.session_state.get(selection_key, [])]

    binned = view.startswith("Binned") and color_key
    if binned:
        options = st.columns(3)
        bins = options[0].slider("Bins per axis", 10, 120, 51, key="latent_bins")
        mark_top = options[1].toggle("Mark the best 1 %", key="latent_top",
                                     help="Red dots: the 1 % best cells (highest accuracy; lowest latency, size or FLOPs).")
    label_items = tuple(sorted(labels.items()))
    filter_items = tuple((k, lo, hi) for k, (lo, hi) in filters.items())
    columns = st.columns(len(frames))
    for column, (name, frame) in zip(columns, frames.items(), strict=True):
        with column:
            drawn = ready[name]
            stem = f"latent_{space.name}_{name}_{drawn}"
            if binned:
                mask = latent.range_mask(frame, filters) if filters else None
                above = below = None
                if mark_top:  # the best 1 %: highest accuracy, lowest latency / size
                    higher = next((c.higher_is_better for c in choices if c.key == color_key), True)
                    threshold = float(np.nanpercentile(frame[color_key].to_numpy(dtype=np.float64), 99 if higher else 1))
                    above, below = (threshold, None) if higher else (None, threshold)
                fig, grid = latent.density_figure(frame, color_key, bins=bins, title=latent.projection_title(
                    space.name, name, drawn), label=labels.get(color_key, ""), color_range=scale.range, mask=mask,
                    highlight_above=above, highlight_below=below)
                show_figure(fig, f"{stem}_density", data=grid.to_frame(), key=f"density_{name}_{drawn}")
                st.caption(f"{int((grid.counts > 0).sum()):,} non-empty bins of {bins * bins:,}; "
                           "select cells in the Points view.")
                shown = int(mask.sum()) if mask is not None else len(frame)
            else:
                # ring the selected cells this map did not pick itself (picked points are highlighted by Plotly)
                ring = tuple(c for c in selected if c not in picked.get(name, []))
                fig, shown = cached_map_figure(space.name, name, drawn, embeddings_stamp(space.name, name),
                                               projection_stamp(space.name, name, drawn), color_key, hover_keys, scale,
                                               filter_items, ring, label_items)
                show_figure(fig, stem, data=frame, key=chart_keys[name], on_select="rerun",
                            selection_mode=("points", "box", "lasso"))
            st.caption(f"{shown:,} of {len(frame):,} cells shown" + (" (filters applied)" if filters else ""))
    show_selection(space, encoder, reference, selected, hover_keys, labels, selection_key, generation)


@st.dialog("Cell drawing", width="large")
def enlarged_drawing(space: SearchSpace, cell: Any, cell_id: str) -> None:
    show_cell_drawing(space, cell, title=f"cell {cell_id}", key=f"latent_big_{cell_id}",
                      file_stem=f"{space.name}_cell_{cell_id}")


def show_selection(space: SearchSpace, encoder: str, frame: pd.DataFrame, selected: list[str],
                   hover_keys: tuple[str, ...], labels: dict[str, str], selection_key: str, generation: int) -> None:
    st.subheader("Selected cells")
    if not selected:
        st.info("Click a point, use the box / lasso tools of a map, or type ids in Select by id, to select cells.")
        return
    table_columns = ["cell_id", "cell", *[k for k in hover_keys if k in frame]]
    table = frame.set_index("cell_id").reindex(selected).reset_index()[table_columns]
    st.dataframe(table.rename(columns=labels), hide_index=True, width="stretch", key="latent_selected_table")
    st.download_button("Selected cells (CSV)", table.to_csv(index=False).encode(), file_name=f"selected_{space.name}.csv",
                       mime="text/csv", key="latent_selected_csv", on_click="ignore")
    clear, walk_column = st.columns([1, 3])
    if clear.button("Clear the selection", key="latent_clear"):
        st.session_state[selection_key] = []
        st.session_state[GENERATION] = generation + 1
        st.rerun(scope="fragment")
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
    cells = {cell_id: cell_for_id(space, cell_id) for cell_id in shown_cells}
    grid = st.columns(min(3, len(shown_cells)))
    for i, (cell_id, cell) in enumerate(cells.items()):
        with grid[i % len(grid)]:
            if cell is None:
                st.write(md_escape(f"cell {cell_id} (no drawing: the id does not describe the cell)"))
                continue
            show_cell_drawing(space, cell, title=f"cell {cell_id}", key=f"latent_drawing_{cell_id}",
                              file_stem=f"{space.name}_cell_{cell_id}", downloads=False)
            if st.button("Enlarge", key=f"latent_enlarge_{cell_id}", icon=":material/open_in_full:"):
                enlarged_drawing(space, cell, cell_id)


# ---- AG-Net: generated cells on this map (AG-Net paper figures 1 right and 13) ------------------------

@st.cache_resource(show_spinner=False, max_entries=2)
def load_agnet(space_name: str, stamp: int) -> Any:
    return agnet_view.load_agnet(space_name)


def agnet_stamp(space_name: str) -> int:
    return model_file_stamp(space_name, "agnet", "checkpoint.pt")


@st.cache_data(show_spinner=False, max_entries=8)
def agnet_accuracy(space_name: str, key: str) -> dict[str, float]:
    return agnet_view.table_accuracy(space_name, key)


@st.cache_resource(show_spinner=False)
def agnet_results() -> dict[tuple[Any, ...], Any]:
    """Results of AG-Net runs by their inputs (a plain store, so that a run can report its progress)."""
    return {}


def agnet_cached(key: tuple[Any, ...], compute: Any) -> Any:
    store = agnet_results()
    if key not in store:
        if len(store) >= 16:
            store.pop(next(iter(store)))
        store[key] = compute()
    return store[key]


@st.fragment
def agnet_view_section(space: SearchSpace, encoder: str, drawn: str) -> None:
    guarded(lambda: _agnet_section(space, encoder, drawn), "AG-Net")


def _agnet_section(space: SearchSpace, encoder: str, drawn: str) -> None:
    choices = metric_choices(space.name)
    labels = {c.key: c.label for c in choices}
    with st.expander("AG-Net: generated cells", icon=":material/auto_awesome:"):
        st.caption(f"AG-Net has no encoder: the cells it generates are placed on the {md_escape(encoder)} map by cell id "
                   "(AG-Net figure 1, right). Weighted retraining on a few evaluated cells shifts the generated cells "
                   "towards good ones (figure 13).")
        acc_key = agnet_view.accuracy_key(choices, st.session_state.get(f"latent_color_{space.name}"))
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
        if request is None:
            return
        n_generate, agnet_seed, retrain_cells, retrain_epochs = request
        model_stamp = agnet_stamp(space.name)
        emb, proj = embeddings_stamp(space.name, encoder), projection_stamp(space.name, encoder, drawn)
        base = map_frame(space.name, encoder, drawn, emb, proj, metric_keys(space.name))
        bar = st.progress(0.0, text=f"Generating {n_generate:,} cells with AG-Net...")

        def generate() -> tuple[pd.DataFrame, dict[str, Any]]:
            accuracy = agnet_accuracy(space.name, acc_key) if acc_key else None
            return agnet_view.generated_on_map(base[["cell_id", "x", "y"]], n=n_generate, seed=agnet_seed,
                                               accuracy=accuracy, encoder=load_agnet(space.name, model_stamp))

        generated, summary = agnet_cached(("generate", space.name, encoder, drawn, emb, proj, model_stamp, n_generate,
                                           agnet_seed, acc_key), generate)
        bar.progress(0.1 if acc_key else 1.0, text=f"Generated {n_generate:,} cells.")
        fig = agnet_view.overlay_figure(base, generated, title=f"AG-Net samples on the {encoder} map "
                                        f"({projection.METHOD_TITLES.get(drawn, drawn)})")
        show_figure(fig, f"agnet_generated_{space.name}_{encoder}_{drawn}", data=generated, key="agnet_overlay")
        st.caption(f"{summary['valid']:,} of {summary['samples']:,} samples valid ({summary['validity']:.1%}), "
                   f"{summary['distinct']:,} distinct cells ({summary['uniqueness']:.1%} unique), "
                   f"{summary['on_map']:,} of them on the map; seed {summary['seed']}.")
        if acc_key is None:
            bar.empty()
            st.info("Import a benchmark table (`nasviz data status`) to score the generated cells and show how "
                    "weighted retraining shifts them.")
            return

        def retrain() -> dict[str, Any]:
            return agnet_view.retraining_accuracy_shift(
                agnet_accuracy(space.name, acc_key), space=space.name, train_cells=retrain_cells, samples=500,
                epochs=retrain_epochs, seed=agnet_seed, encoder=load_agnet(space.name, model_stamp),
                progress=lambda fraction, text: bar.progress(0.1 + 0.85 * fraction, text=text))

        shift = agnet_cached(("shift", space.name, model_stamp, acc_key, retrain_cells, 500, retrain_epochs, agnet_seed),
                             retrain)
        bar.empty()
        label = labels.get(acc_key, acc_key)
        hist = agnet_view.shift_histogram(shift["before"], shift["after"], label=label)
        data = pd.DataFrame({"phase": ["before"] * len(shift["before"]) + ["after"] * len(shift["after"]),
                             "accuracy": np.concatenate([shift["before"], shift["after"]])})
        show_figure(hist, f"agnet_retraining_shift_{space.name}", data=data, key="agnet_shift")
        st.caption(md_escape(f"Mean {label} of {shift['samples']} generated cells: {shift['mean_before']:.2f} before, "
                             f"{shift['mean_after']:.2f} after retraining on {shift['train_cells']} random cells (mean "
                             f"{shift['train_mean']:.2f}) for {shift['epochs']} epochs; seed {shift['seed']}."))


# ---- the page ----------------------------------------------------------------------------------

def main() -> None:
    setup_page("Latent Space")
    st.title("Latent Space")
    st.caption("Each point is a cell, placed by a 2-D projection of its encoder embedding. Hover for the cell and its "
               "metrics; click, box- or lasso-select points (or type ids) to list and draw them; open a walk from a "
               "selected cell.")
    space = space_selector(key="space")
    encoders = available_encoders(space.name)
    if not encoders:
        st.warning(latent.no_encoder_hint(space))
        return
    controls = st.columns([2, 2, 3])
    default_encoder = encoders.index("arch2vec") if "arch2vec" in encoders else 0
    encoder = controls[0].selectbox("Encoder", encoders, index=default_encoder, key=f"latent_encoder_{space.name}")
    load_embeddings(space.name, encoder, embeddings_stamp(space.name, encoder))  # a corrupt file stops here
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
    ready = {name: projection_ready(space.name, name, method) for name in [encoder] + ([second] if second else [])}
    map_view(space, encoder, ready, view)
    if find_model_dir(space.name, "agnet") is not None:
        agnet_view_section(space, encoder, ready[encoder])


guarded(main, "Latent Space")
