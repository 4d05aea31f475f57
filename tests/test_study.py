"""The studies end to end on the tiny synthetic set: `kdlab demo --smoke` and `--full --smoke`, their verdicts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kdlab.cli import main
from kdlab.data.synthetic import PRESETS, generate
from kdlab.engine.claims import HEADLINE
from kdlab.engine.config import load_config
from kdlab.engine.study import STREAMS, ABLATIONS, Step, ablation_claims, ablation_steps, demo_steps, step_config
from kdlab.errors import ConfigError


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return generate(tmp_path_factory.mktemp("synth") / "tiny", PRESETS["tiny"], workers=1, progress=False)


def test_demo_steps_pair_every_student_by_seed():
    steps = demo_steps((0, 1, 2))
    names = [s.name for s in steps]
    for student in ("student_ce", "kd_single", "mkd_streams", "fusion_mkd_streams"):
        assert {student, f"{student}_seed1", f"{student}_seed2"} <= set(names)
    seeded = {s.name: s.settings for s in steps if s.group == "students"}
    assert seeded["kd_single_seed2"] == (("seed", 2),) and seeded["kd_single"] == ()
    teachers = {s.name: s.teachers for s in steps}
    assert teachers["kd_single_seed1"] == ("teacher_iframe",) and teachers["mkd_streams_seed2"] == STREAMS
    assert {s.name: s.fuse for s in steps}["fusion_mkd_streams_seed2"] == ("mkd_streams_seed2", *STREAMS[1:])
    assert names.index("teacher_iframe") < names.index("kd_single")


def test_ablations_compare_like_with_like():
    claims = {c.key: c for c in ablation_claims()}
    assert claims["aggregation_ebkd"].b == "mkd_streams" and claims["capacity_3_depths"].b == "kd_single"
    assert "aggregation_avg_kd" not in claims  # the reference is not compared with itself
    subsets = [v.value for v in ABLATIONS if v.factor == "teachers"]
    assert subsets == ["I", "MV", "R", "I+MV", "I+R", "MV+R", "I+MV+R"]  # every single teacher and every pair
    configs = {v.value: step_config(v.step(), Path("runs"))
               for v in ABLATIONS if v.factor == "aggregation" and not v.headline}
    # every aggregation but the labelled online one runs offline on logits alone, like the reference
    for value, config in configs.items():
        online = value == "camkd_online"
        assert config.distill.offline is not online, value
        assert (config.distill.loss_options.get("feat_weight", 50.0) > 0) is online or config.distill.loss != "camkd"
    assert configs["dkd"].distill.loss_options["warmup"] <= configs["dkd"].optim.epochs
    steps = {s.name: s for s in ablation_steps((0, 1))}
    assert "temperature_8_seed1" in steps and "mkd_streams_seed1" in steps and "teacher_iframe_r50" in steps


def test_dkd_warm_up_longer_than_the_run_is_refused():
    with pytest.raises(ConfigError, match="distill.loss_options.warmup: DKD's warm-up \\(20 epochs\\)"):
        load_config("configs/demo/mkd_streams.toml", ["distill.loss=dkd", "distill.loss_options={}", "optim.epochs=12"])


def test_smoke_demo_writes_verdicts_everywhere(tiny, tmp_path, capsys):
    runs = tmp_path / "runs"
    assert main(["demo", "--smoke", "--no-serve", "--runs", str(runs), "--data", str(tiny), "data.val_share=0.5"]) == 0
    out = capsys.readouterr().out
    study = json.loads((runs / "study.json").read_text())["results"]
    text = (runs / "results.txt").read_text()
    assert [c["key"] for c in study["claims"]] == [c.key for c in HEADLINE]
    for claim in study["claims"]:
        assert claim["verdict"] in text and claim["verdict"] in out
        assert (claim["decided"] == 0) == (claim["low"] <= 0 <= claim["high"])
    assert study["design"]["videos"]["val"] > 0 and study["design"]["seeds"] == [0]
    assert "machine:" in text and "wall time" in out
    assert study["complementarity"]["oracle_top1"] >= max(study["complementarity"]["top1"].values())


def test_a_study_step_names_its_teachers_and_its_settings_are_typed_values():
    step = step_config(Step("t2", "mkd_streams", (("distill.loss_options", {"temperature": 2.0}), ("seed", 3)),
                            teachers=("teacher_mv",)), Path("/r"))
    assert step.distill.teachers == ["/r/teacher_mv"] and step.distill.loss_options == {"temperature": 2.0}
    assert step.seed == 3 and step.out == "/r/t2" and step.name == "t2"
    with pytest.raises(ConfigError, match="study step lonely: distills .*names no teachers"):
        step_config(Step("lonely", "kd_single"), Path("/r"))


@pytest.mark.slow
def test_full_smoke_study_compares_every_ablation(tiny, tmp_path):
    runs = tmp_path / "runs"
    assert main(["demo", "--smoke", "--full", "--no-serve", "--runs", str(runs), "--data", str(tiny)]) == 0
    study = json.loads((runs / "study.json").read_text())["results"]
    keys = {c["key"] for c in study["claims"]}
    assert {c.key for c in ablation_claims()} <= keys and {c.key for c in HEADLINE} <= keys
    from kdlab.engine.study import NEWER_CLAIMS

    assert {c.key for c in NEWER_CLAIMS} <= keys and len(study["exits"]) == 8


def test_identical_configs_train_once_and_interrupted_studies_resume(tiny, tmp_path):
    from kdlab.engine.study import SMOKE_OVERRIDES, Step, run_study

    runs = tmp_path / "runs"
    overrides = [f"data.root={tiny}", *SMOKE_OVERRIDES, "quiet=true"]
    steps = [Step("teacher_mv", "teacher_mv"), Step("same_mv", "teacher_mv"), Step("student_ce", "student_ce")]
    run_study(steps, runs, overrides=overrides, log=lambda *a: None, jobs=2)
    assert (runs / "same_mv").is_symlink() and (runs / "same_mv").resolve() == (runs / "teacher_mv").resolve()
    # a run whose folder lost its results is trained again; the finished ones are kept as they are
    before = (runs / "student_ce" / "last.pt").stat().st_mtime_ns
    (runs / "teacher_mv" / "summary.json").unlink()
    lines = []
    run_study(steps, runs, overrides=overrides, log=lines.append, jobs=2)
    assert "[teacher_mv] training ..." in lines and "[student_ce] already complete" in lines
    assert (runs / "student_ce" / "last.pt").stat().st_mtime_ns == before


def test_a_synthetic_set_of_another_version_is_refused_with_what_to_do(tmp_path, capsys):
    data = generate(tmp_path / "old", PRESETS["tiny"], workers=1, progress=False)
    meta = json.loads((data / "synth.json").read_text())
    meta["generator_version"] -= 1
    (data / "synth.json").write_text(json.dumps(meta))
    assert main(["demo", "--smoke", "--no-serve", "--data", str(data), "--runs", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err
    assert "another kdlab version" in err and "make clean" in err and "Traceback" not in err


def test_newer_methods_in_smoke_mode_compare_with_the_existing_ones(tiny, tmp_path):
    """Learned fusion, PKD (per exit and fused) and MMKD against the existing methods, with intervals."""
    import numpy as np

    from kdlab.engine.learned_fusion import fit_fusion
    from kdlab.engine.runs import RunFolder
    from kdlab.engine.study import NEWER_CLAIMS, SMOKE_OVERRIDES, Study, demo_steps, newer_steps, run_study

    runs = tmp_path / "runs"
    needed = {"teacher_iframe", "teacher_mv", "teacher_residual", "student_ce", "mkd_streams", "fusion_teachers",
              "fusion_mkd_streams", "fusion_student_ce"}
    steps = [s for s in demo_steps((0,)) if s.name in needed] + newer_steps((0,))
    steps += [s for s in ablation_steps((0,)) if s.name == "aggregation_mmkd"]
    claims = NEWER_CLAIMS + tuple(c for c in ablation_claims() if c.key == "aggregation_mmkd")
    results = run_study(Study(tuple(steps), claims), runs, overrides=[f"data.root={tiny}", *SMOKE_OVERRIDES, "quiet=true"],
                        log=lambda *a: None, jobs=1, record=False)
    assert [c["key"] for c in results["claims"]] == [c.key for c in claims]
    for claim in results["claims"]:
        assert claim["low"] <= claim["difference"] <= claim["high"] and claim["verdict"]
        assert (claim["decided"] == 0) == (claim["low"] <= 0 <= claim["high"])
    exits = {(e["stage"], e["exit"]): e for e in results["exits"]}
    assert set(exits) == {(s, e) for s in ("pkd_residual", "pkd_iframe") for e in ("layer1", "layer2", "layer3", "final")}
    assert [exits["pkd_iframe", e]["flops_per_frame"] for e in ("layer1", "layer2", "layer3", "final")] == sorted(
        exits["pkd_iframe", e]["flops_per_frame"] for e in ("layer1", "layer2", "layer3", "final"))
    # the learned fusion is fitted on the teachers' validation logits alone
    learned = RunFolder(runs / "fusion_teachers_learned").summary()
    preds = [RunFolder(runs / n).predictions() for n in ("teacher_iframe", "teacher_mv", "teacher_residual")]
    fit = fit_fusion(np.stack([p.val_logits for p in preds]), preds[0].val_labels)
    np.testing.assert_allclose(learned["weights"], fit["weights"], rtol=1e-6)
    assert RunFolder(runs / "aggregation_mmkd").summary()["loss"] == "mmkd"
    assert len(RunFolder(runs / "fusion_pkd_learned").summary()["weights"]) == 12  # 3 streams x (3 exits + head)
    from kdlab.engine.report import format_report

    text = format_report(results)
    assert "PKD's early exits" in text and exits["pkd_iframe", "layer2"]["verdict"] in text
