"""Plotly figures of search runs, without Streamlit: best so far, all queries (accuracy vs latency with the limit
and the exact Pareto front), feasibility per iteration, and the comparison of strategies over seeds. The Search page
shows them and ``nasviz export run`` writes them to files."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from nasviz.errors import NasvizError
from nasviz.figures.render import OKABE_ITO
from nasviz.search import RunInfo
from nasviz.search.jobs import is_constrained, optimum_lines, pareto_points, run_protocol

SIGNAL_COLOR, REPORTED_COLOR, OPTIMUM_COLOR = OKABE_ITO[4], OKABE_ITO[5], "#000000"


def metric_label(key: str) -> str:
    """Readable label of a table metric key (the key itself when the data module cannot say)."""
    try:
        from nasviz.data import parse_key

        return parse_key(key).label
    except (NasvizError, ValueError, KeyError):
        return key


def best_so_far_figure(frame: pd.DataFrame, info: RunInfo) -> go.Figure:
    """Best-so-far reported metric (top) and signal (bottom) versus queries, with the table's exact
    (constrained) optima as horizontal lines."""
    protocol = run_protocol(info)
    optima = optimum_lines(info)
    reported_label = metric_label(str((protocol.get("reported") or [""])[0]))
    signal_label = metric_label(str(protocol.get("signal", "signal")))
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                        subplot_titles=(f"reported: {reported_label}", f"search signal: {signal_label}"))
    fig.add_trace(go.Scatter(x=frame["query"], y=frame["best_reported"], mode="lines+markers", name="best so far (reported)",
                             line={"color": REPORTED_COLOR, "shape": "hv"}, marker={"size": 3}), row=1, col=1)
    fig.add_trace(go.Scatter(x=frame["query"], y=frame["best_signal"], mode="lines+markers", name="best so far (signal)",
                             line={"color": SIGNAL_COLOR, "shape": "hv"}, marker={"size": 3}), row=2, col=1)
    kind = "constrained optimum" if is_constrained(info) else "optimum"
    if "reported" in optima:
        fig.add_hline(y=optima["reported"], line={"color": OPTIMUM_COLOR, "dash": "dash"}, row=1, col=1,
                      annotation_text=f"{kind} {optima['reported']:.2f}", annotation_position="top right")
    if "reported_of_signal_optimum" in optima:
        fig.add_hline(y=optima["reported_of_signal_optimum"], line={"color": OKABE_ITO[2], "dash": "dot"}, row=1, col=1,
                      annotation_text=f"reported of the signal {kind} {optima['reported_of_signal_optimum']:.2f}",
                      annotation_position="bottom left")
    if "signal" in optima:
        fig.add_hline(y=optima["signal"], line={"color": OPTIMUM_COLOR, "dash": "dash"}, row=2, col=1,
                      annotation_text=f"{kind} {optima['signal']:.2f}", annotation_position="top right")
    fig.update_xaxes(title_text="queries", row=2, col=1)
    fig.update_layout(height=520, margin={"t": 40, "b": 40}, legend={"orientation": "h", "y": -0.15})
    return fig


def queries_figure(frame: pd.DataFrame, info: RunInfo) -> go.Figure:
    """Every query: reported metric versus latency with the limit and the exact Pareto front
    (constrained runs), or versus the search signal (unconstrained runs)."""
    protocol = run_protocol(info)
    reported_label = metric_label(str((protocol.get("reported") or [""])[0]))
    fig = go.Figure()
    constraint = info.config.get("constraint")
    x_key = "latency" if constraint else "signal"
    x_label = f"latency on {constraint['device']} (ms)" if constraint else metric_label(str(protocol.get("signal", "")))
    if constraint:
        front = pareto_points(info)
        if front is not None:
            fig.add_trace(go.Scatter(x=front["latency"], y=front["reported"], mode="lines", name="exact Pareto front",
                                     line={"color": OPTIMUM_COLOR, "shape": "hv", "width": 1}, hoverinfo="skip"))
        fig.add_vline(x=float(constraint["max_latency"]), line={"color": OKABE_ITO[5], "dash": "dash"},
                      annotation_text=f"L = {float(constraint['max_latency']):g} ms")
        groups = [(True, "feasible", OKABE_ITO[2]), (False, "infeasible", OKABE_ITO[0])]
        parts = [(frame[frame["feasible"] == flag], name, color) for flag, name, color in groups]
    else:
        parts = [(frame, "queries", SIGNAL_COLOR)]
    for part, name, color in parts:
        fig.add_trace(go.Scatter(x=part[x_key], y=part["reported"], mode="markers", name=name,
                                 marker={"color": color, "size": 7, "opacity": 0.8}, customdata=part[["query", "cell_id"]],
                                 hovertemplate="query %{customdata[0]}<br>cell %{customdata[1]}<br>x %{x:.3f}<br>"
                                               "y %{y:.2f}<extra></extra>"))
    fig.update_layout(height=420, xaxis_title=x_label, yaxis_title=reported_label, margin={"t": 30},
                      legend={"orientation": "h", "y": -0.2})
    return fig


def feasibility_figure(frame: pd.DataFrame) -> go.Figure:
    """Share of feasible queries per iteration (or per window of queries, see :func:`feasibility_frame`)."""
    fig = go.Figure(go.Bar(x=frame["step"], y=frame["ratio"], marker_color=OKABE_ITO[2], name="feasible share",
                           customdata=frame[["feasible", "queries", "first_query", "last_query"]],
                           hovertemplate="queries %{customdata[2]}-%{customdata[3]}: %{customdata[0]}/%{customdata[1]} "
                                         "feasible<extra></extra>"))
    fig.update_layout(height=300, xaxis_title=frame.attrs.get("by", "iteration"), yaxis_title="feasibility ratio",
                      yaxis_range=[0, 1.05], margin={"t": 30})
    return fig


def comparison_figure(comparison: pd.DataFrame, reported_key: str, optimum: float | None = None) -> go.Figure:
    """Mean ± std over seeds of the best-so-far reported metric per strategy versus queries (with the
    table's exact optimum of the reported metric when given)."""
    fig = go.Figure()
    if optimum is not None:
        fig.add_hline(y=optimum, line={"color": OPTIMUM_COLOR, "dash": "dash"}, annotation_text=f"optimum {optimum:.2f}",
                      annotation_position="top right")
    for i, (group, frame) in enumerate(comparison.groupby("group", sort=False)):
        color = OKABE_ITO[i % len(OKABE_ITO)]
        upper, lower = frame["mean"] + frame["std"], frame["mean"] - frame["std"]
        fig.add_trace(go.Scatter(x=pd.concat([frame["query"], frame["query"][::-1]]), y=pd.concat([upper, lower[::-1]]),
                                 fill="toself", fillcolor=color, opacity=0.2, line={"width": 0}, hoverinfo="skip",
                                 showlegend=False, name=f"{group} ± std"))
        fig.add_trace(go.Scatter(x=frame["query"], y=frame["mean"], mode="lines", name=f"{group} (n={int(frame['runs'].max())})",
                                 line={"color": color}))
    fig.update_layout(height=440, xaxis_title="queries", yaxis_title=f"best {metric_label(reported_key)} (mean ± std)",
                      margin={"t": 30}, legend={"orientation": "h", "y": -0.2})
    return fig
