"""A fast, incremental form of :mod:`kdlab.codec.motion` for decoding whole videos.

:mod:`kdlab.codec.motion` states CoViAR's maths plainly, one pure function per step. Run per
pixel on every frame, its clamping and coordinate arithmetic cost more than decoding itself.
:class:`MotionTracer` computes the same arrays (``tests/test_codec_trace.py`` checks that they are
equal) with three tricks:

1. **Block offsets instead of per-pixel clamping.** A P-frame's motion is constant over each
   block, so the source of every pixel is its own position plus one offset per block. Clamping to
   the frame becomes unnecessary when the reference is padded by ``m`` pixels of edge replication,
   ``m`` being the largest displacement of the frame (the codec itself extends edges this way).
2. **Packed coordinates.** The accumulated trace stores each source pixel as one ``int32``,
   ``x`` in the low and ``y`` in the high 16 bits (the little-endian layout of an ``(x, y)`` pair
   of ``int16``), so composing the chain is a single ``take`` and the motion field
   ``p - src`` is one ``int16`` subtraction.
3. **Whole-pixel gathers.** Reference frames are viewed as arrays of opaque 3-byte items, so
   fetching a pixel's three colours is one ``take``, and every arithmetic step runs on contiguous
   memory.
"""

from __future__ import annotations

import sys
from functools import lru_cache

import numpy as np

from kdlab.codec.motion import pixel_grid

if sys.byteorder != "little":  # pragma: no cover - every platform PyTorch ships for is little-endian
    raise ImportError("kdlab.codec.trace packs (x, y) pairs for little-endian machines")


@lru_cache(maxsize=16)
def _packed_identity(height: int, width: int) -> np.ndarray:
    """``(H, W) int32`` packing ``(x, y)`` of every pixel, ``x | y << 16``."""
    return np.ascontiguousarray(pixel_grid(height, width).astype(np.int16)).view(np.int32)[..., 0]


@lru_cache(maxsize=16)
def _grid16(height: int, width: int) -> np.ndarray:
    return np.ascontiguousarray(pixel_grid(height, width).astype(np.int16))


@lru_cache(maxsize=64)
def _padded_base(height: int, width: int, margin: int) -> np.ndarray:
    """Flat index of each frame pixel inside an image padded by ``margin`` on every side, ``(H, W) intp``."""
    padded_width = width + 2 * margin
    ys, xs = np.mgrid[0:height, 0:width]
    return ((ys + margin) * padded_width + xs + margin).astype(np.intp)


def pad_edges(image: np.ndarray, margin: int) -> np.ndarray:
    """Replicate the border of ``image (H, W, ...)`` ``margin`` times on every side."""
    if margin == 0:
        return image
    height, width = image.shape[:2]
    out = np.empty((height + 2 * margin, width + 2 * margin, *image.shape[2:]), image.dtype)
    out[margin : margin + height, margin : margin + width] = image
    out[:margin, margin : margin + width] = image[:1]
    out[margin + height :, margin : margin + width] = image[-1:]
    out[:, :margin] = out[:, margin : margin + 1]
    out[:, margin + width :] = out[:, margin + width - 1 : margin + width]
    return out


def _pixels(rgb: np.ndarray) -> np.ndarray:
    """``(H, W, 3) uint8`` viewed as ``(H, W)`` opaque 3-byte items, so one ``take`` copies whole pixels."""
    return np.ascontiguousarray(rgb).view(np.dtype((np.void, 3)))[..., 0]


def _write(out: np.ndarray | None, value: np.ndarray) -> np.ndarray:
    """``value`` cast into ``out`` (clipped to ``out``'s integer range), or ``value`` itself."""
    if out is None:
        return value
    if out.dtype.itemsize < value.dtype.itemsize:
        info = np.iinfo(out.dtype)
        np.clip(value, info.min, info.max, out=out, casting="unsafe")
    else:
        out[...] = value
    return out


class MotionTracer:
    """Computes each frame's motion field and residual, GOP by GOP, from its block motion.

    Call :meth:`start_gop` with each I-frame, then :meth:`step` with each P-frame in order.
    With ``accumulate=True`` the results equal
    ``motion_from_index(src_acc)`` and ``residual(frame, iframe, src_acc)``; without, they equal
    the block motion painted densely and ``residual(frame, previous_frame, source_index(mv))``.
    """

    def __init__(self, height: int, width: int, accumulate: bool = True):
        self.height, self.width, self.accumulate = height, width, accumulate
        self._reference: np.ndarray | None = None  # (H, W) 3-byte pixels: the I-frame or the previous frame
        self._trace: np.ndarray | None = None  # packed int32 (H, W): accumulated source of each pixel

    def start_gop(self, iframe: np.ndarray) -> None:
        """Begin a GOP at ``iframe (H, W, 3) uint8``."""
        self._reference = _pixels(iframe)
        self._trace = _packed_identity(self.height, self.width)

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
        margin = int(np.abs(block_field).max(initial=0))
        padded_width = width + 2 * margin
        cell = max(-(-height // block_field.shape[0]), -(-width // block_field.shape[1]))
        # Offset of the source pixel, per block, in the padded image: -(mv_y * padded_width + mv_x).
        offset = -(block_field[..., 1] * padded_width + block_field[..., 0])
        source = _padded_base(height, width, margin) + offset.repeat(cell, 0).repeat(cell, 1)[:height, :width]

        if self.accumulate:
            self._trace = pad_edges(self._trace, margin).take(source)
            mv = np.subtract(_grid16(height, width), self._trace.view(np.int16).reshape(height, width, 2))
            flat = (self._trace >> 16) * width + (self._trace & 0xFFFF)
            predicted = self._reference.take(flat)
        else:
            mv = block_field.repeat(cell, 0).repeat(cell, 1)[:height, :width].astype(np.int16)
            predicted = pad_edges(self._reference, margin).take(source)
            self._reference = _pixels(frame)
        residual = np.subtract(frame.reshape(-1), predicted.view(np.uint8).reshape(-1), dtype=np.int16)
        return _write(mv_out, mv), _write(residual_out, residual.reshape(height, width, 3))
