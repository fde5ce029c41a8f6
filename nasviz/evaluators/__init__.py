"""Evaluators: turn cells into values (benchmark look-ups, live training, latency, exact cost).

    from nasviz.evaluators import make_evaluator

    ev = make_evaluator("live:nb201,epochs=4,seed=0")      # or LiveTrainingEvaluator("nb201", ...)
    results = ev.evaluate(cells, progress=callback)         # list[EvalResult], cached in NASVIZ_HOME
    job = ev.submit(cells)                                  # background job: job.progress, job.done(), job.result()
    ev.close()                                              # stop the worker processes
"""

from __future__ import annotations

from nasviz.evaluators.base import EvalResult, EvaluationJob, Evaluator
from nasviz.evaluators.cache import EvalCache
from nasviz.evaluators.cost import CostEvaluator
from nasviz.evaluators.latency import LatencyEvaluator, cpu_model
from nasviz.evaluators.live import LiveTrainingEvaluator
from nasviz.evaluators.registry import DESCRIPTIONS, EVALUATORS, make_evaluator, parse_spec
from nasviz.evaluators.tabular import TabularEvaluator

__all__ = [
    "DESCRIPTIONS",
    "EVALUATORS",
    "CostEvaluator",
    "EvalCache",
    "EvalResult",
    "EvaluationJob",
    "Evaluator",
    "LatencyEvaluator",
    "LiveTrainingEvaluator",
    "TabularEvaluator",
    "cpu_model",
    "make_evaluator",
    "parse_spec",
]
