"""The real clips: UCF-101, HMDB-51, Kinetics and others, with and without B-frames."""

from __future__ import annotations

import numpy as np
import pytest

from kdlab.codec import extract, iter_frames, probe
from kdlab.codec.batch import reencode_tree
from kdlab.codec.encode import EncodeSettings
from kdlab.codec.inspect import inspect_video
from kdlab.errors import BFramesError

P_ONLY = ["v_SoccerJuggling_g23_c01.avi", "v_SoccerJuggling_g24_c01.avi", "opencv_vtest.avi"]
B_FRAMES = [
    "v_ApplyEyeMakeup_g01_c01.avi",
    "RATRACE_wave_f_nm_np1_fr_goo_37.avi",
    "SchoolRulesHowTheyHelpUs_wave_f_nm_np1_ba_med_0.avi",
    "TrumanShow_wave_f_nm_np1_fr_med_26.avi",
    "hmdb51_Turnk_r_Pippi_Michel_cartwheel_f_cm_np2_le_med_6.avi",
    "kinetics_arm_wrestling.mp4",
    "R6llTwEh07w.mp4",
    "WUzgd7C1pWA.mp4",
    "basketball_640x360.mp4",
    "carphone_qcif.mp4",
]


def test_the_manifest_lists_every_clip(shared_clips):
    on_disk = {p.name for p in shared_clips.iterdir() if p.suffix in (".avi", ".mp4")}
    assert on_disk == set(P_ONLY) | set(B_FRAMES)


@pytest.mark.parametrize("name", P_ONLY + B_FRAMES)
def test_every_clip_opens(shared_clips, name):
    info = probe(shared_clips / name)
    assert info.width > 0 and info.height > 0 and info.fps > 0
    report = inspect_video(shared_clips / name)
    assert report["frames"] > 40
    assert report["coviar_ready"] == (name in P_ONLY)


@pytest.mark.parametrize("name", P_ONLY)
def test_p_only_clips_have_vectors_on_every_p_frame(shared_clips, name):
    p_frames = 0
    for frame in iter_frames(shared_clips / name, rgb=False):
        assert frame.pict_type in ("I", "P")
        if frame.pict_type == "P":
            p_frames += 1
            assert frame.mvs is not None and len(frame.mvs) > 0, f"P-frame {frame.index} has no vectors"
            assert (frame.mvs[:, 0] == -1).all()
    assert p_frames > 200


@pytest.mark.parametrize("name", B_FRAMES)
def test_b_frame_clips_fail_clearly(shared_clips, name):
    with pytest.raises(BFramesError, match="kdlab reencode"):
        extract(shared_clips / name)


def test_b_frame_clips_decode_after_reencode(shared_clips, tmp_path):
    sources = [shared_clips / name for name in B_FRAMES]
    report = reencode_tree(sources, tmp_path, EncodeSettings(), workers=2, progress=False)
    assert not report.failed and len(report.written) == len(B_FRAMES)
    for name in B_FRAMES:
        video = (tmp_path / name).with_suffix(".mp4")
        reps = extract(video, precision="compact")
        assert set(reps.frame_types) == {"I", "P"}
        assert (reps.height, reps.width) == (256, 340)
        assert np.all(np.diff(np.flatnonzero(reps.gop_pos == 0)) == 12)
        assert reps.mv.any() and reps.residual.any()


def test_real_p_only_clip_extracts(samples):
    reps = extract(samples / "v_SoccerJuggling_g23_c01.avi", keep_frames=True)
    assert reps.num_frames == 240 and reps.frame_types.count("I") == 20
    # accumulated residual is smaller than the raw difference to the I-frame
    p = reps.p_positions()
    raw = np.abs(reps.frames[p].astype(np.int16) - reps.iframes[reps.gop_index[p]]).mean()
    assert np.abs(reps.residual[p]).mean() < raw
