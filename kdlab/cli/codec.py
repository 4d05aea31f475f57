"""``kdlab reencode``, ``kdlab inspect``, ``kdlab export``: the codec's commands."""

from __future__ import annotations

import argparse
import json
import os

#: ``EncodeSettings()``'s values, for the help text: the codec (numba, PyAV) is imported only by the
#: command that runs, so that ``kdlab --help`` starts fast (tests/test_codec_cli.py checks they agree).
ENCODE_DEFAULTS = {"width": 340, "height": 256, "gop": 12, "qscale": 1}


def register(subparsers) -> None:
    defaults = argparse.Namespace(**ENCODE_DEFAULTS)
    p = subparsers.add_parser(
        "reencode",
        help="re-encode videos as CoViAR expects (MPEG-4 Part 2, no B-frames, GOP 12, 340x256)",
        description="Re-encode videos or whole folder trees (mirrored under --out). Skips outputs that exist; "
        "writes atomically; one bad file does not stop the batch (failures are listed at the end, exit 1).",
    )
    p.add_argument("sources", nargs="+", metavar="SRC", help="video files or folders")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--width", type=int, default=defaults.width, help=f"output width (default {defaults.width})")
    p.add_argument("--height", type=int, default=defaults.height, help=f"output height (default {defaults.height})")
    p.add_argument("--gop", type=int, default=defaults.gop, help=f"frames per GOP (default {defaults.gop})")
    p.add_argument("--qscale", type=int, default=defaults.qscale, help="quality 1 (best, default) to 31")
    p.add_argument("--fps", type=float, default=None, help="output frame rate (default: the source's)")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="parallel processes (default: all cores)")
    p.add_argument("--overwrite", action="store_true", help="re-encode even when the output exists")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=_reencode)

    p = subparsers.add_parser("inspect", help="codec, size, frame types, GOPs and motion-vector statistics of a video")
    p.add_argument("video")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(handler=_inspect)

    p = subparsers.add_parser(
        "export",
        help="write a video's raw vectors and dense I-frame/MV/residual arrays to an .npz",
        description="Keys: mvs_00000... (per-frame raw vectors, columns source,w,h,src_x,src_y,dst_x,dst_y,"
        "motion_x,motion_y,motion_scale), frame_types, gop_index, gop_pos, iframes, mv, residual, accumulate.",
    )
    p.add_argument("video")
    p.add_argument("--out", required=True, help="output .npz file")
    p.add_argument("--accumulate", action="store_true", help="trace motion and residual back to the I-frame")
    p.add_argument("--reencode", action="store_true", help="re-encode a B-frame video first instead of failing")
    p.add_argument("--compress", action="store_true", help="deflate the arrays (several times slower; default: stored)")
    p.set_defaults(handler=_export)


def _reencode(args) -> int:
    from kdlab.codec.batch import reencode_tree
    from kdlab.codec.encode import EncodeSettings

    settings = EncodeSettings(
        width=args.width, height=args.height, gop=args.gop, qscale=args.qscale, fps=args.fps
    )
    report = reencode_tree(
        args.sources, args.out, settings, workers=args.workers, overwrite=args.overwrite, progress=not args.quiet
    )
    print(report.summary())
    return 1 if report.failed else 0


def _inspect(args) -> int:
    from kdlab.codec.inspect import format_report, inspect_video

    report = inspect_video(args.video)
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        print(format_report(report))
    return 0


def _export(args) -> int:
    from kdlab.codec.export import export_npz

    out = export_npz(args.video, args.out, accumulate=args.accumulate, reencode=args.reencode, compress=args.compress)
    print(f"wrote {out}")
    return 0
