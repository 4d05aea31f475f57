"""A fast, incremental form of :mod:`kdlab.codec.motion` for decoding whole videos.

:mod:`kdlab.codec.motion` states CoViAR's maths plainly, one pure function per step. Run per
pixel on every frame, its clamping and coordinate arithmetic cost more than decoding itself.
:class:`MotionTracer` computes the same arrays (``tests/test_codec_motion.py`` checks that they
are equal) with four tricks:

1. **Block offsets, broadcast.** A P-frame's motion is constant over each ``cell x cell`` block,
   so the flat source index of every pixel is its own index plus one offset per block:
   ``src[r, i, c, j] = base[r, i, c, j] + offset[r, c]`` on the ``(rows, cell, cols, cell)`` view
   of the frame rounded up to whole blocks, one broadcast addition with no per-pixel clamping.
   Only the few blocks whose source window leaves the frame (or that stick out of it) are
   recomputed with clamping, block by block.
2. **Carry what the trace leads to, not the trace.** Rather than the accumulated source index,
   each pixel carries the I-frame's colour at its source and the source's packed ``(x, y)``
   coordinates (``x`` in the low, ``y`` in the high 16 bits of an ``int32``). One step is then two
   ``take`` calls with the step's own source index, and the motion field ``p - src`` is one
   ``int16`` subtraction.
3. **Whole-pixel gathers.** Reference frames are viewed as arrays of opaque 3-byte items, so
   fetching a pixel's three colours is one ``take``.
4. **Contiguous rows.** Everything is computed on the block-rounded grid and cropped once, so every
   arithmetic step runs on rows of ``W * 2`` or ``W * 3`` contiguous values.
"""

from __future__ import annotations

import sys
from functools import lru_cache

import numpy as np

from kdlab.codec.motion import pixel_grid

if sys.byteorder != "little":  # pragma: no cover - every platform PyTorch ships for is little-endian
    raise ImportError("kdlab.codec.trace packs (x, y) pairs for little-endian machines")


@lru_cache(maxsize=16)
def _grid16(height: int, width: int) -> np.ndarray:
    """``(H, W, 2) int16`` coordinates ``(x, y)`` of every pixel."""
    return np.ascontiguousarray(pixel_grid(height, width).astype(np.int16))


@lru_cache(maxsize=16)
def _packed_coords(height: int, width: int) -> np.ndarray:
    """``(H * W,) int32``: the ``(x, y)`` int16 pair of every flat index, packed in one item."""
    return _grid16(height, width).view(np.int32).reshape(-1)


@lru_cache(maxsize=64)
def _block_base(rows: int, cols: int, cell: int, stride: int) -> np.ndarray:
    """``(rows, cell, cols, cell) intp``: the flat index ``y * stride + x`` of every pixel of the block grid."""
    ys = np.arange(rows * cell, dtype=np.intp).reshape(rows, cell, 1, 1)
    xs = np.arange(cols * cell, dtype=np.intp).reshape(1, 1, cols, cell)
    base = ys * stride + xs
    base.setflags(write=False)
    return base


def block_source_index(block_field: np.ndarray, cell: int, height: int, width: int, stride: int) -> np.ndarray:
    """Flat source index of every pixel for block motion, on the block-rounded grid.

    Args:
        block_field: ``(rows, cols, 2)`` integer motion ``(x, y)`` of each ``cell x cell`` block.
        cell: block size in pixels; ``rows = ceil(height / cell)``, ``cols = ceil(width / cell)``.
        height, width: the frame's size; sources are clamped to it.
        stride: the row stride of the flat index (``width``, or the grid width the trace lives on).

    Returns:
        ``(rows * cell, cols * cell) intp``: ``clamp(y - mv_y) * stride + clamp(x - mv_x)`` for
        every pixel ``(x, y)`` of the grid (pixels beyond the frame read the clamped border too).
    """
    rows, cols = block_field.shape[:2]
    mv_x = block_field[..., 0].astype(np.intp)
    mv_y = block_field[..., 1].astype(np.intp)
    source = np.add(_block_base(rows, cols, cell, stride), (-(mv_y * stride + mv_x))[:, None, :, None])
    # Blocks whose source window (or the block itself) reaches outside the frame get clamped.
    left = np.arange(cols) * cell - mv_x
    top = np.arange(rows)[:, None] * cell - mv_y
    outside = (left < 0) | (left + cell > width) | (top < 0) | (top + cell > height)
    r, c = np.nonzero(outside)
    if len(r):
        steps = np.arange(cell)
        ys = np.clip(r[:, None] * cell + steps - mv_y[r, c][:, None], 0, height - 1)
        xs = np.clip(c[:, None] * cell + steps - mv_x[r, c][:, None], 0, width - 1)
        source[r, :, c, :] = ys[:, :, None] * stride + xs[:, None, :]
    return source.reshape(rows * cell, cols * cell)


def _pixels(rgb: np.ndarray) -> np.ndarray:
    """``(H, W, 3) uint8`` viewed as ``(H * W,)`` opaque 3-byte items, so one ``take`` copies whole pixels."""
    return np.ascontiguousarray(rgb).view(np.dtype((np.void, 3))).reshape(-1)


def _write(out: np.ndarray | None, value: np.ndarray) -> np.ndarray:
    """``value`` cast into ``out`` (clipped to ``out``'s integer range), or ``value`` itself."""
    if out is None or out is value:
        return value
    if out.dtype.itemsize < value.dtype.itemsize:
        info = np.iinfo(out.dtype)
        np.clip(value, info.min, info.max, out=value)  # in place, then a plain cast: faster than clipping across types
        np.copyto(out, value, casting="unsafe")
    else:
        out[...] = value
    return out


class MotionTracer:
    """Computes each frame's motion field and residual, GOP by GOP, from its block motion.

    Call :meth:`start_gop` with each I-frame, then :meth:`step` with each P-frame in order.
    With ``accumulate=True`` the results equal
    ``motion_from_index(src_acc)`` and ``residual(frame, iframe, src_acc)``; without, they equal
    the block motion painted densely and ``residual(frame, previous_frame, source_index(mv))``.

    Accumulation carries, for every pixel, what its trace leads to in the I-frame instead of the
    trace itself: the I-frame's colour there (3-byte items) and its coordinates (packed ``(x, y)``
    int16 pairs). Each step gathers both from the previous step's arrays with the step's source
    index, which is exactly ``iframe[compose(src_acc, src)]`` and ``coords(compose(src_acc, src))``.
    """

    def __init__(self, height: int, width: int, accumulate: bool = True):
        self.height, self.width, self.accumulate = height, width, accumulate
        self._reference: np.ndarray | None = None  # flat 3-byte pixels: the I-frame's seen through the trace, or the previous frame
        self._coords: np.ndarray | None = None  # flat packed (x, y): where each pixel's trace lands in the I-frame
        self._stride = width  # row stride of both flat arrays

    def start_gop(self, iframe: np.ndarray) -> None:
        """Begin a GOP at ``iframe (H, W, 3) uint8``."""
        self._reference = _pixels(iframe)
        self._coords = _packed_coords(self.height, self.width)
        self._stride = self.width

    def step(
        self,
        block_field: np.ndarray,
        frame: np.ndarray,
        mv_out: np.ndarray | None = None,
        residual_out: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Advance by one P-frame.

        Args:
            block_field: ``(rows, cols, 2) int32`` block motion (:func:`~kdlab.codec.motion.block_motion`).
            frame: the decoded P-frame, ``(H, W, 3) uint8``.
            mv_out, residual_out: optional ``(H, W, 2)`` and ``(H, W, 3)`` integer arrays to write
                into (values are clipped to a narrower type, e.g. int8).

        Returns:
            ``mv (H, W, 2)`` and ``residual (H, W, 3)``: int16, or the given outputs.
        """
        if self._reference is None:
            raise RuntimeError("MotionTracer.step() before start_gop()")
        height, width = self.height, self.width
        rows, cols = block_field.shape[:2]
        cell = max(-(-height // rows), -(-width // cols))
        grid = (rows * cell, cols * cell)
        source = block_source_index(block_field, cell, height, width, self._stride)
        predicted = self._reference.take(source, mode="clip")  # in range by construction; "clip" skips the bounds check
        if self.accumulate:
            self._reference, self._stride = predicted, grid[1]
            self._coords = self._coords.take(source, mode="clip")
            coords = self._coords.view(np.int16).reshape(*grid, 2)[:height, :width]
            mv = np.subtract(_grid16(height, width), coords, out=_int16_slot(mv_out))
        else:
            mv = block_field.repeat(cell, 0).repeat(cell, 1)[:height, :width].astype(np.int16)
            self._reference = _pixels(frame)
        predicted = predicted.view(np.uint8).reshape(*grid, 3)[:height, :width]
        residual = np.subtract(frame, predicted, dtype=np.int16, out=_int16_slot(residual_out))
        return _write(mv_out, mv), _write(residual_out, residual)


def _int16_slot(out: np.ndarray | None) -> np.ndarray | None:
    """``out`` itself when it is int16 (results are written in place), else None (a new array)."""
    return out if out is not None and out.dtype == np.int16 else None
