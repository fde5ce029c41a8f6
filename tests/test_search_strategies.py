"""Search strategies: each finds the optimum of a synthetic NB201 objective within budget, seeded and
deterministic, never repeating a cell; DNGO's Bayesian linear regression; the registry."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_search_support import optimum_cell, score, write_onehot_embeddings

from nasviz.errors import ConfigError, DataError
from nasviz.search import FunctionObjective, RunStore, SearchConfig, SearchRunner, strategy_names
from nasviz.search.base import Observation
from nasviz.search.dngo import DNGO, BayesianLinearRegression, expected_improvement
from nasviz.search.gp import GaussianProcess
from nasviz.search.moves import moves_for
from nasviz.search.runner import build_strategy
from nasviz.spaces.nb201 import NB201Cell, cell_from_code


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _run(algo: str, budget: int, seed: int, domain=None, **settings):
    objective = FunctionObjective("nb201", score, domain=domain)
    runner = SearchRunner(SearchConfig(algo=algo, budget=budget, seed=seed, settings=settings), objective=objective,
                          store=RunStore())
    result = runner.run()
    return result, runner.store.queries(result.run_id), objective


def _small_domain() -> list[str]:
    """258 cells (every 61st code plus the optimum)."""
    return sorted({str(cell_from_code(c).index) for c in range(0, 15625, 61)} | {str(optimum_cell().index)})


#: (strategy, budget, seed, whole space?, settings): budgets well below the domain sizes. arch2vec-RL
#: moves in the (stand-in one-hot) embedding space with unit-variance actions, which is close to a
#: random walk here, so it gets the 258-cell domain.
CASES = [("re", 160, 0, True, {}), ("ls", 120, 0, True, {}), ("tpe", 60, 0, True, {}),
         ("arch2vec-bo", 40, 0, True, {"epochs": 20, "hidden": 64}), ("arch2vec-rl", 160, 2, False, {}),
         ("gp-bo", 40, 0, True, {"candidates": 500}), ("gp-bo", 40, 1, False, {}),
         ("gp-bo", 40, 1, False, {"features": "paths", "refit_every": 4})]


@pytest.mark.parametrize(("algo", "budget", "seed", "whole", "settings"), CASES, ids=[c[0] for c in CASES])
def test_strategy_finds_the_optimum_within_budget(algo, budget, seed, whole, settings):
    if algo.startswith("arch2vec"):
        write_onehot_embeddings()
    result, records, objective = _run(algo, budget, seed, domain=None if whole else _small_domain(), **settings)
    best = optimum_cell()
    assert result.status == "finished"
    assert len(records) == budget == objective.calls
    assert result.summary["best"]["cell_id"] == str(best.index)
    assert result.summary["best"]["signal"] == pytest.approx(score(best))
    ids = [r.cell_id for r in records]
    assert len(set(ids)) == len(ids), "a strategy never queries a cell twice"


def test_random_search_covers_a_small_domain_without_repeats():
    domain = [str(cell_from_code(c).index) for c in range(0, 15625, 500)]  # 32 cells
    result, records, _ = _run("random", len(domain), 3, domain=domain)
    assert sorted(r.cell_id for r in records) == sorted(domain)
    best = max(domain, key=lambda cid: score(moves_for("nb201").cell_from_id(cid)))
    assert result.summary["best"]["cell_id"] == best


@pytest.mark.parametrize("algo", ["random", "re", "ls", "tpe", "arch2vec-bo", "arch2vec-rl", "gp-bo"])
def test_same_seed_same_queries_and_other_seed_differs(algo):
    if algo.startswith("arch2vec"):
        write_onehot_embeddings()
    settings = {"epochs": 10, "hidden": 32} if algo == "arch2vec-bo" else {"candidates": 300} if algo == "gp-bo" else {}
    budget = 24
    first = [r.cell_id for r in _run(algo, budget, 7, **settings)[1]]
    second = [r.cell_id for r in _run(algo, budget, 7, **settings)[1]]
    other = [r.cell_id for r in _run(algo, budget, 8, **settings)[1]]
    assert first == second
    assert first != other


def test_ask_tell_interface_directly():
    strategy = build_strategy("re", "nb201", seed=1, settings={"population_size": 8, "sample_size": 3})
    told = []
    for _ in range(5):
        cells = strategy.ask(4)
        assert len(cells) == 4 and len({c.ops for c in cells}) == 4
        assert all(isinstance(c, NB201Cell) and c.index not in told for c in cells)
        strategy.tell(cells, [Observation(score(c)) for c in cells])
        told += [c.index for c in cells]
    assert len(strategy.history_obs) == 20
    # a child differs from some population member by exactly one edge op
    child = strategy.ask(1)[0]
    population = strategy.history_cells[-8:]
    assert min(moves_for("nb201").space.edit_distance(child, p) for p in population) == 1


def test_tpe_is_optunas_sampler_with_one_categorical_per_edge():
    strategy = build_strategy("tpe", "nb201", seed=0)
    cells = strategy.ask(3)
    strategy.tell(cells, [Observation(score(c)) for c in cells])
    assert type(strategy.study.sampler).__name__ == "TPESampler"
    trial = strategy.study.trials[-1]
    assert len(trial.params) == 6 and set(trial.params.values()) <= set(moves_for("nb201").space.ops)


def test_unknown_strategy_and_settings_and_missing_embeddings(monkeypatch):
    assert {"random", "re", "ls", "tpe", "arch2vec-bo", "arch2vec-rl"} <= set(strategy_names())
    with pytest.raises(ConfigError, match="unknown search strategy"):
        build_strategy("simulated-annealing", "nb201", seed=0)
    with pytest.raises(ConfigError, match="unknown setting"):
        build_strategy("re", "nb201", seed=0, settings={"populaton": 3})
    import nasviz.encoders.store as encoder_store

    monkeypatch.setattr(encoder_store, "find_model_dir", lambda space, encoder: None)  # no trained model anywhere
    with pytest.raises(DataError, match="nasviz encoders train arch2vec"):
        build_strategy("arch2vec-bo", "nb201", seed=0)


def test_bayesian_linear_regression_fits_alpha_and_beta_by_marginal_likelihood():
    rng = np.random.default_rng(0)
    phi = np.hstack([rng.normal(size=(80, 5)), np.ones((80, 1))])
    w = np.array([1.0, -2.0, 0.5, 0.0, 3.0, 1.0])
    y = phi @ w + rng.normal(scale=0.1, size=80)
    blr = BayesianLinearRegression().fit(phi, y)
    assert 1 / blr.beta == pytest.approx(0.01, rel=0.5)  # noise variance recovered
    assert np.allclose(blr.mean, w, atol=0.1)
    mean, var = blr.predict(np.vstack([phi[:1], phi[:1] * 20]))
    assert var[1] > var[0]  # more uncertain far from the data


def test_dngo_predicts_a_smooth_function_and_ei_prefers_promising_points():
    rng = np.random.default_rng(1)
    x = rng.uniform(-2, 2, size=(60, 2))
    y = np.sin(x[:, 0]) + 0.5 * x[:, 1]
    model = DNGO(hidden=32, epochs=200, seed=0).fit(x, y)
    test = rng.uniform(-2, 2, size=(50, 2))
    mean, var = model.predict(test)
    assert np.corrcoef(mean, np.sin(test[:, 0]) + 0.5 * test[:, 1])[0, 1] > 0.95
    assert (var > 0).all()
    again = DNGO(hidden=32, epochs=200, seed=0).fit(x, y).predict(test)[0]
    assert np.array_equal(mean, again)  # seeded
    ei = expected_improvement(np.array([0.0, 1.0]), np.array([0.1, 0.1]), incumbent=0.5)
    assert ei[1] > ei[0] > 0


def test_gp_picks_the_linear_kernel_for_an_additive_function_and_is_uncertain_far_away():
    rng = np.random.default_rng(2)
    onehot = np.zeros((120, 30))
    choice = rng.integers(5, size=(120, 6))
    onehot[np.repeat(np.arange(120), 6), (np.arange(6) * 5)[None, :].repeat(120, 0).ravel() + choice.ravel()] = 1.0
    weights = rng.normal(size=30)
    y = onehot @ weights
    gp = GaussianProcess(linear_weights=(0.0, 0.5, 1.0)).fit(onehot[:80], y[:80])
    assert gp.linear_weight == 1.0  # an additive function over edges is what the linear kernel models
    mean, var = gp.predict(onehot[80:])
    assert np.corrcoef(mean, y[80:])[0, 1] > 0.95
    smooth = GaussianProcess().fit(rng.uniform(-1, 1, size=(40, 2)), rng.normal(size=40))
    near, far = smooth.predict(np.array([[0.0, 0.0], [50.0, 50.0]]))[1]
    assert far > near > 0
    with pytest.raises(ConfigError, match="at least 2 observations"):
        GaussianProcess().fit(np.zeros((1, 2)), np.zeros(1))


def test_gp_reuses_given_hyper_parameters():
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, size=(30, 3))
    y = np.sin(3 * x[:, 0]) + x[:, 1]
    searched = GaussianProcess().fit(x, y)
    reused = GaussianProcess().fit(x, y, hyper=searched.hyper)
    assert reused.hyper == searched.hyper
    assert np.allclose(reused.predict(x[:5])[0], searched.predict(x[:5])[0])
    fixed = GaussianProcess().fit(x, y, hyper=(0.3, 0.0, 0.3))
    assert fixed.hyper == (0.3, 0.0, 0.3) and fixed.log_marginal_likelihood <= searched.log_marginal_likelihood


def test_path_encoding_of_nb201_and_nb101_cells():
    moves = moves_for("nb201")
    cell = NB201Cell(("nor_conv_3x3", "nor_conv_3x3", "nor_conv_3x3", "skip_connect", "none", "nor_conv_1x1"))
    # paths 0->3, 0->1->3 (cut by none), 0->2->3, 0->1->2->3
    assert sorted(moves.path_tokens(cell)) == sorted([("skip_connect",), ("nor_conv_3x3", "nor_conv_1x1"),
                                                      ("nor_conv_3x3", "nor_conv_3x3", "nor_conv_1x1")])
    from nasviz.spaces import nb101

    nb101_moves = moves_for("nb101")
    paths = nb101_moves.path_tokens(nb101_moves.random_cell(np.random.default_rng(0)))
    assert paths and all(set(path) <= set(nb101.OPS) for path in paths)  # interior node ops only
    strategy = build_strategy("gp-bo", "nb201", seed=0, settings={"features": "paths"})
    x = strategy._matrix([cell])
    assert x.shape == (1, 30 + 3) and x[0, 30:].tolist() == [1.0, 1.0, 1.0]


def test_gp_bo_on_arch2vec_features_needs_the_embeddings(monkeypatch):
    write_onehot_embeddings()
    strategy = build_strategy("gp-bo", "nb201", seed=0, settings={"features": "arch2vec"})
    cells = strategy.ask(20)
    strategy.tell(cells, [Observation(score(c)) for c in cells])
    proposal = strategy.ask(2)
    assert len({c.index for c in proposal} | {c.index for c in cells}) == 22
    with pytest.raises(ConfigError, match="features must be"):
        build_strategy("gp-bo", "nb201", seed=0, settings={"features": "path"})
    with pytest.raises(ConfigError, match="latency_model"):
        build_strategy("gp-bo", "nb201", seed=0, settings={"latency_model": "sqrt"})
    import nasviz.encoders.store as encoder_store

    monkeypatch.setattr(encoder_store, "find_model_dir", lambda space, encoder: None)
    build_strategy("gp-bo", "nb201", seed=0)  # the one-hot default needs no trained model
    with pytest.raises(DataError, match="nasviz encoders train arch2vec"):
        build_strategy("gp-bo", "nb201", seed=0, settings={"features": "arch2vec"})


@pytest.mark.parametrize("algo", ["random", "re", "ls", "tpe", "gp-bo"])
def test_strategies_run_on_nb101_through_its_moves(algo):
    space = moves_for("nb101").space

    def nb101_score(cell) -> float:
        return float(space.op_counts(cell).get("conv3x3-bn-relu", 0) + 0.1 * cell.num_edges)

    objective = FunctionObjective("nb101", nb101_score)
    runner = SearchRunner(SearchConfig(space="nb101", algo=algo, budget=30, seed=0,
                                       settings={"population_size": 10} if algo == "re" else
                                       {"candidates": 100, "initial_samples": 10} if algo == "gp-bo" else {}),
                          objective=objective, store=RunStore())
    result = runner.run()
    records = runner.store.queries(result.run_id)
    assert result.status == "finished" and len({r.cell_id for r in records}) == 30
    assert all(space.is_valid(space.parse(r.cell)).valid for r in records)
    chain = space.parse({"matrix": [[0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]],
                         "ops": ["input", "conv3x3-bn-relu", "conv1x1-bn-relu", "output"]})
    neighbours = moves_for("nb101").neighbours(chain)
    assert len({space.cell_id(c) for c in neighbours}) == len(neighbours) > 0
    assert all(space.is_valid(c).valid and space.cell_id(c) != space.cell_id(chain) for c in neighbours)


def test_gp_rbf_kernel_and_unknown_kernel():
    from nasviz.errors import ConfigError
    from nasviz.search.gp import GaussianProcess

    x = np.linspace(-2, 2, 30)[:, None]
    y = np.sin(x[:, 0])
    mean, var = GaussianProcess(kernel="rbf").fit(x, y).predict(np.array([[0.5]]))
    assert abs(mean[0] - np.sin(0.5)) < 0.05 and var[0] < 0.01
    with pytest.raises(ConfigError, match="unknown GP kernel"):
        GaussianProcess(kernel="cosine")


def test_setting_of_the_wrong_kind_fails_before_the_run():
    from nasviz.errors import ConfigError
    from nasviz.search.base import strategy_class

    gp = strategy_class("gp-bo")
    settings = gp.resolve_settings({"xi": 1, "linear_weights": [0, 0.5]})  # an int where a float is declared: a number
    assert settings["xi"] == 1.0 and isinstance(settings["xi"], float) and settings["linear_weights"] == [0.0, 0.5]
    for key, value, kind in (("xi", "abc", "a number"), ("initial_samples", True, "an integer"),
                             ("features", 3, "one of onehot, paths, arch2vec"), ("linear_weights", 0.5, "a list"),
                             ("skip_degenerate", 1, "true or false")):
        with pytest.raises(ConfigError, match=f"strategy gp-bo: setting {key} must be {kind}"):
            gp.resolve_settings({key: value})


def test_gp_bo_skip_degenerate_never_proposes_a_cut_off_cell():
    from nasviz.spaces.nb201 import is_degenerate

    cut_off = NB201Cell(("nor_conv_3x3", "skip_connect", "none", "none", "none", "none"))  # node 3 reads nothing
    moves = moves_for("nb201")
    assert moves.is_degenerate(cut_off) and not moves.is_degenerate(optimum_cell())

    def favours_none(cell) -> float:  # an objective whose model points at cut-off cells
        return float(sum(op == "none" for op in cell.ops)) + 0.01 * score(cell)

    proposals = {}
    for skip in (False, True):
        runner = SearchRunner(SearchConfig(algo="gp-bo", budget=30, seed=0, settings={"skip_degenerate": skip}),
                              objective=FunctionObjective("nb201", favours_none), store=RunStore())
        result = runner.run()
        records = runner.store.queries(result.run_id)[16:]
        proposals[skip] = sum(is_degenerate(moves.cell_from_id(r.cell_id)) for r in records)
    assert proposals[False] > 0 and proposals[True] == 0
    with pytest.raises(ConfigError, match="skip_degenerate"):
        build_strategy("gp-bo", "nb201", seed=0, settings={"skip_degenerate": "yes"})


def test_nb201_functional_and_executed_cells():
    moves = moves_for("nb201")
    # node 2 never reaches the output (2->3 is none): its two input ops are neither live nor executed
    dead_end = NB201Cell(("nor_conv_3x3", "nor_conv_1x1", "nor_conv_3x3", "skip_connect", "nor_conv_1x1", "none"))
    pruned = NB201Cell(("nor_conv_3x3", "none", "none", "skip_connect", "nor_conv_1x1", "none"))
    assert moves.functional_cell(dead_end) == pruned and moves.executed_cell(dead_end) == pruned
    # node 1 is fed nothing (0->1 none): its ops compute on zeros (still executed) but do not change the function
    unfed = NB201Cell(("none", "none", "nor_conv_3x3", "nor_conv_1x1", "nor_conv_3x3", "nor_conv_3x3"))
    assert moves.executed_cell(unfed) == unfed
    assert moves.functional_cell(unfed) == NB201Cell(("none", "none", "none", "nor_conv_1x1", "none", "none"))
    assert moves_for("nb101").executed_cell("x") == "x"  # other spaces: the cell itself


def test_gp_bo_encodings_model_dead_code():
    """With latency_encoding="executed" the latency GP sees which ops a compiler still runs: on a latency that
    counts the executed convolutions it predicts unseen cells better than on the plain one-hot."""
    moves = moves_for("nb201")

    def executed_cost(cell) -> float:
        return float(sum(op.startswith("nor_conv") for op in moves.executed_cell(cell).ops))

    from nasviz.search.constraints import Constraint

    rng = np.random.default_rng(0)
    codes = rng.choice(15625, size=240, replace=False)
    train, test = [cell_from_code(int(c)) for c in codes[:60]], [cell_from_code(int(c)) for c in codes[60:]]
    errors = {}
    for encoding in ("cell", "executed"):
        strategy = build_strategy("gp-bo", "nb201", seed=0, constraint=Constraint("toy", 2.0, 0, "toy"),
                                  settings={"latency_encoding": encoding})
        strategy.tell(train, [Observation(score(c), executed_cost(c), executed_cost(c) <= 2.0) for c in train])
        x, pool = strategy._latency_inputs(strategy._history_matrix(), strategy._matrix(test),
                                           [moves.cell_id(c) for c in test], test)
        mean, _ = strategy._fit("latency", x, np.array([executed_cost(c) for c in train])).predict(pool)
        errors[encoding] = float(np.sqrt(np.mean((mean - [executed_cost(c) for c in test]) ** 2)))
    assert errors["executed"] < 0.5 * errors["cell"]
    runs = [[r.cell_id for r in _run("gp-bo", 24, 3, signal_encoding="functional")[1]] for _ in range(2)]
    assert runs[0] == runs[1] and len(set(runs[0])) == 24
    for key in ("signal_encoding", "latency_encoding"):
        with pytest.raises(ConfigError, match=key):
            build_strategy("gp-bo", "nb201", seed=0, settings={key: "graph"})
    with pytest.raises(ConfigError, match="signal_encoding"):
        write_onehot_embeddings()
        build_strategy("gp-bo", "nb201", seed=0, settings={"features": "arch2vec", "signal_encoding": "functional"})


def test_gp_bo_feasibility_threshold_stops_after_min_feasible_probability_until_queries():
    """min_feasible_probability skips candidates unlikely to be feasible; with min_feasible_probability_until=N it
    applies only while fewer than N cells are observed, then plain constrained EI scores every candidate."""
    from nasviz.search.constraints import Constraint

    moves = moves_for("nb201")

    def convs(cell) -> float:
        return float(sum(op.startswith("nor_conv") for op in cell.ops))

    rng = np.random.default_rng(1)
    codes = rng.choice(15625, size=440, replace=False)
    train, pool = [cell_from_code(int(c)) for c in codes[:40]], [cell_from_code(int(c)) for c in codes[40:]]
    skipped = {}
    for until in (0, 41, 40):
        strategy = build_strategy("gp-bo", "nb201", seed=0, constraint=Constraint("toy", 1.0, 0, "toy"),
                                  settings={"latency_model": "raw", "min_feasible_probability": 0.9,
                                            "min_feasible_probability_until": until})
        strategy.tell(train, [Observation(score(c), convs(c), convs(c) <= 1.0) for c in train])
        acquisition = strategy._acquisition(strategy._history_matrix(), strategy._matrix(pool),
                                            [moves.cell_id(c) for c in pool], pool)
        skipped[until] = int(np.count_nonzero(acquisition < 0))
    assert skipped[0] > 100 and skipped[41] == skipped[0]  # threshold on: 40 observations < 41
    assert skipped[40] == 0  # 40 observations reached: nothing skipped
    for bad in (-1, 96.5):
        with pytest.raises(ConfigError, match="min_feasible_probability_until"):
            build_strategy("gp-bo", "nb201", seed=0, settings={"min_feasible_probability_until": bad})


def test_gp_bo_picks_the_dead_code_encodings_when_few_cells_look_feasible():
    """dead_code_encodings_below: the feasible share estimated from the initial random sample decides, once, whether
    the run models the functional cell and the executed ops; the decision ignores later cells (a resumed run that
    replays them decides the same)."""
    from nasviz.search.constraints import Constraint

    def convs(cell) -> float:
        return float(sum(op.startswith("nor_conv") for op in cell.ops))

    rng = np.random.default_rng(2)
    cells = [cell_from_code(int(c)) for c in rng.choice(15625, size=36, replace=False)]
    decisions = {}
    for limit, told in ((0.5, 16), (0.5, 36), (4.0, 16)):
        strategy = build_strategy("gp-bo", "nb201", seed=0, constraint=Constraint("toy", limit, 0, "toy"),
                                  settings={"latency_model": "raw", "dead_code_encodings_below": 0.1})
        # the cells after the initial 16 all measure 0 ms: counted, they would make most cells look feasible
        strategy.tell(cells[:told], [Observation(score(c), convs(c) if i < 16 else 0.0, i >= 16 or convs(c) <= limit)
                                     for i, c in enumerate(cells[:told])])
        assert strategy.encoding_decision is None  # decided at the first model fit
        strategy.ask(2)
        decisions[limit, told] = (strategy.encoding_decision, strategy.signal_encoding, strategy.latency_encoding)
    tight, _, _ = decisions[0.5, 16]
    assert tight["observations"] == 16 and tight["feasible_share"] < 0.1 and tight["dead_code_encodings"]
    assert decisions[0.5, 16][1:] == ("functional", "executed")
    assert decisions[0.5, 36][0]["feasible_share"] == pytest.approx(tight["feasible_share"], rel=0.1)
    assert decisions[0.5, 36][0]["dead_code_encodings"]
    loose = decisions[4.0, 16]
    assert loose[0]["feasible_share"] > 0.5 and not loose[0]["dead_code_encodings"] and loose[1:] == ("cell", "cell")
    unconstrained = build_strategy("gp-bo", "nb201", seed=0, settings={"dead_code_encodings_below": 0.1})
    unconstrained.tell(cells[:16], [Observation(score(c)) for c in cells[:16]])
    unconstrained.ask(1)
    assert unconstrained.encoding_decision is None and unconstrained.signal_encoding == "cell"
    with pytest.raises(ConfigError, match="dead_code_encodings_below"):
        build_strategy("gp-bo", "nb201", seed=0, settings={"dead_code_encodings_below": 1.5})
