"""A restricted unpickler for benchmark files that should hold only plain data.

``load_plain`` accepts builtin containers and numbers (plus ``collections.OrderedDict``); any other
global, and any persistent id (e.g. a torch tensor), raises :class:`DataError` naming the file.
``allow_numpy`` also accepts numpy arrays/scalars (reconstructed from raw bytes, no code run).
"""

from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path
from typing import Any

from nasviz.errors import DataError

_PLAIN = {("collections", "OrderedDict"), ("builtins", "set"), ("builtins", "frozenset"), ("builtins", "complex"),
          ("builtins", "slice"), ("builtins", "range")}
_NUMPY = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
          ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"), ("numpy", "ndarray"),
          ("numpy", "dtype"), ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer")}


class _Restricted(pickle.Unpickler):
    def __init__(self, handle: Any, source: str, allow_numpy: bool):
        super().__init__(handle)
        self.source = source
        self.allowed = _PLAIN | (_NUMPY if allow_numpy else set())

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self.allowed:
            return super().find_class(module, name)
        raise DataError(f"{self.source}: refuses to load {module}.{name}: only plain lists, dicts and numbers "
                        "are accepted in this file")

    def persistent_load(self, pid: Any) -> Any:
        raise DataError(f"{self.source}: holds tensors or other objects (persistent id {str(pid)[:40]}); "
                        "expected plain lists of numbers")


def loads_plain(data: bytes, source: str, allow_numpy: bool = False) -> Any:
    try:
        return _Restricted(io.BytesIO(data), source, allow_numpy).load()
    except DataError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, IndexError, KeyError, AttributeError,
            MemoryError, UnicodeDecodeError) as exc:
        raise DataError(f"{source}: corrupt or truncated pickle ({type(exc).__name__}: {exc})") from None


def load_plain(path: Path, allow_numpy: bool = False) -> Any:
    """Plain data from a pickle file, or from a torch ``.pt`` zip archive holding a plain pickle."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as archive:
                names = [n for n in archive.namelist() if n.endswith("data.pkl")]
                if not names:
                    raise DataError(f"{path}: a zip archive without data.pkl; expected a torch .pt file of plain lists")
                data = archive.read(names[0])
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise DataError(f"{path}: corrupt zip archive ({exc})") from None
    else:
        data = path.read_bytes()
        if not data.startswith(b"\x80"):
            raise DataError(f"{path}: not a pickle or torch .pt file")
    return loads_plain(data, str(path), allow_numpy)
