"""Search spaces: one canonical cell type each, behind :class:`SearchSpace`."""

from __future__ import annotations

from importlib import import_module

from nasviz.errors import ConfigError
from nasviz.spaces.base import NetworkCost, SearchSpace, Validity

#: space name -> "module:Class" (imported lazily)
_REGISTRY: dict[str, str] = {
    "nb201": "nasviz.spaces.nb201:NB201Space",
    "nb101": "nasviz.spaces.nb101:NB101Space",
    "darts": "nasviz.spaces.darts:DartsSpace",
    "nat": "nasviz.spaces.nat:NatSpace",
}
_ALIASES = {"nasbench201": "nb201", "nas-bench-201": "nb201", "nasbench101": "nb101", "nas-bench-101": "nb101",
            "nb301": "darts"}
_INSTANCES: dict[str, SearchSpace] = {}

SPACE_NAMES: tuple[str, ...] = tuple(_REGISTRY)


def get_space(name: str) -> SearchSpace:
    """The search space called ``name`` (nb201, nb101, darts, nat)."""
    key = _ALIASES.get(name.lower(), name.lower())
    if key not in _REGISTRY:
        raise ConfigError(f"unknown search space {name!r}; choose one of {', '.join(_REGISTRY)}")
    if key not in _INSTANCES:
        module_name, class_name = _REGISTRY[key].split(":")
        _INSTANCES[key] = getattr(import_module(module_name), class_name)()
    return _INSTANCES[key]


__all__ = ["SPACE_NAMES", "NetworkCost", "SearchSpace", "Validity", "get_space"]
