"""The synthetic compressed-video action benchmark (``kdlab synth``): classes that need all three streams.

CoViAR reads three representations of an MPEG-4 video (I-frames, motion vectors, residuals), and
its late fusion helps because each carries evidence the others lack. This benchmark builds that
property in, so that a laptop shows it in minutes, with no download. ``data/README.md`` explains
the design at length; in short:

**Classes are combinations of three latent factors**, one per stream. Every clip shows one *actor*
(a textured shape: a coloured core inside a neutral grey rim, under a grey pattern):

==============  ===================================================  ==============================
factor          levels (the design takes the first few)              meant to be seen by
==============  ===================================================  ==============================
``appearance``  the core's colour: ``Red``, ``Blue``, ``Green``,     I-frames (motion vectors carry
                ``Yellow``, ``Purple``, ``Cyan``, ``Orange``,         no colour; the residual's
                ``Pink``, then the pale ``PaleRed`` ... ``PalePink``  compensation errors are grey)
``motion``      ``Rise``, ``Fall`` (vertical, by sign), ``Slide``    motion vectors (the sign of
                (horizontal), ``Swing`` / ``Bounce`` (oscillating    Rise/Fall and the oscillation
                horizontally / vertically), ``Spin``, ``Orbit``,     are what the other two lack)
                ``Grow``, ``Shrink``
``residual``    ``Steady``, ``Flicker`` (the actor's brightness      residuals (changes inside the
                oscillates), ``Sparkle`` (spots blink), ``Ripple``    silhouette that no block
                (the pattern waves in place), ``Wobble`` (the         translation explains)
                outline deforms)
==============  ===================================================  ==============================

A class is named by its levels, e.g. ``RedRiseSteady``. With ``N`` classes the design uses
``0.8 N`` appearance, ``0.6 N`` motion and ``0.5 N`` residual levels (:data:`LEVEL_SHARE`; 8 x 6 x 5
for the default 10 classes) and picks the ``N`` combinations so that any two classes differ in at
least two factors (:func:`class_table`). A stream that recognised only its own factor, perfectly,
would name at most 80 % (I-frame), 60 % (MV) or 50 % (residual) of the clips, while any two
streams together could name them all: each teacher is well below 100 %, they disagree, and their
fusion beats each of them. Every level looks the same after a horizontal flip (the sense of
``Slide``, ``Spin``, ``Orbit`` is random), so CoViAR's flip augmentation keeps labels valid.

**Nuisances**, all random, keep it from being trivial. Per *group* (``gGG``; UCF-101's groups: clips
of a group share them, and no group is split between train and test): the background scene (a
smooth random texture in two random colours, in half the groups with a band that scrolls on its
own, like water), the actor's shape (disc, triangle, square, pentagon, hexagon), size and pattern
(stripes, dots, checker, rings). Per clip: start position, speed and its jitter, colour jitter,
pattern scale and orientation, a camera pan (everything moves, so the actor's vectors are relative
to the background's) and shake, zero to two distractors (smaller, in the colours of the classes,
bouncing around), slow global lighting drift and sensor noise. ``SynthConfig.nuisance`` scales them
all (0: none).

**Files**, in UCF-101's layout, encoded as ``kdlab reencode`` does (MPEG-4 Part 2, GOP 12, qscale 1,
no B-frames)::

    ROOT/classInd.txt                 "1 RedRiseSteady"                           (1-based)
    ROOT/trainlist01.txt              "RedRiseSteady/v_RedRiseSteady_g04_c01.avi 1"
    ROOT/testlist01.txt               "RedRiseSteady/v_RedRiseSteady_g01_c01.avi"
    ROOT/<Class>/v_<Class>_gGG_cCC.avi    test groups first (g01...), then the train groups
    ROOT/synth.json                   config, class table, and every clip's latent factors (its ClipSpec)

Everything follows from ``SynthConfig.seed``: the same config gives the same pixels and, with the
same FFmpeg, the same bytes. :func:`render_clip` draws one clip from its :class:`ClipSpec` (or the
clip's entry in ``synth.json``), so a notebook can show and explain any clip::

    from kdlab.data.synthetic import PRESETS, generate, plan, render_clip
    root = generate("data/synthetic/default", PRESETS["default"], workers=2)
    frames = render_clip(plan(PRESETS["tiny"])[0])          # (T, H, W, 3) uint8

Drawing lives in :mod:`kdlab.data.render`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kdlab.atomic import write_text
from kdlab.data import render
from kdlab.data.render import ClipSpec, actor_track, render_clip
from kdlab.data.synth_classes import (  # noqa: F401  (re-exported: the design's public names)
    _HUES,
    APPEARANCES,
    LEVEL_SHARE,
    MAX_CLASSES,
    MOTIONS,
    RESIDUALS,
    Appearance,
    ClassDef,
    class_table,
    factor_levels,
)
from kdlab.errors import ConfigError, KdlabError
from kdlab.parallel import map_jobs

#: Bump when the drawing changes, so that an old set is not silently resumed with new code.
GENERATOR_VERSION = 3
GOP = 12  # as `kdlab reencode` (CoViAR)
QSCALE = 1
METADATA = "synth.json"

@dataclass(frozen=True)
class SynthConfig:
    """Sizes and seed of a synthetic set. Clip counts are per class; groups hold ``clips_per_group`` clips."""

    classes: int = 10
    clips_per_class: int = 80  # training clips per class
    # a large test list (the study's power: evaluation is cheap next to training)
    test_clips_per_class: int = 120
    frames: int = 24  # 2 GOPs of 12
    width: int = 112
    height: int = 112
    seed: int = 0
    clips_per_group: int = 2  # many groups: many scenes to generalise from, many units to resample
    nuisance: float = 1.0  # scales every nuisance (0: clean videos)
    fps: int = 25

    def __post_init__(self):
        def need(key, ok, what):
            value = getattr(self, key)
            if isinstance(value, bool) or not ok(value):
                raise ConfigError(f"synth.{key} must be {what}, got {value!r}")

        is_int = lambda v: isinstance(v, int)  # noqa: E731
        need("classes", lambda v: is_int(v) and 2 <= v <= MAX_CLASSES, f"an integer from 2 to {MAX_CLASSES}")
        need("clips_per_class", lambda v: is_int(v) and v >= 1, "an integer >= 1")
        need("test_clips_per_class", lambda v: is_int(v) and v >= 1, "an integer >= 1")
        need("frames", lambda v: is_int(v) and GOP + 1 <= v <= 600,
             f"an integer from {GOP + 1} to 600 (one GOP is {GOP})")
        for key in ("width", "height"):
            need(key, lambda v: is_int(v) and 48 <= v <= 1024 and v % 16 == 0,
                 "a multiple of 16 from 48 to 1024 (whole macroblocks)")
        need("seed", lambda v: is_int(v) and v >= 0, "an integer >= 0")
        need("clips_per_group", lambda v: is_int(v) and v >= 1, "an integer >= 1")
        need("nuisance", lambda v: isinstance(v, (int, float)) and 0 <= v <= 2, "a number from 0 (clean) to 2")
        need("fps", lambda v: is_int(v) and 1 <= v <= 120, "an integer from 1 to 120")

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)

    def replace(self, **changes) -> SynthConfig:
        """A copy with ``changes``; unknown keys raise :class:`ConfigError`."""
        unknown = sorted(set(changes) - {f.name for f in dataclasses.fields(self)})
        if unknown:
            raise ConfigError(f"synth: unknown key(s) {unknown}; valid: {[f.name for f in dataclasses.fields(self)]}")
        return dataclasses.replace(self, **changes)


#: Named configurations: ``default`` is what ``make demo`` trains on; ``tiny`` is for tests.
PRESETS: dict[str, SynthConfig] = {
    "default": SynthConfig(),
    "tiny": SynthConfig(classes=4, clips_per_class=4, test_clips_per_class=2, frames=24, width=64, height=64,
                        clips_per_group=2),
}


# --------------------------------------------------------------------------------------------
# planning: the latent factors of every clip, drawn from the seed


def _r(x, digits=3):
    """Round for the JSON table; rendering uses the rounded values, so memory and JSON agree."""
    if isinstance(x, (list, tuple, np.ndarray)):
        return [_r(v, digits) for v in x]
    return round(float(x), digits)


def _group_params(rng: np.random.Generator, config: SynthConfig) -> dict:
    side = min(config.width, config.height)
    nuisance = config.nuisance
    margin = math.ceil(0.6 * nuisance * (config.frames - 1) + 3.0 * nuisance + 3)
    hue = rng.uniform(0, 360)
    scene = {
        "seed": int(rng.integers(2**31)),
        "margin": margin,
        "colors": [_r([hue, rng.uniform(0.1, 0.45), rng.uniform(0.25, 0.5)]),
                   _r([(hue + rng.uniform(60, 180)) % 360, rng.uniform(0.1, 0.45), rng.uniform(0.55, 0.85)])],
        "band": None,
    }
    if rng.random() < 0.5 * nuisance:
        height = rng.uniform(0.18, 0.3) * config.height
        scene["band"] = {"top": _r(rng.uniform(0, config.height - height)), "height": _r(height),
                         "color": _r([rng.uniform(0, 360), rng.uniform(0.2, 0.5), rng.uniform(0.35, 0.7)]),
                         "seed": int(rng.integers(2**31))}
    shapes = list(render.SHAPES)
    textures = render.TEXTURES
    actor = {"shape": shapes[int(rng.integers(len(shapes)))], "radius": _r(rng.uniform(0.14, 0.19) * side),
             "texture": textures[int(rng.integers(len(textures)))]}
    return {"scene": scene, "actor": actor}


def _look(rng: np.random.Generator, appearance: Appearance, texture: str, radius: float, unit: float) -> dict:
    """Colour and texture of an object of ``appearance`` (the actor or a distractor)."""
    return {
        "hue": _r((appearance.hue + rng.uniform(-5, 5)) % 360),  # neighbouring hues are 25-35 degrees apart
        "saturation": _r(np.clip(appearance.saturation + rng.uniform(-0.1, 0.1), 0, 1)),
        "value": _r(np.clip(appearance.value + rng.uniform(-0.1, 0.1), 0, 1)),
        "texture": texture,
        "contrast": _r(rng.uniform(60, 90)),
        "rim": _r(rng.uniform(0.3, 0.4)),  # width of the neutral rim, a share of the radius
        "period": _r(rng.uniform(6.0, 10.0) * unit),
        "angle": _r(rng.uniform(0, 180)),
        "offset": _r(rng.uniform(-0.35, 0.35, 2) * radius),
        "grain_seed": int(rng.integers(2**31)),
    }


def _track_params(rng: np.random.Generator, motion: str, unit: float, nuisance: float) -> dict:
    """The motion factor's parameters. Every level looks the same after a horizontal flip (the
    sense of Slide, Spin, Orbit is random), so CoViAR's flip augmentation keeps labels valid."""
    jitter = rng.uniform(0, 0.35) * min(nuisance, 1.0)
    track = {"jitter": _r(jitter), "jitter_period": _r(rng.uniform(10, 20)),
             "jitter_phase": _r(rng.uniform(0, 2 * np.pi)), "angle0": _r(rng.uniform(0, 360)), "drift": [0.0, 0.0]}
    if motion in ("Rise", "Fall", "Slide"):
        base = {"Rise": -90, "Fall": 90, "Slide": 180 * int(rng.integers(2))}[motion]
        track["direction"] = _r(base + rng.uniform(-15, 15))
        track["fill"] = _r(rng.uniform(0.4, 0.7))  # share of the free room the path covers
    else:
        speed = rng.uniform(0, 0.25) * unit
        angle = rng.uniform(0, 2 * np.pi)
        track["drift"] = _r([speed * np.cos(angle), speed * np.sin(angle)])
    if motion == "Spin":
        track["spin"] = _r(rng.uniform(4.5, 8.0) * rng.choice([-1, 1]))  # degrees per frame, clockwise > 0
    if motion in ("Swing", "Bounce"):
        track.update(direction=_r((0 if motion == "Swing" else 90) + rng.uniform(-20, 20)),
                     amplitude=_r(rng.uniform(7, 11) * unit), period=_r(rng.uniform(14, 22)),
                     phase=_r(rng.uniform(0, 2 * np.pi)))
    if motion == "Orbit":
        track.update(amplitude=_r(rng.uniform(8, 12) * unit), period=_r(rng.uniform(20, 30) * rng.choice([-1, 1])),
                     phase=_r(rng.uniform(0, 2 * np.pi)))
    if motion in ("Grow", "Shrink"):  # log of the scale change over the clip, around 0.85 x the group's size
        track.update(zoom=_r(rng.uniform(1.1, 1.4) * (1 if motion == "Grow" else -1)), scale0=0.85)
    return track


def _effect_params(rng: np.random.Generator, residual: str, radius: float, unit: float) -> dict:
    if residual == "Flicker":
        return {"amplitude": _r(rng.uniform(30, 45)), "period": _r(rng.uniform(5, 9)),
                "phase": _r(rng.uniform(0, 2 * np.pi))}
    if residual == "Sparkle":
        count = int(rng.integers(6, 11))
        spots = rng.uniform(-0.6, 0.6, (count, 2)) * radius
        return {"spots": _r(spots), "spot_radius": _r(rng.uniform(1.8, 2.6) * unit),
                "colors": _r(rng.choice([25.0, 235.0], count)), "rate": _r(rng.uniform(0.4, 0.6))}
    if residual == "Ripple":
        return {"amplitude": _r(rng.uniform(1.5, 2.5) * unit), "wavelength": _r(rng.uniform(7, 10) * unit),
                "period": _r(rng.uniform(4, 7)), "phase": _r(rng.uniform(0, 2 * np.pi))}
    if residual == "Wobble":
        return {"amplitude": _r(rng.uniform(0.12, 0.2)), "lobes": int(rng.integers(3, 6)),
                "period": _r(rng.uniform(6, 10)), "phase": _r(rng.uniform(0, 2 * np.pi)),
                "angle": _r(rng.uniform(0, 2 * np.pi))}
    return {}


def _clip_params(rng, config: SynthConfig, cls: ClassDef, group: dict, palette: list[Appearance]) -> dict:
    side = min(config.width, config.height)
    unit = side / 112.0
    nuisance = config.nuisance
    radius = group["actor"]["radius"]
    appearance = next(a for a in APPEARANCES if a.name == cls.appearance)
    actor = {**group["actor"], **_look(rng, appearance, group["actor"]["texture"], radius, unit)}
    track = _track_params(rng, cls.motion, unit, nuisance)
    effect = _effect_params(rng, cls.residual, radius, unit)
    pan_speed, pan_angle = rng.uniform(0, 0.6) * nuisance * unit, rng.uniform(0, 2 * np.pi)
    camera = {"pan": _r([pan_speed * np.cos(pan_angle), pan_speed * np.sin(pan_angle)]),
              "shake": _r(rng.uniform(0, 0.8) * nuisance)}
    band_speed = _r(rng.choice([-1, 1]) * rng.uniform(0.5, 1.5) * unit)
    count = int(rng.choice(3, p=_distractor_odds(nuisance)))
    distractors = []
    for _ in range(count):
        look = palette[int(rng.integers(len(palette)))]
        r = radius * rng.uniform(0.35, 0.55)
        speed, angle = rng.uniform(0.3, 1.5) * unit, rng.uniform(0, 2 * np.pi)
        distractors.append({"shape": list(render.SHAPES)[int(rng.integers(len(render.SHAPES)))], "radius": _r(r),
                            **_look(rng, look, render.TEXTURES[int(rng.integers(len(render.TEXTURES)))], r, unit),
                            "start": _r([rng.uniform(r, config.width - r), rng.uniform(r, config.height - r)]),
                            "velocity": _r([speed * np.cos(angle), speed * np.sin(angle)])})
    light = {"amplitude": _r(rng.uniform(0, 8) * nuisance), "period": _r(rng.uniform(40, 80)),
             "phase": _r(rng.uniform(0, 2 * np.pi))}
    noise = _r(rng.uniform(0.5, 2.0) * nuisance)
    params = {"scene": group["scene"], "actor": actor, "track": track, "effect": effect, "camera": camera,
              "band_speed": band_speed, "distractors": distractors, "light": light, "noise": noise}
    params["track"]["start"] = _place(rng, params, cls.motion, config)
    return params


def _distractor_odds(nuisance: float) -> list[float]:
    one, two = min(0.45 * nuisance, 0.6), min(0.2 * nuisance, 0.35)
    return [1 - one - two, one, two]


def _place(rng, params: dict, motion: str, config: SynthConfig) -> list[float]:
    """Start position: the whole screen path (with the camera pan) stays inside the frame."""
    T, W, H = config.frames, config.width, config.height
    radius = params["actor"]["radius"]
    track = params["track"]
    if "direction" in track and "fill" in track:  # slides: the path covers `fill` of the room
        d = np.deg2rad(track["direction"])
        dx, dy = abs(np.cos(d)), abs(np.sin(d))
        room = min((W - 1.6 * radius) / max(dx, 1e-3), (H - 1.6 * radius) / max(dy, 1e-3))
        track["speed"] = _r(track["fill"] * room / (T - 1))
    x, y, _, scale = actor_track(motion, {**track, "start": [0.0, 0.0]}, params["camera"]["pan"], T)
    margin = 0.8 * radius * float(scale.max())
    start = []
    for offsets, size in ((x, W), (y, H)):
        low, high = margin - offsets.min(), size - 1 - margin - offsets.max()
        start.append(_r(rng.uniform(low, high) if high > low else (low + high) / 2))
    return start


def plan(config: SynthConfig) -> list[ClipSpec]:
    """Every clip of ``config``, in a fixed order (class, then group, then clip), with its latent factors.

    Groups of each class: the test groups come first (``g01``...), then the train groups, as in
    UCF-101's split 1. Randomness: group ``g`` of class ``c`` draws from ``seed, c, g``, its clip ``k``
    from ``seed, c, g, k``, so a clip does not depend on how many other clips there are.
    """
    table = class_table(config.classes)
    levels = factor_levels(config.classes)
    palette = list(APPEARANCES[: max(levels["appearance"], len(_HUES))])
    specs = []
    for cls in table:
        groups: dict[int, dict] = {}
        test_groups = math.ceil(config.test_clips_per_class / config.clips_per_group)
        for split, count, first in (("test", config.test_clips_per_class, 1),
                                    ("train", config.clips_per_class, 1 + test_groups)):
            for k in range(count):
                g, c = first + k // config.clips_per_group, 1 + k % config.clips_per_group
                if g not in groups:
                    groups[g] = _group_params(np.random.default_rng([config.seed, cls.label, g]), config)
                group = groups[g]
                rng = np.random.default_rng([config.seed, cls.label, g, c])
                seed = int(rng.integers(2**31))
                specs.append(ClipSpec(
                    video=f"v_{cls.name}_g{g:02d}_c{c:02d}", class_name=cls.name, label=cls.label, split=split,
                    group=g, clip=c, appearance=cls.appearance, motion=cls.motion, residual=cls.residual,
                    frames=config.frames, width=config.width, height=config.height, seed=seed,
                    params=_clip_params(rng, config, cls, group, palette)))
    return specs


# --------------------------------------------------------------------------------------------
# writing a set: videos, then synth.json and the list files


def _write_clip(spec: dict, path: str, fps: int) -> str:
    from kdlab.codec.encode import EncodeSettings, encode_frames

    frames = render_clip(spec)
    settings = EncodeSettings(width=spec["width"], height=spec["height"], gop=GOP, qscale=QSCALE)
    encode_frames(frames, path, settings, fps=fps)
    return path


def metadata(config: SynthConfig, specs: list[ClipSpec] | None = None, complete: bool = False) -> dict:
    """The content of ``synth.json``: config, class table, factor levels and every clip's spec."""
    specs = plan(config) if specs is None else specs
    return {
        "format": "kdlab-synth", "generator_version": GENERATOR_VERSION, "complete": complete,
        "config": config.as_dict(), "encode": {"codec": "mpeg4", "gop": GOP, "qscale": QSCALE, "b_frames": 0},
        "factor_levels": factor_levels(config.classes), "level_share": LEVEL_SHARE,
        "classes": [dataclasses.asdict(c) for c in class_table(config.classes)],
        "clips": [s.to_dict() for s in specs],
    }


def read_metadata(root: str | Path) -> dict:
    """``ROOT/synth.json`` as a dict; raises :class:`KdlabError` naming the file when it is missing or bad."""
    path = Path(root) / METADATA
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise KdlabError(f"{path}: not found; `kdlab synth --out {root}` writes it") from None
    except (OSError, ValueError) as exc:
        raise KdlabError(f"{path}: unreadable ({exc}); delete the folder and run `kdlab synth` again") from None
    if data.get("format") != "kdlab-synth":
        raise KdlabError(f"{path}: not a kdlab synthetic set (no format 'kdlab-synth')")
    return data


def _check_resumable(root: Path, config: SynthConfig) -> None:
    if not (root / METADATA).exists():
        return
    old = read_metadata(root)
    if old.get("config") != config.as_dict() or old.get("generator_version") != GENERATOR_VERSION:
        differ = sorted(k for k, v in config.as_dict().items() if old.get("config", {}).get(k) != v)
        what = f"other values of {differ}" if differ else f"generator version {old.get('generator_version')}"
        raise KdlabError(f"{root}: holds a synthetic set made with {what}; choose another --out or delete {root}")


def _complete(root: Path, specs) -> bool:
    """Whether ``root`` holds a finished set (its ``synth.json`` says so) with every video present."""
    try:
        done = read_metadata(root).get("complete", False)
    except KdlabError:
        return False
    return done and all((root / name).exists() for name in ("classInd.txt", "trainlist01.txt", "testlist01.txt")) \
        and all((root / s.relpath).exists() for s in specs)


def generate(
    root: str | Path, config: SynthConfig | None = None, workers: int | None = None, progress: bool = True
) -> Path:
    """Write the synthetic set of ``config`` (default: ``PRESETS["default"]``) under ``root``; returns ``root``.

    Resumable: a video that exists is complete (writes are atomic) and is skipped. ``synth.json``
    is written first with ``"complete": false`` (so that a rerun with another config is refused),
    the list files and the final ``synth.json`` last. ``workers``: processes (default: all cores).
    """
    from kdlab.data.splits import Split, VideoRecord, write_lists

    config = PRESETS["default"] if config is None else config
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    _check_resumable(root, config)
    specs = plan(config)
    if _complete(root, specs):  # nothing to write: leave the files (and their times) as they are
        return root
    write_text(root / METADATA, json.dumps(metadata(config, specs, complete=False)))
    todo = [s for s in specs if not (root / s.relpath).exists()]
    workers = max(1, min(workers or os.cpu_count() or 1, len(todo) or 1))
    jobs = {s.relpath: (s.to_dict(), str(root / s.relpath), config.fps) for s in todo}
    _, failures = map_jobs(_write_clip, jobs, workers, desc="synth", progress=progress)
    if failures:  # rendering is deterministic code, so this is a bug or a full disk: stop before the lists
        raise KdlabError(f"{root}: {len(failures)} clips could not be written, e.g. {next(iter(failures.values()))}")
    classes = [c.name for c in class_table(config.classes)]
    records = {split: [VideoRecord(s.relpath, s.label) for s in specs if s.split == split]
               for split in ("train", "test")}
    write_lists(root, Split(classes, records["train"], records["test"]))
    write_text(root / METADATA, json.dumps(metadata(config, specs, complete=True)))
    return root


def summary(root: str | Path) -> str:
    """One paragraph about the set under ``root`` (from ``synth.json``)."""
    data = read_metadata(root)
    c = data["config"]
    splits = Counter(clip["split"] for clip in data["clips"])
    groups = {(clip["class_name"], clip["group"]) for clip in data["clips"]}
    levels = data["factor_levels"]
    return (f"{root}: {c['classes']} classes ({levels['appearance']} appearances x {levels['motion']} motions x "
            f"{levels['residual']} residual effects), {splits['train']} train + {splits['test']} test clips in "
            f"{len(groups)} groups, {c['frames']} frames of {c['width']}x{c['height']} (GOP {GOP}), seed {c['seed']}"
            + ("" if data["complete"] else " [INCOMPLETE: rerun to finish]"))

