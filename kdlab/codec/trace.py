"""The compiled form of :mod:`kdlab.codec.motion`'s painting and tracing, for decoding whole videos.

:mod:`kdlab.codec.motion` states CoViAR's maths plainly, one pure numpy function per step. Run
per pixel on every frame, those steps cost several times more than decoding the frame.
:func:`block_motion` and :class:`MotionTracer` compute the same arrays (``tests/test_codec_motion.py``
checks that they are equal, bit for bit) in a few compiled loops per P-frame
(`numba <https://numba.pydata.org>`_):

* **Block-wise copies.** A P-frame's motion is constant over each ``cell x cell`` block, so each
  block row is one contiguous copy from the reference, ``cell * 3`` bytes long; only blocks whose
  source window leaves the frame clamp pixel by pixel (the codec extends the picture's edges).
* **Carry what the trace leads to, not the trace.** With ``accumulate=True`` each pixel carries
  the I-frame's colour at the end of its trace and that point's ``(x, y)``; one step copies both
  from the previous step's arrays, which is exactly ``iframe[compose(src_acc, src)]`` and
  ``coords(compose(src_acc, src))``. The motion is then ``p - (x, y)`` and the residual
  ``frame - colour``: two elementwise subtractions. A reader that skips frames (GOP seeking,
  :mod:`kdlab.codec.seek`) moves only the coordinates over them (:meth:`MotionTracer.advance`) and,
  at the frame it wants, gathers the I-frame's colours through them once.
* **Clipped on the way out.** Results are written straight into the caller's arrays, clipped to
  their type (int16 exact, int8 compact), with no intermediate arrays.
* **No GIL.** The loops release Python's lock, so tracing one GOP runs on another core while
  PyAV decodes the next (:func:`kdlab.codec.extract.extract`).

Two details decide the speed (each measured at 3-5x): indices are unsigned, because numba checks
every signed index for negative wrap-around, which stops vectorisation; and the subtractions run
in int16, because numba widens int32 arithmetic to int64, which AVX2 cannot clip in vector registers.

Functions are compiled on first use and cached beside this file (a few seconds, once).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from numba import njit

from kdlab.codec.motion import pixel_grid


@njit(nogil=True, cache=True)
def _block_motion(mvs, height, width):  # pragma: no cover - compiled
    """:func:`kdlab.codec.motion.block_motion` with ``cell=None``: ``(rows, cols, 2) int32``."""
    cell = 16  # the natural cell: the gcd of the past-reference blocks' sizes and corners (and 16)
    for i in range(mvs.shape[0]):
        if mvs[i, 0] < 0:
            w, h = mvs[i, 1], mvs[i, 2]
            cell = math.gcd(math.gcd(math.gcd(math.gcd(cell, w), h), mvs[i, 5] - w // 2), mvs[i, 6] - h // 2)
    rows, cols = -(-height // cell), -(-width // cell)
    field = np.zeros((rows, cols, 2), np.int32)
    for i in range(mvs.shape[0]):
        if mvs[i, 0] >= 0:
            continue
        w, h = mvs[i, 1], mvs[i, 2]
        x0, y0 = (mvs[i, 5] - w // 2) // cell, (mvs[i, 6] - h // 2) // cell
        for r in range(max(0, y0), min(rows, y0 + max(1, h // cell))):
            for c in range(max(0, x0), min(cols, x0 + max(1, w // cell))):
                field[r, c, 0] = mvs[i, 5] - mvs[i, 3]
                field[r, c, 1] = mvs[i, 6] - mvs[i, 4]
    return field


def block_motion(mvs: np.ndarray, height: int, width: int) -> np.ndarray:
    """FFmpeg's vectors of one frame painted on their natural block grid, compiled.

    Equal to :func:`kdlab.codec.motion.block_motion` ``(mvs, height, width)`` (the reference).

    Args:
        mvs: ``(M, 10)`` raw vectors, columns :data:`kdlab.codec.reader.MV_FIELDS`.

    Returns:
        ``(ceil(H / cell), ceil(W / cell), 2) int32`` motion ``dst - src``, 0 where no vector covers a block.
    """
    return _block_motion(np.ascontiguousarray(mvs, dtype=np.int32), height, width)


@njit(nogil=True, cache=True)
def _copy_blocks(block, cell, height, width, channels, source, out):  # pragma: no cover - compiled
    """``out[p] = source[clamp(p - block[p // cell])]`` on flat row-major ``(H * W * channels,)`` arrays.

    Blocks whose source window lies inside the frame copy each of their rows as one contiguous run
    of ``cell * channels`` values; the others clamp pixel by pixel.
    """
    rows, cols = block.shape[0], block.shape[1]
    for r in range(rows):
        y0 = r * cell
        y1 = min(y0 + cell, height)
        for c in range(cols):
            x0 = c * cell
            x1 = min(x0 + cell, width)
            mx = np.int64(block[r, c, 0])
            my = np.int64(block[r, c, 1])
            if x0 - mx >= 0 and x1 - mx <= width and y0 - my >= 0 and y1 - my <= height:
                run = (x1 - x0) * channels
                for y in range(y0, y1):
                    to = (y * width + x0) * channels
                    frm = ((y - my) * width + x0 - mx) * channels
                    for k in range(run):
                        out[np.uint64(to + k)] = source[np.uint64(frm + k)]
            else:
                for y in range(y0, y1):
                    sy = min(max(y - my, 0), height - 1)
                    for x in range(x0, x1):
                        sx = min(max(x - mx, 0), width - 1)
                        to = (y * width + x) * channels
                        frm = (sy * width + sx) * channels
                        for k in range(channels):
                            out[np.uint64(to + k)] = source[np.uint64(frm + k)]


@njit(nogil=True, cache=True)
def _subtract_clipped(a, b, out, low, high):  # pragma: no cover - compiled
    """``out = clip(a - b, low, high)`` elementwise on flat arrays of values in ``[0, 32767]``, in int16."""
    low, high = np.int16(low), np.int16(high)
    for i in range(a.size):
        value = np.int16(np.int16(a[i]) - np.int16(b[i]))
        value = max(value, low)
        out[i] = min(value, high)


@njit(nogil=True, cache=True)
def _paint_blocks(block, cell, height, width, low, high, out):  # pragma: no cover - compiled
    """``out[p] = clip(block[p // cell])`` on a flat ``(H * W * 2,)`` array: the dense per-frame motion."""
    rows, cols = block.shape[0], block.shape[1]
    for r in range(rows):
        for c in range(cols):
            mx = min(max(block[r, c, 0], low), high)
            my = min(max(block[r, c, 1], low), high)
            for y in range(r * cell, min(r * cell + cell, height)):
                for x in range(c * cell, min(c * cell + cell, width)):
                    to = (y * width + x) * 2
                    out[np.uint64(to)] = mx
                    out[np.uint64(to + 1)] = my


@njit(nogil=True, cache=True)
def _trace_step(block, cell, height, width, frame, reference, coords, grid, new_reference, new_coords,
                accumulate, mv_out, residual_out, mv_low, mv_high, residual_low, residual_high):  # pragma: no cover - compiled
    """One P-frame. Image arrays are flat, row-major: ``frame``, ``reference``, ``new_reference``,
    ``residual_out`` ``(H * W * 3,)``; ``coords``, ``grid``, ``new_coords``, ``mv_out`` ``(H * W * 2,)``.

    With ``s = clamp(p - block[p // cell])`` the source of pixel ``p``:
    ``new_reference[p] = reference[s]``, ``residual_out[p] = clip(frame[p] - new_reference[p])``;
    accumulated, ``new_coords[p] = coords[s]`` and ``mv_out[p] = clip(grid[p] - new_coords[p])``
    (``grid[p]`` is ``p``'s own ``(x, y)``); per frame, ``mv_out[p] = clip(block[p // cell])``.
    """
    _copy_blocks(block, cell, height, width, 3, reference, new_reference)
    _subtract_clipped(frame, new_reference, residual_out, residual_low, residual_high)
    if accumulate:
        _copy_blocks(block, cell, height, width, 2, coords, new_coords)
        _subtract_clipped(grid, new_coords, mv_out, mv_low, mv_high)
    else:
        _paint_blocks(block, cell, height, width, mv_low, mv_high, mv_out)


@njit(nogil=True, cache=True)
def _gather_colours(iframe, coords, width, out):  # pragma: no cover - compiled
    """``out[p] = iframe[coords[p]]`` on flat arrays: ``iframe``, ``out`` ``(H * W * 3,)`` uint8,
    ``coords`` ``(H * W * 2,)`` int16 ``(x, y)`` pairs, each inside the frame."""
    for p in range(out.size // 3):
        frm = (np.uint64(coords[2 * p + 1]) * np.uint64(width) + np.uint64(coords[2 * p])) * np.uint64(3)
        for k in range(3):
            out[np.uint64(3 * p + k)] = iframe[frm + np.uint64(k)]


@njit(nogil=True, cache=True)
def _trace_coords_step(block, cell, height, width, frame, iframe, coords, grid, new_coords, colours,
                       mv_out, residual_out, mv_low, mv_high, residual_low, residual_high):  # pragma: no cover - compiled
    """One accumulated P-frame from the traces' coordinates alone (after :meth:`MotionTracer.advance`,
    whose steps carried no colours): ``new_coords[p] = coords[s]``, ``mv_out[p] = clip(grid[p] - new_coords[p])``,
    ``colours[p] = iframe[new_coords[p]]`` and ``residual_out[p] = clip(frame[p] - colours[p])``, with ``s``
    as in :func:`_trace_step`, whose carried colour at ``p`` is that same ``iframe[new_coords[p]]``.
    (Gathering the colours into their own array first lets the subtraction vectorise: twice as fast
    as subtracting while gathering.)"""
    _copy_blocks(block, cell, height, width, 2, coords, new_coords)
    _subtract_clipped(grid, new_coords, mv_out, mv_low, mv_high)
    _gather_colours(iframe, new_coords, width, colours)
    _subtract_clipped(frame, colours, residual_out, residual_low, residual_high)


class MotionTracer:
    """Computes each frame's motion field and residual, GOP by GOP, from its block motion.

    Call :meth:`start_gop` with each I-frame, then :meth:`step` with each P-frame in order.
    With ``accumulate=True`` the results equal ``motion_from_index(src_acc)`` and
    ``residual(frame, iframe, src_acc)``; without, they equal the block motion painted densely and
    ``residual(frame, previous_frame, source_index(mv))`` (:mod:`kdlab.codec.motion`).
    """

    def __init__(self, height: int, width: int, accumulate: bool = True):
        if not (0 < height <= 32767 and 0 < width <= 32767):
            raise ValueError(f"frame size {width}x{height}: kdlab traces frames up to 32767 pixels a side (int16 coordinates)")
        self.height, self.width, self.accumulate = height, width, accumulate
        # Two buffers each, swapped at every step: what the traces lead to before and after it.
        self._references = [np.empty(height * width * 3, np.uint8) for _ in range(2)]
        self._coords = [np.empty(height * width * 2, np.int16) for _ in range(2 if accumulate else 0)]
        self._iframe = np.empty(height * width * 3 if accumulate else 0, np.uint8)
        self._started = self._reference_stale = False

    def start_gop(self, iframe: np.ndarray) -> None:
        """Begin a GOP at ``iframe (H, W, 3) uint8``."""
        if iframe.shape != (self.height, self.width, 3):
            raise ValueError(f"I-frame of shape {iframe.shape}, expected {(self.height, self.width, 3)}")
        self._references[0][:] = iframe.reshape(-1)
        if self.accumulate:
            self._coords[0][:] = _identity_coords(self.height, self.width)
            self._iframe[:] = self._references[0]
        self._started = True
        self._reference_stale = False

    def step(
        self,
        block_field: np.ndarray,
        frame: np.ndarray,
        mv_out: np.ndarray | None = None,
        residual_out: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Advance by one P-frame.

        Args:
            block_field: ``(rows, cols, 2)`` integer block motion ``(x, y)``
                (:func:`~kdlab.codec.motion.block_motion`); the block size is inferred from it.
            frame: the decoded P-frame, ``(H, W, 3) uint8``.
            mv_out, residual_out: optional C-contiguous ``(H, W, 2)`` and ``(H, W, 3)`` int8 or
                int16 arrays to write into; values are clipped to their type.

        Returns:
            ``mv (H, W, 2)`` and ``residual (H, W, 3)``: int16, or the given outputs.
        """
        if not self._started:
            raise RuntimeError("MotionTracer.step() before start_gop()")
        height, width = self.height, self.width
        if frame.shape != (height, width, 3):
            raise ValueError(f"frame of shape {frame.shape}, expected {(height, width, 3)}")
        rows, cols = block_field.shape[:2]
        cell = max(-(-height // rows), -(-width // cols))
        mv = _output(mv_out, (height, width, 2))
        residual = _output(residual_out, (height, width, 3))
        mv_info, residual_info = np.iinfo(mv.dtype), np.iinfo(residual.dtype)
        reference, new_reference = self._references
        coords, new_coords = self._coords if self.accumulate else (reference, reference)  # unused per frame
        block_field = np.ascontiguousarray(block_field, dtype=np.int32)
        frame, grid = np.ascontiguousarray(frame).reshape(-1), _identity_coords(height, width)
        limits = (mv_info.min, mv_info.max, residual_info.min, residual_info.max)
        if self._reference_stale:  # advance() moved only the coordinates: read the I-frame's colours through them
            _trace_coords_step(block_field, cell, height, width, frame, self._iframe, coords, grid, new_coords,
                               reference, mv.reshape(-1), residual.reshape(-1), *limits)
            self._reference_stale = False  # reference now holds the colours the new coordinates lead to
        else:
            _trace_step(block_field, cell, height, width, frame, reference, coords, grid, new_reference, new_coords,
                        self.accumulate, mv.reshape(-1), residual.reshape(-1), *limits)
            self._references.reverse()
        if self.accumulate:
            self._coords.reverse()
        else:
            self._references[0][:] = frame  # the next frame is predicted from this one
        return mv, residual


    def advance(self, block_field: np.ndarray) -> None:
        """Advance by one P-frame without computing its motion and residual (accumulated tracing
        only), from the block motion alone: a reader that wants a later frame need not convert this
        one's pixels. Only the traces' coordinates move; from then on :meth:`step` reads the I-frame's
        colours through them instead of carrying them along (the same values: each carried colour
        is the I-frame's at its trace's end)."""
        if not self._started or not self.accumulate:
            raise RuntimeError("MotionTracer.advance() needs accumulate=True and start_gop() first")
        rows, cols = block_field.shape[:2]
        cell = max(-(-self.height // rows), -(-self.width // cols))
        coords, new_coords = self._coords
        _copy_blocks(np.ascontiguousarray(block_field, dtype=np.int32), cell, self.height, self.width, 2, coords, new_coords)
        self._coords.reverse()
        self._reference_stale = True


def _output(out: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray:
    if out is None:
        return np.empty(shape, np.int16)
    if out.shape != shape or not out.flags.c_contiguous or out.dtype not in (np.int8, np.int16):
        raise ValueError(f"output must be a C-contiguous int8 or int16 array of shape {shape}, got {out.dtype} {out.shape}")
    return out


@lru_cache(maxsize=16)
def _identity_coords(height: int, width: int) -> np.ndarray:
    """``(H * W * 2,) int16``: the ``x, y`` of every pixel, row-major (read-only, cached)."""
    coords = pixel_grid(height, width).astype(np.int16).reshape(-1)
    coords.setflags(write=False)
    return coords


def warm_up() -> None:
    """Compile every kernel variant :func:`kdlab.codec.extract.extract` uses (int16 and int8
    outputs), or load them from numba's cache; ``make install`` runs it so that the first
    extraction does not wait for the compiler (about 7 s)."""
    frame = np.zeros((16, 16, 3), np.uint8)
    vectors = np.array([[-1, 16, 16, 7, 9, 8, 8, -2, 2, 2]], np.int32)
    for dtype in (np.int16, np.int8):
        for accumulate in (True, False):
            tracer = MotionTracer(16, 16, accumulate)
            tracer.start_gop(frame)
            tracer.step(block_motion(vectors, 16, 16), frame, np.empty((16, 16, 2), dtype), np.empty((16, 16, 3), dtype))
            if accumulate:  # a seeking reader's step after advance() takes another kernel
                tracer.advance(block_motion(vectors, 16, 16))
                tracer.step(block_motion(vectors, 16, 16), frame, np.empty((16, 16, 2), dtype), np.empty((16, 16, 3), dtype))
