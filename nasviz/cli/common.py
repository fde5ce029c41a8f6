"""Helpers shared by CLI commands: JSON/human output and clean error exits."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import typer

from nasviz.errors import ConfigError, NasvizError
from nasviz.spaces.base import preview

F = TypeVar("F", bound=Callable[..., Any])

JSON_OPTION = typer.Option(False, "--json", help="Print machine-readable JSON.")


def emit(obj: Any, as_json: bool, human: Callable[[Any], str] | None = None) -> None:
    """Print ``obj`` as JSON (one document) or through ``human`` formatting."""
    if as_json or human is None:
        typer.echo(json.dumps(obj, default=_json_default))
    else:
        typer.echo(human(obj))


def emit_jsonl(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, default=_json_default) + "\n")


def _json_default(value: Any) -> Any:
    try:
        import numpy as np

        if isinstance(value, np.generic):
            return value.item()
        if isinstance(value, np.ndarray):
            return value.tolist()
    except ImportError:  # pragma: no cover
        pass
    if hasattr(value, "__fspath__"):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


#: set to 1 (or pass ``nasviz --debug``) to see the traceback of an unexpected error instead of one line
DEBUG_ENV = "NASVIZ_DEBUG"
#: the largest input file a command reads whole (one cell, or a JSONL batch read line by line is not capped)
MAX_INPUT_BYTES = 16 * 1024 * 1024


_debug_flag = False


def set_debug(enabled: bool) -> None:
    """Record ``nasviz --debug`` for this invocation."""
    global _debug_flag
    _debug_flag = bool(enabled)


def debug_enabled() -> bool:
    """Whether unexpected errors show their traceback (``NASVIZ_DEBUG=1`` or ``nasviz --debug``)."""
    return _debug_flag or os.environ.get(DEBUG_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def fail(message: str, code: int = 2) -> None:
    """Print ``nasviz: error: MESSAGE`` on stderr and exit with ``code``."""
    typer.echo(f"nasviz: error: {message}", err=True)
    raise typer.Exit(code)


def _current_command() -> str:
    """The command being run with the options it was given, e.g. ``nasviz cells describe --input=x.jsonl``."""
    try:
        from typer._click.globals import get_current_context  # typer vendors click; no public accessor

        ctx = get_current_context(silent=True)
    except ImportError:  # pragma: no cover - another typer layout
        ctx = None
    if ctx is None:
        return "nasviz"
    parts = ctx.command_path.split()
    words = ["nasviz", *parts[1:]]
    for param in ctx.command.params:
        value = ctx.params.get(param.name or "")
        if value in (None, False, (), []) or param.name == "as_json":
            continue
        flags = [opt for opt in getattr(param, "opts", []) if opt.startswith("--")]
        if not flags:  # an argument
            words.append(preview(value, 40))
            continue
        words.append(flags[0] if value is True else f"{flags[0]}={preview(value, 40)}")
    return " ".join(words)


def describe_os_error(exc: OSError) -> str:
    """A one-line reason for a failed file operation, naming the file."""
    name = exc.filename if exc.filename is not None else "the file"
    if isinstance(exc, FileNotFoundError):
        return f"file not found: {name}"
    if isinstance(exc, IsADirectoryError):
        return f"{name} is a directory, not a file"
    if isinstance(exc, NotADirectoryError):
        return f"{name}: a part of the path is not a folder"
    if isinstance(exc, PermissionError):
        return f"permission denied: {name}"
    return f"{name}: {exc.strerror or exc}"


@contextmanager
def clean_errors() -> Iterator[None]:
    """Turn any failure into one line ``nasviz: error: ...`` and exit code 2 (no traceback unless NASVIZ_DEBUG=1).

    nasviz errors print their message; file errors name the file; anything else names the command and its
    options (a bug: the message says how to get the traceback)."""
    try:
        yield
    except (typer.Exit, typer.Abort, typer.TyperException):
        raise  # exit codes, usage errors (shown by typer with the usage line)
    except NasvizError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(describe_os_error(exc))
    except MemoryError:
        fail(f"{_current_command()}: out of memory (is the input too large?)")
    except Exception as exc:
        if debug_enabled():
            raise
        reason = str(exc) if len(str(exc)) <= 200 else str(exc)[:200] + "..."
        fail(f"{_current_command()} failed: {type(exc).__name__}{': ' + reason if reason else ''} "
             f"(unexpected; run with NASVIZ_DEBUG=1 or --debug to see the traceback)")


def handles_errors(func: F) -> F:
    """Run a command under :func:`clean_errors` (every nasviz command is wrapped; tests check it)."""
    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with clean_errors():
            return func(*args, **kwargs)

    wrapper.handles_errors = True  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


def read_input_bytes(path: Path, what: str = "input", limit: int = MAX_INPUT_BYTES) -> bytes:
    """The bytes of an input file (``-``: stdin), at most ``limit``: clear errors for a folder, a missing or
    unreadable file and a file too large."""
    if str(path) == "-":
        data = sys.stdin.buffer.read(limit + 1)
    else:
        if path.is_dir():
            raise ConfigError(f"{what} {path} is a directory; give a file")
        with open(path, "rb") as fh:
            data = fh.read(limit + 1)
    if len(data) > limit:
        raise ConfigError(f"{what} {path} is larger than {limit:,} bytes")
    return data


def iter_input_lines(path: Path, what: str = "input") -> Iterator[tuple[int, str | None, str | None]]:
    """(line number, text, problem) of each non-blank line of a file (``-``: stdin), read in bounded pieces.

    A line that is not UTF-8 or holds more than a cell's worth of text is yielded with ``text`` None and its
    problem, so a batch command reports it and goes on; a folder or missing file raises at once."""
    from nasviz.spaces.base import MAX_CELL_TEXT

    if str(path) != "-" and path.is_dir():
        raise ConfigError(f"{what} {path} is a directory; give a file with one cell per line")
    handle = sys.stdin.buffer if str(path) == "-" else open(path, "rb")  # noqa: SIM115
    try:
        number = 0
        while True:
            raw = handle.readline(MAX_CELL_TEXT + 1)
            if not raw:
                return
            number += 1
            if len(raw) > MAX_CELL_TEXT and not raw.endswith(b"\n"):
                skipped = len(raw)
                while raw and not raw.endswith(b"\n"):  # skip the rest of the over-long line
                    raw = handle.readline(1 << 20)
                    skipped += len(raw)
                yield number, None, f"line is {skipped:,} bytes long; a cell is at most {MAX_CELL_TEXT:,}"
                continue
            try:
                text = raw.decode("utf-8-sig" if number == 1 else "utf-8").strip()
                if "\x00" in text:
                    raise UnicodeDecodeError("utf-8", raw, text.index("\x00"), text.index("\x00") + 1, "NUL byte")
            except UnicodeDecodeError as exc:
                if number == 1:  # a file that starts with binary data is not a text file at all
                    raise ConfigError(f"{what} {path} is a binary file, not text with one cell per line "
                                      f"(binary data at byte {exc.start} of line 1)") from None
                yield number, None, f"not UTF-8 text (binary data at byte {exc.start})"
                continue
            if text:
                yield number, text, None
    finally:
        if handle is not sys.stdin.buffer:
            handle.close()
