"""Figure export shared by every page and command: Plotly figure -> PNG / SVG / PDF bytes and CSV.

Static images are rendered by Kaleido 1.x, which drives a Chrome/Chromium it finds on the
machine (``/usr/bin/chromium`` on Debian). :func:`apply_paper_style` gives a figure the size and
look of a paper figure: single (3.5 in) or double (7.16 in) column width, 8-9 pt fonts, an optional
serif face, the Okabe-Ito colour-blind palette and a white background.

Plotly layout sizes are CSS pixels (96 per inch; Kaleido's PDFs map 1 px to 0.75 pt), so a
3.5 in figure is 336 px wide and a 9 pt font is 12 px.
"""

from __future__ import annotations

import io
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from nasviz.errors import ConfigError

FORMATS: tuple[str, ...] = ("png", "svg", "pdf")
MIME_TYPES = {"png": "image/png", "svg": "image/svg+xml", "pdf": "application/pdf", "csv": "text/csv"}

#: Okabe & Ito (2008) colour-blind safe palette (black moved last so it is rarely a series colour)
OKABE_ITO: tuple[str, ...] = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000")
PX_PER_INCH = 96
PX_PER_PT = PX_PER_INCH / 72
#: column widths in inches (IEEE/NeurIPS-style two-column papers)
COLUMN_WIDTHS_IN = {"single": 3.5, "double": 7.16}
SANS_FONTS = "Helvetica, Arial, DejaVu Sans, sans-serif"
SERIF_FONTS = "Times New Roman, Times, Nimbus Roman, DejaVu Serif, serif"
#: PNG resolution of exported figures
DEFAULT_DPI = 300

#: most points kept as vectors in SVG/PDF; larger maps keep Plotly's WebGL bitmap (a 100k-point SVG is unwieldy)
MAX_VECTOR_POINTS = 50_000

_BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")


class ExportError(ConfigError):
    """A figure could not be exported (no Chrome/Chromium for Kaleido, unknown format...)."""


# ---- paper style ------------------------------------------------------------------------------

def apply_paper_style(fig: go.Figure, width: str = "single", serif: bool = False, height_in: float | None = None,
                      font_pt: float = 8.5) -> go.Figure:
    """A copy of ``fig`` styled for a paper: column ``width`` ("single" 3.5 in / "double" 7.16 in),
    ``font_pt`` fonts (8-9 pt), serif or sans, Okabe-Ito colours, white background, thin margins."""
    if width not in COLUMN_WIDTHS_IN:
        raise ConfigError(f"unknown paper width {width!r}; choose 'single' or 'double'")
    width_in = COLUMN_WIDTHS_IN[width]
    height_in = height_in if height_in is not None else width_in * (0.75 if width == "single" else 0.42)
    font_px = font_pt * PX_PER_PT
    styled = go.Figure(fig)
    styled.update_layout(
        template="simple_white",
        width=round(width_in * PX_PER_INCH),
        height=round(height_in * PX_PER_INCH),
        font={"family": SERIF_FONTS if serif else SANS_FONTS, "size": font_px, "color": "black"},
        title_font_size=font_px + PX_PER_PT,
        legend={"font": {"size": font_px - 0.5 * PX_PER_PT}, "bgcolor": "rgba(255,255,255,0.8)"},
        colorway=list(OKABE_ITO),
        paper_bgcolor="white",
        plot_bgcolor="white",
        margin={"l": 4 * font_px, "r": 1 * font_px, "t": (2.2 if fig.layout.title.text else 1) * font_px,
                "b": 3.2 * font_px, "pad": 0},
    )
    styled.update_xaxes(showline=True, linewidth=0.8, ticks="outside", tickwidth=0.8, ticklen=3, automargin=True,
                        title_font_size=font_px, tickfont_size=font_px - 0.5 * PX_PER_PT)
    styled.update_yaxes(showline=True, linewidth=0.8, ticks="outside", tickwidth=0.8, ticklen=3, automargin=True,
                        title_font_size=font_px, tickfont_size=font_px - 0.5 * PX_PER_PT)
    # subplot titles and annotations (optimum lines' labels) are text too: same face, at the figure's font size
    styled.update_annotations(font={"size": font_px, "family": SERIF_FONTS if serif else SANS_FONTS})
    # traces that were coloured by the default colorway pick up Okabe-Ito
    for index, trace in enumerate(styled.data):
        marker = getattr(trace, "marker", None)
        if marker is not None and marker.color is None and getattr(marker, "colorscale", None) is None:
            color = OKABE_ITO[index % len(OKABE_ITO)]
            if trace.type in ("scatter", "scattergl") and trace.mode and "lines" in trace.mode and trace.line.color is None:
                trace.line.color = color
            marker.color = color
        if trace.type in ("scatter", "scattergl") and getattr(trace, "line", None) is not None and trace.line.width is None:
            trace.line.width = 1.2
    return styled


# ---- images ------------------------------------------------------------------------------------

def find_browser() -> str | None:
    """Path of the Chrome/Chromium Kaleido will use, or None."""
    env = os.environ.get("BROWSER_PATH")
    if env and Path(env).exists():
        return env
    for name in _BROWSER_NAMES:
        path = shutil.which(name)
        if path:
            return path
    try:  # a Chrome downloaded by `plotly_get_chrome` / kaleido.get_chrome()
        from choreographer.cli.defaults import default_download_path

        for candidate in Path(default_download_path).rglob("chrome"):
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return str(candidate)
    except Exception:  # choreographer internals moved: not finding a browser is reported by check_browser
        pass
    return None


def check_browser() -> str:
    """The browser path, or :class:`ExportError` saying how to install one."""
    path = find_browser()
    if path is None:
        raise ExportError(
            "static figure export needs Chrome or Chromium for Kaleido, and none was found; "
            "install it with `apt-get install chromium` (or run `plotly_get_chrome`), or set BROWSER_PATH"
        )
    return path


#: serialises exports: Kaleido's shared browser answers one figure at a time and its queue is not thread-safe
_RENDER_LOCK = threading.RLock()


def renderer_running() -> bool:
    """Whether this process's shared Kaleido browser is open."""
    import kaleido

    server = getattr(kaleido, "_global_server", None)
    return bool(server is not None and server.is_running())


def start_renderer() -> None:
    """Open this process's shared Kaleido browser (once; Kaleido closes it at exit). Every later export reuses it
    instead of starting a Chromium of its own (2-5 s each)."""
    import kaleido

    check_browser()
    with _RENDER_LOCK:
        kaleido.start_sync_server(silence_warnings=True)


def stop_renderer() -> None:
    """Close the shared Kaleido browser (the next export opens it again)."""
    import kaleido

    with _RENDER_LOCK:
        kaleido.stop_sync_server(silence_warnings=True)


@contextmanager
def export_session() -> Iterator[None]:
    """Several exports with one Kaleido browser (the process's shared one, opened when needed and kept open)."""
    start_renderer()
    yield


def vector_ready(fig: go.Figure) -> go.Figure:
    """A copy of ``fig`` whose WebGL scatter traces are SVG scatter traces (when it has at most
    :data:`MAX_VECTOR_POINTS` points), so SVG and PDF exports keep every point as a vector."""
    points = sum(len(t.x) for t in fig.data if t.type == "scattergl" and t.x is not None)
    if not points or points > MAX_VECTOR_POINTS:
        return fig
    out = go.Figure(layout=fig.layout)
    for trace in fig.data:
        if trace.type == "scattergl":
            spec = trace.to_plotly_json()
            spec.pop("type", None)
            out.add_trace(go.Scatter(**spec))
        else:
            out.add_trace(trace)
    return out


def figure_bytes(fig: go.Figure, fmt: str, dpi: int = DEFAULT_DPI,
                 progress: Callable[[float, str], None] | None = None) -> bytes:
    """``fig`` as PNG, SVG or PDF bytes (PNG at ``dpi`` for the figure's physical size; SVG and PDF through
    :func:`vector_ready`, so a map's points stay vectors). Rendered by this process's shared Kaleido browser
    (:func:`start_renderer`, opened on the first export); ``progress(fraction, text)`` reports the stages."""
    import warnings

    fmt = fmt.lower().lstrip(".")
    if fmt not in FORMATS:
        raise ExportError(f"unknown figure format {fmt!r}; choose one of {', '.join(FORMATS)}")
    report = progress or (lambda fraction, text: None)
    check_browser()
    scale = dpi / PX_PER_INCH if fmt == "png" else 1
    if fmt in ("svg", "pdf"):
        fig = vector_ready(fig)
    with _RENDER_LOCK:
        if not renderer_running():
            report(0.05, "starting the figure renderer (Chromium, once per server)")
        try:
            start_renderer()
        except Exception as exc:  # noqa: BLE001 - Kaleido/choreographer raise their own types
            raise ExportError(f"Kaleido could not start Chrome/Chromium: {exc}") from None
        report(0.3, f"rendering the {fmt.upper()}")
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="The kopts argument is ignored")
            try:
                data = fig.to_image(format=fmt, scale=scale)
            except RuntimeError as exc:
                if "Chrome" in str(exc) or "chrome" in str(exc):
                    stop_renderer()  # a browser that died is opened afresh by the next export
                    raise ExportError(f"Kaleido could not render with Chrome/Chromium: {exc}") from None
                raise
    report(1.0, f"{fmt.upper()} ready ({len(data) / 1e6:.1f} MB)")
    return data


def save_figure(fig: go.Figure, path: str | Path, data: pd.DataFrame | None = None) -> Path:
    """Write ``fig`` to ``path``; the suffix picks PNG, SVG, PDF or CSV."""
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        path.write_bytes(figure_csv(fig, data))
    else:
        path.write_bytes(figure_bytes(fig, fmt))
    return path


# ---- data -----------------------------------------------------------------------------------------

_POINT_FIELDS = ("x", "y", "z", "text", "hovertext", "labels", "values", "parents", "ids", "lat", "lon", "r", "theta",
                 "a", "b", "c", "open", "high", "low", "close")


def _as_array(value: Any) -> np.ndarray | None:
    if value is None or isinstance(value, (str, bytes, int, float, dict)):
        return None
    try:
        array = np.asarray(value, dtype=object)
    except (TypeError, ValueError):
        return None
    return array if array.ndim >= 1 and array.size else None


def _trace_frame(trace: Any, index: int) -> pd.DataFrame:
    name = trace.name if trace.name is not None else f"trace {index}"
    z = _as_array(getattr(trace, "z", None))
    if z is not None and z.ndim == 2:  # heatmap / contour / surface: one row per cell
        rows, cols = z.shape
        x = _as_array(getattr(trace, "x", None))
        y = _as_array(getattr(trace, "y", None))
        x = x if x is not None and x.ndim == 1 and len(x) == cols else np.arange(cols)
        y = y if y is not None and y.ndim == 1 and len(y) == rows else np.arange(rows)
        frame = pd.DataFrame({"x": np.tile(x, rows), "y": np.repeat(y, cols), "z": z.reshape(-1)})
    else:
        columns: dict[str, np.ndarray] = {}
        for field in _POINT_FIELDS:
            array = _as_array(getattr(trace, field, None)) if field in trace else None
            if array is not None and array.ndim == 1:
                columns[field] = array
        custom = _as_array(getattr(trace, "customdata", None)) if "customdata" in trace else None
        if custom is not None:
            custom = custom.reshape(len(custom), -1)
            for col in range(custom.shape[1]):
                columns[f"customdata_{col}"] = custom[:, col]
        marker = getattr(trace, "marker", None)
        if marker is not None:
            for attr in ("color", "size", "symbol"):
                array = _as_array(getattr(marker, attr, None))
                if array is not None and array.ndim == 1:
                    columns[f"marker_{attr}"] = array
        length = max((len(v) for v in columns.values()), default=0)
        # object columns keep ints as ints when other traces leave the column empty
        frame = pd.DataFrame({k: pd.Series(list(v), dtype=object).reindex(range(length)) for k, v in columns.items()})
    frame.insert(0, "trace_type", trace.type)
    frame.insert(0, "trace", name)
    return frame


def figure_dataframe(fig: go.Figure) -> pd.DataFrame:
    """The data of every trace of ``fig`` in long form: one row per point, ``trace`` names the series."""
    frames = [_trace_frame(trace, i) for i, trace in enumerate(fig.data)]
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=["trace", "trace_type"])
    return pd.concat(frames, ignore_index=True, sort=False)


def figure_csv(fig: go.Figure, data: pd.DataFrame | None = None) -> bytes:
    """CSV bytes of the figure's data: ``data`` when given (the frame the figure was built from),
    otherwise the points of its traces (:func:`figure_dataframe`)."""
    frame = data if data is not None else figure_dataframe(fig)
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    return buffer.getvalue().encode("utf-8")
