"""The engine end to end on the tiny synthetic set: run folders, resume, distillation, fusion, torchrun."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from kdlab.cli import main
from kdlab.data.synthetic import PRESETS, generate
from kdlab.engine import io, trainer
from kdlab.engine.config import load_config
from kdlab.engine.runs import RunFolder
from kdlab.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
BASE = ["data.size=48", "data.test_segments=4", "data.batch_size=8", "data.workers=0",
        "model.arch=resnet18_tiny", "optim.epochs=1", "quiet=true"]


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    return generate(tmp_path_factory.mktemp("synth") / "tiny", PRESETS["tiny"], workers=1, progress=False)


def _config(synth, tmp_path, name, *extra):
    return load_config(None, BASE + [f"data.root={synth}", f"out={tmp_path / name}", f"name={name}", *extra])


@pytest.fixture(scope="module")
def teachers(synth, tmp_path_factory):
    out = tmp_path_factory.mktemp("teachers")
    runs = {}
    for rep in ("iframe", "mv", "residual"):
        runs[rep] = trainer.train(_config(synth, out, f"teacher_{rep}", f"model.representation={rep}"))
    return runs


def test_a_run_folder_holds_every_file(teachers, synth):
    run = teachers["mv"]
    names = sorted(p.name for p in run.path.iterdir())
    assert names == ["best.pt", "config.json", "last.pt", "metrics.csv", "predictions.npz", "summary.json"]
    config = json.loads(run.config_file.read_text())
    assert config["model"]["representation"] == "mv" and config["data"]["root"] == str(synth)
    rows = run.metrics()
    assert [r["epoch"] for r in rows] == [0]
    assert {"lr", "loss_ce", "loss", "train_top1", "val_top1", "val_top5", "epoch_seconds"} <= set(rows[0])
    pred = run.predictions()
    n_test = 4 * PRESETS["tiny"].test_clips_per_class
    assert pred["logits"].shape == (n_test, 4) and pred["labels"].shape == (n_test,)
    assert len(set(pred["video_ids"].tolist())) == n_test and len(pred["classes"]) == 4
    summary = run.summary()
    assert summary["complete"] and summary["best"]["epoch"] == 0 and summary["last"]["epoch"] == 0
    assert summary["test"]["protocol"] == "4 segments x 1 crop" and 0 <= summary["test"]["top1"] <= 100
    assert summary["params"] == sum(p.numel() for p in run.load_model().parameters())
    state = torch.load(run.last_checkpoint, weights_only=True)
    assert set(state) >= {"student", "optimizer", "epoch", "config", "num_classes"} and "teachers" not in state


def test_test_metrics_match_the_predictions(teachers):
    run = teachers["iframe"]
    pred, summary = run.predictions(), run.summary()
    top1 = 100 * (pred["logits"].argmax(1) == pred["labels"]).mean()
    assert summary["test"]["top1"] == pytest.approx(top1)


@pytest.mark.parametrize("workers", [0, pytest.param(1, marks=pytest.mark.slow)])
def test_resume_after_interruption_equals_an_uninterrupted_run(synth, tmp_path, monkeypatch, workers):
    """Bit for bit, with or without DataLoader worker processes (persistent ones start afresh on resume)."""
    extra = [f"data.workers={workers}", "data.val_share=0"]  # no validation loader: fewer worker start-ups
    full = trainer.train(_config(synth, tmp_path, "full", "optim.epochs=3", *extra))
    original = trainer.Trainer.train_epoch

    def interrupted(self, epoch):
        if epoch == 2:
            raise KeyboardInterrupt
        return original(self, epoch)

    config = _config(synth, tmp_path, "cut", "optim.epochs=3", *extra)
    monkeypatch.setattr(trainer.Trainer, "train_epoch", interrupted)
    with pytest.raises(KeyboardInterrupt):
        trainer.train(config)
    cut = RunFolder(tmp_path / "cut")
    assert [r["epoch"] for r in cut.metrics()] == [0, 1] and not cut.summary_file.exists()
    monkeypatch.setattr(trainer.Trainer, "train_epoch", original)
    trainer.train(config)
    assert [r["epoch"] for r in cut.metrics()] == [0, 1, 2] and cut.is_complete()
    assert [r["loss_ce"] for r in full.metrics()] == [r["loss_ce"] for r in cut.metrics()]
    assert np.array_equal(full.predictions()["logits"], cut.predictions()["logits"])


def test_complete_runs_are_not_trained_again(teachers, capsys):
    run = teachers["mv"]
    before = run.last_checkpoint.stat().st_mtime_ns
    trainer.train(run.config())
    assert run.last_checkpoint.stat().st_mtime_ns == before


@pytest.mark.parametrize("loss,offline", [("avg_kd", True), ("kd_to_avg", True), ("ebkd", True), ("dkd", True),
                                          ("aekd", True), ("camkd", False), ("fitnets", False),
                                          ("mmkd", True)])
def test_multi_teacher_distillation(teachers, synth, tmp_path, loss, offline):
    names = [str(teachers[r].path) for r in ("iframe", "mv", "residual")]
    options = {"dkd": ["distill.loss_options={warmup = 1}"],  # no longer than the run
               "mmkd": ["distill.loss_options={meta_every = 2}"]}.get(loss, [])
    config = _config(synth, tmp_path, f"student_{loss}", "model.representation=iframe", f"distill.loss={loss}",
                     f"distill.offline={str(offline).lower()}", f"distill.teachers={json.dumps(names)}", *options)
    run = trainer.train(config)
    row = run.metrics()[0]
    assert "loss_kd" in row or "loss_feat" in row
    pred = run.predictions()
    assert pred["teacher_logits"].shape == (3, *pred["logits"].shape)
    assert list(pred["teacher_names"]) == ["teacher_iframe", "teacher_mv", "teacher_residual"]
    # teachers' test logits are their own runs' predictions (same protocol)
    np.testing.assert_allclose(pred["teacher_logits"][1], teachers["mv"].predictions()["logits"], rtol=1e-5)


def test_offline_teacher_logits_are_the_teachers_outputs(teachers, synth, tmp_path):
    config = _config(synth, tmp_path, "s", "distill.loss=kd", f"distill.teachers=[\"{teachers['mv'].path}\"]")
    run = trainer.Trainer(config)
    assert run.open()
    stored = run.teacher_logits_on_training_videos()
    train_set = run.data.dataset("train", ["mv"], True, config.data.num_segments)
    assert len(stored) == len(train_set) and next(iter(stored.values())).shape == (1, 4)
    # the teacher's own forward pass on a training video's test view: the stored logits
    view = run.data.dataset("train", ["mv"], False, config.data.test_segments)
    inputs, _, video = view[0]
    with torch.no_grad():
        expected = run.teachers[0](inputs["mv"].unsqueeze(0)).numpy()  # (1, C): K = 1 teacher
    np.testing.assert_allclose(stored[video], expected, rtol=1e-5, atol=1e-6)
    assert run.data.dataset("train", ["mv"], False, config.data.test_segments) is view, "each dataset built once"


def test_fusion_and_evaluate(teachers, tmp_path, capsys):
    runs = [str(teachers[r].path) for r in ("iframe", "mv", "residual")]
    assert main(["fuse", *runs, "--out", str(tmp_path / "fusion")]) == 0
    summary = RunFolder(tmp_path / "fusion").summary()
    assert summary["weights"] == [2.0, 1.0, 1.0]
    preds = [teachers[r].predictions() for r in ("iframe", "mv", "residual")]
    fused = 2 * preds[0]["logits"] + preds[1]["logits"] + preds[2]["logits"]
    expected = 100 * (fused.argmax(1) == preds[0]["labels"]).mean()
    assert summary["test"]["top1"] == pytest.approx(expected)
    assert main(["evaluate", runs[1], "--segments", "2", "--crops", "10", "--workers", "0"]) == 0
    result = json.loads((teachers["mv"].path / "eval_2x10_last.json").read_text())
    assert result["protocol"] == "2 segments x 10 crops" and result["videos"] == 8


def test_compression_arithmetic_of_the_paper(capsys):
    assert main(["profile", "--compression", "--json"]) == 0
    table = json.loads(capsys.readouterr().out)
    assert table["param_ratio"] == pytest.approx(2.40, abs=0.005)
    assert table["flops_ratio_per_gop"] == pytest.approx(1.23, abs=0.01)
    assert table["flops_ratio_per_triple"] == pytest.approx(2.8, abs=0.05)
    coviar, distilled = table["rows"]
    assert coviar["params_M"] == pytest.approx(80.8, abs=0.05) and distilled["params_M"] == pytest.approx(33.7, abs=0.05)


def test_bad_configs_fail_clearly(synth, tmp_path, capsys):
    assert main(["train", f"data.root={synth}", "model.arch=resnet19", f"out={tmp_path / 'x'}"]) == 2
    err = capsys.readouterr().err
    assert "model.arch" in err and "resnet18_tiny" in err and "Traceback" not in err
    assert main(["distill", f"data.root={synth}", "distill.loss=kdd", "distill.teachers=[\"a\"]"]) == 2
    assert "loss='kdd' is unknown" in capsys.readouterr().err
    assert main(["distill", f"data.root={synth}", "distill.loss=kd", f"distill.teachers=[\"{tmp_path / 'gone'}\"]"]) == 2
    assert "gone: no teacher run folder here" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="optim.epochs: expected >= 1"):
        load_config(None, ["optim.epochs=0"])
    with pytest.raises(ConfigError, match="optim.epohcs: unknown key"):
        load_config(None, ["optim.epohcs=3"])
    with pytest.raises(ConfigError, match=r"data.size: expected int, got 'big'"):
        load_config(None, ["data.size=big"])
    with pytest.raises(ConfigError, match="distill.teachers: expected at least one run folder"):
        load_config(None, ["distill.loss=kd"])


def test_two_process_distributed_run(synth, tmp_path):
    out = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CI": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "kdlab", "train",
           *BASE, f"data.root={synth}", f"out={out}", "model.representation=mv", "optim.epochs=2"]
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    run = RunFolder(out)
    assert run.is_complete()
    assert [r["epoch"] for r in run.metrics()] == [0, 1], "rows written once, by rank 0"
    pred = run.predictions()
    assert len(pred["video_ids"]) == 8 and len(set(pred["video_ids"].tolist())) == 8
    assert result.stdout.count("test top-1") == 2  # every rank reports; files are written by rank 0 only
    assert not list(out.glob(".*part*"))


@pytest.mark.parametrize("path", sorted(str(p) for p in (REPO / "configs").rglob("*.toml")))
def test_every_shipped_config_loads(path):
    config = load_config(path)
    assert config.model.representation in ("iframe", "mv", "residual")


def test_validation_groups_come_from_the_training_list_and_pick_the_epoch(synth, tmp_path):
    from kdlab.engine.loading import part_records
    from kdlab.engine.evaluate import evaluate_run

    config = _config(synth, tmp_path, "v", "data.val_share=0.5", "optim.epochs=3", "model.representation=mv")
    train, val, test = (part_records(config, part) for part in ("train", "val", "test"))
    assert val and train and not {r.group for r in val} & {r.group for r in train}
    assert not {r.video_id for r in val} & {r.video_id for r in test}, "validation never reads the test list"
    run = trainer.train(config)
    summary, rows = run.summary(), run.metrics()
    assert summary["videos"] == {"train": len(train), "val": len(val), "test": len(test)}
    val_top1 = [r["val_top1"] for r in rows]
    assert summary["best"] == {"epoch": int(np.argmax(val_top1)), "val_top1": max(val_top1)}
    assert summary["test_best"]["epoch"] == summary["best"]["epoch"] and summary["test"]["epoch"] == 2
    # the stored test logits are those of the last epoch's weights and of the epoch picked on validation
    pred = run.predictions()
    for checkpoint, key in (("last", "logits"), ("best", "logits_best")):
        evaluate_run(run.path, checkpoint=checkpoint)
        with np.load(run.path / f"eval_4x1_{checkpoint}.npz") as evaluated:
            assert np.allclose(evaluated["logits"], pred[key], atol=1e-5)


def test_without_validation_groups_the_last_epoch_is_kept(synth, tmp_path):
    run = trainer.train(_config(synth, tmp_path, "nv", "data.val_share=0", "optim.epochs=2", "model.representation=mv"))
    summary = run.summary()
    assert summary["best"]["epoch"] == 1 and "no validation split" in summary["selection"]
    assert "val_top1" not in run.metrics()[0]
    pred = run.predictions()
    assert np.array_equal(pred["logits"], pred["logits_best"])


def test_fuse_refuses_to_replace_a_run_or_another_fusion(teachers, tmp_path, capsys):
    runs = [str(teachers[r].path) for r in ("iframe", "mv", "residual")]
    before = (teachers["mv"].path / "predictions.npz").read_bytes()
    assert main(["fuse", *runs, "--out", str(teachers["mv"].path)]) == 2
    assert "holds a trained run" in capsys.readouterr().err
    assert (teachers["mv"].path / "predictions.npz").read_bytes() == before, "the teacher's results are untouched"
    out = tmp_path / "fusion"
    assert main(["fuse", *runs, "--out", str(out)]) == 0
    assert main(["fuse", *runs, "--out", str(out)]) == 0, "the same fusion again is fine"
    assert main(["fuse", *runs, "--out", str(out), "--weights", "1", "1", "1"]) == 2
    assert "another --out (or --force)" in capsys.readouterr().err
    assert main(["fuse", *runs, "--out", str(out), "--weights", "1", "1", "1", "--force"]) == 0
    assert RunFolder(out).summary()["weights"] == [1.0, 1.0, 1.0]
    assert not (out / ".lock").exists()


def test_numeric_config_keys_are_range_checked(capsys):
    for override, key in (("optim.grad_clip=-1", "optim.grad_clip"), ("optim.eps=0", "optim.eps"),
                          ("optim.weight_decay=-0.1", "optim.weight_decay"), ("model.drop_rate=1.5", "model.drop_rate"),
                          ("seed=-3", "seed"), ("device=gpu", "device"), ("optim.epochs=0", "optim.epochs"),
                          ("data.num_segments=0", "data.num_segments"), ("data.test_crops=3", "data.test_crops")):
        with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
            load_config(None, [override])
    assert load_config(None, ["device=cuda:1", "optim.grad_clip=0"]).device == "cuda:1"
    with pytest.raises(SystemExit) as exit_:  # argparse's own error: one line, status 2
        main(["evaluate", "nowhere", "--segments", "0"])
    assert exit_.value.code == 2 and "--segments: expected an integer >= 1, got 0" in capsys.readouterr().err


def test_a_run_folder_is_locked_while_a_process_writes_it(synth, tmp_path):
    """A second process is refused with the holder's pid; a holder killed with SIGKILL leaves no lock."""
    import signal

    out = tmp_path / "locked"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CI": "1"}
    cmd = [sys.executable, "-m", "kdlab", "train", *BASE, f"data.root={synth}", f"out={out}", "model.representation=mv"]
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from kdlab.engine.runs import RunFolder\n"
                               f"with RunFolder({str(out)!r}).lock():\n    print('locked', flush=True); time.sleep(300)"],
                              env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        refused = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
        assert refused.returncode == 2 and "Traceback" not in refused.stderr
        assert f"another kdlab process (pid {holder.pid}) is writing this run folder" in refused.stderr
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300).returncode == 0
    assert RunFolder(out).is_complete() and not (out / ".lock").exists()


def test_an_epoch_row_lost_from_metrics_csv_is_rebuilt_from_the_checkpoint(synth, tmp_path):
    config = _config(synth, tmp_path, "rows", "model.representation=mv", "optim.epochs=2")
    run = trainer.train(config)
    rows = run.metrics()
    assert [r["epoch"] for r in torch.load(run.last_checkpoint, weights_only=True)["rows"]] == [0, 1]
    # killed after last.pt was saved but before metrics.csv got its row, and before the test
    io.write_csv(run.metrics_file, rows[:1])
    run.summary_file.unlink()
    trainer.train(config)
    assert [r["epoch"] for r in run.metrics()] == [0, 1] and run.is_complete()


def test_damaged_files_and_bad_arguments_get_one_line(teachers, tmp_path, capsys):
    (tmp_path / "folder.toml").mkdir()
    (tmp_path / "latin1.toml").write_bytes(b"\xff\xfe name")
    assert main(["train", str(tmp_path / "folder.toml")]) == 2
    assert "is a folder, not a config file" in capsys.readouterr().err
    assert main(["train", str(tmp_path / "latin1.toml")]) == 2
    assert "not UTF-8 text" in capsys.readouterr().err
    damaged = tmp_path / "damaged"
    shutil.copytree(teachers["mv"].path, damaged)
    (damaged / "summary.json").write_text("{not json")
    assert main(["fuse", str(damaged), str(teachers["iframe"].path), "--out", str(tmp_path / "f")]) == 2
    err = capsys.readouterr().err
    assert f"{damaged / 'summary.json'}: damaged" in err and "Traceback" not in err
    for argv, key in ((["profile", "--size", "0"], "--size"), (["dashboard", "runs", "--port", "99999"], "--port"),
                      (["evaluate", "x", "--workers", "-1"], "--workers")):
        with pytest.raises(SystemExit) as exit_:
            main(argv)
        assert exit_.value.code == 2 and f"argument {key}: expected an integer" in capsys.readouterr().err


def test_a_distillation_run_builds_each_dataset_once_and_checks_the_cache_once_per_part(teachers, synth, tmp_path,
                                                                                         monkeypatch):
    """Offline KD from three teachers: the student's train/val/test sets and one training view per teacher
    representation (the I-frame teacher's view is not rebuilt for the I-frame student's test protocol)."""
    from kdlab.data.dataset import CompressedVideoDataset

    built, checked = [], []
    original_init, original_check = CompressedVideoDataset.__init__, CompressedVideoDataset._ensure

    def init(self, root, records, *args, **kwargs):
        built.append((kwargs["representations"], kwargs["train"], kwargs["num_segments"]))
        original_init(self, root, records, *args, **kwargs)

    def check(self, *args):
        checked.append(len(self.records))
        original_check(self, *args)

    monkeypatch.setattr(CompressedVideoDataset, "__init__", init)
    monkeypatch.setattr(CompressedVideoDataset, "_ensure", check)
    names = json.dumps([str(teachers[r].path) for r in ("iframe", "mv", "residual")])
    trainer.train(_config(synth, tmp_path, "kd3", "distill.loss=avg_kd", f"distill.teachers={names}"))
    assert sorted(built) == sorted([(("iframe",), True, 3), (("iframe",), False, 3), (("iframe",), False, 4),
                                    (("iframe",), False, 4), (("mv",), False, 4), (("residual",), False, 4),
                                    (("iframe",), False, 4)])  # the last: validation under the test protocol
    assert len(checked) == 3, "one check of the cache per part: train, val, test"


def test_no_engine_function_is_longer_than_60_lines_or_takes_more_than_6_parameters():
    import ast

    found = []
    for path in sorted((REPO / "kdlab" / "engine").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                a = node.args
                params = [p for p in a.posonlyargs + a.args + a.kwonlyargs if p.arg not in ("self", "cls")]
                if node.end_lineno - node.lineno + 1 > 60 or len(params) > 6:
                    found.append(f"{path.name}:{node.lineno} {node.name}")
    assert found == []


def test_runs_store_validation_logits_and_fuse_learn_fits_only_on_them(teachers, tmp_path, capsys):
    from kdlab.engine.evaluate import EvalData, predict
    from kdlab.engine.learned_fusion import apply_fusion, fit_fusion
    from kdlab.engine.loading import make_dataset, part_records

    runs = [teachers[r] for r in ("iframe", "mv", "residual")]
    pred = runs[1].predictions()
    config = runs[1].config()
    val_ids = [r.video_id for r in part_records(config, "val")]
    assert pred["val_video_ids"].tolist() == val_ids and not set(val_ids) & set(pred["video_ids"].tolist())
    # the last epoch's network on the validation groups, under the test protocol (4 segments x 1 crop)
    view = make_dataset(config, "val", ["mv"], False, config.data.test_segments, config.data.test_crops)
    logits, labels, _ = predict(runs[1].load_model(), EvalData(view, config, trainer.distributed.Context()), trainer.distributed.Context())
    np.testing.assert_allclose(pred["val_logits"], logits, atol=1e-5)
    assert np.array_equal(pred["val_labels"], labels)

    out = tmp_path / "learned"
    assert main(["fuse", *[str(r.path) for r in runs], "--out", str(out), "--learn"]) == 0
    assert "fitted on the validation split" in capsys.readouterr().out
    summary = RunFolder(out).summary()
    preds = [r.predictions() for r in runs]
    fit = fit_fusion(np.stack([p["val_logits"] for p in preds]), preds[0]["val_labels"])  # validation arrays only
    np.testing.assert_allclose(summary["weights"], fit["weights"], rtol=1e-6)
    np.testing.assert_allclose(summary["temperatures"], fit["temperatures"], rtol=1e-6)
    fused = apply_fusion(np.stack([p["logits"] for p in preds]), fit["weights"], fit["temperatures"])
    assert summary["method"] == "learned" and summary["test"]["top1"] == pytest.approx(
        100 * (fused.argmax(1) == preds[0]["labels"]).mean())

    old = tmp_path / "old_run"  # a run from before validation logits were stored
    shutil.copytree(runs[1].path, old)
    with np.load(old / "predictions.npz") as p:
        np.savez(old / "predictions.npz", **{k: p[k] for k in p.files if not k.startswith("val_")})
    assert main(["fuse", str(runs[0].path), str(old), "--out", str(tmp_path / "f2"), "--learn"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no validation logits (val_logits)" in err and str(old) in err
    assert main(["fuse", str(runs[0].path), str(old), "--out", str(tmp_path / "f3"), "--learn", "--weights", "1", "1"]) == 2
    assert "exclude each other" in capsys.readouterr().err


def test_mmkd_resumes_bit_identically(teachers, synth, tmp_path, monkeypatch):
    """MMKD's weighting network, its Adam state and its hard buffer (emptied each epoch) survive a resume."""
    names = json.dumps([str(teachers[r].path) for r in ("mv", "residual")])
    extra = ["distill.loss=mmkd", f"distill.teachers={names}", "distill.loss_options={meta_every = 1}",
             "optim.epochs=2", "data.val_share=0"]
    full = trainer.train(_config(synth, tmp_path, "full", *extra))
    original = trainer.Trainer.train_epoch

    def interrupted(self, epoch):
        if epoch == 1:
            raise KeyboardInterrupt
        return original(self, epoch)

    config = _config(synth, tmp_path, "cut", *extra)
    monkeypatch.setattr(trainer.Trainer, "train_epoch", interrupted)
    with pytest.raises(KeyboardInterrupt):
        trainer.train(config)
    monkeypatch.setattr(trainer.Trainer, "train_epoch", original)
    cut = trainer.train(config)
    assert [r["loss_kd"] for r in full.metrics()] == [r["loss_kd"] for r in cut.metrics()]
    assert np.array_equal(full.predictions()["logits"], cut.predictions()["logits"])
    state = torch.load(cut.last_checkpoint, weights_only=True)["loss_module"]
    assert state["_extra_state"]["meta_optimizer"]["state"], "the weighting network's Adam state is in the checkpoint"
