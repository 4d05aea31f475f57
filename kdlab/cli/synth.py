"""``kdlab synth``: write the synthetic compressed-video action benchmark (see :mod:`kdlab.data.synthetic`)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from kdlab.errors import ConfigError

#: Command-line flags that override a preset's field of the same name.
OVERRIDES = {
    "classes": "classes",
    "clips_per_class": "clips-per-class",
    "test_clips_per_class": "test-clips-per-class",
    "frames": "frames",
    "width": "width",
    "height": "height",
    "seed": "seed",
    "clips_per_group": "clips-per-group",
    "nuisance": "nuisance",
}


def register(subparsers) -> None:
    from kdlab.data.synthetic import PRESETS

    default = PRESETS["default"]
    p = subparsers.add_parser(
        "synth",
        help="write the synthetic compressed-video action benchmark (UCF-101 layout, MPEG-4 Part 2, GOP 12)",
        description="Render and encode the synthetic benchmark: every class combines an appearance (seen in "
        "I-frames), a motion (seen in motion vectors) and a residual effect (seen in residuals). Deterministic "
        "from --seed; resumable (existing videos are kept); the list files and synth.json are written last.",
    )
    p.add_argument("--out", required=True, help="output folder (e.g. data/synthetic/default)")
    p.add_argument("--preset", choices=sorted(PRESETS), default="default",
                   help="named sizes: default (what `make demo` uses) or tiny (for tests); flags below override it")
    p.add_argument("--classes", type=int, help=f"number of classes (default preset: {default.classes})")
    p.add_argument("--clips-per-class", type=int, help=f"training clips per class ({default.clips_per_class})")
    p.add_argument("--test-clips-per-class", type=int, help=f"test clips per class ({default.test_clips_per_class})")
    p.add_argument("--clips-per-group", type=int,
                   help=f"clips sharing a scene, like UCF-101's groups ({default.clips_per_group})")
    p.add_argument("--frames", type=int, help=f"frames per clip ({default.frames}; GOP 12)")
    p.add_argument("--width", type=int, help=f"frame width, a multiple of 16 ({default.width})")
    p.add_argument("--height", type=int, help=f"frame height, a multiple of 16 ({default.height})")
    p.add_argument("--seed", type=int, help=f"random seed ({default.seed})")
    p.add_argument("--nuisance", type=float, help=f"scale of every nuisance, 0 (clean) to 2 ({default.nuisance})")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="parallel processes (default: all cores)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=_synth)


def _synth(args) -> int:
    from kdlab.data.synthetic import PRESETS, generate, plan, summary

    if args.workers < 1:
        raise ConfigError(f"--workers must be >= 1, got {args.workers}")
    changes = {key: getattr(args, key) for key in OVERRIDES if getattr(args, key) is not None}
    config = PRESETS[args.preset].replace(**changes)
    root = Path(args.out)
    existing = sum((root / spec.relpath).exists() for spec in plan(config))
    start = time.perf_counter()
    generate(root, config, workers=args.workers, progress=not args.quiet)
    elapsed = time.perf_counter() - start
    total = config.classes * (config.clips_per_class + config.test_clips_per_class)
    print(summary(root))
    print(f"{total - existing} videos written, {existing} already there, in {elapsed:.1f} s")
    return 0
