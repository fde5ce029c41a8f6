"""Search page views: the strategy settings built from their declared types with the presets in a selector, every
chart of a run (figures from :mod:`nasviz.figures.search`) and the live panel that redraws while a job runs."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd
import streamlit as st

from nasviz.errors import ConfigError, NasvizError
from nasviz.figures.search import best_so_far_figure, feasibility_figure, queries_figure
from nasviz.search import RunInfo, RunStore
from nasviz.search.base import strategy_class
from nasviz.search.jobs import (
    MAX_SEEDS,
    SearchJob,
    best_signal_rank_text,
    feasibility_frame,
    is_constrained,
    optimum_lines,
    queries_frame,
    run_protocol,
)
from nasviz.search.presets import PRESETS, get_preset
from nasviz.search.summary import decision_lines
from nasviz.settings import Setting
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
    ``0-10000000`` is counted, never built); the text is then parsed by ``nasviz.search.jobs.parse_seeds``."""
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


# ---- strategy settings and presets ------------------------------------------------------------------

#: the preset selector's entry for "no preset" (the strategy's defaults)
NO_PRESET = "none"
ALGO_KEY, PRESET_KEY = "search_algo", "search_preset"


def setting_key(algo: str, name: str) -> str:
    """Session-state key of the widget of setting ``name`` of strategy ``algo``."""
    return f"search_setting_{algo}_{name}"


def widget_value(field: Setting, value: Any) -> Any:
    """``value`` in the form the setting's widget holds (text for lists, a float for a number, ...)."""
    if field.kind == "floats":
        return field.text(value)
    if field.kind == "float":
        return float(value)
    return value


def base_settings(algo: str, preset: str | None) -> dict[str, Any]:
    """Every setting of ``algo`` as ``preset`` (or, without one, the defaults) sets it."""
    cls = strategy_class(algo)
    return cls.resolve_settings(dict(get_preset(preset).settings) if preset else {})


def fill_setting_widgets(algo: str, preset: str | None) -> None:
    """Put the values of ``preset`` (or the defaults) into the widgets of ``algo``'s settings."""
    cls = strategy_class(algo)
    values = base_settings(algo, preset)
    for field in cls.setting_fields:
        st.session_state[setting_key(algo, field.name)] = widget_value(field, values[field.name])


def chosen_preset(algo: str) -> str | None:
    """The preset in the selector when it is one of ``algo``'s, else None."""
    name = st.session_state.get(PRESET_KEY, NO_PRESET)
    return name if name != NO_PRESET and get_preset(name).strategy == algo else None


def _preset_changed() -> None:
    """Choosing a preset selects its strategy and fills the setting widgets with its values; "none" restores the
    current strategy's defaults."""
    name = st.session_state.get(PRESET_KEY, NO_PRESET)
    if name == NO_PRESET:
        if ALGO_KEY in st.session_state:
            fill_setting_widgets(st.session_state[ALGO_KEY], None)
        return
    preset = get_preset(name)
    st.session_state[ALGO_KEY] = preset.strategy
    fill_setting_widgets(preset.strategy, preset.name)


def _strategy_changed() -> None:
    """Another strategy than the preset's: the preset selector goes back to "none"."""
    name = st.session_state.get(PRESET_KEY, NO_PRESET)
    if name != NO_PRESET and get_preset(name).strategy != st.session_state.get(ALGO_KEY):
        st.session_state[PRESET_KEY] = NO_PRESET


def strategy_selector(column: Any, strategies: list[str], default: str = "re") -> str:
    """The strategy selectbox (key ``search_algo``)."""
    if ALGO_KEY not in st.session_state:
        st.session_state[ALGO_KEY] = default if default in strategies else strategies[0]
    return column.selectbox("Strategy", strategies, key=ALGO_KEY, on_change=_strategy_changed)


def preset_selector(column: Any, caption: Any) -> str | None:
    """The preset selectbox (key ``search_preset``) and, in ``caption``, the chosen preset's description."""
    names = [NO_PRESET, *(p.name for p in PRESETS)]
    st.session_state.setdefault(PRESET_KEY, NO_PRESET)
    name = column.selectbox("Preset", names, key=PRESET_KEY, on_change=_preset_changed,
                            format_func=lambda n: "none (the strategy's defaults)" if n == NO_PRESET
                            else f"{n} ({get_preset(n).strategy})",
                            help="Named settings with the figures measured for them (`nasviz search presets`). "
                                 "Choosing one selects its strategy and fills the settings below.")
    if name == NO_PRESET:
        return None
    preset = get_preset(name)
    note = " Meant for a latency limit (Constraint: latency)." if preset.constrained else ""
    caption.caption(md_escape(f"{preset.description}{note} Source: {preset.source}."))
    return name


def setting_widgets(algo: str, preset: str | None, columns: int = 3) -> None:
    """One widget per declared setting of ``algo`` (number inputs with their range, toggles, selectboxes, text for
    lists), starting at the preset's values (or the defaults)."""
    cls = strategy_class(algo)
    if not cls.setting_fields:
        st.caption(f"{algo} has no settings.")
        return
    values = base_settings(algo, preset)
    cells = st.columns(columns)
    for i, field in enumerate(cls.setting_fields):
        key = setting_key(algo, field.name)
        st.session_state.setdefault(key, widget_value(field, values[field.name]))
        column = cells[i % columns]
        default = field.text(field.default) if field.kind != "str" else field.default
        help_text = f"{field.help} Default: {default}" + (f"; {field.range_text()}." if field.range_text() else ".")
        if field.kind in ("int", "float"):
            integer = field.kind == "int"
            cast = int if integer else float
            column.number_input(field.name, key=key, help=help_text,
                                min_value=None if field.low is None else cast(field.low),
                                max_value=None if field.high is None else cast(field.high),
                                step=1 if integer else float(field.step or 0.01), format="%d" if integer else "%g")
        elif field.kind == "bool":
            column.toggle(field.name, key=key, help=help_text)
        elif field.kind == "choice":
            column.selectbox(field.name, list(field.choices), key=key, help=help_text)
        else:
            column.text_input(field.name, key=key, help=help_text, max_chars=400)


def chosen_settings(algo: str, preset: str | None) -> dict[str, Any]:
    """The settings whose widgets differ from the preset (or the defaults), converted by their declared types
    (ConfigError naming the setting, its type and range)."""
    cls = strategy_class(algo)
    base = base_settings(algo, preset)
    given = {f.name: st.session_state[setting_key(algo, f.name)] for f in cls.setting_fields
             if setting_key(algo, f.name) in st.session_state}
    typed = {name: cls.setting(name).convert(value, f"strategy {algo}") for name, value in given.items()}
    return {name: value for name, value in typed.items() if value != base[name]}


def cli_equivalent(algo: str, preset: str | None, settings: dict[str, Any]) -> str:
    """The ``nasviz search`` options of this strategy, preset and settings."""
    cls = strategy_class(algo)
    words = [f"--preset {preset}" if preset else f"--algo {algo}"]
    words += [f"--set {name}={cls.setting(name).text(value)}" for name, value in settings.items()]
    return " ".join(words)


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
