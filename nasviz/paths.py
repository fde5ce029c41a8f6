"""Where nasviz keeps its data.

- ``NASVIZ_HOME``: nasviz's own store (imported tables, caches, run database). Defaults to a
  per-user data directory.
- ``NASVIZ_DATA``: a folder of *source* benchmark files to import from (tests and benchmarks use
  ``../shared/data``). Optional.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_ROOT.parent
ASSETS_DIR = PROJECT_ROOT / "assets"
MODELS_DIR = PROJECT_ROOT / "models"


def home_dir() -> Path:
    """nasviz's data home, created on first use."""
    env = os.environ.get("NASVIZ_HOME")
    if env:
        path = Path(env).expanduser()
    else:
        base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        path = Path(base) / "nasviz"
    path.mkdir(parents=True, exist_ok=True)
    return path


def source_data_dir() -> Path | None:
    """The folder of source benchmark files named by ``NASVIZ_DATA``, if it exists."""
    env = os.environ.get("NASVIZ_DATA")
    if not env:
        return None
    path = Path(env).expanduser()
    return path if path.is_dir() else None
