"""``nasviz encoders evaluate``: every pre-training metric of a trained encoder in one JSON-able dict."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from nasviz.encoders.base import get_codec, get_encoder
from nasviz.encoders.metrics import (
    distance_by_edit_distance,
    nb201_random_walk,
    predictive_power,
    reconstruction_metrics,
)
from nasviz.encoders.store import EmbeddingSet, find_model_dir
from nasviz.errors import DataError
from nasviz.paths import source_data_dir

NB201_ACCURACY_FILE = Path("nasbench201") / "nb201_merged.csv"
NB201_ACCURACY_COLUMN = "c10_test_200ep"


def nb201_cifar10_accuracy(path: Path | None = None) -> np.ndarray:
    """NB201 CIFAR-10 200-epoch test accuracy as fractions, in official index order."""
    import pandas as pd

    if path is None:
        root = source_data_dir()
        if root is None:
            raise DataError("predictive power needs NB201 accuracies: set NASVIZ_DATA to the folder holding "
                            f"{NB201_ACCURACY_FILE}")
        path = root / NB201_ACCURACY_FILE
    if not path.exists():
        raise DataError(f"missing {path}: it holds the NB201 accuracies ({NB201_ACCURACY_COLUMN})")
    frame = pd.read_csv(path, usecols=["index", NB201_ACCURACY_COLUMN])
    if len(frame) != 15625 or sorted(frame["index"].tolist()) != list(range(15625)):
        raise DataError(f"{path} does not hold the 15,625 NB201 cells once each (column 'index')")
    values = np.empty(15625, dtype=np.float64)
    values[frame["index"].to_numpy()] = frame[NB201_ACCURACY_COLUMN].to_numpy(dtype=np.float64) / 100.0
    return values


def nb201_edit_matrix(cells: list[Any]) -> np.ndarray:
    ops = np.array([c.ops for c in cells])
    return (ops[:, None, :] != ops[None, :, :]).sum(-1)


def evaluate_encoder(name: str, space: str, prior_samples: int = 10_000, gp_seeds: int = 10, seed: int = 0,
                     walk_length: int = 1000, accuracy_path: Path | None = None) -> dict[str, Any]:
    """Reconstruction, validity and uniqueness (graph autoencoders), predictive power and L2 distance per
    edit distance (NB201) of the trained ``name`` encoder of ``space``."""
    from nasviz.encoders.training import TrainConfig, generative_metrics, training_data
    from nasviz.spaces import get_space

    started = time.perf_counter()
    space_obj = get_space(space)
    key = space_obj.name
    encoder = get_encoder(name, key)
    directory = find_model_dir(key, encoder.name)
    manifest = encoder.manifest
    metrics: dict[str, Any] = {}
    if manifest:
        config = {k: v for k, v in manifest.get("config", {}).items() if k in ("epochs", "seed", "sample_size", "val_fraction")}
        data = training_data(TrainConfig(encoder.name, key, **config))
        held_out = data.held_out()
        if hasattr(encoder, "encode_graphs"):
            metrics.update(generative_metrics(encoder, held_out, prior_samples, seed))
        elif encoder.has_decoder:  # raw: decode the held-out vectors themselves
            vectors = encoder.vectors(held_out)
            v, k = held_out.num_nodes, held_out.num_ops
            adj_prob = np.zeros((len(held_out), v, v), dtype=np.float32)
            upper = np.triu_indices(v, 1)
            adj_prob[:, upper[0], upper[1]] = vectors[:, v * k:]
            metrics["reconstruction"] = reconstruction_metrics(get_codec(key), held_out, adj_prob,
                                                               vectors[:, : v * k].reshape(-1, v, k))
    if key == "nb201":
        if directory is not None and (directory / "embeddings.npz").exists():
            embeddings = EmbeddingSet.load(directory)
            order = np.argsort(embeddings.cell_ids.astype(np.int64))
            vectors = embeddings.vectors[order]
        else:
            vectors = encoder.embed(space_obj.enumerate())
        if len(vectors) != 15625:
            raise DataError(f"{encoder.name} NB201 embeddings cover {len(vectors)} cells, not 15,625")
        accuracy = nb201_cifar10_accuracy(accuracy_path)
        metrics["predictive_power"] = predictive_power(vectors, accuracy, seeds=range(gp_seeds))
        # the same samples with the failed cells (accuracy <= 0.8) left out of the fit
        metrics["predictive_power_fit_above_threshold"] = predictive_power(vectors, accuracy, seeds=range(gp_seeds),
                                                                           fit_above_threshold=True)
        walk = nb201_random_walk(walk_length, seed)
        walk_vectors = vectors[[c.index for c in walk]]
        metrics["distance_by_edit_distance"] = distance_by_edit_distance(walk_vectors, walk, nb201_edit_matrix(walk))
        metrics["distance_by_edit_distance"]["walk"] = {"length": walk_length, "seed": seed}
    return {"encoder": encoder.name, "space": key, "model_dir": str(directory) if directory else None,
            "trained_with": manifest.get("command"), "metrics": metrics,
            "evaluation_seconds": round(time.perf_counter() - started, 2)}
