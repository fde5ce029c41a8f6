"""Data and figures of the Latent Space and Neighbour Walk pages (arch2vec figures 2-4), without Streamlit.

- :func:`metric_choices` / :func:`metric_values`: what a map can be coloured by: every metric of the space's
  benchmark table (accuracy per dataset/split/epochs, latency per device...) plus the exact parameters and
  FLOPs of each cell from the space's cost model (``cost/params/<dataset>``, ``cost/flops/<dataset>``).
- :func:`assemble_map`: one row per projected cell: id, x, y, a cell label and the chosen metrics.
- :func:`binned_mean`: the mean metric in each cell of a square grid over the projection (figure 4).
- figure builders: :func:`map_figure`, :func:`density_figure`, :func:`walk_metric_figure`,
  :func:`l2_edit_figure`; and :func:`walk_drawing` (one vector PDF/SVG of every cell of a walk).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from nasviz.encoders.store import EmbeddingSet
from nasviz.errors import ConfigError, DataError, NasvizError
from nasviz.projection import METHOD_TITLES, Projection
from nasviz.spaces import SearchSpace, get_space
from nasviz.walk import Walk, cell_for_id

COST_PREFIX = "cost/"
#: colour scale of continuous metrics (perceptually uniform and colour-blind safe)
COLOR_SCALE = "Viridis"
SELECTED_COLOR = "#D55E00"
MUTED_COLOR = "#D0D0D0"


@dataclass(frozen=True)
class MetricChoice:
    """A metric a map can be coloured or filtered by."""

    key: str
    label: str
    source: str  # "table" (benchmark table) or "cost" (the space's cost model)
    higher_is_better: bool = False
    dataset: str | None = None  # the dataset the metric was measured on (None: device-only latency...)


def _table(space: str) -> Any | None:
    try:
        from nasviz.data import load_table

        return load_table(space)
    except (DataError, ImportError):
        return None


#: datasets listed first, in this order, when metrics are grouped by dataset
DATASET_ORDER = ("cifar10", "cifar100", "ImageNet16-120")


def _dataset_rank(dataset: str | None, space_datasets: Sequence[str]) -> int:
    order = list(dict.fromkeys([*DATASET_ORDER, *space_datasets]))
    if dataset is None:
        return len(order) + 1  # metrics of no dataset (a device's latency) last
    return order.index(dataset) if dataset in order else len(order)


def _metric_sort_key(choice: MetricChoice, space_datasets: Sequence[str] = ()) -> tuple[int, str, int, str]:
    order = {"accuracy": 0, "params": 2, "flops": 3, "latency": 4}
    kind = choice.key.removeprefix(COST_PREFIX).split("/")[0]
    return _dataset_rank(choice.dataset, space_datasets), choice.dataset or "", order.get(kind, 5), choice.key


def dataset_title(dataset: str | None) -> str:
    """``cifar10`` -> ``CIFAR-10``; None -> ``Any dataset``."""
    from nasviz.data.metrics import DATASET_TITLES

    return DATASET_TITLES.get(dataset or "", dataset or "") or "No dataset"


def metric_choices(space: str) -> list[MetricChoice]:
    """Metrics of the space's imported benchmark table and exact params/FLOPs from the cost model, grouped by
    dataset (CIFAR-10 first, then CIFAR-100, ImageNet16-120, other datasets, then metrics of no dataset);
    within a dataset: accuracies, parameters, FLOPs, latencies."""
    choices: list[MetricChoice] = []
    table = _table(space)
    if table is not None:
        choices += [MetricChoice(m.key, m.label, "table", m.higher_is_better, m.dataset) for m in table.metrics]
    space_obj = get_space(space)
    if space_obj.name == "nb201" or hasattr(space_obj, "cell_from_id"):
        for dataset in space_obj.datasets:
            choices.append(MetricChoice(f"{COST_PREFIX}params/{dataset}", f"Parameters, {dataset} network (M, exact)",
                                        "cost", dataset=dataset))
            choices.append(MetricChoice(f"{COST_PREFIX}flops/{dataset}", f"FLOPs, {dataset} network (M, exact)", "cost",
                                        dataset=dataset))
    datasets = tuple(getattr(space_obj, "datasets", ()))
    return sorted(choices, key=lambda c: _metric_sort_key(c, datasets))


def grouped_label(choice: MetricChoice) -> str:
    """The label of ``choice`` led by its dataset group (``CIFAR-10 · Parameters, ...``; a label that starts with
    it already, ``CIFAR-10 test accuracy ...``, as it is)."""
    title = dataset_title(choice.dataset)
    return choice.label if choice.label.startswith(title) else f"{title} · {choice.label}"


def hover_metrics(choices: Sequence[MetricChoice], color_key: str | None, extra: Sequence[str] = ()) -> tuple[str, ...]:
    """The metrics a map's hover and the selected-cells table show: the colour metric, ``extra`` (filters), then
    the default accuracy (CIFAR-10 / the first dataset's test accuracy, whatever the colour: a latency colour
    shows the CIFAR-10 accuracy beside it) and that dataset's parameters."""
    accuracy = default_metric([c for c in choices if c.key.startswith("accuracy/")])
    dataset = accuracy.dataset if accuracy is not None else next((c.dataset for c in choices if c.dataset), None)
    params = next((c for c in choices if c.key.removeprefix(COST_PREFIX).startswith("params")
                   and c.dataset == dataset), None)
    keys = [color_key, *extra, accuracy.key if accuracy else None, params.key if params else None]
    return tuple(dict.fromkeys(k for k in keys if k))


def failed_mask(values: np.ndarray, higher_is_better: bool) -> np.ndarray:
    """Cells that failed to train: for a higher-is-better metric (accuracy), the values at the column's floor
    when at least 0.5 % of the cells share it (NB201's untrainable cells all score chance: 10 % on CIFAR-10).
    Other metrics have no failed cells."""
    values = np.asarray(values, dtype=np.float64)
    out = np.zeros(len(values), dtype=bool)
    finite = np.isfinite(values)
    if not higher_is_better or not finite.any():
        return out
    floor = float(values[finite].min())
    at_floor = finite & np.isclose(values, floor, rtol=0, atol=1e-9)
    if at_floor.sum() >= max(5, 0.005 * finite.sum()) and at_floor.sum() < finite.sum():
        out = at_floor
    return out


def robust_range(values: np.ndarray, higher_is_better: bool = False) -> tuple[float, float] | None:
    """The default colour range of a metric: failed cells (:func:`failed_mask`) left out, then from the 2nd
    percentile to the best value for a higher-is-better metric (the best cells keep distinct colours), or from the
    lowest value to the 98th percentile otherwise (a long tail of large models or slow cells does not wash the
    scale out). None without finite values."""
    values = np.asarray(values, dtype=np.float64)
    keep = np.isfinite(values) & ~failed_mask(values, higher_is_better)
    if not keep.any():
        return None
    kept = values[keep]
    low, high = ((float(np.percentile(kept, 2)), float(kept.max())) if higher_is_better
                 else (float(kept.min()), float(np.percentile(kept, 98))))
    return (low, high) if low < high else (float(kept.min()), float(kept.max()))


@dataclass(frozen=True)
class ColorScale:
    """How a map colours a metric: the value range (None: the data's), log scale and reversed colours."""

    range: tuple[float, float] | None = None
    log: bool = False
    reverse: bool = False


def color_values(values: np.ndarray, scale: ColorScale) -> tuple[np.ndarray, tuple[float, float] | None]:
    """The numbers a marker colour uses (log10 of the values on a log scale: non-positive values become NaN)
    and their (cmin, cmax)."""
    values = np.asarray(values, dtype=np.float64)
    if not scale.log:
        return values, scale.range
    with np.errstate(divide="ignore", invalid="ignore"):
        logged = np.where(values > 0, np.log10(np.where(values > 0, values, 1.0)), np.nan)
    bounds = None
    if scale.range is not None:
        low, high = scale.range
        positive = values[values > 0]
        low = low if low > 0 else (float(positive.min()) if len(positive) else 1e-9)
        bounds = (float(np.log10(low)), float(np.log10(max(high, low * 1.0001))))
    return logged, bounds


def _log_ticks(bounds: tuple[float, float]) -> tuple[list[float], list[str]]:
    """Colour-bar ticks of a log scale at 1, 2, 5 x 10^k inside ``bounds`` (log10 units), labelled in values."""
    values = [m * 10.0 ** k for k in range(int(np.floor(bounds[0])) - 1, int(np.ceil(bounds[1])) + 1) for m in (1, 2, 5)]
    ticks = [v for v in values if bounds[0] - 1e-9 <= np.log10(v) <= bounds[1] + 1e-9]
    return [float(np.log10(v)) for v in ticks], [f"{v:g}" for v in ticks]


def default_metric(choices: Sequence[MetricChoice]) -> MetricChoice | None:
    """The test accuracy with the most epochs on the first dataset, else the first choice."""
    def rank(c: MetricChoice) -> tuple[int, int, int]:
        parts = c.key.removeprefix(COST_PREFIX).split("/")
        epochs = int(parts[3].removesuffix("ep")) if len(parts) > 3 and parts[3].endswith("ep") else 0
        dataset = parts[1] if len(parts) > 1 else ""
        test = len(parts) > 2 and parts[2] == "test"
        return (parts[0] == "accuracy", dataset == "cifar10", epochs + test)
    return max(choices, key=rank) if choices else None


@lru_cache(maxsize=32)
def _cost_column(space: str, kind: str, dataset: str, cell_ids: tuple[str, ...]) -> np.ndarray:
    space_obj = get_space(space)
    if space == "nb201" and (rows := _nb201_rows(cell_ids)) is not None:
        return _nb201_cost_column(kind, dataset, rows)
    out = np.full(len(cell_ids), np.nan)
    # cells with the same op counts cost the same in NB201 (every op of a cell runs at the cell's resolution):
    # cost one representative per op-count combination (exact, and ~100x faster than costing every cell)
    by_counts: dict[tuple[int, ...], float] = {}
    for i, cell_id in enumerate(cell_ids):
        cell = cell_for_id(space_obj, cell_id)
        if cell is None:
            continue
        group = tuple(space_obj.op_counts(cell).values()) if space == "nb201" else None
        if group is not None and group in by_counts:
            out[i] = by_counts[group]
            continue
        try:
            cost = space_obj.cost(cell, dataset)
        except NasvizError:
            continue
        out[i] = (cost.params if kind == "params" else cost.flops) / 1e6
        if group is not None:
            by_counts[group] = out[i]
    out.flags.writeable = False
    return out


def _nb201_cost_column(kind: str, dataset: str, rows: np.ndarray) -> np.ndarray:
    """NB201 costs, vectorised: cells with the same op counts cost the same (every op of a cell runs at the
    cell's resolution), so one representative per op-count combination is costed exactly."""
    from nasviz.spaces.nb201 import NUM_EDGES, OPS, cell_from_index, code_of_index_table

    space_obj = get_space("nb201")
    digits = (code_of_index_table()[rows][:, None] // 5 ** np.arange(NUM_EDGES - 1, -1, -1)) % 5
    counts = (digits[:, :, None] == np.arange(len(OPS))).sum(axis=1)
    groups, first, inverse = np.unique(counts, axis=0, return_index=True, return_inverse=True)
    values = np.empty(len(groups))
    for g, row in enumerate(first.tolist()):
        cost = space_obj.cost(cell_from_index(int(rows[row])), dataset)
        values[g] = (cost.params if kind == "params" else cost.flops) / 1e6
    out = values[inverse.reshape(-1)]
    out.flags.writeable = False
    return out


def metric_values(space: str, key: str, cell_ids: Sequence[str]) -> np.ndarray:
    """Values of metric ``key`` for ``cell_ids`` (float64, NaN where unknown)."""
    ids = tuple(str(c) for c in cell_ids)
    if key.startswith(COST_PREFIX):
        parts = key.removeprefix(COST_PREFIX).split("/")
        if len(parts) != 2 or parts[0] not in ("params", "flops"):
            raise ConfigError(f"unknown cost metric {key!r}; use cost/params/<dataset> or cost/flops/<dataset>")
        return _cost_column(get_space(space).name, parts[0], parts[1], ids)
    table = _table(space)
    if table is None:
        raise DataError(f"no benchmark table imported for {space}: run `nasviz data import` (see `nasviz data status`)")
    column = table.values(key)
    rows = np.array([-1 if (r := table.row_of(c)) is None else r for c in ids], dtype=np.int64)
    out = np.where(rows >= 0, column[np.clip(rows, 0, None)], np.nan)
    return out


def metric_label(space: str, key: str) -> str:
    for choice in metric_choices(space):
        if choice.key == key:
            return choice.label
    return key


def cell_labels(space: str, cell_ids: Sequence[str]) -> list[str]:
    """Short text of each cell for hovers and tables (the NB201 arch string, the JSON elsewhere)."""
    return list(_cell_labels(get_space(space).name, tuple(str(c) for c in cell_ids)))


@lru_cache(maxsize=1)
def _nb201_arch_strings() -> np.ndarray:
    """Arch strings of all NB201 cells, by official index (built once, vectorised)."""
    from nasviz.spaces.nb201 import NUM_EDGES, OPS, code_of_index_table

    codes = code_of_index_table()
    digits = (codes[:, None] // 5 ** np.arange(NUM_EDGES - 1, -1, -1)) % 5
    names = np.array(OPS, dtype=object)[digits]
    return np.array([f"|{o[0]}~0|+|{o[1]}~0|{o[2]}~1|+|{o[3]}~0|{o[4]}~1|{o[5]}~2|" for o in names.tolist()])


def _nb201_rows(cell_ids: Sequence[str]) -> np.ndarray | None:
    """Official indices of NB201 ids, or None when an id is not an index."""
    try:
        rows = np.array([int(c) for c in cell_ids], dtype=np.int64)
    except ValueError:
        return None
    return rows if ((rows >= 0) & (rows < 15_625)).all() else None


@lru_cache(maxsize=16)
def _cell_labels(space: str, cell_ids: tuple[str, ...]) -> tuple[str, ...]:
    if space == "nb201" and (rows := _nb201_rows(cell_ids)) is not None:
        return tuple(_nb201_arch_strings()[rows].tolist())
    space_obj = get_space(space)
    out = []
    for cell_id in cell_ids:
        cell = cell_for_id(space_obj, str(cell_id))
        if cell is None:
            out.append(str(cell_id))
            continue
        value = space_obj.to_json(cell)
        out.append(value if isinstance(value, str) else json.dumps(value))
    return tuple(out)


# ---- the map ---------------------------------------------------------------------------------

def assemble_map(embeddings: EmbeddingSet, projection: Projection, metric_keys: Sequence[str] = ()) -> pd.DataFrame:
    """One row per projected cell: ``cell_id``, ``x``, ``y``, ``cell`` (label) and one column per metric key."""
    if projection.fingerprint and projection.indices.max(initial=-1) >= len(embeddings):
        raise DataError("the projection does not belong to these embeddings; recompute it")
    ids = np.asarray(embeddings.cell_ids).astype(str)[projection.indices]
    frame = pd.DataFrame({"cell_id": ids, "x": projection.coords[:, 0].astype(np.float64),
                          "y": projection.coords[:, 1].astype(np.float64)})
    frame["cell"] = cell_labels(embeddings.space, ids.tolist())
    for key in dict.fromkeys(metric_keys):
        frame[key] = metric_values(embeddings.space, key, ids.tolist())
    return frame


def range_mask(frame: pd.DataFrame, ranges: dict[str, tuple[float, float]]) -> np.ndarray:
    """Rows whose metrics all lie in their [low, high] range (NaN fails a range)."""
    mask = np.ones(len(frame), dtype=bool)
    for key, (low, high) in ranges.items():
        values = frame[key].to_numpy(dtype=np.float64)
        mask &= (values >= low) & (values <= high)
    return mask


@dataclass
class BinnedMap:
    """Mean of a metric per grid cell: ``mean[row, col]`` (NaN for empty bins), ``counts`` and bin centres."""

    mean: np.ndarray
    counts: np.ndarray
    x_centres: np.ndarray
    y_centres: np.ndarray

    def to_frame(self) -> pd.DataFrame:
        """One row per bin (row-major): centre ``y`` and ``x``, the ``mean`` and the number of ``cells``."""
        rows, cols = self.mean.shape
        return pd.DataFrame({"y": np.repeat(self.y_centres, cols), "x": np.tile(self.x_centres, rows),
                             "mean": self.mean.reshape(-1), "cells": self.counts.reshape(-1)})


def binned_mean(x: np.ndarray, y: np.ndarray, values: np.ndarray, bins: int = 51,
                extent: tuple[float, float] = (-1.0, 1.0)) -> BinnedMap:
    """Average ``values`` over a ``bins`` x ``bins`` grid covering ``extent`` on both axes (figure 4).

    Rows are y bins, columns x bins (the layout of a heatmap). NaN values are ignored.
    """
    if bins < 2:
        raise ConfigError(f"a density map needs at least 2 bins per axis, got {bins}")
    x, y, values = (np.asarray(a, dtype=np.float64) for a in (x, y, values))
    keep = np.isfinite(values) & np.isfinite(x) & np.isfinite(y)
    edges = np.linspace(extent[0], extent[1], bins + 1)
    col = np.clip(np.searchsorted(edges, x[keep], side="right") - 1, 0, bins - 1)
    row = np.clip(np.searchsorted(edges, y[keep], side="right") - 1, 0, bins - 1)
    flat = row * bins + col
    counts = np.bincount(flat, minlength=bins * bins).reshape(bins, bins)
    sums = np.bincount(flat, weights=values[keep], minlength=bins * bins).reshape(bins, bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    centres = (edges[:-1] + edges[1:]) / 2
    return BinnedMap(mean, counts, centres, centres.copy())


def _hover(frame: pd.DataFrame, keys: Sequence[str], labels: dict[str, str]) -> tuple[np.ndarray, np.ndarray, str]:
    """Numeric customdata (row number in ``frame``, then the metrics: sent as compact typed arrays), hover text
    (id and cell label) and the hover template."""
    rows = frame.index.to_numpy(dtype=np.float64)
    custom = np.column_stack([rows] + [frame[k].to_numpy(dtype=np.float64) for k in keys])
    text = ("cell " + frame["cell_id"].astype(str) + "<br>" + frame["cell"].astype(str)).to_numpy()
    lines = ["%{hovertext}"] + [f"{labels.get(k, k)}: %{{customdata[{i + 1}]:.4g}}" for i, k in enumerate(keys)]
    return custom, text, "<br>".join(lines) + "<extra></extra>"


def map_figure(frame: pd.DataFrame, color_key: str | None, *, title: str = "", labels: dict[str, str] | None = None,
               hover_keys: Sequence[str] = (), mask: np.ndarray | None = None, selected: Sequence[str] = (),
               color_range: tuple[float, float] | None = None, marker_size: float = 4.0,
               color_scale: ColorScale | None = None) -> go.Figure:
    """Scatter of the projection coloured by ``color_key``; rows outside ``mask`` are drawn grey underneath
    (not selectable), ``selected`` cells are ringed. Each selectable point's customdata starts with its row
    number in ``frame`` (see :func:`selected_rows`). ``frame`` must have a default RangeIndex."""
    labels = labels or {}
    mask = np.ones(len(frame), dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    keys = list(dict.fromkeys([k for k in (color_key, *hover_keys) if k]))
    fig = go.Figure()
    if (~mask).any():
        hidden = frame[~mask]
        fig.add_trace(go.Scattergl(x=hidden["x"].to_numpy(), y=hidden["y"].to_numpy(), mode="markers", name="filtered out",
                                   marker={"size": marker_size * 0.8, "color": MUTED_COLOR, "opacity": 0.5},
                                   hoverinfo="skip", showlegend=True))
    shown = frame[mask]
    custom, text, template = _hover(shown, keys, labels)
    marker: dict[str, Any] = {"size": marker_size, "opacity": 0.85}
    if color_key:
        scale = color_scale or ColorScale(range=color_range)
        colors, bounds = color_values(shown[color_key].to_numpy(dtype=np.float64), scale)
        colorbar: dict[str, Any] = {"title": {"text": labels.get(color_key, color_key) + (" (log)" if scale.log else ""),
                                              "side": "right"}, "thickness": 12}
        if scale.log:
            finite = colors[np.isfinite(colors)]
            span = bounds or ((float(finite.min()), float(finite.max())) if len(finite) else None)
            if span is not None:
                colorbar["tickvals"], colorbar["ticktext"] = _log_ticks(span)
        marker.update(color=colors, colorscale=COLOR_SCALE, showscale=True, reversescale=scale.reverse,
                      colorbar=colorbar)
        if bounds is not None:
            marker.update(cmin=bounds[0], cmax=bounds[1])
    fig.add_trace(go.Scattergl(x=shown["x"].to_numpy(), y=shown["y"].to_numpy(), mode="markers", marker=marker,
                               customdata=custom, hovertext=text, hovertemplate=template, name="cells", showlegend=False))
    if len(selected):
        chosen = frame[frame["cell_id"].isin([str(s) for s in selected])]
        fig.add_trace(go.Scattergl(x=chosen["x"].to_numpy(), y=chosen["y"].to_numpy(), mode="markers", name="selected",
                                   hoverinfo="skip", showlegend=True,
                                   marker={"size": marker_size * 2.6, "color": "rgba(0,0,0,0)",
                                           "line": {"color": SELECTED_COLOR, "width": 2}}))
    # no dragmode/clickmode: Streamlit then makes a click select a point (box and lasso are in the mode bar)
    fig.update_layout(title=title or None, height=560, margin={"l": 10, "r": 10, "t": 40, "b": 10},
                      legend={"orientation": "h", "y": -0.02})
    fig.update_xaxes(showticklabels=False, title=None, range=[-1.05, 1.05], zeroline=False)
    fig.update_yaxes(showticklabels=False, title=None, range=[-1.05, 1.05], zeroline=False, scaleanchor="x")
    return fig


def selected_rows(event: Any) -> list[int]:
    """Frame rows of the points of a Streamlit plotly selection event (from each point's first customdata)."""
    if not event:
        return []
    selection = event.get("selection") if isinstance(event, dict) else getattr(event, "selection", None)
    if not selection:
        return []
    points = selection.get("points", []) if isinstance(selection, dict) else getattr(selection, "points", [])
    out: list[int] = []
    for point in points or []:
        custom = point.get("customdata") if isinstance(point, dict) else None
        if isinstance(custom, (list, tuple)) and custom:
            custom = custom[0]
        elif isinstance(custom, dict):  # a typed-array row arrives as {"0": ..., "1": ...}
            custom = custom.get("0", custom.get(0))
        if isinstance(custom, (int, float)) and np.isfinite(custom):
            out.append(int(custom))
    return list(dict.fromkeys(out))


def density_figure(frame: pd.DataFrame, key: str, *, bins: int = 51, title: str = "", label: str = "",
                   color_range: tuple[float, float] | None = None, mask: np.ndarray | None = None,
                   highlight_above: float | None = None, highlight_below: float | None = None) -> tuple[go.Figure, BinnedMap]:
    """Binned-mean map of ``key`` (figure 4); ``highlight_above`` (``highlight_below``) marks the cells at or above
    (at or below) a value in red, like arch2vec's overlay of the cells above 94 %."""
    rows = frame if mask is None else frame[np.asarray(mask, dtype=bool)]
    binned = binned_mean(rows["x"].to_numpy(), rows["y"].to_numpy(), rows[key].to_numpy(), bins=bins)
    zmin, zmax = color_range if color_range is not None else (None, None)
    fig = go.Figure(go.Heatmap(z=binned.mean, x=binned.x_centres, y=binned.y_centres, colorscale=COLOR_SCALE,
                               zmin=zmin, zmax=zmax, customdata=binned.counts,
                               hovertemplate="mean %{z:.4g}<br>%{customdata} cells<extra></extra>",
                               colorbar={"title": {"text": label or key, "side": "right"}, "thickness": 12}))
    for bound, name in ((highlight_above, "≥"), (highlight_below, "≤")):
        if bound is None:
            continue
        top = rows[rows[key] >= bound] if name == "≥" else rows[rows[key] <= bound]
        fig.add_trace(go.Scatter(x=top["x"], y=top["y"], mode="markers", name=f"{name} {bound:.4g}",
                                 marker={"size": 4, "color": SELECTED_COLOR}, hoverinfo="skip"))
    fig.update_layout(title=title or None, height=560, margin={"l": 10, "r": 10, "t": 40, "b": 10},
                      legend={"orientation": "h", "y": -0.02}, plot_bgcolor="white")
    fig.update_xaxes(showticklabels=False, range=[-1, 1], zeroline=False)
    fig.update_yaxes(showticklabels=False, range=[-1, 1], zeroline=False, scaleanchor="x")
    return fig, binned


def projection_title(space: str, encoder: str, method: str) -> str:
    return f"{encoder} on {get_space(space).title}: {METHOD_TITLES.get(method, method)}"


# ---- walk figures ----------------------------------------------------------------------------

def walk_metric_figure(walks: Sequence[Walk], metric_label_text: str = "") -> go.Figure:
    """Per step: edit distance to the previous cell (bars) and the metric (lines), one colour per encoder."""
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                        subplot_titles=("Edit distance to the previous cell", metric_label_text or "metric"))
    for walk in walks:
        frame = walk.to_frame()
        name = f"{walk.encoder} (mean {walk.mean_edit_distance:.2f})"
        fig.add_trace(go.Bar(x=frame["step"], y=frame["edit_distance"], name=name, legendgroup=walk.encoder), row=1, col=1)
        fig.add_trace(go.Scatter(x=frame["step"], y=frame["metric"], mode="lines+markers", name=walk.encoder,
                                 legendgroup=walk.encoder, showlegend=False,
                                 customdata=frame[["cell_id"]].to_numpy(), hovertemplate="cell %{customdata[0]}: %{y:.4g}"),
                      row=2, col=1)
    fig.update_layout(barmode="group", height=420, margin={"l": 10, "r": 10, "t": 40, "b": 10},
                      legend={"orientation": "h", "y": -0.15})
    fig.update_xaxes(title_text="step", row=2, col=1, dtick=1)
    return fig


def l2_edit_figure(pairs_by_encoder: dict[str, pd.DataFrame]) -> go.Figure:
    """Distribution of latent L2 distance by edit distance, one box per encoder and edit distance (figure 3)."""
    fig = go.Figure()
    for encoder, pairs in pairs_by_encoder.items():
        # normalise by the median distance so encoders of different scales compare
        scale = float(np.median(pairs["l2"])) or 1.0
        fig.add_trace(go.Box(x=pairs["edit_distance"], y=pairs["l2"] / scale, name=encoder, boxpoints=False))
    fig.update_layout(boxmode="group", height=380, margin={"l": 10, "r": 10, "t": 30, "b": 10},
                      legend={"orientation": "h", "y": -0.2})
    fig.update_xaxes(title_text="edit distance", dtick=1)
    fig.update_yaxes(title_text="L2 distance / median L2")
    return fig


# ---- walk drawings ---------------------------------------------------------------------------

_NODE_AT_START = re.compile(r"^(\s*)(n\d+)\b")
_NODE_AFTER_ARROW = re.compile(r"-> (n\d+)\b")
_CLUSTER = re.compile(r"subgraph (cluster_\w+)")


def walk_drawing(space: SearchSpace | str, cells: Sequence[Any], captions: Sequence[str], fmt: str = "pdf",
                 highlight: bool = True, title: str | None = None) -> bytes:
    """Every cell of a walk in one drawing (one step per box, top to bottom; changes from the previous
    cell highlighted), as PDF, SVG or PNG bytes. ``None`` cells (invalid decodes) are drawn as a note."""
    import graphviz

    from nasviz.figures.cells import FORMATS, cell_digraph, check_dot

    space = get_space(space) if isinstance(space, str) else space
    if fmt not in FORMATS:
        raise ConfigError(f"unknown drawing format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if len(cells) != len(captions):
        raise ConfigError("walk_drawing needs one caption per cell")
    check_dot()
    dot = graphviz.Digraph(name="walk", format=fmt)
    dot.attr("graph", rankdir="LR", bgcolor="white", fontname="Helvetica", fontsize="12", nodesep="0.3", pad="0.2")
    if fmt == "png":
        dot.attr("graph", dpi="150")
    if title:
        dot.attr("graph", label=title, labelloc="t", fontsize="14")
    previous = None
    # graphviz stacks the disconnected clusters of an LR layout bottom-up: add them in reverse order
    blocks: list[graphviz.Digraph] = []
    for step, (cell, caption) in enumerate(zip(cells, captions, strict=True)):
        sub = graphviz.Digraph(name=f"cluster_step{step}")
        sub.attr(label=caption, labeljust="l", fontname="Helvetica", fontsize="11", style="rounded", color="#999999")
        if cell is None:
            sub.node(f"s{step}_invalid", "invalid decode (not a cell of the space)", shape="note", color="#D55E00",
                     fontname="Helvetica", fontsize="10")
        else:
            body = cell_digraph(space, cell, highlight_diff=previous if highlight else None).body
            for line in body:
                if line.startswith(("\tgraph ", "\tnode ", "\tedge ")):
                    continue  # keep the outer graph's layout attributes
                line = _CLUSTER.sub(lambda m, s=step: f"subgraph s{s}_{m.group(1)}", line)
                line = _NODE_AT_START.sub(lambda m, s=step: f"{m.group(1)}s{s}_{m.group(2)}", line)
                line = _NODE_AFTER_ARROW.sub(lambda m, s=step: f"-> s{s}_{m.group(1)}", line)
                sub.body.append(line)
            previous = cell
        blocks.append(sub)
    for sub in reversed(blocks):
        dot.subgraph(sub)
    return dot.pipe(format=fmt)


def no_encoder_hint(space: SearchSpace) -> str:
    """What to do when ``space`` has no trained encoder: the training command, or why there is none."""
    try:
        from nasviz.encoders.base import get_codec

        get_codec(space.name)
    except (ConfigError, ImportError) as exc:
        return f"No encoder embeds {space.title} cells ({exc}): choose another search space."
    return (f"No trained encoder for {space.title} yet. Train one with "
            f"`nasviz encoders train arch2vec --space {space.name}` (`nasviz encoders list --space {space.name}` "
            "shows which are trained).")


def parse_cell_ids(text: str, known: set[str], space: SearchSpace, limit: int = 200) -> tuple[list[str], list[str]]:
    """Cell ids (or arch strings / cells the space parses) typed in ``text``, separated by commas, spaces or new
    lines, at most ``limit`` of them: (ids among ``known``, entries not among them)."""
    found, missing = [], []
    for token in [t for t in re.split(r"[\s,;]+", text.strip()) if t][:limit]:
        if token in known:
            found.append(token)
            continue
        try:
            cell_id = space.cell_id(space.parse_text(token))
        except (NasvizError, ValueError, TypeError):
            cell_id = None
        (found if cell_id in known else missing).append(cell_id if cell_id in known else token)
    return list(dict.fromkeys(found)), missing
