"""The PyTorch networks of every space: parameter counts and MACs equal the spaces' analytic costs."""

from __future__ import annotations

import pytest
import torch

from nasviz.errors import CellError, ConfigError
from nasviz.networks import build_network, count_parameters, input_resolution
from nasviz.networks.darts import DartsNetwork
from nasviz.networks.nb101 import vertex_channels
from nasviz.networks.ops import count_macs
from nasviz.spaces import get_space
from nasviz.spaces.nb201 import OPS, NB201Cell

torch.set_num_threads(1)

NB201_EXTREMES = [NB201Cell((op,) * 6) for op in OPS] + [
    NB201Cell(("nor_conv_3x3", "none", "nor_conv_1x1", "skip_connect", "none", "avg_pool_3x3")),
]


def _space_modules_present(name: str) -> None:
    get_space(name)


def test_nb201_params_equal_analytic_cost_for_many_cells_and_all_datasets() -> None:
    space = get_space("nb201")
    cells = space.sample(24, seed=3) + NB201_EXTREMES
    for cell in cells:
        for dataset in space.datasets:
            net = build_network("nb201", cell, dataset)
            assert count_parameters(net) == space.cost(cell, dataset).params, (cell.arch_str, dataset)


def test_nb201_params_match_the_shared_params_file(source_data) -> None:
    path = source_data / "nasbench201" / "nb201_params_computed.csv"
    if not path.exists():
        pytest.skip(f"{path} is missing")
    import csv

    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))[::1500]
    for row in rows:
        for dataset, column in (("cifar10", "params_M_cifar10"), ("ImageNet16-120", "params_M_ImageNet16-120")):
            net = build_network("nb201", row["arch_str"], dataset)
            assert count_parameters(net) == pytest.approx(float(row[column]) * 1e6, abs=1.0)


@pytest.mark.parametrize("space_name,datasets", [("nb201", ("cifar10", "ImageNet16-120")), ("nb101", ("cifar10",)),
                                                 ("darts", ("cifar10",)), ("nat", ("cifar10",))])
def test_macs_of_the_network_equal_analytic_flops(space_name: str, datasets: tuple[str, ...]) -> None:
    _space_modules_present(space_name)
    space = get_space(space_name)
    for cell in space.sample(2, seed=11):
        for dataset in datasets:
            size = input_resolution(space_name, dataset)
            net = build_network(space_name, cell, dataset)
            assert count_macs(net, (3, size, size)) == space.cost(cell, dataset).flops


def test_nb101_params_equal_analytic_cost() -> None:
    _space_modules_present("nb101")
    space = get_space("nb101")
    for cell in space.sample(25, seed=5):
        assert count_parameters(build_network("nb101", cell)) == space.cost(cell).params


def test_nb101_vertex_channels_split_output_evenly() -> None:
    # input -> 1, 2, 3; all three feed the output: 128 = 43 + 43 + 42
    matrix = ((0, 1, 1, 1, 0), (0, 0, 0, 0, 1), (0, 0, 0, 0, 1), (0, 0, 0, 0, 1), (0, 0, 0, 0, 0))
    assert vertex_channels(matrix, 64, 128) == [64, 43, 43, 42, 128]
    # a chain in -> 1 -> 2 -> out: vertex 1 takes the channels of vertex 2
    chain = ((0, 1, 0, 0), (0, 0, 1, 0), (0, 0, 0, 1), (0, 0, 0, 0))
    assert vertex_channels(chain, 32, 64) == [32, 64, 64, 64]


def test_darts_params_equal_analytic_cost_on_cifar_and_imagenet() -> None:
    _space_modules_present("darts")
    space = get_space("darts")
    for cell in space.sample(4, seed=2) + [space.published()["DARTS_V2"]]:
        for dataset in ("cifar10", "imagenet"):
            assert count_parameters(build_network("darts", cell, dataset)) == space.cost(cell, dataset).params


def test_published_darts_v2_has_the_papers_size() -> None:
    _space_modules_present("darts")
    genotype = get_space("darts").published()["DARTS_V2"]
    assert round(count_parameters(build_network("darts", genotype, "cifar10")) / 1e6, 1) == 3.3  # DARTS paper, Table 1
    assert round(count_parameters(build_network("darts", genotype, "imagenet")) / 1e6, 1) == 4.7  # DARTS paper, Table 3


def test_five_node_nasnet_cells_match_the_cost_model() -> None:
    _space_modules_present("darts")
    from nasviz.spaces.darts import genotype_cost

    genotype = get_space("darts").published()["NASNet"]
    net = DartsNetwork(genotype.edges("normal"), genotype.normal_concat, genotype.edges("reduce"), genotype.reduce_concat,
                       num_classes=10, channels=36, layers=20)
    assert count_parameters(net) == genotype_cost(genotype, "cifar10")[0]


def test_nat_params_equal_analytic_cost_including_null_edges_and_loose_ends() -> None:
    _space_modules_present("nat")
    from nasviz.spaces.nat import preset_cells

    space = get_space("nat")
    presets = list(preset_cells().values())
    assert any(op == "null" for cell in presets for op, _, _ in cell.edges)
    assert any(cell.output == "loose_end" for cell in presets)
    for cell in space.sample(4, seed=4) + presets:
        assert count_parameters(build_network("nat", cell, "cifar10")) == space.cost(cell, "cifar10").params


@pytest.mark.parametrize("space_name", ["nb201", "nb101", "darts", "nat"])
def test_reduced_networks_run_on_greyscale_digits_shape(space_name: str) -> None:
    _space_modules_present(space_name)
    cell = get_space(space_name).sample(1, seed=0)[0]
    net = build_network(space_name, cell, num_classes=10, channels=8, cells_per_stage=1, in_channels=1)
    out = net(torch.randn(4, 1, 8, 8))
    assert out.shape == (4, 10)
    assert torch.isfinite(out).all()
    out.sum().backward()


def test_degenerate_nb201_cell_outputs_only_the_classifier_bias() -> None:
    net = build_network("nb201", NB201Cell(("none",) * 6), num_classes=10, channels=4, cells_per_stage=1).eval()
    with torch.no_grad():
        a = net(torch.randn(2, 3, 16, 16))
        b = net(torch.randn(2, 3, 16, 16))
    assert torch.allclose(a, b)  # the input is cut off by the none edges


def test_bad_requests_raise_clear_errors() -> None:
    with pytest.raises(ConfigError, match="unknown dataset"):
        build_network("nb201", NB201_EXTREMES[0], "mnist")
    with pytest.raises(CellError, match="NB201"):
        build_network("nb201", "|bogus~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    with pytest.raises(ConfigError, match="unknown search space"):
        build_network("nb999", "x")
