"""NAT's action space: per edge *keep*, *skip* (replace by an identity) or *null* (remove), under two rules.

- ``paper`` (NAT paper, Fig. 2(c) and rebuttal Q5): the cost order c(O) > c(S) > c(N) must never be climbed:
  an op edge (conv, pool, ...) may be kept, replaced by skip or removed; a skip edge may be kept or removed; a null
  edge stays null. Where an edge's skip would cost *more* than its op (a pooling edge read with stride 2 in a
  reduction cell becomes a FactorizedReduce with parameters), skip is masked too, so the rule never raises the cost.
- ``code`` (the official NAT code, ``TRANSFORM_PRIMITIVES``): every edge, null and skip edges included, may become
  null, stay, or become skip; so the null edges added to VGG/ResNet can become shortcuts (NAT_VGG, NAT_ResBlock).

Actions that give the same op as another action (skip on a skip edge, null on a null edge) are masked, so every
distinct transformation is one combination of allowed actions.
"""

from __future__ import annotations

from dataclasses import dataclass

from nasviz.errors import ConfigError

ACTIONS: tuple[str, ...] = ("keep", "skip", "null")
KEEP, SKIP, NULL = 0, 1, 2
RULES: tuple[str, ...] = ("paper", "code")
RULE_LABELS: dict[str, str] = {
    "paper": "paper rule: op -> keep/skip/null, skip -> skip/null, null -> null (never raises the cost)",
    "code": "official-code rule: every edge -> keep/skip/null (null edges may become shortcuts)",
}
ACTION_LABELS: dict[str, str] = {"keep": "keep the op", "skip": "replace by skip (identity)", "null": "remove (null)"}


@dataclass(frozen=True)
class EdgeKind:
    """How an edge's op behaves under the rules: its class and whether skip would cost more than the op."""

    op_class: str  # "op", "skip" or "null"
    skip_costs_more: bool = False


def check_rule(rule: str) -> str:
    rule = (rule or "").strip().lower()
    if rule not in RULES:
        raise ConfigError(f"unknown NAT rule {rule!r}; choose 'paper' ({RULE_LABELS['paper']}) or "
                          f"'code' ({RULE_LABELS['code']})")
    return rule


def check_action(action: str) -> int:
    """Index of an action name (also accepts k/s/n and same/none/identity)."""
    aliases = {"k": "keep", "same": "keep", "s": "skip", "skip_connect": "skip", "identity": "skip", "n": "null",
               "none": "null", "zero": "null"}
    name = aliases.get(str(action).strip().lower(), str(action).strip().lower())
    if name not in ACTIONS:
        raise ConfigError(f"unknown NAT action {action!r}; choose one of {', '.join(ACTIONS)}")
    return ACTIONS.index(name)


def allowed_actions(kind: EdgeKind, rule: str) -> tuple[bool, bool, bool]:
    """Mask over (keep, skip, null) for one edge under ``rule``."""
    rule = check_rule(rule)
    if kind.op_class == "null":
        return (True, rule == "code", False)
    if kind.op_class == "skip":
        return (True, False, True)
    if rule == "paper" and kind.skip_costs_more:
        return (True, False, True)
    return (True, True, True)
