"""Named presets: a strategy with settings, a description with the figures measured for it, and where they come from.

``nasviz search --preset NAME`` (``--set`` overrides on top), ``nasviz search presets`` lists them, the Search page
offers them in a selector. A preset's name also works as ``--algo`` (``agnet-8`` was a strategy of its own before it
became a preset of ``agnet``, so old commands and stored runs still resolve). A run records the preset's name
(``config.preset``) and the settings it ran with (``config.settings``: the preset's plus the overrides;
``config.strategy.settings``: every setting).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nasviz.errors import ConfigError
from nasviz.search.base import canonical_strategy_name, strategy_class, strategy_names


@dataclass(frozen=True)
class Preset:
    """A named set of strategy settings. ``constrained``: measured (and meant) for runs under a latency limit."""

    name: str
    strategy: str
    settings: Mapping[str, Any]
    description: str
    #: the document or benchmark result the description's figures come from
    source: str
    constrained: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "strategy": self.strategy, "settings": dict(self.settings),
                "description": self.description, "source": self.source, "constrained": self.constrained}


PRESETS: tuple[Preset, ...] = (
    Preset(
        name="agnet-8",
        strategy="agnet",
        settings={"round_size": 8, "retrain_epochs": 8},
        description="AG-Net's loop in rounds of 8 proposals with 8 retraining epochs: the generator and surrogate are "
                    "updated twice as often for about the same CPU. NB201 CIFAR-10, seeds 0-19, test accuracy of "
                    "the best cell by signal: 94.29 at 96, 94.35 at 100, 94.32 at 192 queries (agnet: 94.20 / 94.30 / "
                    "94.37); two seeds stall on a cell with a high 12-epoch signal and a lower test accuracy.",
        source="benchmarks/results/search_nb201.md (part A)",
    ),
    Preset(
        name="agnet-8-late",
        strategy="agnet",
        settings={"round_size": 8, "retrain_epochs": 8, "late_after": 100},
        description="agnet-8 for the first 100 queries, then a restart from the pre-trained generator and AG-Net's "
                    "rounds of 16 with 15 epochs. NB201 CIFAR-10, seeds 0-19: 94.35 at 100 and 94.37 (the optimum, "
                    "every seed) at 192 queries, against TPE's 94.31 and 94.35; chosen after seeing seeds 0-19, "
                    "re-measured on the held-out seeds 20-39: 94.27 at 100 and 94.37 at 192 (TPE 94.21 and 94.31).",
        source="benchmarks/results/search_nb201.md (part A); benchmarks/results/search_validation/",
    ),
    Preset(
        name="gp-bo-constrained",
        strategy="gp-bo",
        settings={"latency_model": "raw", "min_feasible_probability": 0.5, "skip_degenerate": True,
                  "min_feasible_probability_until": 96, "dead_code_encodings_below": 0.1},
        description="gp-bo under a latency limit: raw latencies, candidates with P(latency <= L) < 0.5 skipped for "
                    "the first 96 queries, cells cut off from their input skipped, and the dead-code encodings "
                    "when the initial sample suggests under 10 % feasible cells. NB201 CIFAR-10, Pixel 3, L = 2 / 4 "
                    "/ 6 / 8 ms, 192 queries: runs at the constrained optimum 9 / 9 / 2 / 4 of 10 (60 %) on seeds "
                    "0-9 and 7 / 10 / 2 / 4 (57 %) on the held-out seeds 10-19; beats Optuna's constrained TPE on "
                    "mean accuracy and feasibility at every limit. Raspberry Pi 4, L = 5 / 10 ms: 8 of 10 at the "
                    "optimum at both (c-TPE 0 and 6 of 10).",
        source="README 'gp-bo under a latency limit'; benchmarks/results/search_nb201.md (part B); "
               "benchmarks/results/search_raspi4/",
        constrained=True,
    ),
)


def preset_names() -> tuple[str, ...]:
    return tuple(p.name for p in PRESETS)


def get_preset(name: str) -> Preset:
    """The preset called ``name`` (ConfigError naming the known ones otherwise)."""
    for preset in PRESETS:
        if preset.name == name.strip().lower():
            return preset
    raise ConfigError(f"unknown preset {name!r}; choose one of {', '.join(preset_names())} "
                      "(`nasviz search presets` lists them)")


def is_preset(name: str | None) -> bool:
    return name is not None and name.strip().lower() in preset_names() and name.strip().lower() not in strategy_names()


@dataclass(frozen=True)
class ResolvedStrategy:
    """What a run uses: the strategy, the preset (or None), the given settings (the preset's plus the overrides,
    converted by their declared types) and every setting (defaults filled in)."""

    strategy: str
    preset: str | None
    given: dict[str, Any]
    settings: dict[str, Any]


def resolve_strategy(algo: str | None, preset: str | None = None,
                     settings: Mapping[str, Any] | None = None) -> ResolvedStrategy:
    """The strategy, preset and typed settings of ``algo`` (a strategy, an alias or a preset's name; None: the
    preset's strategy, or ``random``), ``preset`` and ``settings`` (text or values, on top of the preset's).
    ConfigError for an unknown name, a preset of another strategy than ``algo``, or a bad setting."""
    if preset is None and is_preset(algo):
        preset, algo = algo, None
    chosen = get_preset(preset) if preset is not None else None
    if chosen is not None:
        if algo is not None and not is_preset(algo) and canonical_strategy_name(algo) != chosen.strategy:
            raise ConfigError(f"preset {chosen.name} is a preset of {chosen.strategy}, not of {algo}; leave out "
                              f"--algo or use --algo {chosen.strategy}")
        if algo is not None and is_preset(algo) and algo.strip().lower() != chosen.name:
            raise ConfigError(f"--algo {algo} is a preset itself; give one preset, not {algo} and {chosen.name}")
        name = chosen.strategy
    else:
        try:
            name = canonical_strategy_name(algo if algo is not None else "random")
        except ConfigError as exc:
            raise ConfigError(f"{exc} (or a preset: {', '.join(preset_names())})") from None
    cls = strategy_class(name)
    merged = {**(dict(chosen.settings) if chosen is not None else {}), **dict(settings or {})}
    full = cls.resolve_settings(merged)
    given = {key: full[key] for key in merged}
    return ResolvedStrategy(name, chosen.name if chosen is not None else None, given, full)


def describe_presets() -> list[dict[str, Any]]:
    """Every preset with its settings, description and source (``nasviz search presets --json``)."""
    return [p.to_dict() for p in PRESETS]


__all__ = ["PRESETS", "Preset", "ResolvedStrategy", "describe_presets", "get_preset", "is_preset", "preset_names",
           "resolve_strategy"]
