"""`kdlab reencode`, `kdlab inspect`, `kdlab export` and the on-disk store."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from kdlab.cli import main
from kdlab.codec import extract, store
from kdlab.codec.extract import GopStream
from kdlab.codec.reader import MV_FIELDS
from kdlab.errors import KdlabError
from tests.conftest import REPO
from tests.videos import write_clip


def test_reencode_mirrors_trees_skips_done_and_summarises_failures(samples, tmp_path, capsys):
    src = tmp_path / "raw"
    (src / "wave").mkdir(parents=True)
    (src / "juggle").mkdir()
    shutil.copy(samples / "TrumanShow_wave_f_nm_np1_fr_med_26.avi", src / "wave")
    shutil.copy(samples / "v_SoccerJuggling_g23_c01.avi", src / "juggle")
    (src / "juggle" / "broken.avi").write_text("not a video at all\n" * 20)
    out = tmp_path / "out"

    code = main(["reencode", str(src), "--out", str(out), "--workers", "2", "--quiet", "--width", "160", "--height", "128"])
    printed = capsys.readouterr().out
    assert code == 1, "a failed file makes the exit status 1"
    assert "2 written, 0 already done, 1 failed" in printed
    assert "broken.avi: looks like a text file" in printed
    wave = out / "wave" / "TrumanShow_wave_f_nm_np1_fr_med_26.mp4"
    reps = extract(wave)
    assert set(reps.frame_types) == {"I", "P"} and (reps.height, reps.width) == (128, 160)
    assert not list(out.rglob(".*part*")), "no temporary files left behind"

    before = wave.stat().st_mtime_ns
    (src / "juggle" / "broken.avi").unlink()
    assert main(["reencode", str(src), "--out", str(out), "--quiet"]) == 0
    assert "0 written, 2 already done, 0 failed" in capsys.readouterr().out
    assert wave.stat().st_mtime_ns == before


def test_reencode_bad_setting_is_a_clear_error(samples, tmp_path, capsys):
    assert main(["reencode", str(samples), "--out", str(tmp_path), "--width", "341"]) == 2
    assert "encode.width must be an even number" in capsys.readouterr().err


def test_inspect_json(square, capsys):
    assert main(["inspect", str(square.path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["codec"] == "mpeg4" and (report["width"], report["height"]) == (192, 128)
    assert report["frames"] == 24 and report["frame_type_counts"] == {"I": 2, "P": 22}
    assert report["gops"] == 2 and report["gop_length"] == {"min": 12, "mean": 12.0, "max": 12}
    assert report["coviar_ready"] is True
    assert report["motion_vectors"]["max_magnitude_px"] >= np.hypot(3, 2) - 1e-6


def test_inspect_text(samples, capsys):
    assert main(["inspect", str(samples / "v_ApplyEyeMakeup_g01_c01.avi")]) == 0
    text = capsys.readouterr().out
    assert "not ready: has B-frames" in text and "audio:mp3" in text


def test_inspect_missing_file_is_one_line_error(tmp_path, capsys):
    assert main(["inspect", str(tmp_path / "gone.avi")]) == 2
    err = capsys.readouterr().err
    assert "gone.avi: no such file" in err and "Traceback" not in err


@pytest.mark.parametrize("accumulate, compress", [(False, False), (True, True)])
def test_export_npz(square, tmp_path, accumulate, compress):
    out = tmp_path / "square.npz"
    args = ["export", str(square.path), "--out", str(out)] + (["--accumulate"] if accumulate else [])
    assert main(args + (["--compress"] if compress else [])) == 0
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED  # stored unless asked
    assert {info.compress_type for info in zipfile.ZipFile(out).infolist()} == {method}
    data = np.load(out)
    reps = extract(square.path, accumulate=accumulate, keep_vectors=True)
    assert [k for k in data.files if k.startswith("mvs_")] == [f"mvs_{i:05d}" for i in range(24)]
    assert list(data["mv_fields"]) == list(MV_FIELDS)
    assert data["mvs_00000"].shape == (0, 10) and data["mvs_00001"].shape[1] == 10
    np.testing.assert_array_equal(data["mvs_00005"], reps.vectors[5])
    assert "".join(data["frame_types"]) == "IPPPPPPPPPPP" * 2
    for key in ("iframes", "mv", "residual", "gop_index", "gop_pos"):
        np.testing.assert_array_equal(data[key], getattr(reps, key))
    assert bool(data["accumulate"]) is accumulate


def _export_peak_rss_mb(video, out) -> float:
    """Peak resident memory (MB) of a fresh process that runs ``kdlab export video --out out``."""
    code = ("import resource, sys; from kdlab.cli import main; assert main(sys.argv[1:]) == 0; "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)")
    result = subprocess.run([sys.executable, "-c", code, "export", str(video), "--out", str(out)],
                            capture_output=True, text=True, check=True, cwd=REPO)
    return float(result.stdout.split()[-1])


def test_export_memory_is_bounded_whatever_the_clip_and_gop_length(tmp_path):
    """The 480-frame export (GOPs of 240 frames) writes 8x the arrays of the 60-frame one (GOPs of 12)
    in about the same memory."""
    short = write_clip(tmp_path / "60.mp4", width=320, height=240, frames=60)
    long = write_clip(tmp_path / "480.mp4", width=320, height=240, frames=480, gop=240)
    short_mb = _export_peak_rss_mb(short, tmp_path / "short.npz")
    long_mb = _export_peak_rss_mb(long, tmp_path / "long.npz")
    with np.load(tmp_path / "long.npz") as data:
        assert data["mv"].shape == (480, 240, 320, 2) and data["residual"].shape == (480, 240, 320, 3)
        assert "".join(data["frame_types"]).count("I") == 2 and data["iframes"].shape == (2, 240, 320, 3)
    arrays_mb = (tmp_path / "long.npz").stat().st_size / 2**20
    assert arrays_mb > 340  # what extract() would have held in memory at once
    assert long_mb - short_mb < 48, f"peak {long_mb:.0f} MB for 480 frames, {short_mb:.0f} MB for 60"


def test_export_of_b_frame_video_points_to_reencode(samples, tmp_path, capsys):
    assert main(["export", str(samples / "TrumanShow_wave_f_nm_np1_fr_med_26.avi"), "--out", str(tmp_path / "x.npz")]) == 2
    assert "kdlab reencode" in capsys.readouterr().err
    assert not (tmp_path / "x.npz").exists()


def test_streamed_store_writes_the_same_files_as_save(square, tmp_path):
    """save_stream (one GOP at a time, the cache's way) and save (all in memory): byte-identical arrays."""
    whole = store.save(extract(square.path, precision="compact"), tmp_path / "whole.kdv")
    streamed = store.save_stream(GopStream(square.path, precision="compact"), tmp_path / "streamed.kdv")
    for name in ("iframes", "mv", "residual", "gop_index", "gop_pos"):
        assert (whole / f"{name}.npy").read_bytes() == (streamed / f"{name}.npy").read_bytes(), name
    assert store.read_meta(whole) == store.read_meta(streamed)
    assert store.load(streamed).mv.shape == (24, 128, 192, 2)


def test_store_round_trip_equals_compact_extraction(square, tmp_path):
    reps = extract(square.path, precision="compact")
    folder = store.save(reps, tmp_path / "square.kdv", settings={"note": "test"})
    loaded = store.load(folder)
    assert isinstance(loaded.mv, np.memmap) and loaded.mv.dtype == np.int8
    for key in ("iframes", "mv", "residual", "gop_index", "gop_pos"):
        np.testing.assert_array_equal(getattr(loaded, key), getattr(reps, key))
    assert loaded.frame_types == reps.frame_types and loaded.accumulate is True
    meta = store.read_meta(folder)
    assert meta["settings"] == {"accumulate": True, "note": "test"}
    assert meta["source"]["size"] == square.path.stat().st_size
    assert [p.name for p in tmp_path.iterdir()] == ["square.kdv"], "no temporary folder left"


def test_store_reports_damaged_folders(square, tmp_path):
    folder = store.save(extract(square.path, precision="compact"), tmp_path / "s.kdv")
    (folder / "mv.npy").unlink()
    with pytest.raises(KdlabError, match=r"s\.kdv: incomplete or damaged"):
        store.load(folder)
    with pytest.raises(KdlabError, match="not a stored video"):
        store.load(tmp_path)


def test_reencode_never_writes_over_or_inside_its_sources(samples, tmp_path, capsys):
    src = tmp_path / "src"
    src.mkdir()
    clip = src / "clip.mp4"
    shutil.copy(samples / "v_SoccerJuggling_g23_c01.avi", clip)
    before = clip.read_bytes()
    assert main(["reencode", str(src), "--out", str(src), "--overwrite"]) == 2
    assert "would be written over a source video" in capsys.readouterr().err
    assert clip.read_bytes() == before, "the original is untouched"
    assert main(["reencode", str(src), "--out", str(src / "reencoded")]) == 2
    assert "lies inside the source folder" in capsys.readouterr().err
    assert not (src / "reencoded").exists()


def test_help_imports_no_codec_or_torch():
    """``kdlab --help`` builds every parser without numba, PyAV or torch (start-up stays small)."""
    code = ("import sys; from kdlab.cli import build_parser; build_parser(); "
            "print(sorted(m for m in ('numba', 'av', 'torch') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert result.stdout.strip() == "[]"


def test_cli_defaults_agree_with_the_library():
    from dataclasses import asdict

    from kdlab.cli.codec import ENCODE_DEFAULTS
    from kdlab.cli.data import DATASETS
    from kdlab.codec.encode import EncodeSettings
    from kdlab.data.prepare import PARSERS

    assert {k: asdict(EncodeSettings())[k] for k in ENCODE_DEFAULTS} == ENCODE_DEFAULTS
    assert DATASETS == tuple(sorted(PARSERS))
