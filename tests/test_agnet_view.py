"""AG-Net on the Latent Space page: generated cells placed on another encoder's map, and the accuracy shift of
weighted retraining (nasviz.agnet_view), plus the page section; the interpolation walk in z and the NAO
gradient-ascent walk on the Neighbour Walk page."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from streamlit.testing.v1 import AppTest

from nasviz import agnet_view, latent, projection
from nasviz.encoders.store import EmbeddingSet, find_model_dir, user_model_dir, write_manifest
from nasviz.spaces.nb201 import OPS, cell_from_index

ROOT = Path(__file__).resolve().parents[1]
LATENT = str(ROOT / "views" / "2_Latent_Space.py")
WALK = str(ROOT / "views" / "3_Neighbour_Walk.py")
ACC_KEY = "accuracy/cifar10/test/200ep"

pytestmark = pytest.mark.skipif(find_model_dir("nb201", "agnet") is None, reason="no shipped AG-Net model for nb201")


@pytest.fixture(autouse=True)
def fresh_streamlit_caches() -> None:
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture(scope="module")
def agnet():  # noqa: ANN201 - AGNetEncoder
    torch.set_num_threads(1)
    return agnet_view.load_agnet("nb201")


def _onehot_map(ids: list[str]) -> pd.DataFrame:
    """A one-hot 'encoder' of ``ids`` stored in NASVIZ_HOME with its PCA projection; returns the map frame."""
    vectors = np.zeros((len(ids), 30), dtype=np.float32)
    for row, cell_id in enumerate(ids):
        for edge, op in enumerate(cell_from_index(int(cell_id)).ops):
            vectors[row, 5 * edge + OPS.index(op)] = 1.0
    directory = user_model_dir("nb201", "onehot")
    directory.mkdir(parents=True, exist_ok=True)
    write_manifest(directory, {"space": "nb201", "encoder": "onehot", "seed": 0})
    embeddings = EmbeddingSet("nb201", "onehot", np.array(ids), vectors)
    embeddings.save(directory)
    proj, _ = projection.get_projection("nb201", "onehot", "pca", embeddings=embeddings)
    return latent.assemble_map(embeddings, proj)


@pytest.fixture()
def accuracy(nb201_csv: Path) -> dict[str, float]:
    with open(nb201_csv, newline="") as fh:
        return {r["index"]: float(r["c10_test_200ep"]) for r in csv.DictReader(fh)}


def test_generated_cells_sit_at_their_map_coordinates(agnet, accuracy: dict[str, float]) -> None:  # noqa: ANN001
    full = _onehot_map([str(i) for i in range(15_625)])
    frame, summary = agnet_view.generated_on_map(full, n=400, seed=3, accuracy=accuracy, encoder=agnet)
    assert summary["samples"] == 400 and summary["valid"] == int(frame["count"].sum()) and summary["valid"] > 350
    assert frame["cell_id"].is_unique and len(frame) == summary["distinct"] == summary["on_map"]
    expected = full.set_index("cell_id").loc[frame["cell_id"], ["x", "y"]].to_numpy()
    assert np.array_equal(frame[["x", "y"]].to_numpy(), expected)
    assert np.array_equal(frame["accuracy"].to_numpy(), np.array([accuracy[c] for c in frame["cell_id"]]))
    # the ids are those AG-Net generates: the same cells as decoding the same seed directly
    from nasviz.encoders.agnet import generated_distribution

    assert dict(zip(frame["cell_id"], frame["count"], strict=True)) == generated_distribution(agnet, 400, 3)["counts"]
    again, _ = agnet_view.generated_on_map(full, n=400, seed=3, accuracy=accuracy, encoder=agnet)
    pd.testing.assert_frame_equal(frame, again)
    other, _ = agnet_view.generated_on_map(full, n=400, seed=4, encoder=agnet)
    assert set(other["cell_id"]) != set(frame["cell_id"]) and "accuracy" not in other
    # a map holding only part of the space: generated cells outside it are flagged, not placed
    half = full[full["cell_id"].astype(int) < 7000].reset_index(drop=True)
    partial, summary = agnet_view.generated_on_map(half, n=400, seed=3, encoder=agnet)
    inside = partial["cell_id"].astype(int) < 7000
    assert (partial["on_map"] == inside).all() and summary["on_map"] == int(inside.sum()) > 0
    assert partial.loc[~inside, "x"].isna().all()
    fig = agnet_view.overlay_figure(half, partial)
    assert len(fig.data) == 2 and len(fig.data[1].x) == summary["on_map"]


def test_weighted_retraining_shifts_accuracy_up(agnet, accuracy: dict[str, float]) -> None:  # noqa: ANN001
    before_weights = {k: v.clone() for k, v in agnet.model.state_dict().items()}
    shift = agnet_view.retraining_accuracy_shift(accuracy, train_cells=60, samples=200, epochs=3, seed=1, encoder=agnet)
    assert shift["train_cells"] == 60 and len(shift["before"]) > 180 and len(shift["after"]) > 180
    assert np.isfinite(shift["before"]).all() and np.isfinite(shift["after"]).all()  # every NB201 cell has a value
    assert shift["mean_after"] > shift["mean_before"]
    assert all(torch.equal(v, agnet.model.state_dict()[k]) for k, v in before_weights.items())  # the model is a copy
    again = agnet_view.retraining_accuracy_shift(accuracy, train_cells=60, samples=200, epochs=3, seed=1, encoder=agnet)
    assert np.array_equal(again["after"], shift["after"]) and np.array_equal(again["before"], shift["before"])
    fig = agnet_view.shift_histogram(shift["before"], shift["after"], label="CIFAR-10 test accuracy")
    assert [len(t.x) for t in fig.data] == [len(shift["before"]), len(shift["after"])]


def test_weighted_retraining_reports_its_progress(agnet, accuracy: dict[str, float]) -> None:  # noqa: ANN001
    """Issue 18: the page shows a progress bar driven by the retraining loop (one report per optimiser step)."""
    reports: list[tuple[float, str]] = []
    agnet_view.retraining_accuracy_shift(accuracy, train_cells=20, samples=50, epochs=2, seed=0, encoder=agnet,
                                         progress=lambda fraction, text: reports.append((fraction, text)))
    fractions = [f for f, _ in reports]
    assert len(reports) == 2 * 20  # 2 epochs of 20 steps
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and fractions[0] == pytest.approx(1 / 40)
    assert reports[-1][1] == "weighted retraining: step 40 of 40"


def test_bad_inputs_are_config_errors(agnet) -> None:  # noqa: ANN001
    from nasviz.errors import ConfigError

    with pytest.raises(ConfigError, match="cell_id, x and y"):
        agnet_view.generated_on_map(pd.DataFrame({"cell_id": ["1"]}), n=5, encoder=agnet)
    with pytest.raises(ConfigError, match="at least one cell"):
        agnet_view.generated_on_map(pd.DataFrame({"cell_id": ["1"], "x": [0.0], "y": [0.0]}), n=0, encoder=agnet)
    with pytest.raises(ConfigError, match="at least two cells"):
        agnet_view.retraining_accuracy_shift({"1": 90.0}, encoder=agnet)


def test_latent_page_agnet_section(nb201_csv: Path) -> None:
    from nasviz.data import MetricSpec, build_table, clear_cache, save_table

    _onehot_map([str(i) for i in range(0, 15_625, 5)])
    with open(nb201_csv, newline="") as fh:
        rows = list(csv.DictReader(fh))
    spec = MetricSpec("accuracy", "cifar10", "test", 200)
    save_table(build_table("nb201", cell_ids=[r["index"] for r in rows], metrics=[spec],
                           columns={spec.key: [float(r["c10_test_200ep"]) for r in rows]}))
    clear_cache()
    at = AppTest.from_file(LATENT, default_timeout=120)
    at.session_state["latent_encoder_nb201"] = "onehot"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(e.label == "AG-Net: generated cells" for e in at.expander)
    assert len(at.get("plotly_chart")) == 1  # lazy: nothing generated before the click
    at.number_input(key="agnet_n").set_value(300)
    at.number_input(key="agnet_train_cells").set_value(40)
    at.number_input(key="agnet_epochs").set_value(2)
    at.button(key="agnet_generate").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.get("plotly_chart")) == 3  # the map, generated cells on it, before/after histogram
    text = "\n".join(c.value for c in at.caption)
    assert "of 300 samples valid" in text and "before," in text and "after retraining on 40 random cells" in text


# ---- interpolation walk in z (Neighbour Walk page) -------------------------------------------------

def test_z_walk_decodes_a_line_between_two_different_cells(agnet, accuracy: dict[str, float]) -> None:  # noqa: ANN001
    from nasviz.spaces import get_space

    sp = get_space("nb201")
    walk = agnet_view.z_interpolation(agnet, steps=8, seed=0, metric=lambda cid: accuracy.get(cid, np.nan))
    assert [s.step for s in walk.steps] == list(range(9)) and walk.steps[0].t == 0.0 and walk.steps[-1].t == 1.0
    first, last = walk.steps[0], walk.steps[-1]
    assert first.valid and last.valid and first.cell_id != last.cell_id  # endpoints decode to different cells
    assert walk.distinct_cells == len({s.cell_id for s in walk.steps if s.valid}) >= 2
    assert walk.invalid == sum(not s.valid for s in walk.steps) and walk.prior == "uniform" and walk.decode == "argmax"
    previous = None
    for step in walk.steps:
        assert step.valid == (step.cell is not None) == (step.cell_id is not None)
        if step.valid:
            assert step.metric == accuracy[step.cell_id]
            expected = sp.edit_distance(previous, step.cell) if previous is not None else None
            assert step.edit_distance == expected
            previous = step.cell
        assert 0.0 <= step.margin <= 1.0 and step.soft_change >= 0.0
    assert walk.changes == sum(1 for s in walk.steps if s.edit_distance) >= 1
    frame = walk.to_frame()
    assert list(frame["cell_id"]) == [s.cell_id for s in walk.steps] and "cell" not in frame
    again = agnet_view.z_interpolation(agnet, steps=8, seed=0)
    assert [s.cell_id for s in again.steps] == [s.cell_id for s in walk.steps]
    assert np.isnan(again.steps[0].metric)  # no metric given


def test_z_walk_sampled_uses_the_same_noise_at_every_point(agnet) -> None:  # noqa: ANN001
    from nasviz.encoders.agnet import distinct_endpoints

    walk = agnet_view.z_interpolation(agnet, steps=4, seed=2, prior="normal", decode="sampled", noise_seed=5)
    assert walk.noise_seed == 5 and walk.decode == "sampled"
    z_start, z_end = distinct_endpoints(agnet, 2, uniform=None, noise_seed=5)
    for step in walk.steps:
        point = (1 - step.t) * z_start + step.t * z_end
        alone = agnet.decode(point[None].astype(np.float32), noise_seed=5)[0]  # this point decoded on its own
        assert step.cell_id == (None if alone is None else str(alone.index))


def test_z_walk_bad_options(agnet) -> None:  # noqa: ANN001
    from nasviz.errors import ConfigError

    with pytest.raises(ConfigError, match="prior"):
        agnet_view.z_interpolation(agnet, prior="cauchy")
    with pytest.raises(ConfigError, match="decode"):
        agnet_view.z_interpolation(agnet, decode="beam")
    with pytest.raises(ConfigError, match="1..200 steps"):
        agnet_view.z_interpolation(agnet, steps=0)


def _walk_page_with_table(nb201_csv: Path) -> AppTest:
    from nasviz.data import MetricSpec, build_table, clear_cache, save_table

    with open(nb201_csv, newline="") as fh:
        rows = list(csv.DictReader(fh))
    spec = MetricSpec("accuracy", "cifar10", "test", 200)
    save_table(build_table("nb201", cell_ids=[r["index"] for r in rows], metrics=[spec],
                           columns={spec.key: [float(r["c10_test_200ep"]) for r in rows]}))
    clear_cache()
    _onehot_map([str(i) for i in range(0, 15_625, 5)] + ["6111"])
    at = AppTest.from_file(WALK, default_timeout=120)
    at.session_state["walk_start"] = {"space": "nb201", "cell_id": "6111", "encoder": "onehot", "time": 3.0}
    at.session_state["walk_steps"] = 2
    return at


def _drawings(at: AppTest) -> int:
    return sum("nasviz-cell-drawing" in m.value for m in at.markdown)


def test_walk_page_agnet_z_walk(nb201_csv: Path) -> None:
    at = _walk_page_with_table(nb201_csv)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    base = _drawings(at)
    at.toggle(key="walk_agnet").set_value(True)
    at.session_state["walk_agnet_steps"] = 6
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    metrics = {m.label: m.value for m in at.metric}
    table = next(d.value for d in at.dataframe if "soft_change" in d.value)
    assert len(table) == 7 and int(metrics["Distinct cells"]) == table.loc[table["valid"], "cell_id"].nunique() >= 2
    assert int(metrics["Invalid decodes"]) == int((~table["valid"]).sum())
    assert int(metrics["Steps that change the cell"]) == int((table["edit_distance"].fillna(0) > 0).sum())
    assert table["true CIFAR-10 test accuracy, 200 epochs (%)"].notna().all()  # every NB201 cell has a true value
    assert _drawings(at) == base + int(table["valid"].sum())
    text = re.sub(r"\\(.)", r"\1", "\n".join(c.value for c in at.caption))  # as read (captions are md_escaped)
    assert "barely depends on z" in text and "t = 0.00: cell" in text
    # the sampled decode with a fixed noise seed: the same number of points, flagged the same way
    at.selectbox(key="walk_agnet_decode").set_value("sampled")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    sampled = next(d.value for d in at.dataframe if "soft_change" in d.value)
    assert len(sampled) == 7 and int({m.label: m.value for m in at.metric}["Distinct cells"]) >= 1


def test_walk_page_nao_ascent_walk_shows_predicted_and_true(nb201_csv: Path) -> None:
    if find_model_dir("nb201", "nao") is None:
        pytest.skip("no shipped NAO model for nb201")
    at = _walk_page_with_table(nb201_csv)
    at.session_state["walk_nao"] = True
    at.session_state["walk_nao_moves"] = 3
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    table = next(d.value for d in at.dataframe if "predicted (NAO)" in d.value)
    true_col = "true (CIFAR-10 test accuracy, 200 epochs (%))"
    assert table["cell_id"].iloc[0] == "6111" and table["cell_id"].is_unique and 2 <= len(table) <= 4
    with open(nb201_csv, newline="") as fh:
        truth = {r["index"]: float(r["c10_test_200ep"]) for r in csv.DictReader(fh)}
    assert table[true_col].tolist() == pytest.approx([truth[c] for c in table["cell_id"]])  # the table's values
    metrics = {m.label: m.value for m in at.metric}
    assert float(metrics["True gain"]) == pytest.approx(table[true_col].iloc[-1] - table[true_col].iloc[0], abs=1e-2)
    assert float(metrics["Predicted gain"]) == pytest.approx(
        table["predicted (NAO)"].iloc[-1] - table["predicted (NAO)"].iloc[0], abs=1e-2)
    text = "\n".join(c.value for c in at.caption)
    assert "**Predicted** = NAO's predictor" in text and "· predicted " in text and "· true " in text
