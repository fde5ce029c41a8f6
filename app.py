"""nasviz dashboard home page. Run with ``streamlit run app.py``; the pages live in ``pages/``."""

from __future__ import annotations

import re
from pathlib import Path

import streamlit as st

from nasviz.ui import setup_page, show_data_status
from nasviz.ui.page import available_spaces

PAGES_DIR = Path(__file__).resolve().parent / "pages"


def page_title(path: Path) -> str:
    """"3_NAT_Studio.py" -> "NAT Studio" (the title Streamlit shows in the sidebar)."""
    return re.sub(r"^\d+_", "", path.stem).replace("_", " ")


setup_page("Home")
st.title("nasviz")
st.markdown(
    "A workbench for neural architecture search researchers: browse the cells of **NAS-Bench-201, "
    "NAS-Bench-101, DARTS and NAT** search spaces, draw and cost them, look up benchmark results, "
    "embed architectures with **arch2vec**, search with **NAO** and **AG-Net**, and transform cells with **NAT**. "
    "Every view has a command-line twin (`nasviz --help`) and exports figures for papers."
)

st.subheader("Pages")
pages = sorted(PAGES_DIR.glob("[0-9]*_*.py"))
for page in pages:
    st.page_link(f"pages/{page.name}", label=page_title(page), icon=":material/arrow_forward:")
if not pages:
    st.info("No pages are installed.")

st.subheader("Search spaces")
st.write(", ".join(available_spaces()) or "none installed")

st.subheader("Data")
st.caption("Benchmark tables imported into the nasviz store (`NASVIZ_HOME`); `nasviz data --help` imports more.")
show_data_status()
