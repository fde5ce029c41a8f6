"""Batch export of paper figures (``nasviz export``): latent maps, nearest-neighbour walks with every cell drawn,
the L2-versus-edit-distance plot and search runs.

Each figure is the one the pages show (:mod:`nasviz.latent`, :mod:`nasviz.figures.search`), written as PNG, SVG
and/or PDF with the paper preset of :mod:`nasviz.figures.render` (column width, 8-9 pt fonts, colour-blind palette) and a CSV
of its data beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from nasviz.errors import ConfigError
from nasviz.figures.render import COLUMN_WIDTHS_IN, FORMATS, apply_paper_style, export_session, figure_bytes, figure_csv
from nasviz.progress import ProgressCallback

VIEWS = ("points", "density")


@dataclass(frozen=True)
class ExportOptions:
    """What to write: image ``formats``, the paper ``width`` ("single", "double", or None for the on-screen size),
    a serif font, and whether a CSV of the data goes beside each figure."""

    formats: tuple[str, ...] = ("pdf",)
    width: str | None = "single"
    serif: bool = False
    csv: bool = True

    def __post_init__(self) -> None:
        unknown = [f for f in self.formats if f not in FORMATS]
        if unknown or not self.formats:
            raise ConfigError(f"unknown export format(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(FORMATS)}")
        if self.width is not None and self.width not in COLUMN_WIDTHS_IN:
            raise ConfigError(f"unknown paper width {self.width!r}; choose single, double or screen")


@dataclass
class ExportResult:
    """The files written and what they show."""

    files: list[Path] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"files": [str(p) for p in self.files], **self.details}


def write_figure(fig: go.Figure, stem: Path, options: ExportOptions, data: pd.DataFrame | None = None,
                 height_in: float | None = None, axes: bool = True) -> list[Path]:
    """``fig`` as ``stem.<format>`` for every format of ``options`` (paper-styled unless the width is None), plus
    ``stem.csv`` of ``data`` (or of the figure's traces). ``axes=False`` hides axis lines and ticks (projection
    coordinates mean nothing)."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    styled = apply_paper_style(fig, width=options.width, serif=options.serif, height_in=height_in) if options.width else fig
    styled = go.Figure(styled)  # the layout tweaks below leave ``fig`` as it is
    legend = styled.layout.legend
    if options.width and legend.orientation == "h" and (legend.y is None or legend.y < 0):
        # below the x-axis title: at paper size the page's offset puts the legend on top of it
        styled.update_layout(legend={"yanchor": "top", "y": -0.42 if options.width == "single" else -0.3, "x": 0})
    if not axes:
        styled.update_xaxes(showline=False, ticks="", showticklabels=False, showgrid=False)
        styled.update_yaxes(showline=False, ticks="", showticklabels=False, showgrid=False)
    written = []
    for fmt in options.formats:
        path = stem.with_name(f"{stem.name}.{fmt}")
        path.write_bytes(figure_bytes(styled, fmt))
        written.append(path)
    if options.csv:
        path = stem.with_name(f"{stem.name}.csv")
        path.write_bytes(figure_csv(fig, data))
        written.append(path)
    return written


def _height(options: ExportOptions, single: float, double: float | None = None) -> float | None:
    """Figure height in inches: ``single`` (``double``) times the column width; None keeps the page's size."""
    if options.width is None:
        return None
    ratio = single if options.width == "single" or double is None else double
    return COLUMN_WIDTHS_IN[options.width] * ratio


def _metric_key(space: str, requested: str | None, required: bool = True) -> tuple[str | None, str]:
    """The metric to colour by (``requested``, or the page's default) and its label; a clear error lists the choices.
    With ``required=False`` a space without metrics gives (None, "") unless one was requested."""
    from nasviz import latent

    choices = latent.metric_choices(space)
    if not choices and requested is None and not required:
        return None, ""
    if not choices:
        raise ConfigError(f"no metric is available for {space}: import its benchmark table (`nasviz data import`)")
    if requested is None:
        choice = latent.default_metric(choices) or choices[0]
        return choice.key, choice.label
    for choice in choices:
        if requested in (choice.key, choice.label):
            return choice.key, choice.label
    raise ConfigError(f"unknown metric {requested!r} for {space}; choose one of: {', '.join(c.key for c in choices)}")


# ---- latent maps ---------------------------------------------------------------------------------

def export_latent(space: str, encoder: str, out: Path, *, method: str = "tsne", color: str | None = None,
                  view: str = "points", bins: int = 51, options: ExportOptions | None = None, compute: bool = True,
                  seed: int = 0, progress: ProgressCallback | None = None) -> ExportResult:
    """The Latent Space page's map of ``encoder`` on ``space`` (``view`` "points" or "density", the binned mean of
    arch2vec's figure 4) coloured by ``color``. A missing projection is computed and cached when ``compute``,
    otherwise it is an error naming the command that computes it."""
    from nasviz import latent
    from nasviz.encoders.store import load_embeddings
    from nasviz.projection import check_method, get_projection, lookup_cached
    from nasviz.spaces import get_space

    options = options or ExportOptions()
    if view not in VIEWS:
        raise ConfigError(f"unknown map view {view!r}; choose points or density")
    space = get_space(space).name
    method = check_method(method)
    key, label = _metric_key(space, color)
    embeddings = load_embeddings(space, encoder)
    lookup = None if compute else lookup_cached(embeddings, method)
    if lookup is not None and lookup.status != "hit":
        raise ConfigError(f"no cached {method} projection of {encoder} on {space} ({lookup.message or lookup.status}); "
                          f"compute it with `nasviz encoders project --space {space} --encoder {encoder} --method {method}`")
    projection, _ = get_projection(space, encoder, method, seed=seed, progress=progress, embeddings=embeddings)
    frame = latent.assemble_map(embeddings, projection, [key])
    title = latent.projection_title(space, encoder, method)
    if view == "points":
        marker = 2.0 if options.width == "single" else 3.0 if options.width == "double" else 4.0
        higher = next((c.higher_is_better for c in latent.metric_choices(space) if c.key == key), False)
        values = frame[key].to_numpy(dtype=float) if key in frame else np.array([])
        fig = latent.map_figure(frame, key, title=title, labels={key: label}, marker_size=marker,
                                color_range=latent.robust_range(values, higher))  # the page's default range
        data = frame
    else:
        fig, binned = latent.density_figure(frame, key, bins=bins, title=title, label=label)
        data = binned.to_frame()
    with export_session():
        files = write_figure(fig, out, options, data, height_in=_height(options, 0.9, 0.6), axes=False)
    return ExportResult(files, {"space": space, "encoder": encoder, "method": method, "view": view, "metric": key,
                                "cells": len(frame)})


# ---- walks ---------------------------------------------------------------------------------------

def export_walk(space: str, encoder: str, start: str, out_dir: Path, *, steps: int = 15, metric: str | None = None,
                options: ExportOptions | None = None) -> ExportResult:
    """A nearest-neighbour walk (arch2vec's figure 2) as files in ``out_dir``: every cell drawn on its own with the
    changes from the previous cell highlighted (``step_NN_cell_ID.<format>``), all of them in one drawing
    (``walk_cells``), the edit distance and metric per step (``walk_metric``) and ``walk.csv``."""
    from nasviz import latent
    from nasviz.encoders.store import load_embeddings
    from nasviz.figures.cells import render_cell
    from nasviz.spaces import get_space
    from nasviz.walk import cell_for_id, nearest_neighbour_walk, step_captions, typed_cell_id

    options = options or ExportOptions()
    space_obj = get_space(space)
    embeddings = load_embeddings(space_obj.name, encoder)
    start_id = typed_cell_id(space_obj, start, embeddings)
    key, label = _metric_key(space_obj.name, metric, required=False)
    values = latent.metric_values(space_obj.name, key, embeddings.cell_ids.tolist()) if key else None
    walk = nearest_neighbour_walk(embeddings, start_id, steps, space=space_obj, metric=values, metric_key=key)
    cells = [cell_for_id(space_obj, cid) for cid in walk.cell_ids]
    captions = step_captions(walk)
    out_dir.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    previous = None
    for step, (cell, caption) in enumerate(zip(cells, captions, strict=True)):
        for fmt in options.formats:
            path = out_dir / f"step_{step:02d}_cell_{walk.cell_ids[step]}.{fmt}"
            path.write_bytes(render_cell(space_obj, cell, fmt, highlight_diff=previous, title=caption))
            files.append(path)
        previous = cell
    title = f"{encoder} nearest-neighbour walk on {space_obj.title}"
    for fmt in options.formats:
        path = out_dir / f"walk_cells.{fmt}"
        path.write_bytes(latent.walk_drawing(space_obj, cells, captions, fmt, title=title))
        files.append(path)
    table = walk.to_frame()
    table.insert(2, "cell", latent.cell_labels(space_obj.name, walk.cell_ids))
    with export_session():
        figure = latent.walk_metric_figure([walk], label)
        figure.update_layout(showlegend=False)  # one walk: the file and walk.csv name the encoder
        files += write_figure(figure, out_dir / "walk_metric", replace(options, csv=False), height_in=_height(options, 0.9))
    if options.csv:
        path = out_dir / "walk.csv"
        table.to_csv(path, index=False)
        files.append(path)
    return ExportResult(files, {"space": space_obj.name, "encoder": encoder, "start": start_id, "steps": len(walk) - 1,
                                "metric": key, "mean_edit_distance": walk.mean_edit_distance, "cells": walk.cell_ids})


# ---- L2 versus edit distance ---------------------------------------------------------------------

def export_l2_edit(space: str, encoders: Sequence[str], out: Path, *, cells: int = 400, seed: int = 0,
                   options: ExportOptions | None = None) -> ExportResult:
    """arch2vec's figure 3 for one or more encoders: latent L2 distance (over its median) by edit distance."""
    from nasviz import latent
    from nasviz.encoders.store import load_embeddings
    from nasviz.spaces import get_space
    from nasviz.walk import l2_summary, l2_vs_edit_distance

    options = options or ExportOptions()
    if not encoders:
        raise ConfigError("name at least one encoder")
    space = get_space(space).name
    pairs = {name: l2_vs_edit_distance(load_embeddings(space, name), n_cells=cells, seed=seed)
             for name in dict.fromkeys(encoders)}
    data = pd.concat([frame.assign(encoder=name) for name, frame in pairs.items()], ignore_index=True)
    with export_session():
        files = write_figure(latent.l2_edit_figure(pairs), out, options, data)
    summary = {name: l2_summary(frame).to_dict(orient="records") for name, frame in pairs.items()}
    return ExportResult(files, {"space": space, "encoders": list(pairs), "pairs": len(data), "summary": summary})


# ---- search runs ---------------------------------------------------------------------------------

def export_run(run_id: int, out_dir: Path, *, options: ExportOptions | None = None, store: Any = None) -> ExportResult:
    """The Search page's charts of one stored run: best so far with the optimum lines (``run_ID_best``), every
    query (``run_ID_queries``: accuracy versus latency with the limit and the exact Pareto front when constrained),
    and under a constraint the feasibility ratio per iteration (``run_ID_feasibility``)."""
    from nasviz.figures.search import best_so_far_figure, feasibility_figure, queries_figure
    from nasviz.search import RunStore
    from nasviz.search.jobs import feasibility_frame, is_constrained, queries_frame

    options = options or ExportOptions()
    store = store or RunStore()
    info = store.get_run(run_id)
    records = store.queries(run_id)
    if not records:
        raise ConfigError(f"run {run_id} has no query yet: nothing to draw")
    frame = queries_frame(records, info)
    with export_session():
        files = write_figure(best_so_far_figure(frame, info), out_dir / f"run_{run_id}_best", options, frame,
                             height_in=_height(options, 0.9))
        files += write_figure(queries_figure(frame, info), out_dir / f"run_{run_id}_queries", options, frame)
        if is_constrained(info):
            feasibility = feasibility_frame(records)
            files += write_figure(feasibility_figure(feasibility), out_dir / f"run_{run_id}_feasibility", options,
                                  feasibility)
    return ExportResult(files, {"run": run_id, "strategy": info.strategy, "seed": info.seed, "queries": len(frame),
                                "status": info.status})


def export_comparison(run_ids: Sequence[int], out: Path, *, options: ExportOptions | None = None,
                      store: Any = None) -> ExportResult:
    """The Search page's comparison of stored runs (papers' figures 3-4): the best-so-far reported metric per strategy,
    mean ± std over seeds, with the table's optimum for unconstrained runs; ``out.csv`` holds the curves and
    ``out_table.csv`` the mean ± std at 96, 100 and 192 queries. Runs must share one protocol."""
    from nasviz.figures.search import comparison_figure
    from nasviz.search import RunStore
    from nasviz.search.jobs import (
        checkpoint_table,
        comparison_frame,
        is_constrained,
        optimum_lines,
        protocol_signature,
        run_reported_key,
    )

    options = options or ExportOptions()
    if not run_ids:
        raise ConfigError("name at least one run to compare (see `nasviz runs list`)")
    store = store or RunStore()
    infos = [store.get_run(run_id) for run_id in dict.fromkeys(run_ids)]
    signature = protocol_signature(infos[0])
    for info in infos[1:]:
        if protocol_signature(info) != signature:
            raise ConfigError(f"run {info.id} has another protocol ({', '.join(protocol_signature(info))}) than run "
                              f"{infos[0].id} ({', '.join(signature)}): compare runs of one protocol")
    comparison = comparison_frame(infos, store)
    if comparison.empty:
        raise ConfigError("none of these runs has a query yet: nothing to compare")
    reported_key = run_reported_key(infos[0])
    optimum = optimum_lines(infos[0]).get("reported") if not any(is_constrained(i) for i in infos) else None
    with export_session():
        files = write_figure(comparison_figure(comparison, reported_key, optimum), out, options, comparison)
    table = checkpoint_table(comparison)
    if options.csv:
        path = out.with_name(f"{out.name}_table.csv")
        table.to_csv(path, index=False)
        files.append(path)
    return ExportResult(files, {"runs": [i.id for i in infos], "table": table.to_dict(orient="records")})
