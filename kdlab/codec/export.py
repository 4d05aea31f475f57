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

The video is read a GOP (or a piece of a long one) at a time (:class:`~kdlab.codec.extract.GopStream`):
its arrays are appended to temporary ``.npy`` files beside the output, which are copied into the
archive in chunks at the end, so memory stays bounded whatever the clip's length (the disk
holds the output twice while it is written). The archive is uncompressed unless asked: motion and
residual compress well, but deflating them costs several times the extraction.
"""

from __future__ import annotations

import tempfile
import zipfile
from contextlib import ExitStack
from pathlib import Path

import numpy as np

from kdlab.atomic import replacing
from kdlab.codec.extract import GopStream, gop_layout, read_reencoding
from kdlab.codec.npyfile import NpyWriter, add_to_zip, write_to_zip
from kdlab.codec.reader import MV_FIELDS


def export_npz(video: str | Path, out: str | Path, accumulate: bool = False, reencode: bool = False,
               compress: bool = False) -> Path:
    """Extract ``video`` and write every array to ``out`` (``.npz``, written atomically; deflated
    when ``compress``). Returns the path written (``.npz`` appended when missing)."""
    out = Path(out)
    if out.suffix != ".npz":
        out = out.with_name(out.name + ".npz")
    read_reencoding(video, reencode, lambda path: _write(GopStream(path, accumulate=accumulate, keep_vectors=True), out, compress))
    return out


def _write(stream: GopStream, out: Path, compress: bool) -> None:
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with replacing(out) as tmp, zipfile.ZipFile(tmp, "w", method) as archive, ExitStack() as files:
        spooled = {name: NpyWriter(files.enter_context(tempfile.TemporaryFile(dir=out.parent)), dtype)
                   for name, dtype in (("iframes", np.uint8), ("mv", np.int16), ("residual", np.int16))}
        for piece in stream:
            for k, vectors in enumerate(piece.vectors):
                write_to_zip(archive, f"mvs_{piece.first + k:05d}", vectors)
            if piece.starts_gop:
                spooled["iframes"].append(piece.iframe[None])
            spooled["mv"].append(piece.mv)
            spooled["residual"].append(piece.residual)
        gop_index, gop_pos = gop_layout(stream.frame_types)
        small = dict(mv_fields=np.array(MV_FIELDS), frame_types=np.array(list(stream.frame_types)),
                     gop_index=gop_index, gop_pos=gop_pos, accumulate=np.array(stream.accumulate))
        for name, array in small.items():
            write_to_zip(archive, name, array)
        for name, writer in spooled.items():
            writer.close()
            add_to_zip(archive, name, writer.file)
