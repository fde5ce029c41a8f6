"""Evaluators: tabular look-ups, live training on digits, latency, cost, the cache and the worker pool."""

from __future__ import annotations

import csv
import math
import pickle
from pathlib import Path

import numpy as np
import pytest

from nasviz.errors import CellError, ConfigError, DataError
from nasviz.evaluators import (
    CostEvaluator,
    EvalCache,
    LatencyEvaluator,
    LiveTrainingEvaluator,
    TabularEvaluator,
    make_evaluator,
    parse_spec,
)
from nasviz.evaluators.datasets import load_cifar10_split, load_digits_split, read_cifar_batch
from nasviz.spaces import get_space

CONV_CELL = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
POOL_CELL = "|avg_pool_3x3~0|+|skip_connect~0|avg_pool_3x3~1|+|none~0|avg_pool_3x3~1|skip_connect~2|"
DEAD_CELL = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
#: a small, fast training budget for tests (the default budget is tuned in benchmarks/bench_evaluators.py)
QUICK = {"epochs": 1, "channels": 4, "batch_size": 32}


def test_live_training_is_deterministic_and_beats_chance_on_digits() -> None:
    evaluator = LiveTrainingEvaluator("nb201", seed=7, max_workers=0, use_cache=False, **QUICK)
    first, second = evaluator.evaluate([CONV_CELL, CONV_CELL])
    again = LiveTrainingEvaluator("nb201", seed=7, max_workers=0, use_cache=False, **QUICK).evaluate([CONV_CELL])[0]
    assert first.value == again.value  # same seed -> same accuracy, in a fresh evaluator
    assert second.value == first.value
    assert first.value > 50.0  # chance is 10 % on the 10 digit classes
    assert first.metric == "val_accuracy" and first.unit == "%" and first.higher_is_better
    assert "sklearn-digits-1797" in first.provenance["data_version"]
    assert first.provenance["seed"] == 7
    dead = evaluator.evaluate([DEAD_CELL])[0]
    assert dead.value < 20.0  # the none-only cell cuts the input off: chance level


def test_cache_hit_returns_the_same_value_without_retraining(monkeypatch: pytest.MonkeyPatch) -> None:
    evaluator = LiveTrainingEvaluator("nb201", seed=1, max_workers=0, **QUICK)
    fresh = evaluator.evaluate([POOL_CELL])[0]
    assert not fresh.cached
    assert EvalCache().count("nb201") == 1

    def must_not_train(cell: object) -> tuple[float, dict]:
        raise AssertionError("a cached cell was trained again")

    monkeypatch.setattr(evaluator, "evaluate_cell", must_not_train)
    hit = evaluator.evaluate([POOL_CELL])[0]
    assert hit.cached and hit.value == fresh.value and hit.cell_id == fresh.cell_id
    # another config (seed) is another cache entry
    other = LiveTrainingEvaluator("nb201", seed=2, max_workers=0, **QUICK)
    assert other.cache_key() != evaluator.cache_key()


def test_pool_evaluates_several_cells_with_progress_and_matches_in_process_values() -> None:
    cells = [CONV_CELL, POOL_CELL, DEAD_CELL, CONV_CELL]
    seen: list[tuple[int, int]] = []
    with LiveTrainingEvaluator("nb201", seed=3, max_workers=2, **QUICK) as evaluator:
        job = evaluator.submit(cells, progress=lambda done, total, message: seen.append((done, total)))
        results = job.result(timeout=300)
    assert job.done() and job.progress == (4, 4)
    assert seen[-1] == (4, 4)
    assert [r.cell_id for r in results] == [get_space("nb201").cell_id(get_space("nb201").parse(c)) for c in cells]
    assert all(r.ok and 0.0 <= r.value <= 100.0 for r in results)
    assert results[0].value == results[3].value
    in_process = LiveTrainingEvaluator("nb201", seed=3, max_workers=0, use_cache=False, **QUICK)
    assert in_process.evaluate([POOL_CELL])[0].value == results[1].value


def test_latency_is_positive_and_finite_with_cpu_provenance() -> None:
    evaluator = LatencyEvaluator("nb201", max_workers=0, budget_s=0.3, repeats=5, use_cache=False)
    results = evaluator.evaluate([CONV_CELL, POOL_CELL])
    for result in results:
        assert math.isfinite(result.value) and result.value > 0
        assert result.unit == "ms" and not result.higher_is_better
        assert result.provenance["device"] == "this machine" and result.provenance["cpu"]
        assert result.seconds < 5.0


def test_cost_evaluator_equals_the_space_cost() -> None:
    space = get_space("nb201")
    cells = space.sample(5, seed=0)
    params = CostEvaluator("nb201").evaluate(cells)
    flops = make_evaluator("cost:nb201,metric=flops,dataset=cifar100").evaluate(cells)
    for cell, p, f in zip(cells, params, flops, strict=True):
        assert p.value == space.cost(cell, "cifar10").params
        assert f.value == space.cost(cell, "cifar100").flops
        assert not p.cached


def _tiny_nb201_table(source_data: Path, tmp_path: Path, rows: int = 40) -> Path:
    source = source_data / "nasbench201" / "nb201_merged.csv"
    if not source.exists():
        pytest.skip(f"{source} is missing")
    tiny = tmp_path / "nb201_tiny.csv"
    with open(source, newline="") as src, open(tiny, "w", newline="") as dst:
        for i, line in enumerate(src):
            if i > rows:
                break
            dst.write(line)
    return tiny


def test_tabular_evaluator_looks_values_up_in_an_imported_table(source_data: Path, tmp_path: Path) -> None:
    data = pytest.importorskip("nasviz.data")
    tiny = _tiny_nb201_table(source_data, tmp_path)
    # a 40-row extract, alone (replace: not merged onto the embedded table), through the generic csv importer
    # (the nb201-merged preset requires all 15,625 rows)
    data.import_benchmark("csv", tiny, space="nb201", arch_col="arch_str", replace=True,
                          metrics=["c10_test_200ep:accuracy:cifar10:test:200"])
    with open(tiny, newline="") as fh:
        expected = {row["index"]: float(row["c10_test_200ep"]) for row in csv.DictReader(fh)}
    space = get_space("nb201")
    inside = [space.parse(int(i)) for i in list(expected)[:5]]
    evaluator = make_evaluator("tabular:nb201,metric=accuracy/cifar10/test/200ep")
    results = evaluator.evaluate(inside)
    assert [r.value for r in results] == pytest.approx([expected[r.cell_id] for r in results])
    assert results[0].higher_is_better and results[0].unit == "%"
    assert results[0].provenance["data_version"]
    seeded = TabularEvaluator("nb201", "accuracy/cifar10/test/200ep", noise=5).evaluate(inside)
    assert [r.value for r in seeded] == [r.value for r in results]  # no per-repeat values: the mean
    missing = evaluator.evaluate([space.parse(15000)])[0]
    assert math.isnan(missing.value) and "not in the imported table" in missing.error
    with pytest.raises(ConfigError, match="not in the nb201 table"):
        TabularEvaluator("nb201", "accuracy/cifar10/test/999ep")


@pytest.mark.usefixtures("no_embedded_tables")
def test_tabular_evaluator_without_a_table_says_how_to_import() -> None:
    pytest.importorskip("nasviz.data")
    with pytest.raises(DataError, match="no benchmark table imported"):
        TabularEvaluator("nb201")


def test_registry_parses_specs_and_round_trips() -> None:
    assert parse_spec("live:nb201,epochs=3,lr=0.1,data_dir=none") == {"kind": "live", "space": "nb201", "epochs": 3,
                                                                       "lr": 0.1, "data_dir": None}
    live = make_evaluator("live:nb201,epochs=3,seed=4")
    assert isinstance(live, LiveTrainingEvaluator) and live.epochs == 3 and live.seed == 4
    again = make_evaluator(live.spec_string())
    assert again.spec() == live.spec() and again.cache_key() == live.cache_key()
    assert make_evaluator({"kind": "latency", "space": "nb201", "budget_s": 0.5}).budget_s == 0.5
    for spec in ("live:nb201", "latency:nb201", "cost:nb201,metric=flops"):  # workers rebuild evaluators from spec()
        evaluator = make_evaluator(spec)
        assert make_evaluator(evaluator.spec()).cache_key() == evaluator.cache_key()
    with pytest.raises(ConfigError, match="unknown evaluator"):
        make_evaluator("oracle:nb201")
    with pytest.raises(ConfigError, match="unknown option"):
        make_evaluator("live:nb201,epoch=3")
    with pytest.raises(ConfigError, match="needs a space"):
        make_evaluator("cost")
    with pytest.raises(ConfigError, match="data_dir"):
        make_evaluator("live:nb201,dataset=cifar10")


def test_invalid_cells_are_refused_before_any_work() -> None:
    with pytest.raises(CellError):
        CostEvaluator("nb201").submit(["|bogus~0|"])


def test_digits_split_is_seeded() -> None:
    a, b, c = load_digits_split(seed=0), load_digits_split(seed=0), load_digits_split(seed=1)
    assert a.x_train.shape == (1258, 1, 8, 8) and a.x_val.shape == (539, 1, 8, 8)
    assert (a.y_val == b.y_val).all() and not (a.y_val == c.y_val).all()


def _write_cifar_batch(path: Path, images: np.ndarray, labels: list[int]) -> None:
    # the layout of the CIFAR-10 "python version" files: a dict with bytes keys
    with open(path, "wb") as fh:
        pickle.dump({b"batch_label": b"format test", b"labels": labels, b"data": images, b"filenames": []}, fh, protocol=2)


def test_cifar_folder_loader_reads_python_batches(tmp_path: Path) -> None:
    # CIFAR-format files holding real digit images (scaled to 32x32x3), to exercise the format
    digits = load_digits_split(seed=0)
    grey = ((digits.x_train[:120, 0] - digits.x_train.min()) / (digits.x_train.max() - digits.x_train.min()) * 255)
    grey = np.repeat(np.repeat(grey.numpy().astype(np.uint8), 4, axis=1), 4, axis=2)
    images = np.repeat(grey[:, None], 3, axis=1).reshape(120, 3072)
    labels = digits.y_train[:120].tolist()
    _write_cifar_batch(tmp_path / "data_batch_1", images[:100], labels[:100])
    _write_cifar_batch(tmp_path / "test_batch", images[100:], labels[100:])
    x, y = read_cifar_batch(tmp_path / "data_batch_1")
    assert x.shape == (100, 3, 32, 32) and y.tolist() == labels[:100]
    split = load_cifar10_split(str(tmp_path), seed=0, train_size=80, val_size=20)
    assert split.x_train.shape == (80, 3, 32, 32) and split.x_val.shape == (20, 3, 32, 32)
    assert split.version.startswith("cifar10-python sha256:")
    result = LiveTrainingEvaluator("nb201", dataset="cifar10", data_dir=str(tmp_path), train_size=80, val_size=20,
                                   epochs=1, channels=4, batch_size=16, max_workers=0, use_cache=False).evaluate([POOL_CELL])[0]
    assert result.ok and result.provenance["data_version"] == split.version


class _Payload:
    def __reduce__(self):  # noqa: ANN204 - the classic pickle code-execution gadget
        import os

        return (os.system, ("echo pwned > /dev/null",))


def test_cifar_loader_refuses_pickles_that_would_run_code(tmp_path: Path) -> None:
    bad = tmp_path / "data_batch_1"
    bad.write_bytes(pickle.dumps({b"data": _Payload(), b"labels": []}))
    with pytest.raises(DataError, match="refusing to load"):
        read_cifar_batch(bad)
    (tmp_path / "data_batch_2").write_bytes(b"not a pickle")
    with pytest.raises(DataError, match="not a CIFAR-10 python batch"):
        read_cifar_batch(tmp_path / "data_batch_2")


def test_pool_workers_do_not_run_the_parents_main_script(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Under AppTest (or a notebook) __main__ is a script a worker must not run: here it would exit at import.
    import sys
    import types

    script = tmp_path / "page_that_exits.py"
    script.write_text("import sys\nsys.exit(3)\n")
    fake_main = types.ModuleType("__main__")
    fake_main.__file__ = str(script)
    monkeypatch.setitem(sys.modules, "__main__", fake_main)
    with LiveTrainingEvaluator("nb201", seed=3, max_workers=1, use_cache=False, **QUICK) as evaluator:
        (result,) = evaluator.evaluate([CONV_CELL])
    assert result.error is None and 0.0 < result.value <= 100.0
    assert sys.modules["__main__"] is fake_main  # restored after the workers started
