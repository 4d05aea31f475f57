"""``kdlab export``: a video's raw vectors and dense representations in one ``.npz`` file.

Keys:

==================  ==========================================================================
``mvs_00000`` ...   FFmpeg's raw vectors of frame i, ``(M, 10) int32``, columns ``MV_FIELDS``
                    (empty ``(0, 10)`` for I-frames)
``mv_fields``       the ten column names
``frame_types``     ``(N,)`` one letter per frame
``gop_index``       ``(N,) int32``; ``gop_pos`` ``(N,) int32``
``iframes``         ``(G, H, W, 3) uint8``
``mv``              ``(N, H, W, 2) int16`` motion (x, y), per frame or accumulated
``residual``        ``(N, H, W, 3) int16``
``accumulate``      ``bool``
==================  ==========================================================================
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kdlab.atomic import replacing
from kdlab.codec.extract import extract
from kdlab.codec.reader import MV_FIELDS


def export_npz(video: str | Path, out: str | Path, accumulate: bool = False, reencode: bool = False) -> Path:
    """Extract ``video`` and write every array to ``out`` (compressed ``.npz``, written atomically)."""
    reps = extract(video, accumulate=accumulate, keep_vectors=True, reencode=reencode)
    arrays = {f"mvs_{i:05d}": vectors for i, vectors in enumerate(reps.vectors)}
    arrays.update(
        mv_fields=np.array(MV_FIELDS),
        frame_types=np.array(list(reps.frame_types)),
        gop_index=reps.gop_index,
        gop_pos=reps.gop_pos,
        iframes=reps.iframes,
        mv=reps.mv,
        residual=reps.residual,
        accumulate=np.array(accumulate),
    )
    out = Path(out)
    if out.suffix != ".npz":
        out = out.with_name(out.name + ".npz")
    with replacing(out) as tmp:
        np.savez_compressed(tmp, **arrays)
    return out
