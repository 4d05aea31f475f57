"""Figures of the teaching notebooks: one GOP as a strip, curves, seeds, differences, costs, sliders.

Pure builders like the rest of :mod:`kdlab.figures` (arrays, rows or dicts in, a Plotly figure out),
plus :func:`interactive_figure`, the notebooks' "try this" cells: an ipywidgets slider in a live
kernel, and without one (the tests, the book) the same figure with a Plotly slider over precomputed
values, which stays interactive in a static HTML page.

=============================  ==========================================================================
builder                        input
=============================  ==========================================================================
``gop_strip_figure``           one GOP: frames, per-frame and accumulated motion ``(N, H, W, 2)``, residual
``channels_figure``            ``{name: (H, W)}`` maps on one colour scale (a network's input channels)
``lines_figure``               ``x`` and ``{name: y}`` (e.g. the gradient's norm against T)
``seed_dots_figure``           :func:`kdlab.engine.claims.seed_summary` rows: one dot per seed, mean, 95 % interval
``differences_figure``         :func:`kdlab.engine.claims.evaluate_claims` dicts: difference and interval
``error_bars_figure``          ``{series: [{"x", "top1", "low", "high"}]}``: accuracy against a factor
``cost_breakdown_figure``      :func:`kdlab.engine.profile.compression_table` rows split by network
``stepped_figure``             ``{label: figure}``: one figure with a slider that shows one at a time
=============================  ==========================================================================

>>> rows = seed_summary(Path("runs/demo"), ["student_ce", "kd_single", "mkd_streams"])   # doctest: +SKIP
>>> seed_dots_figure(rows).show()                                                       # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from kdlab.figures._common import PALETTE, empty_figure, is_number
from kdlab.figures.colour import flow_to_rgb, png_data_uri
from kdlab.figures.video import _image_axes

_MARGIN = dict(l=10, r=10, t=50, b=10)


# --- sliders ----------------------------------------------------------------------------------------

def stepped_figure(figures: Mapping[Any, go.Figure], name: str, active: int = 0) -> go.Figure:
    """Several figures of the same layout as one, with a slider that shows one of them at a time.

    ``figures``: ``{value: figure}`` in slider order (e.g. one figure per temperature). The layout
    (axes, sizes) is the ``active`` figure's; each step shows its figure's traces and title. Works
    without a Python kernel (the slider is Plotly's own), so a static HTML page keeps it.
    """
    if not figures:
        return empty_figure("nothing to step through")
    labels, figs = list(figures), list(figures.values())
    out = go.Figure(layout=figs[active].layout)
    spans = []
    for fig in figs:
        start = len(out.data)
        out.add_traces(list(fig.data))
        spans.append((start, len(out.data)))
    count = len(out.data)
    for i, (a, b) in enumerate(spans):
        for trace in out.data[a:b]:
            trace.visible = i == active
    steps = []
    for i, ((a, b), fig) in enumerate(zip(spans, figs)):
        title = fig.layout.title.text if fig.layout.title and fig.layout.title.text else ""
        steps.append(dict(method="update", label=_label(labels[i]),
                          args=[{"visible": [a <= k < b for k in range(count)]}, {"title.text": title}]))
    margin = dict(figs[active].layout.margin.to_plotly_json()) if figs[active].layout.margin else dict(_MARGIN)
    margin["b"] = max(margin.get("b") or 0, 90)
    height = figs[active].layout.height
    # below the x axis's tick labels (tilted class names take about 60 px)
    out.update_layout(sliders=[dict(active=active, currentvalue=dict(prefix=f"{name} = "), steps=steps,
                                    pad=dict(t=70), x=0.05, len=0.9)],
                      margin=margin, height=(height + 90) if height else None)
    return out


def _label(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def interactive_figure(builder: Callable[..., go.Figure], controls: Mapping[str, Sequence], *,
                       value: Mapping[str, Any] | None = None, static: bool = False,
                       static_figure: go.Figure | None = None):
    """A "try this" cell: ``builder(**values)`` redrawn as the reader moves a slider per control.

    ``controls``: ``{argument: the values it can take}``; ``value``: the starting values (default:
    each control's middle value). With ``static`` (no live kernel: the tests, the book) this returns
    ``static_figure`` when given, else :func:`stepped_figure` over the first control's values with
    the others at their starting values. Otherwise an ipywidgets box: one ``SelectionSlider`` per
    control and the figure below it, redrawn on release.
    """
    controls = {k: list(v) for k, v in controls.items()}
    start = {k: v[len(v) // 2] for k, v in controls.items()}
    start.update(value or {})
    if static:
        if static_figure is not None:
            return static_figure
        first, values = next(iter(controls.items()))
        figures = {v: builder(**{**start, first: v}) for v in values}
        return stepped_figure(figures, first, active=values.index(start[first]))
    import ipywidgets as widgets
    from IPython.display import display

    sliders = {k: widgets.SelectionSlider(options=[(_label(x), x) for x in v], value=start[k], description=k,
                                          continuous_update=False, style={"description_width": "initial"})
               for k, v in controls.items()}
    output = widgets.Output()

    def draw(_change=None):
        with output:
            output.clear_output(wait=True)
            display(builder(**{k: s.value for k, s in sliders.items()}))

    for s in sliders.values():
        s.observe(draw, names="value")
    draw()
    return widgets.VBox([*sliders.values(), output])


# --- codec -----------------------------------------------------------------------------------------

def _signed_rgb(values: np.ndarray, zmax: float) -> np.ndarray:
    """A signed map ``(H, W)`` as RGB ``(H, W, 3) uint8``: white at 0, red above, blue below, saturating at ``zmax``."""
    t = np.clip(np.asarray(values, np.float64) / max(zmax, 1e-9), -1.0, 1.0)
    pos, neg = np.clip(t, 0, 1), np.clip(-t, 0, 1)
    rgb = np.stack([1 - neg, 1 - pos - neg, 1 - pos], axis=-1)
    return np.round(np.clip(rgb, 0, 1) * 255).astype(np.uint8)


def gop_strip_figure(
    frames: np.ndarray,
    per_frame_mv: np.ndarray,
    accumulated_mv: np.ndarray,
    residual: np.ndarray,
    positions: Sequence[int],
    max_magnitude: float | None = None,
    title: str | None = None,
) -> go.Figure:
    """One GOP as a strip: a column per position, rows frame / motion per frame / accumulated / residual.

    ``frames (N, H, W, 3) uint8``, ``per_frame_mv`` and ``accumulated_mv`` ``(N, H, W, 2)`` (CoViAR's
    ``p - source``), ``residual (N, H, W, 3)`` (accumulated: the frame minus the I-frame warped by the
    accumulated motion), all indexed by frame in the GOP; ``positions``: the frames to show (0 is the
    I-frame, which has no motion nor residual). Motion is colour-coded (:func:`~kdlab.figures.flow_to_rgb`,
    the same ``max_magnitude`` everywhere, default the 99th percentile of the accumulated lengths); the
    residual (mean over RGB) is white where the warped I-frame explains the pixel, red or blue where not.
    """
    positions = list(positions)
    rows = ("frame", "motion, per frame", "motion, accumulated", "residual, accumulated")
    if max_magnitude is None:
        lengths = np.hypot(*np.moveaxis(np.asarray(accumulated_mv, np.float64)[positions], -1, 0))
        moving = lengths[lengths > 0]
        max_magnitude = float(np.percentile(moving, 99)) if moving.size else 1.0
    res = np.asarray(residual, np.float32)[positions].mean(-1)
    zmax = max(1.0, float(np.percentile(np.abs(res), 99)))
    fig = make_subplots(rows=len(rows), cols=len(positions), horizontal_spacing=0.01, vertical_spacing=0.03,
                        column_titles=[f"frame {p}" + (" (I)" if p == 0 else "") for p in positions],
                        row_titles=list(rows))
    height, width = frames.shape[1:3]
    for c, p in enumerate(positions, start=1):
        images = (frames[p], flow_to_rgb(per_frame_mv[p], max_magnitude), flow_to_rgb(accumulated_mv[p], max_magnitude),
                  _signed_rgb(res[c - 1], zmax))
        for r, image in enumerate(images, start=1):
            fig.add_trace(go.Image(source=png_data_uri(image), name=rows[r - 1], hoverinfo="skip"), row=r, col=c)
            _image_axes(fig, width, height, row=r, col=c)
    fig.update_xaxes(showticklabels=False)
    fig.update_yaxes(showticklabels=False)
    for annotation in fig.layout.annotations:
        annotation.font = dict(size=11)
    fig.update_layout(height=150 * len(rows) + 60, margin=dict(l=10, r=30, t=60, b=10), showlegend=False,
                      title=title or f"one GOP (motion at full brightness: {max_magnitude:.1f} px; residual: +-{zmax:.0f} levels)")
    return fig


def channels_figure(channels: Mapping[str, np.ndarray], zmin: float | None = None, zmax: float | None = None,
                    title: str | None = None, height: int | None = 320, max_side: int = 240) -> go.Figure:
    """Single-channel maps ``(H, W)`` side by side as heat maps on one colour scale.

    For a network's input channels (e.g. the motion's x and y after CoViAR's normalisation, which maps
    -20 px .. +20 px to -0.5 .. +0.5). ``zmin``/``zmax``: the shared colour range (default: the
    values' range, symmetric about 0 when they have both signs). Maps larger than ``max_side`` are
    subsampled for display.
    """
    if not channels:
        return empty_figure("no channel to draw")
    arrays = {k: np.asarray(v, np.float32) for k, v in channels.items()}
    low = min(float(a.min()) for a in arrays.values())
    high = max(float(a.max()) for a in arrays.values())
    if zmin is None and zmax is None and low < 0 < high:
        zmax = max(-low, high)
        zmin = -zmax
    zmin = low if zmin is None else zmin
    zmax = high if zmax is None else zmax
    fig = make_subplots(rows=1, cols=len(arrays), subplot_titles=list(arrays), horizontal_spacing=0.03)
    for col, (name, a) in enumerate(arrays.items(), start=1):
        s = max(1, int(np.ceil(max(a.shape) / max_side)))
        shown = a[::s, ::s]
        fig.add_trace(go.Heatmap(z=shown, x=np.arange(0, a.shape[1], s), y=np.arange(0, a.shape[0], s),
                                 zmin=zmin, zmax=zmax, colorscale="RdBu", reversescale=True, showscale=col == len(arrays),
                                 colorbar=dict(thickness=10), name=name,
                                 hovertemplate=f"{name} (%{{x}}, %{{y}}): %{{z:.3f}}<extra></extra>"), row=1, col=col)
        _image_axes(fig, a.shape[1], a.shape[0], row=1, col=col)
        fig.update_yaxes(scaleanchor=f"x{col if col > 1 else ''}", row=1, col=col)
    fig.update_layout(height=height, margin=_MARGIN, title=title)
    return fig


# --- curves ----------------------------------------------------------------------------------------

def lines_figure(x: Sequence[float], series: Mapping[str, Sequence[float]], x_title: str, y_title: str,
                 log_x: bool = False, log_y: bool = False, title: str | None = None,
                 height: int | None = 360) -> go.Figure:
    """One line per series over the same ``x`` (e.g. the gradient's norm against T, with and without T^2).

    A log x axis gets its ticks at the ``x`` values (up to 12 of them).
    """
    fig = go.Figure()
    for i, (name, y) in enumerate(series.items()):
        fig.add_trace(go.Scatter(x=list(x), y=list(y), mode="lines+markers", name=name,
                                 line=dict(color=PALETTE[i % len(PALETTE)])))
    fig.update_xaxes(title=x_title, type="log" if log_x else "linear")
    if log_x and len(x) <= 12:  # ticks at the values drawn, not at Plotly's log minor ticks
        fig.update_xaxes(tickvals=list(x), ticktext=[f"{v:g}" for v in x])
    fig.update_yaxes(title=y_title, type="log" if log_y else "linear")
    fig.update_layout(height=height, margin=_MARGIN, title=title)
    return fig


# --- results over seeds ----------------------------------------------------------------------------

def seed_dots_figure(rows: Sequence[dict], labels: Mapping[str, str] | None = None, title: str | None = None,
                     height: int | None = None) -> go.Figure:
    """Top-1 of every seed as a dot, and the mean with its 95 % interval, one row per method.

    ``rows``: :func:`kdlab.engine.claims.seed_summary` (``run``, ``seeds``, ``top1_per_seed``, ``top1``,
    ``low``, ``high``); ``labels``: display names by run.
    """
    rows = [r for r in rows if r.get("top1_per_seed")]
    if not rows:
        return empty_figure("no finished runs over seeds")
    labels = labels or {}
    names = [labels.get(r["run"], r["run"]) for r in rows]
    fig = go.Figure()
    for i, (row, name) in enumerate(zip(rows, names)):
        colour = PALETTE[i % len(PALETTE)]
        fig.add_trace(go.Scatter(
            x=row["top1_per_seed"], y=[name] * len(row["top1_per_seed"]), mode="markers", name=f"{name}: seeds",
            marker=dict(size=9, color=colour, opacity=0.55, symbol="circle-open", line=dict(width=2)),
            customdata=row["seeds"], hovertemplate="seed %{customdata}: %{x:.1f}%<extra></extra>", showlegend=False))
        fig.add_trace(go.Scatter(
            x=[row["top1"]], y=[name], mode="markers", name=f"{name}: mean",
            marker=dict(size=13, color=colour, symbol="diamond"),
            error_x=dict(type="data", symmetric=False, array=[row["high"] - row["top1"]],
                         arrayminus=[row["top1"] - row["low"]], thickness=2, width=8),
            hovertemplate=f"mean %{{x:.1f}}% [{row['low']:.1f}, {row['high']:.1f}]<extra></extra>", showlegend=False))
    fig.update_xaxes(title="test top-1 (%): dots are seeds, the diamond their mean with its 95 % interval")
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(height=height or 90 + 55 * len(rows), margin=_MARGIN, title=title)
    return fig


def differences_figure(claims: Sequence[dict], title: str | None = None, height: int | None = None) -> go.Figure:
    """Each comparison's difference of top-1 with its 95 % interval, and the zero line (a forest plot).

    ``claims``: :func:`kdlab.engine.claims.evaluate_claims` dicts (``title``, ``difference``, ``low``,
    ``high``, ``decided``, ``verdict``). Green: the interval lies above 0; red: below; grey: it holds 0.
    """
    claims = [c for c in claims if c and is_number(c.get("difference"))]
    if not claims:
        return empty_figure("no comparison has runs yet")
    colours = {1: "#2ca02c", -1: "#d62728", 0: "#7f7f7f"}
    fig = go.Figure()
    for c in claims:
        fig.add_trace(go.Scatter(
            x=[c["difference"]], y=[c["title"]], mode="markers", marker=dict(size=11, color=colours[c["decided"]]),
            error_x=dict(type="data", symmetric=False, array=[c["high"] - c["difference"]],
                         arrayminus=[c["difference"] - c["low"]], thickness=2, width=8, color=colours[c["decided"]]),
            hovertext=c.get("verdict", ""), hoverinfo="text", showlegend=False))
    fig.add_vline(x=0, line=dict(color="black", dash="dot"))
    fig.update_xaxes(title="difference of test top-1 (points), 95 % interval")
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(height=height or 90 + 45 * len(claims), margin=_MARGIN, title=title)
    return fig


def error_bars_figure(series: Mapping[str, Sequence[dict]], x_title: str, y_title: str = "test top-1 (%)",
                      log_x: bool = False, title: str | None = None, height: int | None = 360) -> go.Figure:
    """Accuracy against a factor (T, KD weight, the teachers), one line per series, 95 % error bars.

    ``series``: ``{name: [{"x": value, "top1": mean, "low": ..., "high": ...}, ...]}`` (points
    without a number are left out). Numeric ``x`` get ticks at their values; names (``"I+MV"``) make a
    category axis in the order given.
    """
    fig = go.Figure()
    for i, (name, points) in enumerate(series.items()):
        points = [p for p in points if is_number(p.get("top1"))]
        if not points:
            continue
        fig.add_trace(go.Scatter(
            x=[p["x"] for p in points], y=[p["top1"] for p in points], mode="lines+markers", name=name,
            line=dict(color=PALETTE[i % len(PALETTE)]),
            error_y=dict(type="data", symmetric=False, array=[p["high"] - p["top1"] for p in points],
                         arrayminus=[p["top1"] - p["low"] for p in points]),
            text=[p.get("label", "") for p in points],
            hovertemplate="%{text} %{x}: %{y:.1f}%<extra></extra>"))
    if not fig.data:
        return empty_figure("no finished runs for this factor")
    xs = sorted({x for trace in fig.data for x in trace.x if is_number(x)})
    fig.update_xaxes(title=x_title)  # the axis type is Plotly's guess (categories for names) unless log_x
    if log_x:
        fig.update_xaxes(type="log")
    if xs:  # ticks at the factor's values, not at Plotly's round numbers
        fig.update_xaxes(tickvals=xs, ticktext=[f"{x:g}" for x in xs])
    fig.update_yaxes(title=y_title)
    fig.update_layout(height=height, margin=_MARGIN, title=title)
    return fig


# --- cost ------------------------------------------------------------------------------------------

def cost_breakdown_figure(systems: Sequence[dict], gop: int = 12, height: int | None = 380) -> go.Figure:
    """Parameters and FLOPs per GOP of each system, stacked by network.

    ``systems``: ``[{"system": name, "iframe": NetCost-like, "mv": ..., "residual": ...}]`` where each
    network has ``arch``, ``params`` and ``flops_per_frame`` (attributes or keys). FLOPs per GOP: the
    I-frame network once, the motion and residual networks on the ``gop - 1`` P-frames.
    """
    if not systems:
        return empty_figure("no systems")

    def get(net, key):
        return net[key] if isinstance(net, Mapping) else getattr(net, key)

    parts = (("iframe", "I-frame net (x1)", 1), ("mv", f"motion net (x{gop - 1})", gop - 1),
             ("residual", f"residual net (x{gop - 1})", gop - 1))
    fig = make_subplots(rows=1, cols=2, subplot_titles=("parameters (M)", f"GFLOPs per GOP of {gop} frames"))
    names = [s["system"] for s in systems]
    for i, (key, words, times) in enumerate(parts):
        params = [get(s[key], "params") / 1e6 for s in systems]
        flops = [times * get(s[key], "flops_per_frame") / 1e9 for s in systems]
        archs = [get(s[key], "arch") for s in systems]
        for col, values in ((1, params), (2, flops)):
            fig.add_trace(go.Bar(x=names, y=values, name=words, legendgroup=key, showlegend=col == 1,
                                 marker_color=PALETTE[i], customdata=archs,
                                 hovertemplate="%{customdata}: %{y:.3g}<extra>" + words + "</extra>"), row=1, col=col)
    fig.update_layout(barmode="stack", height=height, margin=_MARGIN)
    return fig
