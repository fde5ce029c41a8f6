"""Where trained encoders live and how their embeddings are stored.

Layout of one model directory (``models/<space>/<encoder>/`` shipped with nasviz, or
``$NASVIZ_HOME/models/<space>/<encoder>/`` for models the user trains, which take precedence)::

    manifest.json      configuration, seed, data, metrics, training time, the command that trained it
    checkpoint.pt      state dict (load with ``torch.load(..., weights_only=True)``)
    embeddings.npz     ``cell_ids`` (str; 32-hex-digit ids as ``cell_id_digests``, their raw bytes), ``vectors``
                       (float32, n x d), optional ``cells_*`` arrays holding the
                       cells of ids the space cannot invert (NB101 module hashes)
    projections/       cached 2-D projections, one ``<method>.npz`` each (see nasviz.projection)
"""

from __future__ import annotations

import contextlib
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nasviz.errors import DataError, NasvizError
from nasviz.fileio import atomic_write_bytes, check_zip_members, load_json_capped
from nasviz.paths import MODELS_DIR, home_dir

#: what an encoder folder may hold (the shipped ones: at most 5 MB of embeddings, a few KB of manifest)
MAX_EMBEDDINGS_BYTES = 1 << 30
MAX_MANIFEST_BYTES = 1 << 20

#: embeddings.npz arrays named so hold cells (see EmbeddingSet.cell_arrays)
CELL_ARRAY_PREFIX = "cells_"


def user_model_dir(space: str, encoder: str) -> Path:
    return home_dir() / "models" / space / encoder


def shipped_model_dir(space: str, encoder: str) -> Path:
    return MODELS_DIR / space / encoder


def find_model_dir(space: str, encoder: str) -> Path | None:
    """The directory of a trained encoder: the user's own first, then the shipped one."""
    for path in (user_model_dir(space, encoder), shipped_model_dir(space, encoder)):
        if (path / "manifest.json").exists():
            return path
    return None


def model_file_stamp(space: str, encoder: str, filename: str = "embeddings.npz") -> int:
    """Modification time (ns) of a trained model's file, 0 when absent: a cache key that changes on retraining."""
    directory = find_model_dir(space, encoder)
    try:
        return (directory / filename).stat().st_mtime_ns if directory is not None else 0
    except FileNotFoundError:
        return 0


def available_encoders(space: str) -> list[str]:
    """Names of encoders with a trained model for ``space`` (user's or shipped): folders whose model
    (:func:`find_model_dir`, the user's first) holds an ``embeddings.npz``. Other model folders under
    ``models/<space>/`` (NAT policies: ``policy.npz``, no embeddings) are not encoders and are not listed."""
    names: set[str] = set()
    for root in (home_dir() / "models" / space, MODELS_DIR / space):
        if root.is_dir():
            names.update(p.name for p in root.iterdir() if (p / "manifest.json").exists())
    return sorted(n for n in names if (directory := find_model_dir(space, n)) is not None
                  and (directory / "embeddings.npz").is_file())


@dataclass
class EmbeddingSet:
    """Embeddings of many cells of one space by one encoder."""

    space: str
    encoder: str
    cell_ids: np.ndarray  # str, canonical ids (SearchSpace.cell_id)
    vectors: np.ndarray  # float32, (n, d)
    manifest: dict[str, Any] = field(default_factory=dict)
    #: optional ``cells_*`` arrays from which the space rebuilds the cells of ids it cannot invert (NB101
    #: module hashes: ``nasviz.spaces.nb101.pack_cells``); saved in embeddings.npz, registered on load
    cell_arrays: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.cell_ids) != len(self.vectors):
            raise DataError(f"{self.encoder} embeddings: {len(self.cell_ids)} ids but {len(self.vectors)} vectors")

    def __len__(self) -> int:
        return len(self.cell_ids)

    def position(self) -> dict[str, int]:
        return {cid: i for i, cid in enumerate(self.cell_ids.tolist())}

    def save(self, directory: Path, precision: str = "float32") -> Path:
        """Write ``embeddings.npz``; ``precision="float16"`` halves wide embeddings on disk (loaded as float32)."""
        import io

        if precision not in ("float32", "float16"):
            raise DataError(f"embedding precision must be float32 or float16, not {precision!r}")
        buffer = io.BytesIO()
        bad = [k for k in self.cell_arrays if not k.startswith(CELL_ARRAY_PREFIX)]
        if bad:
            raise DataError(f"cell arrays must be named {CELL_ARRAY_PREFIX}*, got {', '.join(bad)}")
        np.savez_compressed(buffer, **_pack_ids(self.cell_ids), vectors=self.vectors.astype(precision),
                            **self.cell_arrays)
        path = directory / "embeddings.npz"
        atomic_write_bytes(path, buffer.getvalue())
        return path

    @classmethod
    def load(cls, directory: Path) -> EmbeddingSet:
        path = directory / "embeddings.npz"
        manifest_path = directory / "manifest.json"
        if not path.exists():
            raise DataError(f"no embeddings at {path}")
        try:
            check_zip_members(path, MAX_EMBEDDINGS_BYTES)  # a zip bomb is refused before NumPy inflates it
        except DataError as exc:
            raise DataError(f"corrupt embeddings file {path}: {str(exc).removeprefix(f'{path}: ')} (retrain the "
                            "encoder, or delete the folder to use the shipped model)") from None
        try:
            with np.load(path, allow_pickle=False) as data:
                if not hasattr(data, "files"):
                    raise ValueError("a single array, not an .npz archive")
                cell_ids, vectors = _unpack_ids(data), data["vectors"]
                cell_arrays = {k: data[k] for k in data.files if k.startswith(CELL_ARRAY_PREFIX)}
            manifest = load_json_capped(manifest_path, MAX_MANIFEST_BYTES, "encoder manifest") if manifest_path.exists() else {}
            if vectors.ndim != 2 or vectors.dtype.kind not in "fiu":
                raise ValueError(f"vectors must be a numeric n x d array, got {vectors.dtype} of shape {vectors.shape}")
            if not isinstance(manifest, dict):
                raise ValueError(f"{manifest_path.name} is not a JSON object")
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            detail = "not a NumPy .npz archive" if "pickled" in str(exc) else str(exc)
            raise DataError(f"corrupt embeddings file {path}: {detail} (retrain the encoder, or delete the "
                            "folder to use the shipped model)") from None
        out = cls(manifest.get("space", directory.parent.name), manifest.get("encoder", directory.name),
                  cell_ids, vectors.astype(np.float32), manifest, cell_arrays)
        out.register_cells()
        return out

    def register_cells(self) -> None:
        """Hand the stored cells to the space (``remember_cells``), so that its ids turn back into cells."""
        if not self.cell_arrays:
            return
        from nasviz.errors import CellError
        from nasviz.spaces import get_space

        try:
            remember = getattr(get_space(self.space), "remember_cells", None)
        except NasvizError:
            return
        if remember is not None:
            try:
                remember(self.cell_ids, self.cell_arrays)
            except CellError as exc:
                raise DataError(f"corrupt cell arrays in the {self.encoder} embeddings of {self.space}: {exc}") from None


def _pack_ids(cell_ids: np.ndarray) -> dict[str, np.ndarray]:
    """The ids as ``embeddings.npz`` stores them: lowercase 32-hex-digit ids (NB101 module hashes) as their 16 raw
    bytes (``cell_id_digests``, uint8 n x 16: 0.8 MB less than the compressed text for 100k cells), any other ids as
    text (``cell_ids``)."""
    ids = np.asarray(cell_ids).astype(str)
    if len(ids) and bool((np.char.str_len(ids) == 32).all()):
        text = "".join(ids.tolist())
        if text == text.lower():
            with contextlib.suppress(ValueError):  # not hexadecimal: stored as text
                return {"cell_id_digests": np.frombuffer(bytes.fromhex(text), dtype=np.uint8).reshape(len(ids), 16)}
    return {"cell_ids": ids}


def _unpack_ids(data: Any) -> np.ndarray:
    """The str ids of an opened ``embeddings.npz`` (either layout of :func:`_pack_ids`)."""
    if "cell_ids" in data.files:
        return data["cell_ids"]
    digests = data["cell_id_digests"]
    if digests.ndim != 2 or digests.shape[1] != 16:
        raise ValueError(f"cell_id_digests has shape {digests.shape}, expected (n, 16)")
    return np.frombuffer(digests.tobytes().hex().encode(), dtype="S32").astype(str)


def write_manifest(directory: Path, manifest: dict[str, Any]) -> Path:
    path = directory / "manifest.json"
    atomic_write_bytes(path, (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode())
    return path


def load_embeddings(space: str, encoder: str) -> EmbeddingSet:
    """Embeddings of a trained encoder, or a DataError naming the training command."""
    directory = find_model_dir(space, encoder)
    if directory is None:
        raise DataError(f"no trained {encoder} model for {space}: run `nasviz encoders train {encoder} --space {space}`")
    return EmbeddingSet.load(directory)
