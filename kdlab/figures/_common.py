"""Small helpers shared by the figure builders."""

from __future__ import annotations

import math

import plotly.graph_objects as go

#: One colour per run group of a study (``Step.group``), the same in every figure.
GROUP_COLOURS = {"teachers": "#d62728", "fusion": "#9467bd", "students": "#1f77b4", "ablation": "#7f7f7f", "": "#2ca02c"}
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")


def empty_figure(message: str, height: int = 200) -> go.Figure:
    """A blank figure that says why there is nothing to draw."""
    fig = go.Figure()
    fig.add_annotation(text=message, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=10, b=10))
    return fig


def is_number(value) -> bool:
    """True for a finite int or float (CSV cells that were empty come back as ``""``)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
