"""Open a video with PyAV and iterate over its decoded frames with their raw motion vectors.

This is the only module that talks to PyAV for decoding. It turns every way a file can be
unusable into a :class:`~kdlab.errors.VideoError` that names the file and the reason:

=========================  =====================================================================
missing path / a folder    ``no such file`` / ``is a folder``
empty file                 ``is empty (0 bytes)``
text or other non-video    ``is not a video that FFmpeg can read`` (and ``looks like a text file``)
audio only                 ``has no video stream``
damaged stream             ``frame N is damaged`` (:class:`~kdlab.errors.CorruptVideoError`)
truncated stream           ``is truncated: ... ends after frame N``
B-frames (on request)      :class:`~kdlab.errors.BFramesError`, hint ``kdlab reencode``
no motion vectors          :func:`require_motion_vectors`: the codec exports none (VP8, VP9,
                           HEVC, AV1, GIF, ...): :class:`~kdlab.errors.NoMotionVectorsError`
=========================  =====================================================================

Frames come in presentation order. Each :class:`DecodedFrame` carries the picture type
(``"I"``, ``"P"``, ``"B"``), its index, the RGB pixels ``(H, W, 3) uint8`` and the motion vectors
FFmpeg exports (``flags2=+export_mvs``) as an ``(M, 10)`` int32 array whose columns are
:data:`MV_FIELDS`. Key frames carry no vectors (``None``); a P-frame whose blocks are all intra
carries an empty ``(0, 10)`` array.
"""

from __future__ import annotations

import os
import queue
import threading
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import av
import numpy as np

try:
    from av.sidedata.sidedata import SideDataContainer as _SideDataContainer
except ImportError:  # pragma: no cover - PyAV moved it; fall back to the public (cyclic) property
    _SideDataContainer = None

from kdlab.errors import BFramesError, CorruptVideoError, NoMotionVectorsError, VideoError

#: Columns of the raw motion-vector arrays, FFmpeg's ``AVMotionVector`` fields in this order.
#: ``source`` is -1 for a past reference, +1 for a future one; the block covers ``w x h`` pixels
#: centred on ``(dst_x, dst_y)`` and was copied from ``(src_x, src_y) = dst + motion / motion_scale``.
MV_FIELDS = ("source", "w", "h", "src_x", "src_y", "dst_x", "dst_y", "motion_x", "motion_y", "motion_scale")

#: FFmpeg's AVPictureType codes as letters (S: MPEG-4 sprite/GMC, SI/SP: H.264 switching frames).
PICTURE_TYPES = {0: "?", 1: "I", 2: "P", 3: "B", 4: "S", 5: "SI", 6: "SP", 7: "BI"}

#: File extensions that kdlab treats as videos when it walks a folder.
VIDEO_EXTENSIONS = (".avi", ".mp4", ".m4v", ".mkv", ".mov", ".webm", ".mpg", ".mpeg", ".flv", ".wmv", ".3gp")

REENCODE_HINT = "re-encode it without B-frames: `kdlab reencode {path} --out DIR` (MPEG-4 Part 2, GOP 12, as CoViAR)"

# FFmpeg logs every concealed error; kdlab reports them itself, once, with the file name, so its logs
# are dropped. With ``None`` PyAV drops them in C. Any numeric level instead installs a callback that
# takes the GIL for every error FFmpeg logs, also from its decoding threads; closing a decoder (which
# joins those threads while holding the GIL) then deadlocks when one of them is logging a damaged
# frame (seen: a prefetching reader stopped early hung for good).
av.logging.set_level(None)


@dataclass
class DecodedFrame:
    """One decoded frame in presentation order."""

    index: int
    pict_type: str
    rgb: np.ndarray | None  # (H, W, 3) uint8, or None when pixels were not asked for
    mvs: np.ndarray | None  # (M, 10) int32 in MV_FIELDS order; None for I-frames


@dataclass
class VideoInfo:
    """What the container says about a video, before decoding."""

    path: str
    codec: str
    width: int
    height: int
    fps: float
    header_frames: int  # 0 when the container does not say (raw streams)
    duration_s: float | None
    other_streams: list[str] = field(default_factory=list)


def _looks_like_text(path: Path) -> bool:
    with path.open("rb") as handle:
        head = handle.read(512)
    if not head:
        return False
    printable = sum(32 <= b < 127 or b in (9, 10, 13) for b in head)
    return printable / len(head) > 0.95


def open_video(path: str | Path) -> tuple[av.container.InputContainer, av.video.stream.VideoStream]:
    """Open ``path`` and return ``(container, video_stream)``, or raise a :class:`VideoError`.

    The caller closes the container. Metadata that is not valid UTF-8 (common in real clips)
    is ignored rather than fatal.
    """
    p = Path(path)
    if not p.exists():
        raise VideoError(p, "no such file", "check the path (relative paths are taken from the current folder)")
    if p.is_dir():
        raise VideoError(p, "is a folder, not a video file", "give a video file, or use `kdlab reencode` for folders")
    if p.stat().st_size == 0:
        raise VideoError(p, "is empty (0 bytes)", "the file was not written completely; copy or download it again")
    if not os.access(p, os.R_OK):
        raise VideoError(p, "cannot be read (permission denied)", f"give this user read access: chmod u+r {p}")
    try:
        container = av.open(str(p), metadata_errors="ignore")
    except av.error.FFmpegError as exc:
        if _looks_like_text(p):
            raise VideoError(p, "looks like a text file, not a video", "give a video file (.avi, .mp4, ...)") from None
        raise VideoError(
            p,
            f"is not a video that FFmpeg can read ({type(exc).__name__}: {exc.strerror or exc})",
            "check that the file is a complete video; a partly downloaded .mp4 lacks its index (moov atom)",
        ) from None
    if not container.streams.video:
        kinds = ", ".join(f"{s.type} ({s.codec_context.name})" for s in container.streams) or "none"
        container.close()
        raise VideoError(p, f"has no video stream (streams found: {kinds})", "give a file with a video track")
    stream = container.streams.video[0]
    if stream.codec_context is None or not stream.codec_context.name:
        container.close()
        raise VideoError(p, "has a video stream with no decoder available in this PyAV build")
    return container, stream


#: Decoders for which FFmpeg exports motion vectors (``flags2=+export_mvs``): the MPEG-1/2/4 and
#: H.263 families and H.264. VP8, VP9, HEVC, AV1, GIF, MJPEG and the others export none, so their
#: motion would read as zero everywhere.
MOTION_VECTOR_CODECS = frozenset({
    "mpeg1video", "mpeg2video", "mpeg4", "h263", "h263p", "h263i", "flv1",
    "msmpeg4v1", "msmpeg4v2", "msmpeg4", "msmpeg4v3", "wmv1", "wmv2", "h264",
})


def require_motion_vectors(path: str | Path, codec: str) -> None:
    """Raise :class:`NoMotionVectorsError` unless FFmpeg exports motion vectors for ``codec``."""
    if codec not in MOTION_VECTOR_CODECS:
        raise NoMotionVectorsError(
            path, f"its codec ({codec}) has no motion vectors that FFmpeg exports; CoViAR reads MPEG-4 Part 2",
            f"re-encode it: `kdlab reencode {path} --out DIR` (or extract with reencode=True)")


def probe(path: str | Path) -> VideoInfo:
    """Read the container header (no decoding)."""
    container, stream = open_video(path)
    with container:
        rate = stream.average_rate or stream.guessed_rate or Fraction(0)
        duration = float(stream.duration * stream.time_base) if stream.duration and stream.time_base else None
        return VideoInfo(
            path=str(path),
            codec=stream.codec_context.name,
            width=stream.codec_context.width,
            height=stream.codec_context.height,
            fps=float(rate),
            header_frames=int(stream.frames or 0),
            duration_s=duration,
            other_streams=[f"{s.type}:{s.codec_context.name}" for s in container.streams if s is not stream],
        )


def _frame_mvs(frame: av.VideoFrame) -> np.ndarray:
    # ``frame.side_data`` caches a container that points back at the frame: a reference cycle that
    # keeps every decoded frame, and its decoder buffer, alive until Python's cycle collector runs
    # (the decoder then keeps allocating fresh buffers: 20 % slower decoding, measured). A container
    # of our own is freed with the frame.
    side = (_SideDataContainer(frame) if _SideDataContainer is not None else frame.side_data).get("MOTION_VECTORS")
    if side is None:
        return np.zeros((0, len(MV_FIELDS)), np.int32)
    raw = side.to_ndarray()
    out = np.empty((len(raw), len(MV_FIELDS)), np.int32)
    for column, name in enumerate(MV_FIELDS):
        out[:, column] = raw[name]
    return out


def _decode(path: Path, rgb: bool, mvs: bool, allow_bframes: bool, decoder_threads: int) -> Iterator[DecodedFrame]:
    container, stream = open_video(path)
    if decoder_threads == 1:
        stream.thread_count = 1  # the caller runs its own threads beside this one
    else:
        stream.thread_type = "AUTO"  # frame threads: the decoder overlaps the caller's work
        stream.thread_count = decoder_threads
    if mvs:
        stream.codec_context.options = {"flags2": "+export_mvs"}
    header_frames = int(stream.frames or 0)
    index = -1
    with container:
        try:
            for frame in container.decode(stream):
                index += 1
                if frame.is_corrupt:
                    raise CorruptVideoError(
                        path,
                        f"frame {index} is damaged (the decoder had to conceal errors in it)",
                        "the file is corrupt or truncated; copy or download it again",
                        frame=index,
                    )
                pict = PICTURE_TYPES.get(int(frame.pict_type), "?")
                if pict in ("B", "BI", "S") and not allow_bframes:
                    raise BFramesError(
                        path,
                        f"has {'B' if pict != 'S' else 'sprite (S)'}-frames (the first at frame {index}): they are "
                        "predicted from future frames too, which breaks CoViAR's single backward chain to the I-frame",
                        REENCODE_HINT.format(path=path),
                    )
                yield DecodedFrame(
                    index=index,
                    pict_type=pict,
                    # One swscale thread: its thread pool costs more than it saves at video sizes (3x slower measured).
                    rgb=frame.to_ndarray(format="rgb24", threads=1) if rgb else None,
                    mvs=(None if pict == "I" else _frame_mvs(frame)) if mvs else None,
                )
        except av.error.FFmpegError as exc:
            raise CorruptVideoError(
                path,
                f"cannot be decoded after frame {index} ({type(exc).__name__}: {exc.strerror or exc})",
                "the file is corrupt or truncated; copy or download it again",
                frame=index + 1,
            ) from None
    decoded = index + 1
    # Packed-bitstream AVIs (DivX/Xvid with B-frames) announce one frame more than they hold.
    if header_frames and decoded < header_frames - 1:
        raise CorruptVideoError(
            path,
            f"is truncated: its header announces {header_frames} frames but the stream ends after frame {decoded - 1}",
            "the file was cut short; copy or download it again",
            frame=decoded,
        )


def iter_frames(
    path: str | Path,
    *,
    rgb: bool = True,
    mvs: bool = True,
    allow_bframes: bool = False,
    prefetch: int = 0,
    decoder_threads: int = 0,
) -> Iterator[DecodedFrame]:
    """Decode ``path`` frame by frame.

    Args:
        rgb: convert each frame to ``(H, W, 3) uint8`` RGB (the costly part of decoding).
        mvs: export the motion vectors (``flags2=+export_mvs``).
        allow_bframes: yield B-frames instead of raising :class:`~kdlab.errors.BFramesError`.
        prefetch: when > 0, decode in a background thread up to this many frames ahead, so that
            decoding (which releases the GIL) overlaps the caller's work on the previous frames.
        decoder_threads: FFmpeg's decoding threads; 0 lets FFmpeg choose (frame threads, one per
            CPU), 1 decodes in this thread only (best when the caller keeps the other CPUs busy).

    Raises:
        VideoError: the file cannot be opened or has no video stream.
        CorruptVideoError: a frame is damaged or the stream is truncated (names the frame).
        BFramesError: a B-frame was found and ``allow_bframes`` is False.
    """
    frames = _decode(Path(path), rgb, mvs, allow_bframes, decoder_threads)
    return _prefetch(frames, prefetch) if prefetch > 0 else frames


_DONE = object()


def _prefetch(frames: Iterator[DecodedFrame], depth: int) -> Iterator[DecodedFrame]:
    """Run ``frames`` in a daemon thread; re-raise its exception in the consumer."""
    buffer: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                buffer.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce():
        try:
            for item in frames:
                if not put(item):
                    return
            put(_DONE)
        except BaseException as exc:  # handed over to the consumer thread
            put(exc)
        finally:
            frames.close()

    worker = threading.Thread(target=produce, name="kdlab-decode", daemon=True)
    worker.start()
    try:
        while True:
            item = buffer.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join(timeout=5)
