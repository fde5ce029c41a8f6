"""Crash-safe file writes shared by every store (benchmark tables, encoders, NAT policies, projections), size-capped
readers for user-given files (plain, zip member, bz2, JSON) and a lock file for read-modify-write updates."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from nasviz.errors import DataError


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a synced temporary file in the same folder and an atomic rename: readers
    never see a partial file, and a crash leaves the previous file intact. The result is readable by all (0644)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


# ---- capped readers: every loader of a user-given file reads through these ----------------------------------------

MIB = 1 << 20
GIB = 1 << 30
#: default limits (bytes) of the files nasviz reads; each loader passes its own where the format allows less
MAX_CSV_BYTES = 256 * MIB
#: a Parquet file may decode to at most this many bytes / rows (its footer says, before any column is read)
MAX_DECODED_BYTES = 4 * GIB
MAX_ROWS = 10_000_000
MAX_JSON_BYTES = 64 * MIB
MAX_PICKLE_BYTES = 256 * MIB
#: a zip member or bz2 stream inflating more than this many times its compressed size is refused as a bomb
MAX_INFLATE_RATIO = 200
_CHUNK = 1 << 20


def _human(n: int) -> str:
    return f"{n / MIB:,.1f} MB" if n >= MIB else f"{n:,} bytes"


def check_file_size(path: Path, max_bytes: int, what: str = "file") -> int:
    """The size of ``path``; DataError naming the file when it is larger than ``max_bytes``."""
    try:
        size = Path(path).stat().st_size
    except OSError as exc:
        raise DataError(f"{path}: cannot read the {what} ({exc.strerror or exc})") from None
    if size > max_bytes:
        raise DataError(f"{path}: {_human(size)} is larger than the {_human(max_bytes)} limit for a {what}; "
                        "is it the right file?")
    return size


def read_bytes_capped(path: Path, max_bytes: int, what: str = "file") -> bytes:
    """The bytes of ``path``, refused (before reading) when larger than ``max_bytes``; never reads more."""
    check_file_size(path, max_bytes, what)
    try:
        with open(path, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except IsADirectoryError:
        raise DataError(f"{path}: a folder, not a {what}") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read the {what} ({exc.strerror or exc})") from None
    if len(data) > max_bytes:  # the file grew while being read
        raise DataError(f"{path}: larger than the {_human(max_bytes)} limit for a {what}")
    return data


def read_stream_capped(stream: Any, max_bytes: int, source: str, what: str = "data") -> bytes:
    """Everything ``stream`` yields (a zip member, a bz2 stream), stopping with DataError as soon as it passes
    ``max_bytes``: memory stays bounded whatever the stream claims."""
    parts, total = [], 0
    while block := stream.read(_CHUNK):
        total += len(block)
        if total > max_bytes:
            raise DataError(f"{source}: the {what} inflates to more than {_human(max_bytes)}; refused (a corrupt "
                            "file or a decompression bomb)")
        parts.append(block)
    return b"".join(parts)


def read_zip_member(path: Path, name_suffix: str, max_bytes: int, what: str = "file") -> tuple[str, bytes]:
    """``(member name, bytes)`` of the first member of zip ``path`` ending with ``name_suffix``. Refused before
    inflating when its declared size passes ``max_bytes`` or its inflation ratio ``MAX_INFLATE_RATIO``, and read
    through a capped stream (a lying header cannot make it inflate further)."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            infos = [i for i in archive.infolist() if i.filename.endswith(name_suffix)]
            if not infos:
                raise DataError(f"{path}: a zip archive without {name_suffix}; expected a {what}")
            info = infos[0]
            _check_member(path, info, max_bytes)
            with archive.open(info) as member:
                return info.filename, read_stream_capped(member, max_bytes, f"{path}: {info.filename}", "zip member")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, NotImplementedError) as exc:
        raise DataError(f"{path}: corrupt zip archive ({exc})") from None


def _check_member(path: Path, info: Any, max_bytes: int) -> None:
    if info.file_size > max_bytes:
        raise DataError(f"{path}: member {info.filename} declares {_human(info.file_size)}, more than the "
                        f"{_human(max_bytes)} limit; refused before inflating it")
    if info.file_size > MIB and info.file_size > MAX_INFLATE_RATIO * max(info.compress_size, 1):
        raise DataError(f"{path}: member {info.filename} inflates {info.file_size / max(info.compress_size, 1):,.0f} "
                        f"times ({_human(info.compress_size)} -> {_human(info.file_size)}): a zip bomb; refused")


def check_zip_members(path: Path, max_total_bytes: int) -> None:
    """Refuse zip ``path`` (torch ``.pt``/``.pth``, ``.npz``) before a library inflates it: any member inflating
    more than ``MAX_INFLATE_RATIO`` times, or members declaring more than ``max_total_bytes`` in all."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as exc:
        raise DataError(f"{path}: corrupt zip archive ({exc})") from None
    for info in infos:
        _check_member(path, info, max_total_bytes)
    total = sum(i.file_size for i in infos)
    if total > max_total_bytes:
        raise DataError(f"{path}: its members declare {_human(total)}, more than the {_human(max_total_bytes)} "
                        "limit; refused before inflating them")


def read_bz2_capped(path: Path, max_bytes: int, what: str = "file") -> bytes:
    """The decompressed bytes of bz2 file ``path``, stopping as soon as they pass ``max_bytes`` or
    ``MAX_INFLATE_RATIO`` times the file's size (a bz2 bomb)."""
    import bz2

    size = Path(path).stat().st_size
    limit = min(max_bytes, max(MAX_INFLATE_RATIO * size, MIB))
    try:
        with bz2.open(path, "rb") as fh:
            return read_stream_capped(fh, limit, str(path), f"bz2 {what}")
    except (OSError, EOFError, ValueError) as exc:
        raise DataError(f"{path}: not a readable bz2-compressed {what} ({exc})") from None


def load_json_capped(path: Path, max_bytes: int = MAX_JSON_BYTES, what: str = "JSON file",
                     finite_only: bool = True) -> Any:
    """A JSON document from ``path``: size-capped before reading, nesting depth bounded by the parser's
    recursion guard, NaN/Infinity literals refused (unless not ``finite_only``: the caller checks each value);
    every failure a DataError naming the file."""
    import json

    data = read_bytes_capped(path, max_bytes, what)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a text {what} (binary content)") from None

    def refuse_constant(name: str) -> Any:
        raise DataError(f"{path}: holds {name}, which is not a finite number; use null for a missing value")

    try:
        return json.loads(text, parse_constant=refuse_constant if finite_only else None)
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: malformed JSON at line {exc.lineno}, column {exc.colno} ({exc.msg}); "
                        "the file may be truncated") from None
    except RecursionError:
        raise DataError(f"{path}: JSON nested too deeply; refused") from None


# ---- an exclusive lock held across a read-modify-write of one stored file ----------------------------------------

@contextmanager
def file_lock(target: Path, timeout: float = 600.0, what: str = "update") -> Iterator[None]:
    """Hold an exclusive lock on ``<target>.lock`` (beside ``target``): processes doing a read-modify-write of the
    same file serialise. DataError when another process keeps it longer than ``timeout`` seconds."""
    import time

    lock_path = target.with_name(target.name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # no fcntl (Windows): writes stay atomic, concurrent updates are not serialised
        yield
        return
    with open(lock_path, "a+b") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise DataError(f"another {what} of {target} has held {lock_path} for over {timeout:.0f} s; "
                                    "try again when it has finished") from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
