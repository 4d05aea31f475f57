"""The renderer's speed-ups keep its pixels: pinned digests of :func:`render_clip`, and the fast primitives.

:func:`kdlab.data.render.render_clip` draws colour planes several frames at a time and textures only
the pixels a shape covers; it must give exactly the pixels of drawing frame by frame (the synthetic
set is defined by its pixels: ``synth.json`` records specs, not videos). The specs below are
hard-coded (not planned), so that a change of the planner does not move them: five clips of a
24-class set (96x80, 24 frames) that cover every residual effect (Steady, Ripple, Wobble, Flicker,
Sparkle), every texture, the disc and polygons, spin and zoom, the band, and distractors.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from kdlab.data import render
from kdlab.data.render import render_clip, sample_bilinear, sample_grid, shift_crop

SPECS = [
    {
        "video": "v_PaleGreenFallSteady_g01_c01", "class_name": "PaleGreenFallSteady", "label": 10, "split": "test",
        "group": 1, "clip": 1, "appearance": "PaleGreen", "motion": "Fall", "residual": "Steady", "frames": 24,
        "width": 96, "height": 80, "seed": 1190118889,
        "params": {
            "scene": {
                "seed": 2109068686, "margin": 20, "colors": [[313.376, 0.349, 0.46], [72.734, 0.36, 0.6]],
                "band": None,
            },
            "actor": {
                "shape": "triangle", "radius": 13.06, "texture": "checker", "hue": 120.845, "saturation": 0.292,
                "value": 1.0, "contrast": 75.357, "rim": 0.387, "period": 6.941, "angle": 151.756,
                "offset": [-0.772, -2.439], "grain_seed": 378510099,
            },
            "track": {
                "jitter": 0.03, "jitter_period": 11.806, "jitter_phase": 0.787, "angle0": 292.119,
                "drift": [0.0, 0.0], "direction": 77.342, "fill": 0.495, "speed": 1.304, "start": [41.778, 13.358],
            },
            "effect": {},
            "camera": {"pan": [0.212, 0.307], "shake": 0.738},
            "band_speed": -1.061,
            "distractors": [
                {
                    "shape": "hexagon", "radius": 5.701, "hue": 49.341, "saturation": 0.321, "value": 0.959,
                    "texture": "checker", "contrast": 86.311, "rim": 0.333, "period": 5.197, "angle": 84.744,
                    "offset": [-1.437, 1.929], "grain_seed": 1222038965, "start": [67.249, 18.36],
                    "velocity": [-0.327, 0.149],
                },
            ],
            "light": {"amplitude": 7.562, "period": 75.729, "phase": 2.31},
            "noise": 0.775,
        },
    },
    {
        "video": "v_PaleCyanBounceRipple_g01_c01", "class_name": "PaleCyanBounceRipple", "label": 13,
        "split": "test", "group": 1, "clip": 1, "appearance": "PaleCyan", "motion": "Bounce", "residual": "Ripple",
        "frames": 24, "width": 96, "height": 80, "seed": 510033556,
        "params": {
            "scene": {
                "seed": 1217432045, "margin": 20, "colors": [[282.983, 0.154, 0.327], [40.991, 0.313, 0.839]],
                "band": {"top": 35.322, "height": 21.037, "color": [43.472, 0.431, 0.586], "seed": 372971563},
            },
            "actor": {
                "shape": "square", "radius": 14.876, "texture": "rings", "hue": 189.849, "saturation": 0.365,
                "value": 0.972, "contrast": 89.598, "rim": 0.309, "period": 4.346, "angle": 76.449,
                "offset": [-4.84, 2.675], "grain_seed": 1528163952,
            },
            "track": {
                "jitter": 0.249, "jitter_period": 13.761, "jitter_phase": 0.353, "angle0": 46.712,
                "drift": [0.069, -0.124], "direction": 70.074, "amplitude": 7.579, "period": 21.188, "phase": 4.922,
                "start": [55.819, 32.86],
            },
            "effect": {"amplitude": 1.768, "wavelength": 6.172, "period": 5.564, "phase": 2.766},
            "camera": {"pan": [0.063, 0.08], "shake": 0.117},
            "band_speed": -0.822,
            "distractors": [
                {
                    "shape": "hexagon", "radius": 5.91, "hue": 188.787, "saturation": 0.393, "value": 0.977,
                    "texture": "dots", "contrast": 73.769, "rim": 0.328, "period": 4.6, "angle": 90.527,
                    "offset": [1.719, -1.223], "grain_seed": 1368675026, "start": [67.347, 65.902],
                    "velocity": [-0.555, -0.634],
                },
            ],
            "light": {"amplitude": 2.27, "period": 49.647, "phase": 2.101},
            "noise": 1.495,
        },
    },
    {
        "video": "v_PaleOrangeSpinWobble_g01_c01", "class_name": "PaleOrangeSpinWobble", "label": 14,
        "split": "test", "group": 1, "clip": 1, "appearance": "PaleOrange", "motion": "Spin", "residual": "Wobble",
        "frames": 24, "width": 96, "height": 80, "seed": 1946069872,
        "params": {
            "scene": {
                "seed": 1264254938, "margin": 20, "colors": [[24.592, 0.38, 0.358], [130.717, 0.115, 0.625]],
                "band": {"top": 22.121, "height": 16.142, "color": [31.702, 0.429, 0.396], "seed": 1826074086},
            },
            "actor": {
                "shape": "disc", "radius": 13.904, "texture": "dots", "hue": 30.839, "saturation": 0.477,
                "value": 0.987, "contrast": 77.565, "rim": 0.399, "period": 6.073, "angle": 8.294,
                "offset": [2.988, 3.976], "grain_seed": 2103260058,
            },
            "track": {
                "jitter": 0.334, "jitter_period": 14.489, "jitter_phase": 5.33, "angle0": 297.232,
                "drift": [0.171, 0.017], "spin": 4.793, "start": [28.528, 45.292],
            },
            "effect": {"amplitude": 0.152, "lobes": 5, "period": 7.714, "phase": 1.583, "angle": 5.322},
            "camera": {"pan": [0.079, 0.12], "shake": 0.614},
            "band_speed": 0.686,
            "distractors": [
                {
                    "shape": "square", "radius": 7.456, "hue": 359.296, "saturation": 0.37, "value": 0.948,
                    "texture": "stripes", "contrast": 78.386, "rim": 0.355, "period": 4.478, "angle": 13.298,
                    "offset": [-2.327, 1.39], "grain_seed": 1793337246, "start": [56.561, 22.22],
                    "velocity": [0.791, 0.561],
                },
            ],
            "light": {"amplitude": 7.402, "period": 67.46, "phase": 1.619},
            "noise": 1.381,
        },
    },
    {
        "video": "v_RedGrowFlicker_g02_c01", "class_name": "RedGrowFlicker", "label": 16, "split": "train",
        "group": 2, "clip": 1, "appearance": "Red", "motion": "Grow", "residual": "Flicker", "frames": 24,
        "width": 96, "height": 80, "seed": 677728621,
        "params": {
            "scene": {
                "seed": 786917243, "margin": 20, "colors": [[211.381, 0.28, 0.35], [348.046, 0.131, 0.638]],
                "band": {"top": 46.606, "height": 16.002, "color": [281.813, 0.278, 0.578], "seed": 363879465},
            },
            "actor": {
                "shape": "hexagon", "radius": 14.275, "texture": "stripes", "hue": 355.334, "saturation": 0.897,
                "value": 0.853, "contrast": 78.917, "rim": 0.324, "period": 6.644, "angle": 79.301,
                "offset": [0.109, -1.826], "grain_seed": 28702211,
            },
            "track": {
                "jitter": 0.298, "jitter_period": 11.351, "jitter_phase": 4.491, "angle0": 44.341,
                "drift": [0.065, -0.007], "zoom": 1.265, "scale0": 0.85, "start": [26.376, 59.013],
            },
            "effect": {"amplitude": 43.598, "period": 5.001, "phase": 0.508},
            "camera": {"pan": [-0.005, 0.008], "shake": 0.691},
            "band_speed": -0.923,
            "distractors": [
                {
                    "shape": "hexagon", "radius": 5.623, "hue": 355.368, "saturation": 0.335, "value": 0.901,
                    "texture": "dots", "contrast": 74.944, "rim": 0.384, "period": 5.789, "angle": 9.594,
                    "offset": [-0.108, 1.396], "grain_seed": 1856535644, "start": [40.06, 73.457],
                    "velocity": [0.898, -0.456],
                },
            ],
            "light": {"amplitude": 4.087, "period": 73.1, "phase": 5.78},
            "noise": 0.959,
        },
    },
    {
        "video": "v_BlueShrinkSparkle_g02_c02", "class_name": "BlueShrinkSparkle", "label": 17, "split": "train",
        "group": 2, "clip": 2, "appearance": "Blue", "motion": "Shrink", "residual": "Sparkle", "frames": 24,
        "width": 96, "height": 80, "seed": 1294687835,
        "params": {
            "scene": {
                "seed": 1730641096, "margin": 20, "colors": [[70.596, 0.242, 0.443], [146.989, 0.422, 0.709]],
                "band": {"top": 27.224, "height": 15.549, "color": [96.23, 0.355, 0.679], "seed": 2050561611},
            },
            "actor": {
                "shape": "hexagon", "radius": 11.561, "texture": "checker", "hue": 216.025, "saturation": 0.894,
                "value": 0.9, "contrast": 75.856, "rim": 0.359, "period": 7.088, "angle": 3.094,
                "offset": [-3.408, 1.153], "grain_seed": 1483888831,
            },
            "track": {
                "jitter": 0.162, "jitter_period": 14.119, "jitter_phase": 5.691, "angle0": 85.165,
                "drift": [-0.118, 0.091], "zoom": -1.245, "scale0": 0.85, "start": [25.641, 15.583],
            },
            "effect": {
                "spots": [[-4.471, 5.468], [0.353, -6.641], [-0.34, -6.745], [-2.494, -4.491], [-3.149, -5.787],
                          [4.67, 2.808]],
                "spot_radius": 1.56, "colors": [25.0, 25.0, 235.0, 235.0, 235.0, 235.0], "rate": 0.429,
            },
            "camera": {"pan": [0.141, -0.179], "shake": 0.744},
            "band_speed": -0.559,
            "distractors": [
                {
                    "shape": "hexagon", "radius": 4.295, "hue": 56.0, "saturation": 0.396, "value": 0.942,
                    "texture": "rings", "contrast": 87.816, "rim": 0.316, "period": 6.947, "angle": 134.337,
                    "offset": [-0.321, 0.815], "grain_seed": 395161599, "start": [57.683, 36.983],
                    "velocity": [-0.276, 0.95],
                },
                {
                    "shape": "square", "radius": 4.651, "hue": 177.508, "saturation": 0.301, "value": 0.955,
                    "texture": "checker", "contrast": 60.901, "rim": 0.336, "period": 6.893, "angle": 93.397,
                    "offset": [-0.888, -0.482], "grain_seed": 197982296, "start": [85.904, 7.836],
                    "velocity": [-0.119, 0.496],
                },
            ],
            "light": {"amplitude": 3.699, "period": 66.545, "phase": 6.215},
            "noise": 1.599,
        },
    },
]

#: sha256 of ``render_clip(spec).tobytes()``, computed with the renderer as it was before it drew several
#: frames at a time (frame by frame, every step over the whole patch)
DIGESTS = [
    "495b1fa715e35a0da298375b42e6c3b0480dd78494ddf648cdf5463c37f93189",  # v_PaleGreenFallSteady_g01_c01
    "68046a2d4b9ef706492cc900c6c1525e39df85d4acb86e8a1da569ff7dd72c53",  # v_PaleCyanBounceRipple_g01_c01
    "ce292ba78a8a73f8f7023d4c19bbaa41fdf150296520467b7eb9cd42289ae219",  # v_PaleOrangeSpinWobble_g01_c01
    "304bcbc91146a2c71fc594c9accf0114c2d6fdd0814107fb4825fb28ac8be9b4",  # v_RedGrowFlicker_g02_c01
    "340eaf2f3e5b56379ed8c77124dbe5f83d47ea2d77ad5770a7798641ceb35936",  # v_BlueShrinkSparkle_g02_c02
]


#: :func:`_numpy_math_digest` on the machine that made :data:`DIGESTS` (numpy 2.4, x86-64 with AVX-512).
MATH_DIGEST = "016b9c0f8230cffd2de660c7d72bae980c1b8e0482789f7192174a90c2c9b4ce"


def _numpy_math_digest() -> str:
    """sha256 of what the pixels depend on beyond IEEE ``+ - * /``: numpy's transcendental functions
    (vectorised: their last bit may depend on the CPU's SIMD instructions and the numpy version)
    and its random streams."""
    x64 = np.linspace(-60.0, 60.0, 4801)
    x32, y32 = x64.astype(np.float32), x64[::-1].astype(np.float32)
    results = [np.sin(x32), np.cos(x32), np.tanh(x32 / 8), np.arctan2(y32, x32), np.hypot(x32, y32),
               np.sin(x64), np.cos(x64), np.exp(x64 / 30), np.deg2rad(x64), np.mod(x64, 7.3)]
    rng = np.random.default_rng(12345)
    results += [rng.normal(0, 1, 64), rng.random(64), rng.random(64, dtype=np.float32),
                rng.standard_normal(4096, dtype=np.float32)]
    return hashlib.sha256(b"".join(r.tobytes() for r in results)).hexdigest()


@pytest.fixture(scope="module")
def same_numpy_math():
    # where numpy rounds differently, the old renderer would have drawn other pixels too: not this test's concern
    if _numpy_math_digest() != MATH_DIGEST:
        pytest.skip("numpy's transcendental functions or random streams differ from the machine of DIGESTS")


@pytest.mark.parametrize("index", range(len(SPECS)), ids=[s["residual"] for s in SPECS])
def test_pixels_are_pinned(index, same_numpy_math):
    frames = render_clip(SPECS[index])
    assert frames.shape == (24, 80, 96, 3) and frames.dtype == np.uint8
    assert hashlib.sha256(frames.tobytes()).hexdigest() == DIGESTS[index]


def test_drawing_in_chunks_gives_the_same_pixels(monkeypatch):
    spec = SPECS[4]  # zoom and sparkle: the per-frame patches and effects must follow the chunk's frames
    whole = render_clip(spec)
    for frames_per_chunk in (1, 5):
        monkeypatch.setattr(render, "CHUNK_BYTES", frames_per_chunk * 3 * 80 * 96 * 4)
        np.testing.assert_array_equal(render_clip(spec), whole)


def _bilinear_by_formula(image, x, y):
    """:func:`sample_bilinear` as written before: every index taken modulo ``(h, w)`` per sample."""
    h, w = image.shape[:2]
    x0, y0 = np.floor(x), np.floor(y)
    fx, fy = (x - x0).astype(np.float32), (y - y0).astype(np.float32)
    x0, y0 = x0.astype(np.int64) % w, y0.astype(np.int64) % h
    x1, y1 = (x0 + 1) % w, (y0 + 1) % h
    if image.ndim == 3:
        fx, fy = fx[..., None], fy[..., None]
    top = image[y0, x0] * (1 - fx) + image[y0, x1] * fx
    bottom = image[y1, x0] * (1 - fx) + image[y1, x1] * fx
    return top * (1 - fy) + bottom * fy


@pytest.mark.parametrize("channels", [(), (3,)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sample_bilinear_equals_its_formula(channels, dtype):
    rng = np.random.default_rng(0)
    image = rng.random((13, 17, *channels), dtype=np.float32)
    x, y = (rng.uniform(-60, 60, (2, 9, 11))).astype(dtype)  # far outside the image: wraps several times
    np.testing.assert_array_equal(sample_bilinear(image, x, y), _bilinear_by_formula(image, x, y))
    assert sample_bilinear(image, x[:0], y[:0]).shape == (0, 11, *channels)


def test_sample_grid_is_sample_bilinear_on_a_grid():
    rng = np.random.default_rng(1)
    image = rng.random((9, 40, 3), dtype=np.float32)  # (h, w, c); sample_grid reads (c, h, w)
    xs = np.arange(23, dtype=np.float32) + np.float32(-31.37)
    ys = np.arange(7, dtype=np.float32) + np.float32(0.81)
    grid = np.broadcast_to(xs, (7, 23)), np.broadcast_to(ys[:, None], (7, 23))
    expected = _bilinear_by_formula(image, *grid).transpose(2, 0, 1)
    np.testing.assert_array_equal(sample_grid(np.ascontiguousarray(image.transpose(2, 0, 1)), xs, ys), expected)


def test_shift_crop_equals_four_slices():
    rng = np.random.default_rng(2)
    planes = rng.random((3, 30, 40), dtype=np.float32)
    x, y = 5.3728, 2.0917
    fx, fy = np.float32(x - 5), np.float32(y - 2)
    window = planes[:, 2:2 + 21, 5:5 + 31]
    top = window[:, :-1, :-1] * (1 - fx) + window[:, :-1, 1:] * fx
    bottom = window[:, 1:, :-1] * (1 - fx) + window[:, 1:, 1:] * fx
    np.testing.assert_array_equal(shift_crop(planes, x, y, 20, 30), top * (1 - fy) + bottom * fy)
    np.testing.assert_array_equal(shift_crop(planes[1], x, y, 20, 30), shift_crop(planes, x, y, 20, 30)[1])
    with pytest.raises(ValueError, match="leaves"):
        shift_crop(planes, 10.5, 0.0, 20, 30)
