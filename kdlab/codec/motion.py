"""The maths of CoViAR's representations, as pure functions on numpy arrays.

Conventions (CoViAR's, chaoyuaw/pytorch-coviar):

* A **motion field** ``mv`` has shape ``(H, W, 2)`` (x then y, integer pixels) and holds, at each
  pixel ``p`` of the current frame, the displacement *from the reference*: the pixel came from
  ``p - mv[p]`` in the reference. An object moving right by 3 px per frame has ``mv_x = +3``.
  FFmpeg's vectors give ``src = dst + motion / motion_scale``, so ``mv = dst - src``.
* A **source index** ``src`` has shape ``(H, W)`` and holds, at each pixel, the flat index
  ``y * W + x`` of its source pixel in the reference, clamped to the frame (the codec extends the
  picture's edges, so a vector that points outside reads the border pixel):
  ``src = flat(clamp(p - mv))``. Flat indices make every step below a single ``numpy.take``.
* **Warping** a reference by a field: ``warp(ref, mv)[p] = ref[clamp(p - mv[p])]`` (integer-pel
  block copy, as CoViAR's residual; half-pel interpolation and OBMC of the real codec are ignored).
* The **residual** of a frame is ``frame - warp(reference, mv)`` as int16, so that
  ``warp(reference, mv) + residual == frame`` exactly.
* **Accumulation** traces each pixel of P-frame ``t`` back to its GOP's I-frame:
  ``src_acc_t = src_acc_{t-1}[src_t]`` (a gather), ``mv_acc_t = p - coords(src_acc_t)``,
  ``residual_acc_t = frame_t - iframe[src_acc_t]``. Where no vector covers a block (intra or
  skipped), the step's motion is zero, so the pixel keeps its previous trace.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

#: The finest painting grid: 4 px divides every block size and corner of MPEG-4 Part 2
#: (16x16, 8x8) and H.264 (16x16 down to 4x4).
CELL = 4


@lru_cache(maxsize=16)
def pixel_grid(height: int, width: int) -> np.ndarray:
    """``(H, W, 2) int32`` coordinates ``(x, y)`` of every pixel (read-only, cached)."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.int32)
    grid = np.stack([xs, ys], axis=-1)
    grid.setflags(write=False)
    return grid


@lru_cache(maxsize=16)
def _flat_coords(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """``x`` and ``y`` of every flat index, ``(H * W,) int32`` each (read-only, cached)."""
    flat = np.arange(height * width, dtype=np.int32)
    xs, ys = flat % width, flat // width
    xs.setflags(write=False)
    ys.setflags(write=False)
    return xs, ys


def natural_cell(mvs: np.ndarray) -> int:
    """The coarsest grid step that paints ``mvs`` exactly: the gcd of block sizes and corners (<= 16)."""
    if len(mvs) == 0:
        return 16
    w, h = mvs[:, 1], mvs[:, 2]
    parts = np.concatenate([w, h, mvs[:, 5] - w // 2, mvs[:, 6] - h // 2, [16]])
    return int(np.gcd.reduce(parts.astype(np.int64)))


def block_motion(mvs: np.ndarray, height: int, width: int, cell: int | None = None) -> np.ndarray:
    """Paint FFmpeg's per-block vectors on a grid of ``cell x cell`` squares.

    Args:
        mvs: ``(M, 10) int32`` raw vectors, columns :data:`kdlab.codec.reader.MV_FIELDS`.
            Only past-reference vectors (``source < 0``) are painted.
        height, width: frame size in pixels.
        cell: grid step in pixels; ``None`` takes :func:`natural_cell` (16 for CoViAR's
            re-encoded MPEG-4, whose blocks are all 16x16). With a step that divides every block's
            size and corner the painting is exact; with a coarser one, a smaller block paints the
            square holding its corner and the last one wins.

    Returns:
        ``(ceil(H / cell), ceil(W / cell), 2) int32``: ``mv = dst - src`` of the block covering
        each square, 0 where no vector covers it.

    This is the reference; :func:`kdlab.codec.trace.block_motion` is its compiled form.
    """
    if len(mvs) and mvs[:, 0].max() >= 0:
        mvs = mvs[mvs[:, 0] < 0]
    cell = natural_cell(mvs) if cell is None else cell
    rows, cols = -(-height // cell), -(-width // cell)
    field = np.zeros((rows, cols, 2), np.int32)
    if len(mvs) == 0:
        return field
    w, h = mvs[:, 1], mvs[:, 2]
    x0 = (mvs[:, 5] - w // 2) // cell
    y0 = (mvs[:, 6] - h // 2) // cell
    value = mvs[:, 5:7] - mvs[:, 3:5]
    # One vectorised assignment per (block width, block height, offset inside the block).
    for size in np.unique(w * 256 + h):
        bw, bh = divmod(int(size), 256)
        same = (w == bw) & (h == bh)
        bx, by, bv = x0[same], y0[same], value[same]
        for dy in range(max(1, bh // cell)):
            for dx in range(max(1, bw // cell)):
                r, c = by + dy, bx + dx
                inside = (r >= 0) & (r < rows) & (c >= 0) & (c < cols)
                field[r[inside], c[inside]] = bv[inside]
    return field


def dense_motion(block_field: np.ndarray, height: int, width: int) -> np.ndarray:
    """Upsample a block field ``(h, w, 2)`` to pixels: ``(H, W, 2) int32``.

    The cell size is inferred from the shapes (``h = ceil(H / cell)``).
    """
    cell = max(-(-height // block_field.shape[0]), -(-width // block_field.shape[1]))
    return block_field.repeat(cell, axis=0).repeat(cell, axis=1)[:height, :width]


def motion_field(mvs: np.ndarray, height: int, width: int) -> np.ndarray:
    """FFmpeg's vectors of one frame as a dense ``(H, W, 2) int32`` field (``dst - src``, 0 uncovered)."""
    return dense_motion(block_motion(mvs, height, width), height, width)


def source_index(mv: np.ndarray) -> np.ndarray:
    """``(H, W) int32`` flat index of ``clamp(p - mv[p])`` for a motion field ``(H, W, 2)``."""
    height, width = mv.shape[:2]
    grid = pixel_grid(height, width)
    x = np.clip(grid[..., 0] - mv[..., 0], 0, width - 1)
    y = np.clip(grid[..., 1] - mv[..., 1], 0, height - 1)
    y *= width
    y += x
    return y.astype(np.int32, copy=False)


def gather(image: np.ndarray, src: np.ndarray) -> np.ndarray:
    """Read ``image (H, W, C)`` (or ``(H, W)``) at the flat indices ``src (h, w)``: ``(h, w, C)``."""
    height, width = src.shape[:2]
    flat = np.ascontiguousarray(image).reshape(image.shape[0] * image.shape[1], -1)
    # Each pixel's C values as one opaque item: a single take copies whole pixels.
    pixels = flat.view(np.dtype((np.void, flat.shape[1] * flat.itemsize))).reshape(-1)
    out = pixels.take(src.reshape(-1)).view(image.dtype)
    return out.reshape(height, width, *image.shape[2:])


def warp(reference: np.ndarray, mv: np.ndarray) -> np.ndarray:
    """Motion-compensated prediction ``reference[clamp(p - mv[p])]``, shaped like ``reference``."""
    return gather(reference, source_index(mv))


def compose(src_before: np.ndarray, src_step: np.ndarray) -> np.ndarray:
    """Chain two source indices: where the step's source pixel itself came from, ``src_before[src_step]``."""
    return src_before.reshape(-1).take(src_step)


def identity_index(height: int, width: int) -> np.ndarray:
    """The source index of zero motion, ``(H, W) int32``."""
    return np.arange(height * width, dtype=np.int32).reshape(height, width)


def motion_from_index(src: np.ndarray) -> np.ndarray:
    """``mv = p - coords(src)``: the motion field ``(H, W, 2) int32`` of a source index ``(H, W)``."""
    height, width = src.shape
    xs, ys = _flat_coords(height, width)
    mv = np.empty((height, width, 2), np.int32)
    grid = pixel_grid(height, width)
    np.subtract(grid[..., 0], xs.take(src), out=mv[..., 0])
    np.subtract(grid[..., 1], ys.take(src), out=mv[..., 1])
    return mv


def residual(frame: np.ndarray, reference: np.ndarray, src: np.ndarray) -> np.ndarray:
    """``frame - reference[src]`` as ``(H, W, 3) int16``, so that ``reference[src] + residual == frame``."""
    return np.subtract(frame, gather(reference, src), dtype=np.int16)
