"""Page setup, the search-space selector and the benchmark-data status panel."""

from __future__ import annotations

from functools import cache
from typing import Any

import streamlit as st

from nasviz.errors import NasvizError
from nasviz.spaces import SPACE_NAMES, SearchSpace, get_space

APP_NAME = "nasviz"


def setup_page(title: str, icon: str = ":material/hub:", layout: str = "wide") -> None:
    """Page config shared by every page: ``<title> · nasviz``, wide layout."""
    st.set_page_config(page_title=f"{title} · {APP_NAME}", page_icon=icon, layout=layout)  # type: ignore[arg-type]


@cache
def available_spaces() -> tuple[str, ...]:
    """Names of the search spaces whose modules are installed (all four once every module exists)."""
    names = []
    for name in SPACE_NAMES:
        try:
            get_space(name)
        except (ImportError, NasvizError):
            continue
        names.append(name)
    return tuple(names)


def space_selector(key: str = "space", label: str = "Search space", default: str = "nb201",
                   container: Any = None, spaces: tuple[str, ...] | None = None) -> SearchSpace:
    """A selectbox of the installed search spaces; returns the chosen :class:`SearchSpace`.
    The choice is kept in ``st.session_state[key]`` and shared across pages with the same key."""
    names = spaces or available_spaces()
    target = container if container is not None else st
    index = names.index(default) if default in names else 0
    name = target.selectbox(label, names, index=index, key=key, format_func=lambda n: f"{get_space(n).title} ({n})")
    return get_space(name)


def data_status_rows() -> list[dict[str, Any]] | None:
    """``nasviz.data.status()`` or None while the data module is not installed."""
    try:
        from nasviz.data import status
    except ImportError:
        return None
    return status()


def show_data_status() -> None:
    """Which benchmark tables are imported (rows, metrics), and how to import the missing ones."""
    try:
        rows = data_status_rows()
    except NasvizError as exc:
        st.error(f"Could not read the benchmark data store: {exc}")
        return
    if rows is None:
        st.info("The benchmark data module is not installed yet.")
        return
    table = [{"benchmark": r.get("benchmark"), "imported": "yes" if r.get("imported") else "no", "rows": r.get("rows", 0),
              "metrics": len(r.get("metrics", [])), "data version": r.get("data_version") or ""} for r in rows]
    st.dataframe(table, hide_index=True, width="stretch")
    missing = [r for r in rows if not r.get("imported")]
    for row in missing:
        hints = row.get("import_commands") or []
        if hints:
            with st.expander(f"Import {row['benchmark']} data"):
                st.code("\n".join(hints), language="bash")
        if row.get("error"):
            st.warning(f"{row['benchmark']}: {row['error']}")
