"""Confusion matrices as heat maps: counts, row-normalised, and the difference of two runs.

``cm`` is ``(C, C)`` with rows = true class and columns = predicted class, as
:func:`kdlab.engine.metrics.confusion_matrix` returns it.

>>> cm = confusion_matrix(p.logits, p.labels, p.num_classes)                    # doctest: +SKIP
>>> confusion_figure(cm, p.classes, normalise=True).show()                    # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

#: Above this many classes the cells carry no text (UCF-101's 101 would be unreadable).
MAX_ANNOTATED = 30


def normalise_rows(cm: np.ndarray) -> np.ndarray:
    """Each row divided by its sum (the per-class recall on the diagonal); rows without videos stay zero."""
    cm = np.asarray(cm, np.float64)
    support = cm.sum(axis=1, keepdims=True)
    return np.divide(cm, support, out=np.zeros_like(cm), where=support > 0)


def _heatmap(z: np.ndarray, classes: Sequence[str], text_format: str, blank_zeros: bool = False, **options) -> go.Figure:
    classes = [str(c) for c in classes]
    annotate = len(classes) <= MAX_ANNOTATED
    cell = lambda v: "" if blank_zeros and v == 0 else format(v, text_format)  # noqa: E731
    fig = go.Figure(go.Heatmap(
        z=z, x=classes, y=classes, text=[[cell(v) for v in row] for row in z] if annotate else None,
        texttemplate="%{text}" if annotate else None, colorbar=dict(thickness=10),
        hovertemplate="true %{y}<br>predicted %{x}<br>%{z}<extra></extra>", **options,
    ))
    fig.update_xaxes(title="predicted class", tickangle=-45 if len(classes) > 3 else 0)
    fig.update_yaxes(title="true class", autorange="reversed")
    side = 160 + 28 * min(len(classes), 30)
    fig.update_layout(height=max(360, side), margin=dict(l=10, r=10, t=40, b=10))
    return fig


def confusion_figure(cm: np.ndarray, classes: Sequence[str], normalise: bool = False, title: str | None = None) -> go.Figure:
    """Heat map of ``cm``: counts, or row-normalised shares (:func:`normalise_rows`) in ``[0, 1]``."""
    z = normalise_rows(cm) if normalise else np.asarray(cm)
    fig = _heatmap(z, classes, ".0%" if normalise else ".0f", colorscale="Blues", zmin=0,
                   zmax=1 if normalise else None)
    fig.update_layout(title=title or ("confusion matrix, row-normalised" if normalise else "confusion matrix (videos)"))
    return fig


def confusion_difference_figure(cm_a: np.ndarray, cm_b: np.ndarray, classes: Sequence[str],
                                names: tuple[str, str] = ("A", "B"), normalise: bool = True) -> go.Figure:
    """Heat map of ``B - A`` (row-normalised first when ``normalise``): red where B puts more videos.

    On the diagonal, red means B recognises the class better; off it, red means B confuses more.
    Cells without change carry no text.
    """
    a, b = (normalise_rows(cm_a), normalise_rows(cm_b)) if normalise else (np.asarray(cm_a), np.asarray(cm_b))
    diff = b - a
    bound = float(np.abs(diff).max()) or 1.0
    fig = _heatmap(diff, classes, "+.0%" if normalise else "+.0f", blank_zeros=True, colorscale="RdBu",
                   reversescale=True, zmin=-bound, zmax=bound)
    fig.update_layout(title=f"{names[1]} minus {names[0]}" + (" (row-normalised)" if normalise else " (videos)"))
    return fig
