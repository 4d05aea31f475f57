"""The synthetic benchmark: determinism, UCF-101 layout, decodable MPEG-4 Part 2, and its design."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import numpy as np
import pytest

from kdlab.codec import extract, iter_frames, probe
from kdlab.data.synthetic import (
    PRESETS,
    ClipSpec,
    SynthConfig,
    actor_track,
    class_table,
    factor_levels,
    generate,
    plan,
    read_metadata,
    render_clip,
)
from kdlab.errors import ConfigError, KdlabError

TINY = PRESETS["tiny"]
NAME = re.compile(r"^(?P<cls>[A-Za-z]+)/v_(?P=cls)_g(?P<g>\d\d)_c(?P<c>\d\d)\.avi$")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return generate(tmp_path_factory.mktemp("synth") / "tiny", TINY, workers=1, progress=False)


def _lists(root: Path):
    classes = {}
    for line in (root / "classInd.txt").read_text().splitlines():
        index, name = line.split()
        classes[int(index)] = name
    train = [line.split() for line in (root / "trainlist01.txt").read_text().splitlines()]
    test = [line.split() for line in (root / "testlist01.txt").read_text().splitlines()]
    return classes, train, test


def test_config_errors_name_the_key():
    for key, value in [("classes", 1), ("width", 100), ("frames", 5), ("seed", -1), ("nuisance", 3.0)]:
        with pytest.raises(ConfigError, match=key):
            SynthConfig(**{key: value})
    with pytest.raises(ConfigError, match="colour"):
        TINY.replace(colour=3)


@pytest.mark.parametrize("num_classes", range(2, 25))
def test_class_table_uses_every_level_and_unique_names(num_classes):
    table = class_table(num_classes)
    levels = factor_levels(num_classes)
    assert [c.label for c in table] == list(range(num_classes))
    assert len({c.name for c in table}) == num_classes and all(c.name.isalnum() for c in table)
    for factor, count in levels.items():
        assert len({getattr(c, factor) for c in table}) == count
    if num_classes in (4, 10, 16):  # any two streams together can tell every class apart
        for a, b in itertools.combinations(table, 2):
            assert sum(getattr(a, f) != getattr(b, f) for f in levels) >= 2, (a, b)


def test_render_is_pure_and_seeded():
    specs = plan(TINY)
    spec = specs[5]
    frames = render_clip(spec)
    assert frames.shape == (TINY.frames, TINY.height, TINY.width, 3) and frames.dtype == np.uint8
    np.testing.assert_array_equal(frames, render_clip(spec))
    np.testing.assert_array_equal(frames, render_clip(json.loads(json.dumps(spec.to_dict()))))  # synth.json entry
    assert [s.to_dict() for s in plan(TINY)] == [s.to_dict() for s in specs]
    other = plan(TINY.replace(seed=1))
    assert [s.video for s in other] == [s.video for s in specs]
    assert other[5].params != spec.params
    assert not np.array_equal(render_clip(other[5]), frames)
    assert frames.std(axis=0).mean() > 1.0  # the clip moves


def test_same_seed_same_files(tiny, tmp_path):
    again = generate(tmp_path / "again", TINY, workers=2, progress=False)
    names = sorted(p.relative_to(tiny).as_posix() for p in tiny.rglob("*") if p.is_file())
    assert names == sorted(p.relative_to(again).as_posix() for p in again.rglob("*") if p.is_file())
    for name in names:
        assert (tiny / name).read_bytes() == (again / name).read_bytes(), name


def test_ucf101_layout_and_lists(tiny):
    classes, train, test = _lists(tiny)
    assert sorted(classes) == list(range(1, TINY.classes + 1))
    assert [classes[i] for i in sorted(classes)] == [c.name for c in class_table(TINY.classes)]
    assert len(train) == TINY.classes * TINY.clips_per_class and len(test) == TINY.classes * TINY.test_clips_per_class
    groups = {"train": set(), "test": set()}
    for split, rows in (("train", train), ("test", test)):
        for row in rows:
            match = NAME.match(row[0])
            assert match, row
            assert (tiny / row[0]).is_file()
            if split == "train":
                assert len(row) == 2 and classes[int(row[1])] == match["cls"]
            else:
                assert len(row) == 1 and match["cls"] in classes.values()
            groups[split].add((match["cls"], match["g"]))
    assert not groups["train"] & groups["test"], "a group straddles train and test"
    videos = sorted(p.relative_to(tiny).as_posix() for p in tiny.rglob("*.avi"))
    assert videos == sorted(row[0] for row in train + test)
    assert not list(tiny.rglob(".*part*")), "temporary files left behind"


def test_metadata_matches_lists(tiny):
    data = read_metadata(tiny)
    assert data["complete"] and data["config"] == TINY.as_dict()
    classes, train, test = _lists(tiny)
    by_path = {clip["class_name"] + "/" + clip["video"] + ".avi": clip for clip in data["clips"]}
    assert sorted(by_path) == sorted(row[0] for row in train + test)
    for row in train:
        assert by_path[row[0]]["split"] == "train" and by_path[row[0]]["label"] + 1 == int(row[1])
    for row in test:
        clip = by_path[row[0]]
        assert clip["split"] == "test" and classes[clip["label"] + 1] == clip["class_name"]
    for clip in data["clips"]:  # the class name spells its factors
        assert clip["class_name"] == clip["appearance"] + clip["motion"] + clip["residual"]


def test_videos_are_mpeg4_part2_p_frames_gop12(tiny):
    for path in sorted(tiny.rglob("*.avi")):
        info = probe(path)
        assert info.codec == "mpeg4" and (info.width, info.height) == (TINY.width, TINY.height)
        types = "".join(f.pict_type for f in iter_frames(path, rgb=False, mvs=False))
        assert types == ("I" + "P" * 11) * (TINY.frames // 12), path


def test_resume_skips_and_refuses_another_config(tiny):
    video = next(tiny.rglob("*.avi"))
    stamp = video.stat().st_mtime_ns
    generate(tiny, TINY, workers=1, progress=False)
    assert video.stat().st_mtime_ns == stamp
    with pytest.raises(KdlabError, match="seed"):
        generate(tiny, TINY.replace(seed=7), workers=1, progress=False)


def _actor_stats(root: Path, clip: dict) -> tuple[float, float, float]:
    """Over the P-frames, in a window inside the actor: mean vertical motion relative to the frame's
    median (px), RMS of the window's mean residual (the DC a brightness change leaves), mean |motion|."""
    spec = ClipSpec.from_dict(clip)
    reps = extract(root / spec.relpath, accumulate=True)
    x, y, _, scale = actor_track(spec.motion, spec.params["track"], spec.params["camera"]["pan"], spec.frames)
    radius = spec.params["actor"]["radius"]
    motion, dc, speed = [], [], []
    for t in reps.p_positions():
        half = max(2, int(0.45 * radius * scale[t]))
        cx, cy = int(round(x[t])), int(round(y[t]))
        window = (slice(max(cy - half, 0), cy + half), slice(max(cx - half, 0), cx + half))
        mv = reps.mv[t].astype(np.float64)
        motion.append(mv[window][..., 1].mean() - np.median(mv[..., 1]))
        speed.append(np.abs(mv[window]).mean())
        dc.append(reps.residual[t][window].astype(np.float64).mean())
    return float(np.mean(motion)), float(np.sqrt(np.mean(np.square(dc)))), float(np.mean(speed))


def test_design_motion_in_vectors_flicker_in_residual(tiny):
    """Rise/Fall is the sign of the actor's vertical motion vectors; Flicker leaves a brightness
    offset in the residual inside the actor, while its motion vectors look like a steady actor's."""
    clips = read_metadata(tiny)["clips"]
    assert {c["motion"] for c in clips} == {"Rise", "Fall"} and {c["residual"] for c in clips} == {"Steady", "Flicker"}
    stats = {c["video"]: _actor_stats(tiny, c) for c in clips}
    signs = [np.sign(stats[c["video"]][0]) == (-1 if c["motion"] == "Rise" else 1) for c in clips]
    assert np.mean(signs) >= 0.9, stats

    def median(residual, index):
        return np.median([stats[c["video"]][index] for c in clips if c["residual"] == residual])

    assert median("Flicker", 1) > 3 * median("Steady", 1), stats
    assert 0.5 < median("Flicker", 2) / median("Steady", 2) < 2, stats
