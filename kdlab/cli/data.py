"""``kdlab prepare`` and ``kdlab cache``: real datasets and the representation cache."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from kdlab.errors import KdlabError

#: :data:`kdlab.data.prepare.PARSERS`'s names (the data and codec modules are imported only by the
#: command that runs, so that ``kdlab --help`` starts fast; tests/test_codec_cli.py checks they agree).
DATASETS = ("hmdb51", "ucf101")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "prepare",
        help="re-encode UCF-101/HMDB-51, write the split lists and index the videos (resumable)",
        description="Re-encodes the videos of all three official splits as CoViAR does, writes classInd.txt and "
        "train/testlist0{1,2,3}.txt (UCF-101 format) under --out and indexes their key frames under --out/index for "
        "the GOP-seeking loader (data.loader=seek: the videos are all it reads). --cache also builds --out/cache "
        "(data.loader=cache: faster loading, about 1 TB for UCF-101). Rerun to resume.",
    )
    p.add_argument("dataset", choices=DATASETS)
    p.add_argument("--src", required=True, help="the unpacked videos (RAW/<class>/<video>.avi)")
    p.add_argument("--splits", required=True, help="folder of the official split files")
    p.add_argument("--out", required=True, help="the dataset folder to write")
    p.add_argument("--width", type=int, default=340)
    p.add_argument("--height", type=int, default=256)
    p.add_argument("--cache", action="store_true", help="also build the representation cache (data.loader=cache)")
    p.add_argument("--no-accumulate", action="store_true", help="cache per-frame instead of accumulated motion")
    p.add_argument("--no-cache", action="store_true", help=argparse.SUPPRESS)  # the default now; kept for old scripts
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(handler=_prepare)

    p = subparsers.add_parser(
        "cache",
        help="build (or refresh) the representation cache of a dataset folder",
        description="Decodes each listed video once and stores its I-frames, motion and residuals under ROOT/cache "
        "(or --cache). Entries whose source or settings changed are rebuilt; corrupt videos are listed and skipped.",
    )
    p.add_argument("root", help="a dataset folder with classInd.txt and list files")
    p.add_argument("--lists", nargs="+", default=None, help="list files (default: every *list0*.txt in ROOT)")
    p.add_argument("--cache", default=None, help="cache folder (default ROOT/cache)")
    p.add_argument("--no-accumulate", action="store_true")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(handler=_cache)


def _prepare(args) -> int:
    from kdlab.codec.encode import EncodeSettings
    from kdlab.data.cache import CacheSettings
    from kdlab.data.prepare import prepare

    report = prepare(
        args.dataset, args.src, args.splits, args.out,
        settings=EncodeSettings(width=args.width, height=args.height),
        cache=CacheSettings(accumulate=not args.no_accumulate) if args.cache and not args.no_cache else None,
        workers=args.workers, progress=not args.quiet,
    )
    print(report.summary())
    return 0


def _cache(args) -> int:
    from kdlab.data.cache import CacheSettings, build_cache
    from kdlab.data.splits import read_class_index, read_list

    root = Path(args.root)
    classes = read_class_index(root / "classInd.txt")
    lists = [root / name for name in args.lists] if args.lists else sorted(root.glob("*list0*.txt"))
    if not lists:
        raise KdlabError(f"{root}: no list files (trainlist01.txt, ...); give --lists")
    records = list(dict.fromkeys(r for path in lists for r in read_list(path, classes)))
    report = build_cache(
        root, records, Path(args.cache) if args.cache else root / "cache",
        CacheSettings(accumulate=not args.no_accumulate), workers=args.workers, progress=not args.quiet,
    )
    print(report.summary())
    return 0
