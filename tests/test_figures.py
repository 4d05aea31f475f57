"""The Plotly figure builders of kdlab.figures: pure functions, checked on their traces and values."""

from __future__ import annotations

import base64
import io

import numpy as np
import plotly.graph_objects as go
import pytest

from kdlab import figures as F
from kdlab.engine.metrics import confusion_matrix, teacher_disagreement


def constant_field(height=64, width=96, dx=3, dy=-2) -> np.ndarray:
    mv = np.zeros((height, width, 2), np.int16)
    mv[..., 0], mv[..., 1] = dx, dy
    return mv


# --- colour ---------------------------------------------------------------------------------

@pytest.mark.parametrize("vector, rgb", [
    ((1, 0), (255, 0, 0)),        # right: red (hue 0)
    ((0, 1), (128, 255, 0)),      # down (image axes): hue 0.25
    ((-1, 0), (0, 255, 255)),     # left: cyan (hue 0.5)
    ((0, -1), (128, 0, 255)),     # up: violet (hue 0.75)
    ((1, 1), (255, 191, 0)),      # down-right: orange (hue 1/8)
    ((0, 0), (0, 0, 0)),          # no motion: black
])
def test_flow_to_rgb_colour_wheel_values(vector, rgb):
    mv = np.zeros((1, 2, 2))
    mv[0, 0] = vector
    mv[0, 1] = np.array(vector) * 0.5  # half the length: half the brightness
    out = F.flow_to_rgb(mv, max_magnitude=float(np.hypot(*vector)) or 1.0)
    assert out.dtype == np.uint8 and out.shape == (1, 2, 3)
    assert tuple(out[0, 0]) == rgb
    assert np.abs(out[0, 1].astype(int) - np.round(np.array(rgb) * 0.5)).max() <= 1


def test_flow_to_rgb_scales_by_the_largest_vector_and_saturates():
    mv = np.array([[[4.0, 0.0], [2.0, 0.0], [8.0, 0.0]]])
    assert F.flow_to_rgb(mv)[0, :, 0].tolist() == [128, 64, 255]       # default max: 8 px
    assert F.flow_to_rgb(mv, max_magnitude=4)[0, :, 0].tolist() == [255, 128, 255]  # longer saturates
    assert F.flow_to_rgb(np.zeros((2, 2, 2))).max() == 0                # a still field is black
    with pytest.raises(ValueError, match="motion field"):
        F.flow_to_rgb(np.zeros((4, 4, 3)))


def test_hsv_to_rgb_primaries():
    hues = np.array([0, 1 / 6, 2 / 6, 3 / 6, 4 / 6, 5 / 6])
    rgb = F.hsv_to_rgb(hues, 1.0, 1.0)
    assert rgb.tolist() == [[1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 1, 1], [0, 0, 1], [1, 0, 1]]
    assert F.hsv_to_rgb(0.3, 0.0, 0.5).tolist() == [0.5, 0.5, 0.5]  # no saturation: grey


def test_colour_wheel_key():
    wheel = F.colour_wheel(65)
    assert wheel.shape == (65, 65, 3)
    assert wheel[32, 32].tolist() == [0, 0, 0]            # centre: no motion
    assert wheel[32, 64].tolist() == [255, 0, 0]          # right rim: full length to the right
    assert wheel[64, 32].tolist() == [128, 255, 0]        # bottom rim: downwards
    assert wheel[0, 0].tolist() == [255, 255, 255]        # outside the disc


def test_png_round_trip():
    image = np.random.default_rng(0).integers(0, 256, (7, 5, 3), dtype=np.uint8)
    uri = F.png_data_uri(image)
    assert uri.startswith("data:image/png;base64,")
    Image = pytest.importorskip("PIL.Image")
    decoded = np.asarray(Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))))
    assert np.array_equal(decoded, image)
    with pytest.raises(ValueError):
        F.png_bytes(image.astype(np.float32))


# --- video ----------------------------------------------------------------------------------

def test_quiver_samples_the_block_grid_and_points_from_the_source():
    mv = constant_field(64, 96, 3, -2)
    arrows = F.quiver_segments(mv, step=16, scale=1.0)
    assert len(arrows["x"]) == (64 // 16) * (96 // 16)
    assert set(arrows["x"].tolist()) == {8, 24, 40, 56, 72, 88} and set(arrows["y"].tolist()) == {8, 24, 40, 56}
    # tail = where the pixel came from (p - mv), tip = the block centre
    assert np.all(arrows["x0"] == arrows["x"] - 3) and np.all(arrows["y0"] == arrows["y"] + 2)
    assert len(F.quiver_segments(mv, step=8)["x"]) == 8 * 12
    mv[:32] = 0  # still blocks get no arrow
    assert len(F.quiver_segments(mv, step=16)["x"]) == 2 * 6


def test_motion_arrows_figure_traces_and_arrow_count():
    mv = constant_field(64, 96, 3, -2)
    mv[:, :48] = 0
    fig = F.motion_arrows_figure(mv, np.zeros((64, 96, 3), np.uint8), step=16, scale=2.0)
    assert isinstance(fig, go.Figure)
    assert [type(t).__name__ for t in fig.data] == ["Image", "Scatter", "Scatter"]
    lines = fig.data[1]
    arrows = 4 * 3  # 4 block rows x 3 moving block columns
    assert sum(v is None or (isinstance(v, float) and np.isnan(v)) for v in lines.x) == arrows
    assert len(lines.x) == 6 * arrows and len(fig.data[2].x) == arrows
    assert lines.x[0] == 56 - 2 * 3 and lines.y[0] == 8 + 2 * 2 and (lines.x[1], lines.y[1]) == (56, 8)
    assert "12 blocks" in fig.layout.title.text and "x2.0" in fig.layout.title.text
    assert tuple(fig.layout.yaxis.range) == (63.5, -0.5)  # image axes: y down
    assert fig.data[0].source.startswith("data:image/png;base64,")


def test_auto_arrow_scale():
    assert F.auto_arrow_scale(constant_field(64, 64, 1, 0), step=16) == pytest.approx(12.8)
    assert F.auto_arrow_scale(constant_field(64, 64, 40, 0), step=16) == 1.0   # long vectors: true length
    assert F.auto_arrow_scale(np.zeros((64, 64, 2)), step=16) == 1.0
    fig = F.motion_arrows_figure(np.zeros((32, 32, 2)))                        # no motion, no image
    assert len(fig.data[1].x) == 0 and "0 blocks" in fig.layout.title.text


def test_flow_figure_with_and_without_the_key():
    mv = constant_field(32, 48, 2, 0)
    mv[0, 0] = (50, 0)  # one outlier does not set the scale: the 99th percentile does
    fig = F.flow_figure(mv)
    assert [type(t).__name__ for t in fig.data] == ["Image", "Image"]
    assert "2.0 px" in fig.layout.annotations[-1].text
    assert "1.0 px" in F.flow_figure(np.zeros((8, 8, 2))).layout.annotations[-1].text
    fig = F.flow_figure(mv, max_magnitude=4.0, wheel=False)
    assert len(fig.data) == 1 and tuple(fig.layout.xaxis.range) == (-0.5, 47.5)


def test_residual_figure_values_and_subsampling():
    residual = np.zeros((20, 30, 3), np.int16)
    residual[5, 7] = (30, 60, 90)       # mean 60
    residual[6, 8] = (-300, -300, -300)  # clipped to -128 for display
    fig = F.residual_figure(residual)
    heat = fig.data[0]
    assert isinstance(heat, go.Heatmap) and heat.zmid == 0 and heat.zmin == -heat.zmax
    z = np.asarray(heat.z)
    assert z.shape == (20, 30) and z[5, 7] == 60 and z[6, 8] == -128
    fig = F.residual_figure(np.zeros((400, 800, 3), np.int16), max_side=200)
    assert np.asarray(fig.data[0].z).shape == (100, 200) and list(fig.data[0].x[:2]) == [0, 4]


def test_gop_timeline_one_trace_per_frame_type():
    types = "IPPPPPPPPPPPIPPPPPPPBBPP"
    fig = F.gop_timeline_figure(types, current=5)
    names = {t.name.split()[0]: len(t.x) for t in fig.data}
    assert names == {"I": 2, "P": 20, "B": 2}
    assert all(isinstance(t, go.Bar) for t in fig.data)
    assert list(fig.data[0].x) == [0, 12] and list(fig.data[0].customdata) == [0, 1]  # GOP of each I-frame
    shape = fig.layout.shapes[0]
    assert (shape.x0, shape.x1) == (4.5, 5.5)
    assert "2 GOPs" in fig.layout.title.text


def test_image_figure():
    fig = F.image_figure(np.zeros((10, 20, 3), np.uint8), title="I-frame")
    assert isinstance(fig.data[0], go.Image) and fig.layout.title.text == "I-frame"
    assert tuple(fig.layout.xaxis.range) == (-0.5, 19.5) and fig.layout.yaxis.scaleanchor == "x"


# --- confusion ------------------------------------------------------------------------------

def test_confusion_figure_counts_and_normalised():
    cm = np.array([[3, 1, 0], [0, 2, 2], [0, 0, 0]])
    fig = F.confusion_figure(cm, ["a", "b", "c"])
    assert isinstance(fig.data[0], go.Heatmap)
    assert np.array_equal(np.asarray(fig.data[0].z), cm) and list(fig.data[0].text[0]) == ["3", "1", "0"]
    norm = F.confusion_figure(cm, ["a", "b", "c"], normalise=True)
    assert np.allclose(np.asarray(norm.data[0].z), [[0.75, 0.25, 0], [0, 0.5, 0.5], [0, 0, 0]])  # empty row: zeros
    assert list(norm.data[0].text[1]) == ["0%", "50%", "50%"] and norm.data[0].zmax == 1
    assert norm.layout.yaxis.autorange == "reversed" and norm.layout.yaxis.title.text == "true class"


def test_confusion_difference_is_b_minus_a():
    a, b = np.array([[2, 0], [1, 1]]), np.array([[1, 1], [0, 2]])
    fig = F.confusion_difference_figure(a, b, ["x", "y"], names=("teacher", "student"))
    assert np.allclose(np.asarray(fig.data[0].z), [[-0.5, 0.5], [-0.5, 0.5]])
    assert fig.data[0].zmin == -0.5 and fig.data[0].zmax == 0.5 and "student minus teacher" in fig.layout.title.text
    counts = F.confusion_difference_figure(a, b, ["x", "y"], normalise=False)
    assert np.array_equal(np.asarray(counts.data[0].z), b - a) and list(counts.data[0].text[0]) == ["-1", "+1"]
    same = F.confusion_difference_figure(a, a, ["x", "y"])
    assert list(same.data[0].text[0]) == ["", ""] and same.data[0].zmax == 1.0  # no change: blank cells


def test_many_classes_have_no_cell_text():
    cm = np.eye(40, dtype=int)
    assert F.confusion_figure(cm, [str(i) for i in range(40)]).data[0].text is None


# --- teachers -------------------------------------------------------------------------------

@pytest.fixture
def logits():
    # 3 teachers, 4 videos, 3 classes; teacher 0 and 1 agree everywhere, teacher 2 differs on videos 2, 3
    eye = np.eye(3) * 5
    t0 = eye[[0, 1, 2, 0]]
    t2 = eye[[0, 1, 0, 1]]
    return np.stack([t0, t0.copy(), t2]), np.array([0, 1, 2, 2])


def test_disagreement_matrix_from_pairs(logits):
    z, labels = logits
    names = ["rgb", "mv", "res"]
    result = teacher_disagreement(z, labels, names, 3)
    matrix = F.pairwise_matrix(result, names)
    assert np.allclose(matrix, [[0, 0, 0.5], [0, 0, 0.5], [0.5, 0.5, 0]])
    fig = F.disagreement_matrix_figure(result, names)
    assert np.allclose(np.asarray(fig.data[0].z), matrix) and fig.data[0].text[0][2] == "50%"
    js = F.disagreement_matrix_figure(result, names, key="js")
    assert np.asarray(js.data[0].z)[0, 1] == pytest.approx(0.0, abs=1e-9) and np.asarray(js.data[0].z)[0, 2] > 0
    bars = F.per_class_disagreement_figure(result, ["a", "b", "c"])
    assert len(bars.data) == 3 and all(isinstance(t, go.Bar) for t in bars.data)
    assert list(bars.data[1].y) == [0.0, 0.0, 1.0]  # rgb vs res: class c (videos 2, 3) only
    assert "fewer than two" in F.disagreement_matrix_figure({"pairs": []}, ["one"]).layout.annotations[0].text


def test_disagreement_rows(logits):
    z, labels = logits
    rows = F.disagreement_rows(z, ["rgb", "mv", "res"], labels, ["a", "b", "c"], ["v0", "v1", "v2", "v3"],
                               student_logits=z[2], only_disagreeing=True)
    assert [r["video"] for r in rows] == ["v2", "v3"]
    assert rows[0] == {"video": "v2", "label": "c", "rgb": "c", "mv": "c", "res": "a", "student": "a",
                       "teachers_agree": False, "right": 2}
    assert len(F.disagreement_rows(z, ["rgb", "mv", "res"], labels, ["a", "b", "c"], ["v0", "v1", "v2", "v3"])) == 4


def test_teacher_weights_histograms():
    weights = {"EBKD": np.array([[0.5, 0.2], [0.3, 0.4], [0.2, 0.4]]), "CA-MKD": np.full((3, 2), 1 / 3)}
    fig = F.teacher_weights_figure(weights, ["a", "b", "c"])
    assert len(fig.data) == 6 and all(isinstance(t, go.Histogram) for t in fig.data)
    assert list(fig.data[0].x) == [0.5, 0.2] and fig.data[3].xaxis == "x2"
    assert [t.showlegend for t in fig.data] == [True, True, True, False, False, False]
    assert len(fig.layout.shapes) == 2 and fig.layout.shapes[0].x0 == pytest.approx(1 / 3)  # the 1/K line


def test_predictions_figure_marks_right_and_wrong(logits):
    z, labels = logits
    fig = F.predictions_figure({"rgb": z[0], "res": z[2]}, labels, ["a", "b", "c"], ["k/v0", "k/v1", "k/v2", "k/v3"])
    heat = fig.data[0]
    assert np.array_equal(np.asarray(heat.z), [[1, 1], [1, 1], [1, 0], [0, 0]])
    assert heat.text[2][1].startswith("a ") and list(heat.x) == ["rgb", "res"] and heat.y[0] == "v0 [a]"


# --- results --------------------------------------------------------------------------------

ROWS = [
    {"run": "teacher_iframe", "group": "teachers", "params": 900_000, "flops_per_frame": 2e7, "top1": 60.0},
    {"run": "teacher_mv", "group": "teachers", "params": 170_000, "flops_per_frame": 4e6, "top1": 40.0},
    {"run": "fusion_teachers", "group": "fusion", "params": None, "flops_per_frame": None, "top1": 70.0},
    {"run": "mkd_streams", "group": "students", "params": 170_000, "flops_per_frame": 4e6, "top1": 55.0},
]


def test_accuracy_cost_scatter_one_trace_per_group():
    fig = F.accuracy_cost_figure(ROWS, cost="params")
    assert [t.name for t in fig.data] == ["teachers", "students"]   # the fusion has no parameter count
    assert list(fig.data[0].x) == [900_000, 170_000] and list(fig.data[0].customdata) == ["teacher_iframe", "teacher_mv"]
    assert fig.data[0].mode == "markers", "names on hover, not written over the points"
    assert "teacher_iframe" in fig.data[0].text[0] and "900 k" in fig.data[0].text[0]
    assert fig.layout.xaxis.type == "log"
    flops = F.accuracy_cost_figure(ROWS, cost="flops_per_frame")
    assert list(flops.data[1].x) == [4e6] and "FLOPs" in flops.layout.xaxis.title.text
    assert "no run" in F.accuracy_cost_figure(ROWS[2:3]).layout.annotations[0].text


def test_accuracy_cost_has_readable_log_ticks():
    fig = F.accuracy_cost_figure(ROWS, cost="params")
    ticks = dict(zip(fig.layout.xaxis.tickvals, fig.layout.xaxis.ticktext))
    assert ticks[200_000] == "200 k" and ticks[500_000] == "500 k" and ticks[1_000_000] == "1 M"
    assert all(t[0].isdigit() and (t.endswith(("k", "M", "G")) or t.isdigit()) for t in ticks.values())


def test_accuracy_cost_one_point_per_method_with_its_seed_interval():
    rows = ROWS + [{"run": f"mkd_streams_seed{s}", "group": "students", "params": 170_000, "flops_per_frame": 4e6,
                    "top1": 55.0 + s} for s in (1, 2)]
    for row in rows:
        row["method"] = row["run"].split("_seed")[0]
    seeds = [{"run": "mkd_streams", "seeds": [0, 1, 2], "top1": 56.0, "low": 53.5, "high": 58.5}]
    fig = F.accuracy_cost_figure(rows, cost="params", seeds=seeds)
    students = fig.data[1]
    assert list(students.customdata) == ["mkd_streams"] and list(students.y) == [56.0]
    assert list(students.error_y.array) == [2.5] and list(students.error_y.arrayminus) == [2.5]
    assert "mean of 3 seeds" in students.text[0] and "[53.5, 58.5]" in students.text[0]
    without = F.accuracy_cost_figure(rows, cost="params")  # no interval known: the mean, no bar
    assert list(without.data[1].y) == [56.0] and without.data[1].error_y.array is None
    other = F.accuracy_cost_figure(rows, cost="params", accuracy="mean_class_accuracy")
    assert "no run" in other.layout.annotations[0].text  # the rows have no such column
    hidden = F.accuracy_cost_figure(rows + [{"run": "ablation_x", "group": "ablation", "params": 1e5, "top1": 50.0}])
    assert [t.visible for t in hidden.data] == [True, True, "legendonly"]


@pytest.mark.parametrize("value, text", [(176_584, "177 k"), (49_768_960, "49.8 M"), (1.2e9, "1.2 G"), (950, "950"),
                                         (1_000_000, "1 M"), (None, "–"), (float("nan"), "–"), ("", "–")])
def test_format_count(value, text):
    assert F.format_count(value) == text


def test_log_ticks_cover_the_values_in_1_2_5_steps():
    ticks, text = F.log_ticks([176_584, 927_116])
    assert [t for t in ticks if 100_000 <= t <= 1_000_000] == [100_000, 200_000, 500_000, 1_000_000]
    assert text[ticks.index(200_000)] == "200 k"
    plain, labels = F.log_ticks([0.093, 102.0], counts=False)
    assert labels[plain.index(0.5)] == "0.5" and labels[plain.index(100)] == "100"
    wide, _ = F.log_ticks([1, 1e9])
    assert all(np.log10(t) == int(np.log10(t)) for t in wide), "decades only over a wide span"
    assert F.log_ticks([]) == ([], [])


def test_experiment_table_for_people():
    rows = [{"run": "mkd_streams", "group": "students", "representation": "iframe", "arch": "resnet18_tiny", "loss": "avg_kd",
             "teachers": 3, "params": 177_362, "flops_per_frame": 6_735_104, "top1": 86.66666666666667, "top1_best": None,
             "mean_class_accuracy": 33.3333, "protocol": "4 segments x 1 crop"},
            {"run": "fusion_teachers", "group": "fusion", "representation": "iframe+mv+residual", "arch": "", "loss": "fusion",
             "teachers": 0, "params": 1_057_728, "flops_per_frame": None, "top1": 96.41666, "top1_best": 96.0}]
    table = F.experiment_table(rows)
    assert table[0] == {
        "run": "mkd_streams", "group": "students", "input": "I-frames", "network": "resnet18_tiny",
        "training": "mean of KD losses", "teachers": "3", "parameters": "177 k", "FLOPs per frame": "6.74 M",
        "test top-1 (%)": "86.7", "top-1 at the epoch picked on validation (%)": "–", "mean class accuracy (%)": "33.3",
        "test protocol": "4 segments x 1 crop"}
    assert table[1]["input"] == "I-frames + motion vectors + residuals" and table[1]["network"] == "–"
    assert table[1]["parameters"] == "1.06 M" and table[1]["training"] == "late fusion"
    assert not any("None" in str(v) for row in table for v in row.values())
    seeds = F.seeds_table([{"run": "mkd_streams", "seeds": [0, 1], "top1": 86.61, "low": 84.96, "high": 88.27,
                            "top1_per_seed": [86.66, 86.55]}])
    assert seeds == [{"method": "mkd_streams", "seeds": 2, "test top-1 (%), mean over seeds": "86.6",
                      "95 % interval": "[85.0, 88.3]", "per seed": "86.7, 86.5"}]


def test_learning_curves_one_panel_per_metric():
    curves = {"a": [{"epoch": 0, "loss": 2.0, "val_top1": 30.0}, {"epoch": 1, "loss": 1.0, "val_top1": ""}],
              "b": [{"epoch": 0, "loss": 3.0, "val_top1": 20.0}], "empty": []}
    fig = F.learning_curves_figure(curves, ("loss", "val_top1"))
    assert len(fig.data) == 4
    assert list(fig.data[0].y) == [2.0, 1.0] and list(fig.data[1].y) == [30.0]  # the empty cell is skipped
    assert fig.data[1].xaxis == "x2" and [t.showlegend for t in fig.data] == [True, False, True, False]


COMPRESSION = {
    "param_ratio": 2.41, "flops_ratio_per_gop": 1.15, "size": 48, "num_classes": 4, "note": "FLOPs = 2 x MACs",
    "rows": [{"system": "CoViAR", "iframe_net": "resnet152_tiny", "params_M": 1.28, "gflops_per_gop": 0.107, "fused_top1": 60.0},
             {"system": "distilled", "iframe_net": "resnet18_tiny", "params_M": 0.53, "gflops_per_gop": 0.093,
              "fused_top1": 58.0}],
    "full_size": {"param_ratio": 2.40, "flops_ratio_per_gop": 1.23, "size": 224, "num_classes": 101,
                  "rows": [{"system": "CoViAR", "iframe_net": "resnet152", "params_M": 80.8, "gflops_per_gop": 102.0},
                           {"system": "distilled", "iframe_net": "resnet18", "params_M": 33.7, "gflops_per_gop": 82.6}]},
}


def test_compression_rows_and_bars():
    rows = F.compression_rows(COMPRESSION)
    assert [(r["setting"], r["system"]) for r in rows] == [
        ("full size (224 px, 101 classes)", "CoViAR"), ("full size (224 px, 101 classes)", "distilled"),
        ("demo size (48 px, 4 classes)", "CoViAR"), ("demo size (48 px, 4 classes)", "distilled")]
    assert rows[3]["fused top-1 (%)"] == "58.0" and rows[0]["fused top-1 (%)"] == "–"
    assert rows[2]["fewer parameters"] == "2.41x" and rows[0]["fewer FLOPs per GOP"] == "1.23x"
    assert rows[0]["parameters"] == "80.8 M" and rows[3]["parameters"] == "530 k"
    assert rows[0]["FLOPs per GOP"] == "102 G" and rows[2]["FLOPs per GOP"] == "107 M"
    assert rows[0]["I-frame network"] == "resnet152" and rows[0]["motion network"] == "–"
    fig = F.compression_figure(COMPRESSION)
    assert len(fig.data) == 4 and all(isinstance(t, go.Bar) for t in fig.data)
    assert list(fig.data[0].y) == [80.8, 1.28] and list(fig.data[3].y) == [82.6, 0.093]
    assert "2.40x fewer parameters" in fig.data[0].x[0] and "1.15x fewer FLOPs" in fig.data[2].x[1]
    ticks = dict(zip(fig.layout.yaxis.tickvals, fig.layout.yaxis.ticktext))
    assert ticks[1] == "1" and ticks[2] == "2" and ticks[100] == "100" and fig.layout.yaxis.type == "log"
    assert F.compression_rows(None) == [] and "no compression" in F.compression_figure(None).layout.annotations[0].text
    unknown = F.compression_rows({"rows": COMPRESSION["rows"], "size": 96})  # a table that does not state its classes
    assert unknown[0]["setting"] == "demo size (96 px)" and "None" not in unknown[0]["setting"]


def test_experiment_table():
    fig = F.experiment_table_figure(ROWS, columns=["run", "top1"])
    table = fig.data[0]
    assert isinstance(table, go.Table) and list(table.header.values) == ["run", "top1"]
    assert list(table.cells.values[1]) == ["60.00", "40.00", "70.00", "55.00"]


# --- distillation and fusion by hand ---------------------------------------------------------

def test_class_distributions_bars_and_markers():
    p = {"teacher_a": np.array([0.7, 0.2, 0.1]), "teacher_b": np.array([0.1, 0.8, 0.1]), "student": np.array([0.5, 0.4, 0.1])}
    fig = F.class_distributions_figure(p, ["x", "y", "z"], label=1, markers=["student"])
    assert [t.type for t in fig.data] == ["bar", "bar", "scatter"] and fig.data[2].name == "student"
    assert list(fig.data[1].y) == [0.1, 0.8, 0.1] and list(fig.data[0].x) == ["x", "<b>y</b>", "z"]
    assert "no distribution" in F.class_distributions_figure({}, []).layout.annotations[0].text


def test_clip_weights_and_kd_losses():
    fig = F.clip_weights_figure({"mean": np.array([0.5, 0.5]), "EBKD": np.array([0.7, 0.3])}, ["i", "mv"])
    assert [t.name for t in fig.data] == ["i", "mv"] and list(fig.data[0].y) == [0.5, 0.7]
    assert fig.layout.shapes[0].y0 == 0.5  # the 1/K line
    losses = F.kd_losses_figure({"i": 0.5, "mv": 1.7}, {"mean": 1.1})
    assert [t.orientation for t in losses.data] == ["h", "h"] and list(losses.data[1].x) == [1.1]
    assert list(losses.data[0].text) == ["0.500", "1.700"]


def test_class_weights_heat_maps_mark_the_leading_teacher():
    w = {"EBKD": np.array([[0.6, 0.4], [0.2, 0.8]]), "AE-KD": np.array([[0.5, 0.5], [np.nan, np.nan]])}
    fig = F.class_weights_figure(w, ["c0", "c1"], ["i", "mv"])
    assert len(fig.data) == 2 and fig.data[0].z[1][1] == 0.8
    assert fig.data[0].text[1][1] == "<b>0.80</b>" and fig.data[0].text[1][0] == "0.20"
    assert list(fig.data[1].text[1]) == ["", ""], "a class without clips has no text"
    assert [t.showscale for t in fig.data] == [False, True]


def test_fusion_grid_marks_its_points():
    ratios = [0.0, 0.5, 1.0]
    accuracy = np.arange(9.0).reshape(3, 3)
    fig = F.fusion_grid_figure(accuracy, ratios, ratios, {"CoViAR 2:1:1": (0.5, 0.5), "best on the test set": (1.0, 1.0)})
    assert fig.data[0].type == "heatmap" and np.array_equal(np.asarray(fig.data[0].z), accuracy)
    assert [(t.name, t.x[0], t.y[0], t.marker.symbol) for t in fig.data[1:]] == [
        ("CoViAR 2:1:1", 0.5, 0.5, "x"), ("best on the test set", 1.0, 1.0, "star")]
    assert "no grid" in F.fusion_grid_figure(np.zeros((0, 0)), [], []).layout.annotations[0].text


def test_every_builder_serialises(logits):
    z, labels = logits
    result = teacher_disagreement(z, labels, ["a", "b", "c"], 3)
    for fig in (F.motion_arrows_figure(constant_field()), F.flow_figure(constant_field()),
                F.residual_figure(np.ones((8, 8, 3))), F.gop_timeline_figure("IPPB"),
                F.confusion_figure(confusion_matrix(z[0], labels, 3), ["a", "b", "c"]),
                F.per_class_disagreement_figure(result, ["a", "b", "c"]), F.compression_figure(COMPRESSION),
                F.accuracy_cost_figure(ROWS), F.fusion_grid_figure(np.ones((2, 2)), [0, 1], [0, 1], {"x": (0, 1)}),
                F.class_distributions_figure({"a": np.ones(3) / 3}, ["a", "b", "c"], 0, markers=["a"]),
                F.class_weights_figure({"a": np.ones((3, 2)) / 2}, ["a", "b", "c"], ["t", "u"])):
        assert fig.to_json()


def test_one_hsv_to_rgb_in_turns_and_in_degrees():
    """kdlab.colour.hsv_to_rgb serves the figures (hue in turns) and the synthetic renderer (degrees, float32)."""
    from kdlab.colour import hsv_to_rgb
    from kdlab.data.render import _colour

    hues = np.linspace(0, 1, 13)
    np.testing.assert_allclose(hsv_to_rgb(hues * 360, 0.6, 0.8, full_turn=360.0), F.hsv_to_rgb(hues, 0.6, 0.8), atol=1e-12)
    assert _colour(120.0, 1.0, 1.0).tolist() == [0.0, 255.0, 0.0] and _colour(480.0, 1.0, 1.0).dtype == np.float32
    assert _colour(30.0, 0.5, 0.8).tolist() == pytest.approx([204.0, 153.0, 102.0])  # C = 0.4, X = 0.2, m = 0.4
