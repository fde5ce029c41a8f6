"""AppTest of the home page and the Cell Explorer page."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from nasviz.spaces import SPACE_NAMES, get_space
from nasviz.ui.explorer import recommended_import

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
PAGE = str(ROOT / "views" / "1_Cell_Explorer.py")
NB201_A = "|nor_conv_3x3~0|+|skip_connect~0|none~1|+|avg_pool_3x3~0|nor_conv_1x1~1|nor_conv_3x3~2|"


def plain(text: str) -> str:
    """Markdown-escaped page text (``md_escape``) as the reader sees it."""
    return re.sub(r"\\(.)", r"\1", text)


def errors(at: AppTest) -> list[str]:
    return [plain(e.value) for e in at.error]


def installed(name: str) -> str:
    get_space(name)
    return name


def run_page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def drawing_html(at: AppTest) -> str:
    bodies = [m.value for m in at.markdown if "nasviz-cell-drawing" in m.value]
    assert len(bodies) == 1, "the cell drawing is missing"
    return bodies[0]


def test_home_page_lists_pages_and_data() -> None:
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "nasviz"
    assert "Benchmark tables" in [s.value for s in at.subheader]
    links = [link.proto.page for link in at.get("page_link")]
    assert "Cell_Explorer" in links
    assert not at.error
    at.switch_page("views/1_Cell_Explorer.py").run()  # st.navigation routes to the page
    assert not at.exception and at.title[0].value == "Cell Explorer"


def test_default_nb201_cell_is_drawn_and_described() -> None:
    at = run_page()
    assert "<svg" in drawing_html(at)
    canonical = json.loads(at.json[0].proto.body)
    assert canonical["index"] == 0 and canonical["cell_id"] == "0"
    costs = next(d.value for d in at.dataframe if "FLOPs" in d.value.columns)
    assert list(costs["dataset"]) == ["cifar10", "cifar100", "ImageNet16-120"]
    assert (costs["params"] > 0).all()
    assert not at.error


def test_browse_by_index_and_diff() -> None:
    at = run_page()
    at.number_input(key="nb201_index").set_value(3638).run()
    assert json.loads(at.json[0].proto.body)["arch"] == NB201_A
    at.text_input(key="diff_nb201").input('{"index": 5}').run()
    assert "#d55e00" in drawing_html(at).lower()  # highlighted differences
    assert at.metric[0].value == str(get_space("nb201").edit_distance(get_space("nb201").parse(NB201_A),
                                                                        get_space("nb201").parse({"index": 5})))


def test_pasted_cell_valid_and_invalid() -> None:
    at = run_page()
    at.radio(key="cell_source_nb201").set_value("Paste or upload").run()
    at.text_area(key="cell_input_nb201_text").input("|nor_conv_3x3~0|+|oops|").run()
    assert at.error and "malformed NB201 arch string" in errors(at)[0]
    assert not [m for m in at.markdown if "nasviz-cell-drawing" in m.value]
    at.text_area(key="cell_input_nb201_text").input(NB201_A).run()
    assert not at.error
    assert json.loads(at.json[0].proto.body)["index"] == 3638


def test_invalid_nb101_cell_shows_the_reason() -> None:
    installed("nb101")
    at = run_page()
    at.selectbox(key="space").set_value("nb101").run()
    at.radio(key="cell_source_nb101").set_value("Paste or upload").run()
    at.text_area(key="cell_input_nb101_text").input('{"matrix": [[0, 1], [0, 0]], "ops": ["input", "conv3x3-bn-relu"]}').run()
    assert at.error and "Invalid NAS-Bench-101 cell" in errors(at)[0] and "output" in errors(at)[0]
    assert json.loads(at.json[0].proto.body)["valid"] is False


@pytest.mark.parametrize("name", SPACE_NAMES)
def test_sampled_cell_of_every_space(name: str) -> None:
    installed(name)
    at = run_page()
    at.selectbox(key="space").set_value(name).run()
    at.radio(key=f"cell_source_{name}").set_value("Sample").run()
    at.number_input(key=f"sample_seed_{name}").set_value(4).run()
    assert not at.exception and not at.error
    assert "<svg" in drawing_html(at)
    space = get_space(name)
    expected = space.canonical(space.sample(1, seed=4)[0])
    shown = json.loads(at.json[0].proto.body)
    assert {k: shown[k] for k in expected} == json.loads(json.dumps(expected))


@pytest.mark.parametrize(("name", "label"), [("darts", "Published genotypes"), ("nat", "Preset cells")])
def test_presets(name: str, label: str) -> None:
    installed(name)
    at = run_page()
    at.selectbox(key="space").set_value(name).run()
    at.radio(key=f"cell_source_{name}").set_value(label).run()
    options = at.selectbox(key=f"preset_{name}").options
    assert len(options) >= 2
    assert not at.error  # the first preset offered is a valid cell
    assert "<svg" in drawing_html(at)
    if name == "darts":
        assert "normal cell" in drawing_html(at) and "reduce cell" in drawing_html(at)


def test_home_page_shows_the_data_status() -> None:
    at = AppTest.from_file(APP, default_timeout=60).run()
    status = at.dataframe[0].value
    assert {"nb201", "nb101", "darts"} <= set(status["benchmark"])
    # a fresh NASVIZ_HOME holds no imported table: NB201 is the embedded one, the others have none
    assert dict(zip(status["benchmark"], status["source"], strict=True))["nb201"] == "embedded"
    assert set(status["source"]) == {"embedded", "none"}
    assert any("nasviz data download" in code.value for code in at.code)


def test_split_cells_reads_json_documents_and_line_files() -> None:
    from nasviz.ui.cells import split_cells

    genotype = '{\n "normal": [["sep_conv_3x3", 0]],\n "reduce": []\n}'
    assert split_cells(genotype) == [genotype.strip()]
    assert split_cells(f"{NB201_A}\n\n  {NB201_A}  \n") == [NB201_A, NB201_A]
    assert split_cells("   \n") == []


def test_index_slider_and_number_stay_in_sync() -> None:
    at = run_page()
    at.slider(key="nb201_index_slider").set_value(5).run()
    assert at.number_input(key="nb201_index").value == 5
    assert json.loads(at.json[0].proto.body)["index"] == 5
    at.number_input(key="nb201_index").set_value(77).run()
    assert at.slider(key="nb201_index_slider").value == 77
    assert json.loads(at.json[0].proto.body)["index"] == 77


# ---- hostile input, caps, Markdown, the table's metrics (issue 18) --------------------------------

DEEP_JSON = "[" * 5000 + "]" * 5000
HOSTILE = ['{"index": null}', '{"index": "abc"}', '{"index": 1e309}', DEEP_JSON]


def nat_chain_cell(nodes: int) -> str:
    """A valid NAT cell of ``nodes`` intermediate nodes (each fed by the two previous ones)."""
    edges = [edge for k in range(nodes) for edge in (["conv_3x3", k - 1, k], ["conv_3x3", k - 2, k])]
    return json.dumps({"edges": edges, "output": "concat"})


@pytest.mark.parametrize("text", HOSTILE, ids=["null", "abc", "1e309", "deep"])
def test_hostile_paste_is_a_clear_error(text: str) -> None:
    at = run_page()
    at.radio(key="cell_source_nb201").set_value("Paste or upload").run()
    at.text_area(key="cell_input_nb201_text").input(text).run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.error) == 1 and errors(at)[0].startswith("the pasted text is not a NAS-Bench-201 cell: ")
    assert not [m for m in at.markdown if "nasviz-cell-drawing" in m.value]
    # the same text as the cell to compare with
    at.radio(key="cell_source_nb201").set_value("Sample").run()
    at.text_input(key="diff_nb201").input(text).run()
    assert not at.exception and errors(at) and errors(at)[0].startswith("the other cell is not a NAS-Bench-201 cell")


@pytest.mark.parametrize("text", HOSTILE, ids=["null", "abc", "1e309", "deep"])
def test_hostile_upload_is_a_clear_error(text: str) -> None:
    at = run_page()
    at.radio(key="cell_source_nb201").set_value("Paste or upload").run()
    at.file_uploader(key="cell_input_nb201_file").set_value(("bad.json", text.encode(), "application/json")).run()
    assert not at.exception, [e.value for e in at.exception]
    assert errors(at) and errors(at)[0].startswith("the file bad.json is not a NAS-Bench-201 cell: ")


def test_oversized_upload_and_paste_are_refused() -> None:
    installed("nat")
    big = nat_chain_cell(6000)  # a valid NAT cell of 300 KB: drawing it would take minutes
    assert len(big) > 256 * 1024
    at = AppTest.from_file(PAGE, default_timeout=20).run()
    at.selectbox(key="space").set_value("nat").run()
    at.radio(key="cell_source_nat").set_value("Paste or upload").run()
    at.file_uploader(key="cell_input_nat_file").set_value(("huge.json", big.encode(), "application/json")).run()
    assert not at.exception
    assert errors(at) == [f"the file huge.json is {len(big) // 1024} KB; a cell file is at most 256 KB "
                          "(a cell of any space takes under 2 KB)"]
    at.file_uploader(key="cell_input_nat_file").set_value(None).run()
    assert at.text_area(key="cell_input_nat_text").proto.max_chars == 256 * 1024  # the browser cuts a longer paste
    at.text_area(key="cell_input_nat_text").input(big).run()
    assert not at.exception and not [m for m in at.markdown if "nasviz-cell-drawing" in m.value]


def test_a_cell_too_large_to_draw_is_described_not_drawn() -> None:
    installed("nat")
    at = AppTest.from_file(PAGE, default_timeout=20).run()
    at.selectbox(key="space").set_value("nat").run()
    at.radio(key="cell_source_nat").set_value("Paste or upload").run()
    at.text_area(key="cell_input_nat_text").input(nat_chain_cell(200)).run()  # 8 KB, valid, 200 nodes
    assert not at.exception and not at.error
    assert any("No drawing: the cell has 203 nodes" in plain(i.value) for i in at.info)
    assert not [m for m in at.markdown if "nasviz-cell-drawing" in m.value]
    assert json.loads(at.json[0].proto.body)["cell_id"]  # still described


def test_tilde_of_arch_strings_is_not_strikethrough() -> None:
    at = run_page()
    at.radio(key="cell_source_nb201").set_value("Paste or upload").run()
    at.text_area(key="cell_input_nb201_text").input("|nor_conv_3x3~0|+|oops~1|").run()
    assert at.error and "\\~" in at.error[0].value and "~" not in at.error[0].value.replace("\\~", "")


def test_enlarge_opens_the_drawing_in_a_dialog() -> None:
    at = run_page()
    at.button(key="cell_drawing_enlarge").click().run()
    assert not at.exception
    large = [m.value for m in at.markdown if "nasviz-cell-drawing-large" in m.value]
    assert len(large) == 1 and 'style="width:100%;height:auto"' in large[0]


def test_table_metrics_of_the_cell(nb201_csv: Path) -> None:
    from nasviz.data import import_benchmark, load_table

    import_benchmark("nb201-merged", nb201_csv)
    at = run_page()
    at.number_input(key="nb201_index").set_value(3638).run()
    rows = next(d.value for d in at.dataframe if "metric" in d.value.columns)
    values = dict(zip(rows["key"], rows["value"], strict=True))
    table = load_table("nb201")
    assert values["accuracy/cifar10/test/200ep"] == pytest.approx(table.lookup("3638", "accuracy/cifar10/test/200ep"),
                                                                    abs=1e-4)
    assert values["latency/pixel3/cifar10"] == pytest.approx(table.lookup("3638", "latency/pixel3/cifar10"), abs=1e-4)
    assert list(rows["metric"])[0].startswith("CIFAR-10")  # accuracies first
    assert not at.error


def test_no_table_shows_the_import_command() -> None:
    installed("nb101")
    at = run_page()
    at.selectbox(key="space").set_value("nb101").run()
    assert any("No benchmark table is imported for NAS-Bench-101" in plain(c.value) for c in at.caption)
    commands = [c.value for c in at.code]
    assert commands and commands[0] == recommended_import("nb101") and "(" not in commands[0]


def test_an_absurdly_large_cell_is_not_checked_or_costed() -> None:
    installed("nat")
    at = AppTest.from_file(PAGE, default_timeout=20).run()
    at.selectbox(key="space").set_value("nat").run()
    at.radio(key="cell_source_nat").set_value("Paste or upload").run()
    text = nat_chain_cell(1000)  # 47 KB: validity and costs would take seconds
    at.file_uploader(key="cell_input_nat_file").set_value(("big.json", text.encode(), "application/json")).run()
    assert not at.exception
    assert errors(at) == ["Not shown: the cell has 1,003 nodes and 3,000 edges: too large to check, cost or draw here "
                          "(at most 300 nodes; published nat cells have a handful)."]
    assert not at.json and not at.dataframe
