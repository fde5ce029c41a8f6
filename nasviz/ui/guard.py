"""One way for every page to turn a failure into a message: no traceback ever reaches a user.

- :func:`md_escape`: text safe to put in Markdown (``~`` in NB201 arch strings is not strikethrough).
- :func:`show_error`: an ``st.error`` naming what failed and why.
- :func:`guarded`: run a page body (or a fragment) and show any failure with :func:`show_error`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

import streamlit as st

from nasviz.errors import NasvizError

_log = logging.getLogger("nasviz.ui")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>$])")
_MAX_MESSAGE = 600


def md_escape(text: object) -> str:
    """``text`` with every Markdown control character backslash-escaped."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(text))


def error_message(exc: BaseException, context: str | None = None) -> str:
    """A one-paragraph description of ``exc``: nasviz errors as they are, anything else with its type."""
    text = str(exc).strip() or type(exc).__name__
    if len(text) > _MAX_MESSAGE:
        text = text[:_MAX_MESSAGE] + " ..."
    if not isinstance(exc, NasvizError):
        text = f"unexpected {type(exc).__name__}: {text}"
    return f"{context}: {text}" if context else text


def show_error(exc: BaseException, context: str | None = None, container: Any = None) -> None:
    """Show ``exc`` as an error box (Markdown-escaped), and log the traceback for developers."""
    if not isinstance(exc, NasvizError):
        _log.warning("page error", exc_info=exc)
    (container or st).error(md_escape(error_message(exc, context)))


def guarded(body: Callable[[], Any], context: str | None = None) -> Any:
    """Run ``body``; any exception (but Streamlit's own stop/rerun signals) becomes an error box."""
    try:
        return body()
    except Exception as exc:  # noqa: BLE001 - this is the last line of defence of a page
        show_error(exc, context)
        return None
