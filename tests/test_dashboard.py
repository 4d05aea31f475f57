"""The Streamlit dashboard under streamlit.testing's AppTest: every page, on a small study made in a fixture.

The fixture (:func:`make_study`) writes what ``kdlab demo`` leaves behind, without training: the tiny
synthetic set's test clips (real MPEG-4 files), run folders written with the engine's own writers
(``config.json`` from :class:`RunConfig`, ``metrics.csv``, ``predictions.npz``, ``summary.json``) and a
``study.json``. A real study takes minutes; this takes about a second.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from kdlab.codec import EncodeSettings, encode_frames
from kdlab.data.synthetic import GOP, PRESETS, SynthConfig, class_table, metadata, plan, render_clip
from kdlab.engine import io
from kdlab.engine.claims import Claim, evaluate_claims
from kdlab.engine import stats
from kdlab.engine.config import RunConfig
from kdlab.engine.fuse import fused_correct
from kdlab.engine.metrics import classification_metrics
from kdlab.engine.records import read_arrays
from kdlab.engine.runs import RunFolder
from kdlab.figures import format_count
from kdlab.losses import aggregation_weights, entropy_weights, kd_per_sample, soft_targets, weighted_kd
from kdlab.models import late_fusion

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
APP = REPO / "dashboard" / "app.py"
PAGES = {
    "motion_vectors": "views/motion_vectors.py",
    "teachers": "views/teachers.py",
    "confusion": "views/confusion.py",
    "results": "views/results.py",
    "distillation": "views/distillation.py",
    "fusion": "views/fusion.py",
}
TRUMAN = "TrumanShow_wave_f_nm_np1_fr_med_26.avi"  # a bundled clip with B-frames

TEACHERS = {  # name: (representation, arch, parameters, FLOPs per frame, how often right)
    "teacher_iframe": ("iframe", "resnet152_tiny", 927_116, 18_494_000, 0.8),
    "teacher_mv": ("mv", "resnet18_tiny", 176_584, 3_795_000, 0.6),
    "teacher_residual": ("residual", "resnet18_tiny", 176_978, 4_247_000, 0.5),
}
COMPRESSION = {
    "flops_ratio_per_gop": 1.15, "flops_ratio_per_triple": 2.16, "gop": 12, "note": "FLOPs = 2 x multiply-adds",
    "num_classes": 4, "param_ratio": 2.41, "size": 48,
    "rows": [
        {"system": "CoViAR", "iframe_net": "resnet152_tiny", "mv_net": "resnet18_tiny", "residual_net": "resnet18_tiny",
         "params_M": 1.28, "gflops_per_gop": 0.107, "gflops_per_triple": 0.0265, "gmacs_per_gop": 0.0535, "fused_top1": 75.0},
        {"system": "distilled", "iframe_net": "resnet18_tiny", "mv_net": "resnet18_tiny", "residual_net": "resnet18_tiny",
         "params_M": 0.53, "gflops_per_gop": 0.0927, "gflops_per_triple": 0.0123, "gmacs_per_gop": 0.0464, "fused_top1": 62.5},
    ],
    "full_size": {
        "flops_ratio_per_gop": 1.23, "flops_ratio_per_triple": 2.80, "gop": 12, "num_classes": 101, "param_ratio": 2.40,
        "size": 224, "note": "FLOPs = 2 x multiply-adds",
        "rows": [
            {"system": "CoViAR", "iframe_net": "resnet152", "mv_net": "resnet18", "residual_net": "resnet18",
             "params_M": 80.8, "gflops_per_gop": 102.0, "gflops_per_triple": 30.2, "gmacs_per_gop": 51.0},
            {"system": "distilled", "iframe_net": "resnet18", "mv_net": "resnet18", "residual_net": "resnet18",
             "params_M": 33.7, "gflops_per_gop": 82.6, "gflops_per_triple": 10.8, "gmacs_per_gop": 41.3},
        ],
    },
}


def make_study(base: Path, data: Path | None = None) -> Path:
    """A finished study: ``base/runs`` (returned) over the test clips of ``data``, a synthetic set.

    Without ``data``, the tiny preset's test clips are written to ``base/data`` first.
    """
    runs = base / "runs"
    if data is None:
        data, config = base / "data", PRESETS["tiny"]
        specs = [s for s in plan(config) if s.split == "test"]
        for spec in specs:
            encode_frames(render_clip(spec), data / spec.relpath,
                          EncodeSettings(width=spec.width, height=spec.height, gop=GOP, qscale=1), fps=config.fps)
        io.write_json(data / "synth.json", metadata(config, specs, complete=True))
    meta = json.loads((data / "synth.json").read_text())
    config = SynthConfig(**meta["config"])
    specs = [s for s in plan(config) if s.split == "test"]

    classes = np.array([c.name for c in class_table(config.classes)])
    labels = np.array([s.label for s in specs])
    video_ids = np.array([f"{s.class_name}/{s.video}" for s in specs])
    n, c = len(specs), len(classes)
    rng = np.random.default_rng(0)

    def logits(right: float) -> np.ndarray:
        z = rng.normal(0, 1, (n, c)).astype(np.float32)
        hit = rng.random(n) < right
        z[np.arange(n)[hit], labels[hit]] += 4
        return z

    def write(name: str, z: np.ndarray, summary: dict, teachers: dict | None = None, config: RunConfig | None = None):
        folder = runs / name
        teachers = teachers or {}
        io.save_npz(folder / "predictions.npz", logits=z, labels=labels, video_ids=video_ids, classes=classes,
                    teacher_names=np.array(list(teachers), dtype=str),
                    teacher_logits=np.stack(list(teachers.values())) if teachers else np.zeros((0, n, c), np.float32))
        test = classification_metrics(z, labels, c) | {"protocol": "3 segments x 1 crop"}
        io.write_json(folder / "summary.json", {"name": name, "complete": True, "test": test, **summary})
        if config is not None:
            config.name, config.out, config.data.root = name, str(folder), str(data)
            io.write_json(folder / "config.json", config.to_dict())
            io.write_csv(folder / "metrics.csv", [
                {"epoch": e, "lr": 1e-3, "loss_ce": 1.4 - 0.3 * e, "loss_kd": 2.0 - 0.5 * e if summary["loss"] != "ce" else "",
                 "loss": 3.4 - 0.8 * e, "train_top1": 30.0 + 20 * e, "epoch_seconds": 1.0, "val_top1": 25.0 + 15 * e,
                 "val_top5": 100.0} for e in range(3)])

    def run_config(representation: str, arch: str, loss: str = "ce", teachers=()) -> RunConfig:
        config = RunConfig()
        config.model.representation, config.model.arch = representation, arch
        config.distill.loss, config.distill.teachers = loss, [str(runs / t) for t in teachers]
        return config

    teacher_logits = {}
    for name, (rep, arch, params, flops, right) in TEACHERS.items():
        teacher_logits[name] = logits(right)
        write(name, teacher_logits[name], {"arch": arch, "loss": "ce", "representation": rep, "params": params,
                                          "flops_per_frame": flops, "teachers": []}, config=run_config(rep, arch))
    fused = 2 * teacher_logits["teacher_iframe"] + teacher_logits["teacher_mv"] + teacher_logits["teacher_residual"]
    write("fusion_teachers", fused, {"kind": "fusion", "representations": ["iframe", "mv", "residual"],
                                     "runs": [str(runs / t) for t in TEACHERS], "weights": [2.0, 1.0, 1.0]},
          teachers=teacher_logits)
    for name, loss, k in (("student_ce", "ce", 0), ("mkd_streams", "avg_kd", 3)):
        names = list(TEACHERS)[:k]
        write(name, logits(0.6), {"arch": "resnet18_tiny", "loss": loss, "representation": "iframe", "params": 176_972,
                                  "flops_per_frame": 4_247_040, "teachers": [str(runs / t) for t in names]},
              teachers={t: teacher_logits[t] for t in names}, config=run_config("iframe", "resnet18_tiny", loss, names))

    steps = [{"name": n, "config": n, "fuse": [], "group": "teachers", "overrides": []} for n in TEACHERS]
    steps += [{"name": "fusion_teachers", "config": "", "fuse": list(TEACHERS), "group": "fusion", "overrides": []},
              {"name": "student_ce", "config": "student_ce", "fuse": [], "group": "students", "overrides": []},
              {"name": "mkd_streams", "config": "mkd_streams", "fuse": [], "group": "students", "overrides": []}]
    rows = [RunFolder(runs / step["name"]).summary().row(step["name"], step["group"]) for step in steps]
    # the headline claims, and one ablation-like claim as `make study` adds them
    ablation = Claim("aggregation_x", "aggregation: a variant", "mkd_streams", "student_ce", "a variant", "the reference")
    claims = evaluate_claims(runs) + evaluate_claims(runs, (ablation,))
    io.write_json(runs / "study.json", {"steps": steps, "results": {"runs": rows, "claims": claims,
                                                                     "compression": COMPRESSION}})
    return runs


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> Path:
    return make_study(tmp_path_factory.mktemp("dashboard"))


def open_page(runs: Path | str, page: str = "motion_vectors", timeout: float = 60) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=timeout)
    at.session_state["runs_dir"] = str(runs)
    at.run()
    if page != "motion_vectors":
        at.switch_page(PAGES[page]).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def charts(at: AppTest) -> dict[str, dict]:
    """The page's Plotly charts by key, as the JSON spec sent to the browser."""
    return {c.proto.id.rsplit("-", 1)[-1]: json.loads(c.proto.spec) for c in at.get("plotly_chart")}


def texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


def array(value) -> np.ndarray:
    """A trace's array as Plotly's JSON sends it: a list, or ``{"dtype", "bdata", "shape"}`` (base64)."""
    if isinstance(value, dict) and "bdata" in value:
        out = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        return out.reshape([int(n) for n in str(value.get("shape", len(out))).split(",")])
    return np.asarray(value, float)


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_the_fixture_is_a_readable_study(study):
    assert RunFolder(study / "mkd_streams").config().data.root == str(study.parent / "data")
    p = RunFolder(study / "mkd_streams").predictions()
    assert p["teacher_logits"].shape == (3, 8, 4) and list(p["teacher_names"]) == list(TEACHERS)
    assert (study.parent / "data" / (p["video_ids"][0] + ".avi")).exists()


def test_motion_vectors_page(study):
    at = open_page(study)
    assert at.radio(key="mv_source").options == ["the runs' data set (data)", "bundled real clips", "a path"]
    assert len(at.selectbox(key="mv_clip").options) == 8
    assert "appearance" in texts(at.caption)  # the synthetic clip's factors
    assert at.toggle(key="mv_accumulate").value is True and at.slider(key="mv_frame").value == 11  # GOP 0's last
    figs = charts(at)
    assert list(figs) == ["mv_timeline", "mv_iframe", "mv_arrows", "mv_flow", "mv_residual"]
    assert [t["type"] for t in figs["mv_arrows"]["data"]] == ["image", "scatter", "scatter"]
    assert [t["type"] for t in figs["mv_residual"]["data"]] == ["heatmap"]
    assert "I-frame of GOP 0" in figs["mv_iframe"]["layout"]["title"]["text"]

    at.toggle(key="mv_accumulate").set_value(False).run()
    at.slider(key="mv_frame").set_value(12).run()
    assert not at.exception
    assert "from the previous frame" in texts(at.caption) and "An I-frame has no motion" in texts(at.caption)
    assert "I-frame of GOP 1" in charts(at)["mv_iframe"]["layout"]["title"]["text"]


def test_a_bframe_video_gets_the_message_and_a_reencode_button(study):
    at = open_page(study)
    at.radio(key="mv_source").set_value("bundled real clips").run()
    assert at.selectbox(key="mv_sample").value == "v_SoccerJuggling_g23_c01.avi"  # the P-only clip first
    assert len(charts(at)) == 5
    at.selectbox(key="mv_sample").set_value(TRUMAN).run()
    assert not at.exception and not charts(at)
    assert "has B-frames" in texts(at.warning) and "kdlab reencode" in texts(at.warning)
    at.button(key="mv_reencode").click().run()
    assert not at.exception and len(charts(at)) == 5 and not at.warning
    assert "Re-encoded on the fly" in texts(at.caption)
    at.slider(key="mv_frame").set_value(13).run()  # the choice holds on the next rerun
    assert not at.exception and len(charts(at)) == 5 and not at.warning


def test_a_typed_path(study):
    at = open_page(study)
    at.radio(key="mv_source").set_value("a path").run()
    assert not charts(at)
    at.text_input(key="mv_path").set_value(str(study / "missing.avi")).run()
    assert "no such file" in texts(at.error)
    clip = next((study.parent / "data").rglob("*.avi"))
    at.text_input(key="mv_path").set_value(str(clip)).run()
    assert not at.exception and len(charts(at)) == 5


def test_teachers_page(study):
    at = open_page(study, "teachers")
    run = at.selectbox(key="t_run")
    assert run.options == ["fusion_teachers", "mkd_streams"] and run.value == "mkd_streams"
    figs = charts(at)
    assert list(figs) == ["t_predictions", "t_matrix", "t_per_class", "t_video_timeline", "t_video_iframe",
                          "t_video_arrows", "t_video_flow", "t_weights"]
    assert figs["t_predictions"]["data"][0]["x"] == [*TEACHERS, "mkd_streams"]
    disagreeing = len(figs["t_predictions"]["data"][0]["y"])
    assert at.selectbox(key="t_class").value == "all classes" and disagreeing < 8
    at.radio(key="t_shown").set_value("all").run()
    assert len(charts(at)["t_predictions"]["data"][0]["y"]) == 8
    at.selectbox(key="t_class").set_value("RedRiseSteady").run()
    assert all(y.endswith("[RedRiseSteady]") for y in charts(at)["t_predictions"]["data"][0]["y"])
    assert figs["t_matrix"]["data"][0]["x"] == list(TEACHERS)
    weights = figs["t_weights"]["data"]
    assert len(weights) == 6 and {t["type"] for t in weights} == {"histogram"}
    assert len(at.dataframe) == 1 and at.selectbox(key="t_clip").options
    at.checkbox(key="t_with_student").check().run()
    at.radio(key="t_value").set_value("js").run()
    assert not at.exception
    assert charts(at)["t_matrix"]["data"][0]["x"] == [*TEACHERS, "mkd_streams"]
    at.selectbox(key="t_run").set_value("fusion_teachers").run()
    assert not at.exception and "fusion" in texts(at.caption)


def test_confusion_page(study):
    at = open_page(study, "confusion")
    figs = charts(at)
    assert list(figs) == ["c_cm_a", "c_cm_b", "c_diff"]
    assert figs["c_cm_a"]["layout"]["title"]["text"].startswith("mkd_streams")
    assert figs["c_cm_b"]["layout"]["title"]["text"].startswith("student_ce")
    assert figs["c_cm_a"]["data"][0]["z"]["shape"] == "4, 4" and len(at.metric) == 6
    at.selectbox(key="c_run_b").set_value("mkd_streams").run()  # the same run twice: a zero difference
    assert not at.exception and len(charts(at)) == 3
    at.radio(key="c_mode").set_value("counts").run()
    at.checkbox(key="c_compare").uncheck().run()
    assert not at.exception and list(charts(at)) == ["c_cm_a"]
    at.selectbox(key="c_run_a").set_value("fusion_teachers").run()
    assert not at.exception and charts(at)["c_cm_a"]["layout"]["title"]["text"].startswith("fusion_teachers")


def test_results_page(study):
    at = open_page(study, "results")
    # the findings first: the fixture has the student alone and with three teachers (one seed)
    claim = evaluate_claims(study)[0]
    assert claim["key"] == "multi_vs_none" and claim["verdict"] in texts(at.markdown)
    ablations = next(d.value for d in at.dataframe if "variant" in d.value.columns)
    assert list(ablations["variant"]) == ["aggregation: a variant"]
    assert list(ablations["difference (points)"]) == [f"{claim['difference']:+.1f}"]  # the same runs, the same numbers
    figs = charts(at)
    assert list(figs) == ["r_params", "r_flops", "r_curves", "r_compression_figure"]
    assert len(at.dataframe) == 3  # ablation verdicts, experiments, compression
    assert {t["name"] for t in figs["r_params"]["data"]} == {"teachers", "students"}
    assert at.multiselect(key="r_runs").value == ["student_ce", "mkd_streams"]
    assert at.multiselect(key="r_metrics").value == ["loss", "val_top1"]
    assert len(figs["r_curves"]["data"]) == 4
    assert len(figs["r_compression_figure"]["data"]) == 4
    # tables for people: columns in words, one decimal, k / M, no "None"
    table = next(d.value for d in at.dataframe if "test top-1 (%)" in d.value.columns)
    teacher = table[table["run"] == "teacher_iframe"].iloc[0]
    summary = RunFolder(study / "teacher_iframe").summary()
    assert teacher["test top-1 (%)"] == f"{summary['test']['top1']:.1f}" and teacher["input"] == "I-frames"
    assert teacher["parameters"] == format_count(927_116) == "927 k" and teacher["FLOPs per frame"] == "18.5 M"
    compression = next(d.value for d in at.dataframe if "fewer parameters" in d.value.columns)
    for frame in (table, compression):
        assert "None" not in frame.to_string() and "nan" not in frame.to_string()
    # the compression ratios as a card beside the verdicts
    assert "2.4x fewer parameters, 1.2x fewer FLOPs per GOP" in texts(at.markdown)
    assert "at the demo size: 2.4x fewer parameters" in texts(at.markdown)


def test_results_without_study_json(study, tmp_path):
    runs = tmp_path / "runs"
    shutil.copytree(study, runs)
    (runs / "study.json").unlink()
    at = open_page(runs, "results")
    assert "built from the runs' summaries" in texts(at.caption)
    assert {t["name"] for t in charts(at)["r_params"]["data"]} == {"teachers", "students"}  # demo_steps' groups
    assert "No compression table yet" in texts(at.info)
    assert len(charts(at)) == 3 and len(at.dataframe) == 1
    assert evaluate_claims(runs)[0]["verdict"] in texts(at.markdown), "findings computed from the runs themselves"


@pytest.mark.parametrize("page", list(PAGES))
def test_no_runs_yet_says_which_command_makes_them(tmp_path, page):
    at = open_page(tmp_path / "nothing", page)
    assert "make demo" in texts(at.info) and "kdlab demo" in texts(at.info)
    if page == "motion_vectors":  # the bundled clips work without runs
        assert at.radio(key="mv_source").options == ["bundled real clips", "a path"] and len(charts(at)) == 5
    else:
        assert not charts(at)


def test_runs_from_the_command_line_and_the_sidebar(study, tmp_path, monkeypatch):
    # `streamlit run dashboard/app.py -- --runs DIR` gives the script sys.argv == ["app.py", "--runs", DIR]
    monkeypatch.setattr(sys, "argv", ["app.py", "--runs", str(tmp_path)])
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert at.sidebar.text_input(key="runs_dir").value == str(tmp_path)
    assert "no run folders" in texts(at.sidebar.caption) and "make demo" in texts(at.info)
    at.sidebar.text_input(key="runs_dir").set_value(str(study)).run()
    assert not at.exception and at.radio(key="mv_source").options[0] == "the runs' data set (data)"
    # AppTest (streamlit 1.67) keeps the sidebar of the first run only, so its widget goes stale after this
    # rerun; the browser test types a folder into the box and then changes pages.


def test_runs_default_from_the_command_line():
    sys.path.insert(0, str(APP.parent))
    try:
        import state
    finally:
        sys.path.remove(str(APP.parent))
    assert state.runs_from_argv(["--runs", "/x/y"]) == "/x/y"
    assert state.runs_from_argv(["-q", "tests"]) == "runs/demo"


def test_pages_render_quickly_once_loaded(study):
    """Each page, rerun after its first load (videos and runs cached), renders in well under 2 s."""
    at = open_page(study)
    timings = {}
    for page, path in PAGES.items():
        at.switch_page(path).run()  # first load: decode, read
        started = time.perf_counter()
        at.switch_page(path).run()
        timings[page] = time.perf_counter() - started
        assert not at.exception
    print("AppTest rerun seconds:", {k: round(v, 3) for k, v in timings.items()})
    assert max(timings.values()) < 2.0, timings


# --- distillation by hand ------------------------------------------------------------------------

def clip_expectations(p: dict, i: int, temperature: float) -> dict:
    """What the Distillation page should draw for clip ``i``, computed here with kdlab.losses."""
    z_t, z_s = torch.from_numpy(p["teacher_logits"][:, i:i + 1]), torch.from_numpy(p["logits"][i:i + 1])
    weights = aggregation_weights(z_s, z_t, torch.from_numpy(p["labels"][i:i + 1].astype(np.int64)), temperature)
    return {
        "soft": [soft_targets(z, temperature).numpy() for z in (*z_t[:, 0], z_s[0])],
        "weights": weights,
        "losses": [float(kd_per_sample(z_s, z, temperature)) for z in z_t]
        + [float(weighted_kd(z_s, z_t, w, temperature)) for w in weights.values()],
    }


def test_distillation_page(study):
    at = open_page(study, "distillation")
    assert at.selectbox(key="d_run").options == ["mkd_streams"]  # a fusion's streams are not teachers
    p = RunFolder(study / "mkd_streams").predictions()
    ids = list(p["video_ids"])
    clip = at.selectbox(key="d_clip").value
    i = ids.index(clip)
    assert len(set(p["teacher_logits"][:, i].argmax(1))) > 1, "the first clip shown is one where the teachers disagree"
    assert at.slider(key="d_T").value == 4.0  # the run's temperature (its config has none: KD's default)
    figs = charts(at)
    assert list(figs) == ["d_soft", "d_targets", "d_weights", "d_losses", "d_class_weights"]
    want = clip_expectations(p, i, 4.0)
    assert [t["name"] for t in figs["d_soft"]["data"]] == [*TEACHERS, "student (mkd_streams)"]
    soft = [array(t["y"]) for t in figs["d_soft"]["data"]]
    assert all(np.allclose(a, b, atol=1e-6) for a, b in zip(soft, want["soft"], strict=True))
    for k, trace in enumerate(figs["d_weights"]["data"]):  # one trace per teacher, one bar per aggregation
        assert np.allclose(array(trace["y"]), [float(w[k, 0]) for w in want["weights"].values()], atol=1e-6)
    losses = figs["d_losses"]["data"]
    assert np.allclose([*array(losses[0]["x"]), *array(losses[1]["x"])[:4]], want["losses"], atol=1e-5)

    at.slider(key="d_T").set_value(8.0).run()  # the temperature slider: softer targets, the same library maths
    assert not at.exception and at.query_params.get("d_T") == "8.0"
    hot = [array(t["y"]) for t in charts(at)["d_soft"]["data"]]
    assert all(np.allclose(a, b, atol=1e-6) for a, b in zip(hot, clip_expectations(p, i, 8.0)["soft"], strict=True))
    entropy = lambda q: float(-(q * np.log(q)).sum())  # noqa: E731
    assert all(entropy(h) > entropy(c) for h, c in zip(hot, soft))

    # the whole test set: EBKD's mean weight of each teacher on each class's clips
    ebkd = next(t for t in charts(at)["d_class_weights"]["data"] if "EBKD" in t["hovertemplate"])
    w = entropy_weights(torch.from_numpy(p["teacher_logits"])).numpy()
    assert np.allclose(array(ebkd["z"]), [[w[k, p["labels"] == c].mean() for k in range(3)] for c in range(4)], atol=1e-6)

    at.toggle(key="d_disagree").set_value(False).run()
    other = next(v for v in ids if v != clip)
    at.selectbox(key="d_clip").set_value(other).run()
    assert not at.exception and at.query_params.get("d_clip") == other
    assert np.allclose(array(charts(at)["d_soft"]["data"][0]["y"]), clip_expectations(p, ids.index(other), 8.0)["soft"][0],
                       atol=1e-6)


# --- fusion by hand ------------------------------------------------------------------------------

def test_fusion_page(study):
    at = open_page(study, "fusion")
    runs = {n: RunFolder(study / n).predictions() for n in [*TEACHERS, "mkd_streams"]}
    labels, ids = runs["teacher_iframe"]["labels"], runs["teacher_iframe"]["video_ids"]

    def fused(names, weights):
        return late_fusion([runs[n]["logits"] for n in names], weights).argmax(1) == labels

    coviar = fused(TEACHERS, [2, 1, 1])
    stored = RunFolder(study / "fusion_teachers").predictions()["logits"]
    assert np.array_equal(coviar, stored.argmax(1) == labels), "2:1:1 of the teachers is the study's own fusion"
    assert metric(at, "fused top-1") == f"{100 * coviar.mean():.1f} %"
    interval = stats.accuracy_interval(coviar, stats.clip_groups(ids), labels)
    assert f"95 % interval [{interval.low:.1f}, {interval.high:.1f}]" in texts(at.caption)
    assert metric(at, "vs 2:1:1, same networks") == "+0.0 points"
    assert "your weights predict every test clip as 2:1:1 does" in texts(at.markdown)
    grid = charts(at)["f_grid"]["data"]
    ratios = np.round(np.arange(0, 3.0001, 0.1), 2)
    expected = fused_correct(np.stack([runs[n]["logits"] for n in TEACHERS]), labels, [(1, m, r) for r in ratios for m in ratios])
    assert np.allclose(array(grid[0]["z"]).ravel(), 100 * expected.mean(1))
    assert [t["name"] for t in grid[1:]] == ["CoViAR 2:1:1", "best on the test set", "your weights"]
    assert "optimistic" in texts(at.markdown) and "validation" in texts(at.caption)

    at.slider(key="f_w_iframe").set_value(0.0).run()  # motion and residual only
    moved = fused(TEACHERS, [0, 1, 1])
    assert moved.mean() != coviar.mean() and metric(at, "fused top-1") == f"{100 * moved.mean():.1f} %"
    assert at.query_params.get("f_w_iframe") == "0.0"
    assert metric(at, "vs 2:1:1, same networks") == f"{100 * (moved.mean() - coviar.mean()):+.1f} points"
    verdict = stats.compare(stats.Outcomes("your weights", moved[None], ids.astype(str), (0,), None, labels),
                            stats.Outcomes("2:1:1", coviar[None], ids.astype(str), (0,), None, labels)).verdict
    assert f"**Verdict:** {verdict} (one run each, the same test clips)." in texts(at.markdown)
    at.selectbox(key="f_iframe").set_value("mkd_streams").run()  # the distilled student as the I-frame network
    at.slider(key="f_w_iframe").set_value(2.0).run()
    distilled = fused(["mkd_streams", "teacher_mv", "teacher_residual"], [2, 1, 1])
    assert not at.exception and metric(at, "fused top-1") == f"{100 * distilled.mean():.1f} %"
    for key in ("f_w_iframe", "f_w_mv", "f_w_residual"):
        at.slider(key=key).set_value(0.0).run()
    assert not at.exception and "nothing to fuse" in texts(at.warning) and not charts(at)


def test_fusion_page_shows_the_learned_fusion_fitted_on_validation(study, tmp_path):
    from kdlab.engine.fuse import fit_learned

    runs = tmp_path / "runs"
    shutil.copytree(study, runs)
    rng = np.random.default_rng(3)
    for name in TEACHERS:  # validation logits as the trainer stores them: held-out clips, labelled
        p = RunFolder(runs / name).predictions()
        val_labels = np.arange(40) % len(p["classes"])
        val = rng.normal(0, 1, (40, len(p["classes"]))).astype(np.float32)
        val[np.arange(40), val_labels] += 2 + list(TEACHERS).index(name)
        io.save_npz(runs / name / "predictions.npz", **p, val_logits=val, val_logits_best=val, val_labels=val_labels,
                    val_video_ids=np.array([f"val/clip{i}" for i in range(40)]))
    at = open_page(runs, "fusion")
    assert not at.exception
    preds = [RunFolder(runs / n).predictions() for n in TEACHERS]
    fit, logits, labels, ids = fit_learned(preds)
    correct = logits.argmax(1) == labels
    assert metric(at, "learned fusion top-1") == f"{100 * correct.mean():.1f} %"
    interval = stats.accuracy_interval(correct, stats.clip_groups(np.asarray(ids)), labels)
    assert f"95 % interval [{interval.low:.1f}, {interval.high:.1f}]" in texts(at.caption)
    assert f"{fit['weights'][0]:.2f}" in texts(at.markdown) and "never on the test clips" in texts(at.caption)
    assert not at.dataframe  # no run here has early exits


def test_fusion_page_shows_early_exits_against_their_cost(study, tmp_path):
    runs = tmp_path / "runs"
    shutil.copytree(study, runs)
    p = RunFolder(runs / "teacher_mv").predictions()
    rng = np.random.default_rng(5)
    exit_logits = np.stack([rng.normal(size=p["logits"].shape), p["logits"]]).astype(np.float32)
    io.save_npz(runs / "teacher_mv" / "exits.npz", names=np.array(["layer2", "final"]), logits=exit_logits,
                labels=p["labels"], video_ids=p["video_ids"], flops_per_frame=np.array([1_500_000, 4_000_000]))
    at = open_page(runs, "fusion")
    assert not at.exception
    assert len(at.dataframe) == 1
    table = at.dataframe[0].value
    assert table["exit"].tolist() == ["layer2", "final"] and table["MFLOPs / frame"].tolist() == [1.5, 4.0]
    top1 = 100 * (exit_logits.argmax(2) == p["labels"]).mean(1)
    assert table["test top-1 %"].tolist() == [round(t, 1) for t in top1]


# --- links ---------------------------------------------------------------------------------------

def open_link(query: dict, page: str) -> AppTest:
    """A fresh session opened on a link: the root URL with ``query``, then ``page`` with the same query."""
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.query_params.update(query)
    at.run()
    at.query_params.update(query)
    at.switch_page(PAGES[page]).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_a_link_reopens_the_same_view(study):
    at = open_link({"runs_dir": str(study), "c_run_a": "teacher_mv", "c_run_b": "fusion_teachers"}, "confusion")
    assert at.sidebar.text_input(key="runs_dir").value == str(study)
    assert at.selectbox(key="c_run_a").value == "teacher_mv" and at.selectbox(key="c_run_b").value == "fusion_teachers"
    assert charts(at)["c_cm_a"]["layout"]["title"]["text"].startswith("teacher_mv")
    at.selectbox(key="c_run_a").set_value("mkd_streams").run()  # back to the default: dropped from the URL
    assert "c_run_a" not in at.query_params and at.query_params["c_run_b"] == "fusion_teachers"

    at = open_link({"runs_dir": str(study), "f_iframe": "mkd_streams", "f_w_mv": "0.5"}, "fusion")
    assert at.selectbox(key="f_iframe").value == "mkd_streams" and at.slider(key="f_w_mv").value == 0.5

    at = open_link({"runs_dir": str(study), "t_run": "no_such_run", "d_T": "99"}, "teachers")
    assert at.selectbox(key="t_run").value == "mkd_streams" and "`t_run=no_such_run` is not available" in texts(at.caption)
    at.switch_page(PAGES["distillation"]).run()
    assert not at.exception and at.slider(key="d_T").value == 4.0 and "`d_T=99` is not available" in texts(at.caption)


def test_the_root_url_opens_the_first_page_at_its_own_address(study):
    at = open_page(study)
    assert at.title[0].value == "Motion vectors"
    assert "Page not found" not in texts(at.markdown)
    assert (REPO / "dashboard" / ".streamlit" / "config.toml").read_text().count('toolbarMode = "minimal"') == 1


def test_the_first_page_starts_without_torch():
    """The motion-vectors page's imports (app, state, widgets) leave torch out: it costs seconds at start-up."""
    code = "import sys; sys.path.insert(0, 'dashboard'); import state, widgets; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", out.stderr


# --- damaged run folders -------------------------------------------------------------------------

ALL_RUNS = {*TEACHERS, "fusion_teachers", "student_ce", "mkd_streams"}
#: The runs each page offers on the fixture's study (Fusion: the I-frame choices; Results: the table's rows).
SHOWN = {"teachers": {"fusion_teachers", "mkd_streams"}, "confusion": ALL_RUNS, "distillation": {"mkd_streams"},
         "fusion": {"teacher_iframe", "student_ce", "mkd_streams"}, "results": ALL_RUNS}
RUN_BOXES = {"teachers": "t_run", "confusion": "c_run_a", "distillation": "d_run", "fusion": "f_iframe"}


def shown_runs(at: AppTest, page: str) -> set[str]:
    """The runs a page offers: its run box's options (Fusion's as ``name (group)``), or the Results page's table."""
    if page == "results":
        return set(next(d.value for d in at.dataframe if "test top-1 (%)" in d.value.columns)["run"])
    return {option.split(" (")[0] for box in at.selectbox if box.key == RUN_BOXES[page] for option in box.options}


def copy_study(study: Path, tmp_path: Path) -> Path:
    runs = tmp_path / "runs"
    shutil.copytree(study, runs)
    return runs


def rewrite_predictions(run: Path, **arrays) -> None:
    """The run's predictions.npz with ``arrays`` replaced (None: left out)."""
    p = read_arrays(run / "predictions.npz") | arrays
    io.save_npz(run / "predictions.npz", **{k: v for k, v in p.items() if v is not None})


def every_page_despite(runs: Path, damaged: str, left_out: dict[str, set[str]]) -> AppTest:
    """Open every page on a study with one damaged file (``damaged``, relative to ``runs``): no exception,
    one warning that names the file and what to do, and every run shown but those ``left_out`` (by page)."""
    at = open_page(runs)
    for page, script in PAGES.items():
        if page != "motion_vectors":
            at.switch_page(script).run()
        assert not at.exception, (page, [e.value for e in at.exception])
        named = [w.value for w in at.warning if str(runs / damaged) in w.value]
        assert len(named) == 1 and "rerun" in named[0], (page, texts(at.warning))
        if page == "motion_vectors":
            assert len(charts(at)) == 5 and len(at.selectbox(key="mv_clip").options) == 8
        else:
            assert shown_runs(at, page) == SHOWN[page] - left_out.get(page, set()), page
    return at


@pytest.mark.parametrize("text", ['{"steps": [{"name": "teacher_iframe", "gro', '{"steps": [{"group": "teachers"}]}',
                                  '{"steps": [], "results": {"runs": [{"run": "x", "top1": "high"}]}}', "[]"],
                         ids=["truncated", "steps-without-names", "text-for-a-number", "not-an-object"])
def test_a_malformed_study_json(study, tmp_path, text):
    runs = copy_study(study, tmp_path)
    (runs / "study.json").write_text(text)
    at = every_page_despite(runs, "study.json", {})
    at.switch_page(PAGES["results"]).run()
    assert evaluate_claims(runs)[0]["verdict"] in texts(at.markdown), "findings computed from the runs themselves"


def test_a_metrics_csv_that_is_not_utf8(study, tmp_path):
    runs = copy_study(study, tmp_path)
    (runs / "student_ce" / "metrics.csv").write_bytes("epoch,loss\n0,1.5\n".encode("utf-16"))
    at = every_page_despite(runs, "student_ce/metrics.csv", {})
    at.switch_page(PAGES["results"]).run()
    assert set(at.multiselect(key="r_runs").options) == {*TEACHERS, "mkd_streams"}  # its learning curve left out


def test_predictions_without_a_key(study, tmp_path):
    runs = copy_study(study, tmp_path)
    rewrite_predictions(runs / "mkd_streams", labels=None)
    every_page_despite(runs, "mkd_streams/predictions.npz",
                       {page: {"mkd_streams"} for page in ("teachers", "confusion", "distillation", "fusion")})


@pytest.mark.parametrize("run, arrays, left_out", [
    ("student_ce", {"logits": np.zeros((8, 5), np.float32)}, ("confusion", "fusion")),  # 5 classes, 4 names
    ("teacher_iframe", {"labels": np.zeros(7, np.int64)}, ("confusion", "fusion")),  # 7 labels, 8 clips
    ("mkd_streams", {"teacher_logits": np.zeros((3, 7, 4), np.float32)}, ("teachers", "distillation")),
], ids=["classes", "labels", "teacher-logits"])
def test_predictions_with_mismatched_shapes(study, tmp_path, run, arrays, left_out):
    """A page leaves the run out where it needs the mismatched arrays; the teachers' logits only matter to teacher pages."""
    runs = copy_study(study, tmp_path)
    rewrite_predictions(runs / run, **arrays)
    every_page_despite(runs, f"{run}/predictions.npz", {page: {run} for page in left_out})


def test_a_summary_json_with_text_for_a_number(study, tmp_path):
    runs = copy_study(study, tmp_path)
    summary = RunFolder(runs / "mkd_streams").summary().to_dict()
    summary["test"]["top1"], summary["params"] = "86.7 %", "177 k"
    io.write_json(runs / "mkd_streams" / "summary.json", summary)
    at = every_page_despite(runs, "mkd_streams/summary.json", {})  # its stream read from config.json instead
    at.switch_page(PAGES["teachers"]).run()
    assert not at.exception and at.selectbox(key="t_run").value == "mkd_streams"  # its predictions are whole


def test_a_video_id_outside_the_data_set(study, tmp_path):
    """A run whose video ids climb out of the data set (``..``) is left out, and no id opens a file outside it."""
    runs = copy_study(study, tmp_path)
    data = study.parent / "data"
    outside = tmp_path / "outside" / "v_escape.avi"
    outside.parent.mkdir()
    shutil.copy(next(data.rglob("*.avi")), outside)
    escape = str(Path(os.path.relpath(outside, data)).with_suffix(""))
    assert ".." in escape and (data / f"{escape}.avi").exists()
    ids = RunFolder(runs / "mkd_streams").predictions().video_ids.copy()
    ids[:] = escape
    rewrite_predictions(runs / "mkd_streams", video_ids=ids)
    every_page_despite(runs, "mkd_streams/predictions.npz",
                       {page: {"mkd_streams"} for page in ("teachers", "confusion", "distillation", "fusion")})

    sys.path.insert(0, str(APP.parent))
    try:
        import state
    finally:
        sys.path.remove(str(APP.parent))
    assert state.clip_path(data, escape) is None
    assert state.clip_path(data, str(outside.with_suffix(""))) is None  # an absolute id
    inside = str(next(data.rglob("*.avi")).relative_to(data).with_suffix(""))
    assert state.clip_path(data, inside) == data / f"{inside}.avi"
