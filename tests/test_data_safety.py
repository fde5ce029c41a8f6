"""Hostile and damaged input files for ``nasviz data import``: each test repeats an attack from issue 18.

No code runs from a crafted pickle on the default path; a truncated or ragged file, or one with infinite values, is
refused before anything is written; concurrent imports into one table both land; zip/JSON/CSV/TFRecord sizes are
capped before anything is inflated or read.
"""

from __future__ import annotations

import bz2
import json
import math
import os
import pickle
import re
import shutil
import struct
import subprocess
import sys
import textwrap
import time
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from nasviz.cli.main import app
from nasviz.data import clear_cache, import_benchmark, load_table, table_path
from nasviz.errors import ConfigError, DataError
from nasviz.spaces.nb201 import NUM_CELLS, cell_from_index

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]
C10_200 = "accuracy/cifar10/test/200ep"


class _Marker:
    """Unpickling this object creates the file ``path`` (what a crafted benchmark file would do)."""

    def __init__(self, path: Path):
        self.path = str(path)

    def __reduce__(self):  # noqa: ANN204
        return (open, (self.path, "w"))


def _cli(*args: str) -> object:
    return runner.invoke(app, ["data", "import", *args, "--no-progress"])


def _torch_style_zip(path: Path, payload: bytes) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", payload)
        archive.writestr("archive/version", "3\n")
    return path


# ---- 1. no code from data files ------------------------------------------------------------------------------------

def _crafted_files(folder: Path, marker: Path) -> dict[str, Path]:
    """One crafted file per pickle-based importer, each running ``open(marker, 'w')`` when unpickled in full."""
    import pandas as pd

    files = {}
    files["hw-nas-bench"] = folder / "HW-NAS-Bench-v1_0.pickle"
    files["hw-nas-bench"].write_bytes(pickle.dumps({"nasbench201": {"cifar10": {"edgegpu_latency": _Marker(marker)}}}))
    frame = pd.DataFrame({"arch": [0], "cellstr": pd.Series([cell_from_index(0).arch_str], dtype=object),
                          "cifar10-test": [1.0], "note": pd.Series([_Marker(marker)], dtype=object)})
    frame.columns = pd.Index(list(frame.columns), dtype=object)  # object columns, as in the official (pandas 1) file
    files["mini-nb201"] = folder / "mini-bench-arch-cell-accs.pd"
    frame.to_pickle(files["mini-nb201"])
    files["nats-tss"] = folder / "NATS-tss-v1_0-3ffb9.pickle.pbz2"
    with bz2.open(files["nats-tss"], "wb") as fh:
        pickle.dump({"meta_archs": [cell_from_index(0).arch_str], "arch2infos": {0: _Marker(marker)},
                     "evaluated_indexes": [0]}, fh)
    files["help-latency"] = _torch_style_zip(folder / "pixel9.pt", pickle.dumps([_Marker(marker)] * 3, protocol=2))
    return files


def test_crafted_pickles_never_run_code_on_the_default_cli_path(tmp_path: Path) -> None:
    marker = tmp_path / "PWNED"
    for kind, path in _crafted_files(tmp_path, marker).items():
        if kind == "nats-tss":
            pytest.importorskip("nats_bench")
        result = _cli(kind, str(path))
        assert not marker.exists(), f"{kind}: the crafted pickle ran code"
        assert result.exit_code == 2, (kind, result.output)
        assert f"{path}: refuses to load io.open" in result.output, (kind, result.output)
        assert "Traceback" not in result.output
        if kind != "help-latency":  # the three official pickle formats say how to opt in
            assert "--trust" in result.output, (kind, result.output)
    assert not table_path("nb201").exists()


def test_crafted_nats_simple_directory_never_runs_code(tmp_path: Path) -> None:
    """The NATS API would unpickle each architecture file of a -simple directory in full: nasviz reads them."""
    pytest.importorskip("nats_bench")
    from data_fixtures import write_nats_simple

    marker = tmp_path / "PWNED"
    folder = write_nats_simple(tmp_path / "NATS-tss-v1_0-3ffb9-simple", [1, 2])
    with bz2.open(folder / "000002.pickle.pbz2", "wb") as fh:
        pickle.dump({"200": _Marker(marker)}, fh)
    result = _cli("nats-tss", str(folder))
    assert not marker.exists()
    assert result.exit_code == 2 and "000002.pickle.pbz2: refuses to load io.open" in result.output


def test_a_file_path_inside_a_benchmark_file_is_never_unpickled(tmp_path: Path) -> None:
    """Second stage: the APIs unpickle (in full) any file whose path stands where a results dict should be."""
    pytest.importorskip("nats_bench")
    marker = tmp_path / "PWNED"
    evil = tmp_path / "evil.pickle.pbz2"
    with bz2.open(evil, "wb") as fh:
        pickle.dump(_Marker(marker), fh)
    path = tmp_path / "NATS-tss-v1_0-3ffb9.pickle.pbz2"
    with bz2.open(path, "wb") as fh:
        pickle.dump({"meta_archs": [cell_from_index(0).arch_str], "arch2infos": {0: {"200": str(evil)}},
                     "evaluated_indexes": [0]}, fh)
    result = _cli("nats-tss", str(path))
    assert not marker.exists()
    assert result.exit_code == 2 and "architecture 0: results of '200' are a str" in result.output, result.output


def test_crafted_nb201_pth_never_runs_code(tmp_path: Path) -> None:
    pytest.importorskip("nas_201_api")
    import torch

    marker = tmp_path / "PWNED"
    path = tmp_path / "NAS-Bench-201-v1_1-096897.pth"
    torch.save({"meta_archs": [], "arch2infos": {0: _Marker(marker)}, "evaluated_indexes": [0]}, path)
    result = _cli("nb201", str(path))
    assert not marker.exists()
    assert result.exit_code == 2 and f"{path}: refused by the weights-only loader" in result.output
    assert "--trust" in result.output


def test_trust_runs_the_full_unpickler_and_help_explains_the_risk(tmp_path: Path) -> None:
    """--trust is the documented opt-in: it does run the file's code (here: creates the marker)."""
    marker = tmp_path / "PWNED"
    path = _crafted_files(tmp_path, marker)["hw-nas-bench"]
    result = _cli("hw-nas-bench", str(path), "--trust")
    assert marker.exists()  # exactly what --help warns about
    assert result.exit_code == 2  # and the result is still not a benchmark
    shown = runner.invoke(app, ["data", "import", "--help"], env={"COLUMNS": "1000"}).output
    help_text = " ".join(shown.replace("│", " ").split())
    assert "--trust" in help_text and "DANGER" in help_text and "runs any code" in help_text
    csv = tmp_path / "a.csv"
    csv.write_text("arch,acc\n0,1\n")
    with pytest.raises(ConfigError, match="--trust only concerns pickle-based files"):
        import_benchmark("csv", csv, trust=True, space="nb201", arch_col="arch", metrics=["acc:accuracy:cifar10"])


def test_real_mini_bench_imports_with_the_restricted_unpickler(source_data: Path) -> None:
    import pandas as pd

    path = source_data / "nasbench201" / "mini-bench-arch-cell-accs.pd"
    result = _cli("mini-nb201", str(path), "--json")
    assert result.exit_code == 0, result.output
    table = load_table("nb201")
    reference = pd.read_pickle(path)  # noqa: S301 - the official file, in a test, as the reference
    for index in (0, 6111, 15624):
        assert table.lookup(str(index), "accuracy/cifar10/test/12ep") == reference.loc[index, "cifar10-test"]
        assert table.lookup(str(index), "accuracy/ImageNet16-120/valid/12ep") == reference.loc[index, "imagenet-val"]
    assert "restricted unpickler (pandas)" in table.provenance[-1]["notes"]


# ---- 2. truncated and ragged files ---------------------------------------------------------------------------------

def _line_start(data: bytes, line: int) -> int:
    """Byte offset of 1-based ``line``."""
    pos = 0
    for _ in range(line - 1):
        pos = data.index(b"\n", pos) + 1
    return pos


def test_truncated_nb201_merged_never_overwrites_a_good_table(nb201_csv: Path, tmp_path: Path) -> None:
    assert _cli("nb201-merged", str(nb201_csv)).exit_code == 0
    assert load_table("nb201").lookup("5000", C10_200) == pytest.approx(93.435)
    data = nb201_csv.read_bytes()
    row = _line_start(data, 5002)  # the row of index 5000 ("5000,|arch|,93.435,...")
    assert data[row:row + 5] == b"5000,"
    value = data.index(b",93.435,", row) + 1
    cut_in_number = tmp_path / "cut_in_number.csv"
    cut_in_number.write_bytes(data[:value + 2])  # "...,93" : the file ends inside the number
    short_last_row = tmp_path / "short_last_row.csv"
    short_last_row.write_bytes(data[:value + 6] + b"\r\n")  # "...,93.435" then the row ends
    fewer_rows = tmp_path / "fewer_rows.csv"
    fewer_rows.write_bytes(data[:row])  # whole rows, 5,000 of them
    for path, message in ((cut_in_number, "line 5002: the file does not end with a newline"),
                          (short_last_row, "line 5002: 3 field(s) where the header has 39: a short row"),
                          (fewer_rows, "5,000 rows; nb201_merged.csv has one per NB201 architecture")):
        result = _cli("nb201-merged", str(path))
        assert result.exit_code == 2, result.output
        assert f"{path}: {message}" in " ".join(result.output.split()), result.output
        clear_cache()
        assert load_table("nb201").lookup("5000", C10_200) == pytest.approx(93.435)


def test_csv_rows_must_match_the_header(tmp_path: Path) -> None:
    arch = cell_from_index(6111).arch_str
    options = {"space": "nb201", "arch_col": "arch", "metrics": ["acc:accuracy:cifar10:test:200", "lat:latency:pixel3"]}
    cases = {"short.csv": (f"arch,acc,lat\n0,1.0,2.0\n{arch},3.0\n", "line 3: 2 field(s) where the header has 3"),
             "long.csv": (f"arch,acc,lat\n0,1.0,2.0,9\n{arch},3.0,1\n", "line 2: 4 field(s)"),
             "cut.csv": (f"arch,acc,lat\n0,1.0,2.0\n{arch},3.0,1.2", "line 3: the file does not end with a newline")}
    for name, (content, message) in cases.items():
        path = tmp_path / name
        path.write_text(content)
        with pytest.raises(DataError, match=re.escape(f"{name}: {message}")):
            import_benchmark("csv", path, **options)
    assert not table_path("nb201").exists()
    good = tmp_path / "good.csv"  # blank lines are skipped, an empty cell is "not measured"
    good.write_text(f"arch,acc,lat\n0,1.0,\n\n{arch},3.0,1.5\n")
    import_benchmark("csv", good, **options)
    table = load_table("nb201")
    assert table.lookup("6111", "accuracy/cifar10/test/200ep") == 3.0 and math.isnan(table.lookup("0", "latency/pixel3"))


def test_nb201_merged_needs_every_column_and_value(nb201_csv: Path, tmp_path: Path) -> None:
    lines = nb201_csv.read_text().splitlines(keepends=True)
    header = lines[0].rstrip("\r\n").split(",")
    blank = tmp_path / "blank.csv"
    row = lines[101].split(",")
    row[2] = ""
    blank.write_text("".join(lines[:101] + [",".join(row)] + lines[102:]))
    with pytest.raises(DataError, match=r"blank.csv: line 102, column 'c10_test_200ep': '' is an empty value"):
        import_benchmark("nb201-merged", blank)
    dropped = tmp_path / "dropped.csv"
    keep = [i for i, name in enumerate(header) if name != "params_M_c100"]
    dropped.write_text("".join(",".join(line.rstrip("\r\n").split(",")[i] for i in keep) + "\n" for line in lines))
    with pytest.raises(DataError, match="dropped.csv: missing column.*'params_M_c100'"):
        import_benchmark("nb201-merged", dropped)
    assert not table_path("nb201").exists()


# ---- 3. non-finite values ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["inf", "-inf", "1e400", "-1E999", "Infinity"])
def test_csv_refuses_infinite_values(tmp_path: Path, value: str) -> None:
    path = tmp_path / "inf.csv"
    path.write_text(f"arch,acc\n0,91.0\n6111,{value}\n")
    with pytest.raises(DataError, match=f"inf.csv: line 3, column 'acc': '{value}' is not a finite number"):
        import_benchmark("csv", path, space="nb201", arch_col="arch", metrics=["acc:accuracy:cifar10:test:200"])
    assert not table_path("nb201").exists()


@pytest.mark.usefixtures("no_embedded_tables")
def test_nan_is_not_measured(tmp_path: Path) -> None:
    path = tmp_path / "nan.csv"
    path.write_text("arch,acc\n0,91.0\n6111,nan\n5,NA\n")
    import_benchmark("csv", path, space="nb201", arch_col="arch", metrics=["acc:accuracy:cifar10:test:200"])
    table = load_table("nb201")
    assert table.coverage("accuracy/cifar10/test/200ep") == 1 and math.isnan(table.lookup("6111", table.keys[0]))


def test_parquet_refuses_infinite_values(tmp_path: Path) -> None:
    import pandas as pd

    path = tmp_path / "inf.parquet"
    pd.DataFrame({"arch": [0, 6111], "acc": [91.0, np.inf]}).to_parquet(path)
    with pytest.raises(DataError, match="inf.parquet: line 2, column 'acc': .*not a finite number"):
        import_benchmark("parquet", path, space="nb201", arch_col="arch", metrics=["acc:accuracy:cifar10:test:200"])


def _naslib(folder: Path, accuracy: str, proxy: str = "1.0") -> Path:
    key = "(1, 2, 3, 4, 0, 1)"
    path = folder / "zc_nasbench201.json"
    path.write_text(f'{{"cifar10": {{"{key}": {{"val_accuracy": {accuracy}, "nwot": {{"score": {proxy}, '
                    '"time": 0.1}}}}')
    return path


@pytest.mark.parametrize("value", ["Infinity", "-Infinity", "1e400"])
def test_naslib_refuses_infinite_accuracy(tmp_path: Path, value: str) -> None:
    path = _naslib(tmp_path, value)
    with pytest.raises(DataError, match="zc_nasbench201.json: cifar10 entry .*field 'val_accuracy' = .*inf.* is not "
                                        "a finite number"):
        import_benchmark("naslib-nb201", path)


@pytest.mark.usefixtures("no_embedded_tables")
def test_naslib_failed_proxy_is_missing_not_infinite(tmp_path: Path, source_data: Path) -> None:
    import_benchmark("naslib-nb201", _naslib(tmp_path, "91.5", "-Infinity"))
    table = load_table("nb201")
    assert math.isnan(table.values("zc_nwot/cifar10")[0]) and table.values("accuracy/cifar10/valid/200ep")[0] == 91.5
    assert "1 nwot score(s) were infinite" in table.provenance[-1]["notes"]
    import_benchmark("naslib-nb201", source_data / "nasbench201" / "naslib_zc_nasbench201_725.json", replace=True)
    table = load_table("nb201")  # the real file has three -Infinity nwot scores
    assert all(np.isfinite(table.values(k)[~np.isnan(table.values(k))]).all() for k in table.keys)
    assert "3 nwot score(s) were infinite" in table.provenance[-1]["notes"]


def test_help_and_hwnas_refuse_infinite_values(tmp_path: Path) -> None:
    values = [1.0] * NUM_CELLS
    values[7] = math.inf
    with pytest.raises(DataError, match="pixel3.pt: index 7: value inf is not a finite number"):
        import_benchmark("help-latency", _torch_style_zip(tmp_path / "pixel3.pt", pickle.dumps(values, protocol=2)))
    path = tmp_path / "hw.pickle"
    path.write_bytes(pickle.dumps({"nasbench201": {"cifar10": {"edgegpu_latency": [1.0, -math.inf, 2.0]}}}))
    with pytest.raises(DataError, match="hw.pickle: nasbench201/cifar10/edgegpu_latency: index 1: value -inf"):
        import_benchmark("hw-nas-bench", path)
    assert not table_path("nb201").exists()


def test_every_importer_table_is_finite() -> None:
    """The last guard, shared by every importer: an infinite value never reaches a table."""
    from nasviz.data.importers.common import Accumulator
    from nasviz.data.metrics import MetricSpec

    acc = Accumulator("nb201", [MetricSpec("accuracy", "cifar10", "test", 200)])
    acc.add("6111", {"accuracy/cifar10/test/200ep": math.inf})
    with pytest.raises(DataError, match="metric accuracy/cifar10/test/200ep: cell 6111: value inf is not a finite number"):
        acc.table()


# ---- 4. concurrent imports into one table ----------------------------------------------------------------------------

_WORKER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    import nasviz.data.importers as importers
    from nasviz.data import import_benchmark

    csv, metric, go = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    original = importers.save_table

    def slow_save(table):  # widen the window between reading the stored table and saving the merge
        time.sleep(1.0)
        return original(table)

    importers.save_table = slow_save
    Path(sys.argv[4]).touch()  # ready
    while not go.exists():
        time.sleep(0.01)
    import_benchmark("csv", Path(csv), space="nb201", arch_col="arch", metrics=[metric])
""")


def test_concurrent_imports_into_one_table_both_land(tmp_path: Path, isolated_home: Path) -> None:
    files = {}
    for name, column, base in (("acc", "acc:accuracy:cifar10:test:200", 90.0), ("lat", "lat:latency:pixel3", 5.0)):
        path = tmp_path / f"{name}.csv"
        path.write_text(f"arch,{name}\n" + "".join(f"{i},{base + i}\n" for i in range(5)))
        files[name] = (path, column)
    go = tmp_path / "go"
    env = {**os.environ, "NASVIZ_HOME": str(isolated_home), "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-c", _WORKER, str(path), column, str(go), str(tmp_path / f"ready_{n}")],
                              env=env, stderr=subprocess.PIPE, text=True) for n, (path, column) in files.items()]
    deadline = time.monotonic() + 120
    while not all((tmp_path / f"ready_{n}").exists() for n in files) and time.monotonic() < deadline:
        time.sleep(0.05)
    go.touch()
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    clear_cache()
    table = load_table("nb201")
    assert {"accuracy/cifar10/test/200ep", "latency/pixel3"} <= set(table.keys)  # merged onto the embedded table
    assert table.lookup("4", "accuracy/cifar10/test/200ep") == 94.0 and table.lookup("4", "latency/pixel3") == 9.0
    assert sum(1 for entry in table.provenance if not entry.get("embedded")) == 2, table.provenance


# ---- 5. size limits --------------------------------------------------------------------------------------------------

def _zip_bomb(path: Path, member: str, inflated: int) -> Path:
    """A real zip whose one deflated member inflates to ``inflated`` bytes of zeros (~1/1000 of that on disk),
    written by hand so that building it does not cost the time of compressing it (its CRC is never reached)."""
    chunk = 1 << 24
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = compressor.compress(bytes(chunk)) + compressor.flush(zlib.Z_FULL_FLUSH)
    repeat = compressor.compress(bytes(chunk)) + compressor.flush(zlib.Z_FULL_FLUSH)  # identical after a full flush
    body = first + repeat * (inflated // chunk - 1) + compressor.flush()
    size = (inflated // chunk) * chunk
    name = member.encode()
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, 0, len(body), size, len(name), 0) + name
    central = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0x21, 0, len(body), size, len(name),
                          0, 0, 0, 0, 0, 0) + name
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central), len(local) + len(body), 0)
    path.write_bytes(local + body + central + end)
    return path


_MEASURE = textwrap.dedent("""
    import resource, sys
    from nasviz.data import import_benchmark
    from nasviz.errors import DataError
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        import_benchmark(sys.argv[1], sys.argv[2])
        print("IMPORTED")
    except DataError as exc:
        print("ERROR", exc)
    print("RSS_DELTA_MB", (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024)
""")


def test_zip_bomb_pt_is_refused_before_inflating(tmp_path: Path, isolated_home: Path) -> None:
    bomb = _zip_bomb(tmp_path / "pixel3.pt", "archive/data.pkl", 1_500_000_000)
    assert bomb.stat().st_size < 2_000_000
    with zipfile.ZipFile(bomb) as archive:
        assert archive.infolist()[0].file_size > 1_400_000_000
    env = {**os.environ, "NASVIZ_HOME": str(isolated_home), "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", _MEASURE, "help-latency", str(bomb)], env=env, capture_output=True,
                         text=True, timeout=120).stdout
    assert f"ERROR {bomb}: member archive/data.pkl declares" in out and "refused before inflating" in out, out
    assert float(out.split("RSS_DELTA_MB")[1]) < 200, out


def test_zip_bomb_torch_checkpoint_is_refused(tmp_path: Path) -> None:
    pytest.importorskip("nas_201_api")
    bomb = _zip_bomb(tmp_path / "NAS-Bench-201-v1_1-096897.pth", "archive/data.pkl", 400_000_000)
    with pytest.raises(DataError, match="inflates .* times .*a zip bomb; refused"):
        import_benchmark("nb201", bomb)


def test_json_size_and_depth_are_capped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from nasviz.data.importers import naslib

    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(DataError, match="deep.json: JSON nested too deeply"):
        import_benchmark("naslib-nb201", deep)
    path = _naslib(tmp_path, "91.0")
    monkeypatch.setattr(naslib, "MAX_JSON_BYTES", 64)
    with pytest.raises(DataError, match="zc_nasbench201.json: .* is larger than the 64 bytes limit"):
        import_benchmark("naslib-nb201", path)


def test_csv_size_is_capped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from nasviz.data.importers import tabular

    path = tmp_path / "big.csv"
    path.write_text("arch,acc\n" + "0,1.0\n" * 100)
    monkeypatch.setattr(tabular, "MAX_CSV_BYTES", 256)
    with pytest.raises(DataError, match="big.csv: 609 bytes is larger than the 256 bytes limit"):
        import_benchmark("csv", path, space="nb201", arch_col="arch", metrics=["acc:accuracy:cifar10"])


def test_parquet_decoded_size_is_capped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Parquet file of one repeated value is tiny on disk and large in memory: its footer is checked first."""
    import pandas as pd

    from nasviz.data.importers import tabular

    path = tmp_path / "rle.parquet"
    pd.DataFrame({"arch": np.zeros(200_000, dtype=np.int64), "acc": np.ones(200_000)}).to_parquet(path)
    assert path.stat().st_size < 50_000
    monkeypatch.setattr(tabular, "MAX_DECODED_BYTES", 1_000_000)
    with pytest.raises(DataError, match="rle.parquet: 200,000 rows, .* MB once decoded: more than the limits"):
        import_benchmark("parquet", path, space="nb201", arch_col="arch", metrics=["acc:accuracy:cifar10"])


def test_tfrecord_record_length_is_capped(tmp_path: Path) -> None:
    from nasviz.data.importers.nb101 import crc32c, mask_crc

    path = tmp_path / "nasbench_only108.tfrecord"
    header = struct.pack("<Q", 50_000_000)
    with open(path, "wb") as fh:
        fh.write(header + struct.pack("<I", mask_crc(crc32c(header))))
        fh.truncate(50_000_100)  # sparse: the claimed record fits in the file
    with pytest.raises(DataError, match="record 0 at byte 0 claims 50,000,000 bytes, more than the 1,048,576-byte "
                                        "limit"):
        import_benchmark("nb101", path)


# ---- 8. help-latency file lists ----------------------------------------------------------------------------------------

def test_help_file_list_skips_the_index_map(source_data: Path, tmp_path: Path) -> None:
    folder = source_data / "nasbench201" / "help_latency_pt"
    files = [folder / "str_arch2idx.pt", folder / "pixel3.pt", folder / "raspi4.pt"]  # what DIR/*.pt expands to
    result = _cli("help-latency", *map(str, files), "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert sorted(summary["metrics_imported"]) == ["latency/pixel3/cifar10", "latency/raspi4/cifar10"]
    assert summary["skipped"][0]["path"].endswith("str_arch2idx.pt")
    shown = _cli("help-latency", str(folder / "str_arch2idx.pt"), str(folder / "pixel2.pt"))
    assert shown.exit_code == 0 and "skipped" in shown.output and "index map" in shown.output
    only_map = _cli("help-latency", str(folder / "str_arch2idx.pt"))
    assert only_map.exit_code == 2 and "index map, not a latency file" in only_map.output
    copy = shutil.copy(folder / "pixel3.pt", tmp_path / "pixel3.pt")
    assert load_table("nb201").lookup("0", "latency/pixel3/cifar10") == pytest.approx(3.60585)
    assert Path(copy).exists()
