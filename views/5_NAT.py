"""NAT: transform a cell edge by edge (drag keep / skip / null onto its edges) or let the trained policy do it."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from nasviz.errors import CellError, NasvizError
from nasviz.nat.api import metric_delta, optimise, probabilities_table
from nasviz.nat.cells import get_adapter
from nasviz.nat.io import parse_cell_text, parse_upload
from nasviz.nat.page import EditState, cell_choices, cell_json, comparison_rows, genotype_text
from nasviz.nat.rules import ACTIONS, RULE_LABELS
from nasviz.spaces import get_space
from nasviz.ui import setup_page
from nasviz.ui.cells import show_cell_drawing
from nasviz.ui.explorer import MAX_CELL_BYTES, MAX_DRAWN_NODES, check_cell_size, graph_size, recommended_import
from nasviz.ui.guard import error_message, guarded, md_escape
from nasviz.ui.nat_component import editor_data, nat_editor

EDITOR_KEY = "nat_editor"
STATE_KEY = "nat_state"


def load(space: str, cell: object, label: str) -> None:
    st.session_state[STATE_KEY] = EditState(space, cell, label)
    st.session_state.pop("nat_optimised", None)
    st.session_state.pop("nat_drop_error", None)


def check_editable(space: str, cell: Any) -> None:
    """CellError when the cell is too large for the editor (its drawing, costs and policy take seconds)."""
    size = graph_size(get_adapter(space).space, cell)
    if size is not None and size[0] > MAX_DRAWN_NODES:
        raise CellError(f"the cell has {size[0]:,} nodes and {size[1]:,} edges; the NAT editor takes cells of at most "
                        f"{MAX_DRAWN_NODES} nodes")


def read_upload_or_paste(upload: Any, pasted: str, load_clicked: bool, upload_space: str, which: str) -> None:
    """Load an uploaded (size checked before reading) or pasted cell; any failure is one error naming the input and
    keeps the previous cell."""
    what = "the pasted cell"
    try:
        if upload is not None and st.session_state.get("nat_upload_id") != upload.file_id:
            st.session_state["nat_upload_id"] = upload.file_id
            what = f"the file {upload.name}"
            check_cell_size(upload.size, what)  # before reading it
            cell = parse_upload(upload_space, upload.getvalue(), upload.name, which)
            check_editable(upload_space, cell)
            load(upload_space, cell, f"upload:{upload.name}")
        elif load_clicked and pasted.strip():
            check_cell_size(len(pasted.encode("utf-8", errors="replace")), what)
            cell = parse_cell_text(upload_space, pasted, which, "pasted cell")
            check_editable(upload_space, cell)
            load(upload_space, cell, "pasted")
    except RecursionError:
        st.error(md_escape(f"Could not load {what}: its JSON is nested too deeply. The previous cell is kept."))
    except Exception as exc:  # noqa: BLE001 - any parser failure is a bad input: say so, keep the previous cell
        st.error(md_escape(f"Could not load {what}: {error_message(exc)}. The previous cell is kept."))


def controls() -> str:
    """The rule and the cell choice (preset, upload or paste); returns the rule. Sets ``st.session_state[STATE_KEY]``."""
    columns = st.columns([2, 3])
    rule = columns[0].radio("Transformation rule", ["paper", "code"], key="nat_rule",
                            format_func=lambda r: RULE_LABELS[r])
    choices = cell_choices()
    source = columns[1].radio("Cell", ["Preset", "Upload or paste"], horizontal=True, key="nat_source")
    if source == "Preset":
        label = columns[1].selectbox("Preset cell", list(choices), key="nat_preset")
        current = st.session_state.get(STATE_KEY)
        if current is None or current.label != label:
            load(*choices[label], label)
    else:
        with columns[1]:
            upload_space = st.radio("Space of the cell", ["nat", "nb201"], horizontal=True, key="nat_upload_space",
                                    format_func=lambda s: {"nat": "NAT cell / DARTS genotype",
                                                           "nb201": "NAS-Bench-201"}[s])
            which = st.radio("DARTS genotype cell", ["normal", "reduce"], horizontal=True, key="nat_which")
            upload = st.file_uploader(f"Upload a cell (JSON or a DARTS genotype text, at most {MAX_CELL_BYTES // 1024} "
                                      "KB; never unpickled)", key="nat_upload")
            pasted = st.text_area("...or paste one", key="nat_paste", height=90, max_chars=MAX_CELL_BYTES,
                                  placeholder='{"edges": [["conv_3x3", -1, 0], ["null", -2, 0]], "output": "concat"}')
            load_clicked = st.button("Load pasted cell", key="nat_load_paste")
        read_upload_or_paste(upload, pasted, load_clicked, upload_space, which)
        if STATE_KEY not in st.session_state:
            load(*next(iter(choices.values())), next(iter(choices)))
    return rule


def on_drop() -> None:
    """A chip dropped on an edge: apply it, or keep the reason it is refused (shown under the editor)."""
    value = st.session_state.get(EDITOR_KEY)
    drop = value.get("drop") if isinstance(value, dict) else getattr(value, "drop", None)
    if not drop:
        return
    try:
        st.session_state[STATE_KEY].apply(int(drop["edge"]), str(drop["action"]), st.session_state.get("nat_rule", "paper"))
        st.session_state.pop("nat_drop_error", None)
    except (NasvizError, KeyError, TypeError, ValueError) as exc:
        st.session_state["nat_drop_error"] = f"Drop refused: {exc}"


def use_policy_actions() -> None:
    optimised = st.session_state.get("nat_optimised")
    if optimised is not None:
        st.session_state[STATE_KEY].set_all([ACTIONS.index(a["action"]) for a in optimised["actions"]])


def change(new: int, old: int, scale: float, digits: int) -> str | None:
    return None if new == old else f"{(new - old) / scale:+.{digits}f} M"


def editor(state: EditState, rule: str) -> Any:
    """The drag-and-drop editor, its undo/reset buttons, the cost and accuracy of the edit; returns the result."""
    adapter = get_adapter(state.space)
    space = get_space(adapter.name)
    st.subheader(md_escape(f"Edit {state.label}"))
    nat_editor(editor_data(adapter, state.cell, state.actions, rule), key=EDITOR_KEY, on_drop=on_drop)
    if st.session_state.get("nat_drop_error"):
        st.warning(md_escape(st.session_state["nat_drop_error"]))
    buttons = st.columns([1, 1, 6])
    buttons[0].button("Undo", key="nat_undo", icon=":material/undo:", disabled=not state.history, on_click=state.undo)
    buttons[1].button("Reset", key="nat_reset", icon=":material/restart_alt:", on_click=state.reset)

    result = state.result(rule)
    metric = metric_delta(adapter.name, result)
    cols = st.columns(3)
    after = result.cost_after
    cols[0].metric("Params", f"{(after or result.cost_before).params / 1e6:.4f} M",
                   delta=change(after.params, result.cost_before.params, 1e6, 4) if after else "invalid",
                   delta_color="inverse")
    cols[1].metric("MAdds", f"{(after or result.cost_before).flops / 1e6:.2f} M",
                   delta=change(after.flops, result.cost_before.flops, 1e6, 2) if after else "invalid",
                   delta_color="inverse")
    if metric.get("metric_after") is not None:
        kind = "true" if metric["metric_measured"] else "predicted"
        cols[2].metric(f"Accuracy ({kind})", f"{metric['metric_after']:.2f} %",
                       delta=f"{metric['metric_delta']:+.2f}" if metric.get("metric_delta") is not None else None,
                       help=metric["metric"])
    elif adapter.name == "nb201":
        command = recommended_import("nb201")
        cols[2].caption("No NB201 benchmark table is imported: true accuracies need one." +
                        (f" Import it with `{command}`" if command else ""))
    else:
        cols[2].caption("No trained NAT supernet: `nasviz nat train --space nat --reward supernet` predicts accuracies.")
    st.caption(md_escape(f"Cost of the {space.title} network stacking the cell ({result.cost_before.dataset}); after = "
                         "the transformed cell pruned of null-cut parts (greyed out in the editor)."))
    if not result.valid:
        st.error(md_escape(f"The transformed cell is invalid: {result.reason}"))
    for note in result.notes:
        st.caption(md_escape(f"Pruning: {note}"))
    return result, metric


def optimise_section(state: EditState, rule: str) -> None:
    """Optimise with the trained NAT policy: probabilities, the optimised cell drawn beside the original, downloads."""
    adapter = get_adapter(state.space)
    space = get_space(adapter.name)
    st.subheader("Optimise with NAT")
    opt_cols = st.columns([1, 1, 4])
    samples = opt_cols[0].number_input("Samples K (best by reward)", min_value=0, max_value=50, value=10, step=1,
                                       key="nat_samples", help="0 = greedy; K > 1 keeps the best of the policy's K most "
                                       "probable distinct transformations by reward (NB201: 12-epoch accuracy; NAT cells: "
                                       "the supernet), as the official derivation keeps the best of 10; greedy when "
                                       "nothing can score them")
    if opt_cols[1].button("Optimise with NAT", key="nat_optimise", type="primary", icon=":material/auto_fix_high:"):
        try:
            st.session_state["nat_optimised"] = optimise(adapter.name, state.cell, rule, int(samples))
        except NasvizError as exc:
            st.session_state.pop("nat_optimised", None)
            st.error(md_escape(f"NAT could not optimise this cell: {exc}"))

    optimised = st.session_state.get("nat_optimised")
    if optimised is None or optimised.get("original") != adapter.to_json(state.cell) or optimised.get("rule") != rule:
        return
    st.caption(md_escape(f"Policy: {optimised['policy']['path']} ({optimised['decision']})"))
    if optimised["policy"].get("note"):
        st.info(md_escape(optimised["policy"]["note"]))
    table = pd.DataFrame(probabilities_table(optimised))
    st.dataframe(table, hide_index=True, width="stretch",
                 column_config={f"p({a})": st.column_config.ProgressColumn(f"p({a})", min_value=0.0, max_value=1.0,
                                                                           format="%.2f") for a in ACTIONS})
    st.button("Load the policy's actions into the editor", key="nat_use_policy", on_click=use_policy_actions)
    transformed = space.parse(optimised["transformed"])
    left, right = st.columns(2)
    with left:
        st.markdown("**Original**")
        show_cell_drawing(space, state.cell, key="nat_draw_original", file_stem="nat_original")
    with right:
        st.markdown("**NAT-optimised** (differences highlighted)")
        show_cell_drawing(space, transformed, highlight_diff=state.cell, key="nat_draw_optimised",
                          file_stem="nat_optimised")
    policy_result = EditState(adapter.name, state.cell, state.label,
                              [ACTIONS.index(a["action"]) for a in optimised["actions"]]).result(rule)
    rows = comparison_rows(adapter.name, policy_result, optimised)
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    downloads = st.columns(4)
    downloads[0].download_button("Optimised cell (JSON)", cell_json(adapter.name, transformed), "nat_optimised.json",
                                 "application/json", key="nat_dl_json", on_click="ignore")
    if policy_result.pruned is not None:
        downloads[1].download_button("Pruned cell (JSON)", cell_json(adapter.name, policy_result.pruned),
                                     "nat_optimised_pruned.json", "application/json", key="nat_dl_pruned",
                                     on_click="ignore")
    genotype = genotype_text(adapter.name, transformed)
    if genotype:
        downloads[2].download_button("Genotype", genotype, "nat_optimised_genotype.txt", "text/plain",
                                     key="nat_dl_genotype", on_click="ignore")
    downloads[3].download_button("Comparison (CSV)", pd.DataFrame(rows).to_csv(index=False), "nat_comparison.csv",
                                 "text/csv", key="nat_dl_csv", on_click="ignore")


def your_transformation(state: EditState, result: Any, metric: dict[str, Any]) -> None:
    adapter = get_adapter(state.space)
    space = get_space(adapter.name)
    with st.expander("Your transformation: drawing and downloads"):
        show_cell_drawing(space, result.transformed, highlight_diff=state.cell, key="nat_draw_edit",
                          file_stem="nat_edited")
        rows = comparison_rows(adapter.name, result, metric)
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
        st.download_button("Transformed cell (JSON)", cell_json(adapter.name, result.transformed),
                           "nat_transformed.json", "application/json", key="nat_dl_edit_json", on_click="ignore")


def workspace(rule: str) -> None:
    """Everything that follows the edited cell: a drop, a click, Undo, Reset or Optimise reruns only this."""
    state: EditState = st.session_state[STATE_KEY]
    if state.clamp_to_rule(rule):
        st.info(f"Actions the {rule} rule does not allow were reset to keep.")
    result, metric = editor(state, rule)
    optimise_section(state, rule)
    your_transformation(state, result, metric)


@st.fragment
def workspace_fragment(rule: str) -> None:
    guarded(lambda: workspace(rule), "NAT")


def page() -> None:
    setup_page("NAT")
    st.title("Neural Architecture Transformer")
    st.caption("NAT (Guo et al., NeurIPS 2019) replaces each edge's op by itself, a skip connection or nothing. Drag the "
               "chips onto the edges to try transformations yourself, or let the trained GCN policy optimise the cell.")
    rule = controls()
    workspace_fragment(rule)


guarded(page, "NAT")
