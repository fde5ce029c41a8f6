"""Shared fixtures: the source benchmark folder (NASVIZ_DATA) and a throw-away NASVIZ_HOME."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def _source_data() -> Path | None:
    env = os.environ.get("NASVIZ_DATA")
    if env and Path(env).is_dir():
        return Path(env)
    fallback = Path(__file__).resolve().parents[2] / "shared" / "data"
    return fallback if fallback.is_dir() else None


@pytest.fixture(scope="session")
def source_data() -> Path:
    """The folder of real benchmark files; tests needing it skip with a reason when absent."""
    path = _source_data()
    if path is None:
        pytest.skip("benchmark source files not found: set NASVIZ_DATA to the shared/data folder")
    return path


@pytest.fixture(scope="session")
def nb201_csv(source_data: Path) -> Path:
    path = source_data / "nasbench201" / "nb201_merged.csv"
    if not path.exists():
        pytest.skip(f"{path} is missing")
    return path


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own NASVIZ_HOME so nothing leaks into the user's store."""
    home = tmp_path_factory.mktemp("nasviz_home")
    monkeypatch.setenv("NASVIZ_HOME", str(home))
    return home


@pytest.fixture
def no_embedded_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty store: the tables shipped in the package (nasviz/data/embedded/) are not used, for tests
    that check what an import stores on its own or what happens with no table at all."""
    from nasviz.data import store

    monkeypatch.setattr(store, "EMBEDDED_TABLES", {})
    store.clear_cache()
