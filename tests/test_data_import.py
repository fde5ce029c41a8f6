"""Importers: the shared real files (``source_data``) and small files built in the official formats."""

from __future__ import annotations

import bz2
import json
import pickle
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
from data_fixtures import nb201_merged_parquet

from nasviz.data import clear_cache, constrained_optimum, find_metric, import_benchmark, load_table, optimum, table_path
from nasviz.data.importers.nb101 import (
    crc32c,
    crc32c_many,
    decode_model_metrics,
    encode_model_metrics,
    encode_record,
    write_tfrecord,
)
from nasviz.data.importers.tabular import parse_metric_mapping
from nasviz.errors import ConfigError, DataError
from nasviz.paths import home_dir
from nasviz.spaces import get_space

C10 = "accuracy/cifar10/test/200ep"


@pytest.fixture(scope="module")
def nb201_parquet(tmp_path_factory: pytest.TempPathFactory, nb201_csv: Path) -> Path:
    """The nb201-merged import, done once per session (tests copy it into their own NASVIZ_HOME)."""
    return nb201_merged_parquet(nb201_csv, tmp_path_factory)


def _install(parquet: Path) -> None:
    target = home_dir() / "benchmarks"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(parquet, target / "nb201.parquet")
    clear_cache()


# ---- nb201_merged.csv -------------------------------------------------------------------------

def test_nb201_merged_semantics_and_known_optima(nb201_parquet: Path) -> None:
    _install(nb201_parquet)
    table = load_table("nb201")
    assert len(table) == 15625 and table.cell_ids[:3] == ["0", "1", "2"]
    best = optimum(table, C10)
    assert round(best.value, 2) == 94.37 and best.cell_id == "6111"
    assert round(optimum(table, "accuracy/cifar100/test/200ep").value, 2) == 73.51
    assert round(optimum(table, "accuracy/ImageNet16-120/test/200ep").value, 2) == 47.31
    assert round(optimum(table, "accuracy/cifar10/test/12ep").value, 2) == 89.16  # mini-bench, 12 epochs
    assert find_metric(table, "accuracy", "cifar10", "valid").epochs == 12
    assert table.metric("latency/pixel3/cifar10").unit == "ms"
    assert "HW-NAS-Bench" in table.metric("latency/pixel3/cifar10").source
    assert "latency/1080ti_32" in table.keys and "params/ImageNet16-120" in table.keys
    # params match the space's exact count
    cell = get_space("nb201").parse(6111)
    assert table.lookup("6111", "params/cifar10") == pytest.approx(get_space("nb201").cost(cell, "cifar10").params / 1e6,
                                                                   abs=1e-6)
    limited = constrained_optimum(table, C10, "latency/pixel3/cifar10", 5.0)
    assert limited.constraint_value <= 5.0 < best.value + 100 and limited.value < best.value


@pytest.mark.usefixtures("no_embedded_tables")  # checks what the import alone stores
def test_generic_csv_matches_the_preset(nb201_csv: Path, tmp_path: Path) -> None:
    subset = tmp_path / "subset.csv"
    lines = nb201_csv.read_text().splitlines()
    subset.write_text("\n".join(lines[:201]) + "\n")
    result = import_benchmark("csv", subset, space="nb201", arch_col="arch_str",
                              metrics=["c10_test_200ep:accuracy:cifar10:test:200", "lat_pixel3:latency:pixel3:cifar10",
                                       "params_M_c10=params/cifar10"])
    assert result["rows"] == 200
    table = load_table("nb201")
    assert table.lookup("1", C10) == pytest.approx(93.66)
    assert table.metric("latency/pixel3/cifar10").unit == "ms"


@pytest.mark.usefixtures("no_embedded_tables")  # checks what the import alone stores
def test_generic_csv_accepts_indexes_and_averages_repeats(tmp_path: Path) -> None:
    path = tmp_path / "runs.csv"
    path.write_text("idx,acc,seed\n6111,94.0,1\n6111,95.0,2\n7,80.5,1\n")
    import_benchmark("csv", path, space="nb201", arch_col="idx", metrics=["acc:accuracy:cifar10:valid:50"])
    table = load_table("nb201")
    assert table.lookup("6111", "accuracy/cifar10/valid/50ep") == 94.5
    assert sorted(table.repeat_values("accuracy/cifar10/valid/50ep")[table.row_of("6111")]) == [94.0, 95.0]
    assert "averaged" in table.provenance[0]["notes"]


def test_nb101_csv_with_hashes_or_cells(tmp_path: Path) -> None:
    space = get_space("nb101")
    cell = space.sample(1, seed=0)[0]
    module_hash = space.cell_id(cell)
    path = tmp_path / "nb101.csv"
    path.write_text(f"arch,acc\n{module_hash},91.5\n\"{json.dumps(space.to_json(cell)).replace(chr(34), chr(34) * 2)}\",92.5\n")
    import_benchmark("csv", path, space="nb101", arch_col="arch", metrics=["acc:accuracy:cifar10:test:108"])
    table = load_table("nb101")
    assert table.cell_ids == [module_hash] and table.lookup(module_hash, "accuracy/cifar10/test/108ep") == 92.0


def test_parquet_import(tmp_path: Path) -> None:
    import pandas as pd

    path = tmp_path / "runs.parquet"
    pd.DataFrame({"arch": ["|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"],
                  "lat": [3.5]}).to_parquet(path)
    import_benchmark("parquet", path, space="nb201", arch_col="arch", metrics=["lat:latency:mydevice"])
    assert load_table("nb201").lookup("6111", "latency/mydevice") == 3.5


@pytest.mark.parametrize(("content", "options", "message"), [
    ("arch,acc\n|bad~0|,90\n", {}, r"line 2, column 'arch': cannot read architecture '\|bad~0\|'"),
    ("arch,acc\n15625,90\n", {}, "line 2.*out of range"),
    ("arch,acc\n5,ninety\n", {}, "line 2, column 'acc': 'ninety' is not a number"),
    ("cell,acc\n5,90\n", {}, "missing column.*'arch'.*the file has: cell, acc"),
    ("arch,accuracy\n5,90\n", {}, "missing column.*'acc'"),
    ("", {}, "empty file"),
    ('arch,acc\n5,"90\n', {}, "malformed CSV"),
])
def test_bad_csv_names_file_and_problem(tmp_path: Path, content: str, options: dict, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(DataError, match=message) as info:
        import_benchmark("csv", path, space="nb201", arch_col="arch", metrics=["acc:accuracy:cifar10:test:200"])
    assert "bad.csv" in str(info.value)


def test_binary_file_given_as_csv(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(DataError, match="data.csv"):
        import_benchmark("csv", path, space="nb201", arch_col="arch", metrics=["acc:accuracy:cifar10:test:200"])


@pytest.mark.parametrize(("text", "key"), [
    ("col:accuracy:cifar10:test:200", "accuracy/cifar10/test/200ep"),
    ("col:accuracy:c100:val:12ep", "accuracy/cifar100/valid/12ep"),
    ("col:latency:pixel3", "latency/pixel3"),
    ("col:latency:edgegpu:in16[s]", "latency/edgegpu/ImageNet16-120"),
    ("col:params", "params"),
    ("col=energy/fpga/cifar10", "energy/fpga/cifar10"),
])
def test_metric_mapping_syntax(text: str, key: str) -> None:
    column, spec = parse_metric_mapping(text)
    assert column == "col" and spec.key == key


@pytest.mark.parametrize("text", ["col", "col:latency", "col:accuracy:cifar10:test:many", "col:params:a:b", "col=bogus/"])
def test_bad_metric_mapping(text: str) -> None:
    with pytest.raises(ConfigError, match="bad --metric"):
        parse_metric_mapping(text)


def test_interrupted_import_leaves_previous_table(nb201_parquet: Path, nb201_csv: Path) -> None:
    _install(nb201_parquet)
    before = table_path("nb201").read_bytes()

    def interrupt(done: int, total: int, message: str = "") -> None:
        if done > 4000:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        import_benchmark("csv", nb201_csv, space="nb201", arch_col="arch_str",
                         metrics=["c10_test_200ep:accuracy:cifar10:valid:1"], progress=interrupt)
    assert table_path("nb201").read_bytes() == before
    clear_cache()
    assert "accuracy/cifar10/valid/1ep" not in load_table("nb201").keys


@pytest.mark.usefixtures("no_embedded_tables")  # checks what the import alone stores
def test_latency_merges_into_accuracy_table(nb201_csv: Path, source_data: Path) -> None:
    subset = nb201_csv.parent / "help_latency_pt" / "pixel3.pt"
    import_benchmark("help-latency", subset)
    import_benchmark("mini-nb201", source_data / "nasbench201" / "mini-bench-arch-cell-accs.pd")
    table = load_table("nb201")
    assert {"latency/pixel3/cifar10", "accuracy/cifar10/test/12ep"} <= set(table.keys)
    assert table.lookup("0", "latency/pixel3/cifar10") == pytest.approx(3.60585)
    assert round(optimum(table, "accuracy/cifar10/test/12ep").value, 2) == 89.16
    assert len(table.provenance) == 2


# ---- HELP / HW-NAS-Bench --------------------------------------------------------------------------

def _torch_style_zip(path: Path, payload: bytes) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", payload)
        archive.writestr("archive/version", "3\n")
    return path


class _Evil:
    def __reduce__(self):  # noqa: ANN204
        return (print, ("executed",))


def test_help_loader_refuses_code_and_bad_shapes(tmp_path: Path) -> None:
    evil = _torch_style_zip(tmp_path / "pixel9.pt", pickle.dumps([_Evil()] * 3, protocol=2))
    with pytest.raises(DataError, match="pixel9.pt: refuses to load .*print"):
        import_benchmark("help-latency", evil)
    short = _torch_style_zip(tmp_path / "pixel8.pt", pickle.dumps([1.0, 2.0], protocol=2))
    with pytest.raises(DataError, match="pixel8.pt: 2 latencies"):
        import_benchmark("help-latency", short)
    truncated = tmp_path / "pixel7.pt"
    truncated.write_bytes(_torch_style_zip(tmp_path / "tmp.pt", pickle.dumps([1.0] * 15625)).read_bytes()[:500])
    with pytest.raises(DataError, match="pixel7.pt"):
        import_benchmark("help-latency", truncated)
    assert not table_path("nb201").exists()


def test_help_folder_import_real(source_data: Path) -> None:
    result = import_benchmark("help-latency", source_data / "nasbench201" / "help_latency_pt")
    assert len(result["metrics_imported"]) == 25
    table = load_table("nb201")
    assert table.lookup("0", "latency/raspi4/cifar10") == pytest.approx(10.481977, abs=1e-5)


def _hwnas(n: int) -> dict:
    rng = np.random.default_rng(1)
    names = ["edgegpu_latency", "edgegpu_energy", "raspi4_latency", "edgetpu_latency", "pixel3_latency",
             "eyeriss_latency", "eyeriss_energy", "eyeriss_arithmetic_intensity", "fpga_latency", "fpga_energy"]
    section = {ds: {name: list(rng.uniform(1, 10, n)) for name in names} | {"config": [{"C": 16}] * n}
               for ds in ("cifar10", "cifar100", "ImageNet16-120")}
    section["cifar10"]["edgegpu_latency"][0] = 5.81
    section["cifar100"]["fpga_energy"] = dict(enumerate(section["cifar100"]["fpga_energy"]))  # index-keyed form
    return {"nasbench201": section, "fbnet": {"edgegpu_latency": {"op": 1.0}}}


@pytest.mark.usefixtures("no_embedded_tables")  # checks what the import alone stores
def test_hw_nas_bench_pickle(tmp_path: Path) -> None:
    path = tmp_path / "HW-NAS-Bench-v1_0.pickle"
    path.write_bytes(pickle.dumps(_hwnas(6)))
    import_benchmark("hw-nas-bench", path)
    table = load_table("nb201")
    assert len(table) == 6 and len(table.keys) == 30
    assert table.lookup("0", "latency/edgegpu/cifar10") == 5.81
    assert table.metric("energy/edgegpu/cifar10").unit == "mJ"
    assert table.coverage("energy/fpga/cifar100") == 6
    wrong = tmp_path / "other.pickle"
    wrong.write_bytes(pickle.dumps({"something": 1}))
    with pytest.raises(DataError, match="other.pickle: not an HW-NAS-Bench pickle"):
        import_benchmark("hw-nas-bench", wrong)
    truncated = tmp_path / "cut.pickle"
    truncated.write_bytes(path.read_bytes()[:300])
    with pytest.raises(DataError, match="cut.pickle: corrupt or truncated"):
        import_benchmark("hw-nas-bench", truncated)


def test_hw_nas_pickle_never_runs_code_by_default(tmp_path: Path) -> None:
    path = tmp_path / "hw.pickle"
    path.write_bytes(pickle.dumps({"nasbench201": _Evil()}))
    with pytest.raises(DataError, match="refuses to load builtins.print.*--trust"):
        import_benchmark("hw-nas-bench", path)


# ---- NB101 -------------------------------------------------------------------------------------

def test_crc32c_known_values() -> None:
    assert crc32c(b"123456789") == 0xE3069283
    buffers = [b"123456789", b"", b"x" * 1000, bytes(range(256))]
    assert [int(v) for v in crc32c_many(buffers)] == [crc32c(b) for b in buffers]


def _nb101_records(n_cells: int = 12) -> tuple[list[bytes], dict[str, list[float]]]:
    space = get_space("nb101")
    cells = []
    seen = set()
    for cell in space.sample(40, seed=3):
        canonical = space.canonical(cell)
        if canonical["hash"] not in seen:
            seen.add(canonical["hash"])
            cells.append(canonical)
        if len(cells) == n_cells:
            break
    records, expected = [], {}
    for i, canonical in enumerate(cells):
        expected[canonical["hash"]] = []
        for repeat in range(3):
            valid = 0.90 + 0.01 * repeat + 0.001 * i
            evaluations = [{"current_epoch": e, "training_time": 10.0 * e, "train_accuracy": 0.5,
                            "validation_accuracy": 0.5, "test_accuracy": 0.5} for e in (0.0, 54.0)]
            evaluations.append({"current_epoch": 108.0, "training_time": 1000.0 + repeat, "train_accuracy": 1.0,
                                "validation_accuracy": valid, "test_accuracy": valid - 0.01})
            expected[canonical["hash"]].append(valid * 100)
            payload = encode_model_metrics(evaluations, 1_000_000 + i, 1234.5)
            records.append(encode_record(canonical["hash"], 108, canonical["matrix"], canonical["ops"], payload))
    return records, expected


def test_protobuf_round_trip() -> None:
    payload = encode_model_metrics([{"validation_accuracy": 0.93, "training_time": 12.5}], 2_500_000, 9.0)
    decoded = decode_model_metrics(payload)
    assert decoded == {"evaluation_data": [{"validation_accuracy": 0.93, "training_time": 12.5}],
                       "trainable_parameters": 2_500_000, "total_time": 9.0}


def test_nb101_tfrecord_import(tmp_path: Path) -> None:
    records, expected = _nb101_records()
    path = tmp_path / "nasbench_only108.tfrecord"
    write_tfrecord(path, records)
    result = import_benchmark("nb101", path)
    assert result["rows"] == len(expected)
    table = load_table("nb101")
    key = "accuracy/cifar10/valid/108ep"
    for module_hash, values in expected.items():
        assert table.lookup(module_hash, key) == pytest.approx(np.mean(values))
        reps = table.repeat_values(key)[table.row_of(module_hash)]
        np.testing.assert_allclose(sorted(reps), sorted(values))
    first = next(iter(expected))
    assert table.lookup(first, "params/cifar10") == 1.0
    assert table.lookup(first, "train_time/cifar10/train/108ep") == pytest.approx(1001.0)
    rng_a, rng_b = np.random.default_rng(5), np.random.default_rng(5)
    assert table.sample_repeat(first, key, rng_a) == table.sample_repeat(first, key, rng_b)
    assert "matched" in table.provenance[0]["notes"]


def test_nb101_tfrecord_corruption_is_detected(tmp_path: Path) -> None:
    records, _ = _nb101_records(3)
    good = tmp_path / "good.tfrecord"
    write_tfrecord(good, records)
    data = bytearray(good.read_bytes())
    flipped = tmp_path / "flipped.tfrecord"
    data[40] ^= 0xFF
    flipped.write_bytes(bytes(data))
    with pytest.raises(DataError, match="flipped.tfrecord: record 0 at byte 0: data checksum mismatch"):
        import_benchmark("nb101", flipped)
    truncated = tmp_path / "cut.tfrecord"
    truncated.write_bytes(good.read_bytes()[:-10])
    with pytest.raises(DataError, match="cut.tfrecord: .*truncated"):
        import_benchmark("nb101", truncated)
    not_tf = tmp_path / "text.tfrecord"
    not_tf.write_text("hello world, this is not a tfrecord file at all")
    with pytest.raises(DataError, match="text.tfrecord: record 0 .*length checksum mismatch"):
        import_benchmark("nb101", not_tf)
    wrong_hash = tmp_path / "hash.tfrecord"
    payload = json.loads(records[0])
    payload[0] = "0" * 32
    write_tfrecord(wrong_hash, [json.dumps(payload).encode()])
    with pytest.raises(DataError, match="differs from the cell's hash"):
        import_benchmark("nb101", wrong_hash)
    bad_payload = tmp_path / "payload.tfrecord"
    write_tfrecord(bad_payload, [b'["abc", 108, "01", "input", "!!!"]'])
    with pytest.raises(DataError, match="payload.tfrecord: record 0: not an NB101 record"):
        import_benchmark("nb101", bad_payload)
    assert not table_path("nb101").exists()


def test_naslib_nb101_real(source_data: Path) -> None:
    result = import_benchmark("naslib-nb101", source_data / "nasbench101" / "naslib_zc_nasbench101_500.json")
    table = load_table("nb101")
    key = "accuracy/cifar10/valid/108ep"
    assert result["rows"] == len(table) and 0 < len(table) <= 500
    values = table.values(key)
    assert np.nanmin(values) > 73.0 and np.nanmax(values) == pytest.approx(94.71, abs=0.01)
    assert "ONE sampled repeat" in table.metric(key).source
    assert "zc_synflow/cifar10" in table.keys


# ---- NASLib NB201 / NB301 --------------------------------------------------------------------

@pytest.mark.usefixtures("no_embedded_tables")  # checks what the import alone stores
def test_naslib_nb201_real(source_data: Path) -> None:
    import_benchmark("naslib-nb201", source_data / "nasbench201" / "naslib_zc_nasbench201_725.json")
    table = load_table("nb201")
    assert len(table) == 725
    best = optimum(table, "accuracy/cifar10/valid/200ep")
    assert best.value <= 91.61 + 1e-9  # the NB201 CIFAR-10 validation optimum bounds any subset
    # params equal the exact count of the space (SOURCES.md)
    cell = get_space("nb201").parse(int(best.cell_id))
    assert table.lookup(best.cell_id, "params/cifar10") == pytest.approx(
        get_space("nb201").cost(cell, "cifar10").params / 1e6, abs=1e-6)


def test_naslib_nb301_real_with_surrogate_caveat(source_data: Path) -> None:
    folder = source_data / "nasbench301_darts"
    import_benchmark("naslib-nb301", folder / "naslib_zc_nasbench301_725.json")
    import_benchmark("naslib-nb301", folder / "naslib_zc_nasbench301_500.json")
    table = load_table("darts")
    assert len(table) == 725 + 500 - 7
    key = "accuracy/cifar10/valid"
    assert table.coverage(key) == len(table)  # the second file did not erase the first
    assert "SURROGATE" in table.metric(key).source
    assert round(optimum(table, key).value, 2) == 94.49
    space = get_space("darts")
    assert space.cell_id(space.parse(table.cell_ids[0])) == table.cell_ids[0]


def test_naslib_wrong_and_truncated_json(source_data: Path, tmp_path: Path) -> None:
    text = (source_data / "nasbench101" / "naslib_zc_nasbench101_500.json").read_text()
    cut = tmp_path / "cut.json"
    cut.write_text(text[:5000])
    with pytest.raises(DataError, match="cut.json: malformed JSON .*truncated"):
        import_benchmark("naslib-nb101", cut)
    with pytest.raises(DataError, match="no 'val_accuracy'"):
        import_benchmark("naslib-nb201", _json(tmp_path, {"cifar10": {"(0, 1, 2, 3, 4, 0)": {"acc": 1}}}))
    with pytest.raises(DataError, match="cannot read the architecture key"):
        import_benchmark("naslib-nb201", _json(tmp_path, {"cifar10": {"(9, 9)": {"val_accuracy": 1}}}))


def _json(folder: Path, obj: object) -> Path:
    path = folder / "naslib.json"
    path.write_text(json.dumps(obj))
    return path


# ---- official NB201 / NATS files --------------------------------------------------------------------

@pytest.mark.usefixtures("no_embedded_tables")  # checks what the import alone stores
def test_official_nb201_pth_and_nats_pickle(tmp_path: Path) -> None:
    pytest.importorskip("nas_201_api")
    pytest.importorskip("nats_bench")
    from data_fixtures import expected_accuracy, write_nats_simple, write_nats_tss, write_nb201_pth

    import_benchmark("nb201", write_nb201_pth(tmp_path / "NAS-Bench-201-v1_1-test.pth", [0, 6111]))
    table = load_table("nb201")
    mean = np.mean([expected_accuracy(6111, "cifar10-valid", "x-valid", "200", s) for s in (777, 888)])
    assert table.lookup("6111", "accuracy/cifar10/valid/200ep") == pytest.approx(mean)
    test_mean = np.mean([expected_accuracy(6111, "cifar10", "ori-test", "200", s) for s in (777, 888)])
    assert table.lookup("6111", C10) == pytest.approx(test_mean)
    assert table.lookup("0", "accuracy/ImageNet16-120/test/12ep") == pytest.approx(
        np.mean([expected_accuracy(0, "ImageNet16-120", "x-test", "12", s) for s in (777, 888)]))
    assert table.lookup("0", "latency/nb201_gpu_256/cifar10") == pytest.approx(15.0)
    import_benchmark("nats-tss", write_nats_tss(tmp_path / "NATS-tss-test.pickle.pbz2", [1]))
    table = load_table("nb201")
    assert table.cell_ids == ["0", "6111", "1"]
    assert "restricted unpickler" in table.provenance[-1]["notes"]
    import_benchmark("nats-tss", write_nats_simple(tmp_path / "NATS-tss-v1_0-3ffb9-simple", [2, 5]))
    table = load_table("nb201")
    assert table.cell_ids == ["0", "6111", "1", "2", "5"]
    assert table.lookup("5", "accuracy/cifar100/valid/200ep") == pytest.approx(
        np.mean([expected_accuracy(5, "cifar100", "x-valid", "200", s) for s in (777, 888)]))
    with pytest.raises(DataError, match="no meta.pickle.pbz2"):
        import_benchmark("nats-tss", tmp_path)


def test_official_files_bad_input(tmp_path: Path) -> None:
    pytest.importorskip("nas_201_api")
    import torch

    wrong = tmp_path / "wrong.pth"
    torch.save({"state_dict": {}}, wrong)
    with pytest.raises(DataError, match="wrong.pth: not a NAS-Bench-201/NATS benchmark file"):
        import_benchmark("nb201", wrong)
    cut = tmp_path / "cut.pth"
    cut.write_bytes(wrong.read_bytes()[:100])
    with pytest.raises(DataError, match="cut.pth"):
        import_benchmark("nb201", cut)
    pytest.importorskip("nats_bench")
    broken = tmp_path / "broken.pickle.pbz2"
    broken.write_bytes(bz2.compress(pickle.dumps({"meta_archs": []}))[:-20])
    with pytest.raises(DataError, match="broken.pickle.pbz2"):
        import_benchmark("nats-tss", broken)


def test_unknown_kind_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown import kind"):
        import_benchmark("nb999", tmp_path / "x")
    with pytest.raises(DataError, match="no such file"):
        import_benchmark("nb201-merged", tmp_path / "missing.csv")
