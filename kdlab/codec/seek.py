"""Read chosen frames' representations without decoding the rest of the video: GOP seeking.

A training sample needs, per segment, one frame's I-frame, accumulated motion and residual, and
all three trace back only to the start of that frame's GOP. So:

1. :func:`build_index` reads a video's packets once, without decoding them, and keeps each
   frame's presentation time and whether it starts a GOP (a key packet): a
   :class:`KeyframeIndex`, a few kilobytes per video, saved as JSON (:func:`save_index`).
2. :class:`GopReader` seeks to the GOP's I-frame, decodes up to the sampled frame and traces
   motion on the way (:class:`~kdlab.codec.trace.MotionTracer`); frames between the I-frame and
   the sampled one are never converted to RGB (:meth:`~kdlab.codec.trace.MotionTracer.advance`).
   Two frames of one GOP share one decode; an I-frame-only sample decodes one frame per segment.

The arrays are those of :func:`~kdlab.codec.extract.extract` with ``precision="compact"`` (what the
cache stores), bit for bit (``tests/test_seek.py``). Seeking needs the stream the index describes:
each decoded frame's time is checked against it, and a mismatch (the file changed, or its packets
do not map one-to-one to frames) is an error that says to rebuild the index, never a wrong sample.

CoViAR's own loader decodes what a sample needs likewise, from the same re-encoded MPEG-4 files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from kdlab.codec.extract import gop_layout
from kdlab.codec.reader import PICTURE_TYPES, REENCODE_HINT, _frame_mvs, open_video, require_motion_vectors
from kdlab.codec.trace import MotionTracer, block_motion
from kdlab.errors import BFramesError, CorruptVideoError, KdlabError, VideoError

INDEX_FORMAT = 1
_I, _P = 1, 2  # FFmpeg's AV_PICTURE_TYPE_I and AV_PICTURE_TYPE_P (reader.PICTURE_TYPES)


@dataclass
class KeyframeIndex:
    """Where a video's frames and GOPs are, from its packets alone.

    Attributes:
        pts: ``(N,) int64`` each frame's presentation time (stream time base), in order.
        frame_types: ``"IPPP..."``: ``I`` for a key packet (a GOP's start), ``P`` otherwise.
        skipped_leading: frames before the first key packet (no reference; extraction skips them too).
        codec, width, height, fps: the stream's.
    """

    pts: np.ndarray
    frame_types: str
    skipped_leading: int
    codec: str
    width: int
    height: int
    fps: float

    @property
    def num_frames(self) -> int:
        return len(self.frame_types)

    def layout(self) -> tuple[np.ndarray, np.ndarray]:
        """``(gop_index, gop_pos)`` ``(N,) int32`` each (:func:`~kdlab.codec.extract.gop_layout`)."""
        return gop_layout(self.frame_types)

    def to_dict(self) -> dict:
        return {"format": INDEX_FORMAT, "codec": self.codec, "width": self.width, "height": self.height,
                "fps": self.fps, "skipped_leading": self.skipped_leading, "frame_types": self.frame_types,
                "pts": self.pts.tolist()}

    @classmethod
    def from_dict(cls, data: dict) -> "KeyframeIndex":
        return cls(np.asarray(data["pts"], np.int64), data["frame_types"], data["skipped_leading"],
                   data["codec"], data["width"], data["height"], data["fps"])


def build_index(path: str | Path) -> KeyframeIndex:
    """Read ``path``'s packets (no decoding: milliseconds per clip) into a :class:`KeyframeIndex`.

    Raises:
        NoMotionVectorsError: the codec exports no motion vectors.
        BFramesError: the stream header announces reordered frames, or presentation times go back
            in decoding order (B-frames).
        VideoError: unusable file, or no key packet followed by another packet.
    """
    path = Path(path)
    container, stream = open_video(path)
    with container:
        require_motion_vectors(path, stream.codec_context.name)
        pts, keys = [], []
        try:
            for packet in container.demux(stream):
                if packet.size == 0 or packet.pts is None:  # the demuxer's final flush packet; empty AVI chunks
                    continue
                pts.append(int(packet.pts))
                keys.append(bool(packet.is_keyframe))
        except av.error.FFmpegError as exc:
            raise CorruptVideoError(path, f"cannot be read after packet {len(pts)} ({exc})",
                                    "the file is corrupt or truncated; copy or download it again", frame=len(pts)) from None
        rate = stream.average_rate or stream.guessed_rate or Fraction(0)
        codec, width, height = stream.codec_context.name, stream.codec_context.width, stream.codec_context.height
        reorders = bool(stream.codec_context.has_b_frames)  # what the stream header says (packed AVIs keep pts in order)
    if reorders or any(b <= a for a, b in zip(pts, pts[1:])):
        raise BFramesError(path, "has frames stored out of presentation order (B-frames), which breaks CoViAR's "
                           "single backward chain to the I-frame", REENCODE_HINT.format(path=path))
    skipped = keys.index(True) if True in keys else len(keys)
    types = "".join("I" if key else "P" for key in keys[skipped:])
    if "P" not in types:
        raise VideoError(path, f"is too short for one GOP: {len(types)} frame(s) from its first key frame, no P-frame",
                         "use a longer clip; a still image or a single key frame has no motion")
    return KeyframeIndex(np.asarray(pts[skipped:], np.int64), types, skipped, codec, width, height, float(rate))


def save_index(index: KeyframeIndex, path: str | Path, source: dict) -> None:
    """Write ``index`` as JSON with the ``source`` file's signature (:func:`kdlab.codec.store.source_signature`)."""
    from kdlab.atomic import write_text

    write_text(path, json.dumps({**index.to_dict(), "source": source}, separators=(",", ":")))


def load_index(path: str | Path) -> tuple[KeyframeIndex, dict]:
    """``(index, source signature)`` read from ``path``, or a :class:`KdlabError` naming it."""
    try:
        data = json.loads(Path(path).read_text())
        if data.get("format") != INDEX_FORMAT:
            raise KdlabError(f"{path}: index format {data.get('format')}, this kdlab reads {INDEX_FORMAT}; delete it to rebuild")
        return KeyframeIndex.from_dict(data), data.get("source", {})
    except FileNotFoundError:
        raise KdlabError(f"{path}: no such index; `kdlab prepare` builds it, or a dataset with data.loader=seek on first use") from None
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise KdlabError(f"{path}: damaged index ({type(exc).__name__}: {exc}); delete it to rebuild") from None


class GopReader:
    """One video's representations at chosen frames, decoded from the GOPs they belong to.

    Args:
        path: the video the ``index`` was built from.
        index: its :class:`KeyframeIndex`.
        accumulate: motion and residual traced back to the I-frame (CoViAR) or per frame.

    The container stays open between reads (close it with :meth:`close`); FFmpeg decodes in the
    calling thread only, since DataLoader workers already use every core.
    """

    def __init__(self, path: str | Path, index: KeyframeIndex, accumulate: bool = True):
        self.path, self.index, self.accumulate = Path(path), index, accumulate
        self.gop_index, self.gop_pos = index.layout()
        self._starts = np.flatnonzero(self.gop_pos == 0)
        self._pts = index.pts.tolist()  # Python ints: compared with every decoded frame's time
        self._container, self._stream = open_video(self.path)
        self._stream.thread_count = 1
        self._stream.codec_context.options = {"flags2": "+export_mvs"}

    def close(self) -> None:
        self._container.close()

    def read(self, frames, representations) -> dict[str, np.ndarray]:
        """The ``representations`` of ``frames`` ``(T,)``: ``iframe`` ``(T, H, W, 3) uint8`` (the
        I-frame of each frame's GOP), ``mv`` ``(T, H, W, 2) int8``, ``residual`` ``(T, H, W, 3) int8``
        (zero at an I-frame, as extraction gives)."""
        frames = [int(t) for t in np.asarray(frames, np.int64).reshape(-1)]
        wanted = set(representations)
        height, width = self.index.height, self.index.width
        shapes = {"iframe": ((height, width, 3), np.uint8), "mv": ((height, width, 2), np.int8),
                  "residual": ((height, width, 3), np.int8)}
        out = {rep: np.empty((len(frames), *shapes[rep][0]), shapes[rep][1]) for rep in wanted}
        rows_of: dict[int, list[int]] = {}  # GOP -> the rows of its frames, in order of first use
        for row, t in enumerate(frames):
            rows_of.setdefault(int(self.gop_index[t]), []).append(row)
        for gop, rows in rows_of.items():
            iframe = self._read_gop(gop, {row: frames[row] for row in rows}, out, traced=bool(wanted & {"mv", "residual"}))
            if "iframe" in out:
                out["iframe"][rows] = iframe
        return out

    def _read_gop(self, gop: int, frame_of: dict[int, int], out: dict, traced: bool) -> np.ndarray:
        """Decode GOP ``gop`` from its I-frame to the last frame of ``frame_of`` (row -> frame),
        writing each one's motion and residual into ``out[rep][row]``; returns the I-frame ``(H, W, 3) uint8``."""
        first, pts = int(self._starts[gop]), self._pts
        last = max(frame_of.values()) if traced else first
        targets: dict[int, list[int]] = {}
        for row, t in frame_of.items():
            targets.setdefault(t, []).append(row)
        tracer = MotionTracer(self.index.height, self.index.width, self.accumulate) if traced else None
        self._container.seek(pts[first], stream=self._stream, backward=True, any_frame=False)
        t, iframe = first, None
        try:
            for packet in self._container.demux(self._stream):
                for frame in packet.decode():
                    if frame.pts != pts[t]:
                        if frame.pts is not None and frame.pts < pts[first]:
                            continue  # decoded before the wanted GOP (a seek lands on the key frame at or before it)
                        self._mismatch(t, f"a frame at time {frame.pts}, the index has {pts[t]}")
                    self._check(frame, t, first)
                    if t == first:
                        iframe = frame.to_ndarray(format="rgb24", threads=1)
                        if tracer is not None:
                            tracer.start_gop(iframe)
                        for rep in ("mv", "residual"):
                            if rep in out:
                                out[rep][targets.get(first, [])] = 0  # an I-frame has no motion or residual
                    else:
                        self._trace(tracer, frame, targets.get(t, ()), out)
                    if t == last:
                        return iframe
                    t += 1
        except av.error.FFmpegError as exc:
            raise CorruptVideoError(self.path, f"cannot be decoded in the GOP of frame {first} ({exc})",
                                    "the file is corrupt or truncated; copy or download it again", frame=first) from None
        self._mismatch(t, "the end of the stream")

    def _check(self, frame, t: int, first: int) -> None:
        """Refuse a damaged frame, a B-frame, or an I/P type the index did not have at ``t``."""
        if frame.is_corrupt:
            raise CorruptVideoError(self.path, f"frame {t} is damaged (the decoder had to conceal errors)",
                                    "the file is corrupt or truncated; copy or download it again", frame=t)
        if int(frame.pict_type) == (_I if t == first else _P):
            return
        kind = PICTURE_TYPES.get(int(frame.pict_type), "?")
        if kind not in ("I", "P"):
            raise BFramesError(self.path, f"has a {kind}-frame at frame {t}, which breaks CoViAR's single backward "
                               "chain to the I-frame", REENCODE_HINT.format(path=self.path))
        self._mismatch(t, f"a {kind}-frame, the index has {self.index.frame_types[t]}")

    def _trace(self, tracer: MotionTracer, frame, rows, out: dict) -> None:
        """One P-frame: its motion and residual into ``out``'s ``rows``, or only advance the trace."""
        block = block_motion(_frame_mvs(frame), self.index.height, self.index.width)
        if not rows and self.accumulate:
            tracer.advance(block)
            return
        shape = (self.index.height, self.index.width)
        into = {rep: out[rep][rows[0]] if rows and rep in out else np.empty((*shape, channels), np.int8)
                for rep, channels in (("mv", 2), ("residual", 3))}  # written in place where a row wants them
        mv, residual = tracer.step(block, frame.to_ndarray(format="rgb24", threads=1), into["mv"], into["residual"])
        for row in rows[1:]:  # the same frame drawn twice
            for rep, array in (("mv", mv), ("residual", residual)):
                if rep in out:
                    out[rep][row] = array

    def _mismatch(self, t: int, found: str):
        raise VideoError(self.path, f"does not match its index at frame {t}: found {found}",
                         "the file changed or its packets are not one frame each: delete its index to rebuild it "
                         "(or re-encode it with `kdlab reencode`)")
