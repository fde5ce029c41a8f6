"""Architecture search: seeded ask/tell strategies, objectives with explicit protocols, hardware
constraints (AG-Net Joint=0/1), a SQLite run store with resume, and a runner with callbacks.

Public API::

    from nasviz.search import SearchConfig, SearchRunner, RunStore, run_search

    result = run_search(SearchConfig(space="nb201", dataset="cifar10", algo="re", budget=192, seed=0))
    result.summary["at"]["100"]["reported"]        # 200-epoch test accuracy of the best cell by signal
    RunStore().queries(result.run_id)              # every query, in order
    run_search(SearchConfig(preset="agnet-8-late", budget=192, seed=0))  # a named preset (nasviz.search.presets)
    strategy_class("gp-bo").setting_fields         # the typed settings: name, type, default, range, help
    SearchRunner.resume(run_id).run()              # continue a stopped/crashed run without re-querying

In a UI: build the runner (every check raises here), take its id, run it in a thread and poll the store::

    stop = threading.Event()
    runner = SearchRunner(config, stop_event=stop, on_query=callback)
    run_id = runner.start()
    threading.Thread(target=runner.run, daemon=True).start()
    RunStore().queries(run_id, since=n_seen)       # new queries; stop.set() ends it after the current batch
"""

from nasviz.search.base import (
    Observation,
    SearchContext,
    Strategy,
    parse_settings,
    register_strategy,
    strategy_class,
    strategy_names,
)
from nasviz.search.constraints import Constraint, feasibility_ratio, fitness_scores, penalised_ranks
from nasviz.search.objective import (
    EvaluatorObjective,
    FeasibilityReport,
    FunctionObjective,
    Objective,
    Protocol,
    TableObjective,
    feasibility_report,
)
from nasviz.search.presets import PRESETS, Preset, get_preset, preset_names, resolve_strategy
from nasviz.search.runner import RunResult, SearchConfig, SearchRunner, build_strategy, run_search
from nasviz.search.store import QueryRecord, RunInfo, RunStore
from nasviz.search.summary import aggregate, best_record, summarize, trajectory

__all__ = [
    "Constraint",
    "EvaluatorObjective",
    "FeasibilityReport",
    "FunctionObjective",
    "Objective",
    "Observation",
    "PRESETS",
    "Preset",
    "Protocol",
    "QueryRecord",
    "RunInfo",
    "RunResult",
    "RunStore",
    "SearchConfig",
    "SearchContext",
    "SearchRunner",
    "Strategy",
    "TableObjective",
    "aggregate",
    "best_record",
    "build_strategy",
    "feasibility_ratio",
    "feasibility_report",
    "fitness_scores",
    "get_preset",
    "parse_settings",
    "penalised_ranks",
    "preset_names",
    "register_strategy",
    "resolve_strategy",
    "run_search",
    "strategy_class",
    "strategy_names",
    "summarize",
    "trajectory",
]
