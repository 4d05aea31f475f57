"""Figures of distillation by hand: soft targets at a temperature, the teachers' weights, the KD losses.

Inputs are plain arrays that :mod:`kdlab.losses` computes from a run's stored logits: class
distributions ``(C,)`` (:func:`kdlab.losses.soft_targets`, :func:`kdlab.losses.aggregate_targets`),
teacher weights ``(K,)`` on one clip or ``(C, K)`` averaged per class
(:func:`kdlab.losses.aggregation_weights`), and KD losses (:func:`kdlab.losses.kd_per_sample`). No
maths here beyond a mean for display.

>>> from kdlab.losses import soft_targets                                             # doctest: +SKIP
>>> class_distributions_figure({"teacher": soft_targets(z_t, 4.0)[0].numpy()}, classes).show()  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from kdlab.figures._common import PALETTE, empty_figure


def class_distributions_figure(
    distributions: dict[str, np.ndarray], classes: Sequence[str], label: int | None = None, title: str = "",
    markers: Sequence[str] = (), height: int | None = 420,
) -> go.Figure:
    """One bar per class for each named distribution ``(C,)`` (teachers, aggregated targets).

    ``label``: the true class, written in bold on the x axis. ``markers``: names drawn as black
    diamonds over the bars instead (e.g. the student, the distribution being pulled).
    """
    if not distributions:
        return empty_figure("no distribution to draw")
    classes = [str(c) for c in classes]
    ticks = [f"<b>{c}</b>" if i == label else c for i, c in enumerate(classes)]
    fig = go.Figure()
    bars = [name for name in distributions if name not in markers]
    for i, name in enumerate(bars):
        fig.add_trace(go.Bar(x=ticks, y=np.asarray(distributions[name], float), name=name,
                             marker_color=PALETTE[i % len(PALETTE)],
                             hovertemplate=f"{name}<br>%{{x}}: %{{y:.3f}}<extra></extra>"))
    for name in markers:
        if name in distributions:
            fig.add_trace(go.Scatter(x=ticks, y=np.asarray(distributions[name], float), name=name, mode="markers",
                                     marker=dict(symbol="diamond", size=10, color="#111", line=dict(width=1, color="white")),
                                     hovertemplate=f"{name}<br>%{{x}}: %{{y:.3f}}<extra></extra>"))
    fig.update_xaxes(tickangle=-30)
    fig.update_yaxes(title="probability", rangemode="tozero")
    legend_rows = (len(distributions) + 1) // 2
    fig.update_layout(barmode="group", height=height, margin=dict(l=10, r=10, t=40 + 22 * legend_rows, b=10),
                      title=dict(text=title, y=0.98), legend=dict(orientation="h", y=1.02, yanchor="bottom", x=0))
    return fig


def clip_weights_figure(weights: dict[str, np.ndarray], teachers: Sequence[str], title: str = "",
                        height: int | None = 320) -> go.Figure:
    """Each aggregation's weight per teacher on one clip: ``weights`` maps an aggregation to ``(K,)``."""
    if not weights:
        return empty_figure("no weights to draw")
    aggregations = list(weights)
    fig = go.Figure()
    for k, teacher in enumerate(teachers):
        values = [float(np.asarray(weights[a])[k]) for a in aggregations]
        fig.add_trace(go.Bar(x=aggregations, y=values, name=str(teacher), marker_color=PALETTE[k % len(PALETTE)],
                             hovertemplate=f"{teacher}<br>%{{x}}: %{{y:.3f}}<extra></extra>"))
    fig.add_hline(y=1 / max(1, len(teachers)), line_dash="dot", line_color="#888")
    fig.update_yaxes(title="weight on this clip", range=[0, 1])
    fig.update_layout(barmode="group", height=height, margin=dict(l=10, r=10, t=40 + 22 * ((len(teachers) + 1) // 2), b=10),
                      title=dict(text=title, y=0.98), legend=dict(orientation="h", y=1.02, yanchor="bottom", x=0))
    return fig


def kd_losses_figure(per_teacher: dict[str, float], per_aggregation: dict[str, float], title: str = "",
                     height: int | None = None) -> go.Figure:
    """The student's KD loss on one clip against each teacher, and the loss each aggregation trains with
    (horizontal bars, values written beside them)."""
    if not per_teacher and not per_aggregation:
        return empty_figure("no loss to draw")
    fig = go.Figure()
    for name, values, colour in (("against one teacher", per_teacher, PALETTE[7]),
                                 ("an aggregation's loss", per_aggregation, PALETTE[0])):
        if values:
            fig.add_trace(go.Bar(y=list(values), x=[float(v) for v in values.values()], name=name, orientation="h",
                                 marker_color=colour, text=[f"{float(v):.3f}" for v in values.values()],
                                 textposition="outside", cliponaxis=False,
                                 hovertemplate="%{y}: %{x:.4f}<extra></extra>"))
    fig.update_xaxes(title="T² · KL on this clip", rangemode="tozero")
    fig.update_yaxes(autorange="reversed")
    rows = len(per_teacher) + len(per_aggregation)
    fig.update_layout(height=height or 130 + 30 * rows, margin=dict(l=10, r=40, t=70, b=10),
                      title=dict(text=title, y=0.98), legend=dict(orientation="h", y=1.02, yanchor="bottom", x=0))
    return fig


def class_weights_figure(weights: dict[str, np.ndarray], classes: Sequence[str], teachers: Sequence[str],
                         height: int | None = None) -> go.Figure:
    """One heat map per aggregation: mean weight of each teacher (columns) on the clips of each true class (rows).

    ``weights`` maps an aggregation to ``(C, K)``. The strongest teacher of each class is written in bold.
    """
    if not weights:
        return empty_figure("no weights to draw")
    classes, teachers = [str(c) for c in classes], [str(t) for t in teachers]
    fig = make_subplots(rows=1, cols=len(weights), subplot_titles=list(weights), shared_yaxes=True,
                        horizontal_spacing=0.02)
    for col, (name, w) in enumerate(weights.items(), start=1):
        w = np.asarray(w, float)
        strongest = np.nanargmax(np.nan_to_num(w, nan=-1.0), axis=1)
        text = [[(f"<b>{v:.2f}</b>" if j == strongest[i] else f"{v:.2f}") if np.isfinite(v) else "" for j, v in enumerate(row)]
                for i, row in enumerate(w)]
        fig.add_trace(go.Heatmap(
            z=w, x=teachers, y=classes, text=text, texttemplate="%{text}", zmin=0, zmax=1, colorscale="Blues",
            showscale=col == len(weights), colorbar=dict(thickness=10, title="weight"),
            hovertemplate=f"{name}<br>class %{{y}}, %{{x}}: %{{z:.3f}}<extra></extra>",
        ), row=1, col=col)
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(height=height or 120 + 28 * len(classes), margin=dict(l=10, r=10, t=40, b=10))
    return fig
