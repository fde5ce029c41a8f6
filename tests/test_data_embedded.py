"""The NB201 table shipped in the package (nasviz/data/embedded/): used when nothing is imported, reported as
"embedded", bit-equal to the CSV import, replaced or merged by imports, and searches on it equal searches on the
imported table."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import tomllib
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from nasviz.cli.main import app
from nasviz.data import (
    available_tables,
    clear_cache,
    embedded_table_path,
    find_device_metric,
    has_table,
    import_benchmark,
    load_table,
    optimum,
    status,
    table_source,
)
from nasviz.data.store import EMBEDDED_DIR, read_table_file
from nasviz.errors import DataError

ROOT = Path(__file__).resolve().parents[1]
#: the data version of nb201_merged.csv imported with `nasviz data import nb201-merged` (also in the NAT manifests)
EMBEDDED_VERSION = "7680685eb314ee9c"
C10 = "accuracy/cifar10/test/200ep"
runner = CliRunner()


def _bits(values: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(values, dtype=np.float64).view(np.int64)


def test_embedded_table_is_used_when_nothing_is_imported() -> None:
    assert table_source("nb201") == "embedded" and has_table("nb201") and available_tables() == ["nb201"]
    table = load_table("nb201")
    assert len(table) == 15_625 and table.cell_ids == [str(i) for i in range(15_625)]
    assert table.data_version == EMBEDDED_VERSION
    best = optimum(table, C10)
    assert (best.cell_id, best.value) == ("6111", pytest.approx(94.373333))  # the published NB201 optimum
    for key in ("accuracy/cifar100/test/200ep", "accuracy/ImageNet16-120/test/200ep", "accuracy/cifar10/valid/12ep",
                "accuracy/cifar10/test/12ep", "params/cifar10"):
        assert table.coverage(key) == 15_625, key
    for device in ("pixel3", "raspi4", "1080ti_1", "titan_rtx_1", "gold_6226", "samsung_a50"):
        assert table.coverage(find_device_metric(table, device, "cifar10").key) == 15_625, device
    path = embedded_table_path("nb201")
    assert path is not None and path.stat().st_size < 3_000_000


@pytest.mark.usefixtures("no_embedded_tables")
def test_without_the_embedded_table_the_error_names_the_recommended_command() -> None:
    assert table_source("nb201") is None and not has_table("nb201") and available_tables() == []
    with pytest.raises(DataError, match="no benchmark table imported for nb201.*\n  nasviz data download hw-nas-bench"):
        load_table("nb201")


def test_status_reports_the_embedded_table_in_the_api_the_cli_and_json() -> None:
    rows = {r["benchmark"]: r for r in status()}
    nb201 = rows["nb201"]
    assert nb201["source"] == "embedded" and nb201["available"] and not nb201["imported"]
    assert nb201["rows"] == 15_625 and len(nb201["metrics"]) == 37 and nb201["data_version"] == EMBEDDED_VERSION
    (entry,) = nb201["provenance"]
    assert entry["embedded"] and "MIT" in entry["licence"] and entry["files"][0]["name"] == "nb201_merged.csv"
    assert "path" not in entry["files"][0] and "imported_at" not in entry  # nothing of the build machine
    assert {r["source"] for b, r in rows.items() if b != "nb201"} == {None}
    for row in rows.values():  # one recommended command each, copy-pasteable, none needing $NASVIZ_DATA
        command = row["import_recommended"]
        assert command.startswith("nasviz data ") and "$" not in command and "(" not in command and row["import_why"]
        assert all("(" not in a["command"] and "$" not in a["command"] for a in row["import_alternatives"])
        assert row["import_commands"][0] == command
    result = runner.invoke(app, ["data", "status"])
    assert result.exit_code == 0
    assert f"nb201  embedded: 15,625 cells, 37 metrics, data version {EMBEDDED_VERSION}" in result.stdout
    assert "embedded in nasviz, built from nb201_merged.csv; licence: MIT" in result.stdout
    assert "\n       nasviz data download hw-nas-bench\n" in result.stdout
    as_json = json.loads(runner.invoke(app, ["data", "status", "--json"]).stdout)
    assert as_json[0]["benchmark"] == "nb201" and as_json[0]["source"] == "embedded"


def test_every_shipped_column_is_bit_equal_to_the_csv_import(nb201_csv: Path) -> None:
    embedded = read_table_file(EMBEDDED_DIR / "nb201.parquet")
    result = import_benchmark("nb201-merged", nb201_csv, replace=True)
    assert result["data_version"] == EMBEDDED_VERSION
    clear_cache()
    imported = load_table("nb201")
    assert table_source("nb201") == "imported"
    assert imported.cell_ids == embedded.cell_ids
    assert [m.to_dict() for m in imported.metrics] == [m.to_dict() for m in embedded.metrics]
    for key in imported.keys:
        assert np.array_equal(_bits(imported.values(key)), _bits(embedded.values(key))), key
    assert imported.data_version == embedded.data_version == EMBEDDED_VERSION


def test_importing_the_same_csv_over_the_embedded_table_keeps_its_data_version(nb201_csv: Path) -> None:
    result = import_benchmark("nb201-merged", nb201_csv)  # merges onto the embedded table
    assert result["rows"] == 15_625 and len(result["metrics"]) == 37 and result["data_version"] == EMBEDDED_VERSION
    (entry,) = load_table("nb201").provenance  # the embedded entry is superseded by the import's
    assert not entry.get("embedded") and entry["files"][0]["name"] == "nb201_merged.csv"


def test_an_import_merges_onto_the_embedded_table_replace_replaces_and_remove_falls_back(tmp_path: Path) -> None:
    extra = tmp_path / "mine.csv"
    extra.write_text("arch,acc\n6111,95.5\n0,10.25\n|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|,50\n")
    options = {"space": "nb201", "arch_col": "arch", "metrics": ["acc:accuracy:cifar10:valid:200"]}
    embedded = load_table("nb201")
    merged_result = import_benchmark("csv", extra, **options)
    merged = load_table("nb201")
    assert table_source("nb201") == "imported" and merged_result["rows"] == 15_625
    assert len(merged.keys) == len(embedded.keys) + 1  # the user keeps every embedded metric
    for key in embedded.keys:
        assert np.array_equal(_bits(merged.values(key)), _bits(embedded.values(key))), key
    assert merged.lookup("6111", "accuracy/cifar10/valid/200ep") == 95.5 and merged.coverage(
        "accuracy/cifar10/valid/200ep") == 3
    assert merged.data_version != EMBEDDED_VERSION
    result = runner.invoke(app, ["data", "status"])
    assert "nb201  imported: 15,625 cells, 38 metrics" in result.stdout and "embedded in nasviz" in result.stdout
    replaced = import_benchmark("csv", extra, replace=True, **options)
    assert replaced["rows"] == 3 and replaced["metrics"] == ["accuracy/cifar10/valid/200ep"]
    assert len(load_table("nb201")) == 3
    result = runner.invoke(app, ["data", "remove", "nb201"])
    assert result.exit_code == 0
    assert result.stdout.strip() == "removed the imported nb201 table; nasviz uses the embedded table"
    assert table_source("nb201") == "embedded" and load_table("nb201").data_version == EMBEDDED_VERSION


def _search_json(args: list[str]) -> dict:
    result = runner.invoke(app, ["search", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _queried(run_id: int) -> list[tuple]:
    from nasviz.search.store import RunStore

    return [(q.cell_id, q.signal, json.dumps(q.reported, sort_keys=True), q.latency, q.feasible)
            for q in RunStore().queries(run_id)]


SEARCHES = [["--algo", "re", "--budget", "50"], ["--algo", "random", "--budget", "50"],
            ["--algo", "re", "--budget", "50", "--device", "pixel3", "--max-latency", "4"]]


def test_search_on_the_embedded_table_equals_search_on_the_imported_one(
        nb201_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    outcomes = {}
    for source in ("embedded", "imported"):
        monkeypatch.setenv("NASVIZ_HOME", str(tmp_path / source))
        clear_cache()
        if source == "imported":
            import_benchmark("nb201-merged", nb201_csv, replace=True)
        assert table_source("nb201") == source
        outcomes[source] = []
        for args in SEARCHES:
            document = _search_json([*args, "--seeds", "1", "--seed-start", "3"])
            outcomes[source].append((document, _queried(document["runs"][0]["run_id"])))
    for (doc_e, queries_e), (doc_i, queries_i) in zip(outcomes["embedded"], outcomes["imported"], strict=True):
        assert len(queries_e) == 50 and queries_e == queries_i  # the same cells with the same figures, in order
        assert doc_e == doc_i and doc_e["protocol"]["data_version"] == EMBEDDED_VERSION
    constrained = outcomes["embedded"][2][0]
    assert constrained["protocol"]["latency"] == "latency/pixel3/cifar10" and constrained["runs"][0]["latency"] <= 4
    assert all(q[3] is not None for q in outcomes["embedded"][2][1])


def test_constrained_search_runs_offline_through_the_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the search tried to reach the network")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    result = runner.invoke(app, ["search", "--space", "nb201", "--algo", "re", "--budget", "30", "--device", "pixel3",
                                 "--max-latency", "4"])
    assert result.exit_code == 0, result.output
    assert f"data version {EMBEDDED_VERSION}" in result.output and "feasibility ratio" in result.output
    assert "latency" in result.output and "ms" in result.output


def test_latent_maps_can_colour_by_accuracy_with_nothing_imported() -> None:
    from nasviz import latent

    choices = latent.metric_choices("nb201")
    assert latent.default_metric(choices).key == C10  # not params: the embedded table has accuracies
    assert {"accuracy/cifar100/test/200ep", "latency/pixel3/cifar10"} <= {c.key for c in choices}
    ids = ["6111", "0", "1462"]
    values = latent.metric_values("nb201", C10, ids)
    assert np.array_equal(values, load_table("nb201").lookup_many(ids, C10)) and values[0] == pytest.approx(94.373333)


def test_search_page_offers_a_search_with_nothing_imported() -> None:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "views" / "4_Search.py"), default_timeout=90).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not any("No benchmark table" in w.value for w in at.warning)
    assert at.selectbox(key="search_space").value == "nb201"


def _build(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {"PYTHONPATH": str(ROOT), "NASVIZ_HOME": str(home), "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "build_embedded_nb201.py"), *args], capture_output=True,
                          text=True, timeout=120, env=env)


def test_the_build_script_reproduces_the_shipped_file(nb201_csv: Path, tmp_path: Path) -> None:
    import pyarrow
    import pyarrow.parquet as pq

    out = tmp_path / "nb201.parquet"
    done = _build(tmp_path / "home", "--csv", str(nb201_csv), "--out", str(out))
    assert done.returncode == 0, done.stderr
    shipped = EMBEDDED_DIR / "nb201.parquet"
    assert read_table_file(out).data_version == read_table_file(shipped).data_version == EMBEDDED_VERSION
    writer = pq.ParquetFile(shipped).metadata.created_by
    if writer.endswith(f"version {pyarrow.__version__}"):  # the bytes depend on the writer's version only
        assert out.read_bytes() == shipped.read_bytes()
    check = _build(tmp_path / "home", "--csv", str(nb201_csv), "--check")
    assert check.returncode == 0 and f"== {EMBEDDED_VERSION}" in check.stdout, check.stdout + check.stderr
    bad = tmp_path / "other.csv"
    bad.write_text(nb201_csv.read_text()[:5000])
    refused = _build(tmp_path / "home", "--csv", str(bad), "--out", str(tmp_path / "x.parquet"))
    assert refused.returncode == 2 and "is not the known nb201_merged.csv" in refused.stderr
    assert not (tmp_path / "x.parquet").exists()


def test_the_embedded_files_are_package_data_and_tracked_by_git() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["nasviz.data"]
    assert {"embedded/*.parquet", "embedded/*.md"} <= set(patterns)
    assert (EMBEDDED_DIR / "SOURCES.md").read_text().count("MIT") >= 4
    try:
        listed = subprocess.run(["git", "ls-files", "nasviz/data/embedded"], cwd=ROOT, capture_output=True, text=True,
                                timeout=30, check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    assert {"nasviz/data/embedded/nb201.parquet", "nasviz/data/embedded/SOURCES.md"} <= set(listed)
    ignored = subprocess.run(["git", "check-ignore", "-q", "nasviz/data/embedded/nb201.parquet"], cwd=ROOT, timeout=30)
    assert ignored.returncode == 1


def test_a_corrupt_imported_table_is_reported_not_hidden_by_the_embedded_one(isolated_home: Path) -> None:
    broken = isolated_home / "benchmarks" / "nb201.parquet"
    broken.parent.mkdir(parents=True, exist_ok=True)
    broken.write_bytes(b"not parquet")
    assert table_source("nb201") == "imported"
    with pytest.raises(DataError, match="not a readable nasviz benchmark table"):
        load_table("nb201")
    result = runner.invoke(app, ["data", "status"])
    assert result.exit_code == 0 and "nb201  imported table unreadable (" in result.stdout
    assert runner.invoke(app, ["data", "remove", "nb201"]).exit_code == 0
    assert table_source("nb201") == "embedded" and len(load_table("nb201")) == 15_625
