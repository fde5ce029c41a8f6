"""Small Streamlit helpers shared by the dashboard pages (the pages stay thin views).

- :func:`setup_page`: page config and the common sidebar.
- :func:`space_selector`: pick a search space (only the installed ones).
- :func:`cell_input`: paste or upload a cell in any accepted format; errors shown with st.error.
- :func:`show_cell_drawing`: inline SVG drawing with SVG/PDF/PNG downloads.
- :func:`figure_downloads`: PNG/SVG/PDF (paper preset) and CSV downloads of a Plotly figure.
- :func:`show_data_status`: which benchmark tables are imported.
"""

from nasviz.ui.cells import cell_input, show_cell_drawing
from nasviz.ui.figures import figure_downloads, show_figure
from nasviz.ui.page import setup_page, show_data_status, space_selector

__all__ = ["cell_input", "figure_downloads", "setup_page", "show_cell_drawing", "show_data_status", "show_figure",
           "space_selector"]
