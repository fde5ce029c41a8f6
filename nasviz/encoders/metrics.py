"""Pre-training metrics of arch2vec (paper section 4.1 and appendix B) and its baselines.

- reconstruction accuracy: fraction of held-out graphs decoded EXACTLY (every op argmax and every
  upper-triangular adjacency entry thresholded at 0.5); per-entry accuracies are given too (the numbers
  the official code logs);
- validity: fraction of prior samples that decode to a valid cell, under the "strict" rule (the decoded
  graph is exactly a cell of the space), the "paper" rule (the official code's check) and a decode
  constrained to the space;
- uniqueness: distinct decoded cells (strict, constrained: the space's cell ids, NB201 = 15,625 cells) or
  graphs (paper: adjacency + ops, so wrong adjacencies count as new graphs) among the valid ones. For cells,
  ``uniqueness_bound`` is the most any decoder can expect for that many valid samples (uniform draws over the
  space; what it means for the paper's figures: docs/arch2vec.md);
- predictive power: Gaussian process on 250 sampled embeddings predicting accuracy, RMSE and Pearson r
  on the cells with accuracy > 0.8, over 10 seeds (hyper-parameters by marginal likelihood over a grid);
- L2 distance in the embedding space per edit-distance bucket (paper figure 3).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from nasviz.encoders.base import GraphCodec, GraphDataset
from nasviz.errors import ConfigError, DataError


def reconstruction_metrics(codec: GraphCodec, data: GraphDataset, adj_prob: np.ndarray, op_prob: np.ndarray) -> dict[str, float]:
    """Exact whole-graph reconstruction rate and the per-entry accuracies of ``data``'s decoded graphs."""
    if len(data) == 0:
        raise ConfigError("reconstruction accuracy needs at least one held-out cell")
    adj_hat, ops_hat = codec.threshold(adj_prob, op_prob)
    v = data.num_nodes
    upper = np.triu_indices(v, 1)
    adj_true = data.adjacency[:, upper[0], upper[1]]
    adj_dec = adj_hat[:, upper[0], upper[1]]
    ops_true = np.where(data.ops.sum(-1) > 0, data.ops.argmax(-1), -1)
    adj_ok = (adj_true == adj_dec).all(axis=1)
    ops_ok = (ops_true == ops_hat).all(axis=1)
    edges = adj_true == 1
    return {
        "reconstruction_accuracy": float(np.mean(adj_ok & ops_ok)),
        "ops_exact": float(np.mean(ops_ok)),
        "adjacency_exact": float(np.mean(adj_ok)),
        "ops_node_accuracy": float(np.mean(ops_true == ops_hat)),
        "adjacency_entry_accuracy": float(np.mean(adj_true == adj_dec)),
        "mean_edge_probability": float(adj_prob[:, upper[0], upper[1]][edges].mean()) if edges.any() else float("nan"),
        "num_cells": len(data),
    }


def validity_uniqueness(codec: GraphCodec, adj_prob: np.ndarray, op_prob: np.ndarray, space_cell_id: Callable[[Any], str],
                        rules: Sequence[str] = ("strict", "paper")) -> dict[str, Any]:
    """Validity and uniqueness of decoded samples under each rule, plus the constrained decode; ``definitions``
    says what each uniqueness counts (:data:`UNIQUENESS_DEFINITIONS`)."""
    n = len(adj_prob)
    if n == 0:
        raise ConfigError("validity needs at least one sample")
    from nasviz.spaces import get_space

    space_size = get_space(codec.space).size()[0]
    adj_hat, ops_hat = codec.threshold(adj_prob, op_prob)
    out: dict[str, Any] = {}
    for rule in rules:
        keys = []
        for a, o in zip(adj_hat, ops_hat, strict=True):
            if codec.graph_valid(a, o, rule):
                cell = codec.to_cell(a, o)
                keys.append(space_cell_id(cell) if cell is not None else codec.graph_key(a, o))
        # the paper rule counts graphs outside the space too: no bound from the space's size
        out[rule] = counting(n, keys, space_size if rule == "strict" else None)
        if rule == "paper":  # the official count: distinct decoded graphs as decoded, no pruning or canonical form
            raw = [raw_graph_key(a, o) for a, o in zip(adj_hat, ops_hat, strict=True) if codec.graph_valid(a, o, rule)]
            out[rule]["unique_raw_graphs"] = len(set(raw))
            out[rule]["uniqueness_raw_graphs"] = len(set(raw)) / len(raw) if raw else 0.0
    out["definitions"] = UNIQUENESS_DEFINITIONS
    constrained = codec.decode_probs(adj_prob, op_prob, constrained=True)
    out["constrained"] = counting(n, [space_cell_id(c) for c in constrained if c is not None], space_size)
    return out


#: what each uniqueness figure of :func:`validity_uniqueness` counts
UNIQUENESS_DEFINITIONS = {
    "uniqueness": "distinct canonical cells (the space's cell id; NB101: module hash of the pruned cell) among the "
                  "valid decodes; under the paper rule, decodes that are not cells count by their decoded graph",
    "uniqueness_raw_graphs": "paper rule only: distinct decoded graphs as decoded (all nodes, no pruning or "
                             "canonical form; nasbench hash_module of the raw adjacency and op labels), the count "
                             "of the official code",
    "uniqueness_bound": "highest expected uniqueness of that many uniform draws over the space's cells",
}


def raw_graph_key(adjacency: np.ndarray, op_index: np.ndarray) -> str:
    """NAS-Bench-101's ``hash_module`` of a decoded graph as it is (unpruned upper-triangular adjacency, decoded op
    indices as labels): the fingerprint the official code counts for uniqueness, in every space."""
    from nasviz.spaces.nb101 import hash_module

    return hash_module(np.triu(adjacency, 1).astype(int).tolist(), op_index.tolist())


def counting(num_samples: int, valid_keys: Sequence[Any], space_size: int | None = None) -> dict[str, float]:
    """validity = valid / samples; uniqueness = distinct valid / valid (0 when nothing is valid); with
    ``space_size`` (keys are cells of a space that size) also ``uniqueness_bound``, see
    :func:`uniqueness_bound`."""
    valid = len(valid_keys)
    distinct = len(set(valid_keys))
    out = {"samples": num_samples, "valid": valid, "unique": distinct, "validity": valid / num_samples,
           "uniqueness": distinct / valid if valid else 0.0}
    if space_size is not None:
        out["uniqueness_bound"] = uniqueness_bound(valid, space_size)
    return out


def uniqueness_bound(valid: int, space_size: int) -> float:
    """The highest expected uniqueness of ``valid`` independent decodes into a space of ``space_size`` cells.

    With cell probabilities p_i, E[distinct] = sum_i 1 - (1 - p_i)^n, a concave function maximised by uniform
    draws: M (1 - (1 - 1/M)^n). Divided by n it is the bound (1.0 when nothing is valid).
    """
    if space_size < 1:
        raise ConfigError(f"space size must be positive, got {space_size}")
    if valid <= 0:
        return 1.0
    expected = -space_size * np.expm1(valid * np.log1p(-1.0 / space_size)) if space_size > 1 else 1.0
    return float(min(1.0, expected / valid))


#: predictive-power GP grid: length scales as multiples of the median pairwise distance of the training
#: embeddings, and noise variances relative to the standardised targets' unit variance
GP_LENGTH_FACTORS = tuple(float(v) for v in np.geomspace(0.1, 10.0, 21))
GP_NOISES = (1e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0)


def gp_fit_predict(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
    """Zero-mean GP with an isotropic RBF kernel on standardised targets (:class:`nasviz.search.gp.GaussianProcess`);
    the length scale (in multiples of the training embeddings' median pairwise distance) and noise are the
    log-marginal-likelihood maximum over a grid, the signal variance profiled out in closed form.

    A bounded grid instead of gradient ascent: scikit-learn's optimiser often stops at a tiny length scale
    (the training cells interpolated, the mean predicted everywhere else), which scores every encoder alike.
    Returns the predictions at ``x_test`` and the chosen hyper-parameters.
    """
    from nasviz.search.gp import GaussianProcess, squared_distances

    n = len(x_train)
    median = float(np.median(np.sqrt(squared_distances(x_train, x_train)[np.triu_indices(n, 1)]))) or 1.0
    try:
        gp = GaussianProcess(length_scales=tuple(f * median for f in GP_LENGTH_FACTORS), noises=GP_NOISES,
                             kernel="rbf").fit(x_train, y_train)
    except ConfigError as exc:
        raise DataError(f"predictive-power GP: {exc}") from exc
    pred, _ = gp.predict(x_test)
    return pred, {"length_scale": gp.length_scale, "length_scale_over_median": gp.length_scale / median,
                  "noise": gp.noise, "signal_variance": gp.signal_var, "log_marginal_likelihood": gp.log_marginal_likelihood}


def predictive_power(embeddings: np.ndarray, accuracy: np.ndarray, train_size: int = 250, seeds: Sequence[int] = range(10),
                     threshold: float = 0.8, fit_above_threshold: bool = False) -> dict[str, Any]:
    """GP regression from embeddings to accuracy (fractions in [0, 1]), the paper's figure-1 protocol: per seed,
    fit on ``train_size`` random cells, predict every cell, score RMSE and Pearson r on the cells with accuracy
    > ``threshold``. Embedding dimensions are standardised; the GP is :func:`gp_fit_predict`, the same for every
    encoder. ``rmse_constant`` is the RMSE of predicting the training cells' mean, for scale.

    ``fit_above_threshold`` drops the sampled training cells at or below ``threshold`` before the fit (same
    sample, same scoring): on NB201 about 11 % of cells failed to train (accuracy near 10 %), and a GP fitted
    through them predicts deep dips around each one, which dominates RMSE and r on the scored cells."""
    x = np.asarray(embeddings, dtype=np.float64)
    y = np.asarray(accuracy, dtype=np.float64)
    if len(x) != len(y):
        raise DataError(f"{len(x)} embeddings but {len(y)} accuracies")
    if y.max() > 1.0:
        raise DataError("accuracies must be fractions in [0, 1]")
    if not 2 < train_size <= len(x):
        raise ConfigError(f"predictive power needs 3 to {len(x)} training cells, got {train_size}")
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    x = (x - x.mean(axis=0)) / scale
    evaluated = y > threshold
    if evaluated.sum() < 2:
        raise DataError(f"fewer than two cells have accuracy above {threshold}")
    rmses, pearsons, constants, fits = [], [], [], []
    for seed in seeds:
        train = np.random.default_rng(seed).choice(len(x), size=train_size, replace=False)
        if fit_above_threshold:
            train = train[y[train] > threshold]
            if len(train) < 3:
                raise DataError(f"seed {seed}: fewer than 3 of the {train_size} training cells are above {threshold}")
        pred, fit = gp_fit_predict(x[train], y[train], x[evaluated])
        rmses.append(float(np.sqrt(np.mean((pred - y[evaluated]) ** 2))))
        pearsons.append(float(np.corrcoef(pred, y[evaluated])[0, 1]) if pred.std() > 0 else 0.0)
        constants.append(float(np.sqrt(np.mean((y[train].mean() - y[evaluated]) ** 2))))
        fits.append({k: round(v, 6) for k, v in fit.items()})
    return {"rmse_mean": float(np.mean(rmses)), "rmse_std": float(np.std(rmses)),
            "pearson_mean": float(np.mean(pearsons)), "pearson_std": float(np.std(pearsons)),
            "rmse": rmses, "pearson": pearsons, "rmse_constant": float(np.mean(constants)), "gp": fits,
            "model": "GP, isotropic RBF on standardised embeddings and targets, grid marginal-likelihood fit",
            "train_size": train_size, "fit_above_threshold": fit_above_threshold, "seeds": list(seeds), "threshold": threshold,
            "num_evaluated": int(evaluated.sum())}


def distance_by_edit_distance(vectors: np.ndarray, cells: Sequence[Any],
                              edit_distance: Callable[[Any, Any], int] | np.ndarray) -> dict[str, Any]:
    """Mean, std and count of the L2 distance between the embeddings of all pairs, per edit distance.
    ``edit_distance`` is a function of two cells or the precomputed (n, n) matrix."""
    n = len(cells)
    if n != len(vectors) or n < 2:
        raise ConfigError("distance by edit distance needs at least two cells with one vector each")
    v = np.asarray(vectors, dtype=np.float64)
    rows, cols = np.triu_indices(n, 1)
    l2 = np.linalg.norm(v[rows] - v[cols], axis=1)
    if callable(edit_distance):
        edits = np.array([edit_distance(cells[i], cells[j]) for i, j in zip(rows.tolist(), cols.tolist(), strict=True)])
    else:
        edits = np.asarray(edit_distance)[rows, cols]
    buckets = []
    for k in np.unique(edits).tolist():
        d = l2[edits == k]
        buckets.append({"edit_distance": int(k), "mean_l2": float(d.mean()), "std_l2": float(d.std()), "pairs": int(len(d))})
    return {"buckets": buckets, "num_cells": n}


def nb201_random_walk(length: int, seed: int) -> list[Any]:
    """``length`` distinct NB201 cells, consecutive ones one op change apart (the paper's figure-3 walk)."""
    from nasviz.spaces import nb201

    rng = np.random.default_rng(seed)
    ops = list(nb201.cell_from_code(int(rng.integers(nb201.NUM_CELLS))).ops)
    seen = {tuple(ops)}
    walk = [nb201.NB201Cell(tuple(ops))]
    while len(walk) < length:
        for _ in range(100):
            edge = int(rng.integers(nb201.NUM_EDGES))
            op = nb201.OPS[int(rng.integers(len(nb201.OPS)))]
            candidate = ops.copy()
            candidate[edge] = op
            if tuple(candidate) not in seen:
                break
        ops = candidate  # after 100 visited neighbours, walk on through a visited cell
        if tuple(ops) not in seen:
            seen.add(tuple(ops))
            walk.append(nb201.NB201Cell(tuple(ops)))
    return walk
