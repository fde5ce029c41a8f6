"""Search strategies built on the shipped NB201 models (NAO, AG-Net, AG-Net + XGBoost) on a tiny synthetic
objective: each finds the optimum of a small domain within budget, never repeats a cell, proposes cells from its
model after the initial random ones, and the same seed gives the same queries (issue 6, item 7)."""

from __future__ import annotations

import pytest
import torch
from test_search_support import optimum_cell, score

from nasviz.encoders.store import find_model_dir
from nasviz.errors import ConfigError
from nasviz.search import FunctionObjective, RunStore, SearchConfig, SearchRunner
from nasviz.spaces.nb201 import cell_from_code

#: small settings: 8 random cells, then rounds of 8 proposals; short fine-tuning
SETTINGS = {
    "nao": {"initial_samples": 8, "round_size": 8, "epochs": 4, "top_k": 8, "max_step": 20},
    "agnet": {"initial_samples": 8, "round_size": 8, "retrain_epochs": 1, "candidates": 30, "max_batches": 2},
    "agnet-xgb": {"initial_samples": 8, "round_size": 8, "retrain_epochs": 1, "candidates": 30, "max_batches": 2},
    "agnet-8": {"initial_samples": 8, "retrain_epochs": 1, "candidates": 30, "max_batches": 2},  # its own rounds of 8
}
MODEL = {"nao": "nao", "agnet": "agnet", "agnet-xgb": "agnet", "agnet-8": "agnet"}


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _needs_model(algo: str) -> None:
    if find_model_dir("nb201", MODEL[algo]) is None:
        pytest.skip(f"no trained {MODEL[algo]} model for nb201 (models/nb201/{MODEL[algo]})")


def _domain() -> list[str]:
    """40 NB201 cells (every 400th code) plus the optimum of the synthetic score."""
    return sorted({str(cell_from_code(c).index) for c in range(0, 15625, 400)} | {str(optimum_cell().index)})


def _run(algo: str, budget: int, seed: int, domain: list[str] | None):
    objective = FunctionObjective("nb201", score, domain=domain)
    runner = SearchRunner(SearchConfig(algo=algo, budget=budget, seed=seed, settings=SETTINGS[algo]), objective=objective,
                          store=RunStore())
    result = runner.run()
    return result, runner.store.queries(result.run_id), objective


@pytest.mark.parametrize("algo", ["nao", "agnet", "agnet-xgb", "agnet-8"])
def test_model_strategy_finds_the_optimum_of_a_small_domain(algo: str) -> None:
    _needs_model(algo)
    domain = _domain()
    budget = 32
    result, records, objective = _run(algo, budget, 1, domain)  # seed 1: the 8 random cells miss the optimum
    best = optimum_cell()
    assert result.status == "finished"
    assert len(records) == budget == objective.calls
    ids = [r.cell_id for r in records]
    assert len(set(ids)) == len(ids), "a strategy never queries a cell twice"
    assert set(ids) <= set(domain)
    assert result.summary["best"]["cell_id"] == str(best.index)
    assert result.summary["best"]["signal"] == pytest.approx(score(best))


@pytest.mark.parametrize("algo", ["nao", "agnet", "agnet-xgb", "agnet-8"])
def test_model_strategy_same_seed_same_queries(algo: str) -> None:
    _needs_model(algo)
    budget = 16
    first = [r.cell_id for r in _run(algo, budget, 7, None)[1]]
    second = [r.cell_id for r in _run(algo, budget, 7, None)[1]]
    other = [r.cell_id for r in _run(algo, budget, 8, None)[1]]
    assert first == second
    assert first != other
    assert len(set(first)) == budget


def test_agnet_8_is_a_preset_of_agnet_with_rounds_of_8() -> None:
    from nasviz.search import get_preset, resolve_strategy, strategy_class, strategy_names

    assert "agnet-8" not in strategy_names()  # no subclass any more: a preset, and `--algo agnet-8` still resolves
    preset = get_preset("agnet-8")
    assert preset.strategy == "agnet" and dict(preset.settings) == {"round_size": 8, "retrain_epochs": 8}
    resolved = resolve_strategy("agnet-8")
    assert (resolved.strategy, resolved.preset) == ("agnet", "agnet-8")
    assert resolved.settings == {**strategy_class("agnet").defaults, "round_size": 8, "retrain_epochs": 8}


def test_agnet_8_preset_alias_and_flags_ask_the_same_cells() -> None:
    """``--preset agnet-8``, ``--algo agnet-8`` and ``--algo agnet --set round_size=8 --set retrain_epochs=8``: one run."""
    _needs_model("agnet")
    small = {"initial_samples": 8, "candidates": 30, "max_batches": 2}
    configs = [SearchConfig(preset="agnet-8", budget=16, seed=2, settings=dict(small)),
               SearchConfig(algo="agnet-8", budget=16, seed=2, settings=dict(small)),
               SearchConfig(algo="agnet", budget=16, seed=2, settings={**small, "round_size": 8, "retrain_epochs": 8})]
    queried = []
    for config in configs:
        runner = SearchRunner(config, objective=FunctionObjective("nb201", score), store=RunStore())
        queried.append([r.cell_id for r in runner.store.queries(runner.run().run_id)])
    assert queried[0] == queried[1] == queried[2] and len(set(queried[0])) == 16
    assert [info.strategy for info in RunStore().list_runs()] == ["agnet", "agnet-8", "agnet-8"]  # newest first


def test_agnet_late_phase_restarts_the_generator_with_longer_rounds() -> None:
    """late_after: from the first round after that many queries, rounds of late_round_size with late_epochs of
    retraining, starting again from the pre-trained generator (late_restart)."""
    _needs_model("agnet")
    from nasviz.search.base import Observation
    from nasviz.search.runner import build_strategy

    settings = {**SETTINGS["agnet-8"], "late_after": 16, "late_round_size": 12, "late_epochs": 1}
    strategy = build_strategy("agnet-8", "nb201", seed=0, settings=settings)
    pretrained = {k: v.clone() for k, v in strategy.encoder.model.state_dict().items()}
    asked = []
    while len(asked) < 16:  # 8 random cells, then one round of 8 (the generator is retrained)
        cells = strategy.ask(4)
        strategy.tell(cells, [Observation(score(c)) for c in cells])
        asked += cells
    assert not strategy.late and strategy.round_size() == 8
    trained = strategy.encoder.model.state_dict()
    assert any(not torch.equal(trained[k], v) for k, v in pretrained.items())
    before = strategy.encoder
    cells = strategy.ask(1)  # the next round enters the late phase: 12 proposals from the restarted generator
    assert strategy.encoder is not before  # a fresh copy of the pre-trained model, then retrained
    assert strategy.late and strategy.round_size() == 12 and len(strategy.queue) == 11
    assert strategy.describe()["late_phase"] and strategy.settings["round_size"] == 8  # settings stay as given
    ids = {strategy.moves.cell_id(c) for c in asked}
    assert all(strategy.moves.cell_id(c) not in ids for c in cells + strategy.queue)
    kept = build_strategy("agnet-8", "nb201", seed=0, settings={**settings, "late_restart": False})
    for _ in range(4):
        cells = kept.ask(4)
        kept.tell(cells, [Observation(score(c)) for c in cells])
    before = kept.encoder
    kept.ask(1)
    assert kept.late and kept.encoder is before  # late_restart false: the same generator goes on
    with pytest.raises(ConfigError, match="late_after"):
        build_strategy("agnet", "nb201", seed=0, settings={"late_after": -1})
