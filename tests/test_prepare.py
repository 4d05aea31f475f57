"""`kdlab prepare` on small fixtures in the official UCF-101 and HMDB-51 layouts, and `kdlab cache`."""

from __future__ import annotations

import shutil

import pytest

from kdlab.cli import main
from kdlab.data.splits import parse_ucf101
from kdlab.data.cache import read_failures
from kdlab.data.dataset import CompressedVideoDataset


@pytest.fixture()
def raw_ucf(tmp_path, samples, square):
    raw, splits = tmp_path / "UCF-101", tmp_path / "ucfTrainTestlist"
    (raw / "SoccerJuggling").mkdir(parents=True)
    (raw / "Wave").mkdir()
    splits.mkdir()
    shutil.copy(samples / "v_SoccerJuggling_g23_c01.avi", raw / "SoccerJuggling")
    shutil.copy(square.path, raw / "SoccerJuggling" / "v_SoccerJuggling_g01_c01.avi")
    shutil.copy(samples / "TrumanShow_wave_f_nm_np1_fr_med_26.avi", raw / "Wave" / "v_Wave_g01_c01.avi")
    (splits / "classInd.txt").write_text("1 SoccerJuggling\r\n2 Wave\r\n")
    (splits / "trainlist01.txt").write_text("SoccerJuggling/v_SoccerJuggling_g23_c01.avi 1\r\nWave/v_Wave_g01_c01.avi 2\r\n")
    (splits / "testlist01.txt").write_text("SoccerJuggling/v_SoccerJuggling_g01_c01.avi\r\nWave/v_Wave_g09_c01.avi\r\n")
    return raw, splits


def test_prepare_ucf101(raw_ucf, tmp_path, capsys):
    raw, splits = raw_ucf
    out = tmp_path / "ucf"
    args = ["prepare", "ucf101", "--src", str(raw), "--splits", str(splits), "--out", str(out),
            "--width", "160", "--height", "128", "--workers", "2", "--quiet", "--cache"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "prepared splits [1]: 3 videos, 1 could not be re-encoded" in printed
    assert "v_Wave_g09_c01.avi: no such file" in printed  # listed but missing from the download
    split = parse_ucf101(out, 1)
    assert [r.relpath for r in split.train] == ["SoccerJuggling/v_SoccerJuggling_g23_c01.mp4", "Wave/v_Wave_g01_c01.mp4"]
    assert [r.relpath for r in split.test] == ["SoccerJuggling/v_SoccerJuggling_g01_c01.mp4"]
    assert (out / "cache" / "Wave" / "v_Wave_g01_c01.kdv" / "meta.json").exists()
    ds = CompressedVideoDataset(out, "trainlist01.txt", ("iframe", "mv"), size=64, progress=False)
    inputs, label, vid = ds[1]
    assert inputs["mv"].shape == (3, 2, 64, 64) and (label, vid) == (1, "Wave/v_Wave_g01_c01")
    # resumable: a second run re-encodes and decodes nothing
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "index: 0 built, 3 up to date" in printed and "cache: 0 built, 3 up to date" in printed


def test_prepare_hmdb51(tmp_path, samples, capsys):
    raw, splits = tmp_path / "hmdb51", tmp_path / "testTrainMulti_7030_splits"
    (raw / "wave").mkdir(parents=True)
    splits.mkdir()
    shutil.copy(samples / "TrumanShow_wave_f_nm_np1_fr_med_26.avi", raw / "wave")
    shutil.copy(samples / "v_ApplyEyeMakeup_g01_c01.avi", raw / "wave" / "other_wave_1.avi")
    (splits / "wave_test_split1.txt").write_text("TrumanShow_wave_f_nm_np1_fr_med_26.avi 1 \nother_wave_1.avi 2 \n")
    out = tmp_path / "hmdb"
    assert main(["prepare", "hmdb51", "--src", str(raw), "--splits", str(splits), "--out", str(out),
                 "--width", "160", "--height", "128", "--quiet", "--workers", "1"]) == 0
    split = parse_ucf101(out, 1)
    assert split.classes == ["wave"]
    assert [r.relpath for r in split.test] == ["wave/other_wave_1.mp4"]


def test_cache_command_reports_corrupt_videos(raw_ucf, tmp_path, capsys):
    raw, splits = raw_ucf
    out = tmp_path / "ucf"
    assert main(["prepare", "ucf101", "--src", str(raw), "--splits", str(splits), "--out", str(out),
                 "--width", "160", "--height", "128", "--quiet", "--workers", "1"]) == 0
    assert not (out / "cache").exists() and (out / "index" / "Wave" / "v_Wave_g01_c01.json").exists()
    (out / "Wave" / "v_Wave_g01_c01.mp4").write_bytes(b"\x00" * 1000)
    capsys.readouterr()
    assert main(["cache", str(out), "--quiet", "--workers", "1"]) == 0
    printed = capsys.readouterr().out
    assert "cache: 2 built, 0 up to date, 1 failed" in printed and "SKIPPED Wave/v_Wave_g01_c01" in printed
    assert "Wave/v_Wave_g01_c01" in read_failures(out / "cache")


def test_prepare_bad_arguments(tmp_path, capsys):
    assert main(["prepare", "ucf101", "--src", str(tmp_path / "no"), "--splits", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "no: not a folder" in capsys.readouterr().err
    (tmp_path / "raw").mkdir()
    assert main(["prepare", "ucf101", "--src", str(tmp_path / "raw"), "--splits", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "classInd.txt: split file not found" in capsys.readouterr().err
