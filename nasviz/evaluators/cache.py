"""A small SQLite cache of evaluation results, keyed by (space, canonical cell id, evaluator config)."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nasviz.errors import DataError
from nasviz.paths import home_dir

SCHEMA = """
CREATE TABLE IF NOT EXISTS evaluations (
    space TEXT NOT NULL,
    cell_id TEXT NOT NULL,
    config_key TEXT NOT NULL,
    evaluator TEXT NOT NULL,
    metric TEXT NOT NULL,
    value REAL NOT NULL,
    seconds REAL NOT NULL,
    extras TEXT NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (space, cell_id, config_key)
)
"""


@dataclass(frozen=True)
class CachedValue:
    value: float
    seconds: float
    extras: dict[str, Any]


def default_cache_path() -> Path:
    return home_dir() / "cache" / "evaluations.sqlite"


class EvalCache:
    """Evaluation results on disk. Safe to use from several threads of one process."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_cache_path()
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with closing(self._connect()) as conn, conn:
                conn.execute(SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise DataError(f"evaluation cache {self.path} is not a readable SQLite database: {exc}") from None

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30)

    def get_many(self, space: str, config_key: str, cell_ids: list[str]) -> dict[str, CachedValue]:
        """Cached values of the given cells (missing cells are absent from the result)."""
        found: dict[str, CachedValue] = {}
        unique = list(dict.fromkeys(cell_ids))
        with self._lock, closing(self._connect()) as conn:
            for start in range(0, len(unique), 500):
                chunk = unique[start:start + 500]
                marks = ",".join("?" * len(chunk))
                rows = conn.execute(
                    f"SELECT cell_id, value, seconds, extras FROM evaluations WHERE space=? AND config_key=? "
                    f"AND cell_id IN ({marks})", [space, config_key, *chunk]).fetchall()
                for cell_id, value, seconds, extras in rows:
                    found[cell_id] = CachedValue(float(value), float(seconds), json.loads(extras))
        return found

    def put(self, space: str, cell_id: str, config_key: str, evaluator: str, metric: str, value: float,
            seconds: float, extras: dict[str, Any]) -> None:
        with self._lock, closing(self._connect()) as conn, conn:
            conn.execute(
                "INSERT OR REPLACE INTO evaluations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (space, cell_id, config_key, evaluator, metric, float(value), float(seconds),
                 json.dumps(extras, sort_keys=True), time.time()))

    def count(self, space: str | None = None) -> int:
        with self._lock, closing(self._connect()) as conn:
            if space is None:
                return int(conn.execute("SELECT COUNT(*) FROM evaluations").fetchone()[0])
            return int(conn.execute("SELECT COUNT(*) FROM evaluations WHERE space=?", (space,)).fetchone()[0])

    def clear(self, space: str | None = None) -> int:
        """Delete cached results (of one space, or all); returns how many were deleted."""
        with self._lock, closing(self._connect()) as conn, conn:
            if space is None:
                return conn.execute("DELETE FROM evaluations").rowcount
            return conn.execute("DELETE FROM evaluations WHERE space=?", (space,)).rowcount
