"""``nasviz export``: latent maps, walks, L2 vs edit distance and runs as real PDF/SVG/PNG files plus CSVs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import pytest
from test_search_support import write_table
from typer.testing import CliRunner

from nasviz.cli.main import app
from nasviz.encoders.store import load_embeddings
from nasviz.errors import ConfigError
from nasviz.figures.batch import ExportOptions
from nasviz.figures.render import MAX_VECTOR_POINTS, find_browser, vector_ready
from nasviz.spaces import get_space
from nasviz.walk import nearest_neighbour_walk

runner = CliRunner()
needs_browser = pytest.mark.skipif(find_browser() is None,
                                   reason="no Chrome/Chromium for Kaleido on this machine (apt-get install chromium)")


def test_vector_ready_turns_webgl_points_into_svg_points_up_to_the_cap() -> None:
    small = go.Figure([go.Scattergl(x=[0, 1, 2], y=[2, 1, 0], mode="markers", marker={"size": 3}, name="cells"),
                       go.Bar(x=[1], y=[2])])
    converted = vector_ready(small)
    assert [t.type for t in converted.data] == ["scatter", "bar"]
    assert list(converted.data[0].x) == [0, 1, 2] and converted.data[0].marker.size == 3
    assert small.data[0].type == "scattergl"  # the input is untouched
    big = go.Figure(go.Scattergl(x=list(range(MAX_VECTOR_POINTS + 1)), y=[0] * (MAX_VECTOR_POINTS + 1)))
    assert vector_ready(big).data[0].type == "scattergl"


def test_export_options_refuse_unknown_formats_and_widths() -> None:
    with pytest.raises(ConfigError, match="gif"):
        ExportOptions(("pdf", "gif"))
    with pytest.raises(ConfigError, match="single, double or screen"):
        ExportOptions(width="a4")


def test_bad_input_exits_with_a_clear_message(tmp_path: Path) -> None:
    cases = [
        (["export", "walk", "--start", "|nor_conv_3x3~0|+|bogus~0|", "--out-dir", str(tmp_path)], "bogus"),
        (["export", "walk", "--start", "6111", "--metric", "accuracy/none", "--out-dir", str(tmp_path)],
         "cost/params/cifar10"),
        (["export", "latent", "--encoder", "nao", "--projection", "tsne", "--cached-only", "--out", str(tmp_path / "m")],
         "nasviz encoders project"),
        (["export", "latent", "--out", str(tmp_path / "m"), "--format", "gif"], "gif"),
        (["export", "latent", "--encoder", "nosuch", "--out", str(tmp_path / "m")], "no trained nosuch model"),
        (["export", "run", "99", "--out-dir", str(tmp_path)], "no search run with id 99"),
    ]
    for argv, expected in cases:
        result = runner.invoke(app, argv)
        assert result.exit_code == 2, (argv, result.output)
        assert expected in result.output, (argv, result.output)
    assert not list(tmp_path.iterdir())  # nothing half-written


@needs_browser
def test_latent_map_at_column_width_with_vector_points_and_its_csv(tmp_path: Path) -> None:
    result = runner.invoke(app, ["export", "latent", "--space", "nb201", "--encoder", "arch2vec", "--projection", "pca",
                                 "--color", "cost/params/cifar10", "--out", str(tmp_path / "map.pdf"), "--format", "svg",
                                 "--no-progress", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert sorted(Path(p).name for p in report["files"]) == ["map.csv", "map.pdf", "map.svg"]
    pdf = (tmp_path / "map.pdf").read_bytes()
    box = re.search(rb"MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    assert pdf.startswith(b"%PDF-") and box and abs(float(box.group(1)) - 3.5 * 72) < 1
    svg = (tmp_path / "map.svg").read_text()
    assert "<image" not in svg and svg.count("<path class=\"point") == 15_625  # every cell a vector point
    frame = pd.read_csv(tmp_path / "map.csv")
    assert len(frame) == report["cells"] == 15_625 and frame["cost/params/cifar10"].notna().all()


@needs_browser
def test_walk_writes_every_cell_highlighted_and_the_walk_table(tmp_path: Path) -> None:
    result = runner.invoke(app, ["export", "walk", "--space", "nb201", "--start", "6111", "--steps", "3",
                                 "--metric", "cost/params/cifar10", "--out-dir", str(tmp_path), "-f", "svg", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    expected = nearest_neighbour_walk(load_embeddings("nb201", "arch2vec"), "6111", 3, space=get_space("nb201"))
    assert report["cells"] == expected.cell_ids
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted([f"step_{i:02d}_cell_{c}.svg" for i, c in enumerate(expected.cell_ids)]
                           + ["walk.csv", "walk_cells.svg", "walk_metric.svg"])
    assert "was " not in (tmp_path / "step_00_cell_6111.svg").read_text()  # the start has nothing to compare with
    second = (tmp_path / f"step_01_cell_{expected.cell_ids[1]}.svg").read_text()
    assert "was " in second  # changed ops name the op they replace
    table = pd.read_csv(tmp_path / "walk.csv")
    assert table["cell_id"].astype(str).tolist() == expected.cell_ids
    assert table["edit_distance"].iloc[1:].tolist() == [s.edit_distance for s in expected.steps[1:]]
    assert table["metric"].notna().all()


@needs_browser
def test_l2_edit_and_run_figures(tmp_path: Path) -> None:
    l2 = runner.invoke(app, ["export", "l2-edit", "--encoder", "arch2vec", "--encoder", "raw", "--cells", "60",
                             "--out", str(tmp_path / "l2"), "--format", "png", "--width", "double", "--json"])
    assert l2.exit_code == 0, l2.output
    pairs = pd.read_csv(tmp_path / "l2.csv")
    assert set(pairs["encoder"]) == {"arch2vec", "raw"} and len(pairs) == json.loads(l2.stdout)["pairs"]
    png = (tmp_path / "l2.png").read_bytes()
    assert png.startswith(b"\x89PNG") and abs(int.from_bytes(png[16:20], "big") - 7.16 * 300) < 4  # double column, 300 dpi

    write_table()
    searched = runner.invoke(app, ["search", "--algo", "random", "--budget", "12", "--device", "pixel3",
                                   "--max-latency", "3", "--json"])
    assert searched.exit_code == 0, searched.output
    run = runner.invoke(app, ["export", "run", "1", "--out-dir", str(tmp_path / "run"), "--json"])
    assert run.exit_code == 0, run.output
    names = sorted(Path(p).name for p in json.loads(run.stdout)["files"])
    assert names == sorted(f"run_1_{kind}.{ext}" for kind in ("best", "queries", "feasibility") for ext in ("pdf", "csv"))
    assert len(pd.read_csv(tmp_path / "run" / "run_1_best.csv")) == 12

    seeds = runner.invoke(app, ["search", "--algo", "random", "--budget", "12", "--seeds", "2", "--json"])
    assert seeds.exit_code == 0, seeds.output
    compared = runner.invoke(app, ["export", "compare", "1", "2", "3", "--out", str(tmp_path / "cmp.svg"), "--json"])
    assert compared.exit_code == 0, compared.output
    table = pd.read_csv(tmp_path / "cmp_table.csv")
    assert len(table) == 2 and sorted(table["runs"]) == [1, 2]  # the constrained run is its own group
    curves = pd.read_csv(tmp_path / "cmp.csv")
    assert curves["query"].max() == 12 and (tmp_path / "cmp.svg").read_text().lstrip().startswith("<svg")


def test_latent_export_uses_the_pages_default_colour_range(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Like the Latent Space page, an accuracy map leaves the failed cells (~10 %) out of its colour range."""
    import nasviz.figures.batch as batch_export
    from nasviz import latent

    seen: dict = {}
    real = latent.map_figure

    def spy(frame, key, **kwargs):  # noqa: ANN001, ANN003, ANN202
        seen.update(kwargs, frame=frame, key=key)
        return real(frame, key, **kwargs)

    monkeypatch.setattr(latent, "map_figure", spy)
    monkeypatch.setattr(batch_export, "write_figure", lambda *args, **kwargs: [])
    batch_export.export_latent("nb201", "arch2vec", tmp_path / "map.pdf", method="pca",
                               color="accuracy/cifar10/test/200ep")
    values = seen["frame"]["accuracy/cifar10/test/200ep"].to_numpy()
    low, high = seen["color_range"]
    assert seen["color_range"] == latent.robust_range(values, True)
    assert values.min() < 11 and low > 60 and high == values.max()
