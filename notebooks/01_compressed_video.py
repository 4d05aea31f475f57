# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 01 · What is inside an MPEG-4 file
#
# *kdlab book, notebook 1 of 6* · start here · next: [02 · Three teachers](02_teachers.ipynb)
#
# Action recognition on *compressed* video (CoViAR, Wu et al., CVPR 2018) feeds its networks what an
# MPEG-4 stream already holds instead of optical flow. The paper this kit studies (Wu and Chiu 2020)
# builds on it: its teachers and its student are CoViAR networks. Before any network, this notebook
# takes a video apart.
#
# **You will learn to**
# * read a video's structure: I-frames, P-frames (and B-frames), groups of pictures (GOPs);
# * read FFmpeg's raw motion vectors, including their half-pixel precision (`motion_scale`), and say what
#   kdlab keeps of them;
# * compute CoViAR's three representations (I-frame, motion, residual), per frame and *accumulated* to the
#   I-frame, and check them against a clip whose motion is known;
# * see what the networks actually receive after CoViAR's input normalisation;
# * say what the compressed domain saves and what it does not, with numbers measured here.
#
# **Prerequisites**: Python and numpy; no video-coding background. **Run time** on a 2-core CPU: about
# 15 s, in SMOKE mode too (measured while building the book). Nothing is trained here.
#
# Everything below is computed by `kdlab.codec`; the figures come from `kdlab.figures`, the builders the
# dashboard uses too.

# %% tags=["parameters"]
import os

SMOKE = os.environ.get("KDLAB_SMOKE", "0") == "1"  # the tests run every notebook in SMOKE mode: tiny data
STATIC = SMOKE or os.environ.get("KDLAB_STATIC", "0") == "1"  # no live kernel (tests, the book): sliders are Plotly's

# %%
import tempfile
import time
from pathlib import Path

import numpy as np

from kdlab.bench.codec import farneback
from kdlab.codec import EncodeSettings, compose, encode_frames, extract, motion_from_index, reencode_file, source_index, warp
from kdlab.codec.inspect import format_report, inspect_video
from kdlab.codec.motion import identity_index
from kdlab.data.transforms import MV_SATURATION_PX, normalise, to_image
from kdlab.engine.study import workspace
from kdlab.errors import BFramesError
from kdlab.figures import (
    channels_figure,
    gop_strip_figure,
    gop_timeline_figure,
    interactive_figure,
    motion_arrows_figure,
    residual_figure,
)
from kdlab.paths import sample_path

# %% [markdown]
# ## 1. What the compressed domain saves, and what it does not
#
# It is tempting to say that CoViAR recognises actions "without decoding the video". It does not, and
# neither does kdlab: both decode **every** frame. The I-frame *is* a decoded picture; the residual is
# not stored in a form FFmpeg hands out, so it is *computed*, as the decoded frame minus the previous
# picture shifted by the motion vectors. What the compressed domain saves is elsewhere:
#
# * **no optical flow**: the motion vectors are already in the stream (the encoder searched for them);
#   reading them costs a fraction of a decode, while a dense optical flow (Farneback, TV-L1) costs tens of
#   times more. Section 7 measures both on the same frames.
# * **smaller, sparser inputs**: one vector per 16x16 block instead of a flow per pixel, many of them zero,
#   and a residual that is mostly near zero, so the motion and residual networks can be small (ResNet-18s in
#   CoViAR, against a ResNet-152 for the I-frames); [notebook 04](04_compression.ipynb) counts what that saves.
# * **one I-frame per GOP**: the big network runs on one frame in twelve.
#
# ## 2. GOPs and frame types
#
# A UCF-101 clip from the bundled samples. `inspect_video` decodes it without converting pixels and
# reports its structure. An **I-frame** is coded on its own, like a still image; a **P-frame** is coded as
# a prediction from the frame before (motion vectors) plus a correction (the residual). An I-frame and the
# P-frames up to the next one form a **group of pictures** (GOP); CoViAR re-encodes every video with GOPs of
# 12 frames.

# %%
clip = sample_path("v_SoccerJuggling_g23_c01.avi")
report = inspect_video(clip)
print(format_report(report))
gop_timeline_figure(report["frame_types"][:72])

# %% [markdown]
# ## 3. The raw motion vectors, and their precision
#
# FFmpeg exports one vector per block of a P-frame (`flags2=+export_mvs`). kdlab keeps them raw, ten
# fields per block (`kdlab.codec.MV_FIELDS`): the block's size `w x h`, its centre in this frame
# `(dst_x, dst_y)`, where it was copied from `(src_x, src_y)`, and the motion itself, `motion_x / motion_scale`
# pixels. MPEG-4 Part 2 codes motion in **half pixels**: `motion_scale = 2`, so `motion_x = -1` means
# half a pixel to the left. FFmpeg fills `src_x = dst_x + motion_x / motion_scale` with C's integer
# division, which truncates towards zero: -1/2 becomes 0, and the row below with `motion_x = -1` has
# `src_x == dst_x`. The check below verifies that rule on every vector of the clip.

# %%
steps = extract(clip, accumulate=False, keep_frames=True, keep_vectors=True)
t = 5  # a P-frame of the first GOP
vectors = np.concatenate([v for v in steps.vectors if len(v)])
print(f"frame {t} is a {steps.frame_types[t]}-frame with {len(steps.vectors[t])} block vectors; three of them:")
print("source, w, h, src_x, src_y, dst_x, dst_y, motion_x, motion_y, motion_scale")
half = steps.vectors[t][steps.vectors[t][:, 7] % 2 != 0]
print(np.concatenate([steps.vectors[t][:2], half[:1]]))

motion, scale = vectors[:, 7:9], vectors[:, 9:10]
assert np.array_equal(vectors[:, 3:5] - vectors[:, 5:7], np.trunc(motion / scale).astype(int)), "src = dst + trunc(motion / scale)"
half_pel = (motion % scale != 0).any(axis=1).mean()
print(f"{len(vectors)} vectors, motion_scale {sorted(set(scale.ravel().tolist()))}; {half_pel:.0%} have a half-pixel part")

# %% [markdown]
# kdlab keeps what CoViAR's own loader keeps: the integer displacement `mv = dst - src` (CoViAR's C
# loader computes `dst_x - src_x` too), painted over the block's pixels. The half-pixel part is dropped,
# and the motion compensation that kdlab then computes is an integer-pixel block copy. The decoder itself
# interpolated half pixels, so kdlab's residual is *not* the one in the bit stream; it is recomputed to
# match the integer vectors, which is what CoViAR does too.
#
# The dense field follows CoViAR's convention: at each pixel, the displacement *from* the reference
# frame, so motion to the right is positive x. The arrows go from where a block came from to where it is.

# %%
motion_arrows_figure(steps.mv[t], steps.frames[t], title=f"motion vectors of frame {t} (per frame)")

# %% [markdown]
# ### Exercise 1
# How often does kdlab drop a half pixel in x, and how often in y? And what is the largest motion, in
# pixels, among the vectors of this clip? (Use `vectors`, the `(M, 10)` array above.)

# %% tags=["solution"] jupyter={"source_hidden": true, "outputs_hidden": true}
# Solution. Column 7 is motion_x and column 8 motion_y, in units of 1/motion_scale px (column 9).
half_x = (vectors[:, 7] % vectors[:, 9] != 0).mean()
half_y = (vectors[:, 8] % vectors[:, 9] != 0).mean()
largest = np.abs(vectors[:, 7:9] / vectors[:, 9:10]).max()
print(f"half-pixel part dropped: x {half_x:.0%}, y {half_y:.0%}; largest motion {largest:.1f} px")
assert half_pel >= max(half_x, half_y)  # a vector has a half pixel when x or y has one

# %% [markdown]
# ## 4. One GOP, frame by frame and accumulated
#
# Per frame, the vectors point to the *previous* frame, so frame 7 depends on frame 6, which depends on
# frame 5, and so on back to the I-frame. CoViAR's key idea is to **accumulate**: trace every pixel back
# through the GOP to its position in the I-frame. Then the accumulated motion is the displacement from the
# I-frame, and the accumulated residual is the frame minus the I-frame warped by it: each P-frame depends
# on its I-frame only, and a network can take any frame of the GOP without the ones before it.
#
# The strip shows one GOP: the decoded frames, the motion per frame and accumulated (colour: direction;
# brightness: length), and the accumulated residual (white: the warped I-frame explains the pixel).

# %%
acc = extract(clip, accumulate=True, keep_frames=True)
gop = np.flatnonzero(acc.gop_index == 0)  # the frames of the first GOP
strip_positions = [0, 1, 4, 7, 11]
gop_strip_figure(acc.frames[gop], steps.mv[gop], acc.mv[gop], acc.residual[gop], strip_positions)

# %%
growth = [float(np.abs(acc.mv[i]).mean()) for i in gop]
per_frame = [float(np.abs(steps.mv[i]).mean()) for i in gop]
print("mean |motion| (px) along the GOP, per frame:  ", np.round(per_frame, 2))
print("mean |motion| (px) along the GOP, accumulated:", np.round(growth, 2))

# %% [markdown]
# **Try this.** Move the slider along the GOP: the per-frame field stays small while the accumulated one
# grows. (In a live notebook a second slider switches between the two; in the book the slider shows the
# accumulated field.)

# %%
def motion_at(position, kind="accumulated"):
    field = acc.mv if kind == "accumulated" else steps.mv
    frame = gop[position]
    return motion_arrows_figure(field[frame], acc.frames[frame], scale=1.0, title=f"{kind} motion at GOP position {position}")


interactive_figure(motion_at, {"position": list(range(1, len(gop))), "kind": ["accumulated", "per frame"]},
                   value={"position": 6, "kind": "accumulated"}, static=STATIC)

# %% [markdown]
# ### Exercise 2
# Accumulate by hand. `kdlab.codec.motion` states CoViAR's maths as small pure functions:
# `source_index(mv)` gives, at each pixel, the flat index of its source pixel in the reference;
# `compose(a, b)` chains two of them; `motion_from_index(src)` turns an index back into a field. Starting
# from `identity_index(H, W)`, compose the per-frame fields `steps.mv[t]` of the first GOP and check that
# you get `acc.mv[t]` exactly, and the accumulated residual too.

# %% tags=["solution"] jupyter={"source_hidden": true, "outputs_hidden": true}
# Solution. src_acc_t = src_acc_{t-1}[src_t]: where my source pixel itself came from.
src = identity_index(acc.height, acc.width)
for i in gop[1:]:
    src = compose(src, source_index(steps.mv[i].astype(np.int32)))
    assert np.array_equal(motion_from_index(src), acc.mv[i])
    assert np.array_equal(acc.frames[i].astype(np.int16) - warp(acc.iframe(i), motion_from_index(src)), acc.residual[i])
print(f"accumulated by hand = kdlab's fast tracer, bit for bit, on the {len(gop) - 1} P-frames of the GOP")

# %% [markdown]
# ## 5. Checks that can fail
#
# **The identity.** Warping the I-frame by the accumulated motion and adding the residual gives back the
# frame, exactly. This holds *by construction* (the residual is defined as that difference), so it only
# checks that the arrays are aligned and stored without loss; it cannot tell right vectors from wrong ones.

# %%
errors = []
for i in acc.p_positions():
    rebuilt = warp(acc.iframe(i), acc.mv[i]).astype(np.int16) + acc.residual[i]
    errors.append(int(np.abs(rebuilt - acc.frames[i]).max()))
assert max(errors) == 0, "I-frame warped by the accumulated motion + residual == frame"
print(f"largest reconstruction error over {len(errors)} P-frames: {max(errors)} grey levels (true by construction)")

# %% [markdown]
# **A clip whose motion is known.** A grey texture that moves 3 px right and 1 px up every frame, encoded
# as `kdlab reencode` encodes (MPEG-4 Part 2, GOP 12, top quality). If kdlab read the vectors with the wrong
# sign, scale or convention, the extracted field would not be `(+3, -1)` per frame and `k x (+3, -1)`
# accumulated after `k` frames, and warping the previous frame by it would not predict the next one.

# %%
velocity = (3, -1)  # px per frame: right, and up (image y grows downwards)
rng = np.random.default_rng(0)
height, width, count = 96, 128, 13
canvas = rng.integers(0, 256, (height // 4 + 20, width // 4 + 20, 1)).astype(np.uint8).repeat(4, 0).repeat(4, 1).repeat(3, 2)
# frame k shows the canvas through a window that moves against the motion, so the content moves with it
known_frames = np.stack([canvas[20 - velocity[1] * k: 20 - velocity[1] * k + height,
                                40 - velocity[0] * k: 40 - velocity[0] * k + width] for k in range(count)])
with tempfile.TemporaryDirectory() as tmp:
    known_path = encode_frames(known_frames, Path(tmp) / "known.mp4", EncodeSettings(width=width, height=height, gop=12))
    known = extract(known_path, accumulate=False, keep_frames=True)
    known_acc = extract(known_path, accumulate=True)
inner = (slice(16, -16), slice(16, -16))  # blocks away from the border, where new content enters


def share(field, expected):
    return float((field[inner] == np.asarray(expected)).all(axis=-1).mean())


per_frame_share = min(share(known.mv[k], velocity) for k in range(1, 12))
accumulated_share = min(share(known_acc.mv[k], (k * velocity[0], k * velocity[1])) for k in range(1, 12))
prediction_error = np.mean([np.abs(warp(known.frames[k - 1], known.mv[k]).astype(int) - known.frames[k])[inner].mean() for k in range(1, 12)])
still_error = np.mean([np.abs(known.frames[k - 1].astype(int) - known.frames[k])[inner].mean() for k in range(1, 12)])
print(f"per-frame field (+3, -1) on at least {per_frame_share:.0%} of the inner pixels of every P-frame")
print(f"accumulated field k x (+3, -1) on at least {accumulated_share:.0%} of them")
print(f"previous frame warped by the vectors: {prediction_error:.2f} grey levels off; not warped: {still_error:.1f}")
assert per_frame_share >= 0.95 and accumulated_share >= 0.75, "the vectors recover the known motion"
assert prediction_error < 0.1 * still_error, "the vectors predict the next frame from the previous one"

# %% [markdown]
# **The previous frame, on real video.** The same prediction on the soccer clip: each P-frame from the
# decoded frame before it and its own vectors. Real motion is not a block translation (and kdlab drops
# the half pixels), so the prediction is not exact, but it should beat the frame before it taken as is.

# %%
predicted = np.mean([np.abs(warp(steps.frames[i - 1], steps.mv[i]).astype(int) - steps.frames[i]).mean() for i in steps.p_positions()])
unmoved = np.mean([np.abs(steps.frames[i - 1].astype(int) - steps.frames[i]).mean() for i in steps.p_positions()])
print(f"mean |frame - previous frame warped|: {predicted:.2f}; mean |frame - previous frame|: {unmoved:.2f} grey levels")
assert predicted < unmoved, "motion compensation explains part of the change"

# %% [markdown]
# ## 6. What the networks actually see
#
# The networks never see raw vectors. CoViAR maps each representation to an 8-bit image and normalises it
# (`kdlab.data.transforms`): motion becomes `mv * 127.5 / 20 + 128`, clipped to `[0, 255]`, then `/255 - 0.5`,
# so **20 px of motion saturates** at ±0.5; the residual becomes `residual + 128`, clipped, then scaled by
# ImageNet's standard deviations. Below, the two motion channels of the last frame of the GOP, accumulated,
# as the motion network receives them (before cropping and resizing).

# %%
last = gop[-1]
mv_input = normalise("mv", to_image("mv", acc.mv[last][None]))[0]
print(f"motion input range [{mv_input.min():.3f}, {mv_input.max():.3f}]; "
      f"{(np.abs(acc.mv[acc.p_positions()]) >= MV_SATURATION_PX).mean():.2%} of the accumulated values of the clip saturate")
channels_figure({"motion x (network input)": mv_input[..., 0], "motion y (network input)": mv_input[..., 1]},
                zmin=-0.5, zmax=0.5, title="accumulated motion after CoViAR's normalisation (+-0.5 = 20 px)")

# %%
residual_figure(acc.residual[last], title="accumulated residual (what the warped I-frame misses)")

# %% [markdown]
# ### Exercise 3
# An object moves 7 px to the right per frame. What does the motion network's x input read at that object
# after 1, 2, 3 and 4 frames of accumulation? Work it out with the formula, then check with `to_image` and
# `normalise`.

# %% tags=["solution"] jupyter={"source_hidden": true, "outputs_hidden": true}
# Solution. x input = clip(int(mv * 127.5 / 20) + 128, 0, 255) / 255 - 0.5; from 3 frames on (21 px) it saturates.
for k in (1, 2, 3, 4):
    by_hand = min(255, int(7 * k * 127.5 / 20) + 128) / 255 - 0.5
    field = np.full((1, 1, 1, 2), (7 * k, 0), np.int16)
    library = float(normalise("mv", to_image("mv", field))[0, 0, 0, 0])
    assert abs(by_hand - library) < 1e-6
    print(f"after {k} frame(s): {7 * k:2d} px -> {library:+.3f}")

# %% [markdown]
# ## 7. What the compressed domain saves, measured
#
# On this clip, on this machine: kdlab's extraction of all three representations (decoding included)
# against OpenCV's Farneback optical flow on the same frames (each the fastest of a few runs); then how
# sparse the inputs are.

# %%
def fastest(run, repeats):
    """The fastest of ``repeats`` timings, as `kdlab bench` reports (a shared machine only ever slows a run down)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


frames_timed = 24 if SMOKE else 120
extract_fps = acc.num_frames / fastest(lambda: extract(clip, accumulate=True), 2 if SMOKE else 3)
try:
    flow_fps = max(frames / seconds for frames, seconds in  # the flow alone, its decoding not counted
                   (farneback(clip, max_frames=frames_timed) for _ in range(1 if SMOKE else 2)))
except ImportError:  # OpenCV comes with kdlab's `bench` extra
    flow_fps = float("nan")
p_frames = acc.p_positions()
zero_motion = float((acc.mv[p_frames] == 0).all(axis=-1).mean())
small_residual = float((np.abs(acc.residual[p_frames]) <= 4).mean())
vectors_per_frame = report["motion_vectors"]["vectors_per_frame"]
print(f"extraction (decode + I-frame + motion + residual, accumulated): {extract_fps:.0f} frames/s")
print(f"Farneback optical flow alone: {flow_fps:.0f} frames/s, so {extract_fps / flow_fps:.0f}x slower")
print(f"motion: {vectors_per_frame:.0f} vectors per frame for {acc.height * acc.width} pixels; "
      f"{zero_motion:.0%} of the accumulated motion is zero")
print(f"residual: {small_residual:.0%} of its values within +-4 grey levels")

# %% [markdown]
# The README's benchmark (`kdlab bench codec`, the fastest of five runs, on a 340x256 clip) measured
# extraction at 2050-2410 frames/s and Farneback at 40-51 frames/s: 41-56x. A single timing like the one
# above moves by 20-30 % from run to run on a shared machine; the order of magnitude does not.
#
# ## 8. A clip of the synthetic benchmark
#
# kdlab's embedded benchmark (`kdlab synth`, described in `data/README.md`) is built so that each
# representation carries different evidence: the actor's colour shows in the I-frame, its motion pattern
# (rise, fall, slide, swing, ...) in the vectors, and effects such as flicker or ripples mostly in the
# residual. Two colours are shared by two classes each, so one I-frame cannot always name the class: that
# is where the motion and residual teachers of [notebook 02](02_teachers.ipynb) will have something to teach.

# %%
space = workspace(smoke=SMOKE)
synthetic = sorted(space.data.glob("*/*.avi"))[0]
syn = extract(synthetic, accumulate=True, keep_frames=True)
p = int(syn.p_positions()[len(syn.p_positions()) // 2])
print(synthetic.relative_to(space.data), syn.frame_types)
motion_arrows_figure(syn.mv[p], syn.frames[p], step=8, title=f"{synthetic.parent.name}: accumulated motion")

# %%
residual_figure(syn.residual[p], title=f"{synthetic.parent.name}: accumulated residual")

# %% [markdown]
# ## 9. Why B-frames need re-encoding
#
# A **B-frame** is predicted from a past *and a future* frame. Many real videos have them: Xvid and DivX
# AVIs often do, and so do most H.264 files (its Main and High profiles allow B-frames; its Baseline profile
# does not, though H.264 departs from CoViAR's setting in other ways, such as several reference frames and
# blocks down to 4x4). With B-frames
# the vectors no longer form one backward chain from each frame to its I-frame, so accumulation breaks.
# kdlab refuses such videos with a message that names the fix; `kdlab reencode` writes CoViAR's format
# (MPEG-4 Part 2, no B-frames, GOP 12, 340x256).

# %%
b_clip = sample_path("TrumanShow_wave_f_nm_np1_fr_med_26.avi")
b_types = inspect_video(b_clip)["frame_types"]
print(b_types)
try:
    extract(b_clip)
    refused = False
except BFramesError as error:
    refused = True
    print(error)
assert "B" in b_types and refused, "a clip with B-frames is refused, with the fix in the message"

# %%
with tempfile.TemporaryDirectory() as tmp:
    fixed = reencode_file(b_clip, Path(tmp) / "truman.mp4")
    fixed_reps = extract(fixed, accumulate=True)
assert "B" not in fixed_reps.frame_types
print(f"after re-encoding: {fixed_reps.frame_types}")
print(f"{fixed_reps.num_frames} frames in {fixed_reps.num_gops} GOPs of {fixed_reps.width}x{fixed_reps.height}")

# %% [markdown]
# ### Exercise 4
# Re-encode the known-motion clip with GOPs of 6 frames instead of 12 (`EncodeSettings(gop=6)`). Where does
# the accumulated motion go back to zero, and why does that matter for a network that samples one P-frame
# per segment?

# %% tags=["solution"] jupyter={"source_hidden": true, "outputs_hidden": true}
# Solution. Accumulation restarts at every I-frame: frame 6 is an I-frame, frame 7 is one step from it.
with tempfile.TemporaryDirectory() as tmp:
    path = encode_frames(known_frames, Path(tmp) / "gop6.mp4", EncodeSettings(width=width, height=height, gop=6))
    gop6 = extract(path, accumulate=True)
print(gop6.frame_types)
print("accumulated x motion at each frame:", [int(np.median(gop6.mv[k][inner][..., 0])) for k in range(count)])
assert int(np.median(gop6.mv[7][inner][..., 0])) == velocity[0]
# Shorter GOPs mean shorter accumulated motion (less saturation at 20 px) but more I-frames, so more
# frames for the big I-frame network: the cost that notebook 04 counts per GOP.

# %% [markdown]
# ## What to take away
#
# The numbers below were computed just now.

# %%
print(f"- kdlab (like CoViAR) decodes every frame; what it saves is optical flow: extraction ran at {extract_fps:.0f} "
      f"frames/s here, Farneback flow alone at {flow_fps:.0f} frames/s.")
print(f"- Motion vectors come in half pixels (motion_scale 2); {half_pel:.0%} of this clip's vectors had a half-pixel part, "
      "which kdlab, like CoViAR's loader, drops (mv = dst - src, integer).")
print(f"- Accumulation traces each P-frame to its I-frame: the mean |motion| grows from {growth[1]:.2f} to {growth[-1]:.2f} px "
      "along the first GOP, and the networks see it saturated at 20 px.")
print(f"- I-frame + accumulated motion + residual = frame holds by construction; the check that can fail passed: a known "
      f"(+3, -1) px motion was recovered on {per_frame_share:.0%} of the inner pixels and predicts the next frame "
      f"to {prediction_error:.1f} grey levels.")
print("- Videos with B-frames are refused with a clear message; `kdlab reencode` makes them CoViAR's MPEG-4 Part 2 "
      f"({''.join(sorted(set(fixed_reps.frame_types)))} frames only after re-encoding).")

# %% [markdown]
# ## References
#
# * C.-Y. Wu, M. Zaheer, H. Hu, R. Manmatha, A. J. Smola, P. Krähenbühl. *Compressed Video Action Recognition.*
#   CVPR 2018. [arXiv:1712.00636](https://arxiv.org/abs/1712.00636); code: github.com/chaoyuaw/pytorch-coviar.
# * M.-C. Wu, C.-T. Chiu. *Multi-teacher knowledge distillation for compressed video action recognition based on
#   deep learning.* Journal of Systems Architecture 103 (2020) 101695.
#   [doi:10.1016/j.sysarc.2019.101695](https://doi.org/10.1016/j.sysarc.2019.101695).
# * ISO/IEC 14496-2, *Coding of audio-visual objects, Part 2: Visual* (MPEG-4 Part 2): half-pixel motion compensation.
# * T. Wiegand, G. J. Sullivan, G. Bjøntegaard, A. Luthra. *Overview of the H.264/AVC video coding standard.* IEEE
#   TCSVT 13(7), 2003. [doi:10.1109/TCSVT.2003.815165](https://doi.org/10.1109/TCSVT.2003.815165) (profiles, B-frames,
#   multiple reference frames).
# * G. Farnebäck. *Two-frame motion estimation based on polynomial expansion.* SCIA 2003.
#   [doi:10.1007/3-540-45103-X_50](https://doi.org/10.1007/3-540-45103-X_50).
# * K. Soomro, A. R. Zamir, M. Shah. *UCF101: A dataset of 101 human action classes from videos in the wild.* 2012.
#   [arXiv:1212.0402](https://arxiv.org/abs/1212.0402) (the bundled clip).
#
# Next: [02 · Three teachers, three views of the same clips](02_teachers.ipynb).
