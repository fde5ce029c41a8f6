"""AG-Net on the Latent Space page, without Streamlit.

AG-Net has no encoder, so its generated cells are shown on the map of another encoder (e.g. arch2vec): cells
are generated with the shipped AG-Net, looked up by cell id in that map's 2-D coordinates, and drawn over the
grey map (the AG-Net paper's figure 1, right). :func:`retraining_accuracy_shift` retrains a copy of the
generator on a small seeded set of evaluated cells and returns the accuracy of generated cells before and after
(figure 13).

- :func:`generated_on_map`: DataFrame ``cell_id, x, y, count, on_map`` (+ ``accuracy``) of generated cells.
- :func:`retraining_accuracy_shift`: before/after accuracy arrays of generated cells.
- :func:`overlay_figure`, :func:`shift_histogram`: the two Plotly figures.
- :func:`z_interpolation`: an interpolation walk in z (Neighbour Walk page): every point's decode, invalid ones
  flagged, edit distance to the previous valid decode, how much the soft graph moved and the true metric.

Why the z walk stays on nearly one cell, and what its changes show: docs/agnet.md.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from nasviz.errors import ConfigError

GENERATED_COLOR = "#D55E00"
BEFORE_COLOR = "#0072B2"
AFTER_COLOR = "#D55E00"
MAP_COLOR = "#C8C8C8"


def load_agnet(space: str) -> Any:
    """The AG-Net model of ``space`` (the user's first, then the shipped one); DataError when none exists."""
    from nasviz.encoders.agnet import AGNetEncoder

    return AGNetEncoder.load(space)


def generated_on_map(map_frame: pd.DataFrame, n: int = 1000, seed: int = 0, accuracy: Mapping[str, float] | None = None,
                     encoder: Any = None, space: str = "nb201") -> tuple[pd.DataFrame, dict[str, Any]]:
    """Generate ``n`` cells with AG-Net (seeded) and place the distinct valid ones on a map.

    ``map_frame`` has one row per projected cell (``cell_id``, ``x``, ``y``: the map encoder's cached projection,
    e.g. from :func:`nasviz.latent.assemble_map`). Returns (frame, summary): one row per distinct generated cell,
    most generated first, with its map position (NaN and ``on_map`` False when the map does not hold the cell),
    how many of the ``n`` samples produced it and, when ``accuracy`` (id -> value) is given, its accuracy; the
    summary holds validity, uniqueness, the number of cells on the map and the seed.
    """
    if n < 1:
        raise ConfigError(f"generate at least one cell, got n={n}")
    if not {"cell_id", "x", "y"} <= set(map_frame.columns):
        raise ConfigError("the map frame needs the columns cell_id, x and y")
    from nasviz.encoders.agnet import generated_distribution

    encoder = encoder if encoder is not None else load_agnet(space)
    dist = generated_distribution(encoder, n=n, seed=seed)
    counts = dist["counts"]
    ids = sorted(counts, key=lambda c: (-counts[c], c))
    positions = map_frame[["cell_id", "x", "y"]].astype({"cell_id": str}).drop_duplicates("cell_id").set_index("cell_id")
    placed = positions.reindex(ids)
    frame = pd.DataFrame({"cell_id": ids, "x": placed["x"].to_numpy(dtype=np.float64),
                          "y": placed["y"].to_numpy(dtype=np.float64),
                          "count": np.array([counts[c] for c in ids], dtype=np.int64)})
    frame["on_map"] = np.isfinite(frame["x"].to_numpy()) & np.isfinite(frame["y"].to_numpy())
    if accuracy is not None:
        frame["accuracy"] = np.array([accuracy.get(c, np.nan) for c in ids], dtype=np.float64)
    summary = {"space": encoder.space, "samples": n, "seed": seed, "valid": dist["valid"], "validity": dist["validity"],
               "uniqueness": dist["uniqueness"], "distinct": len(ids), "on_map": int(frame["on_map"].sum()),
               "invalid_reasons": dist["invalid_reasons"]}
    return frame, summary


def retraining_accuracy_shift(accuracy: Mapping[str, float], space: str = "nb201", train_cells: int = 100,
                              samples: int = 500, epochs: int = 5, seed: int = 0, encoder: Any = None,
                              progress: Callable[[float, str], None] | None = None) -> dict[str, Any]:
    """Weighted retraining of a copy of AG-Net on ``train_cells`` cells drawn (seeded) from ``accuracy``
    (id -> value, higher is better), scored by that accuracy; returns the accuracy arrays of ``samples``
    generated cells ``before`` and ``after`` (valid cells; NaN where the table has no value), their means,
    validity and the run's configuration. The loaded model is not changed. ``progress(fraction, text)`` is called
    after each optimiser step of the retraining."""
    from nasviz.encoders.agnet import retraining_shift
    from nasviz.spaces import get_space
    from nasviz.walk import cell_for_id

    known = sorted((c for c, v in accuracy.items() if np.isfinite(v)), key=str)
    if len(known) < 2:
        raise ConfigError("weighted retraining needs accuracies of at least two cells")
    if train_cells < 2:
        raise ConfigError(f"retrain on at least two cells, got {train_cells}")
    space_obj = get_space(space)
    rng = np.random.default_rng(seed)
    chosen = [known[i] for i in rng.choice(len(known), size=min(train_cells, len(known)), replace=False)]
    cells = [cell_for_id(space_obj, c) for c in chosen]
    pairs = [(cell, float(accuracy[c])) for cell, c in zip(cells, chosen, strict=True) if cell is not None]
    if len(pairs) < 2:
        raise ConfigError(f"the accuracy ids do not describe {space} cells")
    encoder = encoder if encoder is not None else load_agnet(space)
    def on_step(done: int, total: int) -> None:
        if progress is not None:
            progress(done / total, f"weighted retraining: step {done} of {total}")

    shift = retraining_shift(encoder, [p[0] for p in pairs], [p[1] for p in pairs], dict(accuracy), samples=samples,
                             epochs=epochs, seed=seed, progress=on_step)
    return {"before": shift["before"]["accuracy"], "after": shift["after"]["accuracy"],
            "mean_before": shift["before"]["mean"], "mean_after": shift["after"]["mean"],
            "validity_before": shift["before"]["validity"], "validity_after": shift["after"]["validity"],
            "train_cells": len(pairs), "train_mean": float(np.mean([p[1] for p in pairs])), "samples": samples,
            "epochs": epochs, "seed": seed, "losses": shift["losses"]}


def overlay_figure(map_frame: pd.DataFrame, generated: pd.DataFrame, title: str = "", marker_size: float = 3.0) -> go.Figure:
    """The map's cells in grey with the generated cells on top (marker size grows with how often a cell was
    generated)."""
    fig = go.Figure()
    fig.add_trace(go.Scattergl(x=map_frame["x"].to_numpy(), y=map_frame["y"].to_numpy(), mode="markers", name="all cells",
                               marker={"size": marker_size, "color": MAP_COLOR, "opacity": 0.5}, hoverinfo="skip"))
    shown = generated[generated["on_map"]]
    hover = "cell %{customdata[0]}<br>generated %{customdata[1]}x"
    custom: list[np.ndarray] = [shown["cell_id"].to_numpy(dtype=object), shown["count"].to_numpy()]
    if "accuracy" in shown:
        custom.append(shown["accuracy"].to_numpy(dtype=np.float64))
        hover += "<br>accuracy %{customdata[2]:.4g}"
    sizes = marker_size * 1.8 + 2.0 * np.sqrt(shown["count"].to_numpy(dtype=np.float64) - 1)
    fig.add_trace(go.Scattergl(x=shown["x"].to_numpy(), y=shown["y"].to_numpy(), mode="markers", name="generated by AG-Net",
                               marker={"size": sizes, "color": GENERATED_COLOR, "opacity": 0.8},
                               customdata=np.column_stack(custom), hovertemplate=hover + "<extra></extra>"))
    fig.update_layout(title=title or None, height=520, margin={"l": 10, "r": 10, "t": 40, "b": 10},
                      legend={"orientation": "h", "y": -0.02}, plot_bgcolor="white")
    fig.update_xaxes(showticklabels=False, range=[-1.05, 1.05], zeroline=False)
    fig.update_yaxes(showticklabels=False, range=[-1.05, 1.05], zeroline=False, scaleanchor="x")
    return fig


def shift_histogram(before: np.ndarray, after: np.ndarray, label: str = "accuracy", bins: int = 40) -> go.Figure:
    """Overlaid histograms (probability density) of the accuracy of generated cells before/after retraining."""
    before = np.asarray(before, dtype=np.float64)
    after = np.asarray(after, dtype=np.float64)
    before, after = before[np.isfinite(before)], after[np.isfinite(after)]
    both = np.concatenate([before, after])
    low, high = (float(both.min()), float(both.max())) if len(both) else (0.0, 1.0)
    size = (high - low) / bins if high > low else 1.0
    fig = go.Figure()
    for values, name, color in ((before, "before retraining", BEFORE_COLOR), (after, "after retraining", AFTER_COLOR)):
        mean = f" (mean {values.mean():.2f})" if len(values) else ""
        fig.add_trace(go.Histogram(x=values, name=name + mean, histnorm="probability density", opacity=0.6,
                                   marker_color=color, xbins={"start": low, "end": high + size, "size": size}))
    fig.update_layout(barmode="overlay", height=360, margin={"l": 10, "r": 10, "t": 30, "b": 10},
                      legend={"orientation": "h", "y": -0.25})
    fig.update_xaxes(title_text=label)
    fig.update_yaxes(title_text="density")
    return fig


def accuracy_key(choices: Any, preferred: str | None = None) -> str | None:
    """The accuracy metric to score generated cells with: ``preferred`` when it is an accuracy, else the
    default accuracy of the space's table (:func:`nasviz.latent.default_metric` among accuracies); None without one."""
    from nasviz.latent import default_metric

    accuracies = [c for c in choices if c.key.startswith("accuracy/")]
    if preferred and any(c.key == preferred for c in accuracies):
        return preferred
    best = default_metric(accuracies)
    return best.key if best else None


def table_accuracy(space: str, key: str) -> dict[str, float]:
    """id -> value of metric ``key`` of the space's imported benchmark table (finite values only)."""
    from nasviz.data import load_table

    table = load_table(space)
    values = table.values(key)
    return {str(c): float(v) for c, v in zip(table.cell_ids, values, strict=True) if np.isfinite(v)}


# ---- interpolation walk in z (Neighbour Walk page) -------------------------------------------------

@dataclass
class ZStep:
    step: int
    t: float  # 0 = z_start, 1 = z_end
    cell: Any | None  # None when the decode is not a valid cell
    cell_id: str | None
    valid: bool
    reason: str | None  # why an invalid decode is not a cell
    edit_distance: int | None  # to the previous valid decode
    soft_change: float  # L1 change of the soft graph's vector representation from the previous point
    margin: float  # smallest top-1 minus top-2 type probability of a generated node
    metric: float = float("nan")  # true value from the benchmark table (NaN when unknown)


@dataclass
class ZWalk:
    space: str
    seed: int
    prior: str  # "uniform" (U(-3, 3)^32, the paper's search) or "normal" (N(0, I))
    decode: str  # "argmax" or "sampled" (fixed noise seed)
    noise_seed: int | None
    steps: list[ZStep]

    @property
    def distinct_cells(self) -> int:
        return len({s.cell_id for s in self.steps if s.valid})

    @property
    def invalid(self) -> int:
        return sum(not s.valid for s in self.steps)

    @property
    def changes(self) -> int:
        """How many steps decode a different valid cell than the previous valid decode."""
        return sum(1 for s in self.steps if s.edit_distance)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{k: v for k, v in vars(s).items() if k != "cell"} for s in self.steps])


Z_PRIORS = {"uniform": 3.0, "normal": None}


def z_interpolation(encoder: Any, steps: int = 10, seed: int = 0, prior: str = "uniform", decode: str = "argmax",
                    noise_seed: int = 0, metric: Callable[[str], float] | None = None) -> ZWalk:
    """An AG-Net interpolation walk in z: two seeded endpoints whose decodes are different valid cells
    (:func:`nasviz.encoders.agnet.distinct_endpoints`, ``prior`` "uniform" = U(-3, 3)^32 or "normal" = N(0, I)),
    ``steps + 1`` points on the segment, decoded with ``decode`` "argmax" or "sampled" (the same noise
    ``noise_seed`` at every point). ``metric`` maps a cell id to its true value (the benchmark table)."""
    from nasviz.encoders.agnet import distinct_endpoints, interpolation_walk
    from nasviz.spaces import get_space

    if prior not in Z_PRIORS:
        raise ConfigError(f"prior is one of {', '.join(Z_PRIORS)}, not {prior!r}")
    if decode not in ("argmax", "sampled"):
        raise ConfigError(f"decode is 'argmax' or 'sampled', not {decode!r}")
    if not 1 <= steps <= 200:
        raise ConfigError(f"a z walk has 1..200 steps, got {steps}")
    noise = None if decode == "argmax" else int(noise_seed)
    space = get_space(encoder.space)
    z_start, z_end = distinct_endpoints(encoder, seed, uniform=Z_PRIORS[prior], noise_seed=noise)
    rows = interpolation_walk(encoder, z_start, z_end, steps=steps, noise_seed=noise)
    out: list[ZStep] = []
    previous_cell, previous_vector = None, None
    for i, row in enumerate(rows):
        cell = row["cell"]
        edit = space.edit_distance(previous_cell, cell) if cell is not None and previous_cell is not None else None
        change = float(np.abs(row["vector"] - previous_vector).sum()) if previous_vector is not None else 0.0
        value = metric(row["cell_id"]) if metric is not None and row["cell_id"] is not None else float("nan")
        out.append(ZStep(i, row["t"], cell, row["cell_id"], row["valid"], row["reason"], edit, change, row["margin"],
                         float(value)))
        previous_vector = row["vector"]
        if cell is not None:
            previous_cell = cell
    return ZWalk(encoder.space, seed, prior, decode, noise, out)
