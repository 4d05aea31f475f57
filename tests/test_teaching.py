"""The teaching notebooks' figure builders (kdlab.figures.teaching): pure functions, checked on their traces."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

from kdlab.engine.profile import NetCost
from kdlab.figures import teaching as T


def bar(y, title):
    return go.Figure(go.Bar(y=y), layout=dict(title=title, height=300))


def test_stepped_figure_shows_one_figure_per_step():
    fig = T.stepped_figure({1: bar([1, 2], "T = 1"), 4: bar([3, 4], "T = 4"), 10: bar([5, 6], "T = 10")}, "T", active=1)
    assert len(fig.data) == 3
    assert [t.visible for t in fig.data] == [False, True, False]
    (slider,) = fig.layout.sliders
    assert slider.active == 1 and [s.label for s in slider.steps] == ["1", "4", "10"]
    assert slider.steps[2].args[0]["visible"] == [False, False, True]
    assert slider.steps[2].args[1]["title.text"] == "T = 10"
    assert fig.layout.height == 390  # room for the slider


def test_stepped_figure_keeps_subplot_axes():
    from plotly.subplots import make_subplots

    def two_panels(v):
        fig = make_subplots(rows=1, cols=2)
        fig.add_trace(go.Scatter(y=[v]), row=1, col=1)
        fig.add_trace(go.Scatter(y=[-v]), row=1, col=2)
        return fig

    fig = T.stepped_figure({v: two_panels(v) for v in (1, 2)}, "v")
    assert [t.xaxis for t in fig.data] == ["x", "x2", "x", "x2"]
    assert [t.visible for t in fig.data] == [True, True, False, False]


def test_interactive_figure_is_static_without_a_kernel_and_a_widget_with_one():
    calls = []

    def builder(a, b):
        calls.append((a, b))
        return bar([a, b], f"{a} {b}")

    static = T.interactive_figure(builder, {"a": [1, 2, 3], "b": [10, 20]}, value={"a": 1}, static=True)
    assert isinstance(static, go.Figure) and len(static.layout.sliders[0].steps) == 3
    assert calls == [(1, 20), (2, 20), (3, 20)]  # the first control steps, the others at their start values
    given = go.Figure()
    assert T.interactive_figure(builder, {"a": [1]}, static=True, static_figure=given) is given

    widgets = pytest.importorskip("ipywidgets")
    calls.clear()
    box = T.interactive_figure(builder, {"a": [1, 2, 3], "b": [10, 20]}, value={"b": 10}, static=False)
    assert isinstance(box, widgets.VBox)
    sliders = [w for w in box.children if isinstance(w, widgets.SelectionSlider)]
    assert [s.description for s in sliders] == ["a", "b"] and calls == [(2, 10)]
    sliders[0].value = 3
    assert calls[-1] == (3, 10)


def test_gop_strip_figure_has_a_row_per_representation_and_a_column_per_position():
    n, h, w = 4, 32, 48
    frames = np.zeros((n, h, w, 3), np.uint8)
    mv = np.zeros((n, h, w, 2), np.int16)
    mv[1:, ..., 0] = 2
    acc = np.cumsum(mv, axis=0)
    residual = np.zeros((n, h, w, 3), np.int16)
    residual[2, :, :5] = 40
    fig = T.gop_strip_figure(frames, mv, acc, residual, [0, 1, 3])
    assert len(fig.data) == 4 * 3 and all(isinstance(t, go.Image) for t in fig.data)
    assert "6.0 px" in fig.layout.title.text  # the accumulated motion's 99th percentile sets full brightness


def test_signed_rgb_is_white_at_zero_red_above_blue_below():
    rgb = T._signed_rgb(np.array([[0.0, 10.0, -10.0, 100.0]]), zmax=10)
    assert rgb[0, 0].tolist() == [255, 255, 255]
    assert rgb[0, 1].tolist() == [255, 0, 0] and rgb[0, 3].tolist() == [255, 0, 0]
    assert rgb[0, 2].tolist() == [0, 0, 255]


def test_channels_figure_shares_one_colour_range():
    fig = T.channels_figure({"x": np.full((8, 8), 0.25), "y": np.full((8, 8), -0.5)})
    assert [(t.zmin, t.zmax) for t in fig.data] == [(-0.5, 0.5), (-0.5, 0.5)]
    assert [t.showscale for t in fig.data] == [False, True]


def test_seed_dots_and_differences():
    rows = [{"run": "a", "seeds": [0, 1], "top1_per_seed": [80.0, 82.0], "top1": 81.0, "low": 79.0, "high": 83.0}]
    fig = T.seed_dots_figure(rows, {"a": "method A"})
    assert list(fig.data[0].x) == [80.0, 82.0] and fig.data[1].y == ("method A",)
    assert fig.data[1].error_x.array == (2.0,) and fig.data[1].error_x.arrayminus == (2.0,)
    claims = [{"title": "up", "difference": 2.0, "low": 0.5, "high": 3.5, "decided": 1, "verdict": "better"},
              {"title": "none", "difference": 0.3, "low": -1.0, "high": 1.6, "decided": 0, "verdict": "no difference"}]
    fig = T.differences_figure(claims)
    assert [t.marker.color for t in fig.data] == ["#2ca02c", "#7f7f7f"]
    assert T.differences_figure([None]).layout.annotations  # nothing to draw says so


def test_error_bars_leave_out_missing_points():
    fig = T.error_bars_figure({"T": [{"x": 1, "top1": 80, "low": 78, "high": 82}, {"x": 2, "top1": None}]}, "T")
    assert list(fig.data[0].x) == [1] and fig.data[0].error_y.array == (2,)
    assert T.error_bars_figure({"T": [{"x": 1, "top1": None}]}, "T").layout.annotations
    assert fig.layout.xaxis.tickvals == (1,)
    named = T.error_bars_figure({"teachers": [{"x": "I", "top1": 80, "low": 78, "high": 82},
                                              {"x": "I+MV", "top1": 81, "low": 79, "high": 83}]}, "teachers")
    assert named.layout.xaxis.type is None and list(named.data[0].x) == ["I", "I+MV"]  # a category axis


def test_cost_breakdown_stacks_the_networks_per_gop():
    net = NetCost("resnet18", "mv", params=2_000_000, flops_per_frame=1_000_000_000)
    big = NetCost("resnet152", "iframe", params=50_000_000, flops_per_frame=20_000_000_000)
    fig = T.cost_breakdown_figure([{"system": "CoViAR", "iframe": big, "mv": net, "residual": net}], gop=12)
    params = {t.name: t.y[0] for t in fig.data if t.xaxis == "x"}
    flops = {t.name: t.y[0] for t in fig.data if t.xaxis == "x2"}
    assert params == {"I-frame net (x1)": 50.0, "motion net (x11)": 2.0, "residual net (x11)": 2.0}
    assert flops == {"I-frame net (x1)": 20.0, "motion net (x11)": 11.0, "residual net (x11)": 11.0}
    assert fig.layout.barmode == "stack"
