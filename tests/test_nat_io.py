"""Reading cells for NAT: uploads (JSON, genotypes) are validated with clear messages; nothing is unpickled."""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import pytest

from nasviz.errors import CellError
from nasviz.nat import get_adapter
from nasviz.nat.io import parse_cell_text, parse_upload

DARTS_V2 = ("Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
            "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], "
            "reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), "
            "('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])")


def _json(obj: object) -> bytes:
    return json.dumps(obj).encode()


def test_valid_uploads() -> None:
    cell = parse_upload("nat", _json({"edges": [["conv_3x3", -1, 0], ["null", -2, 0]], "output": "concat"}), "a.json")
    assert cell.edges == (("null", 0, 2), ("conv_3x3", 1, 2))
    normal = parse_upload("nat", DARTS_V2.encode(), "darts.txt")
    reduce = parse_upload("nat", DARTS_V2.encode(), "darts.txt", which="reduce")
    assert {op for op, _, _ in normal.edges} == {"sep_conv_3x3", "skip_connect", "dil_conv_3x3"}
    assert "max_pool_3x3" in {op for op, _, _ in reduce.edges}
    nb201 = parse_upload("nb201", b"|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_1x1~1|none~2|\n")
    assert nb201.ops[0] == "nor_conv_3x3"
    assert parse_cell_text("nb201", '{"index": 6111}').index == 6111


@pytest.mark.parametrize(("data", "message"), [
    (pickle.dumps({"edges": []}), "binary"),
    (b"\xff\xfe{\x00", "binary"),
    (b"\xc3\x28 not utf8", "not UTF-8"),
    (b"   ", "empty"),
    (b'{"edges": [["conv_3x3", -1, 0], ["null", -2, 0]', "line 1"),
    (_json({"edges": [["conv_9x9", -1, 0], ["null", -2, 0]]}), "unknown op 'conv_9x9'"),
    (_json({"edges": [["conv_3x3", -1, 0], ["null", -2, 0], ["skip_connect", -2, 0]]}), "3 input(s)"),
    (_json({"edges": [["conv_3x3", -1, 0]]}), "1 input(s)"),
    (_json({"edges": [["conv_3x3", 1, 0], ["null", -2, 0], ["conv_3x3", 0, 1], ["null", -2, 1]]}), "cycle"),
    (_json({"nodes": []}), '"edges"'),
    (_json({"edges": [["null", -1, 0], ["null", -2, 0]]}), "does not depend"),
    (b"Genotype(normal=[('sep_conv_3x3', 0)], normal_concat=[2], reduce=[], reduce_concat=[])", "a.txt"),
])
def test_bad_uploads_have_clear_messages(data: bytes, message: str) -> None:
    with pytest.raises(CellError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_upload("nat", data, "a.txt")


def test_bad_nb201_text_and_oversized_files() -> None:
    with pytest.raises(CellError, match="malformed NB201 arch string"):
        parse_cell_text("nb201", "|conv~0|+|", source="cell.txt")
    with pytest.raises(CellError, match="unknown NB201 op"):
        parse_cell_text("nb201", '["nor_conv_3x3", "x", "none", "none", "none", "none"]')
    with pytest.raises(CellError, match="too large"):
        parse_upload("nat", b"{" + b" " * 300_000 + b"}", "big.json")


def test_cells_too_large_for_the_policy() -> None:
    adapter = get_adapter("nat")
    edges = []
    for node in range(10):
        edges += [["conv_3x3", node - 1, node], ["null", -2, node]]
    cell = parse_cell_text("nat", json.dumps({"edges": edges, "output": "concat", "concat": [9]}))
    with pytest.raises(CellError, match="at most 8"):
        adapter.check_size(cell, 8)


def test_genotype_download_round_trips() -> None:
    from nasviz.nat.page import genotype_text
    from nasviz.spaces.nat import preset_cells

    presets = preset_cells()
    for name in ("VGG", "ResNet_V2", "DARTS_V2_normal"):
        text = genotype_text("nat", presets[name])
        assert parse_cell_text("nat", text) == presets[name]
    with pytest.raises(CellError, match="not a literal"):
        parse_cell_text("nat", "Genotype(normal=[('conv_3x3', 1, 2), ('null', 0, 2)] + __import__('os').listdir())")


# ---- a broken user policy is an error naming its file, never silently replaced ------------------------------------

NB201_CELL = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"


def _corrupt(folder: Path, how: str) -> Path:
    """Damage the user's policy in ``folder``; returns the file the error must name."""
    if how == "npz":
        (folder / "policy.npz").write_bytes(b"not a zip archive at all")
        return folder / "policy.npz"
    if how == "checkpoint":  # policy.npz then no longer matches policy.pt: the checkpoint itself is read
        (folder / "policy.pt").write_bytes((folder / "policy.pt").read_bytes()[:300])
        return folder / "policy.pt"
    if how == "manifest":
        (folder / "manifest.json").write_text('{"space": "nb201", "rule": ')
        return folder / "manifest.json"
    (folder / "policy.pt").unlink()  # "incomplete": a crash between the writes of a training run
    return folder / "policy.pt"


@pytest.mark.parametrize("how", ["npz", "checkpoint", "manifest", "incomplete"])
def test_corrupt_user_policy_fails_naming_the_file(how: str) -> None:
    from typer.testing import CliRunner

    from nasviz.cli.main import app
    from nasviz.nat.store import shipped_policy_dir, user_policy_dir

    if not (shipped_policy_dir("nb201", "paper") / "policy.pt").exists():
        pytest.skip("no shipped NB201 NAT policy")
    folder = user_policy_dir("nb201", "paper")
    shutil.copytree(shipped_policy_dir("nb201", "paper"), folder)
    named = _corrupt(folder, how)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    result = CliRunner().invoke(app, ["nat", "apply", "--space", "nb201", "--cell", NB201_CELL, "--json"])
    assert result.exit_code == 2, result.output  # not the code-rule policy (nor the shipped one) in its place
    assert str(named) in result.output.replace("\n", ""), result.output
    assert "Traceback" not in result.output and "using the code-rule policy" not in result.output
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before  # nothing replaced or rewritten
    assert sorted(p.name for p in folder.parent.iterdir()) == ["nb201-paper"]


def test_zip_bomb_policy_weights_are_refused(tmp_path: Path) -> None:
    import zipfile

    from nasviz.errors import DataError
    from nasviz.nat.store import load_policy, shipped_policy_dir, user_policy_dir

    if not (shipped_policy_dir("nb201", "paper") / "policy.pt").exists():
        pytest.skip("no shipped NB201 NAT policy")
    folder = user_policy_dir("nb201", "paper")
    shutil.copytree(shipped_policy_dir("nb201", "paper"), folder)
    with zipfile.ZipFile(folder / "policy.npz", "w", zipfile.ZIP_DEFLATED) as archive, \
            archive.open("w.npy", "w", force_zip64=True) as member:
        for _ in range(6):
            member.write(bytes(16 << 20))  # 96 MB of zeros, ~100 kB on disk
    with pytest.raises(DataError, match="policy.npz: member w.npy inflates .* a zip bomb; refused"):
        load_policy("nb201", "paper")
