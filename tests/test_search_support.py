"""Shared helpers (no tests) for the search tests: synthetic NB201 objectives, tables and embeddings
written into the test's NASVIZ_HOME."""

from __future__ import annotations

import numpy as np

from nasviz.spaces.nb201 import OPS, cell_from_code, enumerate_cells

#: additive score per (edge, op): the unique optimum takes the best op on every edge
_RNG = np.random.default_rng(1234)
WEIGHTS = _RNG.uniform(0.0, 2.0, size=(6, len(OPS)))
LATENCY_PER_OP = np.array([0.0, 0.05, 0.4, 1.2, 0.3])  # none, skip, conv1x1, conv3x3, avgpool (ms)


def score(cell) -> float:
    return float(70.0 + sum(WEIGHTS[e, OPS.index(op)] for e, op in enumerate(cell.ops)))


def latency(cell) -> float:
    return float(0.2 + sum(LATENCY_PER_OP[OPS.index(op)] for op in cell.ops))


def optimum_cell():
    return cell_from_code(int(sum(int(np.argmax(WEIGHTS[e])) * 5 ** (5 - e) for e in range(6))))


def write_table() -> dict:
    """Save a synthetic nb201 table (signal, reported, pixel3 latency) in NASVIZ_HOME; returns arrays."""
    from nasviz.data import MetricSpec, build_table, save_table

    cells = enumerate_cells()
    ids = [str(c.index) for c in cells]
    signal = np.array([score(c) for c in cells])
    reported = signal + 10.0 + 0.01 * np.sin(np.arange(len(cells)))
    lat = np.array([latency(c) for c in cells])
    metrics = [MetricSpec("accuracy", "cifar10", "valid", 12, source="synthetic"),
               MetricSpec("accuracy", "cifar10", "test", 200, source="synthetic"),
               MetricSpec("latency", "cifar10", device="pixel3", unit="ms", source="synthetic")]
    columns = {metrics[0].key: signal, metrics[1].key: reported, metrics[2].key: lat}
    save_table(build_table("nb201", cell_ids=ids, metrics=metrics, columns=columns,
                           provenance={"sha256": "synthetic", "importer": "test"}))
    return {"ids": ids, "signal": signal, "reported": reported, "latency": lat}


def write_onehot_embeddings() -> None:
    """A stand-in 'arch2vec' embedding table: the one-hot op encoding (30-d) of every NB201 cell."""
    from nasviz.encoders.store import EmbeddingSet, user_model_dir, write_manifest

    cells = enumerate_cells()
    vectors = np.zeros((len(cells), 6 * len(OPS)), dtype=np.float32)
    for row, cell in enumerate(cells):
        for e, op in enumerate(cell.ops):
            vectors[row, e * len(OPS) + OPS.index(op)] = 1.0
    directory = user_model_dir("nb201", "arch2vec")
    directory.mkdir(parents=True, exist_ok=True)
    EmbeddingSet("nb201", "arch2vec", np.array([str(c.index) for c in cells]), vectors).save(directory)
    write_manifest(directory, {"space": "nb201", "encoder": "arch2vec", "note": "one-hot stand-in for tests"})


def copy_assets(source, home) -> None:
    """Copy a prepared NASVIZ_HOME's benchmarks/ and models/ folders into ``home``."""
    import shutil

    for name in ("benchmarks", "models"):
        if (source / name).is_dir():
            shutil.copytree(source / name, home / name, dirs_exist_ok=True)
