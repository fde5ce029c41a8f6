"""Neighbour Walk: from a start cell, step to the nearest unvisited cell in an encoder's latent space (arch2vec
figure 2), drawing each cell with its changes highlighted; compare two encoders; decode a latent interpolation;
walk uphill with NAO's predictor (gradient ascent, predicted versus true metric); decode an AG-Net interpolation
in z; and plot latent L2 distance against edit distance (figure 3)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from nasviz import agnet_view, latent
from nasviz.encoders.store import EmbeddingSet, available_encoders, find_model_dir, model_file_stamp
from nasviz.errors import NasvizError
from nasviz.spaces import SearchSpace
from nasviz.ui import setup_page, show_cell_drawing, show_figure, space_selector
from nasviz.ui.guard import guarded, md_escape, show_error
from nasviz.walk import (
    Walk,
    cell_for_id,
    decode_walk,
    l2_summary,
    l2_vs_edit_distance,
    nearest_neighbour_walk,
    step_captions,
    typed_cell_id,
)


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


@st.cache_data(show_spinner=False, max_entries=16, ttl=60)
def table_values(space: str, key: str) -> dict[str, float]:
    """id -> true value of ``key`` in the space's imported benchmark table."""
    try:
        return agnet_view.table_accuracy(space, key)
    except NasvizError:
        return {}


@st.cache_data(show_spinner="Walking uphill with NAO's predictor...", max_entries=16)
def nao_walk(space: str, start: str, moves: int, max_step: int, true_key: str | None, stamp: int) -> list[dict[str, Any]]:
    from nasviz.encoders.nao import decode_walk
    from nasviz.spaces import get_space

    lookup = table_values(space, true_key) if true_key else {}
    space_obj = get_space(space)
    return decode_walk(load_encoder("nao", space), space_obj.parse(cell_for_id(space_obj, start) or start), steps=moves,
                       max_step=max_step, metric=lambda cid: lookup.get(cid, float("nan")))


@st.cache_data(show_spinner="Decoding the AG-Net z walk...", max_entries=16)
def agnet_walk(space: str, steps: int, seed: int, prior: str, decode: str, noise_seed: int, true_key: str | None,
               stamp: int) -> agnet_view.ZWalk:
    lookup = table_values(space, true_key) if true_key else {}
    return agnet_view.z_interpolation(load_encoder("agnet", space), steps=steps, seed=seed, prior=prior, decode=decode,
                                      noise_seed=noise_seed, metric=lambda cid: lookup.get(cid, float("nan")))



#: this page's state in st.session_state (plain keys survive visits to other pages; widget keys do not)
START_TEXT = "walk_start_text_{space}"  # the Start cell text field (widget)
START_SAVED = "walk_start_saved_{space}"  # what the field last held: the source of truth between visits
START_ID = "walk_start_id_{space}"  # the last valid start cell id (what the lower sections start from)
URL_SEEN = "_walk_url_seen"  # the (space, cell, encoder) of the URL already applied or written by this page
#: the selection of the Latent Space page, per space (plain key, written there)
LATENT_SELECTION = "latent_selection_{space}"
PRIORS = {"uniform": "U(-3, 3): the paper's search", "normal": "N(0, I): the training prior"}
DECODES = {"argmax": "argmax (deterministic)", "sampled": "sampled, same noise at every point"}


def set_start(space_name: str, cell_id: str, encoder: str | None = None) -> None:
    """Make ``cell_id`` the start cell of ``space_name`` (before the widgets are drawn, or in a callback)."""
    st.session_state[START_TEXT.format(space=space_name)] = cell_id
    st.session_state[START_SAVED.format(space=space_name)] = cell_id
    if encoder:
        st.session_state[f"walk_encoder_{space_name}"] = encoder


def carry_start() -> None:
    """Apply a start cell handed over once: from the Latent Space page (``walk_start``, applied once per hand-over)
    or from the URL (``?space=&encoder=&cell=``, applied on first load and when the URL really changes: never the
    parameters this page wrote itself)."""
    carried: dict[str, Any] | None = st.session_state.get("walk_start")
    if carried and st.session_state.get("_walk_consumed") != carried.get("time"):
        st.session_state["_walk_consumed"] = carried.get("time")
        space_name = str(carried.get("space") or "nb201")
        st.session_state["space"] = space_name
        set_start(space_name, str(carried.get("cell_id", "")), carried.get("encoder"))
        return
    params = st.query_params
    url = (params.get("space"), params.get("cell"), params.get("encoder"))
    if not url[1] or url == st.session_state.get(URL_SEEN):
        return
    st.session_state[URL_SEEN] = url
    space_name = str(url[0] or "nb201")
    st.session_state["space"] = space_name
    set_start(space_name, str(url[1]), url[2])


def write_url(space_name: str, encoder: str, start_id: str) -> None:
    """Show the walk in the URL (shareable), remembering it so the page never reads it back as a new start."""
    st.session_state[URL_SEEN] = (space_name, start_id, encoder)
    if (st.query_params.get("space"), st.query_params.get("cell"), st.query_params.get("encoder")) != (
            space_name, start_id, encoder):
        st.query_params.update({"space": space_name, "encoder": encoder, "cell": start_id})


def show_decoded_steps(space: SearchSpace, decoded_steps: list[Any], captions: list[str], key: str,
                       per_row: int = 4) -> None:
    """Each step's cell drawn with the changes from the previous valid cell highlighted; invalid decodes flagged."""
    grid = st.columns(per_row)
    previous = None
    for i, (step, caption) in enumerate(zip(decoded_steps, captions, strict=True)):
        with grid[i % per_row]:
            if not step.valid:
                st.error(md_escape(caption), icon=":material/block:")
                continue
            st.caption(md_escape(caption))
            show_cell_drawing(space, step.cell, highlight_diff=previous, key=f"{key}_{i}", downloads=False)
            previous = step.cell


def has_decoder(name: str) -> bool:
    try:
        from nasviz.encoders.base import encoder_class

        return bool(encoder_class(name).has_decoder)
    except (NasvizError, ImportError, AttributeError):
        return False


# ---- the walk (a fragment: a new start or step count reruns only this) ---------------------------------

def show_walk(space: SearchSpace, walk: Walk, metric_text: str, per_row: int) -> None:
    cells = [cell_for_id(space, c) for c in walk.cell_ids]
    captions = step_captions(walk)
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
            st.caption(md_escape(caption))
            if cell is None:
                st.write("(the id does not describe the cell: no drawing)")
                continue
            show_cell_drawing(space, cell, highlight_diff=previous, key=f"walk_{walk.encoder}_{i}", downloads=False)
            previous = cell


@st.fragment
def walk_view(space: SearchSpace, encoder: str, second: str | None, metric_key: str | None, metric_text: str) -> None:
    """The start cell, the steps, and the walk(s) from it: a new start reruns this fragment only (the whole page
    when a section below that starts from the same cell is open)."""
    guarded(lambda: _walk_view(space, encoder, second, metric_key, metric_text), "Neighbour Walk")


def _walk_view(space: SearchSpace, encoder: str, second: str | None, metric_key: str | None, metric_text: str) -> None:
    embeddings = embeddings_of(space.name, encoder)
    text_key, saved_key = START_TEXT.format(space=space.name), START_SAVED.format(space=space.name)
    selection = [str(c) for c in st.session_state.get(LATENT_SELECTION.format(space=space.name), [])]
    if text_key not in st.session_state:  # first visit, or back from another page: the saved start, else a default
        st.session_state[text_key] = (st.session_state.get(saved_key) or (selection[0] if selection else "")
                                      or str(embeddings.cell_ids[0]))
    top = st.columns([3, 2, 2])
    start_text = top[0].text_input("Start cell", key=text_key,
                                   help=f"A cell id from the map, or a cell: {space.input_format}")
    st.session_state[saved_key] = start_text
    if selection:
        top[1].selectbox("Or start from a cell selected on the Latent Space page", selection, index=None,
                         key=f"walk_from_selection_{space.name}", placeholder=f"{len(selection)} selected cells",
                         on_change=_start_from_selection, args=(space.name,))
    steps = int(top[2].slider("Steps", 1, 50, 15, key="walk_steps"))
    id_key = START_ID.format(space=space.name)
    try:
        start_id = typed_cell_id(space, start_text, embeddings)
    except NasvizError as exc:
        st.session_state[id_key + "_error"] = True
        show_error(exc, f"Cannot start a walk from {start_text.strip()!r}")
        return
    st.session_state[id_key + "_error"] = False
    changed = st.session_state.get(id_key) != start_id
    st.session_state[id_key] = start_id
    write_url(space.name, encoder, start_id)
    if changed and st.session_state.get("_walk_fragment_run") and any(
            st.session_state.get(k) for k in ("walk_decode", "walk_nao")):
        st.rerun(scope="app")  # the sections below start from this cell too

    def run_walk(name: str) -> Walk:
        emb = embeddings_of(space.name, name)
        values = metric_array(space.name, metric_key, tuple(emb.cell_ids.tolist())) if metric_key else None
        return nearest_neighbour_walk(emb, start_id, steps, space=space, metric=values, metric_key=metric_key)

    walks = [run_walk(encoder)] + ([run_walk(second)] if second else [])
    st.session_state[f"walk_end_{space.name}"] = walks[0].cell_ids[-1]
    summary = st.columns(len(walks) * 2)
    for i, walk in enumerate(walks):
        summary[2 * i].metric(f"{walk.encoder}: mean edit distance per step", f"{walk.mean_edit_distance:.2f}")
        changes = walk.to_frame()["metric_change"].abs()
        summary[2 * i + 1].metric(f"{walk.encoder}: mean |change| of the metric",
                                  f"{changes.mean():.3g}" if changes.notna().any() else "n/a")
    fig = latent.walk_metric_figure(walks, metric_text)
    frames = pd.concat([w.to_frame().assign(encoder=w.encoder) for w in walks], ignore_index=True)
    show_figure(fig, f"walk_{space.name}_{start_id}", data=frames, key="walk_metric_fig")
    st.subheader("The walk" if len(walks) == 1 else "The walks side by side")
    columns = st.columns(len(walks))
    for column, walk in zip(columns, walks, strict=True):
        with column:
            if len(walks) > 1:
                st.markdown(f"**{md_escape(walk.encoder)}** (mean edit distance {walk.mean_edit_distance:.2f})")
            show_walk(space, walk, metric_text, per_row=4 if len(walks) == 1 else 2)


def _start_from_selection(space_name: str) -> None:
    chosen = st.session_state.get(f"walk_from_selection_{space_name}")
    if chosen:
        set_start(space_name, str(chosen))
        st.session_state[f"walk_from_selection_{space_name}"] = None


# ---- the page ----------------------------------------------------------------------------------

def main() -> None:
    setup_page("Neighbour Walk")
    st.title("Neighbour Walk")
    st.caption("Each step moves to the nearest cell not visited yet (L2 over the encoder's embedding table), as in "
               "arch2vec's figure 2: a smooth latent space changes few ops per step. Changed ops are highlighted.")
    carry_start()
    space = space_selector(key="space")
    encoders = available_encoders(space.name)
    if not encoders:
        st.warning(latent.no_encoder_hint(space))
        return
    encoder_key = f"walk_encoder_{space.name}"
    if st.session_state.get(encoder_key) not in encoders:
        st.session_state[encoder_key] = "arch2vec" if "arch2vec" in encoders else encoders[0]
    choices = metric_choices(space.name)
    labels = {c.key: c.label for c in choices}
    options = [c.key for c in choices]
    default = latent.default_metric(choices)
    row = st.columns([2, 3, 2])
    encoder = row[0].selectbox("Encoder", encoders, key=encoder_key)
    embeddings = embeddings_of(space.name, encoder)  # a corrupt file stops here, with its message
    metric_key = row[1].selectbox("Metric along the walk", options, index=options.index(default.key) if default else 0,
                                  format_func=lambda k: labels.get(k, k),
                                  key=f"walk_metric_{space.name}") if options else None
    others = [e for e in encoders if e != encoder]
    second = None
    with row[2]:
        if st.toggle("Compare with a second encoder", key="walk_compare", disabled=not others,
                     help="Needs a second trained encoder." if not others else None) and others:
            second = st.selectbox("Second encoder", others, index=others.index("raw") if "raw" in others else 0,
                                  key=f"walk_second_{space.name}")
    metric_text = labels.get(metric_key or "", "metric")
    st.session_state["_walk_fragment_run"] = False
    walk_view(space, encoder, second, metric_key, metric_text)
    st.session_state["_walk_fragment_run"] = True
    start_id = st.session_state.get(START_ID.format(space=space.name))
    if start_id is None or st.session_state.get(START_ID.format(space=space.name) + "_error"):
        return
    end_default = str(st.session_state.get(f"walk_end_{space.name}") or start_id)
    for section in (lambda: decode_section(space, encoder, others, embeddings, metric_key, start_id, end_default),
                    lambda: nao_section(space, choices, labels, metric_key, start_id),
                    lambda: agnet_section(space, choices, labels, metric_key),
                    lambda: l2_section(space, [encoder] + ([second] if second else []))):
        guarded(section, "Neighbour Walk")


# ---- decoded interpolation ---------------------------------------------------------------------

def decode_section(space: SearchSpace, encoder: str, others: list[str], embeddings: EmbeddingSet, metric_key: str | None,
                   start_id: str, end_default: str) -> None:
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
            st.session_state[end_key] = end_default
        end_text = row[1].text_input("End cell", key=end_key)
        points = int(row[2].number_input("Steps", 1, 40, 10, key="walk_decode_steps"))
        constrained = row[3].toggle("Legal cells only", key="walk_constrained",
                                    help="Restrict the decoder to cells of the space (no invalid decodes).")
        try:
            end_id = typed_cell_id(space, end_text)
            model = load_encoder(decoder_name, space.name)
            values = metric_array(space.name, metric_key, tuple(embeddings.cell_ids.tolist())) if metric_key else None
            lookup = dict(zip(embeddings.cell_ids.tolist(), values.tolist(), strict=True)) if values is not None else {}
            decoded = decode_walk(model, space.parse(cell_for_id(space, start_id) or start_id),
                                  space.parse(cell_for_id(space, end_id) or end_text), points, constrained=constrained,
                                  metric=lambda cid: lookup.get(cid, float("nan")))
        except NasvizError as exc:
            show_error(exc, "Cannot decode the interpolation")
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
            show_decoded_steps(space, decoded.steps, captions, "decoded")


# ---- NAO: gradient-ascent decode walk --------------------------------------------------------------

def true_text(value: float, has_table: bool) -> str:
    """The true value of a NAO step for its caption."""
    if not has_table:
        return "n/a (no benchmark table imported)"
    return f"{value:.4g}" if np.isfinite(value) else "not in the table"


def nao_section(space: SearchSpace, choices: list[latent.MetricChoice], labels: dict[str, str], metric_key: str | None,
                start_id: str) -> None:
    accuracy_choice = agnet_view.accuracy_key(choices, preferred=metric_key)
    true_options = [c.key for c in choices if c.key.startswith("accuracy/")]
    st.subheader("NAO: gradient-ascent decode walk")
    if find_model_dir(space.name, "nao") is None:
        st.caption(f"No NAO model for {space.title}: train one with `nasviz encoders train nao --space {space.name}`.")
    elif st.toggle("Walk uphill with NAO's predictor from the start cell", key="walk_nao",
                   help="Each move is NAO's search step: gradient ascent of the predictor on the encoder outputs, with the "
                        "step size increased until a new cell decodes (masked decoder: always a valid cell)."):
        nao_row = st.columns([1, 1, 3])
        nao_moves = int(nao_row[0].number_input("Moves", 1, 20, 6, key="walk_nao_moves"))
        nao_eta = int(nao_row[1].number_input("Largest step size", 1, 200, 50, key="walk_nao_eta"))
        true_key = nao_row[2].selectbox("True metric (benchmark table)", true_options,
                                        index=true_options.index(accuracy_choice) if accuracy_choice in true_options else 0,
                                        format_func=lambda k: labels.get(k, k), key=f"walk_nao_true_{space.name}",
                                        help="Compare with the metric NAO was trained on.") if true_options else None
        try:
            nao_stamp = model_file_stamp(space.name, "nao", "checkpoint.pt")
            nao_rows = nao_walk(space.name, start_id, nao_moves, nao_eta, true_key, nao_stamp)
        except NasvizError as exc:
            show_error(exc, "Cannot run the NAO walk")
        else:
            from nasviz.encoders.nao import walk_gains

            target = load_encoder("nao", space.name).manifest.get("data", {}).get("source", "its training data")
            true_label = labels.get(true_key, "no imported table") if true_key else "no imported table"
            truth = (f"**True** = {md_escape(true_label)} from the imported benchmark table: a predicted gain is real only "
                     "if the true value rises too." if true_key else
                     "**True**: no benchmark table is imported, so true values are not shown (`nasviz data status` "
                     "lists the import commands).")
            st.caption(f"**Predicted** = NAO's predictor on each decoded cell (trained on {md_escape(target)}). {truth}")
            gains = walk_gains(nao_rows)
            stats = st.columns(4)
            stats[0].metric("Moves made", len(nao_rows) - 1)
            stats[1].metric("Predicted gain", f"{gains['predicted_gain']:+.3g}")
            stats[2].metric("True gain", f"{gains['true_gain']:+.3g}" if np.isfinite(gains["true_gain"]) else "n/a")
            stats[3].metric("Moves where predicted and true agree", f"{gains['steps_agreeing']} / {gains['steps_with_true']}",
                            help="Moves with the same sign of predicted and true change, among moves whose two cells "
                                 "are in the table.")
            if len(nao_rows) - 1 < nao_moves:
                st.info(f"The walk stopped after {len(nao_rows) - 1} moves: no step size up to {nao_eta} decoded a new cell.")
            nao_frame = pd.DataFrame(nao_rows).drop(columns=["cell"]).rename(
                columns={"predicted": "predicted (NAO)", "true": f"true ({true_label})"})
            st.dataframe(nao_frame, hide_index=True, width="stretch", key="nao_walk_table")
            nao_captions = [f"step {r['step']}: cell {r['cell_id']}" + (f" · step size {r['step_size']:g}" if r["step"] else "")
                            + f" · predicted {r['predicted']:.4g} · true {true_text(r['true'], true_key is not None)}"
                            for r in nao_rows]
            show_decoded_steps(space, [agnet_view.ZStep(r["step"], 0.0, r["cell"], r["cell_id"], True, None, None, 0.0, 0.0)
                                for r in nao_rows], nao_captions, "nao_walk")


# ---- AG-Net: interpolation in z ------------------------------------------------------------------

def agnet_section(space: SearchSpace, choices: list[latent.MetricChoice], labels: dict[str, str],
                  metric_key: str | None) -> None:
    accuracy_choice = agnet_view.accuracy_key(choices, preferred=metric_key)
    st.subheader("AG-Net: interpolation in z")
    if find_model_dir(space.name, "agnet") is None:
        st.caption(f"No AG-Net model for {space.title} (AG-Net supports NB201 and NB101).")
    elif st.toggle("Decode a line between two latents of AG-Net's generator", key="walk_agnet",
                   help="Two seeded latents whose decodes are different valid cells, and evenly spaced points between them."):
        st.caption("AG-Net's generator is trained by reconstruction against cells drawn independently of z (as in the paper), so "
                   "its soft output barely depends on z: with the same sampling noise the walk stays on one cell, and the argmax "
                   "decode changes where two op probabilities are nearly tied (column `margin`). `soft_change` is how much the "
                   "generated type and edge probabilities moved since the previous point.")
        z_row = st.columns([1, 1, 2, 2, 1])
        z_seed = int(z_row[0].number_input("Seed", 0, 2**31 - 1, 0, key="walk_agnet_seed"))
        z_steps = int(z_row[1].number_input("Steps", 1, 40, 10, key="walk_agnet_steps"))
        z_prior = z_row[2].selectbox("Endpoints from", list(PRIORS), format_func=PRIORS.get, key="walk_agnet_prior")
        z_decode = z_row[3].selectbox("Decode", list(DECODES), format_func=DECODES.get, key="walk_agnet_decode")
        z_noise = int(z_row[4].number_input("Noise seed", 0, 2**31 - 1, 0, key="walk_agnet_noise",
                                            disabled=z_decode == "argmax"))
        try:
            z_walk = agnet_walk(space.name, z_steps, z_seed, z_prior, z_decode, z_noise, accuracy_choice,
                                model_file_stamp(space.name, "agnet", "checkpoint.pt"))
        except NasvizError as exc:
            show_error(exc, "Cannot decode the z walk")
        else:
            stats = st.columns(4)
            stats[0].metric("Distinct cells", z_walk.distinct_cells)
            stats[1].metric("Steps that change the cell", z_walk.changes)
            stats[2].metric("Invalid decodes", z_walk.invalid)
            stats[3].metric("Mean soft change per step", f"{np.mean([s.soft_change for s in z_walk.steps[1:]]):.3g}")
            accuracy_label = labels.get(accuracy_choice or "", "accuracy")
            st.dataframe(z_walk.to_frame().rename(columns={"metric": f"true {accuracy_label}"}), hide_index=True,
                         width="stretch", key="agnet_walk_table")
            z_captions = [f"t = {s.t:.2f}: " + (f"cell {s.cell_id}" if s.valid else f"INVALID decode ({s.reason})")
                          + (f" · edit distance {s.edit_distance}" if s.edit_distance else " · same cell" if s.edit_distance == 0
                             else "")
                          + (f" · {s.metric:.4g}" if np.isfinite(s.metric) else "") for s in z_walk.steps]
            show_decoded_steps(space, z_walk.steps, z_captions, "agnet_walk")


# ---- L2 versus edit distance ---------------------------------------------------------------------

def l2_section(space: SearchSpace, walk_encoders: list[str]) -> None:
    st.subheader("Latent distance versus edit distance")
    if st.toggle("Show L2 distance by edit distance (arch2vec figure 3)", key="walk_l2"):
        n_cells = int(st.select_slider("Cells sampled (all pairs among them)", [100, 200, 400, 800], 400, key="walk_l2_n"))
        pairs = {e: l2_pairs(space.name, e, n_cells, 0) for e in walk_encoders}
        st.caption("On NB201 the cells form a long random walk with one edit between consecutive cells, as in the paper; "
                   "distances are divided by each encoder's median so encoders of different scales compare.")
        show_figure(latent.l2_edit_figure(pairs), f"l2_vs_edit_{space.name}",
                    data=pd.concat([p.assign(encoder=e) for e, p in pairs.items()], ignore_index=True), key="l2_fig")
        st.dataframe(pd.concat([l2_summary(p).assign(encoder=e) for e, p in pairs.items()], ignore_index=True),
                     hide_index=True, width="stretch", key="l2_summary")


guarded(main, "Neighbour Walk")
