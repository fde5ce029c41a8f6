"""Figures: everything that draws or exports.

- :mod:`nasviz.figures.cells`: graphviz drawings of cells (SVG/PDF/PNG), with the ops that changed highlighted.
- :mod:`nasviz.figures.render`: Plotly figures to PNG/SVG/PDF (paper preset, one shared Kaleido browser) and CSV.
- :mod:`nasviz.figures.search`: the charts of search runs (best so far, queries, feasibility, comparisons).
- :mod:`nasviz.figures.batch`: ``nasviz export``: latent maps, walks, L2 vs edit distance and runs as paper figures.
"""
