"""Exceptions raised by nasviz. Every message names the problem in plain words."""

from __future__ import annotations


class NasvizError(Exception):
    """Base class of every error nasviz raises on purpose."""


class CellError(NasvizError, ValueError):
    """A cell could not be parsed or is not a valid cell of its search space."""


class DataError(NasvizError):
    """A benchmark file, table or cache is missing, corrupt or of the wrong format."""


class ConfigError(NasvizError, ValueError):
    """A setting (space, dataset, metric, device, budget...) is unknown or inconsistent."""
