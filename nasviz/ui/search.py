"""Search page views: every chart of a run (figures from :mod:`nasviz.search_figures`) and the live panel that
redraws while a job runs."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd
import streamlit as st

from nasviz.errors import ConfigError, NasvizError
from nasviz.search import RunInfo, RunStore
from nasviz.search.summary import decision_lines
from nasviz.search_figures import best_so_far_figure, feasibility_figure, queries_figure
from nasviz.search_jobs import (
    MAX_SEEDS,
    SearchJob,
    best_signal_rank_text,
    feasibility_frame,
    is_constrained,
    optimum_lines,
    queries_frame,
    run_protocol,
)
from nasviz.spaces import get_space
from nasviz.ui.cells import show_cell_drawing
from nasviz.ui.figures import show_figure
from nasviz.ui.guard import md_escape

#: the longest seeds text read (50 seeds written out one by one fit in 200 characters)
MAX_SEED_TEXT = 400
_SEED_RANGE = re.compile(r"^\s*(\d{1,18})\s*-\s*(\d{1,18})\s*$")
#: a latency limit that admits fewer cells than this (or under 1 % of the table) is warned about


def check_seed_text(text: str, max_seeds: int = MAX_SEEDS) -> None:
    """ConfigError when the seeds text is too long or names more than ``max_seeds`` distinct seeds (a range such as
    ``0-10000000`` is counted, never built); the text is then parsed by ``nasviz.search_jobs.parse_seeds``."""
    if len(text) > MAX_SEED_TEXT:
        raise ConfigError(f"the seeds field holds {len(text):,} characters; give at most {max_seeds} seeds "
                          "(e.g. '0, 1, 2' or '0-4')")
    seeds: set[str | int] = set()
    for part in text.replace(";", ",").split(","):
        match = _SEED_RANGE.match(part)
        if match:
            low, high = int(match.group(1)), int(match.group(2))
            if high - low + 1 > max_seeds:
                seeds.update(range(max_seeds + 1))  # more than allowed, whatever else the text says
                break
            seeds.update(range(low, high + 1))
        elif part.strip():
            seeds.add(part.strip())  # parse_seeds says what is wrong with it
    if len(seeds) > max_seeds:
        raise ConfigError(f"at most {max_seeds} seeds per job; {text.strip()!r} names {_seed_total(text):,}")


def _seed_total(text: str) -> int:
    """How many seeds the text names, ranges counted (overlaps twice)."""
    total = 0
    for part in text.replace(";", ",").split(","):
        match = _SEED_RANGE.match(part)
        total += max(0, int(match.group(2)) - int(match.group(1)) + 1) if match else bool(part.strip())
    return total


def show_run(run_id: int, key: str, store: RunStore | None = None, drawings: int = 4) -> int:
    """Every chart of one run (best so far, queries, feasibility, latest candidates) with downloads;
    returns how many queries were shown."""
    store = store or RunStore()
    try:
        info = store.get_run(run_id)
    except NasvizError as exc:
        st.error(md_escape(str(exc)))
        return 0
    records = store.queries(run_id)
    frame = queries_frame(records, info)
    best = frame["best_reported"].iloc[-1] if len(frame) else float("nan")
    cols = st.columns(5)
    cols[0].metric("Queries", f"{len(frame)} / {info.budget}")
    cols[1].metric("Status", info.state)
    cols[2].metric("Best reported", "n/a" if pd.isna(best) else f"{best:.2f}")
    optima = optimum_lines(info)
    cols[3].metric("Table optimum", f"{optima['reported']:.2f}" if "reported" in optima else "n/a")
    cols[4].metric("Rank by signal", best_signal_rank_text(frame, info) or "n/a",
                   help="Rank of the best cell's search signal among the table's cells (the feasible ones under a "
                        "latency limit); 1 is the exact optimum.")
    if info.error:
        st.error(md_escape(f"Run {run_id}: {info.error}"))
    for line in decision_lines(info.summary):
        st.caption(md_escape(line[0].upper() + line[1:]))
    if frame.empty:
        st.info("No query yet.")
        return 0
    stem = f"search-run-{run_id}"
    left, right = st.columns(2)
    with left:
        st.markdown("**Best so far**")
        show_figure(best_so_far_figure(frame, info), f"{stem}-best", frame, key=f"{key}_best")
    with right:
        st.markdown("**All queries**")
        show_figure(queries_figure(frame, info), f"{stem}-queries", frame, key=f"{key}_queries")
    if is_constrained(info):
        feas = feasibility_frame(records)
        st.markdown(f"**Feasibility ratio per {feas.attrs.get('by', 'iteration')}** (overall {frame['feasible'].mean():.2f})")
        show_figure(feasibility_figure(feas), f"{stem}-feasibility", feas, key=f"{key}_feas")
    if drawings:
        st.markdown("**Latest candidates**")
        space = get_space(info.config.get("space", "nb201"))
        latest = records[-drawings:][::-1]
        for column, record in zip(st.columns(drawings), latest, strict=False):
            with column:
                cell = space.parse(record.cell)
                show_cell_drawing(space, cell, title=f"query {record.query + 1}: {record.signal:.2f}", downloads=False,
                                  enlarge=True, key=f"{key}_cell_{record.query}")
    return len(frame)


def show_live_job(job: SearchJob, run_choice: int | None = None) -> None:
    """The job's charts, redrawn every second (only this fragment) while the job runs; one full
    rerun when it ends so the page shows the final state and the Stop button goes away."""

    @st.fragment(run_every=1.0 if job.alive else None)
    def live() -> None:
        run_id = run_choice if run_choice is not None else job.current_run_id
        done = not job.alive
        seed = job.seeds[job.run_ids.index(run_id)]
        st.caption(md_escape(f"{job.label()} · showing run {run_id} (seed {seed})"))
        if job.error:
            st.error(md_escape(f"The search failed: {job.error}"))
        show_run(run_id, key="live")
        flag = f"search_job_{job.id}_final"
        if done and not st.session_state.get(flag):
            st.session_state[flag] = True
            st.rerun(scope="app")

    live()


def run_label(info: RunInfo) -> str:
    p = run_protocol(info)
    return (f"#{info.id} {info.strategy} seed {info.seed} · {p.get('space', '?')}/{p.get('dataset', '?')} · "
            f"{info.queries}/{info.budget} queries · {info.state}" + (" · constrained" if is_constrained(info) else ""))


def download_row(label: str, data: Any, file_name: str, mime: str, key: str, column: Any) -> None:
    column.download_button(label, data=data, file_name=file_name, mime=mime, key=key, on_click="ignore",
                           icon=":material/download:")
