"""Restricted unpicklers for benchmark files that should hold only data: no pickle runs code by default.

A pickle is a program: unpickling calls whatever global it names. :func:`loads_restricted` calls only the globals of
an allow-list (a *profile*) and refuses any other global, and any persistent id (e.g. a torch tensor), with a
:class:`DataError` naming the file and the refused global:

- ``plain``: builtin containers and numbers (and ``collections.OrderedDict``);
- ``numpy``: plus numpy arrays, dtypes and scalars (rebuilt from raw bytes);
- ``pandas``: plus the reconstructors of a DataFrame of numpy blocks with a plain / range index (what
  ``DataFrame.to_pickle`` writes for numeric and string columns, e.g. mini-NAS-Bench-201's ``.pd`` file).

Every allowed callable only builds containers, arrays or frames from its arguments (which are themselves limited to
allowed objects), so a crafted file can make a wrong table, never run code. :func:`loads_trusted` is the full
unpickler, used only when the user passes ``--trust`` for a file from a source they trust.
"""

from __future__ import annotations

import importlib.util
import io
import pickle
import zipfile
from pathlib import Path
from typing import Any

from nasviz.errors import DataError
from nasviz.fileio import MAX_PICKLE_BYTES, MIB, read_bytes_capped, read_zip_member

_BUILTINS = ("set", "frozenset", "complex", "slice", "range")
_PLAIN = ({("collections", "OrderedDict")} | {("builtins", n) for n in _BUILTINS}
          | {("__builtin__", n) for n in _BUILTINS} | {("__builtin__", "xrange")})  # protocol-2 names
_NUMPY = {(f"numpy.{core}.{module}", name) for core in ("core", "_core")
          for module, name in (("multiarray", "_reconstruct"), ("multiarray", "scalar"), ("numeric", "_frombuffer"))
          } | {("numpy", "ndarray"), ("numpy", "dtype")}
_PANDAS = {("pandas.core.frame", "DataFrame"), ("pandas", "DataFrame"), ("pandas.core.internals.managers", "BlockManager"),
           ("pandas._libs.internals", "_unpickle_block"), ("pandas.core.indexes.base", "_new_Index"),
           ("pandas.core.indexes.base", "Index"), ("pandas", "Index"), ("pandas.core.indexes.range", "RangeIndex"),
           ("pandas", "RangeIndex")}
_NUMPY_2 = importlib.util.find_spec("numpy._core") is not None
PROFILES: dict[str, frozenset[tuple[str, str]]] = {
    "plain": frozenset(_PLAIN), "numpy": frozenset(_PLAIN | _NUMPY), "pandas": frozenset(_PLAIN | _NUMPY | _PANDAS)}
TRUST_HINT = ("if this file comes from a source you trust (e.g. its SHA-256 matches the publisher's), re-run the "
              "import with --trust to unpickle it in full (a crafted pickle can run any code)")
_WHAT = {"plain": "plain lists, dicts and numbers", "numpy": "lists, dicts, numbers and numpy arrays",
         "pandas": "pandas DataFrames of numbers and strings"}


class _Restricted(pickle.Unpickler):
    def __init__(self, handle: Any, source: str, profile: str, hint: str):
        super().__init__(handle)
        self.source = source
        self.profile = profile
        self.allowed = PROFILES[profile]
        self.hint = hint

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self.allowed:
            if module.startswith("numpy.core.") and _NUMPY_2:  # numpy 1 pickles name numpy.core (renamed _core)
                module = "numpy._core." + module.removeprefix("numpy.core.")
            return super().find_class(module, name)
        raise DataError(f"{self.source}: refuses to load {module}.{name}: only {_WHAT[self.profile]} are accepted "
                        f"in this file, and unpickling anything else could run code{self.hint}")

    def persistent_load(self, pid: Any) -> Any:
        raise DataError(f"{self.source}: holds tensors or other objects (persistent id {str(pid)[:40]}); "
                        f"expected {_WHAT[self.profile]}")


def loads_restricted(data: bytes, source: str, profile: str = "plain", trust_hint: bool = False) -> Any:
    """Unpickle ``data`` calling only the globals of ``profile``; DataError naming ``source`` otherwise.
    ``trust_hint``: the refusal message says how to opt in with ``--trust``."""
    hint = f"; {TRUST_HINT}" if trust_hint else ""
    try:
        return _Restricted(io.BytesIO(data), source, profile, hint).load()
    except DataError:
        raise
    except RecursionError:
        raise DataError(f"{source}: pickle nested too deeply; refused") from None
    except Exception as exc:  # noqa: BLE001 - any failure of an allowed reconstructor means a corrupt file
        raise DataError(f"{source}: corrupt or truncated pickle ({type(exc).__name__}: {str(exc)[:200]})") from None


def loads_plain(data: bytes, source: str, allow_numpy: bool = False) -> Any:
    """:func:`loads_restricted` with the ``plain`` (or ``numpy``) profile."""
    return loads_restricted(data, source, "numpy" if allow_numpy else "plain")


def loads_trusted(data: bytes, source: str) -> Any:
    """The FULL unpickler: runs whatever code the pickle names. Only for ``--trust`` (a file the user vouches for)."""
    try:
        return pickle.loads(data)  # noqa: S301 - the user passed --trust for this file
    except Exception as exc:  # noqa: BLE001 - a trusted file that fails to unpickle is a corrupt file
        raise DataError(f"{source}: corrupt or truncated pickle ({type(exc).__name__}: {str(exc)[:200]})") from None


def read_pickle_bytes(path: Path, max_bytes: int = MAX_PICKLE_BYTES, what: str = "pickle file") -> bytes:
    """The pickle bytes of ``path``: the file itself, or the ``data.pkl`` member of a torch ``.pt`` zip archive
    (refused before inflating when it declares more than ``max_bytes`` or inflates like a zip bomb)."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if path.is_dir():
        raise DataError(f"{path}: a folder, not a {what}")
    if zipfile.is_zipfile(path):
        return read_zip_member(path, "data.pkl", max_bytes, "torch .pt file of plain lists")[1]
    data = read_bytes_capped(path, max_bytes, what)
    if not data.startswith(b"\x80"):
        raise DataError(f"{path}: not a pickle or torch .pt file")
    return data


def load_plain(path: Path, allow_numpy: bool = False, max_bytes: int = 64 * MIB) -> Any:
    """Plain data from a pickle file, or from a torch ``.pt`` zip archive holding a plain pickle."""
    return loads_plain(read_pickle_bytes(path, max_bytes), str(path), allow_numpy)


def load_restricted(path: Path, profile: str, max_bytes: int = MAX_PICKLE_BYTES, trust: bool = False,
                    what: str = "pickle file") -> tuple[Any, str]:
    """``(object, how it was loaded)`` from pickle ``path``: the restricted unpickler of ``profile``; with
    ``trust`` (the user's ``--trust``) the full unpickler when the restricted one refuses a global."""
    data = read_pickle_bytes(path, max_bytes, what)
    try:
        return loads_restricted(data, str(path), profile, trust_hint=not trust), f"restricted unpickler ({profile})"
    except DataError as exc:
        if not trust or "refuses to load" not in str(exc) and "persistent id" not in str(exc):
            raise
    return loads_trusted(data, str(path)), "full unpickler (--trust)"
