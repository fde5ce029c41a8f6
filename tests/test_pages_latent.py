"""AppTest of the Latent Space and Neighbour Walk pages, on small NB201 embeddings made in the test's NASVIZ_HOME
(one-hot edge ops, and a seeded random projection of them as a second encoder)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from nasviz import projection
from nasviz.encoders.store import EmbeddingSet, user_model_dir, write_manifest
from nasviz.spaces.nb201 import OPS, cell_from_index

ROOT = Path(__file__).resolve().parents[1]
LATENT = str(ROOT / "views" / "2_Latent_Space.py")
WALK = str(ROOT / "views" / "3_Neighbour_Walk.py")
N_CELLS = 1500


@pytest.fixture(autouse=True)
def fresh_streamlit_caches() -> None:
    """Streamlit caches live in the process: clear them so no test sees another test's NASVIZ_HOME."""
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()


def _store(encoder: str, ids: list[str], vectors: np.ndarray) -> None:
    directory = user_model_dir("nb201", encoder)
    directory.mkdir(parents=True, exist_ok=True)
    write_manifest(directory, {"space": "nb201", "encoder": encoder, "seed": 0})
    EmbeddingSet("nb201", encoder, np.array(ids), vectors.astype(np.float32)).save(directory)


@pytest.fixture()
def models() -> list[str]:
    """Two encoders of 1,500 NB201 cells (ids 0..1499 plus the best CIFAR-10 cell 6111) with cached PCA."""
    ids = [str(i) for i in range(N_CELLS - 1)] + ["6111"]
    one_hot = np.zeros((len(ids), 30), dtype=np.float32)
    for row, cell_id in enumerate(ids):
        for edge, op in enumerate(cell_from_index(int(cell_id)).ops):
            one_hot[row, 5 * edge + OPS.index(op)] = 1.0
    rng = np.random.default_rng(0)
    _store("onehot", ids, one_hot)
    _store("mixed", ids, one_hot @ rng.normal(size=(30, 8)) + rng.normal(scale=0.3, size=(len(ids), 8)))
    for encoder in ("onehot", "mixed"):
        projection.get_projection("nb201", encoder, "pca")
    return ids


@pytest.fixture()
def table(nb201_csv: Path) -> None:
    """The real NB201 CIFAR-10 200-epoch test accuracy as the space's benchmark table."""
    from nasviz.data import MetricSpec, build_table, clear_cache, save_table

    with open(nb201_csv, newline="") as fh:
        rows = list(csv.DictReader(fh))
    spec = MetricSpec("accuracy", "cifar10", "test", 200)
    save_table(build_table("nb201", cell_ids=[r["index"] for r in rows], metrics=[spec],
                           columns={spec.key: [float(r["c10_test_200ep"]) for r in rows]}))
    clear_cache()


def run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def latent_page() -> AppTest:
    at = AppTest.from_file(LATENT, default_timeout=90)
    at.session_state["latent_encoder_nb201"] = "onehot"
    return at


def captions(at: AppTest) -> str:
    return "\n".join(c.value for c in at.caption)


def drawings(at: AppTest) -> int:
    bodies = [h.proto.body for h in at.html] + [m.value for m in at.markdown]
    return sum("nasviz-cell-drawing" in body for body in bodies)


def test_latent_page_without_models_says_how_to_train(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import nasviz.encoders.store as store

    monkeypatch.setattr(store, "MODELS_DIR", tmp_path / "no_shipped_models")
    at = run(AppTest.from_file(LATENT, default_timeout=60))
    assert any("nasviz encoders train arch2vec --space nb201" in w.value for w in at.warning)


def test_latent_map_selection_and_filters(models: list[str], table: None) -> None:
    at = run(latent_page())
    assert len(at.get("plotly_chart")) == 1
    assert f"{N_CELLS:,} of {N_CELLS:,} cells shown" in captions(at)
    assert at.selectbox(key="latent_color_nb201").value == "accuracy/cifar10/test/200ep"
    assert any("Click a point" in i.value for i in at.info)
    # a selection carried in (as a click would make): table, drawings and the walk hand-over
    at.session_state["latent_selection_nb201"] = ["6111", "0"]
    run(at)
    table_frame = at.dataframe[0].value
    assert list(table_frame["cell_id"]) == ["6111", "0"]
    assert table_frame.iloc[0, 2] == pytest.approx(94.3733, abs=1e-3)  # real NB201 optimum
    assert drawings(at) == 2
    at.button(key="latent_open_walk").click()
    at.run()
    assert at.session_state["walk_start"]["cell_id"] == "6111"
    # metric-range filter: cells outside the range are greyed out
    at = run(latent_page())
    at.multiselect(key="latent_filters_nb201").set_value(["accuracy/cifar10/test/200ep"])
    run(at)
    at.slider(key="range_nb201_accuracy/cifar10/test/200ep").set_value((90.0, 94.0))
    run(at)
    from nasviz.data import load_table

    accuracy = np.array([load_table("nb201").lookup(c, "accuracy/cifar10/test/200ep") for c in models])
    expected = int(((accuracy >= 90.0) & (accuracy <= 94.0)).sum())
    assert 0 < expected < N_CELLS
    assert f"{expected:,} of {N_CELLS:,} cells shown (filters applied)" in captions(at)


def test_latent_density_and_two_encoders(models: list[str]) -> None:
    at = latent_page()
    at.session_state["latent_view"] = "Binned mean (density)"
    at.session_state["latent_color_nb201"] = "cost/params/cifar10"
    at.session_state["latent_compare"] = True
    at.session_state["latent_second_nb201"] = "mixed"
    run(at)
    assert len(at.get("plotly_chart")) == 2
    assert "non-empty bins of 2,601" in captions(at)
    at.toggle(key="latent_top").set_value(True)
    run(at)
    at.radio(key="latent_view").set_value("Points")
    run(at)
    assert len(at.get("plotly_chart")) == 2


def test_latent_missing_projection_computes_in_background(models: list[str]) -> None:
    at = latent_page()
    at.session_state["latent_method_nb201_onehot"] = "umap"
    try:
        run(at)
        job = projection.get_job("nb201", "onehot", "umap")
        assert job is not None
        assert "Showing PCA for onehot while UMAP is computed" in captions(at)
        assert len(at.get("plotly_chart")) == 1  # the page never blocks: PCA meanwhile
    finally:
        job = projection.get_job("nb201", "onehot", "umap")
        if job is not None:
            job.cancel()


def test_latent_stale_projection_is_reported(models: list[str]) -> None:
    directory = user_model_dir("nb201", "onehot")
    embeddings = EmbeddingSet.load(directory)
    EmbeddingSet("nb201", "onehot", embeddings.cell_ids, embeddings.vectors * 2).save(directory)
    at = run(latent_page())
    assert any("computed from other embeddings" in w.value for w in at.warning)
    assert projection.cached_projection("nb201", "onehot", "pca").status == "hit"  # recomputed


def walk_page() -> AppTest:
    return AppTest.from_file(WALK, default_timeout=90)


def test_walk_page_from_carried_cell(models: list[str], table: None) -> None:
    at = walk_page()
    at.session_state["walk_start"] = {"space": "nb201", "cell_id": "6111", "encoder": "onehot", "time": 1.0}
    run(at)
    assert at.text_input(key="walk_start_text_nb201").value == "6111"
    metrics = {m.label: m.value for m in at.metric}
    # one-hot vectors: the nearest unvisited cell of the table is always one edit away... when the table holds one
    assert float(metrics["onehot: mean edit distance per step"]) >= 1.0
    assert drawings(at) == 16
    steps = at.dataframe[0].value
    assert list(steps["step"]) == list(range(16)) and steps["cell_id"].iloc[0] == "6111"
    assert steps["cell_id"].is_unique
    assert at.query_params["cell"] == ["6111"] or at.query_params["cell"] == "6111"
    # the same walk under two encoders, side by side
    at.toggle(key="walk_compare").set_value(True)
    at.session_state["walk_second_nb201"] = "mixed"
    run(at)
    labels = [m.label for m in at.metric]
    assert "mixed: mean edit distance per step" in labels and drawings(at) == 32
    # L2 versus edit distance
    at.toggle(key="walk_l2").set_value(True)
    run(at)
    assert len(at.get("plotly_chart")) == 2


def test_walk_page_start_from_url_and_bad_cells(models: list[str]) -> None:
    at = walk_page()
    at.query_params["space"] = "nb201"
    at.query_params["cell"] = "17"
    at.query_params["encoder"] = "mixed"
    run(at)
    assert at.selectbox(key="walk_encoder_nb201").value == "mixed"
    assert at.dataframe[0].value["cell_id"].iloc[0] == "17"
    for text, message in (("|nor_conv_3x3~0|+|", "malformed NB201 arch string"),
                          ("99999", "out of range"),
                          (cell_from_index(9000).arch_str, "has no mixed embedding")):
        at.text_input(key="walk_start_text_nb201").set_value(text)
        run(at)
        assert any(message in e.value for e in at.error), (text, [e.value for e in at.error])


def test_walk_page_decodes_with_a_shipped_decoder(models: list[str]) -> None:
    from nasviz.encoders.store import find_model_dir

    if find_model_dir("nb201", "arch2vec") is None:
        pytest.skip("no trained arch2vec model for nb201 (models/nb201/arch2vec)")
    at = walk_page()
    at.session_state["walk_start"] = {"space": "nb201", "cell_id": "6111", "encoder": "arch2vec", "time": 2.0}
    at.session_state["walk_steps"] = 3
    at.session_state["walk_decode"] = True
    at.session_state["walk_end_text_nb201"] = "0"
    at.session_state["walk_decode_steps"] = 4
    run(at)
    metrics = {m.label: m.value for m in at.metric}
    valid = float(metrics["Valid decodes"].rstrip("%")) / 100
    invalid = int(metrics["Invalid decodes"])
    decoded = at.dataframe[1].value
    assert len(decoded) == 5 and decoded["t"].tolist() == pytest.approx([0, 0.25, 0.5, 0.75, 1.0])
    assert invalid == int((~decoded["valid"]).sum()) and valid == pytest.approx(decoded["valid"].mean(), abs=0.01)
    assert drawings(at) == 4 + int(decoded["valid"].sum())


# ---- the page's backend (nasviz.latent) ---------------------------------------------------------

@pytest.mark.usefixtures("no_embedded_tables")  # checks the colours offered with no table at all
def test_cost_metrics_and_labels_match_the_space() -> None:
    from nasviz import latent
    from nasviz.spaces import get_space

    space = get_space("nb201")
    ids = [str(i) for i in np.random.default_rng(0).choice(15_625, 300, replace=False)]
    for kind in ("params", "flops"):
        for dataset in ("cifar10", "ImageNet16-120"):
            values = latent.metric_values("nb201", f"cost/{kind}/{dataset}", ids)
            exact = [getattr(space.cost(cell_from_index(int(c)), dataset), kind) / 1e6 for c in ids]
            assert np.array_equal(values, np.array(exact))
    assert latent.cell_labels("nb201", ids) == [cell_from_index(int(c)).arch_str for c in ids]
    choices = latent.metric_choices("nb201")
    assert latent.default_metric(choices).key == "cost/params/cifar10"  # no table imported: exact params
    with pytest.raises(Exception, match="no benchmark table imported for nb201"):
        latent.metric_values("nb201", "accuracy/cifar10/test/200ep", ids)


def test_binned_mean_by_hand() -> None:
    from nasviz.latent import binned_mean

    x = np.array([-0.9, -0.8, 0.9, 0.95, 0.1, 1.0])
    y = np.array([-0.9, -0.9, 0.9, 0.9, 0.1, -1.0])
    values = np.array([1.0, 3.0, 10.0, np.nan, 5.0, 7.0])
    binned = binned_mean(x, y, values, bins=2)
    # rows are y bins (bottom first), columns x bins: NaN values are ignored, x = 1.0 falls in the last bin
    assert binned.counts.tolist() == [[2, 1], [0, 2]]
    assert binned.mean[0, 0] == 2.0 and binned.mean[0, 1] == 7.0 and binned.mean[1, 1] == 7.5
    assert np.isnan(binned.mean[1, 0])
    assert binned.x_centres.tolist() == [-0.5, 0.5]
    grid = binned.to_frame()  # one row per bin, row-major: what the density figure's CSV holds
    assert grid[["y", "x", "cells"]].values.tolist() == [[-0.5, -0.5, 2], [-0.5, 0.5, 1], [0.5, -0.5, 0], [0.5, 0.5, 2]]
    assert grid["mean"].tolist()[:2] == [2.0, 7.0] and np.isnan(grid["mean"][2])


def test_walk_drawing_is_one_vector_document() -> None:
    from nasviz.latent import walk_drawing

    cells = [cell_from_index(i) for i in (6111, 6112, 17)]
    pdf = walk_drawing("nb201", [*cells, None], ["a", "b", "c", "invalid"], "pdf", title="walk")
    assert pdf.startswith(b"%PDF")
    svg = walk_drawing("nb201", cells, ["step 0", "step 1", "step 2"], "svg").decode()
    assert svg.count("step ") == 3 and "was " in svg  # changed ops are labelled with the op they replace


# ---- issue 18: state, hand-overs and failures -----------------------------------------------------

def plain(markdown: str) -> str:
    """Markdown-escaped text (md_escape) as the reader sees it."""
    import re

    return re.sub(r"\\(.)", r"\1", markdown)


def first_walk_cell(at: AppTest) -> str:
    return str(at.dataframe[0].value["cell_id"].iloc[0])


def test_walk_start_edits_all_take_and_a_space_change_sticks(models: list[str]) -> None:
    """Every edit of the start cell takes (the page's own ?cell= is never read back as a new start)."""
    at = run(walk_page())
    assert first_walk_cell(at) == "0"
    for start in ("6111", "17", "100", "6111"):
        at.text_input(key="walk_start_text_nb201").set_value(start)
        run(at)
        assert at.text_input(key="walk_start_text_nb201").value == start
        assert first_walk_cell(at) == start
        assert at.query_params["cell"] in (start, [start])
    at.selectbox(key="space").set_value("darts")  # no encoder for DARTS in this home: a hint, and it stays
    run(at)
    assert at.selectbox(key="space").value == "darts"
    assert any("nasviz encoders train arch2vec --space darts" in w.value for w in at.warning)
    at.selectbox(key="space").set_value("nb201")
    run(at)
    assert first_walk_cell(at) == "6111"  # the start of nb201 is kept


def test_walk_offers_the_latent_selection_as_start(models: list[str]) -> None:
    at = walk_page()
    at.session_state["latent_selection_nb201"] = ["6111", "17"]
    run(at)
    assert first_walk_cell(at) == "6111"  # the first selected cell is the default start
    at.selectbox(key="walk_from_selection_nb201").set_value("17")
    run(at)
    assert at.text_input(key="walk_start_text_nb201").value == "17" and first_walk_cell(at) == "17"


@pytest.mark.parametrize("page", [LATENT, WALK])
def test_corrupt_embeddings_are_a_message_not_a_traceback(models: list[str], page: str) -> None:
    (user_model_dir("nb201", "onehot") / "embeddings.npz").write_bytes(b"PK\x03\x04 not really a zip" * 40)
    at = AppTest.from_file(page, default_timeout=90)
    at.session_state["latent_encoder_nb201"] = "onehot"
    at.session_state["walk_encoder_nb201"] = "onehot"
    run(at)
    errors = [plain(e.value) for e in at.error]
    assert any("corrupt embeddings file" in e and "onehot/embeddings.npz" in e for e in errors), errors


@pytest.mark.parametrize("page", [LATENT, WALK])
def test_nat_space_lists_no_policy_as_an_encoder(page: str) -> None:
    at = AppTest.from_file(page, default_timeout=90)
    at.session_state["space"] = "nat"
    run(at)
    assert not at.error, [e.value for e in at.error]
    assert any("No encoder embeds" in w.value or "No trained encoder" in w.value for w in at.warning)


def test_encoder_listing_skips_folders_without_embeddings() -> None:
    from nasviz.encoders.store import available_encoders

    policy = user_model_dir("nat", "my-policy")
    policy.mkdir(parents=True)
    write_manifest(policy, {"space": "nat", "rule": "paper"})
    (policy / "policy.npz").write_bytes(b"")
    assert "my-policy" not in available_encoders("nat")
    assert "nat-paper" not in available_encoders("nat")  # the shipped NAT policy
    _store("onehot", ["0", "1"], np.eye(2, 30))
    assert available_encoders("nb201")[:0] == [] and "onehot" in available_encoders("nb201")


def test_garbage_embeddings_file_is_a_data_error() -> None:
    from nasviz.errors import DataError

    directory = user_model_dir("nb201", "broken")
    directory.mkdir(parents=True)
    write_manifest(directory, {"space": "nb201", "encoder": "broken"})
    for garbage in (b"garbage" * 50, b"PK\x03\x04" + b"\x00" * 100):
        (directory / "embeddings.npz").write_bytes(garbage)
        with pytest.raises(DataError, match="corrupt embeddings file"):
            EmbeddingSet.load(directory)
    np.savez(directory / "embeddings.npz", cell_ids=np.array(["0", "1"]), vectors=np.array(["a", "b"]))
    with pytest.raises(DataError, match="numeric n x d"):
        EmbeddingSet.load(directory)


@pytest.fixture()
def table3(nb201_csv: Path) -> dict[str, np.ndarray]:
    """The real NB201 CIFAR-10 and ImageNet16-120 test accuracies and Pixel 3 latency as the benchmark table."""
    from nasviz.data import MetricSpec, build_table, clear_cache, save_table

    with open(nb201_csv, newline="") as fh:
        rows = list(csv.DictReader(fh))
    specs = {"c10_test_200ep": MetricSpec("accuracy", "cifar10", "test", 200),
             "in16_test_200ep": MetricSpec("accuracy", "ImageNet16-120", "test", 200),
             "lat_pixel3": MetricSpec("latency", device="pixel3")}
    columns = {s.key: [float(r[c]) for r in rows] for c, s in specs.items()}
    save_table(build_table("nb201", cell_ids=[r["index"] for r in rows], metrics=list(specs.values()), columns=columns))
    clear_cache()
    return {k: np.array(v) for k, v in columns.items()}


def test_latency_colour_shows_cifar10_accuracy(models: list[str], table3: dict[str, np.ndarray]) -> None:
    """Beside a latency colour, the hover, table and CSV show CIFAR-10 accuracy (not ImageNet16-120)."""
    at = latent_page()
    at.session_state["latent_color_nb201"] = "latency/pixel3"
    at.session_state["latent_selection_nb201"] = ["6111"]
    run(at)
    table = at.dataframe[0].value
    assert "CIFAR-10 test accuracy, 200 epochs (%)" in table.columns
    assert not any("ImageNet16-120" in c for c in table.columns)
    assert table["CIFAR-10 test accuracy, 200 epochs (%)"].iloc[0] == pytest.approx(94.3733, abs=1e-3)
    fig = at.get("plotly_chart")[0].proto.spec
    assert "CIFAR-10 test accuracy" in fig and "ImageNet16-120 test accuracy" not in fig


def test_colour_by_is_grouped_by_dataset_cifar10_first(table3: dict[str, np.ndarray]) -> None:
    from nasviz import latent

    choices = latent.metric_choices("nb201")
    datasets = [c.dataset for c in choices]
    assert datasets[0] == "cifar10" and choices[0].key == "accuracy/cifar10/test/200ep"
    # each dataset's metrics are contiguous: cifar10, cifar100, ImageNet16-120, then the device latency
    groups = list(dict.fromkeys(datasets))
    assert groups == ["cifar10", "cifar100", "ImageNet16-120", None]
    assert latent.grouped_label(choices[0]) == "CIFAR-10 test accuracy, 200 epochs (%)"
    params = next(c for c in choices if c.key == "cost/params/cifar10")
    assert latent.grouped_label(params) == "CIFAR-10 · Parameters, cifar10 network (M, exact)"
    assert latent.hover_metrics(choices, "latency/pixel3") == (
        "latency/pixel3", "accuracy/cifar10/test/200ep", "cost/params/cifar10")


def test_default_colour_range_leaves_out_failed_cells(table3: dict[str, np.ndarray]) -> None:
    from nasviz import latent

    c10 = table3["accuracy/cifar10/test/200ep"]
    failed = latent.failed_mask(c10, higher_is_better=True)
    assert 0.01 < failed.mean() < 0.05 and np.all(c10[failed] == c10.min())  # 2.2 % of NB201 cells score 10 %
    low, high = latent.robust_range(c10, higher_is_better=True)
    assert low == pytest.approx(np.percentile(c10[~failed], 2)) and low > 60 and high == pytest.approx(c10.max())
    latency = table3["latency/pixel3"]
    assert not latent.failed_mask(latency, higher_is_better=False).any()
    assert latent.robust_range(latency) == (pytest.approx(latency.min()), pytest.approx(np.percentile(latency, 98)))


def test_colour_scale_log_and_reverse() -> None:
    import pandas as pd

    from nasviz import latent

    frame = pd.DataFrame({"cell_id": ["0", "1", "2"], "x": [0.0, 0.5, -0.5], "y": [0.0, 0.1, 0.2], "cell": ["a", "b", "c"],
                          "m": [1.0, 10.0, 100.0]})
    fig = latent.map_figure(frame, "m", color_scale=latent.ColorScale((1.0, 100.0), log=True, reverse=True))
    marker = fig.data[-1].marker
    assert list(marker.color) == [0.0, 1.0, 2.0] and (marker.cmin, marker.cmax) == (0.0, 2.0)
    assert marker.reversescale is True and "1" in marker.colorbar.ticktext and "100" in marker.colorbar.ticktext
    plain_fig = latent.map_figure(frame, "m", color_scale=latent.ColorScale((2.0, 50.0)))
    assert (plain_fig.data[-1].marker.cmin, plain_fig.data[-1].marker.cmax) == (2.0, 50.0)


def test_latent_colour_controls_and_select_by_id(models: list[str], table: None) -> None:
    at = run(latent_page())
    low = at.number_input(key="latent_cmin_nb201_accuracy/cifar10/test/200ep").value
    assert low > 60  # not the 10 % of the failed cells
    at.toggle(key="latent_reverse_nb201").set_value(True)
    run(at)
    assert '"reversescale":true' in at.get("plotly_chart")[0].proto.spec.replace(" ", "")
    at.text_input(key="latent_ids_nb201").set_value("6111, 17 99999 |nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|"
                                                    "+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|")
    run(at)
    assert list(at.dataframe[0].value["cell_id"]) == ["6111", "17"]  # the arch string is cell 6111 again
    assert any("99999" in plain(w.value) for w in at.warning)
    assert drawings(at) == 2
    assert at.session_state["latent_selection_nb201"] == ["6111", "17"]  # offered on the Neighbour Walk


def test_latent_page_names_the_training_command_not_a_missing_page(monkeypatch: pytest.MonkeyPatch,
                                                                   tmp_path: Path) -> None:
    import nasviz.encoders.store as store

    monkeypatch.setattr(store, "MODELS_DIR", tmp_path / "no_shipped_models")
    at = run(AppTest.from_file(LATENT, default_timeout=60))
    assert not any("Encoders page" in w.value for w in at.warning)


def test_selected_drawing_can_be_enlarged(models: list[str]) -> None:
    at = latent_page()
    at.session_state["latent_selection_nb201"] = ["6111", "17"]
    run(at)
    assert drawings(at) == 2
    at.button(key="latent_enlarge_6111").click()
    run(at)
    assert drawings(at) == 3  # the enlarged one, with its downloads, in a dialog
    assert {b.proto.label for b in at.get("download_button")} >= {"SVG", "PDF", "PNG"}


def test_an_embeddings_zip_bomb_is_refused_before_inflating(tmp_path: Path) -> None:
    """A small embeddings.npz whose member inflates past the limit is a DataError naming the file, read no further."""
    import zipfile

    from nasviz.encoders import store
    from nasviz.errors import DataError

    folder = tmp_path / "nb201" / "bomb"
    folder.mkdir(parents=True)
    header = ("{'descr': '<f4', 'fortran_order': False, 'shape': (281600000,), }".ljust(117) + "\n").encode()
    with zipfile.ZipFile(folder / "embeddings.npz", "w", compression=zipfile.ZIP_DEFLATED) as archive, \
            archive.open("vectors.npy", "w", force_zip64=True) as member:
        member.write(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header)
        block = bytes(1 << 20)
        for _ in range(1100):  # a valid 1.1 GB float32 array of zeros, about 1 MB on disk
            member.write(block)
    with pytest.raises(DataError, match="embeddings.npz: .*refused before inflating"):
        store.EmbeddingSet.load(folder)
