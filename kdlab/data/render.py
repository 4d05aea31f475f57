"""Drawing the synthetic benchmark (:mod:`kdlab.data.synthetic`): primitives and one clip, pure numpy.

:func:`render_clip` turns a :class:`ClipSpec` (a clip's latent factors, as planned by
:func:`kdlab.data.synthetic.plan` and stored in ``synth.json``) into frames ``(T, H, W, 3) uint8``.
A frame is drawn back to front: the group's background seen through the panning, shaking camera,
the scrolling band, the distractors, the actor (with its residual effect), the lighting drift and
the sensor noise.

Conventions: float32 pixel units with pixel centres at integer coordinates, ``x`` to the right and
``y`` down (so a positive rotation turns clockwise on screen). Colours are RGB floats in ``[0, 255]``,
held as colour planes ``(3, H, W)`` while drawing (per-pixel weights then broadcast along rows,
not over 3 channels).

Speed: the objects are drawn into several frames at once, and textured only where they cover
pixels; the backdrop, lighting and noise are also per chunk of frames (:data:`CHUNK_BYTES`).
Every step is per pixel with the same operations (and float32/float64 types) as drawing frame by
frame, so the pixels are exactly those: ``tests/test_render_speed.py`` pins them.

Primitives:

* :func:`value_noise` / :func:`fractal_noise`: smooth random textures (block-matching friendly:
  detail at a few pixels, so that the encoder finds the true motion).
* :func:`sample_bilinear` / :func:`sample_grid` / :func:`shift_crop`: read a texture at sub-pixel
  positions, so that motion is smooth rather than jumping by whole pixels.
* :func:`shape_sdf` / :func:`soft_mask`: regular polygons (and the disc) as signed distance
  functions, anti-aliased to a one-pixel soft edge.
* :func:`pattern`: the actor's procedural textures (stripes, dots, checker, rings) in its own
  coordinates, so that a rotating or zooming actor carries its texture along.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from kdlab.colour import hsv_to_rgb

#: Regular polygons by name -> number of sides (0: the disc).
SHAPES: dict[str, int] = {"disc": 0, "triangle": 3, "square": 4, "pentagon": 5, "hexagon": 6}
#: The actor's texture kinds (see :func:`pattern`).
TEXTURES: tuple[str, ...] = ("stripes", "dots", "checker", "rings")


@dataclass
class ClipSpec:
    """Everything :func:`render_clip` needs to draw one clip: its class factors and all its nuisances.

    ``params`` holds the continuous latent factors (plain JSON): ``scene``, ``actor``, ``track``,
    ``effect`` (the residual factor's parameters), ``camera``, ``distractors``, ``light``, ``noise``.
    """

    video: str  # "v_<Class>_gGG_cCC"
    class_name: str
    label: int  # 0-based (classInd.txt's index is label + 1)
    split: str  # "train" or "test"
    group: int
    clip: int
    appearance: str
    motion: str
    residual: str
    frames: int
    width: int
    height: int
    seed: int  # per-frame randomness of the clip: shake, sparkle, sensor noise
    params: dict = field(default_factory=dict)

    @property
    def relpath(self) -> str:
        return f"{self.class_name}/{self.video}.avi"

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ClipSpec:
        return cls(**{f.name: data[f.name] for f in dataclasses.fields(cls)})


def _colour(hue: float, saturation: float, value: float) -> np.ndarray:
    """One colour of a clip's factors: hue in degrees -> ``(3,) float32`` in ``[0, 255]`` (:func:`kdlab.colour.hsv_to_rgb`)."""
    return hsv_to_rgb(hue, saturation, value, full_turn=360.0, dtype=np.float32) * np.float32(255)


def _smoothstep(t: np.ndarray) -> np.ndarray:
    return t * t * (3 - 2 * t)


def value_noise(rng: np.random.Generator, height: int, width: int, cell: float) -> np.ndarray:
    """``(H, W) float32`` in ``[0, 1]``: random values on a grid of step ``cell`` px, smoothly interpolated."""
    gh, gw = int(height / cell) + 3, int(width / cell) + 3
    grid = rng.random((gh, gw), dtype=np.float32)
    ys = np.arange(height, dtype=np.float32) / cell
    xs = np.arange(width, dtype=np.float32) / cell
    y0, x0 = ys.astype(np.int32), xs.astype(np.int32)
    fy, fx = _smoothstep(ys - y0)[:, None], _smoothstep(xs - x0)[None, :]
    top = grid[y0][:, x0] * (1 - fx) + grid[y0][:, x0 + 1] * fx
    bottom = grid[y0 + 1][:, x0] * (1 - fx) + grid[y0 + 1][:, x0 + 1] * fx
    return top * (1 - fy) + bottom * fy


def fractal_noise(
    rng: np.random.Generator, height: int, width: int, cells=(24.0, 8.0, 3.0), weights=(0.5, 0.3, 0.2)
) -> np.ndarray:
    """Octaves of :func:`value_noise`, stretched to ``[0, 1]``: ``(H, W) float32``."""
    total = sum(w * value_noise(rng, height, width, c) for c, w in zip(cells, weights))
    low, high = float(total.min()), float(total.max())
    return (total - low) / max(high - low, 1e-6)


def sample_bilinear(image: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Read ``image`` ``(h, w[, c])`` at float positions ``x``, ``y`` (any equal shapes); wraps around.

    With ``x0 = floor(x)``, ``fx = x - x0`` (likewise ``y``) and indices taken modulo ``(h, w)``::

        value = (1 - fy) [(1 - fx) I[y0, x0] + fx I[y0, x0 + 1]] + fy [(1 - fx) I[y0 + 1, x0] + fx I[y0 + 1, x0 + 1]]

    The modulo is paid once per texel of the touched range, not once per sample: the texels
    ``[min y0, max y0 + 1] x [min x0, max x0 + 1]`` are gathered (wrapped) into a small tile, and
    the four neighbours are flat offsets into it (integer ``%`` per sample was the costliest step).
    """
    h, w = image.shape[:2]
    x0, y0 = np.floor(x), np.floor(y)
    fx, fy = (x - x0).astype(np.float32, copy=False), (y - y0).astype(np.float32, copy=False)
    if x0.size == 0:
        return np.zeros(x0.shape + image.shape[2:], image.dtype)
    ix, iy = x0.astype(np.intp), y0.astype(np.intp)
    left, top_row = int(ix.min()), int(iy.min())
    cols = np.arange(left, int(ix.max()) + 2) % w
    rows = np.arange(top_row, int(iy.max()) + 2) % h
    tile = image[rows[:, None], cols[None, :]]  # tile[i, j] = image[(top_row + i) % h, (left + j) % w]
    stride = tile.shape[1]
    flat = tile.reshape(-1, *image.shape[2:])
    i00 = (iy - top_row) * stride + (ix - left)
    gx, gy = 1 - fx, 1 - fy
    if image.ndim == 3:
        fx, fy, gx, gy = fx[..., None], fy[..., None], gx[..., None], gy[..., None]
    top = flat[i00] * gx + flat[i00 + 1] * fx
    bottom = flat[i00 + stride] * gx + flat[i00 + stride + 1] * fx
    return top * gy + bottom * fy


def sample_grid(planes: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """:func:`sample_bilinear` of colour planes ``(c, h, w)`` on a grid: columns ``x`` ``(W,)``, rows ``y`` ``(R,)``.

    Returns ``(c, R, W)``, equal to ``sample_bilinear(image, X, Y)`` (moved to planes) for the
    broadcast ``X[r, k] = x[k]``, ``Y[r, k] = y[r]``: the weights and wrapped indices are computed
    once per column and per row, and the gathers are two 1-d takes.
    """
    h, w = planes.shape[1:]
    x0, y0 = np.floor(x), np.floor(y)
    fx, fy = (x - x0).astype(np.float32, copy=False), (y - y0).astype(np.float32, copy=False)[:, None]
    x0, y0 = x0.astype(np.int64) % w, y0.astype(np.int64) % h
    x1, y1 = (x0 + 1) % w, (y0 + 1) % h
    gx, gy = 1 - fx, 1 - fy
    upper, lower = planes.take(y0, axis=1), planes.take(y1, axis=1)
    top = upper.take(x0, axis=2) * gx + upper.take(x1, axis=2) * fx
    bottom = lower.take(x0, axis=2) * gx + lower.take(x1, axis=2) * fx
    return top * gy + bottom * fy


def shift_crop(image: np.ndarray, x: float, y: float, height: int, width: int) -> np.ndarray:
    """The ``height x width`` window of ``image`` ``(..., h, w)`` (a plane or colour planes) at float ``(x, y)``.

    ``(x, y)`` is the window's top-left corner (bilinear). The window must lie inside ``image``
    (one extra pixel right and below). Cheap: every output pixel shares the same fractional
    offset, so it is shifted slices. With ``row[i] = (1 - fx) I[i, j] + fx I[i, j + 1]`` over the
    ``height + 1`` rows, ``out[i] = (1 - fy) row[i] + fy row[i + 1]``: each horizontal blend is
    computed once and used by the two output rows it is next to.
    """
    ix, iy = int(np.floor(x)), int(np.floor(y))
    fx, fy = np.float32(x - ix), np.float32(y - iy)
    window = image[..., iy : iy + height + 1, ix : ix + width + 1]
    if window.shape[-2] < height + 1 or window.shape[-1] < width + 1 or ix < 0 or iy < 0:
        size = f"{image.shape[-1]}x{image.shape[-2]}"
        raise ValueError(f"window ({x:.1f}, {y:.1f}) + {width}x{height} leaves the {size} image")
    row = window[..., :-1] * (1 - fx) + window[..., 1:] * fx
    return row[..., :-1, :] * (1 - fy) + row[..., 1:, :] * fy


def shape_sdf(u: np.ndarray, v: np.ndarray, shape: str, radius: np.ndarray | float) -> np.ndarray:
    """Signed distance (px, negative inside) to ``shape`` of circumradius ``radius`` centred at the origin.

    Polygons use the max of their edge half-planes (exact inside, slightly rounded outside the
    corners); ``radius`` may be an array (a deformed outline, see the ``wobble`` residual factor).
    Area-matched: a polygon's inradius is scaled up so that all shapes look about equally large.
    """
    sides = SHAPES[shape]
    if sides == 0:
        return np.hypot(u, v) - radius
    inradius = radius * np.cos(np.pi / sides) * (1.0 + 0.6 / sides)
    angles = -np.pi / 2 + np.pi / sides + 2 * np.pi * np.arange(sides) / sides  # a flat edge at the bottom
    # the edges' cosines are float64, so the half-planes are float64: cast u, v once, not once per edge
    u64, v64 = u.astype(np.float64), v.astype(np.float64)
    support = None
    for a in angles:
        plane = u64 * np.cos(a) + v64 * np.sin(a)
        support = plane if support is None else np.maximum(support, plane, out=support)
    return support - inradius


def soft_mask(sdf: np.ndarray) -> np.ndarray:
    """Coverage in ``[0, 1]`` from a signed distance in pixels: a one-pixel anti-aliased edge."""
    return np.clip(0.5 - sdf, 0.0, 1.0).astype(np.float32)


def pattern(kind: str, u: np.ndarray, v: np.ndarray, period: float, angle: float, offset=(0.0, 0.0)) -> np.ndarray:
    """The actor's texture in ``[0, 1]`` at its own coordinates ``(u, v)`` (px at scale 1).

    ``stripes``: parallel bands at ``angle`` degrees; ``dots``: a lattice of round spots;
    ``checker``: a soft checkerboard; ``rings``: concentric rings around ``offset`` (off-centre,
    so that a spinning actor's rings visibly turn). ``period`` is the repeat length in px.
    """
    if kind not in TEXTURES:
        raise ValueError(f"unknown texture {kind!r}; valid: {', '.join(TEXTURES)}")
    w = np.float32(2 * np.pi / period)
    if kind == "rings":
        return 0.5 + 0.5 * np.tanh(3.0 * np.sin(w * np.hypot(u - offset[0], v - offset[1])))
    a = np.deg2rad(angle)
    ca, sa = np.float32(np.cos(a)), np.float32(np.sin(a))
    s = u * ca + v * sa
    if kind == "stripes":
        return 0.5 + 0.5 * np.tanh(3.0 * np.sin(w * s))
    t = -u * sa + v * ca
    if kind == "checker":
        return 0.5 + 0.5 * np.tanh(4.0 * np.sin(w * s) * np.sin(w * t))
    s, t = s / period, t / period  # dots
    fs, ft = s - np.floor(s) - 0.5, t - np.floor(t) - 0.5
    return np.clip((0.32 - np.hypot(fs, ft)) * period + 0.5, 0.0, 1.0)


def reflect(position: np.ndarray, low: float, high: float) -> np.ndarray:
    """Fold positions into ``[low, high]`` as a ball bouncing between two walls (a triangle wave)."""
    span = max(high - low, 1e-6)
    phase = np.mod(position - low, 2 * span)
    return low + np.where(phase > span, 2 * span - phase, phase)


# --------------------------------------------------------------------------------------------
# one clip: pure functions of a ClipSpec


def actor_track(motion: str, track: dict, pan, frames: int) -> tuple[np.ndarray, ...]:
    """The actor's screen path: ``x, y`` (px), ``angle`` (degrees, clockwise) and ``scale``, each ``(T,)``.

    ``tau`` is time with the speed jitter (``dtau/dt = 1 + jitter * cos(...)``); the camera pan
    moves the whole picture by ``-pan`` per frame.
    """
    t = np.arange(frames, dtype=np.float64)
    w = 2 * np.pi / track["jitter_period"]
    tau = t + track["jitter"] / w * (np.sin(w * t + track["jitter_phase"]) - np.sin(track["jitter_phase"]))
    x = track["start"][0] + track["drift"][0] * t - pan[0] * t
    y = track["start"][1] + track["drift"][1] * t - pan[1] * t
    angle = np.full(frames, track["angle0"])
    scale = np.ones(frames)
    if "speed" in track:
        d = np.deg2rad(track["direction"])
        x, y = x + track["speed"] * tau * np.cos(d), y + track["speed"] * tau * np.sin(d)
    if "spin" in track:
        angle = angle + track["spin"] * tau
    if motion in ("Swing", "Bounce"):
        d = np.deg2rad(track["direction"])
        s = track["amplitude"] * np.sin(2 * np.pi * tau / track["period"] + track["phase"])
        x, y = x + s * np.cos(d), y + s * np.sin(d)
    if motion == "Orbit":  # clockwise on screen (y points down) for a positive period
        a = track["phase"] + 2 * np.pi * tau / track["period"]
        x, y = x + track["amplitude"] * np.cos(a), y + track["amplitude"] * np.sin(a)
    if "zoom" in track:
        scale = track["scale0"] * np.exp(track["zoom"] * (tau / max(frames - 1, 1) - 0.5))
    return x, y, angle, scale


def _patches(x, y, reach, height: int, width: int):
    """Per frame, the square patch an object can reach: ``[int(x - reach), int(x + reach) + 2)`` (likewise y).

    ``x``, ``y`` ``(T,)``, ``reach`` ``(T,)`` or a number. Returns ``left``, ``top`` ``(T,)`` (the
    patches' corners) and ``inside`` ``(T, h, w)``: which cells of a common ``h x w`` grid (the
    largest patch) belong to the frame's own patch, clipped to the frame.
    """
    left = np.maximum(0, np.trunc(x - reach)).astype(int)  # int() truncates toward zero, as np.trunc
    right = np.minimum(width, np.trunc(x + reach) + 2).astype(int)
    top = np.maximum(0, np.trunc(y - reach)).astype(int)
    bottom = np.minimum(height, np.trunc(y + reach) + 2).astype(int)
    h, w = max(int((bottom - top).max()), 0), max(int((right - left).max()), 0)
    cols = np.arange(w) < (right - left)[:, None]
    rows = np.arange(h) < (bottom - top)[:, None]
    return left, top, rows[:, :, None] & cols[:, None, :]


def _outline(u, v, obj, scale, t, residual, effect) -> np.ndarray:
    """The shape's signed distance in screen pixels (negative inside) at object coordinates ``(u, v)``.

    ``scale`` and ``t`` (the frame index) are numbers or arrays that broadcast against ``u``.
    ``Wobble`` deforms the outline: ``radius * (1 + A sin(lobes * phi + angle) sin(2 pi t / period + phase))``.
    """
    radius = obj["radius"]
    if residual == "Wobble":
        e = effect
        phi = np.arctan2(v, u)
        radius = radius * (1 + e["amplitude"] * np.sin(e["lobes"] * phi + e["angle"])
                           * np.sin(2 * np.pi * t / e["period"] + e["phase"]))
    return shape_sdf(u, v, obj["shape"], radius) * scale


def _surface(u, v, sdf, obj, grain, scale, t, residual, effect, spots_on) -> np.ndarray:
    """The shape's colour ``(3, n)`` at ``n`` pixels: object coordinates ``u``, ``v``, frame index ``t`` ``(n,)``.

    ``base = hue core + mean(hue) (1 - core)`` (a coloured core inside a neutral rim), then
    ``colour = base + contrast (pattern - 0.5) + 40 (grain - 0.5)`` (under a grey pattern), then the
    residual effect: ``Ripple`` waves the texture coordinates, ``Flicker`` adds a level, ``Sparkle``
    blends grey spots in. float32, except float64 after Flicker (its level is float64).
    ``scale`` is a number or ``(n,)``; ``spots_on`` ``(T, spots)``.
    """
    e = effect
    core = soft_mask(sdf + obj["rim"] * obj["radius"] * scale)
    tu, tv = u, v
    if residual == "Ripple":  # the texture waves in place, shorter than a macroblock: no block vector explains it
        # a frame's step was a Python float, which numpy rounds to float32 before adding it to float32
        k, step = 2 * np.pi / e["wavelength"], (2 * np.pi * t / e["period"] + e["phase"]).astype(np.float32)
        tu = u + e["amplitude"] * np.sin(k * v + step)
        tv = v + e["amplitude"] * np.sin(k * u + step + 1.7)
    p = pattern(obj["texture"], tu, tv, obj["period"], obj["angle"], obj["offset"])
    fine = sample_bilinear(grain, tu / 2.5, tv / 2.5) - 0.5
    hue = _colour(obj["hue"], obj["saturation"], obj["value"])
    base = hue[:, None] * core + hue.mean() * (1 - core)  # a coloured core inside a neutral rim
    color = base + obj["contrast"] * (p - 0.5) + 40.0 * fine  # under a grey pattern
    if residual == "Flicker":
        color = color + e["amplitude"] * np.sin(2 * np.pi * t / e["period"] + e["phase"])
    if residual == "Sparkle":  # spot k shows in the frames where spots_on[:, k]
        for (sx, sy), value, on in zip(e["spots"], e["colors"], spots_on.T):
            spot = soft_mask((np.hypot(u - sx, v - sy) - e["spot_radius"]) * scale)
            color = np.where(on[t], color * (1 - spot) + value * spot, color)  # value: a grey level
    return color


def _paint(planes, t, x, y, angle, scale, obj, grain, residual="Steady", effect=None, spots_on=None):
    """Draw one textured shape into the frames ``planes`` ``(n, 3, H, W) float32`` in place.

    ``planes[i]`` is frame ``t[i]`` of the clip (``t`` ``(n,)``, for the residual effect); its
    shape is centred at ``(x[i], y[i])``, turned by ``angle`` and scaled by ``scale`` (``(n,)``
    arrays or numbers): ``frame = frame (1 - mask) + colour mask``, ``mask`` the shape's soft
    coverage. All frames at once (a few dozen numpy calls per object, not per frame): the
    outline over each frame's square patch (the patches stacked on a common grid), then texture
    and blend only at the pixels with ``mask > 0``, gathered into flat arrays. Elsewhere the
    blend is ``frame * 1 + colour * 0``, the frame as it is; every step is per pixel, so the
    pixels are those of drawing frame by frame over the whole patch.
    """
    _, _, H, W = planes.shape
    reach = obj["radius"] * scale * 1.5 + 2
    left, top, inside = _patches(x, y, reach, H, W)
    if inside.size == 0:
        return
    per_frame = (slice(None), None, None)  # (n,) -> (n, 1, 1)
    # object coordinates (px at scale 1), rotating with it: u = c qx + s qy, v = -s qx + c qy,
    # with qx a row and qy a column of screen offsets per frame
    qx = (left[:, None] + np.arange(inside.shape[2])).astype(np.float32) - np.float32(x)[:, None]
    qy = (top[:, None] + np.arange(inside.shape[1])).astype(np.float32) - np.float32(y)[:, None]
    qx, qy = qx[:, None, :], qy[:, :, None]
    a = np.deg2rad(angle)
    c, s = np.float32(np.cos(a) / scale), np.float32(np.sin(a) / scale)
    if np.ndim(c):
        c, s = c[per_frame], s[per_frame]
    u, v = c * qx + s * qy, -s * qx + c * qy
    frame_scale = scale[per_frame] if np.ndim(scale) else scale
    sdf = _outline(u, v, obj, frame_scale, t[per_frame], residual, effect)
    mask = soft_mask(sdf)
    hits = np.flatnonzero((mask > 0) & inside)  # flat indices into (n, h, w)
    if hits.size == 0:
        return
    i, rest = np.divmod(hits, inside.shape[1] * inside.shape[2])  # each hit's frame (in planes), row, column
    row, col = np.divmod(rest, inside.shape[2])
    u, v, sdf, mask = u.ravel()[hits], v.ravel()[hits], sdf.ravel()[hits], mask.ravel()[hits]
    pixel_scale = scale[i] if np.ndim(scale) else scale
    color = _surface(u, v, sdf, obj, grain, pixel_scale, t[i], residual, effect or {}, spots_on)
    # flat indices of the hits into planes, channel by channel: (3, hits)
    at = i * (3 * H * W) + (top[i] + row) * W + (left[i] + col) + (np.arange(3) * (H * W))[:, None]
    flat = planes.reshape(-1)
    flat[at] = flat[at] * (1 - mask) + color * mask


def _scene(spec: ClipSpec) -> tuple[np.ndarray, np.ndarray | None]:
    """The group's background ``(3, H + 2 margin + 1, W + 2 margin + 1)`` and band texture (or None), colour planes."""
    scene = spec.params["scene"]
    rng = np.random.default_rng(scene["seed"])
    m = scene["margin"]
    h, w = spec.height + 2 * m + 1, spec.width + 2 * m + 1
    low, high = (_colour(*c)[:, None, None] for c in scene["colors"])
    mix = fractal_noise(rng, h, w, cells=(28.0, 9.0, 3.0), weights=(0.55, 0.3, 0.15))
    background = low + (high - low) * mix
    band = None
    if scene["band"] is not None:
        b = scene["band"]
        brng = np.random.default_rng(b["seed"])
        ripples = fractal_noise(brng, int(b["height"]) + 2, 2 * w, (12.0, 5.0, 2.5), (0.4, 0.35, 0.25))
        color = _colour(*b["color"])[:, None, None]
        band = color * (0.6 + 0.7 * ripples)
    return background.astype(np.float32), None if band is None else band.astype(np.float32)


def _camera(spec: ClipSpec, shake: np.ndarray) -> np.ndarray:
    """The camera offset per frame ``(T, 2)`` float64: ``clip(pan t + shake, -margin + 0.5, margin - 0.5)``."""
    margin, pan = spec.params["scene"]["margin"], spec.params["camera"]["pan"]
    t = np.arange(spec.frames, dtype=np.float64)[:, None]
    return np.clip(t * np.asarray(pan, np.float64) + shake, -margin + 0.5, margin - 0.5)


def _backdrop(spec: ClipSpec, background, band, camera, t) -> np.ndarray:
    """Frames ``t`` ``(n,)`` before the objects: the background seen through the camera, and the band.

    Returns colour planes ``(n, 3, H, W) float32``; ``camera`` is :func:`_camera`'s ``(T, 2)``.
    """
    H, W, p = spec.height, spec.width, spec.params
    margin = p["scene"]["margin"]
    planes = np.empty((len(t), 3, H, W), np.float32)
    for i, frame in enumerate(t.tolist()):
        cx, cy = camera[frame]
        planes[i] = shift_crop(background, margin + cx, margin + cy, H, W)
        if band is not None:
            b = p["scene"]["band"]
            top, bottom = int(round(b["top"])), min(H, int(round(b["top"])) + band.shape[1] - 2)
            xs = np.arange(W, dtype=np.float32) + np.float32(cx + p["band_speed"] * frame)
            ys = np.arange(bottom - top, dtype=np.float32) + np.float32(0.5 + 0.5 * np.sin(0.3 * frame))
            planes[i, :, top:bottom] = sample_grid(band, xs, ys)
    return planes


def _expose(planes: np.ndarray, levels: np.ndarray, rng: np.random.Generator, noise: float) -> np.ndarray:
    """Lighting, sensor noise and rounding: colour planes ``(n, 3, H, W)`` -> ``(n, H, W, 3) uint8``.

    ``pixels = clip(rint(planes + level + noise N(0, 1)), 0, 255)``, with ``levels`` ``(n,)``
    float64: each sum is done in float64 and rounded to float32, exactly as ``frame += level``
    did frame by frame. The noise is one draw of ``(n, H, W, 3)`` float32: numpy's generator is
    a stream, so it gives the numbers of ``n`` draws of ``(H, W, 3)``.
    """
    pixels = np.empty((planes.shape[0], *planes.shape[2:], 3), np.float32)
    np.add(planes.transpose(0, 2, 3, 1), levels[:, None, None, None], out=pixels)
    if noise > 0:
        sensor = rng.standard_normal(pixels.shape, dtype=np.float32)
        sensor *= np.float32(noise)
        pixels += sensor
    np.rint(pixels, out=pixels)
    np.clip(pixels, 0, 255, out=pixels)
    return pixels.astype(np.uint8)


#: Frames drawn together: as many as fit in about this many bytes of float32 colour planes
#: (all 36 of a default clip), so that a long or large clip does not need 12 bytes per pixel.
CHUNK_BYTES = 8 << 20


def render_clip(spec: ClipSpec | dict) -> np.ndarray:
    """Draw one clip from its latent factors: ``(T, H, W, 3) uint8`` RGB, the pixels that get encoded.

    Pure: the same spec (a :class:`ClipSpec` or its ``synth.json`` entry) gives the same pixels.
    Frames are drawn as colour planes ``(3, H, W)`` (so that per-pixel weights broadcast over a
    long inner axis rather than over 3 channels), several frames at a time (see :func:`_paint`
    and :data:`CHUNK_BYTES`); the pixels are those of drawing frame by frame.
    """
    if isinstance(spec, dict):
        spec = ClipSpec.from_dict(spec)
    T, H, W, p = spec.frames, spec.height, spec.width, spec.params
    rng = np.random.default_rng(spec.seed)
    background, band = _scene(spec)
    shake = rng.normal(0, 1, (T, 2)) * p["camera"]["shake"]
    shake[0] = 0
    effect = p["effect"]
    spots_on = rng.random((T, len(effect["spots"]))) < effect["rate"] if spec.residual == "Sparkle" else None
    camera = _camera(spec, shake)
    x, y, angle, scale = actor_track(spec.motion, p["track"], p["camera"]["pan"], T)
    x, y = x - shake[:, 0], y - shake[:, 1]  # the actor on screen
    actor = p["actor"]
    grain = value_noise(np.random.default_rng(actor["grain_seed"]), 48, 48, 1.0)
    distractors = []
    for d in p["distractors"]:  # bouncing between the frame's edges
        r, frames = d["radius"], np.arange(T)
        dx = reflect(d["start"][0] + d["velocity"][0] * frames, r, W - 1 - r)
        dy = reflect(d["start"][1] + d["velocity"][1] * frames, r, H - 1 - r)
        distractors.append((d, value_noise(np.random.default_rng(d["grain_seed"]), 48, 48, 1.0), dx, dy))
    light = p["light"]
    levels = np.array([light["amplitude"] * np.sin(2 * np.pi * t / light["period"] + light["phase"]) for t in range(T)])
    out = np.empty((T, H, W, 3), np.uint8)
    step = max(1, CHUNK_BYTES // (3 * H * W * 4))
    for start in range(0, T, step):
        stop = min(T, start + step)
        t = np.arange(start, stop)
        planes = _backdrop(spec, background, band, camera, t)
        for d, g, dx, dy in distractors:  # back to front: each object over the chunk's frames, then the next
            _paint(planes, t, dx[t], dy[t], 0.0, 1.0, d, g)
        _paint(planes, t, x[t], y[t], angle[t], scale[t], actor, grain, spec.residual, effect, spots_on)
        out[start:stop] = _expose(planes, levels[t], rng, p["noise"])
    return out
