"""Recovered motion, accumulation, warping and residuals on videos whose motion is known."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from kdlab.codec import extract, iter_frames, motion, trace
from kdlab.codec.trace import MotionTracer
from tests.videos import write_clip


def _interior_blocks(square, t, mvs, margin=0):
    """Vectors of the blocks that lie wholly inside the square in frame t (and t-1)."""
    x0, y0 = square.corner(t)
    px, py = square.corner(t - 1)
    left, top = max(x0, px) + margin, max(y0, py) + margin
    right, bottom = min(x0, px) + square.size - margin, min(y0, py) + square.size - margin
    w, h = mvs[:, 1], mvs[:, 2]
    bx0, by0 = mvs[:, 5] - w // 2, mvs[:, 6] - h // 2
    inside = (bx0 >= left) & (by0 >= top) & (bx0 + w <= right) & (by0 + h <= bottom)
    return mvs[inside]


def test_vectors_have_the_objects_sign_and_size(square):
    frames = list(iter_frames(square.path))
    assert [f.pict_type for f in frames] == list("IPPPPPPPPPPP" * 2)
    hits = total = 0
    for frame in frames:
        if frame.pict_type != "P":
            continue
        inner = _interior_blocks(square, frame.index, frame.mvs)
        assert len(inner) > 0, f"frame {frame.index}: no block wholly inside the square"
        mv = inner[:, 5:7] - inner[:, 3:5]  # dst - src: CoViAR's displacement from the reference
        assert (np.sign(mv[:, 0]) >= 0).all() and (np.sign(mv[:, 1]) <= 0).all()
        hits += int((mv == square.velocity).all(axis=1).sum())
        total += len(mv)
    assert hits / total >= 0.9, f"only {hits}/{total} interior blocks recovered {square.velocity}"


def test_static_background_has_zero_motion(square):
    for frame in iter_frames(square.path):
        if frame.pict_type != "P":
            continue
        x, y = square.corner(frame.index)
        px, py = square.corner(frame.index - 1)
        w, h = frame.mvs[:, 1], frame.mvs[:, 2]
        bx0, by0 = frame.mvs[:, 5] - w // 2, frame.mvs[:, 6] - h // 2
        far = (bx0 + w < min(x, px) - 16) | (bx0 > max(x, px) + square.size + 16)
        far |= (by0 + h < min(y, py) - 16) | (by0 > max(y, py) + square.size + 16)
        background = frame.mvs[far]
        moving = (background[:, 5:7] != background[:, 3:5]).any(axis=1)
        assert moving.mean() <= 0.05


def test_accumulated_motion_is_the_sum_of_per_frame_motion(square):
    """For constant motion, the accumulated field is the sum of the per-frame fields along the trace."""
    acc = extract(square.path, accumulate=True)
    step = extract(square.path, accumulate=False)
    vx, vy = square.velocity
    for t in range(step.num_frames):
        k = int(acc.gop_pos[t])
        if k == 0:
            continue
        # pixels deep inside the square now, whose trace stays inside it back to the I-frame
        x, y = square.corner(t)
        ys, xs = slice(y + 8, y + square.size - 8), slice(x + 8, x + square.size - 8)
        # follow the trace: at step j back, the pixel was at p - j * v
        summed = sum(
            step.mv[t - j][ys.start - j * vy : ys.stop - j * vy, xs.start - j * vx : xs.stop - j * vx].astype(np.int32)
            for j in range(k)
        )
        accumulated = acc.mv[t][ys, xs]
        agree = (accumulated == summed).all(axis=-1).mean()
        assert agree >= 0.9, f"frame {t}: accumulated motion equals the summed steps on only {agree:.0%}"
        exact = (accumulated == (k * vx, k * vy)).all(axis=-1).mean()
        assert exact >= 0.9, f"frame {t}: accumulated motion is {k} x {square.velocity} on only {exact:.0%}"


@pytest.mark.parametrize("accumulate", [True, False])
def test_warped_reference_plus_residual_is_the_decoded_frame(square, accumulate):
    reps = extract(square.path, accumulate=accumulate, keep_frames=True)
    for t in reps.p_positions():
        reference = reps.iframe(t) if accumulate else reps.frames[t - 1]
        rebuilt = motion.warp(reference, reps.mv[t]).astype(np.int16) + reps.residual[t]
        np.testing.assert_array_equal(rebuilt, reps.frames[t], err_msg=f"frame {t}")


def test_motion_compensation_lowers_residual_energy(square):
    reps = extract(square.path, accumulate=True, keep_frames=True)
    for t in reps.p_positions():
        zero_motion = reps.frames[t].astype(np.int32) - reps.iframe(t)
        compensated = reps.residual[t].astype(np.int32)
        assert (compensated**2).sum() < 0.5 * (zero_motion**2).sum(), f"frame {t}"


def test_extraction_layout(square):
    reps = extract(square.path)
    n, (h, w) = 24, (128, 192)
    assert reps.frame_types == "IPPPPPPPPPPP" * 2
    assert reps.iframes.shape == (2, h, w, 3) and reps.iframes.dtype == np.uint8
    assert reps.mv.shape == (n, h, w, 2) and reps.residual.shape == (n, h, w, 3)
    np.testing.assert_array_equal(reps.gop_index, [0] * 12 + [1] * 12)
    np.testing.assert_array_equal(reps.gop_pos, list(range(12)) * 2)
    assert not reps.mv[reps.gop_pos == 0].any() and not reps.residual[reps.gop_pos == 0].any()
    compact = extract(square.path, precision="compact")
    assert compact.mv.dtype == np.int8 and compact.residual.dtype == np.int8
    np.testing.assert_array_equal(compact.residual, np.clip(reps.residual, -128, 127))
    np.testing.assert_array_equal(compact.mv, np.clip(reps.mv, -128, 127))


# --- the pure functions, on hand-made inputs -------------------------------------------------


def _vector(dst_x, dst_y, mv_x, mv_y, w=16, h=16, source=-1):
    """One raw FFmpeg vector (MV_FIELDS order) of a block centred on dst with motion dst - src."""
    return [source, w, h, dst_x - mv_x, dst_y - mv_y, dst_x, dst_y, -2 * mv_x, -2 * mv_y, 2]


def test_block_motion_paints_blocks_and_leaves_uncovered_cells_zero():
    mvs = np.array([_vector(8, 8, 3, -1), _vector(36, 4, -2, 5, w=8, h=8), _vector(24, 8, 9, 9, source=1)], np.int32)
    field = motion.block_motion(mvs, 16, 48)
    assert field.shape == (2, 6, 2)  # natural cell: gcd(16, 8, corners) = 8
    np.testing.assert_array_equal(field[:, :2], np.broadcast_to([3, -1], (2, 2, 2)))
    np.testing.assert_array_equal(field[0, 4], [-2, 5])
    assert not field[:, 2:4].any(), "a future-reference vector (source=+1) must not be painted"
    assert not field[1, 4:].any() and not field[0, 5].any()
    dense = motion.dense_motion(field, 16, 48)
    assert dense.shape == (16, 48, 2)
    np.testing.assert_array_equal(dense[0:16, 0:16], np.broadcast_to([3, -1], (16, 16, 2)))
    np.testing.assert_array_equal(dense[0:8, 32:40], np.broadcast_to([-2, 5], (8, 8, 2)))


def test_source_index_clamps_to_the_frame_edges():
    mv = np.zeros((4, 5, 2), np.int32)
    mv[..., 0] = 2  # everything came from 2 px to the left
    src = motion.source_index(mv)
    xs = src % 5
    np.testing.assert_array_equal(xs[0], [0, 0, 0, 1, 2])
    image = np.arange(20, dtype=np.uint8).reshape(4, 5, 1).repeat(3, axis=2)
    np.testing.assert_array_equal(motion.warp(image, mv)[1, :, 0], [5, 5, 5, 6, 7])


def test_compose_chains_two_steps():
    right = np.zeros((3, 6, 2), np.int32)
    right[..., 0] = 1
    once = motion.source_index(right)
    twice = motion.compose(once, once)
    np.testing.assert_array_equal(motion.motion_from_index(twice)[1, 2:], np.broadcast_to([2, 0], (4, 2)))
    np.testing.assert_array_equal(motion.motion_from_index(twice)[1, :2], [[0, 0], [1, 0]])  # clamped at the edge


@pytest.mark.parametrize("accumulate", [True, False])
def test_fast_tracer_equals_the_pure_functions(square, accumulate, samples):
    """MotionTracer (the fast path) reproduces motion.py's definitions on real and synthetic video."""
    for path in (square.path, samples / "v_SoccerJuggling_g23_c01.avi"):
        tracer = None
        for frame in iter_frames(path):
            height, width = frame.rgb.shape[:2]
            if frame.pict_type == "I":
                tracer = tracer or MotionTracer(height, width, accumulate)
                tracer.start_gop(frame.rgb)
                iframe, previous = frame.rgb, frame.rgb
                trace = motion.identity_index(height, width)
                continue
            block = motion.block_motion(frame.mvs, height, width)
            mv, res = tracer.step(block, frame.rgb)
            step_mv = motion.dense_motion(block, height, width)
            step_src = motion.source_index(step_mv)
            if accumulate:
                trace = motion.compose(trace, step_src)
                np.testing.assert_array_equal(mv, motion.motion_from_index(trace))
                np.testing.assert_array_equal(res, motion.residual(frame.rgb, iframe, trace))
            else:
                np.testing.assert_array_equal(mv, step_mv)
                np.testing.assert_array_equal(res, motion.residual(frame.rgb, previous, step_src))
            previous = frame.rgb


@pytest.mark.parametrize("accumulate", [True, False])
@pytest.mark.parametrize("cell, height, width", [(16, 37, 53), (8, 40, 44), (4, 21, 30), (16, 64, 80)])
def test_fast_tracer_equals_the_pure_functions_on_random_block_motion(accumulate, cell, height, width):
    """Sizes that are not whole blocks, vectors that leave the frame on every side, several steps."""
    rng = np.random.default_rng(cell * height * width)
    rows, cols = -(-height // cell), -(-width // cell)
    iframe = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    tracer, narrow = MotionTracer(height, width, accumulate), MotionTracer(height, width, accumulate)
    tracer.start_gop(iframe)
    narrow.start_gop(iframe)
    trace, previous = motion.identity_index(height, width), iframe
    for _ in range(5):
        block = rng.integers(-10 * cell, 10 * cell + 1, (rows, cols, 2)).astype(np.int32)  # beyond int8, some
        block[rng.random((rows, cols)) < 0.3] = 0
        frame = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        mv, res = tracer.step(block, frame)
        step_mv = motion.dense_motion(block, height, width)
        step_src = motion.source_index(step_mv)
        if accumulate:
            trace = motion.compose(trace, step_src)
            np.testing.assert_array_equal(mv, motion.motion_from_index(trace))
            np.testing.assert_array_equal(res, motion.residual(frame, iframe, trace))
        else:
            np.testing.assert_array_equal(mv, step_mv)
            np.testing.assert_array_equal(res, motion.residual(frame, previous, step_src))
        # the same step into int8 outputs: the int16 results, clipped
        mv8, res8 = np.empty(mv.shape, np.int8), np.empty(res.shape, np.int8)
        narrow.step(block, frame, mv8, res8)
        np.testing.assert_array_equal(mv8, np.clip(mv, -128, 127))
        np.testing.assert_array_equal(res8, np.clip(res, -128, 127))
        previous = frame


@pytest.mark.parametrize("cell, height, width", [(16, 37, 53), (8, 40, 44), (4, 21, 30)])
def test_advance_then_step_equals_the_pure_functions(cell, height, width):
    """A seeking reader advances over frames it does not want (coordinates only) and steps on the
    ones it does, also twice in a row after an advance: each step's motion and residual equal the
    pure functions' accumulated trace, int16 and int8."""
    rng = np.random.default_rng(cell + height + width)
    rows, cols = -(-height // cell), -(-width // cell)
    iframe = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    tracer = MotionTracer(height, width, accumulate=True)
    tracer.start_gop(iframe)
    trace, checked = motion.identity_index(height, width), 0
    for wanted in (False, False, True, True, False, True, False, False, True):
        block = rng.integers(-10 * cell, 10 * cell + 1, (rows, cols, 2)).astype(np.int32)
        block[rng.random((rows, cols)) < 0.3] = 0
        trace = motion.compose(trace, motion.source_index(motion.dense_motion(block, height, width)))
        if not wanted:
            tracer.advance(block)
            continue
        frame = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        mv8, res8 = np.empty((height, width, 2), np.int8), np.empty((height, width, 3), np.int8)
        if checked % 2:
            mv, res = tracer.step(block, frame, mv8, res8)
            expected_mv = np.clip(motion.motion_from_index(trace), -128, 127)
            expected_res = np.clip(motion.residual(frame, iframe, trace), -128, 127)
        else:
            mv, res = tracer.step(block, frame)
            expected_mv, expected_res = motion.motion_from_index(trace), motion.residual(frame, iframe, trace)
        np.testing.assert_array_equal(mv, expected_mv)
        np.testing.assert_array_equal(res, expected_res)
        checked += 1
    assert checked == 4


def test_compiled_painting_equals_the_reference(square, samples):
    """trace.block_motion (compiled) paints exactly as motion.block_motion, on real vectors and on
    mixed 16x16 / 8x8 blocks with future-reference vectors and blocks that stick out of the frame."""
    checked = 0
    for path in (square.path, samples / "v_SoccerJuggling_g23_c01.avi", samples / "TrumanShow_wave_f_nm_np1_fr_med_26.avi"):
        for frame in iter_frames(path, allow_bframes=True):  # B-frames: vectors from both references
            if frame.mvs is None:
                continue
            height, width = frame.rgb.shape[:2]
            np.testing.assert_array_equal(trace.block_motion(frame.mvs, height, width), motion.block_motion(frame.mvs, height, width))
            checked += 1
    assert checked > 50
    rng = np.random.default_rng(0)
    for _ in range(20):  # macroblocks: whole, split in four 8x8 (MPEG-4's 4MV), or intra (no vector)
        blocks = []
        for my, mx in np.ndindex(3, 4):
            kind = rng.integers(3)
            for sy, sx in [(0, 0)] if kind == 0 else [(0, 0), (0, 8), (8, 0), (8, 8)] if kind == 1 else []:
                size = 16 if kind == 0 else 8
                centre = (mx * 16 + sx + size // 2, my * 16 + sy + size // 2)
                blocks.append(_vector(*centre, *rng.integers(-20, 21, 2), w=size, h=size, source=int(rng.choice([-1, -1, 1]))))
        mvs = np.array(blocks, np.int32).reshape(-1, 10)
        np.testing.assert_array_equal(trace.block_motion(mvs, 40, 60), motion.block_motion(mvs, 40, 60))
    empty = np.zeros((0, 10), np.int32)
    np.testing.assert_array_equal(trace.block_motion(empty, 40, 60), motion.block_motion(empty, 40, 60))


def test_tracer_rejects_what_it_cannot_hold():
    tracer = MotionTracer(16, 32)
    with pytest.raises(RuntimeError, match="start_gop"):
        tracer.step(np.zeros((1, 2, 2), np.int32), np.zeros((16, 32, 3), np.uint8))
    tracer.start_gop(np.zeros((16, 32, 3), np.uint8))
    with pytest.raises(ValueError, match="shape"):
        tracer.step(np.zeros((1, 2, 2), np.int32), np.zeros((16, 30, 3), np.uint8))
    with pytest.raises(ValueError, match="int8 or int16"):
        tracer.step(np.zeros((1, 2, 2), np.int32), np.zeros((16, 32, 3), np.uint8), mv_out=np.zeros((16, 32, 2), np.int32))
    with pytest.raises(ValueError, match="32767"):
        MotionTracer(16, 40000)


def test_extraction_does_not_depend_on_the_number_of_threads(samples, tmp_path):
    """GOPs are traced in parallel threads; a 340x256 copy (not whole macroblocks wide) as in the benchmark."""
    from kdlab.codec import EncodeSettings, reencode_file

    clip = reencode_file(samples / "v_SoccerJuggling_g23_c01.avi", tmp_path / "clip.mp4", EncodeSettings(width=340, height=256))
    one = extract(clip, threads=1)
    for threads in (2, 3):
        other = extract(clip, threads=threads)
        np.testing.assert_array_equal(one.mv, other.mv)
        np.testing.assert_array_equal(one.residual, other.residual)
    compact = extract(clip, precision="compact", threads=2)
    np.testing.assert_array_equal(compact.mv, np.clip(one.mv, -128, 127))
    np.testing.assert_array_equal(compact.residual, np.clip(one.residual, -128, 127))
    assert one.residual[one.gop_pos > 0].any() and one.mv[one.gop_pos > 0].any()


def test_codec_benchmark_reports_every_figure(square):
    """``kdlab bench codec`` on a small clip: every figure is measured (speeds are reported, not asserted)."""
    from kdlab.bench.codec import run

    results = run(square.path, repeats=1)
    assert results["frames"] == 24
    for key in ("decode_fps", "decode_as_reader_fps", "extract_compact_fps", "extract_exact_fps", "extract_no_accumulate_fps"):
        assert results[key] > 0, key
    assert 0 < results["sample_read_ms"] < 1000
    assert results["goals"]["extract_vs_decode"] == pytest.approx(results["extract_compact_fps"] / results["decode_fps"])


def test_long_gops_are_traced_in_pieces_with_the_same_results(tmp_path, monkeypatch):
    """A 30-frame GOP traced in pieces of 4 frames (carried across pieces by one tracer, pieces of
    other GOPs traced meanwhile) equals it traced whole."""
    extract_module = importlib.import_module("kdlab.codec.extract")  # the module, not the function it exports
    video = write_clip(tmp_path / "long_gops.mp4", frames=75, gop=30)
    whole = {acc: extract(video, accumulate=acc, keep_frames=True, keep_vectors=True, threads=2) for acc in (True, False)}
    monkeypatch.setattr(extract_module, "PIECE_FRAMES", 4)
    pieces = list(extract_module.GopStream(video, threads=2))
    assert [len(p) for p in pieces[:9]] == [4] * 7 + [2, 4] and [p.starts_gop for p in pieces].count(True) == 3
    for accumulate, reference in whole.items():
        reps = extract(video, accumulate=accumulate, keep_frames=True, keep_vectors=True, threads=2)
        assert reps.frame_types == reference.frame_types == ("I" + "P" * 29) * 2 + "I" + "P" * 14
        for key in ("iframes", "mv", "residual", "frames"):
            np.testing.assert_array_equal(getattr(reps, key), getattr(reference, key), err_msg=key)
        assert all(np.array_equal(a, b) for a, b in zip(reps.vectors, reference.vectors))
        assert np.abs(reps.mv).max() > 0
