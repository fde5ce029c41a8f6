"""nasviz dashboard: the home page and the navigation to every page in ``views/``.

Run with ``streamlit run app.py``. Pages are discovered from ``views/<n>_<Title>.py`` (ordered by ``n``), so a new
page needs no registration here; each page is a thin view over ``nasviz``. The folder is not called ``pages/``:
Streamlit runs a ``pages/`` script directly on a deep link (``/Search``), bypassing this navigation.
"""

from __future__ import annotations

import re
from pathlib import Path

import streamlit as st

from nasviz.ui import setup_page, show_data_status
from nasviz.ui.guard import guarded
from nasviz.ui.page import available_spaces, show_import_hints, show_shipped_models

PAGES_DIR = Path(__file__).resolve().parent / "views"


def page_title(path: Path) -> str:
    """"3_Neighbour_Walk.py" -> "Neighbour Walk"."""
    return re.sub(r"^\d+_", "", path.stem).replace("_", " ")


def page_files() -> list[Path]:
    """The page scripts, ordered by their number prefix."""
    return sorted(PAGES_DIR.glob("[0-9]*_*.py"), key=lambda p: (int(p.name.split("_", 1)[0]), p.name))


def home() -> None:
    setup_page("Home")
    st.title("nasviz")
    st.markdown(
        "A workbench for neural architecture search researchers: browse the cells of **NAS-Bench-201, "
        "NAS-Bench-101, DARTS and NAT** search spaces, draw and cost them, look up benchmark results, "
        "embed architectures with **arch2vec**, search with **NAO** and **AG-Net**, and transform cells with **NAT**. "
        "Every view has a command-line twin (`nasviz --help`) and exports figures for papers."
    )
    st.subheader("Pages")
    for path in page_files():
        st.page_link(f"views/{path.name}", label=page_title(path), icon=":material/arrow_forward:")
    if not page_files():
        st.info("No pages are installed.")
    st.subheader("Search spaces")
    st.write(", ".join(available_spaces()) or "none installed")
    st.subheader("Benchmark tables")
    st.caption("The tables searches, maps and the NAT page read: the one shipped with nasviz (\"embedded\") until "
               "you import one into the nasviz store (`NASVIZ_HOME`). `nasviz data status` shows the same.")
    show_data_status()
    st.subheader("Trained models")
    st.caption("Shipped in `models/` (your own, trained with `nasviz encoders train` or `nasviz nat train`, go to "
               "`NASVIZ_HOME/models` and take precedence); the figures are those recorded in each `manifest.json`.")
    show_shipped_models()
    st.subheader("Add data")
    st.caption("One recommended command per search space (copy it with the button); alternatives below it.")
    show_import_hints()


navigation = st.navigation(
    [st.Page(home, title="Home", icon=":material/home:", default=True)]
    + [st.Page(f"views/{path.name}", title=page_title(path)) for path in page_files()]
)
guarded(navigation.run)
