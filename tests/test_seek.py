"""The GOP-seeking loader: its reads equal the cache's, bit for bit, on real and synthetic clips;
training from it needs no cache; a stale or mismatched index is rebuilt or refused."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from kdlab.cli import main
from kdlab.codec import EncodeSettings, extract, reencode_file
from kdlab.codec.seek import GopReader, build_index, load_index
from kdlab.data.dataset import CompressedVideoDataset, close_readers
from kdlab.data.synthetic import PRESETS, generate
from kdlab.engine import trainer
from kdlab.engine.config import load_config
from kdlab.errors import BFramesError, VideoError

ALL = ("iframe", "mv", "residual")


@pytest.fixture(autouse=True)
def _close_readers():
    """The seeking datasets' open readers (each holds its container and last frame) closed after each test."""
    yield
    close_readers()


@pytest.fixture(scope="module")
def ucf_like(tmp_path_factory, samples):
    """Real clips (UCF-101 and HMDB-51 samples) laid out as UCF-101 and prepared by `kdlab prepare`
    with its default: re-encoded and indexed, no cache."""
    tmp = tmp_path_factory.mktemp("ucf")
    raw, splits = tmp / "UCF-101", tmp / "ucfTrainTestlist"
    clips = {"SoccerJuggling/v_SoccerJuggling_g23_c01.avi": "v_SoccerJuggling_g23_c01.avi",
             "ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi": "v_ApplyEyeMakeup_g01_c01.avi",  # B-frames in the raw clip
             "Wave/v_Wave_g01_c01.avi": "TrumanShow_wave_f_nm_np1_fr_med_26.avi"}
    for rel, name in clips.items():
        (raw / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(samples / name, raw / rel)
    splits.mkdir()
    (splits / "classInd.txt").write_text("1 ApplyEyeMakeup\n2 SoccerJuggling\n3 Wave\n")
    (splits / "trainlist01.txt").write_text("".join(f"{rel} {i}\n" for rel, i in zip(clips, (2, 1, 3))))
    (splits / "testlist01.txt").write_text("".join(f"{rel}\n" for rel in clips))
    out = tmp / "ucf101"
    assert main(["prepare", "ucf101", "--src", str(raw), "--splits", str(splits), "--out", str(out),
                 "--width", "170", "--height", "128", "--workers", "1", "--quiet"]) == 0
    return out


def test_prepare_indexes_without_a_cache(ucf_like):
    assert not (ucf_like / "cache").exists()
    index, source = load_index(ucf_like / "index" / "SoccerJuggling" / "v_SoccerJuggling_g23_c01.json")
    video = ucf_like / "SoccerJuggling" / "v_SoccerJuggling_g23_c01.mp4"
    assert index.frame_types == extract(video, precision="compact").frame_types  # GOP 12: "IPPPPPPPPPPP..."
    assert index.frame_types[:13] == "I" + "P" * 11 + "I" and source["size"] == video.stat().st_size
    index_bytes = sum(p.stat().st_size for p in (ucf_like / "index").rglob("*.json"))
    video_bytes = sum(p.stat().st_size for p in ucf_like.rglob("*.mp4"))
    assert index_bytes < 0.01 * video_bytes


@pytest.mark.parametrize("accumulate", [True, False])
def test_seeking_reads_equal_the_cache_on_real_clips(ucf_like, tmp_path, accumulate):
    kwargs = dict(representations=ALL, accumulate=accumulate, size=64, seed=4, progress=False, workers=1)
    cached = CompressedVideoDataset(ucf_like, "trainlist01.txt", cache_dir=tmp_path / "cache", **kwargs)
    seeking = CompressedVideoDataset(ucf_like, "trainlist01.txt", loader="seek", **kwargs)
    for epoch in range(2):
        for i in range(len(cached)):
            a, b = cached[i, epoch], seeking[i, epoch]
            assert a[1:] == b[1:]
            for rep in ALL:
                assert torch.equal(a[0][rep], b[0][rep]), (i, epoch, rep)


def test_seeking_reads_equal_extraction_frame_by_frame(samples, tmp_path):
    """Every P-frame, in arbitrary groups (two in one GOP, GOPs out of order, a frame twice), and
    I-frames among them (no motion or residual: zeros, as extraction gives)."""
    video = reencode_file(samples / "v_SoccerJuggling_g23_c01.avi", tmp_path / "clip.mp4", EncodeSettings(width=170, height=128))
    reps = extract(video, precision="compact")
    reader = GopReader(video, build_index(video))
    p_frames = np.flatnonzero(reps.gop_pos > 0)
    groups = [p_frames[i : i + 3][::-1] for i in range(0, len(p_frames), 3)] + [np.array([40, 3, 40, 13]), np.array([5, 12, 0, 12])]
    for frames in groups:
        out = reader.read(frames, ALL)
        np.testing.assert_array_equal(out["mv"], reps.mv[frames])
        np.testing.assert_array_equal(out["residual"], reps.residual[frames])
        np.testing.assert_array_equal(out["iframe"], reps.iframes[reps.gop_index[frames]])
    assert np.abs(reps.mv[p_frames]).max() > 0, "a clip without motion would make this test vacuous"
    assert reps.gop_pos[[0, 12]].tolist() == [0, 0] and not reps.mv[[0, 12]].any()


def test_seeking_reads_equal_the_cache_on_the_synthetic_set(tmp_path):
    root = generate(tmp_path / "tiny", PRESETS["tiny"], workers=1, progress=False)
    kwargs = dict(representations=ALL, size=48, train=False, progress=False, workers=1)
    cached = CompressedVideoDataset(root, "testlist01.txt", cache_dir=tmp_path / "cache", **kwargs)
    seeking = CompressedVideoDataset(root, "testlist01.txt", loader="seek", index_dir=tmp_path / "index", **kwargs)
    for i in range(len(cached)):
        for rep in ALL:
            assert torch.equal(cached[i][0][rep], seeking[i][0][rep]), (i, rep)


def test_one_epoch_of_teacher_and_student_from_the_seeking_loader(ucf_like, tmp_path):
    base = [f"data.root={ucf_like}", "data.loader=seek", "data.size=48", "data.test_segments=3", "data.batch_size=3",
            "data.workers=0", "data.val_share=0", "model.arch=resnet18_tiny", "optim.epochs=1", "quiet=true"]
    teacher = trainer.train(load_config(None, base + [f"out={tmp_path / 'teacher'}", "model.representation=mv"]))
    student = trainer.train(load_config(None, base + [f"out={tmp_path / 'student'}", "model.representation=iframe",
                                                      f"distill.teachers=['{teacher.path}']", "distill.loss=kd"]))
    for run in (teacher, student):
        row = run.metrics()[0]
        assert run.summary()["complete"] and np.isfinite(float(row["loss"]))
        assert run.predictions()["logits"].shape == (3, 3)
    assert float(student.metrics()[0]["loss_kd"]) > 0
    assert not (ucf_like / "cache").exists(), "the seeking loader built a cache"


def test_a_changed_video_gets_a_new_index_and_a_mismatched_one_is_refused(ucf_like, tmp_path, samples):
    root = tmp_path / "copy"
    shutil.copytree(ucf_like, root)
    entry = root / "index" / "Wave" / "v_Wave_g01_c01.json"
    # another clip in the Wave video's place: the index is stale (size and mtime differ) and is rebuilt
    shutil.copy(root / "SoccerJuggling" / "v_SoccerJuggling_g23_c01.mp4", root / "Wave" / "v_Wave_g01_c01.mp4")
    CompressedVideoDataset(root, "testlist01.txt", "mv", loader="seek", size=48, progress=False, workers=1)
    assert load_index(entry)[0].num_frames == 240
    # an index that does not describe the file is found at the first frame that disagrees
    wrong = load_index(ucf_like / "index" / "ApplyEyeMakeup" / "v_ApplyEyeMakeup_g01_c01.json")[0]
    reader = GopReader(root / "Wave" / "v_Wave_g01_c01.mp4", wrong)
    with pytest.raises(VideoError, match="does not match its index at frame"):
        reader.read(np.array([30]), ("mv",))


def test_index_refuses_b_frames_and_damaged_files(samples, tmp_path, capsys):
    with pytest.raises(BFramesError, match="B-frames"):
        build_index(samples / "TrumanShow_wave_f_nm_np1_fr_med_26.avi")  # packed AVI: pts in order, the header says so
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format": 1, "pts": [0]}))
    with pytest.raises(Exception, match="damaged index"):
        load_index(bad)


def test_data_benchmark_lays_out_the_clips_of_the_chosen_data_sets(samples, tmp_path):
    """``kdlab bench data --clips DIR --dataset UCF-101``: only the UCF-101 clips of the labels.csv,
    one class per label, named as UCF-101 names them."""
    from kdlab.bench.data import real_clip_dataset
    from kdlab.data.splits import read_class_index

    clips = tmp_path / "clips"
    clips.mkdir()
    for name in ("v_SoccerJuggling_g23_c01.avi", "TrumanShow_wave_f_nm_np1_fr_med_26.avi"):
        (clips / name).symlink_to(samples / name)
    (clips / "labels.csv").write_text("file,dataset,label\nv_SoccerJuggling_g23_c01.avi,UCF-101,SoccerJuggling\n"
                                      "TrumanShow_wave_f_nm_np1_fr_med_26.avi,HMDB-51,wave\nabsent.avi,UCF-101,Absent\n")
    root = real_clip_dataset(clips, tmp_path / "ucf", workers=1, datasets=("UCF-101",))
    assert read_class_index(root / "classInd.txt") == ["SoccerJuggling"]
    assert [p.name for p in root.rglob("*.mp4")] == ["v_SoccerJuggling_g01_c01.mp4"]
    both = real_clip_dataset(clips, tmp_path / "both", workers=1)
    assert read_class_index(both / "classInd.txt") == ["SoccerJuggling", "Wave"]


def test_data_benchmark_measures_the_three_loaders(ucf_like, tmp_path):
    """``kdlab bench data``'s figures on a tiny run (speeds are reported, not asserted)."""
    from kdlab.bench.data import run

    root = shutil.copytree(ucf_like, tmp_path / "ucf")  # the bench builds a cache there
    results = run(root, size=32, workers=0, samples=6, batch_size=2)
    for loader in ("cache", "seek", "decode"):
        assert results[f"{loader}_samples_per_s"] > 0 and results[f"{loader}_cpu_ms_per_sample"] > 0
    assert results["frames"] == 240 + 164 + 48 and results["videos"] == 3
    assert 0 < results["index_bytes"] < 0.01 * results["videos_bytes"] < results["cache_bytes"]
