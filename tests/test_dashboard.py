"""The Streamlit dashboard under streamlit.testing's AppTest: every page, on a small study made in a fixture.

The fixture (:func:`make_study`) writes what ``kdlab demo`` leaves behind, without training: the tiny
synthetic set's test clips (real MPEG-4 files), run folders written with the engine's own writers
(``config.json`` from :class:`RunConfig`, ``metrics.csv``, ``predictions.npz``, ``summary.json``) and a
``study.json``. A real study takes minutes; this takes about a second.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from kdlab.codec import EncodeSettings, encode_frames
from kdlab.data.synthetic import GOP, PRESETS, SynthConfig, class_table, metadata, plan, render_clip
from kdlab.engine import io
from kdlab.engine.claims import Claim, evaluate_claims
from kdlab.engine.config import RunConfig
from kdlab.engine.metrics import classification_metrics
from kdlab.engine.runs import RunFolder
from kdlab.engine.study import run_row

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
APP = REPO / "dashboard" / "app.py"
PAGES = {
    "motion_vectors": "views/motion_vectors.py",
    "teachers": "views/teachers.py",
    "confusion": "views/confusion.py",
    "results": "views/results.py",
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
    rows = [run_row(step["name"], step["group"], RunFolder(runs / step["name"]).summary()) for step in steps]
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
