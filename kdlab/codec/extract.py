"""Decode a video once into CoViAR's three representations for every frame.

:class:`GopStream` decodes the frames in order and hands each finished GOP (its I-frame, then its
P-frames' vectors and pixels) to a thread that traces it (:class:`~kdlab.codec.trace.MotionTracer`;
see :mod:`kdlab.codec.motion` for the conventions). GOPs are independent, so several are traced at
once while decoding goes on, and they come out in order, a GOP (or a piece of a long one) at a
time (:class:`GopPiece`): memory stays bounded whatever the video's length (``kdlab export`` and the
cache write each piece as it comes). :func:`extract` collects them into a :class:`Representations` that holds every frame's
motion field and residual, so that drawing any (GOP, position) sample later costs an array lookup.

Two precisions:

* ``exact`` (default): motion ``int16`` and residual ``int16``, so that
  ``warp(iframe, mv) + residual == frame`` holds bit for bit (accumulated mode).
* ``compact``: both ``int8``, clipped to [-128, 127]. This loses nothing that CoViAR's networks
  see: its input normalisation saturates motion at +-20 px and residual at [-128, 127]
  (``mv * 127.5 / 20 + 128`` and ``residual + 128``, both clipped to [0, 255]). It halves memory
  and is what the on-disk store (:mod:`kdlab.codec.store`) keeps.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import tempfile
import warnings
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, TypeVar

import numpy as np

from kdlab.codec.reader import MV_FIELDS, iter_frames, probe, require_motion_vectors
from kdlab.codec.trace import MotionTracer, block_motion
from kdlab.errors import BFramesError, NoMotionVectorsError, VideoError

PRECISIONS = ("exact", "compact")
T = TypeVar("T")


@dataclass
class Representations:
    """CoViAR's representations of every frame of one video (N frames in G GOPs).

    Attributes:
        frame_types: ``"IPPP..."``, one letter per frame.
        gop_index: ``(N,) int32`` the GOP of each frame.
        gop_pos: ``(N,) int32`` the position in its GOP (0 for the I-frame).
        iframes: ``(G, H, W, 3) uint8`` the decoded I-frame of each GOP (RGB).
        mv: ``(N, H, W, 2)`` motion fields (x, y), int16 (exact) or int8 (compact). Zero at
            I-frame positions, which samplers never draw for motion.
        residual: ``(N, H, W, 3)`` residuals, int16 or int8; zero at I-frame positions.
        accumulate: whether motion and residual are traced back to the I-frame (CoViAR's
            accumulated representation) or relative to the previous frame.
        frames: ``(N, H, W, 3) uint8`` every decoded frame, when asked for (``keep_frames``).
        vectors: the raw ``(M, 10)`` vectors of every frame (empty for I-frames), when asked for.
    """

    path: str
    codec: str
    fps: float
    frame_types: str
    gop_index: np.ndarray
    gop_pos: np.ndarray
    iframes: np.ndarray
    mv: np.ndarray
    residual: np.ndarray
    accumulate: bool
    precision: str = "exact"
    frames: np.ndarray | None = None
    vectors: list[np.ndarray] | None = None
    source: str | None = None  # the original file when ``path`` is a re-encoded copy
    skipped_leading: int = 0  # frames before the first I-frame, which have no reference
    extra: dict = field(default_factory=dict)

    @property
    def num_frames(self) -> int:
        return len(self.frame_types)

    @property
    def num_gops(self) -> int:
        return len(self.iframes)

    @property
    def height(self) -> int:
        return int(self.iframes.shape[1])

    @property
    def width(self) -> int:
        return int(self.iframes.shape[2])

    def iframe(self, t: int) -> np.ndarray:
        """The I-frame ``(H, W, 3) uint8`` of frame ``t``'s GOP."""
        return self.iframes[self.gop_index[t]]

    def p_positions(self) -> np.ndarray:
        """Indices of the P-frames, the only frames with motion and residual."""
        return np.flatnonzero(self.gop_pos > 0)


#: At most this many frames are allocated ahead from a header's frame count (about 1 GB at 340x256).
MAX_PREALLOCATED = 4096


def gop_layout(frame_types: str) -> tuple[np.ndarray, np.ndarray]:
    """``(gop_index, gop_pos)``, both ``(N,) int32``, of frames typed ``"IPP...IPP..."``: the GOP of
    each frame and its position in it (0 at the I-frame). The first frame must be an I-frame."""
    is_key = np.frombuffer(frame_types.encode(), np.uint8) == ord("I")
    gop_index = np.cumsum(is_key, dtype=np.int32) - 1
    starts = np.flatnonzero(is_key)
    gop_pos = np.arange(len(frame_types), dtype=np.int32) - starts[gop_index].astype(np.int32)
    return gop_index, gop_pos


#: Frames per piece: a GOP longer than this (a real clip's GOP may be hundreds of frames) is traced
#: and handed out in pieces of this many frames, so that memory stays bounded whatever its length.
PIECE_FRAMES = 12


@dataclass
class GopPiece:
    """Consecutive frames of one GOP, traced: the whole GOP, or ``PIECE_FRAMES`` of a longer one.

    Attributes:
        first: the index of its first frame among the video's frames.
        starts_gop: whether it begins at the GOP's I-frame (whose motion and residual rows are zero).
        iframe: ``(H, W, 3) uint8`` its GOP's I-frame.
        mv: ``(n, H, W, 2)`` motion, int16 (exact) or int8 (compact).
        residual: ``(n, H, W, 3)``, likewise.
        frames: ``(n, H, W, 3) uint8`` the decoded frames, when asked for.
        vectors: FFmpeg's raw ``(M, 10)`` vectors of each of the n frames (``(0, 10)`` for the
            I-frame), when asked for.
    """

    first: int
    starts_gop: bool
    iframe: np.ndarray
    mv: np.ndarray
    residual: np.ndarray
    frames: np.ndarray | None = None
    vectors: list[np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self.mv)


@dataclass
class _GopState:
    """What the pieces of one GOP share: its I-frame, the tracer that carries the traces from one
    piece to the next, and the last piece submitted (the next one waits for it)."""

    iframe: np.ndarray
    tracer: MotionTracer | None = None
    last: Future | None = None


@dataclass
class _DecodedPiece:
    """A piece's decoded frames, waiting to be traced: each P-frame's vectors and pixels."""

    gop: _GopState
    first: int
    starts_gop: bool
    vectors: list[np.ndarray] = field(default_factory=list)
    frames: list[np.ndarray] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.starts_gop) + len(self.frames)


def _trace(piece: _DecodedPiece, previous: Future | None, accumulate: bool, dtype, keep_frames: bool,
           keep_vectors: bool, out: tuple[np.ndarray, np.ndarray] | None = None) -> GopPiece:
    """Motion and residual of every P-frame of ``piece`` (clipped to ``dtype``; into ``out``, zero-filled
    ``(n, H, W, 2)`` and ``(n, H, W, 3)`` arrays, when given), after the GOP's ``previous`` piece
    (whose tracer it continues; it was submitted first, so it is running or done). The tracing
    kernel releases the GIL, so this runs beside decoding."""
    if previous is not None:
        previous.result()
    gop = piece.gop
    height, width = gop.iframe.shape[:2]
    if piece.starts_gop:
        gop.tracer = MotionTracer(height, width, accumulate)
        gop.tracer.start_gop(gop.iframe)
    if out is None:
        out = np.zeros((len(piece), height, width, 2), dtype), np.zeros((len(piece), height, width, 3), dtype)
    mv, residual = out
    for k, (vectors, rgb) in enumerate(zip(piece.vectors, piece.frames), start=int(piece.starts_gop)):
        gop.tracer.step(block_motion(vectors, height, width), rgb, mv[k], residual[k])
    lead_frames = [gop.iframe] if piece.starts_gop else []
    lead_vectors = [np.zeros((0, len(MV_FIELDS)), np.int32)] if piece.starts_gop else []
    return GopPiece(
        first=piece.first, starts_gop=piece.starts_gop, iframe=gop.iframe, mv=mv, residual=residual,
        frames=np.stack(lead_frames + piece.frames) if keep_frames else None,
        vectors=lead_vectors + piece.vectors if keep_vectors else None,
    )


def default_threads() -> int:
    """Threads :func:`extract` traces GOPs with: the usable CPUs but the one that decodes (at least 1,
    at most 3), and 1 inside a worker process (DataLoader workers, ``kdlab cache`` jobs), whose
    parent already runs one per CPU. One tracing thread keeps pace with one decoding thread (each
    spends about 0.3 ms on a 340x256 frame, tracing included the fresh output pages); on two cores
    more only contend for the GIL (measured)."""
    if multiprocessing.parent_process() is not None:
        return 1
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(3, usable - 1))


class GopStream:
    """A video's frames, decoded and traced in order, one :class:`GopPiece` at a time.

    This thread decodes; ``threads`` others trace the pieces already decoded (pieces of different
    GOPs at once: each GOP starts at an I-frame; the pieces of one GOP in turn). At most
    ``2 x threads`` pieces of at most :data:`PIECE_FRAMES` frames wait at once, so memory stays
    bounded whatever the length of the video or of its GOPs: ``kdlab export``, the cache and
    :func:`extract` all read videos through it.

    >>> stream = GopStream("clip.mp4", precision="compact")     # doctest: +SKIP
    >>> for piece in stream: ...                                 # doctest: +SKIP
    >>> stream.frame_types, stream.skipped_leading               # doctest: +SKIP

    After a complete iteration, :attr:`frame_types` (one letter per frame) and
    :attr:`skipped_leading` (frames before the first I-frame, which have no reference) describe the
    video. The checks that need the whole video (too short, no motion vectors at all) raise at the
    end of the iteration.

    Raises:
        BFramesError: the video has B-frames (during the iteration).
        NoMotionVectorsError: its codec (at construction) or every one of its P-frames (at the end)
            carries no motion vectors.
        VideoError: the file is unusable, changes size, or is too short for one GOP.
    """

    def __init__(self, path: str | Path, *, accumulate: bool = True, precision: str = "exact",
                 keep_frames: bool = False, keep_vectors: bool = False, threads: int | None = None,
                 allocate: Callable[[int, tuple[int, int]], tuple[np.ndarray, np.ndarray]] | None = None):
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        self.path = Path(path)
        self.info = probe(self.path)
        require_motion_vectors(self.path, self.info.codec)
        self.accumulate, self.precision = accumulate, precision
        self.dtype = np.int16 if precision == "exact" else np.int8
        self.keep_frames, self.keep_vectors = keep_frames, keep_vectors
        self.threads = default_threads() if threads is None else max(1, int(threads))
        # allocate(n, (H, W)): zero-filled motion and residual arrays for a piece of n frames to be
        # traced into (:func:`extract` hands out slices of its final arrays: no copy); default: new ones
        self.allocate = allocate
        self.skipped_leading = 0
        self._types: list[str] = []
        self._any_vectors = False  # set at the first P-frame that carries a motion vector

    @property
    def frame_types(self) -> str:
        return "".join(self._types)

    def __iter__(self) -> Iterator[GopPiece]:
        pending: deque[Future] = deque()
        with ThreadPoolExecutor(self.threads, thread_name_prefix="kdlab-trace") as pool:
            try:
                for piece in self._decoded_pieces():
                    gop = piece.gop
                    out = self.allocate(len(piece), gop.iframe.shape[:2]) if self.allocate else None
                    gop.last = pool.submit(_trace, piece, gop.last, self.accumulate, self.dtype, self.keep_frames,
                                           self.keep_vectors, out)
                    pending.append(gop.last)
                    while len(pending) >= 2 * self.threads:  # bounded; a worker's error surfaces here
                        yield pending.popleft().result()
                while pending:
                    yield pending.popleft().result()
            finally:
                for future in pending:
                    future.cancel()
        self._check_complete()

    def _decoded_pieces(self) -> Iterator[_DecodedPiece]:
        path, shape, piece = self.path, None, None
        for frame in iter_frames(path, rgb=True, mvs=True, decoder_threads=1):
            rgb = frame.rgb
            if shape is None:
                shape = rgb.shape[:2]
            elif rgb.shape[:2] != shape:
                raise VideoError(
                    path, f"changes size at frame {frame.index}: {rgb.shape[1]}x{rgb.shape[0]} after "
                    f"{shape[1]}x{shape[0]}; motion fields need one size",
                    f"re-encode it to one size: `kdlab reencode {path} --out DIR`")
            if frame.pict_type != "I" and piece is None:  # P-frames before the first I-frame have no reference
                self.skipped_leading += 1
                continue
            if frame.pict_type == "I":
                if piece is not None:
                    yield piece
                piece = _DecodedPiece(_GopState(rgb), first=len(self._types), starts_gop=True)
            else:
                if len(piece) == PIECE_FRAMES:
                    yield piece
                    piece = _DecodedPiece(piece.gop, first=len(self._types), starts_gop=False)
                piece.vectors.append(frame.mvs)
                piece.frames.append(rgb)
                self._any_vectors = self._any_vectors or len(frame.mvs) > 0
            self._types.append(frame.pict_type)
        if piece is not None:
            yield piece

    def _check_complete(self) -> None:
        path, types = self.path, self._types
        if not types or "P" not in types:
            raise VideoError(
                path,
                f"is too short for one GOP: {len(types)} decodable frame(s), "
                f"{'no P-frame' if types else 'no I-frame'} (kdlab needs an I-frame followed by at least one P-frame)",
                "use a longer clip; a still image or a single key frame has no motion",
            )
        if not self._any_vectors:
            raise NoMotionVectorsError(
                path, f"none of its {types.count('P')} P-frames carries a motion vector ({self.info.codec}); its motion "
                "would read as zero everywhere", f"re-encode it: `kdlab reencode {path} --out DIR`")
        if self.info.codec == "h264":
            warnings.warn(
                f"{path}: H.264 may predict from several past frames; kdlab assumes the previous one (CoViAR's "
                f"model), so these representations approximate. For exact ones: `kdlab reencode {path} --out DIR`",
                stacklevel=4,
            )


def read_reencoding(path: str | Path, reencode: bool, read: Callable[[Path], T]) -> T:
    """``read(path)``; when that finds B-frames or no motion vectors and ``reencode`` is True,
    ``read`` a re-encoded copy instead (MPEG-4 Part 2, no B-frames, GOP 12, the source's size),
    made in a temporary folder that is removed afterwards."""
    try:
        return read(Path(path))
    except (BFramesError, NoMotionVectorsError):
        if not reencode:
            raise
    from kdlab.codec.encode import EncodeSettings, reencode_file

    info = probe(path)
    settings = EncodeSettings(width=info.width - info.width % 2, height=info.height - info.height % 2)
    tmp = Path(tempfile.mkdtemp(prefix="kdlab-reencode-"))
    try:
        return read(reencode_file(path, tmp / (Path(path).stem + ".mp4"), settings))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def extract(
    path: str | Path,
    *,
    accumulate: bool = True,
    precision: str = "exact",
    keep_frames: bool = False,
    keep_vectors: bool = False,
    reencode: bool = False,
    threads: int | None = None,
) -> Representations:
    """Decode ``path`` once and compute I-frames, motion fields and residuals of all frames.

    Every frame is kept in memory: for long videos, iterate over a :class:`GopStream` instead.

    Args:
        accumulate: trace motion and residual back to the GOP's I-frame (CoViAR's default).
        precision: ``"exact"`` (int16) or ``"compact"`` (int8, clipped; see the module docstring).
        keep_frames: also keep every decoded RGB frame (``frames``).
        keep_vectors: also keep FFmpeg's raw vectors of every frame (``vectors``).
        reencode: when the video has B-frames or no motion vectors (VP8, HEVC, GIF, ...), re-encode
            it (MPEG-4 Part 2, no B-frames, GOP 12, the source's size) in a temporary folder and
            extract that, instead of raising.
        threads: how many threads trace GOPs while this thread decodes; None:
            :func:`default_threads`. The results do not depend on it.

    Raises:
        BFramesError: the video has B-frames and ``reencode`` is False.
        NoMotionVectorsError: its codec, or every one of its P-frames, carries no motion vectors
            (and ``reencode`` is False).
        VideoError: the file is unusable or too short for one GOP (an I-frame and a P-frame).
    """
    options = dict(accumulate=accumulate, precision=precision, keep_frames=keep_frames, keep_vectors=keep_vectors, threads=threads)
    reps = read_reencoding(path, reencode, lambda p: _collect(p, options))
    if Path(reps.path) != Path(path):  # a re-encoded copy was read
        reps.source = str(path)
    return reps


class _Slabs:
    """Zero-filled ``(capacity, *row_shape)`` arrays handed out a block of rows at a time.

    A block never moves once handed out (tracing threads write into it): when a slab is full the
    next one is allocated, and only a video longer than its first slab is copied once, at the end.
    """

    def __init__(self, capacity: int, dtype):
        self.capacity, self.dtype = max(capacity, 1), dtype
        self.slabs: list[np.ndarray] = []
        self.used: list[int] = []

    def take(self, rows: int, row_shape: tuple[int, ...]) -> np.ndarray:
        if not self.slabs or self.used[-1] + rows > len(self.slabs[-1]):  # each new slab doubles the room
            self.slabs.append(np.zeros((max(self.capacity, rows, sum(self.used)), *row_shape), self.dtype))
            self.used.append(0)
        start = self.used[-1]
        self.used[-1] += rows
        return self.slabs[-1][start : start + rows]

    def result(self) -> np.ndarray:
        parts = [slab[:used] for slab, used in zip(self.slabs, self.used)]
        return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _collect(path: Path, options: dict) -> Representations:
    """Every frame of ``path`` (extracted with ``options``) in one :class:`Representations`: the
    pieces are traced straight into slices of the result's arrays."""
    stream = GopStream(path, **options)
    # the header's frame count only sizes the first allocation, and a damaged header can claim
    # billions: never trust it beyond MAX_PREALLOCATED frames (more slabs are added as needed)
    capacity = min(stream.info.header_frames or 64, MAX_PREALLOCATED)
    mv, residual = _Slabs(capacity, stream.dtype), _Slabs(capacity, stream.dtype)
    frames = _Slabs(capacity, np.uint8) if stream.keep_frames else None
    stream.allocate = lambda rows, size: (mv.take(rows, (*size, 2)), residual.take(rows, (*size, 3)))
    iframes, vectors = [], []
    for piece in stream:
        if piece.starts_gop:
            iframes.append(piece.iframe)
        if frames is not None:
            frames.take(len(piece), piece.frames.shape[1:])[:] = piece.frames
        vectors.extend(piece.vectors or ())
    gop_index, gop_pos = gop_layout(stream.frame_types)
    return Representations(
        path=str(stream.path),
        codec=stream.info.codec,
        fps=stream.info.fps,
        frame_types=stream.frame_types,
        gop_index=gop_index,
        gop_pos=gop_pos,
        iframes=np.stack(iframes),
        mv=mv.result(),
        residual=residual.result(),
        accumulate=stream.accumulate,
        precision=stream.precision,
        frames=frames.result() if frames is not None else None,
        vectors=vectors if stream.keep_vectors else None,
        skipped_leading=stream.skipped_leading,
    )
