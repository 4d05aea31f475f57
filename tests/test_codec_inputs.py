"""Every way a video can be unusable gets a kdlab error that names the file and the reason."""

from __future__ import annotations

import dataclasses
import os
import importlib
import shutil

import av
import numpy as np
import pytest

from kdlab.codec import EncodeSettings, encode_frames, extract, iter_frames, probe
from kdlab.errors import BFramesError, ConfigError, CorruptVideoError, VideoError
from tests.videos import write_clip


def _decode_all(path):
    return extract(path)


def test_missing_path(tmp_path):
    path = tmp_path / "nope.avi"
    with pytest.raises(VideoError, match=r"nope\.avi: no such file"):
        _decode_all(path)


def test_folder_instead_of_file(tmp_path):
    with pytest.raises(VideoError, match="is a folder"):
        _decode_all(tmp_path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.mp4"
    path.touch()
    with pytest.raises(VideoError, match=r"empty\.mp4: is empty \(0 bytes\)"):
        _decode_all(path)


def test_text_file(tmp_path):
    path = tmp_path / "notes.avi"
    path.write_text("this is not a video\n" * 50)
    with pytest.raises(VideoError, match=r"notes\.avi: looks like a text file"):
        _decode_all(path)


def test_random_bytes(tmp_path):
    path = tmp_path / "noise.mp4"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(VideoError, match=r"noise\.mp4: is not a video that FFmpeg can read"):
        _decode_all(path)


def test_audio_only_file(tmp_path):
    path = tmp_path / "tone.wav"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("pcm_s16le", rate=8000)
        samples = (np.sin(np.arange(8000) / 5) * 3000).astype(np.int16)[None]
        frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        frame.sample_rate = 8000
        out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    with pytest.raises(VideoError, match=r"tone\.wav: has no video stream \(streams found: audio"):
        _decode_all(path)


def test_truncated_avi_names_the_frame(square, tmp_path):
    data = square.path.read_bytes()
    path = tmp_path / "cut.avi"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptVideoError, match=r"cut\.avi: (is truncated|frame \d+ is damaged)") as info:
        _decode_all(path)
    assert 0 < info.value.frame < 24


def test_truncated_mp4_without_index(square, tmp_path):
    mp4 = tmp_path / "full.mp4"
    encode_frames(square.frames, mp4, EncodeSettings(width=192, height=128))
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(mp4.read_bytes()[: mp4.stat().st_size // 2])
    with pytest.raises(VideoError, match=r"(?s)cut\.mp4: is not a video that FFmpeg can read.*moov"):
        _decode_all(cut)


def test_corrupt_bytes_name_the_damaged_frame(square, tmp_path):
    data = bytearray(square.path.read_bytes())
    rng = np.random.default_rng(1)
    for i in rng.integers(len(data) // 3, len(data) - 2000, 100):
        data[i] ^= 0xFF
    path = tmp_path / "flipped.avi"
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptVideoError, match=r"flipped\.avi: .*frame \d+") as info:
        _decode_all(path)
    assert info.value.frame is not None


def test_too_short_for_one_gop(tmp_path, square):
    path = tmp_path / "still.avi"
    encode_frames(square.frames[:1], path, EncodeSettings(width=192, height=128))
    with pytest.raises(VideoError, match=r"still\.avi: is too short for one GOP: 1 decodable frame"):
        _decode_all(path)


def test_b_frames_raise_with_the_reencode_hint(samples):
    path = samples / "TrumanShow_wave_f_nm_np1_fr_med_26.avi"
    with pytest.raises(BFramesError, match=r"TrumanShow.*has B-frames \(the first at frame \d+\)") as info:
        _decode_all(path)
    assert "kdlab reencode" in str(info.value)


def test_b_frame_video_decodes_when_asked_to_reencode(samples):
    path = samples / "TrumanShow_wave_f_nm_np1_fr_med_26.avi"
    reps = extract(path, reencode=True)
    assert set(reps.frame_types) == {"I", "P"} and reps.source == str(path)
    assert reps.num_frames == 48 and reps.mv.any()


def test_bad_encode_settings_name_the_key():
    with pytest.raises(ConfigError, match=r"encode.width must be an even number"):
        EncodeSettings(width=341)
    with pytest.raises(ConfigError, match=r"encode.gop"):
        EncodeSettings(gop=0)


def test_metadata_that_is_not_utf8_is_ignored(shared_clips):
    info = probe(shared_clips / "kinetics_arm_wrestling.mp4")
    assert (info.codec, info.width, info.height) == ("h264", 340, 256)


def test_stopping_early_leaves_no_decoder_thread(square):
    import threading

    before = threading.active_count()
    frames = iter_frames(square.path, prefetch=2)
    next(frames)
    frames.close()
    assert threading.active_count() <= before


def test_raw_mpeg4_elementary_stream(square, tmp_path):
    """A raw MPEG-4 Part 2 stream (no container, no frame count in a header) decodes like the AVI."""
    path = tmp_path / "raw.m4v"
    with av.open(str(path), "w", format="m4v") as out:
        stream = out.add_stream("mpeg4", rate=25)
        stream.width, stream.height, stream.pix_fmt = 192, 128, "yuv420p"
        stream.codec_context.gop_size, stream.codec_context.max_b_frames = 12, 0
        for i, rgb in enumerate(square.frames):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    assert probe(path).header_frames == 0
    reps = extract(path)
    assert reps.frame_types == "IPPPPPPPPPPP" * 2 and reps.mv.any()


def test_decoded_frames_are_freed_without_the_cycle_collector(square):
    """PyAV's ``frame.side_data`` is a reference cycle; the reader must not leave every decoded frame
    (and its decoder buffer) waiting for the cycle collector."""
    import gc

    gc.collect()
    gc.disable()
    try:
        decoded = sum(1 for _ in iter_frames(square.path))
        alive = sum(issubclass(type(obj), av.VideoFrame) for obj in gc.get_objects())  # type(): no attribute lookups
    finally:
        gc.enable()
    assert decoded == 24
    assert alive <= 1, f"{alive} decoded frames still alive after decoding"


def test_ffmpeg_logs_are_dropped_without_taking_the_gil():
    """A numeric PyAV log level installs a callback that takes the GIL from FFmpeg's decoding
    threads; closing a decoder with the GIL held then deadlocks (a reader stopped early hung in
    about 4 runs of 10 of ``test_stopping_early_leaves_no_decoder_thread``). kdlab keeps PyAV's
    C-level no-op callback."""
    import kdlab.codec.reader  # noqa: F401  (sets the level on import)

    assert av.logging.get_level() is None


@pytest.mark.parametrize("codec,name", [("libvpx", "vp8.webm"), ("libvpx-vp9", "vp9.webm"), ("gif", "anim.gif")])
def test_codecs_without_motion_vectors_are_refused_not_read_as_zero_motion(codec, name, tmp_path, capsys):
    from kdlab.cli import main
    from kdlab.codec.inspect import inspect_video
    from kdlab.errors import NoMotionVectorsError

    try:
        path = write_clip(tmp_path / name, codec, frames=30)
    except (av.error.FFmpegError, ValueError) as exc:  # an FFmpeg build without this encoder
        pytest.skip(f"cannot write {codec} here: {exc}")
    with pytest.raises(NoMotionVectorsError, match=r"its codec \(\w+\) has no motion vectors") as info:
        extract(path)
    assert "kdlab reencode" in info.value.hint
    report = inspect_video(path)
    assert not report["coviar_ready"] and "exports no motion vectors" in report["coviar_ready_reason"]
    assert main(["export", str(path), "--out", str(tmp_path / "x.npz")]) == 2
    err = capsys.readouterr().err
    assert name in err and "kdlab reencode" in err and "Traceback" not in err
    # on request it is re-encoded to MPEG-4 Part 2, whose vectors see the moving square
    reps = extract(path, reencode=True, accumulate=False)
    assert reps.codec == "mpeg4" and reps.source == str(path)
    assert np.abs(reps.mv[1:, 25:45, 20:50, 0]).max() >= 1


def test_a_frame_size_change_mid_stream_is_one_clear_error(tmp_path, capsys):
    from kdlab.cli import main

    joined = tmp_path / "sizes.m4v"  # two MPEG-4 elementary streams of different sizes, back to back
    first = write_clip(tmp_path / "a.m4v", container_format="m4v")
    second = write_clip(tmp_path / "b.m4v", width=96, height=64, container_format="m4v")
    joined.write_bytes(first.read_bytes() + second.read_bytes())
    with pytest.raises(VideoError, match=r"changes size at frame 24: 96x64 after 128x96"):
        extract(joined)
    assert main(["export", str(joined), "--out", str(tmp_path / "x.npz")]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_buffers_are_not_sized_from_an_untrusted_header(square, monkeypatch):
    """A header claiming 2^31 frames must not allocate for them (it would ask for terabytes)."""
    extract_module = importlib.import_module("kdlab.codec.extract")  # the module, not the function it exports
    real_probe = extract_module.probe
    monkeypatch.setattr(extract_module, "probe", lambda path: dataclasses.replace(real_probe(path), header_frames=2**31))
    reps = extract(square.path)
    assert len(reps.mv) == 24
    assert reps.mv.base is not None and len(reps.mv.base) <= extract_module.MAX_PREALLOCATED  # the buffer behind it


def test_a_header_that_undercounts_frames_gives_the_same_arrays(square, monkeypatch):
    """A header claiming 5 frames of 24: the arrays are traced into several slabs, joined at the end."""
    reference = extract(square.path, keep_frames=True)
    extract_module = importlib.import_module("kdlab.codec.extract")
    real_probe = extract_module.probe
    monkeypatch.setattr(extract_module, "probe", lambda path: dataclasses.replace(real_probe(path), header_frames=5))
    reps = extract(square.path, keep_frames=True)
    for key in ("mv", "residual", "frames", "iframes", "gop_pos"):
        np.testing.assert_array_equal(getattr(reps, key), getattr(reference, key), err_msg=key)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads any file: no permission to test")
def test_an_unreadable_file_says_so(square, tmp_path):
    locked = tmp_path / "locked.avi"
    shutil.copy(square.path, locked)
    locked.chmod(0)
    with pytest.raises(VideoError, match="cannot be read \\(permission denied\\)"):
        extract(locked)
