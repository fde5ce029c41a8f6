"""Public interface of architecture encoders.

Two layers:

- :class:`GraphCodec` (one per search space, :func:`get_codec`): the fixed-size graph encoding that graph
  autoencoders consume, i.e. a directed upper-triangular adjacency (V x V) and one-hot node ops (V x K), with
  the arch2vec node orders (NB201: 8-node operation-on-node DAG; NB101: 7 nodes padded at the end; DARTS:
  11 nodes, normal cell). It turns cells into graphs and decoded probabilities back into cells.
- :class:`Encoder` (one per method, :func:`get_encoder`): a trained model of one space that embeds cells
  into vectors, and (when it has a decoder) decodes latents back to cells.

Typical use::

    from nasviz.encoders import get_encoder
    enc = get_encoder("arch2vec", "nb201")          # loads the trained model (user's, else shipped)
    vectors = enc.embed(cells)                      # (n, 16) graph embeddings
    latents = enc.encode(cells)                     # what the decoder consumes (arch2vec: (n, 8, 16))
    cells_back = enc.decode(latents)                # list of cells, None where the decode is invalid
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from nasviz.encoders.store import find_model_dir
from nasviz.errors import ConfigError, DataError
from nasviz.progress import ProgressCallback, no_progress

#: validity rules a codec applies when turning a decoded graph into a cell
#: - "strict": the decoded graph must be exactly a graph of the space (NB201: the fixed DAG and legal ops)
#: - "paper": the check of the official arch2vec code (NB201: ignores the adjacency and node 1; see A1)
RULES = ("strict", "paper")


@dataclass
class GraphDataset:
    """Many cells of one space as fixed-size graphs (arch2vec encoding)."""

    space: str
    adjacency: np.ndarray  # (N, V, V) int8, directed, upper triangular
    ops: np.ndarray  # (N, V, K) float32 one-hot; all-zero rows are padding (NB101 cells with < 7 nodes)
    cell_ids: list[str]
    op_names: tuple[str, ...]

    def __post_init__(self) -> None:
        n = len(self.cell_ids)
        if self.adjacency.shape[0] != n or self.ops.shape[0] != n:
            raise DataError(f"graph dataset of {self.space}: {n} ids, {self.adjacency.shape[0]} adjacencies, "
                            f"{self.ops.shape[0]} op matrices")

    def __len__(self) -> int:
        return len(self.cell_ids)

    @property
    def num_nodes(self) -> int:
        return int(self.adjacency.shape[1])

    @property
    def num_ops(self) -> int:
        return int(self.ops.shape[2])

    def subset(self, index: Sequence[int] | np.ndarray) -> GraphDataset:
        index = np.asarray(index, dtype=np.int64)
        return GraphDataset(self.space, self.adjacency[index], self.ops[index],
                            [self.cell_ids[i] for i in index.tolist()], self.op_names)

    @classmethod
    def from_cells(cls, space: str, cells: Sequence[Any]) -> GraphDataset:
        return get_codec(space).dataset(cells)


class GraphCodec(ABC):
    """Cells of one space <-> fixed-size graphs (adjacency, one-hot ops)."""

    space: ClassVar[str] = ""
    num_nodes: ClassVar[int] = 0
    op_names: ClassVar[tuple[str, ...]] = ()

    @property
    def num_ops(self) -> int:
        return len(self.op_names)

    @abstractmethod
    def encode(self, cell: Any) -> tuple[np.ndarray, np.ndarray]:
        """(adjacency (V, V) int8 upper triangular, op indices (V,) int64 with -1 for padding)."""

    @abstractmethod
    def to_cell(self, adjacency: np.ndarray, op_index: np.ndarray) -> Any | None:
        """The cell a decoded graph denotes, or None when the graph is not exactly a cell of the space.
        ``op_index`` uses -1 for padded (absent) nodes."""

    def graph_valid(self, adjacency: np.ndarray, op_index: np.ndarray, rule: str = "strict") -> bool:
        """Whether a decoded graph is valid under ``rule`` (see RULES); "paper" defaults to "strict"."""
        if rule not in RULES:
            raise ConfigError(f"unknown validity rule {rule!r}; choose one of {', '.join(RULES)}")
        return self.to_cell(adjacency, op_index) is not None

    @abstractmethod
    def constrained_decode(self, adjacency_prob: np.ndarray, op_prob: np.ndarray) -> Any | None:
        """The most likely cell of the space given decoder probabilities (legal by construction where the
        space allows it; None if no legal cell can be formed)."""

    def op_index_from_probs(self, op_prob: np.ndarray) -> np.ndarray:
        """Decoded op index per node (argmax); codecs with padding override it."""
        return np.argmax(op_prob, axis=-1).astype(np.int64)

    def graph_key(self, adjacency: np.ndarray, op_index: np.ndarray) -> bytes:
        """Identity of a decoded graph (for uniqueness of graphs that are not cells)."""
        return np.triu(adjacency.astype(np.int8), 1).tobytes() + b"|" + op_index.astype(np.int8).tobytes()

    def one_hot(self, op_index: np.ndarray) -> np.ndarray:
        out = np.zeros((len(op_index), self.num_ops), dtype=np.float32)
        real = op_index >= 0
        out[np.nonzero(real)[0], op_index[real]] = 1.0
        return out

    def dataset(self, cells: Sequence[Any], cell_ids: Sequence[str] | None = None) -> GraphDataset:
        from nasviz.spaces import get_space

        space = get_space(self.space)
        n = len(cells)
        adjacency = np.zeros((n, self.num_nodes, self.num_nodes), dtype=np.int8)
        ops = np.zeros((n, self.num_nodes, self.num_ops), dtype=np.float32)
        for i, cell in enumerate(cells):
            adj, op_index = self.encode(cell)
            adjacency[i] = adj
            ops[i] = self.one_hot(op_index)
        ids = list(cell_ids) if cell_ids is not None else [space.cell_id(c) for c in cells]
        return GraphDataset(self.space, adjacency, ops, ids, self.op_names)

    def threshold(self, adjacency_prob: np.ndarray, op_prob: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Decoded graphs: adjacency = upper triangle of (prob > 0.5), ops = :meth:`op_index_from_probs`."""
        adjacency = np.triu(adjacency_prob > 0.5, 1).astype(np.int8)
        return adjacency, self.op_index_from_probs(op_prob)

    def decode_probs(self, adjacency_prob: np.ndarray, op_prob: np.ndarray, constrained: bool = False) -> list[Any | None]:
        """Cells from batched decoder probabilities ((n, V, V), (n, V, K))."""
        if constrained:
            return [self.constrained_decode(a, o) for a, o in zip(adjacency_prob, op_prob, strict=True)]
        adjacency, op_index = self.threshold(adjacency_prob, op_prob)
        return [self.to_cell(a, o) for a, o in zip(adjacency, op_index, strict=True)]


#: space -> "module:Class" of its codec
_CODECS: dict[str, str] = {
    "nb201": "nasviz.encoders.graphs:NB201Codec",
    "nb101": "nasviz.encoders.graphs:NB101Codec",
    "darts": "nasviz.encoders.graphs:DartsCodec",
}
_CODEC_INSTANCES: dict[str, GraphCodec] = {}


def get_codec(space: str) -> GraphCodec:
    """The arch2vec graph encoding of ``space`` (nb201, nb101, darts)."""
    from nasviz.spaces import get_space

    key = get_space(space).name
    if key not in _CODECS:
        raise ConfigError(f"no graph encoding for space {space!r}; graph encoders support {', '.join(_CODECS)}")
    if key not in _CODEC_INSTANCES:
        module_name, class_name = _CODECS[key].split(":")
        codec_class = getattr(import_module(module_name), class_name, None)
        if codec_class is None:
            raise ConfigError(f"the graph encoding of {key} is not available in this version of nasviz")
        _CODEC_INSTANCES[key] = codec_class()
    return _CODEC_INSTANCES[key]


class Encoder(ABC):
    """A trained architecture encoder of one search space."""

    #: registry name (arch2vec, gae, vgae, raw, nao, agnet)
    name: ClassVar[str] = ""
    #: short human title for UIs
    title: ClassVar[str] = ""
    #: whether :meth:`decode` is implemented
    has_decoder: ClassVar[bool] = False

    def __init__(self, space: str, manifest: dict[str, Any] | None = None) -> None:
        self.space = space
        self.manifest: dict[str, Any] = manifest or {}

    @property
    @abstractmethod
    def dim(self) -> int:
        """Dimension of the graph embeddings :meth:`embed` returns."""

    @abstractmethod
    def embed(self, cells: Sequence[Any], progress: ProgressCallback = no_progress) -> np.ndarray:
        """Graph embeddings, float32 (n, dim)."""

    def encode(self, cells: Sequence[Any]) -> np.ndarray:
        """The latent :meth:`decode` consumes (default: the embeddings)."""
        return self.embed(cells)

    def decode(self, latent: np.ndarray, constrained: bool = False) -> list[Any | None]:
        """Cells decoded from latents; None where the decode is not a valid cell. With ``constrained`` the
        decode is restricted to legal cells of the space."""
        raise NotImplementedError(f"the {self.name} encoder has no decoder")

    def sample_prior(self, n: int, seed: int) -> np.ndarray:
        """``n`` latents drawn from the prior the model was trained with (for validity metrics)."""
        raise NotImplementedError(f"the {self.name} encoder has no generative prior")

    def reconstruct(self, cells: Sequence[Any], constrained: bool = False) -> list[Any | None]:
        return self.decode(self.encode(cells), constrained=constrained)

    # ---- persistence -------------------------------------------------------------------------
    @classmethod
    def load(cls, space: str) -> Encoder:
        """The trained model of ``space`` (the user's in NASVIZ_HOME first, then the shipped one)."""
        directory = find_model_dir(space, cls.name)
        if directory is None:
            raise DataError(f"no trained {cls.name} model for {space}: run `nasviz encoders train {cls.name} --space {space}`")
        return cls.load_dir(directory, space)

    @classmethod
    @abstractmethod
    def load_dir(cls, directory: Path, space: str) -> Encoder:
        """Load from a model directory, checking that it was trained on ``space``."""

    @staticmethod
    def read_manifest(directory: Path, encoder: str, space: str) -> dict[str, Any]:
        path = directory / "manifest.json"
        try:
            manifest = json.loads(path.read_text())
        except FileNotFoundError:
            raise DataError(f"no manifest at {path}") from None
        except (OSError, ValueError) as exc:
            raise DataError(f"corrupt manifest {path}: {exc}") from None
        if manifest.get("encoder", encoder) != encoder:
            raise DataError(f"{path} is a {manifest.get('encoder')} model, not {encoder}")
        trained_on = manifest.get("space")
        if trained_on != space:
            raise DataError(f"{path} holds a {encoder} model trained on space {trained_on!r}, not {space!r}")
        return manifest


#: encoder name -> "module:Class" (imported lazily); NAO and AG-Net add one line each here
_ENCODERS: dict[str, str] = {
    "arch2vec": "nasviz.encoders.gnn:Arch2VecEncoder",
    "gae": "nasviz.encoders.gnn:GAEEncoder",
    "vgae": "nasviz.encoders.gnn:VGAEEncoder",
    "raw": "nasviz.encoders.raw:RawEncoder",
    "nao": "nasviz.encoders.nao:NAOEncoder",
    "agnet": "nasviz.encoders.agnet:AGNetEncoder",
}

ENCODER_NAMES: tuple[str, ...] = tuple(_ENCODERS)


def encoder_class(name: str) -> type[Encoder]:
    key = name.lower()
    if key not in _ENCODERS:
        raise ConfigError(f"unknown encoder {name!r}; choose one of {', '.join(_ENCODERS)}")
    module_name, class_name = _ENCODERS[key].split(":")
    return getattr(import_module(module_name), class_name)


def get_encoder(name: str, space: str) -> Encoder:
    """The trained ``name`` encoder of ``space``; DataError naming the training command when absent."""
    from nasviz.spaces import get_space

    return encoder_class(name).load(get_space(space).name)
