"""Typed settings and the one ``KEY=VALUE`` reader.

A :class:`Setting` declares one option: its name, type, default, range or choices and help text. Text from the
command line (``nasviz search --set``), the Search page or an evaluator spec is split by :func:`parse_assignments`
and converted by the declared type (:meth:`Setting.convert`, :func:`resolve_settings`), so ``late_after=100`` is the
integer 100 and a bad value is a ConfigError naming the setting, its type and its range. Options without a declared
type (evaluator specs) are read by :func:`literal_value`.
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nasviz.errors import ConfigError

#: the types a setting may declare; ``floats`` is a list of numbers
KINDS = ("int", "float", "bool", "str", "choice", "floats")
_INT = re.compile(r"^[+-]?\d+$")
_FLOAT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_MAX_SHOWN = 60


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_SHOWN else f"{text[:_MAX_SHOWN]}..."


def _number_text(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


@dataclass(frozen=True)
class Setting:
    """One typed option: ``kind`` is one of :data:`KINDS`; ``low``/``high`` bound numbers (inclusive; for ``floats``
    every element), ``choices`` list the values of a ``choice``; ``step`` is the step of a number widget."""

    name: str
    kind: str
    default: Any
    help: str = ""
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    step: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"setting {self.name}: unknown kind {self.kind!r}; one of {', '.join(KINDS)}")
        if (self.kind == "choice") != bool(self.choices):
            raise ValueError(f"setting {self.name}: choices go with kind 'choice' (and only with it)")
        converted = self.convert(self.default)
        if converted != self.default or type(converted) is not type(self.default):
            raise ValueError(f"setting {self.name}: default {self.default!r} is not a {self.kind}")

    # ---- description ---------------------------------------------------------------------------
    def range_text(self) -> str:
        """``in [1, 100]``, ``>= 0``, ``<= 1`` or ``""``."""
        if self.low is not None and self.high is not None:
            return f"in [{_number_text(self.low)}, {_number_text(self.high)}]"
        if self.low is not None:
            return f">= {_number_text(self.low)}"
        if self.high is not None:
            return f"<= {_number_text(self.high)}"
        return ""

    def type_text(self) -> str:
        """What a value must be, e.g. ``an integer in [1, 1000]``, ``true or false``, ``one of raw, log``."""
        bounds = self.range_text()
        if self.kind == "int":
            return "an integer" + (f" {bounds}" if bounds else "")
        if self.kind == "float":
            return "a number" + (f" {bounds}" if bounds else "")
        if self.kind == "floats":
            return "a list of numbers, e.g. 0,0.5,1" + (f" (each {bounds})" if bounds else "")
        if self.kind == "bool":
            return "true or false"
        if self.kind == "choice":
            return f"one of {', '.join(self.choices)}"
        return "text"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description (``nasviz search presets --json``, the page)."""
        out: dict[str, Any] = {"name": self.name, "type": self.kind, "default": self.default, "help": self.help}
        if self.low is not None:
            out["min"] = self.low
        if self.high is not None:
            out["max"] = self.high
        if self.choices:
            out["choices"] = list(self.choices)
        return out

    # ---- conversion ----------------------------------------------------------------------------
    def _fail(self, value: Any, owner: str, why: str = "") -> ConfigError:
        where = f"{owner}: " if owner else ""
        return ConfigError(f"{where}setting {self.name} must be {self.type_text()} (default "
                           f"{json.dumps(self.default)}), got {_shown(value)}" + (f" ({why})" if why else ""))

    def _number(self, value: Any, owner: str, integer: bool) -> int | float:
        if isinstance(value, str):
            text = value.strip()
            if _INT.match(text):
                number: int | float = int(text)
            elif _FLOAT.match(text):
                number = float(text)
            else:
                raise self._fail(value, owner)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            number = value
        else:
            raise self._fail(value, owner)
        if not math.isfinite(number):
            raise self._fail(value, owner, "not finite")
        if integer:
            if number != int(number):
                raise self._fail(value, owner, "not a whole number")
            number = int(number)
        else:
            number = float(number)
        if (self.low is not None and number < self.low) or (self.high is not None and number > self.high):
            raise self._fail(value, owner, "out of range")
        return number

    def convert(self, value: Any, owner: str = "") -> Any:
        """``value`` (text, or a Python value from a preset, a stored run or the page) as this setting's type;
        ConfigError naming the setting (of ``owner``), its type and range otherwise."""
        if self.kind in ("int", "float"):
            return self._number(value, owner, self.kind == "int")
        if self.kind == "bool":
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.strip().lower() in ("true", "false"):
                return value.strip().lower() == "true"
            raise self._fail(value, owner)
        if self.kind == "floats":
            items: Any = value
            if isinstance(value, str):
                text = value.strip()
                if text.startswith("["):
                    try:
                        items = json.loads(text)
                    except (json.JSONDecodeError, RecursionError):
                        raise self._fail(value, owner) from None
                else:
                    items = [part for part in text.split(",") if part.strip()]
            if not isinstance(items, (list, tuple)) or not items:
                raise self._fail(value, owner)
            try:
                return [self._number(item, owner, integer=False) for item in items]
            except ConfigError:
                raise self._fail(value, owner, "an element is not a number in range") from None
        if not isinstance(value, str):
            raise self._fail(value, owner)
        text = value.strip()
        if self.kind == "choice" and text not in self.choices:
            raise self._fail(value, owner)
        return text

    def text(self, value: Any) -> str:
        """``value`` written the way :meth:`convert` reads it back (``true``, ``0.25``, ``0,0.5``)."""
        if self.kind == "bool":
            return "true" if value else "false"
        if self.kind == "floats":
            return ",".join(_number_text(float(v)) for v in value)
        if self.kind == "float":
            return repr(float(value))
        return str(value)


def resolve_settings(fields: Sequence[Setting], given: Mapping[str, Any], owner: str) -> dict[str, Any]:
    """Every declared setting: the given ones converted by their type, the others at their default.
    ConfigError for a name ``owner`` does not declare (naming the known ones) or a bad value."""
    by_name = {field.name: field for field in fields}
    unknown = sorted(set(given) - set(by_name))
    if unknown:
        raise ConfigError(f"unknown setting(s) {', '.join(unknown)} for {owner}; known: {', '.join(by_name) or 'none'}")
    return {field.name: field.convert(given[field.name], owner) if field.name in given else copy.copy(field.default)
            for field in fields}


def parse_assignments(items: Iterable[str] | None, example: str = "population_size=20",
                      what: str = "setting") -> dict[str, str]:
    """``KEY=VALUE`` items as ``{KEY: VALUE}`` text (both stripped; a later KEY wins). Blank items are skipped;
    an item without ``=`` or with an empty KEY is a ConfigError. Values are converted by whoever declares them."""
    out: dict[str, str] = {}
    for item in items or []:
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"bad {what} {_shown(item.strip())}: expected KEY=VALUE, e.g. {example}")
        if not key.strip():
            raise ConfigError(f"bad {what} {_shown(item.strip())}: the name before '=' is empty")
        out[key.strip()] = value.strip()
    return out


def literal_value(text: str) -> Any:
    """An undeclared option's text as a value: ``none``/``null`` -> None, ``true``/``false`` -> bool (any case),
    an integer or a finite decimal number -> int/float, anything else -> the stripped text."""
    stripped = text.strip()
    lowered = stripped.lower()
    if lowered in ("none", "null"):
        return None
    if lowered in ("true", "false"):
        return lowered == "true"
    if _INT.match(stripped):
        return int(stripped)
    if _FLOAT.match(stripped):
        return float(stripped)
    return stripped


__all__ = ["KINDS", "Setting", "literal_value", "parse_assignments", "resolve_settings"]
