"""The first hour, offline: a fresh NASVIZ_HOME, no NASVIZ_DATA, no network but loopback; ``bash scripts/setup.sh
run`` then a latency-constrained NB201 search from the Search page finishes in Chromium (on the embedded table)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DRIVER = Path(__file__).with_name("first_run_driver.py")


def _offline_prefix() -> list[str]:
    """``unshare -n`` with the loopback device up (root only); otherwise the test skips with the reason."""
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("ip"):
        pytest.skip("needs root, unshare and ip to cut the network off (a network namespace with loopback only)")
    probe = subprocess.run(["unshare", "-n", "sh", "-c", "ip link set lo up"], capture_output=True, timeout=30)
    if probe.returncode != 0:
        pytest.skip(f"cannot create a network namespace here: {probe.stderr.decode(errors='replace').strip()}")
    return ["unshare", "-n", "sh", "-c", 'ip link set lo up && exec "$0" "$@"']


@pytest.mark.browser
@pytest.mark.slow
def test_fresh_install_offline_runs_a_constrained_search(tmp_path: Path) -> None:
    if not Path(os.environ.get("NASVIZ_CHROMIUM", "/usr/bin/chromium")).exists():
        pytest.skip("no Chromium at /usr/bin/chromium")
    pytest.importorskip("playwright")
    env = {k: v for k, v in os.environ.items() if k != "NASVIZ_DATA"}
    env["NASVIZ_HOME"] = str(tmp_path / "home")
    Path(env["NASVIZ_HOME"]).mkdir()
    result = subprocess.run([*_offline_prefix(), sys.executable, str(DRIVER), "30", "4"], env=env,
                            capture_output=True, text=True, timeout=600)
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    assert lines, f"driver printed nothing (rc {result.returncode}): {result.stderr[-3000:]}"
    seen = json.loads(lines[-1])
    assert "error" not in seen, seen
    assert seen["tracebacks"] == 0
    assert seen["finished"], seen["body"]
    assert "30 / 30" in seen["queries_text"]
    # nothing was imported: the search ran on the embedded table
    assert not (Path(env["NASVIZ_HOME"]) / "benchmarks" / "nb201.parquet").exists()
