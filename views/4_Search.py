"""Search: run a NAS search on an imported benchmark table in the background, watch it live, and
compare strategies over seeds."""

from __future__ import annotations

from typing import Any

import numpy as np
import streamlit as st

from nasviz.data import available_tables, load_table, table_path
from nasviz.errors import DataError, NasvizError
from nasviz.figures.search import comparison_figure, metric_label
from nasviz.search import RunStore, SearchConfig, get_preset, strategy_names
from nasviz.search.jobs import (
    checkpoint_table,
    comparison_frame,
    export_runs,
    get_job,
    is_constrained,
    list_jobs,
    optimum_lines,
    parse_seeds,
    protocol_signature,
    run_reported_key,
    start_job,
    stop_job,
)
from nasviz.search.objective import default_metrics, latency_feasibility, latency_key_for
from nasviz.search.store import default_store_path
from nasviz.spaces import get_space
from nasviz.ui import setup_page, show_figure
from nasviz.ui.explorer import recommended_import
from nasviz.ui.guard import guarded, md_escape
from nasviz.ui.search import (
    check_seed_text,
    chosen_preset,
    chosen_settings,
    cli_equivalent,
    download_row,
    preset_selector,
    run_label,
    setting_widgets,
    show_live_job,
    show_run,
    strategy_selector,
)

CLI_EXAMPLE = "nasviz search --space nb201 --algo re --budget 100 --seeds 3"


def open_store() -> RunStore | None:
    """The run store, or None with an error naming the file and what to do when it is not a usable store."""
    try:
        return RunStore()
    except Exception as exc:  # noqa: BLE001 - garbage bytes, a folder, a locked file: say which file and what to do
        path = default_store_path()
        detail = str(exc) if isinstance(exc, NasvizError) else f"{path}: {type(exc).__name__}: {exc}"
        st.error(md_escape(f"Cannot open the run store: {detail}. Stored runs cannot be shown or started until it is "
                           f"fixed: move the file aside (`mv {path} {path}.broken`) and this page starts a new, empty "
                           "store."))
        return None


def open_table(space: str) -> Any | None:
    """The space's benchmark table, or None with an error naming the file and the import command that rebuilds it."""
    try:
        return load_table(space)
    except Exception as exc:  # noqa: BLE001 - a corrupt or truncated table file is a message, never a traceback
        command = recommended_import(space)
        detail = str(exc) if isinstance(exc, NasvizError) else f"{table_path(space)}: {type(exc).__name__}: {exc}"
        st.error(md_escape(f"Cannot read the {space} benchmark table: {detail}") +
                 f"\n\nRemove it with `nasviz data remove {space}`" +
                 (f", then import again: `{command}`" if command else ""))
        return None


def latency_controls(space: str, table: Any, dataset: str, columns: list[Any]) -> tuple[str | None, float | None, int,
                                                                                       tuple[str, str] | None]:
    """Device, limit L and joint mode of a latency constraint, and the feasibility message of L (error/warning)."""
    devices = sorted({m.device for m in table.metrics if m.kind == "latency" and m.device
                      and m.dataset in (dataset, None)})
    if not devices:
        columns[1].warning(f"The {space} table has no latency for {dataset}.")
        return None, None, 0, None
    device = columns[1].selectbox("Device", devices, index=devices.index("pixel3") if "pixel3" in devices else 0,
                                  key=f"search_device_{space}")
    lat = table.values(latency_key_for(table, device, dataset))
    measured = lat[~np.isnan(lat)]
    max_latency = columns[2].number_input("L (ms)", min_value=0.0, value=round(float(np.median(measured)), 3), step=0.1,
                                          format="%.3f", key=f"search_latency_{space}_{device}")
    joint = columns[3].radio("Joint", [0, 1], horizontal=True, key="search_joint",
                             help="0: maximise accuracy subject to latency <= L; 1: rank by accuracy rank + latency rank")
    st.caption(f"{device} latency over the table: min {measured.min():.3f}, median {np.median(measured):.3f}, "
               f"max {measured.max():.3f} ms.")
    report = latency_feasibility(lat, device=device, max_latency=float(max_latency),
                                 latency_key=latency_key_for(table, device, dataset), space=space)
    message = None
    if not joint:  # joint ranking has no hard limit
        message = ("error", report.error()) if report.error() else ("warning", report.warning()) if report.warning() else None
    if message:
        (st.error if message[0] == "error" else st.warning)(md_escape(message[1][0].upper() + message[1][1:]))
    else:
        st.caption(f"{report.n_feasible:,} of {report.n_total:,} cells meet L.")
    return device, float(max_latency), int(joint), message


def new_search_form(job: Any) -> None:
    """The form of a new search (space, dataset, strategy, metrics, constraint, budget, seeds) and its Start button."""
    spaces = [s for s in available_tables() if s in ("nb201", "nb101", "darts", "nat")]
    if not spaces:
        st.warning("No benchmark table is imported yet, so there is nothing to search. Import the NAS-Bench-201 table:")
        st.code(recommended_import("nb201") or "nasviz data import nb201-merged PATH/TO/nb201_merged.csv",
                language="bash")
        return
    st.subheader("New search")
    c1, c2, c3 = st.columns(3)
    space = c1.selectbox("Search space", spaces, key="search_space")
    table = open_table(space)
    if table is None:
        return
    datasets = sorted({m.dataset for m in table.metrics if m.kind == "accuracy" and m.dataset})
    if not datasets:
        st.error(md_escape(f"The {space} table has no accuracy metric to search for."))
        return
    default_dataset = get_space(space).default_dataset
    dataset = c2.selectbox("Dataset", datasets, index=datasets.index(default_dataset) if default_dataset in datasets else 0,
                           key=f"search_dataset_{space}")
    algo = strategy_selector(c3, list(strategy_names()))
    p1, p2 = st.columns([1, 2])
    preset_selector(p1, p2)
    preset = chosen_preset(algo)
    try:
        default_signal, default_reported, protocol_note = default_metrics(table, dataset)
    except NasvizError as exc:
        st.error(md_escape(str(exc)))
        return
    keys = table.keys
    c1, c2 = st.columns(2)
    signal = c1.selectbox("Search signal (what the strategy sees)", keys, index=keys.index(default_signal),
                          format_func=metric_label, key=f"search_signal_{space}_{dataset}")
    reported = c2.selectbox("Reported metric (of the best cell by signal)", keys, index=keys.index(default_reported),
                            format_func=metric_label, key=f"search_reported_{space}_{dataset}")

    columns = st.columns(4)
    constraint = columns[0].radio("Constraint", ["none", "latency"], horizontal=True, key="search_constraint")
    device, max_latency, joint, feasibility = None, None, 0, None
    if constraint == "latency":
        device, max_latency, joint, feasibility = latency_controls(space, table, dataset, columns)
    elif preset is not None and get_preset(preset).constrained:
        st.info(f"The preset {preset} is meant for a latency limit (Constraint: latency); without one most of its "
                "settings have no effect.")

    with st.expander(f"Settings of {algo}" + (f" (preset {preset})" if preset else ""), expanded=preset is not None):
        setting_widgets(algo, preset)
        try:
            command = cli_equivalent(algo, preset, chosen_settings(algo, preset))
        except NasvizError as exc:
            st.caption(md_escape(str(exc)))
        else:
            st.caption("The same strategy settings on the command line:")
            st.code(f"nasviz search {command}", language="bash")

    c1, c2, c3 = st.columns(3)
    budget = c1.number_input("Budget (queries)", min_value=1, value=100, step=1, key="search_budget")
    seeds_text = c2.text_input("Seeds (one run per seed)", value="0", key="search_seeds", help="e.g. 0, 1, 2 or 0-4",
                               max_chars=400)
    delay = c3.number_input("Pause after each query (s)", min_value=0.0, value=0.0, step=0.05, key="search_delay",
                            help="Table look-ups are fast: a pause lets you watch the search unfold.")

    running = job is not None and job.alive
    b1, b2, _ = st.columns([1, 1, 6])
    start = b1.button("Start", type="primary", key="search_start", disabled=running, icon=":material/play_arrow:")
    if running:
        b2.button("Stop", key="search_stop", on_click=stop_job, args=(job,), icon=":material/stop:",
                  disabled=job.stop_event.is_set())
    if not start:
        return
    try:
        check_seed_text(seeds_text)  # before anything is built from it
        seeds = parse_seeds(seeds_text)
        if constraint == "latency" and device is None:
            raise NasvizError(f"the {space} table has no latency measurements for {dataset}")
        if feasibility and feasibility[0] == "error":
            raise DataError(feasibility[1])
        config = SearchConfig(space=space, dataset=dataset, algo=algo, budget=int(budget), seed=seeds[0],
                              signal=signal, reported=[reported], device=device,
                              max_latency=None if max_latency is None else float(max_latency), joint=int(joint),
                              settings=chosen_settings(algo, preset), preset=preset)
        if open_store() is None:
            return
        job = start_job(config, seeds, delay_s=float(delay))
    except NasvizError as exc:
        st.error(md_escape(f"Cannot start the search: {exc}"))
    else:
        st.session_state["search_job_id"] = job.id
        st.rerun()  # redraw the buttons (Start disabled, Stop shown)


def live_run(job: Any) -> None:
    others = [j for j in list_jobs(alive_only=True) if job is None or j.id != job.id]
    if others:
        st.info(md_escape("Also running in this server: " + "; ".join(j.label() for j in others)))
    if job is None:
        return
    st.subheader("Live run" if job.alive else "Last run")
    choice = None
    if len(job.run_ids) > 1:
        options = ["follow"] + job.run_ids
        picked = st.selectbox("Seed to show", options, key=f"search_job_{job.id}_show",
                              format_func=lambda r: "the running seed" if r == "follow"
                              else f"seed {job.seeds[job.run_ids.index(r)]} (run {r})")
        choice = None if picked == "follow" else int(picked)
    show_live_job(job, choice)


def compare_runs(job: Any) -> None:
    st.divider()
    st.subheader("Compare runs")
    store = open_store()
    if store is None:
        return
    runs = [r for r in store.list_runs() if r.status in ("finished", "stopped") and r.queries > 0]
    if not runs:
        st.info(f"No finished run yet: start a search above (or `{CLI_EXAMPLE}` on the command line).")
        return
    by_id = {r.id: r for r in runs}
    if job is not None and not job.alive and st.session_state.get("search_compare_job") != job.id:
        st.session_state["search_compare_runs"] = [r for r in job.run_ids if r in by_id]
        st.session_state["search_compare_job"] = job.id
    # by default the latest runs that share the newest run's protocol (they can be averaged together)
    st.session_state.setdefault("search_compare_runs",
                                [r.id for r in runs if protocol_signature(r) == protocol_signature(runs[0])][:20])
    st.session_state["search_compare_runs"] = [r for r in st.session_state["search_compare_runs"] if r in by_id]
    chosen = st.multiselect("Runs (averaged over seeds per strategy)", list(by_id), key="search_compare_runs",
                            format_func=lambda r: run_label(by_id[r]))
    if chosen:
        selected = [by_id[r] for r in chosen]
        signature = protocol_signature(selected[0])
        same = [r for r in selected if protocol_signature(r) == signature]
        if len(same) < len(selected):
            st.warning(md_escape(f"Left out {len(selected) - len(same)} run(s) with another space/dataset/signal/"
                                 f"reported metric than run #{selected[0].id} ({', '.join(signature)})."))
        comparison = comparison_frame(same, store)
        reported_key = run_reported_key(same[0])
        optimum = optimum_lines(same[0]).get("reported") if all(not is_constrained(r) for r in same) else None
        show_figure(comparison_figure(comparison, reported_key, optimum), "search-comparison", comparison,
                    key="search_compare")
        st.markdown(f"**Best {md_escape(metric_label(reported_key))} at 96 / 100 / 192 queries** (mean ± std over seeds)")
        summary = checkpoint_table(comparison)
        st.dataframe(summary, hide_index=True, width="stretch")
        c1, c2, c3, _ = st.columns([1, 1, 1, 3])
        download_row("Table CSV", summary.to_csv(index=False).encode(), "search-comparison-table.csv", "text/csv",
                     "search_table_csv", c1)
        ids = [r.id for r in same]
        download_row("Runs JSON", lambda: export_runs(ids, "json", store), "search-runs.json", "application/json",
                     "search_runs_json", c2)
        download_row("Queries CSV", lambda: export_runs(ids, "csv", store), "search-queries.csv", "text/csv",
                     "search_runs_csv", c3)

    with st.expander("Inspect a stored run"):
        inspect = st.selectbox("Run", list(by_id), format_func=lambda r: run_label(by_id[r]), key="search_inspect")
        if inspect is not None:
            show_run(int(inspect), key="inspect", store=store)


def page() -> None:
    setup_page("Search")
    st.title("Search")
    st.caption("Search a benchmark table with a strategy (exact look-ups: the search signal drives the strategy, the "
               "reported metric of the best cell by signal is what papers report). Runs are stored in "
               "`NASVIZ_HOME/runs.sqlite`.")
    job = get_job(st.session_state["search_job_id"]) if "search_job_id" in st.session_state else None
    guarded(lambda: new_search_form(job), "New search")
    guarded(lambda: live_run(job), "Live run")
    guarded(lambda: compare_runs(job), "Compare runs")


guarded(page, "Search")
