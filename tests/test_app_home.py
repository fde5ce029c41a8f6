"""The home page (app.py): benchmark tables with their source (embedded), provenance and licence; the shipped
trained models with the figures their manifests record; one recommended import command per space."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from nasviz.data import status
from nasviz.paths import MODELS_DIR
from nasviz.ui.page import shipped_model_rows

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")


@pytest.fixture
def home() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def test_home_shows_the_embedded_table_with_provenance_and_licence(home: AppTest) -> None:
    tables = home.dataframe[0].value
    nb201 = tables[tables["benchmark"] == "nb201"].iloc[0]
    assert nb201["source"] == "embedded" and nb201["rows"] == 15_625 and nb201["metrics"] == 37
    assert "nb201_merged.csv" in nb201["provenance"] and "MIT" in nb201["provenance"]
    assert set(tables[tables["benchmark"] != "nb201"]["source"]) == {"none"}
    captions = " ".join(c.value for c in home.caption)
    assert "embedded table shipped with nasviz" in captions and "SOURCES.md" in captions


def test_home_lists_the_shipped_models_with_their_figures(home: AppTest) -> None:
    assert [m.value for m in home.markdown if m.value.startswith("**")][:2] == ["**nb201**", "**nb101**"]
    frames = [f.value for f in home.dataframe[1:]]  # one per space, NB201 first
    manifests = sorted(MODELS_DIR.glob("*/*/manifest.json"))
    assert manifests and sum(len(frame) for frame in frames) == len(manifests)
    models = {(row["model"], row["kind"]): row for _, row in frames[0].iterrows()}
    arch2vec = json.loads((MODELS_DIR / "nb201" / "arch2vec" / "manifest.json").read_text())
    accuracy = arch2vec["metrics"]["reconstruction"]["reconstruction_accuracy"]
    assert f"reconstruction accuracy {100 * accuracy:.1f} %" in models[("arch2vec", "encoder arch2vec")]["figures"]
    nat = json.loads((MODELS_DIR / "nat" / "nb201-paper" / "manifest.json").read_text())
    held_out = nat["metrics"]["evaluation_seed0"]["nat"]
    row = models[("nb201-paper", "NAT policy (paper rule)")]
    assert f"{held_out['mean_before']:.2f} -> {held_out['mean_after']:.2f} ({held_out['mean_gain']:+.2f})" in row["figures"]
    assert row["table data version"] == nat["data_version"] == home.dataframe[0].value["data version"][0]
    assert "validity" in models[("agnet", "encoder agnet")]["figures"]


def test_home_gives_one_recommended_command_per_space(home: AppTest) -> None:
    codes = [c.value for c in home.code]
    for row in status():
        assert row["import_recommended"] in codes
        assert all(alt["command"] in codes for alt in row["import_alternatives"])
    assert all("\n" not in code and "(" not in code and "$" not in code for code in codes)


def test_home_page_does_not_import_torch(tmp_path: Path) -> None:
    code = ("import sys\nfrom streamlit.testing.v1 import AppTest\n"
            f"at = AppTest.from_file({APP!r}, default_timeout=60).run()\n"
            "assert not at.exception\nprint('TORCH', 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "NASVIZ_HOME": str(tmp_path)})
    assert out.stdout.strip().endswith("TORCH False"), out.stdout + out.stderr


def test_a_broken_manifest_is_a_row_naming_the_problem(tmp_path: Path) -> None:
    good = tmp_path / "nb201" / "mine"
    good.mkdir(parents=True)
    (good / "manifest.json").write_text(json.dumps({"space": "nb201", "encoder": "gae", "metrics": {
        "reconstruction": {"reconstruction_accuracy": 0.5, "num_cells": 10}}, "command": "nasviz encoders train gae"}))
    bad = tmp_path / "nb201" / "broken"
    bad.mkdir()
    (bad / "manifest.json").write_text("{not json")
    rows = {r["model"]: r for r in shipped_model_rows(tmp_path)}
    assert rows["mine"]["figures"] == "reconstruction accuracy 50.0 % (10 held-out cells)"
    assert rows["broken"]["figures"].startswith("unreadable manifest manifest.json:")
