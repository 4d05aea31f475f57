"""Decode a video once into CoViAR's three representations for every frame.

:func:`extract` decodes the frames in order and hands each finished GOP (its I-frame, then its
P-frames' vectors and pixels) to a thread that traces it (:class:`~kdlab.codec.trace.MotionTracer`;
see :mod:`kdlab.codec.motion` for the conventions). GOPs are independent, so several are traced at
once while decoding goes on; each writes only its own slots of the output arrays. The result, a
:class:`Representations`, holds every frame's motion field and residual, so that drawing any
(GOP, position) sample later costs an array lookup, never a new decode (CoViAR's loader
re-parses the whole file for every sample).

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

import numpy as np

from kdlab.codec.reader import iter_frames, probe, require_motion_vectors
from kdlab.codec.trace import MotionTracer, block_motion
from kdlab.errors import BFramesError, NoMotionVectorsError, VideoError

PRECISIONS = ("exact", "compact")


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


class _FrameBuffer:
    """Preallocated, zero-filled ``(capacity, *shape)`` storage for per-frame arrays; grows by doubling.

    Zero-filled so that the I-frame slots of motion and residual need no writing (``np.zeros``
    maps zero pages lazily).
    """

    def __init__(self, capacity: int, shape: tuple[int, ...], dtype):
        self.array = np.zeros((max(capacity, 1), *shape), dtype)
        self.size = 0

    def reserve(self) -> int:
        """Index of the next frame's slot; grows the array when full (callers with writers pending must
        wait for them first: :meth:`needs_growth`)."""
        if self.needs_growth():
            grown = np.zeros((2 * len(self.array), *self.array.shape[1:]), self.array.dtype)
            grown[: self.size] = self.array[: self.size]
            self.array = grown
        self.size += 1
        return self.size - 1

    def needs_growth(self) -> bool:
        return self.size == len(self.array)

    def result(self) -> np.ndarray:
        return self.array[: self.size]


@dataclass
class _Gop:
    """One GOP's decoded frames, waiting to be traced: the I-frame, then the vectors and pixels of
    each P-frame, whose slots in the output arrays are ``first, first + 1, ...``."""

    iframe: np.ndarray
    first: int
    vectors: list[np.ndarray] = field(default_factory=list)
    frames: list[np.ndarray] = field(default_factory=list)


def _trace_gop(gop: _Gop, accumulate: bool, mv: np.ndarray, residual: np.ndarray) -> None:
    """Motion and residual of every P-frame of ``gop``, written (clipped to their type) into its
    slots of ``mv`` and ``residual``. The tracing kernel releases the GIL, so this runs beside decoding."""
    height, width = gop.iframe.shape[:2]
    tracer = MotionTracer(height, width, accumulate)
    tracer.start_gop(gop.iframe)
    for k, (vectors, rgb) in enumerate(zip(gop.vectors, gop.frames)):
        tracer.step(block_motion(vectors, height, width), rgb, mv[gop.first + k], residual[gop.first + k])


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

    Args:
        accumulate: trace motion and residual back to the GOP's I-frame (CoViAR's default).
        precision: ``"exact"`` (int16) or ``"compact"`` (int8, clipped; see the module docstring).
        keep_frames: also keep every decoded RGB frame (``frames``).
        keep_vectors: also keep FFmpeg's raw vectors of every frame (``vectors``).
        reencode: when the video has B-frames or no motion vectors (VP8, HEVC, GIF, ...), re-encode
            it (MPEG-4 Part 2, no B-frames, GOP 12, the source's size) in a temporary folder and
            extract that, instead of raising.
        threads: how many threads trace GOPs (each GOP is independent: it starts at an I-frame)
            while this thread decodes; None: :func:`default_threads`. The results do not depend on it.

    Raises:
        BFramesError: the video has B-frames and ``reencode`` is False.
        NoMotionVectorsError: its codec, or every one of its P-frames, carries no motion vectors
            (and ``reencode`` is False).
        VideoError: the file is unusable or too short for one GOP (an I-frame and a P-frame).
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    try:
        return _extract(Path(path), accumulate, precision, keep_frames, keep_vectors, threads)
    except (BFramesError, NoMotionVectorsError):
        if not reencode:
            raise
    from kdlab.codec.encode import EncodeSettings, reencode_file

    info = probe(path)
    settings = EncodeSettings(width=info.width - info.width % 2, height=info.height - info.height % 2)
    tmp = Path(tempfile.mkdtemp(prefix="kdlab-reencode-"))
    try:
        copy = reencode_file(path, tmp / (Path(path).stem + ".mp4"), settings)
        reps = _extract(copy, accumulate, precision, keep_frames, keep_vectors, threads)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    reps.source = str(path)
    return reps


def _extract(path: Path, accumulate, precision, keep_frames, keep_vectors, threads) -> Representations:
    info = probe(path)
    require_motion_vectors(path, info.codec)
    # the header's frame count only sizes the first allocation, and a damaged header can claim
    # billions: never trust it beyond MAX_PREALLOCATED frames (the buffers grow as needed)
    capacity = min(info.header_frames or 64, MAX_PREALLOCATED)
    store = np.int16 if precision == "exact" else np.int8
    threads = default_threads() if threads is None else max(1, int(threads))
    types: list[str] = []
    gop_index: list[int] = []
    gop_pos: list[int] = []
    iframes: list[np.ndarray] = []
    vectors: list[np.ndarray] = []
    skipped = position = 0
    buffers = gop = None
    pending: deque[Future] = deque()
    any_vectors = False  # set at the first P-frame that carries a motion vector

    def submit(pool, gop):
        # Bounded: at most two GOPs per thread wait in memory; a worker's error surfaces here.
        while len(pending) >= 2 * threads:
            pending.popleft().result()
        pending.append(pool.submit(_trace_gop, gop, accumulate, buffers[0].array, buffers[1].array))

    with ThreadPoolExecutor(threads, thread_name_prefix="kdlab-trace") as pool:
        try:
            for frame in iter_frames(path, rgb=True, mvs=True, decoder_threads=1):
                rgb = frame.rgb
                if buffers is not None and rgb.shape[:2] != shape:
                    raise VideoError(
                        path, f"changes size at frame {frame.index}: {rgb.shape[1]}x{rgb.shape[0]} after "
                        f"{shape[1]}x{shape[0]}; motion fields need one size",
                        f"re-encode it to one size: `kdlab reencode {path} --out DIR`")
                if buffers is None:
                    shape = rgb.shape[:2]
                    buffers = (
                        _FrameBuffer(capacity, (*shape, 2), store),
                        _FrameBuffer(capacity, (*shape, 3), store),
                        _FrameBuffer(capacity if keep_frames else 0, (*shape, 3), np.uint8),
                    )
                if frame.pict_type != "I" and not iframes:  # P-frames before the first I-frame have no reference
                    skipped += 1
                    continue
                if buffers[0].needs_growth():  # the arrays move: let the pending GOPs finish writing first
                    while pending:
                        pending.popleft().result()
                slot = buffers[0].reserve()
                buffers[1].reserve()
                if frame.pict_type == "I":
                    if gop is not None and gop.frames:
                        submit(pool, gop)
                    gop, position = _Gop(rgb, first=slot + 1), 0
                    iframes.append(rgb)
                else:
                    position += 1
                    gop.vectors.append(frame.mvs)
                    any_vectors = any_vectors or (frame.mvs is not None and len(frame.mvs) > 0)
                    gop.frames.append(rgb)
                types.append(frame.pict_type)
                gop_index.append(len(iframes) - 1)
                gop_pos.append(position)
                if keep_frames:
                    buffers[2].array[buffers[2].reserve()] = rgb
                if keep_vectors:
                    vectors.append(frame.mvs if frame.mvs is not None else np.zeros((0, 10), np.int32))
            if gop is not None and gop.frames:
                submit(pool, gop)
            while pending:
                pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()

    if not types or "P" not in types:
        raise VideoError(
            path,
            f"is too short for one GOP: {len(types)} decodable frame(s), "
            f"{'no P-frame' if types else 'no I-frame'} (kdlab needs an I-frame followed by at least one P-frame)",
            "use a longer clip; a still image or a single key frame has no motion",
        )
    if not any_vectors:
        raise NoMotionVectorsError(
            path, f"none of its {types.count('P')} P-frames carries a motion vector ({info.codec}); its motion "
            "would read as zero everywhere", f"re-encode it: `kdlab reencode {path} --out DIR`")
    if info.codec == "h264":
        warnings.warn(
            f"{path}: H.264 may predict from several past frames; kdlab assumes the previous one (CoViAR's "
            f"model), so these representations approximate. For exact ones: `kdlab reencode {path} --out DIR`",
            stacklevel=3,
        )
    return Representations(
        path=str(path),
        codec=info.codec,
        fps=info.fps,
        frame_types="".join(types),
        gop_index=np.asarray(gop_index, np.int32),
        gop_pos=np.asarray(gop_pos, np.int32),
        iframes=np.stack(iframes),
        mv=buffers[0].result(),
        residual=buffers[1].result(),
        accumulate=accumulate,
        precision=precision,
        frames=buffers[2].result() if keep_frames else None,
        vectors=vectors if keep_vectors else None,
        skipped_leading=skipped,
    )
