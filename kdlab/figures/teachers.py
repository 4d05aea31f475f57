"""Figures of a distillation run's teachers: their predictions, how much they disagree, the weights they get.

Inputs are the arrays of a run's ``predictions.npz`` (:meth:`kdlab.engine.runs.RunFolder.predictions`):
``teacher_logits (K, N, C)``, ``teacher_names (K,)``, the student's ``logits (N, C)``, ``labels (N,)``,
``video_ids (N,)``, ``classes (C,)``; the result of :func:`kdlab.engine.metrics.teacher_disagreement`;
and per-sample teacher weights ``(K, N)`` from :func:`kdlab.losses.entropy_weights` (EBKD) or
:func:`kdlab.losses.confidence_weights` (CA-MKD).

>>> from kdlab.engine.metrics import teacher_disagreement                              # doctest: +SKIP
>>> d = teacher_disagreement(p.teacher_logits, p.labels, p.names, p.num_classes)  # doctest: +SKIP
>>> disagreement_matrix_figure(d, names).show()                                       # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from kdlab.engine.metrics import softmax
from kdlab.figures._common import PALETTE, empty_figure

#: What the pairwise values mean, for titles.
PAIR_VALUES = {"disagreement": "share of videos with different predictions", "js": "mean Jensen-Shannon divergence (nats)"}


def pairwise_matrix(disagreement: dict, names: Sequence[str], key: str = "disagreement") -> np.ndarray:
    """The symmetric ``(K, K)`` matrix of ``key`` (``"disagreement"`` or ``"js"``) from ``disagreement["pairs"]``.

    The diagonal is zero (a model always agrees with itself).
    """
    index = {name: i for i, name in enumerate(names)}
    matrix = np.zeros((len(names), len(names)))
    for pair in disagreement["pairs"]:
        i, j = index[pair["a"]], index[pair["b"]]
        matrix[i, j] = matrix[j, i] = pair[key]
    return matrix


def disagreement_matrix_figure(disagreement: dict, names: Sequence[str], key: str = "disagreement",
                               height: int | None = 380) -> go.Figure:
    """Heat map of the pairwise ``key`` between K models (:func:`pairwise_matrix`), values written in the cells."""
    names = [str(n) for n in names]
    if len(names) < 2:
        return empty_figure("fewer than two models: nothing to compare")
    matrix = pairwise_matrix(disagreement, names, key)
    text = [[f"{v:.0%}" if key == "disagreement" else f"{v:.3f}" for v in row] for row in matrix]
    fig = go.Figure(go.Heatmap(
        z=matrix, x=names, y=names, text=text, texttemplate="%{text}", colorscale="Oranges", zmin=0,
        zmax=1.0 if key == "disagreement" else None, colorbar=dict(thickness=10),
        hovertemplate="%{y} vs %{x}: %{text}<extra></extra>",
    ))
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=40, b=10), title=PAIR_VALUES.get(key, key))
    return fig


def per_class_disagreement_figure(disagreement: dict, classes: Sequence[str], height: int | None = 380) -> go.Figure:
    """Grouped bars: for each true class, the share of its videos on which each pair of models disagrees."""
    pairs = disagreement["pairs"]
    if not pairs:
        return empty_figure("fewer than two models: nothing to compare")
    classes = [str(c) for c in classes]
    fig = go.Figure()
    for i, pair in enumerate(pairs):
        fig.add_trace(go.Bar(x=classes, y=pair["per_class_disagreement"], name=f"{pair['a']} vs {pair['b']}",
                             marker_color=PALETTE[i % len(PALETTE)],
                             hovertemplate="%{x}: %{y:.0%}<extra>" + f"{pair['a']} vs {pair['b']}" + "</extra>"))
    fig.update_yaxes(title="disagreement", tickformat=".0%", range=[0, 1.05])
    fig.update_layout(barmode="group", height=height, margin=dict(l=10, r=10, t=40, b=10),
                      title="disagreement per true class")
    return fig


def teacher_weights_figure(weights: dict[str, np.ndarray], names: Sequence[str], bins: int = 20,
                           height: int | None = 340) -> go.Figure:
    """Histograms of per-sample teacher weights: one panel per aggregation, one histogram per teacher.

    ``weights`` maps an aggregation's name (e.g. ``"EBKD (entropy)"``) to its ``(K, N)`` weights,
    each column summing to one; a uniform average would put every bar at ``1 / K``.
    """
    if not weights:
        return empty_figure("no teacher weights")
    names = [str(n) for n in names]
    fig = make_subplots(rows=1, cols=len(weights), subplot_titles=list(weights), shared_yaxes=True)
    for col, w in enumerate(weights.values(), start=1):
        w = np.asarray(w)
        for k, name in enumerate(names):
            fig.add_trace(go.Histogram(
                x=w[k], name=name, legendgroup=name, showlegend=col == 1, opacity=0.6,
                xbins=dict(start=0.0, end=1.0, size=1.0 / bins), marker_color=PALETTE[k % len(PALETTE)],
            ), row=1, col=col)
        fig.add_vline(x=1.0 / len(names), line=dict(dash="dot", color="grey"), row=1, col=col)
    fig.update_xaxes(title="weight", range=[0, 1])
    fig.update_yaxes(title="videos", col=1)
    fig.update_layout(barmode="overlay", height=height, margin=dict(l=10, r=10, t=40, b=10))
    return fig


def predictions_figure(models: dict[str, np.ndarray], labels: np.ndarray, classes: Sequence[str],
                       video_ids: Sequence[str], height: int | None = None) -> go.Figure:
    """Per-video predictions of several models: rows = videos, columns = models.

    ``models`` maps a name to its ``(N, C)`` logits. A cell names the predicted class and its
    probability; green when right, red when wrong.
    """
    if not models:
        return empty_figure("no predictions")
    classes = [str(c) for c in classes]
    labels = np.asarray(labels)
    names = list(models)
    probs = np.stack([softmax(np.asarray(models[m], np.float64)) for m in names], axis=1)  # (N, M, C)
    predicted = probs.argmax(-1)  # (N, M)
    correct = (predicted == labels[:, None]).astype(float)
    text = [[f"{classes[p]} {probs[n, m, p]:.0%}" for m, p in enumerate(row)] for n, row in enumerate(predicted)]
    rows = [f"{str(v).split('/')[-1]} [{classes[y]}]" for v, y in zip(video_ids, labels)]
    fig = go.Figure(go.Heatmap(
        z=correct, x=names, y=rows, text=text, texttemplate="%{text}", zmin=0, zmax=1, showscale=False,
        colorscale=[[0, "#f6b8b8"], [0.5, "#f6b8b8"], [0.5, "#b9e3b9"], [1, "#b9e3b9"]],
        hovertemplate="%{y}<br>%{x}: %{text}<extra></extra>", xgap=1, ygap=1,
    ))
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(side="top")
    fig.update_layout(height=height or 60 + 22 * len(rows), margin=dict(l=10, r=10, t=40, b=10))
    return fig


def disagreement_rows(teacher_logits: np.ndarray, names: Sequence[str], labels: np.ndarray, classes: Sequence[str],
                      video_ids: Sequence[str], student_logits: np.ndarray | None = None,
                      only_disagreeing: bool = False) -> list[dict]:
    """One row per video: its label, every teacher's (and the student's) predicted class, and whether the teachers agree.

    ``teacher_logits`` ``(K, N, C)``. Rows: ``{"video", "label", <teacher name>..., ["student"],
    "teachers_agree", "right"}`` where ``right`` counts the teachers that predict the label.
    """
    classes = [str(c) for c in classes]
    predicted = np.asarray(teacher_logits).argmax(-1)  # (K, N)
    student = None if student_logits is None else np.asarray(student_logits).argmax(-1)
    rows = []
    for n, video in enumerate(video_ids):
        agree = bool((predicted[:, n] == predicted[0, n]).all())
        if only_disagreeing and agree:
            continue
        row = {"video": str(video), "label": classes[int(labels[n])]}
        row.update({str(name): classes[int(predicted[k, n])] for k, name in enumerate(names)})
        if student is not None:
            row["student"] = classes[int(student[n])]
        row["teachers_agree"] = agree
        row["right"] = int((predicted[:, n] == labels[n]).sum())
        rows.append(row)
    return rows
