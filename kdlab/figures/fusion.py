"""Figures of late fusion by hand: fused top-1 over a grid of stream weights.

Only the ratios of the weights matter (scaling all of them leaves the fused argmax alone), so the
grid fixes the I-frame weight at 1 and varies the motion and residual weights relative to it;
CoViAR's 2 : 1 : 1 is the point (0.5, 0.5). The accuracies come from
:func:`kdlab.engine.fuse.fused_correct` on a run's stored logits.

>>> correct = fused_correct(streams, labels, [(1, m, r) for r in ratios for m in ratios])   # doctest: +SKIP
>>> fusion_grid_figure(100 * correct.mean(1).reshape(len(ratios), -1), ratios, ratios).show()  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from kdlab.figures._common import empty_figure

#: Marker symbol and colour of each named point on the grid.
MARKS = {"CoViAR 2:1:1": ("x", "#111111"), "best on the test set": ("star", "#e41a1c"),
         "your weights": ("circle-open", "#111111")}


def fusion_grid_figure(
    accuracy: np.ndarray, mv_ratios: Sequence[float], residual_ratios: Sequence[float],
    marks: dict[str, tuple[float, float]] | None = None, height: int | None = 460,
) -> go.Figure:
    """Heat map of fused top-1 (%): ``accuracy (R, M)``, row ``r`` for ``residual_ratios[r]``, column ``m``
    for ``mv_ratios[m]`` (weights relative to the I-frame's).

    ``marks``: named points ``(mv ratio, residual ratio)`` drawn on top (:data:`MARKS` gives the
    symbols of CoViAR's 2:1:1, the best point and the sliders' weights; other names get a diamond).
    """
    accuracy = np.asarray(accuracy, float)
    if accuracy.size == 0:
        return empty_figure("no grid to draw")
    fig = go.Figure(go.Heatmap(
        z=accuracy, x=list(mv_ratios), y=list(residual_ratios), colorscale="Viridis",
        colorbar=dict(thickness=10, title="top-1 %"),
        hovertemplate="motion / I-frame %{x:.2f}, residual / I-frame %{y:.2f}<br>fused top-1 %{z:.1f} %<extra></extra>",
    ))
    for name, (mv, residual) in (marks or {}).items():
        symbol, colour = MARKS.get(name, ("diamond", "#ff7f0e"))
        fig.add_trace(go.Scatter(
            x=[mv], y=[residual], mode="markers", name=name,
            marker=dict(symbol=symbol, size=16, color=colour, line=dict(width=3 if "open" in symbol else 1,
                                                                        color=colour if "open" in symbol else "white")),
            hovertemplate=f"{name}: motion {mv:.2f}, residual {residual:.2f}<extra></extra>",
        ))
    fig.update_xaxes(title="motion weight / I-frame weight")
    fig.update_yaxes(title="residual weight / I-frame weight")
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=40, b=10), legend=dict(orientation="h", y=-0.2),
                      title="fused top-1 over the weights (I-frame weight 1)")
    return fig
