"""The search job manager (nasviz.search.jobs) and an AppTest of the Search page."""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from nasviz.data import load_table
from nasviz.errors import ConfigError, DataError
from nasviz.search import RunStore, SearchConfig, run_search, strategy_names
from nasviz.search.jobs import (
    checkpoint_table,
    comparison_frame,
    export_runs,
    list_jobs,
    parse_seeds,
    queries_frame,
    start_job,
    stop_job,
)
from nasviz.search.summary import trajectory
from nasviz.ui.explorer import recommended_import

PAGE = str(Path(__file__).resolve().parents[1] / "views" / "4_Search.py")
REPORTED = "accuracy/cifar10/test/200ep"


@pytest.fixture(scope="module")
def imported_nb201(nb201_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real NB201 table imported once; copied into each test's own NASVIZ_HOME by ``nb201_home``."""
    home = tmp_path_factory.mktemp("search_page_table")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NASVIZ_HOME", str(home))
        from nasviz.data import import_benchmark

        import_benchmark("nb201-merged", nb201_csv)
    return home / "benchmarks"


@pytest.fixture
def nb201_home(imported_nb201: Path, isolated_home: Path) -> Path:
    shutil.copytree(imported_nb201, isolated_home / "benchmarks")
    return isolated_home


def wait_for(predicate, timeout_s: float = 30.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


# ---- job manager ---------------------------------------------------------------------------------

def test_parse_seeds() -> None:
    assert parse_seeds("0") == [0]
    assert parse_seeds(" 3, 1 ,3; 5-7") == [3, 1, 5, 6, 7]
    for bad in ("", "a", "4-2", "-1"):
        with pytest.raises(ConfigError):
            parse_seeds(bad)


def test_job_runs_every_seed_like_a_direct_run(nb201_home: Path) -> None:
    job = start_job(SearchConfig(algo="random", budget=20), seeds=[0, 1])
    assert job in list_jobs()
    job.thread.join(60)
    assert job.status == "finished" and not job.error
    store = RunStore()
    infos = [store.get_run(r) for r in job.run_ids]
    assert [i.seed for i in infos] == [0, 1] and [i.status for i in infos] == ["finished", "finished"]
    assert [i.queries for i in infos] == [20, 20]
    direct = run_search(SearchConfig(algo="random", budget=20, seed=0))
    assert [r.cell_id for r in store.queries(direct.run_id)] == [r.cell_id for r in store.queries(job.run_ids[0])]
    frame = queries_frame(store.queries(job.run_ids[0]), infos[0])
    assert list(frame["query"]) == list(range(1, 21))
    assert frame["best_signal"].is_monotonic_increasing
    assert frame["best_reported"].iloc[-1] == direct.summary["at"]["20"]["reported"][REPORTED]


def test_stop_keeps_the_queries_made(nb201_home: Path) -> None:
    job = start_job(SearchConfig(algo="random", budget=100), seeds=[0, 1], delay_s=0.05)
    store = RunStore()
    wait_for(lambda: store.count_queries(job.run_ids[0]) >= 5)
    stop_job(job, wait_s=20)
    assert not job.alive and job.status == "stopped"
    first, second = (store.get_run(r) for r in job.run_ids)
    assert first.status == "stopped" and 5 <= first.queries < 100
    assert [q.query for q in store.queries(first.id)] == list(range(first.queries))
    assert second.status == "stopped" and second.queries == 0


def test_bad_configs_raise_before_anything_is_stored(nb201_home: Path) -> None:
    cases = [(SearchConfig(algo="re", budget=3), ConfigError, "initial sample"),
             (SearchConfig(algo="random", budget=20, device="pixel3", max_latency=1e-6), DataError, "no nb201 cell"),
             (SearchConfig(algo="random", budget=20, device="toaster", max_latency=5.0), ConfigError, "unknown device"),
             (SearchConfig(algo="random", budget=20, signal="accuracy/mnist/test/1ep"), ConfigError, "not in the nb201")]
    for config, error, text in cases:
        with pytest.raises(error, match=text):
            start_job(config, seeds=[0, 1])
    assert RunStore().list_runs() == []


@pytest.mark.usefixtures("no_embedded_tables")
def test_missing_table_is_reported(isolated_home: Path) -> None:
    with pytest.raises(DataError, match="nasviz data import"):
        start_job(SearchConfig(algo="random", budget=5))


def test_comparison_over_seeds_and_exports(nb201_home: Path) -> None:
    jobs = [start_job(SearchConfig(algo=algo, budget=100), seeds=[0, 1]) for algo in ("random", "re")]
    for job in jobs:
        job.thread.join(60)
    store = RunStore()
    infos = [store.get_run(r) for job in jobs for r in job.run_ids]
    comparison = comparison_frame(infos, store)
    assert set(comparison["group"]) == {"random", "re"}
    curves = [trajectory(store.queries(i.id), REPORTED) for i in infos if i.strategy == "re"]
    row = comparison[(comparison["group"] == "re") & (comparison["query"] == 96)].iloc[0]
    assert row["mean"] == pytest.approx(np.mean([c[95] for c in curves]))
    assert row["std"] == pytest.approx(np.std([c[95] for c in curves]))
    table = checkpoint_table(comparison)
    assert list(table["strategy"]) == ["random", "re"]
    assert table.loc[1, "96 queries"].startswith(f"{row['mean']:.2f} ± ") and table.loc[1, "192 queries"] == "n/a"
    docs = json.loads(export_runs([infos[0].id, infos[1].id], "json", store))
    assert [d["run"]["id"] for d in docs] == [infos[0].id, infos[1].id] and len(docs[0]["queries"]) == 100
    csv_lines = export_runs([infos[0].id, infos[1].id], "csv", store).decode().strip().splitlines()
    assert len(csv_lines) == 201 and csv_lines[0].startswith("run_id,query")


# ---- the page ------------------------------------------------------------------------------------

def plain(text: str) -> str:
    """Markdown-escaped page text (``md_escape``) as the reader sees it."""
    return re.sub(r"\\(.)", r"\1", text)


def errors(at: AppTest) -> list[str]:
    return [plain(e.value) for e in at.error]


def run_page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=90).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.usefixtures("no_embedded_tables")
def test_page_without_a_table_shows_the_import_command(isolated_home: Path) -> None:
    at = run_page()
    assert at.warning and "No benchmark table" in at.warning[0].value
    assert any(recommended_import("nb201") in code.value for code in at.code)
    assert not at.button


def test_page_runs_a_search_and_shows_it(nb201_home: Path) -> None:
    at = run_page()
    assert at.selectbox(key="search_algo").options == list(strategy_names())
    assert at.selectbox(key="search_dataset_nb201").value == "cifar10"
    assert at.selectbox(key="search_signal_nb201_cifar10").value == "accuracy/cifar10/valid/12ep"
    assert at.selectbox(key="search_reported_nb201_cifar10").value == REPORTED
    at.selectbox(key="search_algo").set_value("random")
    at.number_input(key="search_budget").set_value(20)
    at.text_input(key="search_seeds").input("0, 1")
    at.button(key="search_start").click().run()
    assert not at.exception and not at.error
    runs = RunStore().list_runs()
    assert sorted(r.seed for r in runs) == [0, 1]
    job = list_jobs()[0]
    job.thread.join(60)
    at.run()
    assert not at.exception and not at.error
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Queries"] == "20 / 20" and metrics["Status"] == "finished"
    # the shown run's best cell ranked among the table's cells by signal (random search: rarely in the top 100)
    signal = load_table("nb201").values("accuracy/cifar10/valid/12ep")
    ranks = set()
    for run in runs:
        better = int((signal > max(q.signal for q in RunStore().queries(run.id)) + 1e-9).sum())
        ranks.add(str(better + 1) if better < 100 else "> 100")
    assert metrics["Rank by signal"] in ranks
    assert len(at.get("plotly_chart")) >= 3  # best so far, all queries, comparison
    assert sum("nasviz-cell-drawing" in m.value for m in at.markdown) >= 4  # latest candidates
    table = at.dataframe[0].value
    assert list(table["strategy"]) == ["random"] and table.loc[0, "runs"] == 2


def test_page_constrained_run_and_bad_config(nb201_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import nasviz.encoders.store

    def no_model(space: str, encoder: str) -> None:
        raise DataError(f"no trained {encoder} model for {space}; train one with `nasviz encoders train ...`")

    monkeypatch.setattr(nasviz.encoders.store, "load_embeddings", no_model)
    at = run_page()
    at.selectbox(key="search_algo").set_value("arch2vec-bo")
    at.button(key="search_start").click().run()
    assert at.error and "no trained arch2vec model for nb201" in errors(at)[0]
    at.selectbox(key="search_algo").set_value("re").run()
    at.number_input(key="search_budget").set_value(3)
    at.button(key="search_start").click().run()
    assert at.error and "initial sample of re (20 queries)" in errors(at)[0]
    assert RunStore().list_runs() == []
    at.radio(key="search_constraint").set_value("latency").run()
    at.selectbox(key="search_device_nb201").set_value("pixel3").run()
    at.number_input(key="search_latency_nb201_pixel3").set_value(0.001).run()
    fastest = float(np.nanmin(load_table("nb201").values("latency/pixel3/cifar10")))
    assert errors(at) == [f"No nb201 cell has latency <= 0.001 ms on pixel3 (latency/pixel3/cifar10): the table's fastest "
                          f"cell takes {fastest:.4g} ms on pixel3; raise the limit to at least {fastest:.4g} ms"]  # before Start
    at.number_input(key="search_budget").set_value(30)
    at.button(key="search_start").click().run()
    assert len(at.error) == 2 and errors(at)[1].startswith("Cannot start the search: no nb201 cell has latency <= 0.001 ms")
    at.number_input(key="search_latency_nb201_pixel3").set_value(5.0)
    at.button(key="search_start").click().run()
    assert not at.error
    list_jobs()[0].thread.join(60)
    at.run()
    assert not at.exception and not at.error
    info = RunStore().list_runs()[0]
    assert info.config["constraint"]["device"] == "pixel3" and info.queries == 30
    assert any("Feasibility ratio" in m.value for m in at.markdown)


def test_feasibility_per_iteration_or_per_window(nb201_home: Path) -> None:
    from nasviz.search import QueryRecord
    from nasviz.search.jobs import feasibility_frame

    def record(query: int, iteration: int, feasible: bool) -> QueryRecord:
        return QueryRecord(run_id=1, query=query, iteration=iteration, time=0.0, cell_id=str(query), cell={},
                           signal=1.0, reported={}, latency=1.0, predictor_score=None, feasible=feasible)

    single = feasibility_frame([record(q, q, q % 4 == 0) for q in range(25)], window=10)
    assert single.attrs["by"] == "queries (windows of 10)"
    assert list(single["step"]) == [10, 20, 25] and list(single["feasible"]) == [3, 2, 2]
    assert single["ratio"].tolist() == pytest.approx([0.3, 0.2, 0.4])
    batched = feasibility_frame([record(q, q // 16, q < 20) for q in range(32)])
    assert batched.attrs["by"] == "iteration" and list(batched["step"]) == [0, 1]
    assert batched["ratio"].tolist() == pytest.approx([1.0, 4 / 16])


def setting(at: AppTest, kind: str, algo: str, name: str):  # noqa: ANN201 - an AppTest widget
    return getattr(at, kind)(key=f"search_setting_{algo}_{name}")


def test_page_strategy_settings_are_typed_widgets_that_reach_the_run(nb201_home: Path) -> None:
    at = run_page()
    assert not at.text_area  # no free text box: one widget per declared setting
    at.selectbox(key="search_algo").set_value("re").run()
    population = setting(at, "number_input", "re", "population_size")
    assert (population.value, population.min, population.max) == (20, 2, 100_000)
    assert setting(at, "selectbox", "re", "infeasible_order").options == ["agnet", "violation"]
    at.number_input(key="search_budget").set_value(25)
    population.set_value(10)
    setting(at, "number_input", "re", "sample_size").set_value(15)
    at.button(key="search_start").click().run()
    assert at.error and "1 <= sample_size <= population_size, got 10 and 15" in errors(at)[0]
    assert RunStore().list_runs() == []
    setting(at, "number_input", "re", "sample_size").set_value(4)
    at.run()
    assert any("nasviz search --algo re --set population_size=10 --set sample_size=4" in c.value for c in at.code)
    at.button(key="search_start").click().run()
    assert not at.error
    list_jobs()[0].thread.join(60)
    info = RunStore().list_runs()[0]
    assert info.config["settings"] == {"population_size": 10, "sample_size": 4} and info.queries == 25  # changed ones
    assert info.config["preset"] is None and info.config["strategy"]["settings"]["mutation_tries"] == 100
    # a list setting is text, converted (and checked) by its declared type at Start
    at.selectbox(key="search_algo").set_value("gp-bo").run()
    assert setting(at, "toggle", "gp-bo", "skip_degenerate").value is False
    assert setting(at, "selectbox", "gp-bo", "latency_model").options == ["log", "raw"]
    setting(at, "text_input", "gp-bo", "linear_weights").input("0, 2")
    at.button(key="search_start").click().run()
    assert at.error and errors(at)[-1].startswith("Cannot start the search: strategy gp-bo: setting linear_weights "
                                                  "must be a list of numbers")
    assert len(RunStore().list_runs()) == 1


def test_page_preset_selector_fills_the_widgets_and_the_run_records_it(nb201_home: Path) -> None:
    at = run_page()
    at.selectbox(key="search_preset").set_value("gp-bo-constrained").run()
    assert not at.exception and at.selectbox(key="search_algo").value == "gp-bo"
    assert setting(at, "toggle", "gp-bo", "skip_degenerate").value is True
    assert setting(at, "selectbox", "gp-bo", "latency_model").value == "raw"
    assert setting(at, "number_input", "gp-bo", "min_feasible_probability_until").value == 96
    assert setting(at, "number_input", "gp-bo", "dead_code_encodings_below").value == pytest.approx(0.1)
    assert any("Pixel 3" in plain(c.value) and "Source: " in plain(c.value) for c in at.caption)  # its figures
    assert any("meant for a latency limit" in i.value for i in at.info)
    at.radio(key="search_constraint").set_value("latency").run()
    at.selectbox(key="search_device_nb201").set_value("pixel3").run()
    at.number_input(key="search_latency_nb201_pixel3").set_value(4.0)
    at.number_input(key="search_budget").set_value(18)
    setting(at, "number_input", "gp-bo", "min_feasible_probability_until").set_value(50)
    at.button(key="search_start").click().run()
    assert not at.exception and not at.error, errors(at)
    list_jobs()[0].thread.join(120)
    info = RunStore().list_runs()[0]
    assert info.strategy == "gp-bo-constrained" and info.config["preset"] == "gp-bo-constrained"
    assert info.config["settings"] == {"latency_model": "raw", "min_feasible_probability": 0.5, "skip_degenerate": True,
                                       "min_feasible_probability_until": 50, "dead_code_encodings_below": 0.1}
    assert info.queries == 18
    # another strategy: the preset selector goes back to none; choosing none again restores the defaults
    at.selectbox(key="search_algo").set_value("agnet").run()
    assert at.selectbox(key="search_preset").value == "none"
    at.selectbox(key="search_preset").set_value("agnet-8-late").run()
    assert at.selectbox(key="search_algo").value == "agnet"
    assert setting(at, "number_input", "agnet", "late_after").value == 100
    assert setting(at, "number_input", "agnet", "round_size").value == 8
    at.selectbox(key="search_preset").set_value("none").run()
    assert setting(at, "number_input", "agnet", "late_after").value == 0
    assert setting(at, "number_input", "agnet", "round_size").value == 16


# ---- hostile input and broken files (issue 18) -----------------------------------------------------

def test_seed_range_is_counted_before_it_is_built(nb201_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import nasviz.search.jobs

    def refuse(text: str) -> list[int]:  # the page must refuse the text before it reaches the range-building parser
        raise AssertionError(f"parse_seeds called with {text!r}")

    at = run_page()
    monkeypatch.setattr(nasviz.search.jobs, "parse_seeds", refuse)
    at.selectbox(key="search_algo").set_value("random")
    at.number_input(key="search_budget").set_value(20)
    for text, shown in (("0-10000000", "names 10,000,001"), ("0-3, 5, 7-100", "names 99"),
                        (", ".join(map(str, range(60))), "names 60")):
        at.text_input(key="search_seeds").input(text)
        at.button(key="search_start").click().run()
        assert not at.exception, [e.value for e in at.exception]
        assert errors(at) and errors(at)[-1].startswith("Cannot start the search: ") and shown in errors(at)[-1]
    assert RunStore().list_runs() == [] and list_jobs(alive_only=True) == []


def test_check_seed_text() -> None:
    from nasviz.ui.search import check_seed_text

    check_seed_text("0-49")
    check_seed_text("0, 1, 2; 10-20")
    check_seed_text("7, " * 130)  # one seed, repeated
    for bad in ("0-50", "0-999999999999999999", ", ".join(map(str, range(51)))):
        with pytest.raises(ConfigError, match="at most 50 seeds"):
            check_seed_text(bad)
    with pytest.raises(ConfigError, match="holds 600 characters"):
        check_seed_text("1," * 300)


def test_corrupt_run_store_is_a_message(nb201_home: Path) -> None:
    store_path = nb201_home / "runs.sqlite"
    store_path.write_bytes(np.random.default_rng(0).bytes(8192))
    at = run_page()
    shown = errors(at)
    assert shown and all("Cannot open the run store" in text and str(store_path) in text for text in shown)
    assert "not a usable nasviz run store" in shown[0] and f"mv {store_path} {store_path}.broken" in shown[0]
    assert at.button(key="search_start")  # the form is still there
    at.button(key="search_start").click().run()
    assert not at.exception and store_path.read_bytes()[:16] != b"SQLite format 3\x00"  # nothing written over it


def test_corrupt_table_is_a_message(nb201_home: Path) -> None:
    from nasviz.data import clear_cache, table_path

    clear_cache()
    table_path("nb201").write_bytes(np.random.default_rng(1).bytes(8192))
    at = run_page()
    assert not at.exception, [e.value for e in at.exception]
    shown = errors(at)
    assert shown and shown[0].startswith("Cannot read the nb201 benchmark table: ") and str(table_path("nb201")) in shown[0]
    assert "Remove it with `nasviz data remove nb201`" in shown[0]
    assert not at.button  # nothing to start a search with


def test_few_feasible_cells_are_warned(nb201_home: Path) -> None:
    at = run_page()
    at.radio(key="search_constraint").set_value("latency").run()
    at.selectbox(key="search_device_nb201").set_value("pixel3").run()
    latency = load_table("nb201").values("latency/pixel3/cifar10")
    limit = float(np.sort(latency[~np.isnan(latency)])[4])  # the 5 fastest cells
    at.number_input(key="search_latency_nb201_pixel3").set_value(limit).run()
    count = int((latency <= limit).sum())
    assert not at.error and at.warning
    assert plain(at.warning[0].value).startswith(f"Only {count} of 15,625 cells")


def test_no_finished_run_names_a_real_command(nb201_home: Path) -> None:
    from typer.testing import CliRunner

    at = run_page()
    text = next(plain(i.value) for i in at.info if "No finished run yet" in i.value)
    command = re.search(r"`(nasviz [^`]+)` on the command line", text).group(1)
    from nasviz.cli.main import app as cli

    result = CliRunner().invoke(cli, command.split()[1:])  # the command as shown runs
    assert result.exit_code == 0, result.output
    assert len(RunStore().list_runs()) >= 1
