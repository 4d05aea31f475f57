"""The run records (:mod:`kdlab.engine.records`): one owner for every key of summary.json and predictions.npz."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import numpy as np
import pytest

from kdlab.engine import io
from kdlab.engine.records import (FORMAT, PREDICTIONS_FILE, ROW_KEYS, SUMMARY_FILE, Predictions, Summary, alignment,
                                  read_arrays)
from kdlab.engine.runs import RunFolder
from kdlab.errors import ConfigError, RunError

ROOT = Path(__file__).resolve().parents[1]
TEST = {"top1": 50.0, "top5": 100.0, "mean_class_accuracy": 50.0, "ece": 0.1, "videos": 4,
        "protocol": "3 segments x 1 crop", "epoch": 1}


def predictions(n: int = 4, c: int = 3, k: int = 2) -> Predictions:
    rng = np.random.default_rng(0)
    return Predictions(rng.normal(size=(n, c)).astype(np.float32), np.arange(n) % c, [f"C/v_{i}" for i in range(n)],
                       ["a", "b", "c"][:c], rng.normal(size=(n, c)).astype(np.float32),
                       rng.normal(size=(k, n, c)).astype(np.float32), [f"teacher_{j}" for j in range(k)])


def trained(**changes) -> Summary:
    values = dict(name="kd_single", representation="iframe", arch="resnet18_tiny", loss="kd", teachers=["runs/t"],
                  seed=0, epochs=2, best={"epoch": 0, "val_top1": 40.0}, last={"epoch": 1, "val_top1": 30.0},
                  videos={"train": 8, "val": 2, "test": 4}, test=TEST, test_best={**TEST, "top1": 75.0, "epoch": 0},
                  params=177, flops_per_frame=1000, train_seconds=1.5, mean_epoch_seconds=0.75,
                  validation_protocol="2 segments x 1 crop")
    return Summary(**{**values, **changes})


def test_a_summary_round_trips_with_the_keys_of_its_kind(tmp_path):
    run = trained()
    run.write(tmp_path / SUMMARY_FILE)
    stored = json.loads((tmp_path / SUMMARY_FILE).read_text())
    assert stored["format"] == FORMAT and stored["test"] == TEST and stored["teachers"] == ["runs/t"]
    assert "kind" not in stored and "weights" not in stored, "a trained run's file holds no fusion keys"
    assert Summary.read(tmp_path / SUMMARY_FILE) == run
    fusion = Summary(name="fusion_teachers", kind="fusion", runs=["r/a", "r/b"], representations=["iframe", "mv"],
                     weights=[2.0, 1.0], params=300, test=TEST, test_best=TEST)
    fusion.write(tmp_path / "f.json")
    stored = json.loads((tmp_path / "f.json").read_text())
    assert stored["kind"] == "fusion" and stored["weights"] == [2.0, 1.0] and "seed" not in stored and "arch" not in stored
    assert Summary.read(tmp_path / "f.json") == fusion and Summary.read(tmp_path / "absent.json") is None


def test_the_results_row_of_a_trained_run_and_of_a_fusion():
    assert trained().row("kd_single_seed1", "students") == {
        "run": "kd_single_seed1", "group": "students", "loss": "kd", "representation": "iframe", "arch": "resnet18_tiny",
        "teachers": 1, "params": 177, "top1": 50.0, "top1_best": 75.0, "best_epoch": 0, "mean_class_accuracy": 50.0,
        "protocol": "3 segments x 1 crop"}
    fusion = Summary(name="fusion_teachers", kind="fusion", representations=["iframe", "mv", "residual"], params=9,
                     test=TEST)
    row = fusion.row()
    assert (row["run"], row["group"], row["loss"], row["representation"], row["arch"], row["teachers"]) == (
        "fusion_teachers", "fusion", "fusion", "iframe+mv+residual", "", 0)
    assert row["top1_best"] is None and tuple(row) == ROW_KEYS


def test_format_1_folders_are_read_as_they_are(tmp_path):
    """Folders written before the format was numbered (no ``format`` key or array) read with the same values."""
    p = predictions()
    old = {k: v for k, v in p.to_dict().items()}
    io.save_npz(tmp_path / PREDICTIONS_FILE, **old)
    io.write_json(tmp_path / SUMMARY_FILE, {k: v for k, v in trained().to_dict().items() if k not in ("format", "kdlab")})
    run = RunFolder(tmp_path)
    summary, read = run.summary(), run.predictions()
    assert summary.format == 1 and summary.test == TEST and summary.teachers == ["runs/t"] and run.is_complete()
    assert read.format == 1 and np.array_equal(read.logits, p.logits) and read.names == ["teacher_0", "teacher_1"]
    assert read["logits_best"] is read.logits_best and "teacher_logits" in read, "the dict form still answers"


def test_a_newer_format_is_refused_naming_the_kdlab_that_wrote_it(tmp_path):
    io.write_json(tmp_path / SUMMARY_FILE, {**trained().to_dict(), "format": FORMAT + 1, "kdlab": "9.0.0"})
    with pytest.raises(RunError, match=rf"record format {FORMAT + 1}, written by kdlab 9.0.0; .* reads formats 1 to {FORMAT}"):
        RunFolder(tmp_path).summary()
    io.save_npz(tmp_path / PREDICTIONS_FILE, **predictions().to_dict(), format=np.array(FORMAT + 1), kdlab=np.array("9.0.0"))
    with pytest.raises(RunError, match="written by kdlab 9.0.0"):
        RunFolder(tmp_path).predictions()


def test_damaged_or_missing_predictions_name_the_file(tmp_path):
    with pytest.raises(RunError, match="no predictions.npz; the run has not finished"):
        Predictions.read(tmp_path / PREDICTIONS_FILE)
    (tmp_path / PREDICTIONS_FILE).write_bytes(b"not a zip")
    with pytest.raises(RunError, match=rf"{re.escape(str(tmp_path / PREDICTIONS_FILE))}: damaged"):
        read_arrays(tmp_path / PREDICTIONS_FILE)
    io.save_npz(tmp_path / PREDICTIONS_FILE, logits=np.zeros((2, 2)))
    with pytest.raises(RunError, match="no `labels` array"):
        Predictions.read(tmp_path / PREDICTIONS_FILE)


@pytest.mark.parametrize("damage, message", [
    (lambda a: {**a, "labels": a["labels"][:-1]}, r"`labels` has shape \(3,\), but `logits` \(4, 3\) needs \(4,\)"),
    (lambda a: {**a, "labels": a["labels"] + 3}, r"`labels` are not class indices in \[0, 3\)"),
    (lambda a: {**a, "logits": a["logits"][:, :, None]}, "not \\(clips, classes\\) numbers"),
    (lambda a: {**a, "video_ids": np.arange(4)}, "`video_ids` are int64, not text"),
    (lambda a: {**a, "logits_best": a["logits_best"][:2]}, "`logits_best` has shape"),
])
def test_predictions_whose_arrays_do_not_fit_together_are_refused_in_one_line(tmp_path, damage, message):
    """Every reader (fusion, claims, the dashboard) gets one line naming the file and the array, never an
    IndexError later on."""
    io.save_npz(tmp_path / PREDICTIONS_FILE, **damage(predictions().to_dict()))
    with pytest.raises(RunError, match=message) as raised:
        RunFolder(tmp_path).predictions()
    assert str(tmp_path / PREDICTIONS_FILE) in str(raised.value) and "rerun the step that writes it" in str(raised.value)


def test_predictions_round_trip_and_align_by_video_id(tmp_path):
    p = predictions()
    p.write(tmp_path / PREDICTIONS_FILE)
    read = Predictions.read(tmp_path / PREDICTIONS_FILE)
    for key, value in p.to_dict().items():
        assert np.array_equal(read.to_dict()[key], value) and read.to_dict()[key].dtype == np.asarray(value).dtype
    order = [3, 0, 2, 1]
    ids = [p.ids[i] for i in order]
    assert np.array_equal(read.aligned(ids), p.logits[order])
    assert np.array_equal(read.aligned(ids, "best"), p.logits_best[order])
    alone = Predictions(p.logits, p.labels, p.video_ids, p.classes)
    assert alone.epoch("best") is alone.logits and alone.teacher_logits.shape == (0, 4, 3) and alone.names == []
    with pytest.raises(ConfigError, match="e.g. C/v_9"):
        read.aligned(["C/v_0", "C/v_9"])


def test_alignment_takes_linear_time():
    """200 000 clips in reverse order: a quadratic search would take minutes."""
    ids = np.array([f"Class/v_{i:06d}" for i in range(200_000)])
    started = time.perf_counter()
    index = alignment(ids, ids[::-1])
    assert time.perf_counter() - started < 5
    assert np.array_equal(index, np.arange(200_000)[::-1])


def test_every_record_key_is_read_and_written_in_one_module():
    """The keys only run records hold appear, quoted, in kdlab/engine/records.py alone (kdlab/ and the dashboard's
    state; the dashboard's own checks of raw files may name arrays too)."""
    keys = ("logits_best", "teacher_logits", "teacher_names", "video_ids", "test_best", "mean_epoch_seconds",
            "train_seconds", "predictions.npz", "summary.json")
    pattern = re.compile("[\"'](" + "|".join(map(re.escape, keys)) + ")[\"']")
    files = [*sorted((ROOT / "kdlab").rglob("*.py")), ROOT / "dashboard" / "state.py"]
    found = {str(f.relative_to(ROOT)): sorted(set(pattern.findall(f.read_text()))) for f in files}
    assert {f: k for f, k in found.items() if k} == {"kdlab/engine/records.py": sorted(keys)}
