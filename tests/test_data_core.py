"""nasviz.data core: metric keys, tables, the Parquet store (atomic, merged) and exact queries."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nasviz.data import (
    MetricSpec,
    build_table,
    clear_cache,
    constrained_optimum,
    find_device_metric,
    find_metric,
    load_table,
    optimum,
    pareto_front,
    parse_key,
    save_table,
    status,
    table_path,
    top_k,
)
from nasviz.data.importers.common import Accumulator
from nasviz.data.store import read_table_file
from nasviz.errors import ConfigError, DataError

ACC = MetricSpec("accuracy", "cifar10", "test", 200)
LAT = MetricSpec("latency", "cifar10", device="pixel3")


# ---- metric keys ------------------------------------------------------------------------------

@pytest.mark.parametrize("key", ["accuracy/cifar10/test/200ep", "accuracy/cifar100/valid/12ep", "accuracy/cifar10/valid",
                                 "latency/pixel3", "latency/edgegpu/ImageNet16-120", "energy/fpga/cifar10",
                                 "params/cifar10", "params", "train_time/cifar10/train/108ep", "zc_synflow/cifar10"])
def test_key_round_trip(key: str) -> None:
    assert parse_key(key).key == key


def test_aliases_normalise_to_one_key() -> None:
    assert MetricSpec("accuracy", "c10", "val", 200).key == "accuracy/cifar10/valid/200ep"
    assert MetricSpec("accuracy", "in16", "x-test", 12).key == "accuracy/ImageNet16-120/test/12ep"


def test_labels_are_human() -> None:
    assert ACC.label == "CIFAR-10 test accuracy, 200 epochs (%)"
    assert parse_key("latency/1080ti_32").label == "Latency on GTX 1080 Ti, batch 32 (ms)"
    assert parse_key("latency/essential_ph_1").label == "Latency on Essential PH-1 (ms)"  # not "batch 1"
    assert parse_key("params/cifar100").unit == "M"


@pytest.mark.parametrize("key", ["", "latency", "accuracy/cifar10/test/200", "params/cifar10/test",
                                 "Accuracy/cifar10", "latency/a/b/c", "accuracy/cifar10/test/0ep"])
def test_bad_keys_raise_config_error(key: str) -> None:
    with pytest.raises(ConfigError):
        parse_key(key)


def test_split_without_dataset_and_device_on_accuracy_are_rejected() -> None:
    with pytest.raises(ConfigError, match="needs a dataset"):
        MetricSpec("accuracy", None, "test")
    with pytest.raises(ConfigError, match="only"):
        MetricSpec("accuracy", "cifar10", device="pixel3")


# ---- tables, store ---------------------------------------------------------------------------

def _table(values: list[float], latencies: list[float], ids: list[str] | None = None, space: str = "nb201"):
    ids = ids or [str(i) for i in range(len(values))]
    return build_table(space, cell_ids=ids, metrics=[ACC, LAT],
                       columns={ACC.key: values, LAT.key: latencies}, provenance={"importer": "test", "sha256": "x"})


@pytest.mark.usefixtures("no_embedded_tables")
def test_nothing_imported_status_and_error_give_commands() -> None:
    rows = {r["benchmark"]: r for r in status()}
    assert not rows["nb201"]["imported"] and rows["nb201"]["source"] is None
    assert rows["nb201"]["import_commands"][0] == rows["nb201"]["import_recommended"] == "nasviz data download hw-nas-bench"
    with pytest.raises(DataError, match="nasviz data download hw-nas-bench"):
        load_table("nb201")


def test_save_load_round_trip_is_exact_and_cached() -> None:
    table = _table([90.0, np.nan, 93.5], [1.0, 2.0, 3.0])
    save_table(table)
    clear_cache()
    loaded = load_table("nb201")
    assert loaded.cell_ids == ["0", "1", "2"]
    np.testing.assert_array_equal(loaded.values(ACC.key), table.values(ACC.key))
    assert loaded.metric(ACC.key) == ACC
    assert loaded.data_version == table.data_version
    assert load_table("nb201") is loaded  # in-process cache
    assert np.isnan(loaded.lookup("1", ACC.key)) and np.isnan(loaded.lookup("999", ACC.key))
    sidecar = json.loads(table_path("nb201").with_suffix(".json").read_text())
    assert sidecar["metrics"][0]["key"] == ACC.key


def test_values_are_read_only() -> None:
    table = _table([1.0, 2.0], [1.0, 1.0])
    with pytest.raises(ValueError):
        table.values(ACC.key)[0] = 5.0


def test_merge_keeps_other_cells_and_adds_metrics() -> None:
    first = _table([90.0, 91.0], [1.0, 2.0], ids=["0", "1"])
    params = MetricSpec("params", "cifar10")
    second = build_table("nb201", cell_ids=["1", "2"], metrics=[ACC, params],
                         columns={ACC.key: [95.0, 96.0], params.key: [0.5, 0.6]})
    merged = first.merged_with(second)
    assert merged.cell_ids == ["0", "1", "2"]
    np.testing.assert_array_equal(merged.values(ACC.key), [90.0, 95.0, 96.0])  # new values win, old kept elsewhere
    np.testing.assert_array_equal(merged.values(LAT.key)[:2], [1.0, 2.0])
    assert np.isnan(merged.values(LAT.key)[2]) and np.isnan(merged.values(params.key)[0])


def test_accumulator_averages_repeats_and_keeps_them() -> None:
    acc = Accumulator("nb201", [ACC])
    acc.add_rows(["5", "6", "5"], {ACC.key: np.array([90.0, 80.0, 92.0])})
    table = acc.table()
    assert table.cell_ids == ["5", "6"]
    np.testing.assert_array_equal(table.values(ACC.key), [91.0, 80.0])
    reps = table.repeat_values(ACC.key)
    assert reps is not None and sorted(reps[0]) == [90.0, 92.0]
    draws = {table.sample_repeat("5", ACC.key, np.random.default_rng(s)) for s in range(20)}
    assert draws == {90.0, 92.0}
    assert table.sample_repeat("5", ACC.key, np.random.default_rng(3)) == table.sample_repeat(
        "5", ACC.key, np.random.default_rng(3))


def test_repeats_survive_the_store() -> None:
    acc = Accumulator("nb101", [ACC])
    acc.add_rows(["a", "a", "b"], {ACC.key: np.array([1.0, 3.0, 5.0])})
    save_table(acc.table())
    clear_cache()
    reps = load_table("nb101").repeat_values(ACC.key)
    assert reps is not None and reps.shape == (2, 2)


def test_failed_write_leaves_previous_table(monkeypatch: pytest.MonkeyPatch) -> None:
    save_table(_table([90.0], [1.0]))
    before = table_path("nb201").read_bytes()

    def crash(src, dst):  # noqa: ANN001
        raise OSError("disk full")

    with monkeypatch.context() as patch:
        patch.setattr("nasviz.fileio.os.replace", crash)  # the shared atomic write
        with pytest.raises(OSError):
            save_table(_table([10.0, 20.0], [1.0, 2.0]))
    assert table_path("nb201").read_bytes() == before
    assert not [p for p in table_path("nb201").parent.iterdir() if p.name.endswith(".tmp")]
    clear_cache()
    assert load_table("nb201").cell_ids == ["0"]


def test_corrupt_table_file_names_the_file() -> None:
    path = table_path("nb201")
    path.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(DataError, match=str(path.name)):
        read_table_file(path)


# ---- queries ----------------------------------------------------------------------------------

def test_queries_against_brute_force() -> None:
    rng = np.random.default_rng(0)
    n = 400
    acc = np.round(rng.uniform(80, 95, n), 1)  # ties on purpose
    lat = np.round(rng.uniform(1, 20, n), 0)
    acc[7] = np.nan
    table = _table(list(acc), list(lat))
    best = optimum(table, ACC.key)
    assert best.value == np.nanmax(acc) and best.row == int(np.nanargmax(acc))
    assert optimum(table, ACC.key, maximize=False).value == np.nanmin(acc)
    limited = constrained_optimum(table, ACC.key, LAT.key, 5.0)
    assert limited.value == np.nanmax(np.where(lat <= 5.0, acc, np.nan)) and limited.constraint_value <= 5.0
    front = pareto_front(table, ACC.key, LAT.key)
    brute = set()
    for i in range(n):
        if np.isnan(acc[i]):
            continue
        dominated = any(not np.isnan(acc[j]) and acc[j] >= acc[i] and lat[j] <= lat[i]
                        and (acc[j] > acc[i] or lat[j] < lat[i]) for j in range(n))
        if not dominated:
            brute.add((acc[i], lat[i]))
    assert set(zip(front.values_a, front.values_b, strict=True)) == brute
    assert len(front) == len(brute)  # one cell per non-dominated point
    assert list(front.values_b) == sorted(front.values_b)
    assert [v for _, v in top_k(table, ACC.key, 3)] == sorted(acc[~np.isnan(acc)], reverse=True)[:3]


def test_infeasible_constraint_says_smallest_value() -> None:
    table = _table([90.0, 91.0], [3.0, 4.0])
    with pytest.raises(DataError, match="smallest .*: 3"):
        constrained_optimum(table, ACC.key, LAT.key, 1.0)


def test_find_metric_prefers_most_epochs_and_reports_ambiguity() -> None:
    acc12 = MetricSpec("accuracy", "cifar10", "test", 12)
    valid = MetricSpec("accuracy", "cifar10", "valid", 200)
    table = build_table("nb201", cell_ids=["0"], metrics=[ACC, acc12, valid, LAT],
                        columns={ACC.key: [1.0], acc12.key: [2.0], valid.key: [3.0], LAT.key: [4.0]})
    assert find_metric(table, "accuracy", "c10", "test").key == ACC.key
    assert find_metric(table, "accuracy", "cifar10", "valid").key == valid.key
    assert find_metric(table, "accuracy", "cifar10").key == ACC.key  # 200 epochs, test before valid
    with pytest.raises(ConfigError, match="available"):
        find_metric(table, "accuracy", "cifar100")
    c100 = MetricSpec("accuracy", "cifar100", "test", 200)
    two = build_table("nb201", cell_ids=["0"], metrics=[ACC, c100], columns={ACC.key: [1.0], c100.key: [2.0]})
    assert find_metric(two, "accuracy").key == ACC.key  # the space's default dataset breaks the tie
    assert find_metric(two, "accuracy", "c100").key == c100.key
    nb101 = build_table("nb101", cell_ids=["0"], metrics=[valid, MetricSpec("accuracy", "cifar100", "valid", 200)],
                      columns={valid.key: [1.0], "accuracy/cifar100/valid/200ep": [2.0]})
    assert find_metric(nb101, "accuracy").key == valid.key
    assert find_device_metric(table, "pixel3", "cifar10").key == LAT.key
    with pytest.raises(ConfigError, match="devices: pixel3"):
        find_device_metric(table, "raspi4")
