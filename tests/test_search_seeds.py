"""Seed lists are counted before they are built: a huge range is refused at once, without allocating."""

from __future__ import annotations

import time
import tracemalloc

import pytest
from typer.testing import CliRunner

from nasviz.cli.main import app
from nasviz.errors import ConfigError
from nasviz.search.jobs import MAX_SEEDS, parse_seeds


@pytest.mark.parametrize("text", ["0-999999", "0-9999999999999", "5, 0-9999999", "0-30, 31-60", "1" * 5000])
def test_huge_seed_ranges_are_refused_without_allocating(text):
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(ConfigError, match=f"at most {MAX_SEEDS} seeds"):
            parse_seeds(text)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - start < 0.5
    assert peak < 256 * 1024, peak


def test_seed_lists_and_ranges_still_parse():
    assert parse_seeds("0-4") == [0, 1, 2, 3, 4]
    assert parse_seeds(" 3, 1 ,3; 5-7") == [3, 1, 5, 6, 7]
    assert parse_seeds(f"0-{MAX_SEEDS - 1}") == list(range(MAX_SEEDS))
    for bad, message in [("-3", ">= 0"), ("4-2", "ranges like"), ("a", "ranges like"), ("", "at least one")]:
        with pytest.raises(ConfigError, match=message):
            parse_seeds(bad)


def test_cli_seed_count_is_checked_first():
    start = time.perf_counter()
    result = CliRunner().invoke(app, ["search", "--seeds", "10000000"])
    assert result.exit_code == 2 and "--seeds must be between 1 and 1,000" in result.stderr
    assert time.perf_counter() - start < 2
