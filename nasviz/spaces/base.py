"""The interface every search space implements.

A search space owns one canonical, immutable cell type and knows how to parse it from the
community formats, validate it, give its canonical id, sample it, draw it (through a networkx
view) and cost it (parameters and multiply-adds of the network it defines).
"""

from __future__ import annotations

import json
import math
import numbers
import re
from abc import ABC, abstractmethod
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from nasviz.errors import CellError

if TYPE_CHECKING:
    import networkx as nx  # imported by the spaces' to_networkx only (keeps `import nasviz` light)

CellT = TypeVar("CellT")


@dataclass(frozen=True)
class Validity:
    """Whether a cell is valid, and why not when it is not."""

    valid: bool
    reason: str | None = None

    def __bool__(self) -> bool:
        return self.valid

    @classmethod
    def ok(cls) -> Validity:
        return cls(True, None)

    @classmethod
    def invalid(cls, reason: str) -> Validity:
        return cls(False, reason)


@dataclass(frozen=True)
class NetworkCost:
    """Exact size of the network a cell defines: parameters and multiply-adds (MACs)."""

    params: int
    flops: int
    dataset: str

    @property
    def params_m(self) -> float:
        return self.params / 1e6

    @property
    def flops_m(self) -> float:
        return self.flops / 1e6


#: the longest cell text any space parses (the largest real cell, a DARTS genotype, is under 2 KB)
MAX_CELL_TEXT = 64 * 1024
#: the deepest JSON nesting a cell may have (real cells nest at most 4 levels)
MAX_JSON_DEPTH = 32

#: control characters that never occur in a text cell (tab, newline and carriage return are allowed)
_BINARY = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffd]")


def preview(value: Any, limit: int = 60) -> str:
    """A short printable form of an input for error messages (long inputs are cut with their length)."""
    text = value if isinstance(value, str) else repr(value)
    if len(text) > limit:
        return f"{text[:limit]!r}... ({len(text):,} characters)"
    return repr(text) if isinstance(value, str) else text


def check_cell_text(text: Any, what: str = "cell") -> str:
    """``text`` when it can be a cell's text; :class:`CellError` when it is not text, too long or binary."""
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError:
            raise CellError(f"the {what} is binary data, not UTF-8 text") from None
    if not isinstance(text, str):
        raise CellError(f"expected the {what} as text, got {type(text).__name__}")
    if len(text) > MAX_CELL_TEXT:
        raise CellError(f"the {what} text is {len(text):,} characters long; a cell is at most {MAX_CELL_TEXT:,} "
                        f"(starts {preview(text[:40])})")
    bad = _BINARY.search(text)
    if bad is not None:
        raise CellError(f"the {what} text holds binary data (character {ord(bad.group()):#04x} at position "
                        f"{bad.start()}): not a cell")
    return text


def json_depth(text: str) -> int:
    """The deepest nesting of arrays/objects in JSON text (strings skipped), without parsing it (linear time)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _reject_constant(name: str) -> Any:
    raise CellError(f"{name} is not a number a cell can hold")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise CellError(f"the number {preview(text, 20)} is too large (not finite)")
    return value


def load_json_text(text: str, what: str = "cell") -> Any:
    """Parse JSON text of a cell, raising :class:`CellError` for a syntax error (with its position), a text
    over :data:`MAX_CELL_TEXT`, nesting deeper than :data:`MAX_JSON_DEPTH`, NaN/Infinity or a non-finite number."""
    text = check_cell_text(text, what)
    depth = json_depth(text)
    if depth > MAX_JSON_DEPTH:
        raise CellError(f"the {what} JSON nests {depth:,} levels deep; a cell nests at most {MAX_JSON_DEPTH}")
    try:
        return json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except json.JSONDecodeError as exc:
        raise CellError(f"malformed JSON for the {what}: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:  # pragma: no cover - the depth check comes first
        raise CellError(f"the {what} JSON nests too deep") from None


def as_int(value: Any, what: str) -> int:
    """``value`` as an int when it is an integer (not a bool, float or string); CellError naming ``what``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        kind = "a boolean" if isinstance(value, bool) else "null" if value is None else type(value).__name__
        raise CellError(f"{what} must be an integer, got {preview(value)} ({kind})")
    return int(value)


class SearchSpace(ABC, Generic[CellT]):
    """Abstract search space. Subclasses set the class attributes and implement the methods."""

    name: str = ""
    title: str = ""
    ops: tuple[str, ...] = ()
    datasets: tuple[str, ...] = ()
    default_dataset: str = ""
    #: one-line description of the accepted input format, shown in CLI help and the UI
    input_format: str = ""

    # ---- parsing and serialisation -------------------------------------------------------
    @abstractmethod
    def parse(self, obj: Any) -> CellT:
        """A cell from its JSON value (or JSON text, or a cell). Raises CellError when malformed."""

    @abstractmethod
    def to_json(self, cell: CellT) -> Any:
        """The cell as a JSON-serialisable value, in the format :meth:`parse` accepts."""

    def parse_text(self, text: str) -> CellT:
        """A cell from a text line: JSON, or a space-specific string format."""
        text = check_cell_text(text).strip()
        if not text:
            raise CellError("empty input: expected a cell")
        return self.parse(load_json_text(text))

    # ---- validity and identity -----------------------------------------------------------
    @abstractmethod
    def is_valid(self, cell: CellT) -> Validity:
        """Validity of the cell in this space, with the reason when invalid."""

    @abstractmethod
    def canonical(self, cell: CellT) -> dict[str, Any]:
        """Canonical form fields (e.g. NB201 ``arch`` and ``index``, NB101 ``hash``)."""

    @abstractmethod
    def cell_id(self, cell: CellT) -> str:
        """The canonical id that keys benchmark tables."""

    @abstractmethod
    def sample(self, n: int, seed: int) -> list[CellT]:
        """``n`` valid cells drawn uniformly with the given seed (deterministic)."""

    def size(self) -> tuple[int, bool]:
        """(number of cells, whether the number is exact)."""
        raise NotImplementedError

    # ---- structure ------------------------------------------------------------------------
    @abstractmethod
    def to_networkx(self, cell: CellT) -> nx.DiGraph:
        """Graph view. Node attributes: ``label``, ``role`` (input/op/output/node) and ``op`` for
        ops on nodes; edge attribute ``op`` for ops on edges (None for plain connections)."""

    @abstractmethod
    def edit_distance(self, a: CellT, b: CellT) -> int:
        """Number of elementary edits (op changes, edge changes) between two cells."""

    @abstractmethod
    def op_counts(self, cell: CellT) -> dict[str, int]:
        """How many times each op appears in the cell."""

    # ---- cost -------------------------------------------------------------------------------
    @abstractmethod
    def cost(self, cell: CellT, dataset: str | None = None) -> NetworkCost:
        """Exact parameters and multiply-adds of the network the cell defines."""

    # ---- convenience ------------------------------------------------------------------------
    def check_dataset(self, dataset: str | None) -> str:
        dataset = dataset or self.default_dataset
        if dataset not in self.datasets:
            raise CellError(f"unknown dataset {dataset!r} for {self.name}; choose one of {', '.join(self.datasets)}")
        return dataset

    def describe(self, cell: CellT, dataset: str | None = None) -> dict[str, Any]:
        """Everything ``nasviz cells describe`` prints for one parsed cell."""
        validity = self.is_valid(cell)
        out: dict[str, Any] = {"space": self.name, "valid": validity.valid}
        if not validity.valid:
            out["reason"] = validity.reason
            out["cell"] = self.to_json(cell)
            return out
        out.update(self.canonical(cell))
        dataset = self.check_dataset(dataset)
        cost = self.cost(cell, dataset)
        out.update({"dataset": dataset, "params": cost.params, "flops": cost.flops})
        out["op_counts"] = self.op_counts(cell)
        out["cell"] = self.to_json(cell)
        return out


def count_ops(ops: list[str] | tuple[str, ...], known: tuple[str, ...]) -> dict[str, int]:
    """Op counts in the order of ``known`` (zeros included)."""
    counter = Counter(ops)
    return {op: counter.get(op, 0) for op in known}
