"""Hardware constraints (AG-Net Joint=0/1 ranking, feasibility ratio) and constrained runs on a table."""

from __future__ import annotations

import numpy as np
import pytest
from test_search_support import write_table

from nasviz.errors import ConfigError, DataError
from nasviz.search import (
    Constraint,
    Observation,
    RunStore,
    SearchConfig,
    SearchRunner,
    feasibility_ratio,
    fitness_scores,
    penalised_ranks,
)
from nasviz.search.summary import feasibility_by_iteration, signal_rank


def test_joint0_ranks_by_accuracy_and_puts_infeasible_below_feasible():
    signals = [90.0, 95.0, 80.0, 85.0]
    latencies = [1.0, 9.0, 2.0, 3.0]
    feasible = [True, False, True, True]  # L = 5
    keys = penalised_ranks(signals, latencies, feasible, joint=0)
    # accuracy ranks 1, 0, 3, 2 -> keys (rank + 1), the infeasible one x1000
    assert keys.tolist() == [2.0, 1000.0, 4.0, 3.0]
    order = np.argsort(keys).tolist()
    assert order == [0, 3, 2, 1]  # the most accurate cell is infeasible: last


def test_violation_order_ranks_infeasible_cells_by_latency():
    signals = [90.0, 95.0, 99.0, 80.0]
    latencies = [1.0, 9.0, 6.0, 2.0]
    feasible = [True, False, False, True]  # L = 5
    agnet = penalised_ranks(signals, latencies, feasible, joint=0)
    violation = penalised_ranks(signals, latencies, feasible, joint=0, infeasible="violation")
    assert agnet[2] < agnet[1]  # AG-Net: the more accurate infeasible cell first
    assert violation[2] < violation[1]  # by latency: 6 ms before 9 ms
    both_infeasible = ([2.0, 1.0], [9.0, 6.0], [False, False])
    assert penalised_ranks(*both_infeasible, 0).tolist() == sorted(penalised_ranks(*both_infeasible, 0).tolist())
    by_latency = penalised_ranks(*both_infeasible, 0, "violation")
    assert by_latency[1] < by_latency[0]  # the less accurate but faster cell first
    assert max(violation[[0, 3]]) < min(violation[[1, 2]])
    with pytest.raises(ConfigError, match="infeasible order"):
        penalised_ranks(signals, latencies, feasible, 0, "sideways")


def test_joint1_sums_accuracy_and_latency_ranks():
    signals = [90.0, 89.0, 80.0]
    latencies = [5.0, 1.0, 0.5]
    keys = penalised_ranks(signals, latencies, [True, True, True], joint=1)
    # acc ranks 0,1,2; latency ranks 2,1,0 -> sums 2,2,2 (+1)
    assert keys.tolist() == [3.0, 3.0, 3.0]
    keys = penalised_ranks([90.0, 89.0, 80.0], [0.5, 1.0, 5.0], [True, True, False], joint=1)
    assert keys.tolist() == [1.0, 3.0, 5.0 * 1000]


def test_penalty_keeps_infeasible_below_feasible_for_large_histories():
    n = 800
    signals = list(np.linspace(0, 1, n))
    feasible = [i % 2 == 0 for i in range(n)]
    fitness = fitness_scores([Observation(s, 1.0, f) for s, f in zip(signals, feasible, strict=True)],
                             Constraint("pixel3", 2.0, 1))
    assert fitness[np.array(feasible)].min() > fitness[~np.array(feasible)].max()


def test_fitness_without_constraint_is_the_signal_and_feasibility_ratio():
    obs = [Observation(3.0), Observation(1.0)]
    assert fitness_scores(obs, None).tolist() == [3.0, 1.0]
    assert feasibility_ratio([True, False, True, True]) == 0.75


def test_constraint_validation():
    with pytest.raises(ConfigError, match="joint"):
        Constraint("pixel3", 2.0, 2)
    with pytest.raises(ConfigError, match="positive"):
        Constraint("pixel3", -1.0, 0)
    assert Constraint("pixel3", 2.0).feasible(2.0) and not Constraint("pixel3", 2.0).feasible(2.01)


@pytest.mark.parametrize(("algo", "joint"), [("re", 0), ("re", 1), ("tpe", 0), ("ls", 0), ("gp-bo", 0), ("gp-bo", 1)])
def test_constrained_run_on_a_table_records_feasibility_and_the_exact_optimum(algo, joint):
    arrays = write_table()
    limit = 2.5
    runner = SearchRunner(SearchConfig(algo=algo, budget=60, seed=0, device="pixel3", max_latency=limit, joint=joint),
                          store=RunStore())
    result = runner.run()
    records = runner.store.queries(result.run_id)
    feasible = arrays["latency"] <= limit
    # the exact constrained optimum from the table
    best_row = int(np.argmax(np.where(feasible, arrays["signal"], -np.inf)))
    ref = result.reference["constrained_optimum"]["signal"]
    assert ref["cell_id"] == arrays["ids"][best_row] and ref["value"] == pytest.approx(arrays["signal"][best_row])
    assert result.reference["feasible_cells"] == int(feasible.sum())
    front = result.reference["pareto_front"]["points"]
    assert front and all(p["latency/pixel3/cifar10"] <= front[-1]["latency/pixel3/cifar10"] for p in front)
    # per-query feasibility and the ratio
    for r in records:
        assert r.feasible == (r.latency <= limit)
    assert result.summary["feasibility_ratio"] == pytest.approx(np.mean([r.feasible for r in records]))
    by_iter = feasibility_by_iteration(records)
    assert sum(i["queries"] for i in by_iter) == 60
    best = result.summary["best"]
    assert best["latency"] <= limit
    assert best["signal"] == max(r.signal for r in records if r.feasible)
    # how close it came: regret and rank among the feasible cells of the table (1 = the optimum)
    feasible_signals = arrays["signal"][feasible]
    assert result.summary["signal_regret"] == pytest.approx(feasible_signals.max() - best["signal"])
    better = int((feasible_signals > best["signal"] + 1e-9).sum())
    assert result.summary["signal_rank"] == (better + 1 if better < 100 else None)
    assert result.summary["reached_signal_optimum"] == (better == 0)
    # a constraint-aware strategy queries mostly feasible cells once it has learned (random: ~feasible share)
    if algo in ("re", "ls"):
        late = [r.feasible for r in records[30:]]
        assert np.mean(late) > feasible.mean()


def test_signal_rank_counts_strictly_better_values_and_shares_ties():
    top = [90.0, 89.5, 89.5, 88.0]
    assert signal_rank(90.0, top) == 1
    assert signal_rank(89.5, top) == 2  # tied cells share the better rank
    assert signal_rank(89.0, top) == 4
    assert signal_rank(88.0, top) == 4
    assert signal_rank(87.0, top) is None  # past the kept list: not ranked
    assert signal_rank(1.0, [1.0, 2.0, 3.0], maximize=False) == 1  # a loss: smaller is better
    assert signal_rank(2.5, [1.0, 2.0, 3.0], maximize=False) == 3


def test_no_feasible_cell_unknown_device_and_half_constraint_raise_before_starting():
    write_table()
    store = RunStore()
    with pytest.raises(DataError, match=r"no nb201 cell has latency <= 0.01 ms on pixel3 \(latency/pixel3/cifar10\)"):
        SearchRunner(SearchConfig(algo="re", budget=50, device="pixel3", max_latency=0.01), store=store)
    with pytest.raises(ConfigError, match="unknown device 'pixel9'.*pixel3"):
        SearchRunner(SearchConfig(algo="re", budget=50, device="pixel9", max_latency=3), store=store)
    with pytest.raises(ConfigError, match="both --device and --max-latency"):
        SearchRunner(SearchConfig(algo="re", budget=50, max_latency=3), store=store)
    assert store.list_runs() == []
