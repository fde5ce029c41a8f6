"""AG-Net on the Latent Space page: generated cells placed on another encoder's map, and the accuracy shift of
weighted retraining (nasviz.agnet_view), plus the page section."""

from __future__ import annotations

import csv
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
LATENT = str(ROOT / "pages" / "2_Latent_Space.py")
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
