"""High-level NAT operations used by the CLI and the page: optimise a cell with a trained policy, score a cell."""

from __future__ import annotations

import math
import time
from functools import lru_cache
from typing import Any

from nasviz.errors import ConfigError, DataError, NasvizError
from nasviz.nat.cells import get_adapter
from nasviz.nat.decide import CANDIDATE_MODES, decide
from nasviz.nat.rewards import NB201_EVAL_METRIC, NB201_TRAIN_METRIC, Reward, TabularReward
from nasviz.nat.rules import ACTIONS, RULE_LABELS, check_rule
from nasviz.nat.store import LoadedPolicy, PolicyNotFoundError, load_policy
from nasviz.nat.transform import Transformation, transform


@lru_cache(maxsize=4)
def _tabular(metric: str) -> TabularReward:
    return TabularReward("nb201", metric)


def nb201_table_available() -> bool:
    from nasviz.data import has_table

    return has_table("nb201")


def metric_source(space: str) -> Reward | None:
    """What gives the accuracy shown for a cell: the NB201 table (true, 200-epoch test) or the NAT supernet (predicted,
    digits validation accuracy under shared weights); None when neither is available."""
    adapter = get_adapter(space)
    if adapter.name == "nb201":
        try:
            return _tabular(NB201_EVAL_METRIC) if nb201_table_available() else None
        except NasvizError:
            return None
    from nasviz.nat.supernet import load_supernet_reward

    try:
        return load_supernet_reward()
    except NasvizError:
        return None


def selection_reward(space: str) -> Reward | None:
    """The reward best-of-K sampling selects by: NB201 12-epoch valid accuracy, or the supernet for NAT cells."""
    adapter = get_adapter(space)
    if adapter.name == "nb201":
        try:
            return _tabular(NB201_TRAIN_METRIC) if nb201_table_available() else None
        except NasvizError:
            return None
    return metric_source(space)


def metric_values(space: str, cells: list[Any]) -> dict[str, Any] | None:
    """Accuracy of each cell (invalid cells get None) with the metric's meaning, or None when nothing scores cells."""
    adapter = get_adapter(space)
    source = metric_source(space)
    if source is None:
        return None
    values: list[float | None] = []
    for cell in cells:
        validity, _ = adapter.transformed_validity(cell)
        if not validity.valid and adapter.name != "nb201":
            values.append(None)
            continue
        value = float(source.values([cell])[0])
        values.append(None if math.isnan(value) else round(value, 4))
    return {"values": values, "measured": source.measured, "metric": describe_metric(source)}


def describe_metric(source: Reward) -> str:
    if isinstance(source, TabularReward):
        return f"{source.metric} (NB201 table, true)"
    return "supernet accuracy on digits validation (shared weights, predicted)"


def optimise(space: str, cell: Any, rule: str | None = None, samples: int = 0, dataset: str | None = None, seed: int = 0,
             loaded: LoadedPolicy | None = None, candidates: str = "top") -> dict[str, Any]:
    """Transform ``cell`` with the trained policy of ``space``: the transformed cell, per-edge action probabilities,
    exact cost deltas and the metric delta (true on NB201, predicted by the supernet on NAT cells). With ``samples``
    K > 1, the best of K candidate transformations by the selection reward is kept (official derivation): the K most
    probable distinct ones (``candidates="top"``) or the greedy one and K-1 samples (``"sample"``)."""
    start = time.perf_counter()
    adapter = get_adapter(space)
    parsed = adapter.parse(cell)
    note = None
    if loaded is None:
        loaded, note = load_policy_for(adapter.name, rule or "paper")
    rule = check_rule(rule or loaded.rule)
    if candidates not in CANDIDATE_MODES:
        raise ConfigError(f"unknown candidates {candidates!r}: use one of {', '.join(CANDIDATE_MODES)}")
    adapter.check_size(parsed, loaded.policy.config.max_nodes)
    reward = selection_reward(adapter.name) if samples > 1 else None
    try:
        decision = decide(loaded.policy, adapter, [parsed], rule, samples=samples if reward else 0, reward=reward,
                          seed=seed, candidates=candidates)
    except NasvizError:  # the reward cannot score this cell (e.g. larger than the supernet): greedy decision
        reward = None
        decision = decide(loaded.policy, adapter, [parsed], rule)
    result = transform(adapter, parsed, decision.actions[0], rule, dataset)
    out = result.to_dict(adapter)
    out["rule_label"] = RULE_LABELS[rule]
    out["probabilities"] = [
        {"edge": adapter.public_edge(edge), **{a: round(float(p), 4) for a, p in zip(ACTIONS, row, strict=True)}}
        for edge, row in zip(adapter.edges(parsed), decision.probabilities[0], strict=True)]
    kind = "most probable transformations" if candidates == "top" else "samples"
    out["decision"] = (f"best of {samples} {kind} by {describe_metric(reward)}" if reward
                       else "greedy (most probable action)")
    out["policy"] = {"path": str(loaded.path), "rule": loaded.rule, "command": loaded.manifest.get("command")}
    if note:
        out["policy"]["note"] = note
    out.update(metric_delta(adapter.name, result))
    out["seconds"] = round(time.perf_counter() - start, 4)
    return out


def load_policy_for(space: str, rule: str) -> tuple[LoadedPolicy, str | None]:
    """The policy trained under ``rule``, else (when none exists) the other rule's policy (masked by ``rule``) with a
    note saying so. A policy that exists but cannot be read is an error naming its file, never replaced."""
    try:
        return load_policy(space, rule), None
    except PolicyNotFoundError:
        other = "code" if check_rule(rule) == "paper" else "paper"
        try:
            loaded = load_policy(space, other)
        except PolicyNotFoundError:
            raise PolicyNotFoundError(f"no trained NAT policy for {get_adapter(space).name}; train one with 'nasviz nat train "
                            f"--space {get_adapter(space).name} --rule {rule}'") from None
        return loaded, (f"no {rule}-rule policy for {get_adapter(space).name}: using the {other}-rule policy, "
                        f"masked by the {rule} rule")


def metric_delta(space: str, result: Transformation) -> dict[str, Any]:
    """{"metric": ..., "metric_before", "metric_after", "metric_delta", "metric_measured"} (empty when unavailable)."""
    try:
        scores = metric_values(space, [result.original, result.transformed])
    except NasvizError:
        return {}
    if scores is None:
        return {}
    before, after = scores["values"]
    delta = None if before is None or after is None else round(after - before, 4)
    return {"metric": scores["metric"], "metric_before": before, "metric_after": after, "metric_delta": delta,
            "metric_measured": scores["measured"]}


def score_actions(space: str, cell: Any, actions: list[str | int], rule: str, dataset: str | None = None) -> dict[str, Any]:
    """A user's transformation (e.g. the page's drag and drop): validity, cost and metric deltas."""
    adapter = get_adapter(space)
    result = transform(adapter, cell, actions, rule, dataset)
    out = result.to_dict(adapter)
    out.update(metric_delta(adapter.name, result))
    return out


def probabilities_table(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows edge / p(keep) / p(skip) / p(null) / chosen action for display."""
    rows = []
    for prob, action in zip(result["probabilities"], result["actions"], strict=True):
        op, src, dst = prob["edge"]
        rows.append({"edge": f"{src}->{dst}", "op": op, **{f"p({a})": prob[a] for a in ACTIONS},
                     "action": action["action"]})
    return rows


def require_nb201_table() -> None:
    if not nb201_table_available():
        from nasviz.data import import_commands

        raise DataError("no NB201 benchmark table is available; get one with: " + (import_commands("nb201") or
                        ["nasviz data download nb201-200ep"])[0])


__all__ = ["metric_delta", "metric_source", "metric_values", "optimise", "probabilities_table", "require_nb201_table",
           "score_actions", "selection_reward"]
