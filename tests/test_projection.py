"""Projections: seeded computation, cache round trip, stale/corrupt cache detection, background job, CLI."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from nasviz import projection as proj
from nasviz.encoders.store import EmbeddingSet, user_model_dir, write_manifest
from nasviz.errors import ConfigError


def _store(space: str, encoder: str, n: int = 300, dim: int = 8, seed: int = 0) -> tuple[EmbeddingSet, Path]:
    """Real NB201 ids with seeded Gaussian-cluster vectors, stored as a trained model in NASVIZ_HOME."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=4.0, size=(3, dim))
    vectors = (centres[np.arange(n) % 3] + rng.normal(size=(n, dim))).astype(np.float32)
    embeddings = EmbeddingSet(space, encoder, np.array([str(i) for i in range(n)]), vectors)
    directory = user_model_dir(space, encoder)
    directory.mkdir(parents=True, exist_ok=True)
    write_manifest(directory, {"space": space, "encoder": encoder, "seed": seed})
    embeddings.save(directory)
    return embeddings, directory


def test_pca_cache_round_trip() -> None:
    embeddings, directory = _store("nb201", "testenc")
    first, lookup = proj.get_projection("nb201", "testenc", "pca")
    assert lookup.status == "missing"
    path = directory / "projections" / "pca.npz"
    assert path.exists()
    assert first.coords.dtype == np.float32 and first.coords.shape == (300, 2)
    assert np.allclose(first.coords.min(axis=0), -1) and np.allclose(first.coords.max(axis=0), 1)
    again, lookup = proj.get_projection("nb201", "testenc", "pca")
    assert lookup.status == "hit" and lookup.path == path
    assert np.array_equal(again.coords, first.coords)
    assert np.array_equal(again.indices, np.arange(300))
    assert again.fingerprint == proj.embeddings_fingerprint(embeddings)
    # the cache stores no ids (implied by the fingerprinted embedding order): small files
    with np.load(path) as data:
        assert set(data.files) == {"coords", "meta"}


def test_stale_cache_is_detected_and_recomputed() -> None:
    embeddings, directory = _store("nb201", "testenc")
    proj.get_projection("nb201", "testenc", "pca")
    retrained = EmbeddingSet("nb201", "testenc", embeddings.cell_ids, embeddings.vectors[:, ::-1] * 2.0)
    retrained.save(directory)
    lookup = proj.cached_projection("nb201", "testenc", "pca")
    assert lookup.status == "stale" and lookup.projection is None
    assert "other embeddings" in lookup.message and "recomputed" in lookup.message
    warnings: list[str] = []
    fresh, lookup = proj.get_projection("nb201", "testenc", "pca", warn=lambda d, t, m: warnings.append(m))
    assert lookup.status == "stale" and warnings and "pca.npz" in warnings[0]
    assert fresh.fingerprint == proj.embeddings_fingerprint(retrained)
    assert proj.cached_projection("nb201", "testenc", "pca").status == "hit"


def test_corrupt_cache_is_reported(tmp_path: Path) -> None:
    _store("nb201", "testenc")
    path = proj.cache_path_for_write("nb201", "testenc", "pca")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a zip file")
    lookup = proj.cached_projection("nb201", "testenc", "pca")
    assert lookup.status == "corrupt" and str(path) in lookup.message
    projection, _ = proj.get_projection("nb201", "testenc", "pca")
    assert len(projection) == 300 and proj.cached_projection("nb201", "testenc", "pca").status == "hit"


def test_read_only_model_dir_caches_in_home(monkeypatch: pytest.MonkeyPatch, isolated_home: Path) -> None:
    _, directory = _store("nb201", "testenc")
    monkeypatch.setattr(proj, "_writable", lambda _path: False)
    proj.get_projection("nb201", "testenc", "pca")
    assert not (directory / "projections").exists()
    cached = isolated_home / "cache" / "projections" / "nb201" / "testenc" / "pca.npz"
    assert cached.exists()
    assert proj.cached_projection("nb201", "testenc", "pca").path == cached


def test_tsne_is_seeded_and_reports_progress() -> None:
    embeddings, _ = _store("nb201", "testenc", n=120)
    events: list[tuple[int, int, str]] = []
    a = proj.compute_projection(embeddings, "t-SNE", seed=3, progress=lambda d, t, m: events.append((d, t, m)),
                                max_iter=250, perplexity=10)
    b = proj.compute_projection(embeddings, "tsne", seed=3, max_iter=250, perplexity=10)
    assert np.array_equal(a.coords, b.coords)
    assert a.method == "tsne" and a.params["max_iter"] == 250
    dones = [d for d, _, _ in events]
    assert dones == sorted(dones) and dones[-1] == 100
    assert any("iteration" in m for _, _, m in events)
    # clusters survive: points of the same cluster are closer than points of different clusters
    labels = np.arange(120) % 3
    d = np.linalg.norm(a.coords[:, None] - a.coords[None], axis=-1)
    same = d[labels[:, None] == labels[None]].mean()
    other = d[labels[:, None] != labels[None]].mean()
    assert same < other


def test_subset_projection_round_trip() -> None:
    embeddings, directory = _store("nb201", "testenc", n=200)
    projection = proj.compute_projection(embeddings, "pca", max_points=50, seed=1)
    assert len(projection) == 50 and len(np.unique(projection.indices)) == 50
    path = proj.save_projection(projection, directory / "projections" / "pca.npz")
    back = proj.read_projection(path)
    assert np.array_equal(back.indices, projection.indices)


def test_unknown_method() -> None:
    with pytest.raises(ConfigError, match="unknown projection method 'mds'"):
        proj.check_method("mds")


def test_background_job_computes_and_caches() -> None:
    _store("nb201", "testenc", n=200)
    job = proj.start_projection_job("nb201", "testenc", "pca")
    assert proj.start_projection_job("nb201", "testenc", "pca") is job  # one job per projection
    deadline = time.time() + 60
    while not job.done and time.time() < deadline:
        time.sleep(0.1)
    assert job.done and job.error is None, job.error
    assert job.fraction == 1.0
    assert proj.cached_projection("nb201", "testenc", "pca").status == "hit"


def test_background_job_reports_errors() -> None:
    job = proj.start_projection_job("nb201", "missing-encoder", "pca")
    deadline = time.time() + 60
    while not job.done and time.time() < deadline:
        time.sleep(0.1)
    assert job.done and job.error and "no trained missing-encoder model" in job.error


def test_cli_project() -> None:
    import typer
    from typer.testing import CliRunner

    from nasviz.cli import projections

    app = typer.Typer()
    projections.register(app)

    _store("nb201", "testenc", n=100)
    result = CliRunner().invoke(app, ["encoders", "project", "--space", "nb201", "--encoder", "testenc",
                                      "--method", "pca", "--json", "--no-progress"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["status"] == "computed" and out["points"] == 100 and out["path"].endswith("pca.npz")
    result = CliRunner().invoke(app, ["encoders", "project", "--space", "nb201", "--encoder", "testenc",
                                      "--method", "pca", "--json"])
    assert json.loads(result.stdout.strip().splitlines()[-1])["status"] == "cached"
    result = CliRunner().invoke(app, ["encoders", "project", "--space", "nb201", "--encoder", "nope", "--method", "pca"])
    assert result.exit_code == 2 and "no trained nope model" in result.output


def test_tsne_starts_at_random_when_pca_stacks_cells() -> None:
    from nasviz.spaces.nb201 import OPS, enumerate_cells

    cells = enumerate_cells()
    one_hot = np.zeros((len(cells), 30), dtype=np.float32)
    for row, cell in enumerate(cells):
        for edge, op in enumerate(cell.ops):
            one_hot[row, 5 * edge + OPS.index(op)] = 1.0
    # every one-hot op vector has the same norm and PCA maps many cells onto the same point
    assert proj._tsne_init(one_hot, 0) == "random"
    embeddings, _ = _store("nb201", "testenc", n=300)
    assert proj._tsne_init(embeddings.vectors, 0) == "pca"


def test_float16_embeddings_load_as_float32_within_half_precision(tmp_path) -> None:
    import numpy as np

    from nasviz.encoders.store import EmbeddingSet

    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(50, 96)).astype(np.float32)
    EmbeddingSet("nb201", "nao", np.arange(50).astype(str), vectors).save(tmp_path, precision="float16")
    loaded = EmbeddingSet.load(tmp_path)
    assert loaded.vectors.dtype == np.float32
    np.testing.assert_allclose(loaded.vectors, vectors, rtol=1e-3, atol=1e-3)
    assert not np.array_equal(loaded.vectors, vectors)  # really stored at half precision
