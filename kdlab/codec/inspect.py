"""``kdlab inspect``: what a video holds, from the compressed domain's point of view."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from kdlab.codec.reader import MOTION_VECTOR_CODECS, iter_frames, probe


def gop_lengths(frame_types: str) -> list[int]:
    """Lengths of the GOPs in a frame-type string (a GOP starts at each ``I``; leading non-I frames are one GOP)."""
    starts = [i for i, t in enumerate(frame_types) if t == "I"]
    if not starts or starts[0] != 0:
        starts = [0] + starts
    return [b - a for a, b in zip(starts, starts[1:] + [len(frame_types)])]


def inspect_video(path: str | Path) -> dict:
    """Codec, size, rate, frame and GOP structure and motion-vector statistics of ``path``.

    Decodes the whole file without converting pixels (fast). B-frame videos are described, with
    ``coviar_ready`` False and the reason.
    """
    info = probe(path)
    types: list[str] = []
    per_frame_vectors: list[int] = []
    magnitudes: list[np.ndarray] = []
    coverage: list[float] = []
    block_sizes: Counter = Counter()
    future_refs = 0
    area = info.width * info.height
    for frame in iter_frames(path, rgb=False, mvs=True, allow_bframes=True):
        types.append(frame.pict_type)
        if frame.mvs is None:
            continue
        mvs = frame.mvs
        per_frame_vectors.append(len(mvs))
        future_refs += int((mvs[:, 0] > 0).sum())
        past = mvs[mvs[:, 0] < 0]
        block_sizes.update(f"{w}x{h}" for w, h in zip(mvs[:, 1], mvs[:, 2]))
        coverage.append(min(1.0, float((past[:, 1] * past[:, 2]).sum()) / area))
        magnitudes.append(np.hypot(past[:, 5] - past[:, 3], past[:, 6] - past[:, 4]))
    frame_types = "".join(types)
    counts = Counter(frame_types)
    gops = gop_lengths(frame_types)
    mags = np.concatenate(magnitudes) if magnitudes else np.zeros(0)
    has_b = bool(counts.get("B") or counts.get("S"))
    reasons = []
    if has_b:
        reasons.append("has B-frames: run `kdlab reencode`")
    if "P" not in counts:
        reasons.append("has no P-frames")
    if info.codec not in MOTION_VECTOR_CODECS:
        reasons.append(f"its codec ({info.codec}) exports no motion vectors: run `kdlab reencode`")
    elif counts.get("P") and not sum(per_frame_vectors):
        reasons.append("its P-frames carry no motion vectors: run `kdlab reencode`")
    return {
        "path": str(path),
        "codec": info.codec,
        "width": info.width,
        "height": info.height,
        "fps": round(info.fps, 3),
        "frames": len(frame_types),
        "header_frames": info.header_frames,
        "frame_type_counts": dict(sorted(counts.items())),
        "frame_types": frame_types,
        "gops": len(gops),
        "gop_length": {"min": min(gops), "mean": round(float(np.mean(gops)), 2), "max": max(gops)} if gops else None,
        "other_streams": info.other_streams,
        "motion_vectors": {
            "frames_with_vectors": len(per_frame_vectors),
            "vectors_per_frame": round(float(np.mean(per_frame_vectors)), 1) if per_frame_vectors else 0.0,
            "past_reference_coverage": round(float(np.mean(coverage)), 3) if coverage else 0.0,
            "future_reference_vectors": future_refs,
            "block_sizes": dict(block_sizes.most_common()),
            "mean_magnitude_px": round(float(mags.mean()), 3) if mags.size else 0.0,
            "max_magnitude_px": round(float(mags.max()), 3) if mags.size else 0.0,
            "zero_fraction": round(float((mags == 0).mean()), 3) if mags.size else 0.0,
        },
        "coviar_ready": not reasons,
        "coviar_ready_reason": "; ".join(reasons) or "P-frames only, ready",
    }


def format_report(report: dict) -> str:
    """A human-readable rendering of :func:`inspect_video`'s result."""
    mv = report["motion_vectors"]
    types = report["frame_types"]
    shown = types if len(types) <= 60 else types[:60] + "..."
    gop = report["gop_length"]
    lines = [
        f"{report['path']}",
        f"  codec       {report['codec']}  {report['width']}x{report['height']}  {report['fps']} fps",
        f"  frames      {report['frames']} decoded ({report['header_frames']} in the header)  "
        + "  ".join(f"{k}:{v}" for k, v in report["frame_type_counts"].items()),
        f"  types       {shown}",
        f"  GOPs        {report['gops']}" + (f"  length min {gop['min']} mean {gop['mean']} max {gop['max']}" if gop else ""),
        f"  vectors     {mv['vectors_per_frame']} per frame on {mv['frames_with_vectors']} frames, "
        f"blocks {', '.join(mv['block_sizes'])}",
        f"  motion      mean {mv['mean_magnitude_px']} px, max {mv['max_magnitude_px']} px, "
        f"{mv['zero_fraction']:.0%} zero, {mv['past_reference_coverage']:.0%} of the frame covered",
        f"  CoViAR      {'ready' if report['coviar_ready'] else 'not ready'}: {report['coviar_ready_reason']}",
    ]
    if report["other_streams"]:
        lines.insert(2, f"  streams     also {', '.join(report['other_streams'])} (ignored)")
    return "\n".join(lines)
