"""Drawing the synthetic benchmark (:mod:`kdlab.data.synthetic`): primitives and one clip, pure numpy.

:func:`render_clip` turns a :class:`ClipSpec` (a clip's latent factors, as planned by
:func:`kdlab.data.synthetic.plan` and stored in ``synth.json``) into frames ``(T, H, W, 3) uint8``.
A frame is drawn back to front: the group's background seen through the panning, shaking camera,
the scrolling band, the distractors, the actor (with its residual effect), the lighting drift and
the sensor noise.

Conventions: float32 pixel units with pixel centres at integer coordinates, ``x`` to the right and
``y`` down (so a positive rotation turns clockwise on screen). Colours are RGB floats in ``[0, 255]``.

Primitives:

* :func:`value_noise` / :func:`fractal_noise`: smooth random textures (block-matching friendly:
  detail at a few pixels, so that the encoder finds the true motion).
* :func:`sample_bilinear` / :func:`shift_crop`: read a texture at sub-pixel positions, so that
  motion is smooth rather than jumping by whole pixels.
* :func:`shape_sdf` / :func:`soft_mask`: regular polygons (and the disc) as signed distance
  functions, anti-aliased to a one-pixel soft edge.
* :func:`pattern`: the actor's procedural textures (stripes, dots, checker, rings) in its own
  coordinates, so that a rotating or zooming actor carries its texture along.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

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


def hsv_to_rgb(hue: float, saturation: float, value: float) -> np.ndarray:
    """One colour: hue in degrees, saturation and value in ``[0, 1]`` -> ``(3,) float32`` in ``[0, 255]``."""
    h = (hue % 360.0) / 60.0
    c = value * saturation
    x = c * (1 - abs(h % 2 - 1))
    rgb = [(c, x, 0), (x, c, 0), (0, c, x), (0, x, c), (x, 0, c), (c, 0, x)][int(h) % 6]
    return (np.asarray(rgb, np.float32) + (value - c)) * 255.0


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
    """Read ``image`` ``(h, w[, c])`` at float positions ``x``, ``y`` (any equal shapes); wraps around."""
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


def shift_crop(image: np.ndarray, x: float, y: float, height: int, width: int) -> np.ndarray:
    """The ``height x width`` window of ``image`` whose top-left corner is at float ``(x, y)`` (bilinear).

    The window must lie inside ``image`` (one extra pixel right and below). Cheap: every output
    pixel shares the same fractional offset, so it is four shifted slices.
    """
    ix, iy = int(np.floor(x)), int(np.floor(y))
    fx, fy = np.float32(x - ix), np.float32(y - iy)
    window = image[iy : iy + height + 1, ix : ix + width + 1]
    if window.shape[0] < height + 1 or window.shape[1] < width + 1 or ix < 0 or iy < 0:
        size = f"{image.shape[1]}x{image.shape[0]}"
        raise ValueError(f"window ({x:.1f}, {y:.1f}) + {width}x{height} leaves the {size} image")
    top = window[:-1, :-1] * (1 - fx) + window[:-1, 1:] * fx
    bottom = window[1:, :-1] * (1 - fx) + window[1:, 1:] * fx
    return top * (1 - fy) + bottom * fy


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
    support = np.max([u * np.cos(a) + v * np.sin(a) for a in angles], axis=0)
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
    a = np.deg2rad(angle)
    ca, sa = np.float32(np.cos(a)), np.float32(np.sin(a))
    s, t = u * ca + v * sa, -u * sa + v * ca
    w = np.float32(2 * np.pi / period)
    if kind == "stripes":
        return 0.5 + 0.5 * np.tanh(3.0 * np.sin(w * s))
    if kind == "checker":
        return 0.5 + 0.5 * np.tanh(4.0 * np.sin(w * s) * np.sin(w * t))
    if kind == "dots":
        fs, ft = s / period - np.floor(s / period) - 0.5, t / period - np.floor(t / period) - 0.5
        return np.clip((0.32 - np.hypot(fs, ft)) * period + 0.5, 0.0, 1.0)
    if kind == "rings":
        return 0.5 + 0.5 * np.tanh(3.0 * np.sin(w * np.hypot(u - offset[0], v - offset[1])))
    raise ValueError(f"unknown texture {kind!r}; valid: {', '.join(TEXTURES)}")


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


def _paint(frame, x, y, angle, scale, obj, grain, t=0, residual="Steady", effect=None, spots_on=None):
    """Draw one textured shape into ``frame`` ``(H, W, 3) float32`` in place, centred at ``(x, y)``."""
    H, W = frame.shape[:2]
    reach = obj["radius"] * scale * 1.5 + 2
    x0, x1 = max(0, int(x - reach)), min(W, int(x + reach) + 2)
    y0, y1 = max(0, int(y - reach)), min(H, int(y + reach) + 2)
    if x0 >= x1 or y0 >= y1:
        return
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    qx, qy = xs - np.float32(x), ys - np.float32(y)
    a = np.deg2rad(angle)
    c, s = np.float32(np.cos(a) / scale), np.float32(np.sin(a) / scale)
    u, v = c * qx + s * qy, -s * qx + c * qy  # object coordinates (px at scale 1), rotating with it
    radius = obj["radius"]
    e = effect or {}
    if residual == "Wobble":
        phi = np.arctan2(v, u)
        radius = radius * (1 + e["amplitude"] * np.sin(e["lobes"] * phi + e["angle"])
                           * np.sin(2 * np.pi * t / e["period"] + e["phase"]))
    sdf = shape_sdf(u, v, obj["shape"], radius) * scale  # screen pixels, negative inside
    mask = soft_mask(sdf)
    core = soft_mask(sdf + obj["rim"] * obj["radius"] * scale)[..., None]
    tu, tv = u, v
    if residual == "Ripple":  # the texture waves in place, shorter than a macroblock: no block vector explains it
        k, step = 2 * np.pi / e["wavelength"], 2 * np.pi * t / e["period"] + e["phase"]
        tu = u + e["amplitude"] * np.sin(k * v + step)
        tv = v + e["amplitude"] * np.sin(k * u + step + 1.7)
    p = pattern(obj["texture"], tu, tv, obj["period"], obj["angle"], obj["offset"])[..., None]
    fine = sample_bilinear(grain, tu / 2.5, tv / 2.5)[..., None] - 0.5
    hue = hsv_to_rgb(obj["hue"], obj["saturation"], obj["value"])
    base = hue * core + hue.mean() * (1 - core)  # a coloured core inside a neutral rim
    color = base + obj["contrast"] * (p - 0.5) + 40.0 * fine  # under a grey pattern
    if residual == "Flicker":
        color = color + e["amplitude"] * np.sin(2 * np.pi * t / e["period"] + e["phase"])
    if residual == "Sparkle":
        for (sx, sy), value, on in zip(e["spots"], e["colors"], spots_on[t]):
            if on:
                spot = soft_mask((np.hypot(u - sx, v - sy) - e["spot_radius"]) * scale)[..., None]
                color = color * (1 - spot) + value * spot
    m = mask[..., None]
    frame[y0:y1, x0:x1] = frame[y0:y1, x0:x1] * (1 - m) + color * m


def _scene(spec: ClipSpec) -> tuple[np.ndarray, np.ndarray | None]:
    """The group's background ``(H + 2 margin + 1, W + 2 margin + 1, 3)`` and band texture (or None)."""
    scene = spec.params["scene"]
    rng = np.random.default_rng(scene["seed"])
    m = scene["margin"]
    h, w = spec.height + 2 * m + 1, spec.width + 2 * m + 1
    low, high = (hsv_to_rgb(*c) for c in scene["colors"])
    mix = fractal_noise(rng, h, w, cells=(28.0, 9.0, 3.0), weights=(0.55, 0.3, 0.15))[..., None]
    background = low + (high - low) * mix
    band = None
    if scene["band"] is not None:
        b = scene["band"]
        brng = np.random.default_rng(b["seed"])
        ripples = fractal_noise(brng, int(b["height"]) + 2, 2 * w, (12.0, 5.0, 2.5), (0.4, 0.35, 0.25))
        color = hsv_to_rgb(*b["color"])
        band = color * (0.6 + 0.7 * ripples[..., None])
    return background.astype(np.float32), None if band is None else band.astype(np.float32)


def render_clip(spec: ClipSpec | dict) -> np.ndarray:
    """Draw one clip from its latent factors: ``(T, H, W, 3) uint8`` RGB, the pixels that get encoded.

    Pure: the same spec (a :class:`ClipSpec` or its ``synth.json`` entry) gives the same pixels.
    """
    if isinstance(spec, dict):
        spec = ClipSpec.from_dict(spec)
    T, H, W, p = spec.frames, spec.height, spec.width, spec.params
    rng = np.random.default_rng(spec.seed)
    background, band = _scene(spec)
    margin = p["scene"]["margin"]
    pan, shake_sigma = p["camera"]["pan"], p["camera"]["shake"]
    shake = rng.normal(0, 1, (T, 2)) * shake_sigma
    shake[0] = 0
    effect = p["effect"]
    spots_on = rng.random((T, len(effect["spots"]))) < effect["rate"] if spec.residual == "Sparkle" else None
    x, y, angle, scale = actor_track(spec.motion, p["track"], pan, T)
    actor = p["actor"]
    grain = value_noise(np.random.default_rng(actor["grain_seed"]), 48, 48, 1.0)
    distractors = [(d, value_noise(np.random.default_rng(d["grain_seed"]), 48, 48, 1.0)) for d in p["distractors"]]
    light = p["light"]
    out = np.empty((T, H, W, 3), np.uint8)
    for t in range(T):
        cx, cy = pan[0] * t + shake[t, 0], pan[1] * t + shake[t, 1]
        cx, cy = np.clip([cx, cy], -margin + 0.5, margin - 0.5)
        frame = shift_crop(background, margin + cx, margin + cy, H, W)
        if band is not None:
            b = p["scene"]["band"]
            top, bottom = int(round(b["top"])), min(H, int(round(b["top"])) + band.shape[0] - 2)
            xs = np.arange(W, dtype=np.float32)[None, :] + np.float32(cx + p["band_speed"] * t)
            ys = np.arange(bottom - top, dtype=np.float32)[:, None] + np.float32(0.5 + 0.5 * np.sin(0.3 * t))
            rows = (bottom - top, W)
            frame[top:bottom] = sample_bilinear(band, np.broadcast_to(xs, rows), np.broadcast_to(ys, rows))
        for d, g in distractors:
            r = d["radius"]
            dx = reflect(np.float64(d["start"][0] + d["velocity"][0] * t), r, W - 1 - r)
            dy = reflect(np.float64(d["start"][1] + d["velocity"][1] * t), r, H - 1 - r)
            _paint(frame, dx, dy, 0.0, 1.0, d, g)
        _paint(frame, x[t] - shake[t, 0], y[t] - shake[t, 1], angle[t], scale[t], actor, grain,
               t, spec.residual, effect, spots_on)
        frame += light["amplitude"] * np.sin(2 * np.pi * t / light["period"] + light["phase"])
        if p["noise"] > 0:
            frame += rng.standard_normal((H, W, 3), dtype=np.float32) * np.float32(p["noise"])
        out[t] = np.clip(np.rint(frame), 0, 255).astype(np.uint8)
    return out
