"""Figures of one video's compressed-domain representations: frames, motion vectors, residuals, GOPs.

Inputs are the arrays of :class:`kdlab.codec.Representations` (``iframes (G, H, W, 3) uint8``,
``mv (N, H, W, 2)`` int, ``residual (N, H, W, 3)`` int, ``frame_types "IPPP..."``). Images are sent
to the browser as PNG (``go.Image(source=...)``), so a 340x256 frame costs tens of kilobytes.

Axes are image axes: x right, y down, one unit per pixel, equal aspect; overlays (the arrows)
share them. The motion convention is CoViAR's (:mod:`kdlab.codec.motion`): at pixel ``p`` the
field holds ``mv = p - source``, so an arrow goes from where the pixel came from to ``p``.

>>> from kdlab.codec import extract                                   # doctest: +SKIP
>>> reps = extract("clip.avi", accumulate=True, keep_frames=True)     # doctest: +SKIP
>>> motion_arrows_figure(reps.mv[5], reps.frames[5]).show()            # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from kdlab.figures.colour import colour_wheel, flow_to_rgb, png_data_uri

#: Colours of the frame types on the GOP timeline.
FRAME_TYPE_COLOURS = {"I": "#d62728", "P": "#1f77b4", "B": "#2ca02c"}
ARROW_COLOUR = "#ffd400"
_MARGIN = dict(l=10, r=10, t=40, b=10)


def _image_axes(fig: go.Figure, width: int, height: int, row: int | None = None, col: int | None = None) -> None:
    """Pixel axes: x ``[-0.5, W - 0.5]``, y reversed ``[H - 0.5, -0.5]``, equal aspect, no grid."""
    where = {"row": row, "col": col} if row is not None else {}
    fig.update_xaxes(range=[-0.5, width - 0.5], showgrid=False, zeroline=False, constrain="domain", **where)
    fig.update_yaxes(range=[height - 0.5, -0.5], showgrid=False, zeroline=False, constrain="domain",
                     scaleanchor="x" if row is None else None, **where)


def _layout(fig: go.Figure, title: str | None, height: int | None) -> go.Figure:
    fig.update_layout(title=title, height=height, margin=_MARGIN, showlegend=False)
    return fig


def image_figure(image: np.ndarray, title: str | None = None, height: int | None = None) -> go.Figure:
    """An RGB frame ``(H, W, 3) uint8`` (e.g. an I-frame) on pixel axes."""
    image = np.asarray(image)
    fig = go.Figure(go.Image(source=png_data_uri(image), name="frame"))
    _image_axes(fig, image.shape[1], image.shape[0])
    return _layout(fig, title, height)


def quiver_segments(
    mv: np.ndarray, step: int = 16, scale: float = 1.0, min_magnitude: float = 0.5
) -> dict[str, np.ndarray]:
    """The arrows of a motion field ``(H, W, 2)``, sampled at the centres of a ``step`` px grid.

    MPEG-4 Part 2 codes one vector per 16x16 macroblock (8x8 with 4MV), so ``step=16`` gives one
    arrow per block. Returns arrays of the kept arrows (``|mv| >= min_magnitude``): ``x, y`` the
    block centre (the arrow's tip), ``dx, dy`` the motion (px), ``x0, y0`` the tail
    ``p - scale * mv`` (where the pixel came from, when ``scale`` is 1).
    """
    mv = np.asarray(mv)
    height, width = mv.shape[:2]
    ys, xs = np.meshgrid(np.arange(step // 2, height, step), np.arange(step // 2, width, step), indexing="ij")
    dx = mv[ys, xs, 0].astype(np.float64).ravel()
    dy = mv[ys, xs, 1].astype(np.float64).ravel()
    keep = np.hypot(dx, dy) >= min_magnitude
    x, y, dx, dy = xs.ravel()[keep].astype(np.float64), ys.ravel()[keep].astype(np.float64), dx[keep], dy[keep]
    return {"x": x, "y": y, "dx": dx, "dy": dy, "x0": x - scale * dx, "y0": y - scale * dy}


def auto_arrow_scale(mv: np.ndarray, step: int = 16, min_magnitude: float = 0.5) -> float:
    """A length factor that makes typical arrows visible: the 90th-percentile arrow spans 0.8 ``step``.

    Never below 1 (long accumulated vectors are drawn at their true length) nor above 16.
    """
    arrows = quiver_segments(mv, step, 1.0, min_magnitude)
    if not len(arrows["x"]):
        return 1.0
    typical = float(np.percentile(np.hypot(arrows["dx"], arrows["dy"]), 90))
    return float(np.clip(0.8 * step / typical, 1.0, 16.0))


def _arrow_polylines(arrows: dict[str, np.ndarray], head_angle: float = 25.0) -> tuple[np.ndarray, np.ndarray]:
    """One polyline per arrow, ``tail, tip, head-left, tip, head-right, None``, flattened for one trace."""
    x0, y0, x1, y1 = arrows["x0"], arrows["y0"], arrows["x"], arrows["y"]
    length = np.hypot(x1 - x0, y1 - y0)
    ux, uy = (x1 - x0) / np.maximum(length, 1e-9), (y1 - y0) / np.maximum(length, 1e-9)
    head = np.clip(0.35 * length, 1.5, 5.0)
    a = np.deg2rad(head_angle)
    cos, sin = np.cos(a), np.sin(a)
    # the two barbs: the reversed direction rotated by +-head_angle
    lx, ly = x1 - head * (ux * cos - uy * sin), y1 - head * (ux * sin + uy * cos)
    rx, ry = x1 - head * (ux * cos + uy * sin), y1 - head * (-ux * sin + uy * cos)
    nan = np.full_like(x0, np.nan)
    xs = np.stack([x0, x1, lx, x1, rx, nan], axis=1).ravel()
    ys = np.stack([y0, y1, ly, y1, ry, nan], axis=1).ravel()
    return xs, ys


def motion_arrows_figure(
    mv: np.ndarray,
    image: np.ndarray | None = None,
    step: int = 16,
    scale: float | None = None,
    min_magnitude: float = 0.5,
    title: str | None = None,
    height: int | None = None,
    colour: str = ARROW_COLOUR,
) -> go.Figure:
    """Motion vectors ``(H, W, 2)`` as arrows over ``image`` (``(H, W, 3) uint8``; black when None).

    One arrow per ``step`` px block (see :func:`quiver_segments`), from ``p - scale * mv`` to the
    block centre ``p``; ``scale=None`` picks :func:`auto_arrow_scale`. Trace 0 is the image,
    trace 1 the arrows (one polyline per arrow, separated by gaps), trace 2 invisible markers at the
    tips whose hover text gives the vector.
    """
    mv = np.asarray(mv)
    height_px, width_px = mv.shape[:2]
    if image is None:
        image = np.zeros((height_px, width_px, 3), np.uint8)
    if scale is None:
        scale = auto_arrow_scale(mv, step, min_magnitude)
    arrows = quiver_segments(mv, step, scale, min_magnitude)
    xs, ys = _arrow_polylines(arrows)
    fig = go.Figure(go.Image(source=png_data_uri(np.asarray(image)), name="frame", hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line=dict(color=colour, width=1.5),
                               name=f"{len(arrows['x'])} vectors", hoverinfo="skip", connectgaps=False))
    fig.add_trace(go.Scatter(
        x=arrows["x"], y=arrows["y"], mode="markers", marker=dict(size=6, color=colour, opacity=0.0),
        customdata=np.stack([arrows["dx"], arrows["dy"]], axis=1) if len(arrows["x"]) else None,
        hovertemplate="block (%{x:.0f}, %{y:.0f})<br>mv = (%{customdata[0]:.0f}, %{customdata[1]:.0f}) px<extra></extra>",
        name="tips",
    ))
    _image_axes(fig, width_px, height_px)
    if title is None:
        title = f"motion vectors ({len(arrows['x'])} blocks, arrows x{scale:.1f})"
    return _layout(fig, title, height)


def flow_figure(
    mv: np.ndarray,
    max_magnitude: float | None = None,
    wheel: bool = True,
    title: str | None = None,
    height: int | None = None,
) -> go.Figure:
    """The motion field colour-coded by :func:`flow_to_rgb` (hue = direction, brightness = length).

    ``max_magnitude``: the length at full brightness (default: the 99th percentile of the moving
    pixels' lengths, so that a few outliers do not darken the rest; longer vectors saturate). With
    ``wheel``, a second panel shows the key (:func:`colour_wheel`), its rim at ``max_magnitude`` px.
    """
    mv = np.asarray(mv)
    height_px, width_px = mv.shape[:2]
    if max_magnitude is None:
        lengths = np.hypot(mv[..., 0].astype(np.float64), mv[..., 1].astype(np.float64))
        moving = lengths[lengths > 0]
        max_magnitude = float(np.percentile(moving, 99)) if moving.size else 1.0
    rgb = flow_to_rgb(mv, max_magnitude)
    if wheel:
        fig = make_subplots(rows=1, cols=2, column_widths=[0.82, 0.18], horizontal_spacing=0.02,
                            subplot_titles=("", f"rim: {max_magnitude:.1f} px"))
        where = dict(row=1, col=1)
    else:
        fig, where = go.Figure(), {}
    fig.add_trace(go.Image(source=png_data_uri(rgb), name="flow", hoverinfo="skip"), **where)
    if wheel:
        key = colour_wheel(65)
        fig.add_trace(go.Image(source=png_data_uri(key), name="key", hoverinfo="skip"), row=1, col=2)
        _image_axes(fig, width_px, height_px, row=1, col=1)
        _image_axes(fig, key.shape[1], key.shape[0], row=1, col=2)
        fig.update_yaxes(scaleanchor="x", row=1, col=1)
        fig.update_yaxes(scaleanchor="x2", row=1, col=2)
        fig.update_xaxes(showticklabels=False, row=1, col=2)
        fig.update_yaxes(showticklabels=False, row=1, col=2)
    else:
        _image_axes(fig, width_px, height_px)
    return _layout(fig, title or "motion, colour-coded (hue: direction, brightness: length)", height)


def _stride(height: int, width: int, max_side: int) -> int:
    return max(1, int(np.ceil(max(height, width) / max_side)))


def residual_figure(
    residual: np.ndarray,
    zmax: float | None = None,
    max_side: int = 360,
    title: str | None = None,
    height: int | None = None,
) -> go.Figure:
    """The residual ``(H, W, 3)`` (or ``(H, W)``) as a signed heat map of its mean over RGB.

    Blue: the frame is darker than the motion-compensated reference; red: brighter; white: the
    vectors explain the pixel. Frames larger than ``max_side`` are subsampled and values clipped to
    ``[-128, 127]`` (as CoViAR's input normalisation) for display. ``zmax``:
    the colour range ``[-zmax, zmax]`` (default: the 99th percentile of ``|residual|``, at least 1).
    """
    residual = np.asarray(residual)
    values = residual.astype(np.float32).mean(axis=-1) if residual.ndim == 3 else residual.astype(np.float32)
    height_px, width_px = values.shape
    s = _stride(height_px, width_px, max_side)
    shown = np.clip(np.rint(values[::s, ::s]), -128, 127).astype(np.int8)  # int8: half the bytes to the browser
    if zmax is None:
        zmax = max(1.0, float(np.percentile(np.abs(values), 99)))
    fig = go.Figure(go.Heatmap(
        z=shown, x=np.arange(0, width_px, s), y=np.arange(0, height_px, s),
        colorscale="RdBu", reversescale=True, zmin=-zmax, zmax=zmax, zmid=0,
        colorbar=dict(thickness=10, len=0.8), name="residual",
        hovertemplate="(%{x}, %{y}) residual %{z}<extra></extra>",
    ))
    _image_axes(fig, width_px, height_px)
    return _layout(fig, title or "residual (mean over RGB)", height)


def gop_timeline_figure(
    frame_types: str, current: int | None = None, gop_index: np.ndarray | None = None, height: int = 130
) -> go.Figure:
    """The frame types ``"IPPP..."`` as a strip of coloured bars, one per frame, one trace per type.

    ``current`` marks a frame with a black outline box; ``gop_index`` ``(N,)`` adds the GOP to
    the hover text.
    """
    n = len(frame_types)
    gops = np.asarray(gop_index) if gop_index is not None else np.cumsum([t == "I" for t in frame_types]) - 1
    fig = go.Figure()
    for kind in sorted(set(frame_types), key=lambda t: ("IPB".find(t) % 10, t)):
        where = np.array([i for i, t in enumerate(frame_types) if t == kind], dtype=np.int64)
        fig.add_trace(go.Bar(
            x=where, y=np.ones(len(where)), width=0.85, name=f"{kind} ({len(where)})",
            marker_color=FRAME_TYPE_COLOURS.get(kind, "#7f7f7f"),
            customdata=gops[where] if len(where) else None,
            hovertemplate=f"frame %{{x}}: {kind}-frame, GOP %{{customdata}}<extra></extra>",
        ))
    if current is not None:
        fig.add_shape(type="rect", x0=current - 0.5, x1=current + 0.5, y0=-0.15, y1=1.15,
                      line=dict(color="black", width=2), fillcolor="rgba(0,0,0,0)")
    fig.update_xaxes(range=[-0.5, max(n, 1) - 0.5], title=None, showgrid=False)
    fig.update_yaxes(visible=False, range=[-0.2, 1.2])
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=30, b=20), bargap=0, barmode="overlay",
                      title=f"frame types: {n} frames, {frame_types.count('I')} GOPs",
                      legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1.0))
    return fig
