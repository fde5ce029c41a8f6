"""Name evaluators with a string or a dict, so the CLI and UI can choose them.

String form: ``kind`` or ``kind:key=value,key=value``; a bare first token is the space, e.g.
``live:nb201,epochs=4``, ``tabular:space=nb201,metric=accuracy/cifar10/test/200ep,noise=mean``,
``latency:nb101``, ``cost:darts,metric=flops``.
"""

from __future__ import annotations

import inspect
from typing import Any

from nasviz.errors import ConfigError
from nasviz.evaluators.base import Evaluator
from nasviz.evaluators.cost import CostEvaluator
from nasviz.evaluators.latency import LatencyEvaluator
from nasviz.evaluators.live import LiveTrainingEvaluator
from nasviz.evaluators.tabular import TabularEvaluator
from nasviz.settings import literal_value, parse_assignments

EVALUATORS: dict[str, type[Evaluator]] = {
    "tabular": TabularEvaluator,
    "live": LiveTrainingEvaluator,
    "latency": LatencyEvaluator,
    "cost": CostEvaluator,
}
DESCRIPTIONS = {
    "tabular": "look the metric up in the imported benchmark table",
    "live": "train the real (reduced) network on digits or a local CIFAR-10 folder; validation accuracy",
    "latency": "median batch-1 forward time of the full network on this machine's CPU (ms)",
    "cost": "exact parameters or multiply-adds from the space's cost model",
}


def parse_spec(text: str) -> dict[str, Any]:
    """``kind:key=value,...`` -> dict with ``kind``; the options are read by the one KEY=VALUE reader of the
    strategy settings (:func:`nasviz.settings.parse_assignments`, values by :func:`nasviz.settings.literal_value`)."""
    text = text.strip()
    if not text:
        raise ConfigError("empty evaluator spec; use e.g. 'live:nb201' or 'tabular:space=nb201'")
    kind, _, rest = text.partition(":")
    spec: dict[str, Any] = {"kind": kind.strip().lower()}
    items = [p for p in rest.split(",") if p.strip()]
    if items and "=" not in items[0]:
        spec["space"] = items.pop(0).strip()
    try:
        options = parse_assignments(items, example="epochs=4", what="evaluator option")
    except ConfigError as exc:
        raise ConfigError(f"{exc} (in {text!r})") from None
    spec.update({key: literal_value(value) for key, value in options.items()})
    return spec


def make_evaluator(spec: str | dict[str, Any] | Evaluator, **overrides: Any) -> Evaluator:
    """An evaluator from a spec string or dict (``kind`` plus constructor options)."""
    if isinstance(spec, Evaluator):
        if not overrides:
            return spec
        spec = spec.spec()
    options = parse_spec(spec) if isinstance(spec, str) else dict(spec)
    options.update(overrides)
    kind = str(options.pop("kind", "")).lower()
    if kind not in EVALUATORS:
        raise ConfigError(f"unknown evaluator {kind!r}; choose one of {', '.join(EVALUATORS)}")
    cls = EVALUATORS[kind]
    accepted = [name for name in inspect.signature(cls.__init__).parameters if name != "self"]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ConfigError(f"unknown option(s) {', '.join(unknown)} for the {kind} evaluator; accepted: {', '.join(accepted)}")
    if "space" not in options:
        raise ConfigError(f"the {kind} evaluator needs a space (e.g. '{kind}:nb201')")
    return cls(**options)
