"""NAS-Bench-101 official ``nasbench_only108.tfrecord`` / ``nasbench_full.tfrecord``, read without TensorFlow.

TFRecord framing, per record: ``u64 length (LE) | u32 masked crc32c(length) | data | u32 masked crc32c(data)``.
Each record is JSON ``[module_hash, epochs, raw_adjacency, raw_operations, base64(ModelMetrics)]`` where
``ModelMetrics`` is a protobuf: ``evaluation_data`` (field 1, repeated EvaluationData: 1 current_epoch,
2 training_time, 3 train_accuracy, 4 validation_accuracy, 5 test_accuracy, all doubles),
``trainable_parameters`` (2, varint) and ``total_time`` (3, double). The final evaluation is
``evaluation_data[2]``. Every (module, epochs) has 3 repeats: the table keeps their mean and each repeat.
"""

from __future__ import annotations

import base64
import binascii
import json
import struct
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nasviz.data.importers.common import Accumulator, check_exists, provenance_entry
from nasviz.data.metrics import MetricSpec
from nasviz.data.table import BenchmarkTable
from nasviz.errors import CellError, ConfigError, DataError
from nasviz.progress import ProgressCallback, no_progress

# ---- crc32c (Castagnoli), table-driven; vectorised over many records at once -------------------

_POLY = 0x82F63B78


def _make_table() -> np.ndarray:
    table = np.zeros(256, dtype=np.uint32)
    for i in range(256):
        crc = i
        for _ in range(8):
            crc = (crc >> 1) ^ _POLY if crc & 1 else crc >> 1
        table[i] = crc
    return table


_TABLE = _make_table()
_TABLE_LIST = [int(v) for v in _TABLE]


def crc32c(data: bytes) -> int:
    """CRC-32C of ``data`` (pure Python; use :func:`crc32c_many` for bulk)."""
    crc = 0xFFFFFFFF
    table = _TABLE_LIST
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def crc32c_many(buffers: Sequence[bytes]) -> np.ndarray:
    """CRC-32C of each buffer, computed column-wise with numpy (fast for thousands of records)."""
    n = len(buffers)
    if n == 0:
        return np.zeros(0, dtype=np.uint32)
    lengths = np.fromiter((len(b) for b in buffers), dtype=np.int64, count=n)
    order = np.argsort(-lengths, kind="stable")
    width = int(lengths.max())
    block = np.zeros((n, width), dtype=np.uint8)
    for row, i in enumerate(order):
        buf = buffers[i]
        block[row, : len(buf)] = np.frombuffer(buf, dtype=np.uint8)
    sorted_lengths = lengths[order]
    active = np.searchsorted(-sorted_lengths, -np.arange(1, width + 1), side="right")  # rows longer than j
    crc = np.full(n, 0xFFFFFFFF, dtype=np.uint32)
    for j in range(width):
        k = int(active[j])
        crc[:k] = _TABLE[(crc[:k] ^ block[:k, j]) & 0xFF] ^ (crc[:k] >> np.uint32(8))
    out = np.empty(n, dtype=np.uint32)
    out[order] = crc ^ np.uint32(0xFFFFFFFF)
    return out


def mask_crc(crc: int | np.ndarray) -> Any:
    """TFRecord's masked CRC: rotate right by 15 and add a constant (mod 2^32)."""
    if isinstance(crc, np.ndarray):
        crc = crc.astype(np.uint64)
        return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


# ---- TFRecord framing ---------------------------------------------------------------------------

#: an NB101 record is a JSON list of ~1 kB; a larger length field means a corrupt (or hostile) file
MAX_RECORD_BYTES = 1 << 20


def iter_tfrecord(path: Path, verify: bool = True, batch: int = 4096,
                  progress: ProgressCallback = no_progress, max_record_bytes: int = MAX_RECORD_BYTES) -> Iterator[bytes]:
    """Yield the records of a TFRecord file, checking both CRCs (DataError naming the record and offset); a record
    longer than ``max_record_bytes`` is refused before it is read."""
    path = Path(path)
    size = path.stat().st_size
    with open(path, "rb") as fh:
        pending: list[tuple[int, int, bytes, int]] = []  # (record number, offset, data, stored crc)
        number = 0
        while True:
            offset = fh.tell()
            header = fh.read(12)
            if not header:
                break
            if len(header) < 12:
                raise DataError(f"{path}: truncated record header at byte {offset} (record {number})")
            length, length_crc = struct.unpack("<QI", header)
            if verify and mask_crc(crc32c(header[:8])) != length_crc:
                raise DataError(f"{path}: record {number} at byte {offset}: length checksum mismatch "
                                "(not a TFRecord file, or corrupt)")
            if length > size - offset:
                raise DataError(f"{path}: record {number} at byte {offset} claims {length} bytes; the file is "
                                "truncated or corrupt")
            if length > max_record_bytes:
                raise DataError(f"{path}: record {number} at byte {offset} claims {length:,} bytes, more than the "
                                f"{max_record_bytes:,}-byte limit of a record of this format; refused")
            data = fh.read(length)
            footer = fh.read(4)
            if len(data) < length or len(footer) < 4:
                raise DataError(f"{path}: truncated record {number} at byte {offset}")
            pending.append((number, offset, data, struct.unpack("<I", footer)[0]))
            number += 1
            if len(pending) >= batch:
                yield from _verified(path, pending, verify)
                pending = []
                progress(fh.tell(), size, f"{number:,} records")
        yield from _verified(path, pending, verify)
        progress(size, size, f"{number:,} records")


def check_tfrecord_framing(path: Path, max_record_bytes: int = MAX_RECORD_BYTES) -> int:
    """The number of records of TFRecord ``path``, after checking its framing without reading the payloads: every
    length checksum, lengths that chain exactly to the end of the file, and the data checksum of the last record
    (so a file cut anywhere, even inside the last record, is refused). DataError naming the file otherwise."""
    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        raise DataError(f"{path}: empty file; expected a TFRecord file")
    number, offset, last = 0, 0, 0
    with open(path, "rb") as fh:
        while offset < size:
            fh.seek(offset)
            header = fh.read(12)
            if len(header) < 12:
                raise DataError(f"{path}: truncated record header at byte {offset} (record {number})")
            length, length_crc = struct.unpack("<QI", header)
            if mask_crc(crc32c(header[:8])) != length_crc:
                raise DataError(f"{path}: record {number} at byte {offset}: length checksum mismatch "
                                "(not a TFRecord file, or corrupt)")
            if length > max_record_bytes or offset + 16 + length > size:
                raise DataError(f"{path}: record {number} at byte {offset} claims {length:,} bytes: the file is "
                                "truncated or corrupt")
            last = offset
            offset += 16 + length
            number += 1
        fh.seek(last)
        length = struct.unpack("<Q", fh.read(12)[:8])[0]
        data, footer = fh.read(length), fh.read(4)
        if mask_crc(crc32c(data)) != struct.unpack("<I", footer)[0]:
            raise DataError(f"{path}: record {number - 1} at byte {last}: data checksum mismatch (truncated or corrupt)")
    return number


def _verified(path: Path, pending: list[tuple[int, int, bytes, int]], verify: bool) -> Iterator[bytes]:
    if verify and pending:
        crcs = mask_crc(crc32c_many([p[2] for p in pending]))
        for (number, offset, _, stored), computed in zip(pending, crcs, strict=True):
            if int(computed) != stored:
                raise DataError(f"{path}: record {number} at byte {offset}: data checksum mismatch (corrupt file)")
    for item in pending:
        yield item[2]


def write_tfrecord(path: Path, records: Sequence[bytes]) -> None:
    """Write records with TFRecord framing (used to build test files)."""
    with open(path, "wb") as fh:
        for data in records:
            header = struct.pack("<Q", len(data))
            fh.write(header + struct.pack("<I", mask_crc(crc32c(header))) + data
                     + struct.pack("<I", mask_crc(crc32c(data))))


# ---- protobuf wire format -----------------------------------------------------------------------

def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise DataError("truncated protobuf varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise DataError("malformed protobuf varint")


def parse_fields(buf: bytes) -> list[tuple[int, int, Any]]:
    """(field number, wire type, value) of a protobuf message; length-delimited values stay bytes."""
    fields = []
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            if pos + 8 > len(buf):
                raise DataError("truncated protobuf double")
            value = struct.unpack_from("<d", buf, pos)[0]
            pos += 8
        elif wire == 2:
            length, pos = _varint(buf, pos)
            if pos + length > len(buf):
                raise DataError("truncated protobuf bytes field")
            value = buf[pos:pos + length]
            pos += length
        elif wire == 5:
            if pos + 4 > len(buf):
                raise DataError("truncated protobuf fixed32")
            value = struct.unpack_from("<f", buf, pos)[0]
            pos += 4
        else:
            raise DataError(f"unsupported protobuf wire type {wire} (field {number})")
        fields.append((number, wire, value))
    return fields


EVAL_FIELDS = {1: "current_epoch", 2: "training_time", 3: "train_accuracy", 4: "validation_accuracy",
               5: "test_accuracy"}


def decode_model_metrics(buf: bytes) -> dict[str, Any]:
    """``{"evaluation_data": [{...}, ...], "trainable_parameters": int, "total_time": float}``."""
    out: dict[str, Any] = {"evaluation_data": []}
    for number, wire, value in parse_fields(buf):
        if number == 1 and wire == 2:
            evaluation = {EVAL_FIELDS[n]: v for n, w, v in parse_fields(value) if n in EVAL_FIELDS and w == 1}
            out["evaluation_data"].append(evaluation)
        elif number == 2 and wire == 0:
            out["trainable_parameters"] = value
        elif number == 3 and wire == 1:
            out["total_time"] = value
    return out


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def encode_model_metrics(evaluations: Sequence[dict[str, float]], trainable_parameters: int,
                         total_time: float = 0.0) -> bytes:
    """Protobuf bytes of a ModelMetrics message (used to build test files)."""
    numbers = {name: n for n, name in EVAL_FIELDS.items()}
    out = bytearray()
    for evaluation in evaluations:
        body = b"".join(_encode_varint(numbers[k] << 3 | 1) + struct.pack("<d", v) for k, v in evaluation.items())
        out += _encode_varint(1 << 3 | 2) + _encode_varint(len(body)) + body
    out += _encode_varint(2 << 3 | 0) + _encode_varint(int(trainable_parameters))
    out += _encode_varint(3 << 3 | 1) + struct.pack("<d", total_time)
    return bytes(out)


def encode_record(module_hash: str, epochs: int, matrix: Sequence[Sequence[int]], ops: Sequence[str],
                  metrics: bytes) -> bytes:
    """One NB101 record payload (JSON list) as the official generator writes it."""
    raw_adjacency = "".join(str(int(v)) for row in matrix for v in row)
    return json.dumps([module_hash, epochs, raw_adjacency, ",".join(ops),
                       base64.b64encode(metrics).decode()]).encode()


# ---- the importer ---------------------------------------------------------------------------------

def _decode_record(data: bytes, where: str) -> tuple[str, int, str, str, dict[str, Any]]:
    try:
        module_hash, epochs, raw_adjacency, raw_operations, raw_metrics = json.loads(data.decode("utf-8"))
        metrics = decode_model_metrics(base64.b64decode(raw_metrics, validate=True))
    except (ValueError, TypeError, UnicodeDecodeError, binascii.Error) as exc:
        raise DataError(f"{where}: not an NB101 record ({type(exc).__name__}: {exc})") from None
    except DataError as exc:
        raise DataError(f"{where}: {exc}") from None
    if len(metrics["evaluation_data"]) < 3:
        raise DataError(f"{where}: expected 3 evaluations (start, halfway, end), found {len(metrics['evaluation_data'])}")
    return str(module_hash), int(epochs), str(raw_adjacency), str(raw_operations), metrics


def _check_hash(space_obj: Any, module_hash: str, raw_adjacency: str, raw_operations: str, where: str) -> None:
    dim = int(round(len(raw_adjacency) ** 0.5))
    if dim * dim != len(raw_adjacency):
        raise DataError(f"{where}: adjacency string of length {len(raw_adjacency)} is not square")
    matrix = [[int(c) for c in raw_adjacency[r * dim:(r + 1) * dim]] for r in range(dim)]
    try:
        cell_id = space_obj.cell_id(space_obj.parse({"matrix": matrix, "ops": raw_operations.split(",")}))
    except CellError as exc:
        raise DataError(f"{where}: invalid cell ({exc})") from None
    if cell_id != module_hash:
        raise DataError(f"{where}: module hash {module_hash} differs from the cell's hash {cell_id}")


def import_nb101_tfrecord(paths: Sequence[Path], progress: ProgressCallback = no_progress, verify: bool = True,
                          check_hashes: int = 200, **_: Any) -> BenchmarkTable:
    """Import the official NB101 TFRecord(s). The first ``check_hashes`` distinct modules are re-hashed
    with nasviz's NB101 space to confirm the file's ids (-1: all)."""
    from nasviz.spaces import get_space

    if len(paths) != 1:
        raise ConfigError("nb101 imports exactly one .tfrecord file")
    path = check_exists(paths[0])
    space_obj = get_space("nb101")
    per_epoch: dict[int, dict[str, list]] = {}
    params: dict[str, float] = {}
    checked = 0
    for number, data in enumerate(iter_tfrecord(path, verify=verify, progress=progress)):
        where = f"{path}: record {number}"
        module_hash, epochs, raw_adjacency, raw_operations, metrics = _decode_record(data, where)
        if module_hash not in params:
            if check_hashes < 0 or checked < check_hashes:
                _check_hash(space_obj, module_hash, raw_adjacency, raw_operations, where)
                checked += 1
            params[module_hash] = metrics.get("trainable_parameters", float("nan")) / 1e6
        final = metrics["evaluation_data"][2]
        slot = per_epoch.setdefault(epochs, {"ids": [], "train": [], "valid": [], "test": [], "time": []})
        slot["ids"].append(module_hash)
        slot["train"].append(final.get("train_accuracy", np.nan) * 100)
        slot["valid"].append(final.get("validation_accuracy", np.nan) * 100)
        slot["test"].append(final.get("test_accuracy", np.nan) * 100)
        slot["time"].append(final.get("training_time", np.nan))
    if not params:
        raise DataError(f"{path}: no records")
    source = f"NAS-Bench-101 {path.name}: final evaluation, mean of the repeats (per-repeat values kept)"
    tables = []
    for epochs in sorted(per_epoch):
        slot = per_epoch[epochs]
        specs = [MetricSpec("accuracy", "cifar10", split, epochs, source=source, aggregate="mean of repeats")
                 for split in ("train", "valid", "test")]
        specs.append(MetricSpec("train_time", "cifar10", "train", epochs, unit="s", source=source,
                                aggregate="mean of repeats"))
        acc = Accumulator("nb101", specs)
        acc.add_rows(slot["ids"], {spec.key: np.asarray(slot[name], dtype=np.float64)
                                   for spec, name in zip(specs, ("train", "valid", "test", "time"), strict=True)})
        tables.append(acc.table())
    params_spec = MetricSpec("params", "cifar10", unit="M", source=f"NAS-Bench-101 {path.name}: trainable_parameters")
    acc = Accumulator("nb101", [params_spec])
    acc.add_rows(list(params), {params_spec.key: np.fromiter(params.values(), dtype=np.float64)})
    table = acc.table()
    for other in tables:
        table = table.merged_with(other)
    entry = provenance_entry("nb101", [path], table.metrics, len(table),
                             notes=f"{sum(len(s['ids']) for s in per_epoch.values()):,} records; epochs "
                                   f"{sorted(per_epoch)}; {checked} module hashes re-computed and matched")
    table.provenance = [entry]
    table._version = None
    return table
