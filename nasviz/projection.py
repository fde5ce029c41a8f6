"""2-D projections (t-SNE, UMAP, PCA) of an encoder's embeddings, seeded and cached.

A projection is cached next to the model it projects, in ``<model dir>/projections/<method>.npz``,
or under ``$NASVIZ_HOME/cache/projections/<space>/<encoder>/`` when the model directory is read-only
(a shipped, installed model). Each cache file records a fingerprint of the embeddings it was computed
from (cell ids and vectors), so a cache that no longer matches its embeddings (the model was retrained)
is detected, reported and recomputed instead of silently showing the wrong map.

Coordinates are normalised to [-1, 1] on each axis, as arch2vec's ``visdensity.py`` does, and stored as
float32 (about 125 kB for the 15,625 NB201 cells).

t-SNE of 15,625 points takes minutes on a laptop, so :func:`start_projection_job` computes a missing
projection in a separate process (``python -m nasviz.projection``) and reports progress parsed from the
library's own verbose output; the Streamlit page polls the job and never blocks.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nasviz.encoders.store import EmbeddingSet, find_model_dir, load_embeddings
from nasviz.errors import ConfigError, DataError
from nasviz.fileio import atomic_write_bytes
from nasviz.paths import PROJECT_ROOT, home_dir
from nasviz.progress import ProgressCallback, no_progress

METHODS: tuple[str, ...] = ("pca", "umap", "tsne")
METHOD_TITLES = {"pca": "PCA", "umap": "UMAP", "tsne": "t-SNE"}
#: projections of more points than this are computed on a seeded random subset (t-SNE/UMAP cost)
DEFAULT_MAX_POINTS: dict[str, int | None] = {"pca": None, "umap": 60_000, "tsne": 20_000}
CACHE_FORMAT = 1


def check_method(method: str) -> str:
    key = method.lower().replace("-", "").replace("_", "")
    if key not in METHODS:
        raise ConfigError(f"unknown projection method {method!r}; choose one of {', '.join(METHODS)}")
    return key


@dataclass
class Projection:
    """2-D coordinates of (a subset of) an embedding set."""

    space: str
    encoder: str
    method: str
    coords: np.ndarray  # float32 (m, 2), each axis in [-1, 1]
    indices: np.ndarray  # int64 (m,), rows of the EmbeddingSet the coordinates belong to
    fingerprint: str  # of the EmbeddingSet it was computed from
    params: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.coords)


@dataclass(frozen=True)
class CacheLookup:
    """Result of looking for a cached projection: status is hit, missing, stale or corrupt."""

    status: str
    path: Path
    projection: Projection | None = None
    message: str = ""


# ---- fingerprints and cache paths -------------------------------------------------------

def embeddings_fingerprint(embeddings: EmbeddingSet) -> str:
    """A short hash of the cell ids and the vectors (order included)."""
    digest = hashlib.sha256()
    digest.update(str(len(embeddings)).encode())
    digest.update("\n".join(np.asarray(embeddings.cell_ids).astype(str).tolist()).encode())
    digest.update(np.ascontiguousarray(embeddings.vectors, dtype=np.float32).tobytes())
    return digest.hexdigest()[:20]


def _writable(directory: Path) -> bool:
    probe = directory if directory.exists() else directory.parent
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return os.access(probe, os.W_OK)


def user_cache_dir(space: str, encoder: str) -> Path:
    return home_dir() / "cache" / "projections" / space / encoder


def cache_candidates(space: str, encoder: str, method: str, model_dir: Path | None = None) -> list[Path]:
    """Where a cached projection may be, in lookup order: the model's own folder, then the user cache."""
    method = check_method(method)
    model_dir = model_dir if model_dir is not None else find_model_dir(space, encoder)
    paths = []
    if model_dir is not None:
        paths.append(model_dir / "projections" / f"{method}.npz")
    paths.append(user_cache_dir(space, encoder) / f"{method}.npz")
    return paths


def cache_path_for_write(space: str, encoder: str, method: str, model_dir: Path | None = None) -> Path:
    """The model's ``projections/`` folder when writable, else the user cache."""
    method = check_method(method)
    model_dir = model_dir if model_dir is not None else find_model_dir(space, encoder)
    if model_dir is not None and _writable(model_dir / "projections"):
        return model_dir / "projections" / f"{method}.npz"
    return user_cache_dir(space, encoder) / f"{method}.npz"


# ---- cache files ------------------------------------------------------------------------

def save_projection(projection: Projection, path: Path) -> Path:
    buffer = io.BytesIO()
    meta = {"format": CACHE_FORMAT, "space": projection.space, "encoder": projection.encoder,
            "method": projection.method, "fingerprint": projection.fingerprint, "params": projection.params}
    arrays: dict[str, np.ndarray] = {"coords": projection.coords.astype(np.float32), "meta": np.array(json.dumps(meta))}
    if not np.array_equal(projection.indices, np.arange(projection.params.get("n_total", len(projection.indices)))):
        arrays["indices"] = projection.indices.astype(np.int32)  # a subset: keep which rows were projected
    np.savez_compressed(buffer, **arrays)
    atomic_write_bytes(path, buffer.getvalue())
    return path


def read_projection(path: Path) -> Projection:
    """Read a cache file, raising DataError naming the file when it is unreadable."""
    try:
        with np.load(path, allow_pickle=False) as data:
            coords = data["coords"].astype(np.float32)
            meta = json.loads(str(data["meta"]))
            indices = data["indices"].astype(np.int64) if "indices" in data else np.arange(len(coords))
    except (OSError, ValueError, KeyError, json.JSONDecodeError) as exc:
        raise DataError(f"corrupt projection cache {path}: {exc}") from None
    if coords.ndim != 2 or coords.shape[1] != 2 or len(indices) != len(coords):
        raise DataError(f"corrupt projection cache {path}: coordinates of shape {coords.shape}")
    return Projection(meta.get("space", ""), meta.get("encoder", ""), meta.get("method", ""), coords, indices,
                      meta.get("fingerprint", ""), meta.get("params", {}))


def lookup_cached(embeddings: EmbeddingSet, method: str, model_dir: Path | None = None,
                  fingerprint: str | None = None) -> CacheLookup:
    """Find a cached projection of ``embeddings`` and check that it was computed from them."""
    method = check_method(method)
    fingerprint = fingerprint or embeddings_fingerprint(embeddings)
    candidates = cache_candidates(embeddings.space, embeddings.encoder, method, model_dir)
    problem: CacheLookup | None = None
    for path in candidates:
        if not path.exists():
            continue
        try:
            projection = read_projection(path)
        except DataError as exc:
            problem = problem or CacheLookup("corrupt", path, None, f"{exc}; it will be recomputed")
            continue
        if projection.fingerprint != fingerprint or (projection.indices.max(initial=-1) >= len(embeddings)):
            problem = problem or CacheLookup(
                "stale", path, None,
                f"the cached {METHOD_TITLES[method]} projection {path} was computed from other embeddings "
                f"(fingerprint {projection.fingerprint or 'none'}, current {fingerprint}): the model changed since; "
                "it will be recomputed")
            continue
        projection.space, projection.encoder = embeddings.space, embeddings.encoder
        return CacheLookup("hit", path, projection, "")
    if problem is not None:
        return problem
    return CacheLookup("missing", candidates[0], None,
                       f"no cached {METHOD_TITLES[method]} projection of {embeddings.encoder} on {embeddings.space}")


# ---- computing --------------------------------------------------------------------------

_TSNE_ITER = re.compile(r"\[t-SNE\] Iteration (\d+)")
_TSNE_PROB = re.compile(r"\[t-SNE\] Computed conditional probabilities for sample (\d+) / (\d+)")
_FRACTION = re.compile(r"(\d+)/(\d+)")


class _ProgressWriter(io.TextIOBase):
    """A text stream that turns a library's verbose output into progress callbacks."""

    def __init__(self, method: str, progress: ProgressCallback, total: int, max_iter: int = 1000) -> None:
        self.method, self.progress, self.total, self.max_iter = method, progress, total, max_iter
        self._buffer = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._buffer += text
        *lines, self._buffer = re.split(r"[\r\n]", self._buffer)
        for line in lines:
            self._line(line.strip())
        return len(text)

    def _line(self, line: str) -> None:
        if not line:
            return
        if self.method == "tsne":
            if match := _TSNE_ITER.search(line):
                it = int(match.group(1))
                self.progress(10 + int(90 * it / self.max_iter), 100, f"t-SNE iteration {it}/{self.max_iter}")
            elif match := _TSNE_PROB.search(line):
                done, total = int(match.group(1)), int(match.group(2))
                self.progress(2 + int(8 * done / max(total, 1)), 100, "t-SNE: conditional probabilities")
            elif "nearest neighbors" in line:
                self.progress(1, 100, "t-SNE: nearest neighbours")
        elif self.method == "umap":
            if "Epochs completed" in line and (match := _FRACTION.search(line)):
                done, total = int(match.group(1)), int(match.group(2))
                self.progress(20 + int(80 * done / max(total, 1)), 100, f"UMAP epoch {done}/{total}")
            elif "Nearest Neighbor" in line:
                self.progress(5, 100, "UMAP: nearest neighbours")
            elif "fuzzy simplicial" in line:
                self.progress(2, 100, "UMAP: neighbour graph")
            elif "Construct embedding" in line:
                self.progress(15, 100, "UMAP: spectral initialisation")


def normalise_coords(coords: np.ndarray) -> np.ndarray:
    """Each axis scaled to [-1, 1] (constant axes map to 0)."""
    coords = np.asarray(coords, dtype=np.float64)
    low, high = coords.min(axis=0), coords.max(axis=0)
    span = np.where(high - low > 0, high - low, 1.0)
    return (2.0 * (coords - low) / span - 1.0).astype(np.float32)


def subset_indices(n: int, max_points: int | None, seed: int) -> np.ndarray:
    if max_points is None or n <= max_points:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=max_points, replace=False))


def _tsne_init(x: np.ndarray, seed: int) -> str:
    """"pca" (sklearn's default), unless the PCA layout puts many cells on the same spot: t-SNE cannot pull
    coincident starting points apart (symmetric encodings such as one-hot ops do this), so start at random."""
    from sklearn.decomposition import PCA

    start = PCA(n_components=2, random_state=seed).fit_transform(x)
    distinct = len(np.unique(np.round(start, 6), axis=0))
    return "pca" if distinct >= 0.9 * len(x) else "random"


def compute_projection(embeddings: EmbeddingSet, method: str, seed: int = 0, progress: ProgressCallback | None = None,
                       max_points: int | None = -1, **options: Any) -> Projection:
    """Project ``embeddings`` to 2-D (seeded; same seed, same coordinates).

    ``max_points`` caps the number of projected cells (a seeded random subset); ``-1`` means the
    method's default (:data:`DEFAULT_MAX_POINTS`), ``None`` no cap. ``options`` go to the estimator
    (t-SNE ``perplexity``/``max_iter``, UMAP ``n_neighbors``/``min_dist``/``n_epochs``).
    """
    method = check_method(method)
    progress = progress or no_progress
    if len(embeddings) < 3:
        raise DataError(f"{embeddings.encoder} embeddings of {embeddings.space} hold {len(embeddings)} cells; "
                        "a projection needs at least 3")
    cap = DEFAULT_MAX_POINTS[method] if max_points == -1 else max_points
    indices = subset_indices(len(embeddings), cap, seed)
    x = np.asarray(embeddings.vectors, dtype=np.float32)[indices]
    started = time.perf_counter()
    progress(0, 100, f"{METHOD_TITLES[method]} of {len(x):,} cells")
    params: dict[str, Any] = {"seed": seed, "n_total": len(embeddings), "n_points": len(x)}
    if method == "pca":
        from sklearn.decomposition import PCA

        pca = PCA(n_components=2, random_state=seed)
        coords = pca.fit_transform(x)
        params["explained_variance_ratio"] = [float(v) for v in pca.explained_variance_ratio_]
    elif method == "tsne":
        from sklearn.manifold import TSNE

        kwargs = {"perplexity": min(30.0, (len(x) - 1) / 3.0), "max_iter": 1000, "init": _tsne_init(x, seed),
                  "learning_rate": "auto"} | options
        params.update({k: v for k, v in kwargs.items() if isinstance(v, (int, float, str))})
        writer = _ProgressWriter("tsne", progress, len(x), int(kwargs["max_iter"]))
        with contextlib.redirect_stdout(writer):
            coords = TSNE(n_components=2, random_state=seed, verbose=2, **kwargs).fit_transform(x)
    else:
        import warnings

        import umap

        kwargs = {"n_neighbors": min(15, len(x) - 1), "min_dist": 0.1} | options
        params.update({k: v for k, v in kwargs.items() if isinstance(v, (int, float, str))})
        writer = _ProgressWriter("umap", progress, len(x))
        with contextlib.redirect_stdout(writer), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "n_jobs overridden by setting random_state" is expected
            reducer = umap.UMAP(n_components=2, random_state=seed, verbose=True,
                                tqdm_kwds={"file": writer, "mininterval": 0.5, "ascii": True}, **kwargs)
            coords = reducer.fit_transform(x)
    params["seconds"] = round(time.perf_counter() - started, 2)
    progress(100, 100, f"{METHOD_TITLES[method]} done in {params['seconds']:.1f} s")
    return Projection(embeddings.space, embeddings.encoder, method, normalise_coords(coords), indices,
                      embeddings_fingerprint(embeddings), params)


def get_projection(space: str, encoder: str, method: str, seed: int = 0, progress: ProgressCallback | None = None,
                   recompute: bool = False, embeddings: EmbeddingSet | None = None,
                   warn: ProgressCallback | None = None) -> tuple[Projection, CacheLookup]:
    """The cached projection when it matches the embeddings, else compute and cache it.

    Returns the projection and the cache lookup (its ``message`` explains a stale or corrupt cache).
    """
    method = check_method(method)
    embeddings = embeddings if embeddings is not None else load_embeddings(space, encoder)
    model_dir = find_model_dir(space, encoder)
    lookup = lookup_cached(embeddings, method, model_dir)
    same_seed = lookup.projection is not None and lookup.projection.params.get("seed", seed) == seed
    if lookup.status == "hit" and not recompute and lookup.projection is not None and same_seed:
        return lookup.projection, lookup
    if lookup.message and warn is not None and lookup.status in ("stale", "corrupt"):
        warn(0, 0, lookup.message)
    projection = compute_projection(embeddings, method, seed=seed, progress=progress)
    save_projection(projection, cache_path_for_write(space, encoder, method, model_dir))
    return projection, lookup


def cached_projection(space: str, encoder: str, method: str, embeddings: EmbeddingSet | None = None) -> CacheLookup:
    """Look up a cached projection without computing anything (fast; for first paint)."""
    embeddings = embeddings if embeddings is not None else load_embeddings(space, encoder)
    return lookup_cached(embeddings, method, find_model_dir(space, encoder))


# ---- background jobs --------------------------------------------------------------------

@dataclass
class ProjectionJob:
    """A projection computed in a child process; poll ``state()`` until ``done``."""

    space: str
    encoder: str
    method: str
    seed: int = 0
    done: bool = False
    error: str | None = None
    progress_done: int = 0
    progress_total: int = 100
    message: str = "starting"
    started: float = field(default_factory=time.time)
    process: subprocess.Popen | None = None

    @property
    def fraction(self) -> float:
        return min(1.0, self.progress_done / self.progress_total) if self.progress_total else 0.0

    @property
    def elapsed(self) -> float:
        return time.time() - self.started

    cancelled: bool = False

    def cancel(self) -> None:
        """Stop the job (also when its process has not started yet)."""
        self.cancelled = True
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()


_JOBS: dict[tuple[str, str, str, int], ProjectionJob] = {}
_JOBS_LOCK = threading.Lock()


def _run_job(job: ProjectionJob) -> None:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH", "")]))
    command = [sys.executable, "-m", "nasviz.projection", "--space", job.space, "--encoder", job.encoder,
               "--method", job.method, "--seed", str(job.seed)]
    try:
        preexec = (lambda: os.nice(5)) if hasattr(os, "nice") else None
        job.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                                       preexec_fn=preexec)
        assert job.process.stdout is not None
        if job.cancelled:
            job.process.terminate()
        for line in job.process.stdout:
            with contextlib.suppress(json.JSONDecodeError, KeyError, TypeError):
                event = json.loads(line)
                job.progress_done, job.progress_total, job.message = event["done"], event["total"], event["message"]
        stderr = job.process.stderr.read() if job.process.stderr else ""
        code = job.process.wait()
        if job.cancelled:
            job.error = "cancelled"
        elif code != 0:
            lines = [ln for ln in stderr.strip().splitlines() if ln.strip()]
            job.error = lines[-1] if lines else f"projection process exited with code {code}"
    except OSError as exc:
        job.error = f"could not start the projection process: {exc}"
    finally:
        job.done = True


def start_projection_job(space: str, encoder: str, method: str, seed: int = 0) -> ProjectionJob:
    """Start (or return the running) background job computing and caching a projection."""
    method = check_method(method)
    key = (space, encoder, method, seed)
    with _JOBS_LOCK:
        job = _JOBS.get(key)
        if job is not None and not (job.done and job.error):
            if not job.done:
                return job
            if cached_projection(space, encoder, method).status == "hit":
                return job
        job = ProjectionJob(space, encoder, method, seed)
        _JOBS[key] = job
    threading.Thread(target=_run_job, args=(job,), daemon=True, name=f"nasviz-projection-{method}").start()
    return job


def get_job(space: str, encoder: str, method: str, seed: int = 0) -> ProjectionJob | None:
    return _JOBS.get((space, encoder, check_method(method), seed))


@contextlib.contextmanager
def _json_progress() -> Iterator[ProgressCallback]:
    out = sys.stdout

    def callback(done: int, total: int, message: str = "") -> None:
        out.write(json.dumps({"done": done, "total": total, "message": message}) + "\n")
        out.flush()

    yield callback


def _worker(argv: list[str]) -> int:
    """Child-process entry point: compute and cache one projection, printing JSON progress lines."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m nasviz.projection")
    parser.add_argument("--space", required=True)
    parser.add_argument("--encoder", required=True)
    parser.add_argument("--method", required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        with _json_progress() as callback:
            get_projection(args.space, args.encoder, args.method, seed=args.seed, progress=callback, recompute=True)
    except (DataError, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(_worker(sys.argv[1:]))
