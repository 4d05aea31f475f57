"""Colour helpers of the figure builders, pure numpy: the flow colour wheel and a PNG encoder.

The colour code of a motion field (``flow_to_rgb``) is an HSV wheel: the **hue** gives the
direction the pixel moved (CoViAR's ``mv = p - source``, image axes: x right, y down), the
**value** its length, saturation is full::

    hue   = atan2(mv_y, mv_x) / 2 pi  (mod 1)     0 right (red), 0.25 down (chartreuse),
                                                  0.5 left (cyan), 0.75 up (violet)
    value = min(|mv| / max_magnitude, 1)          0: no motion (black)

So a still background is black and a moving object lights up in the colour of its direction;
:func:`colour_wheel` draws the key.
"""

from __future__ import annotations

import base64
import struct
import zlib

import numpy as np

from kdlab.colour import hsv_to_rgb  # re-exported: kdlab.figures.hsv_to_rgb


def flow_to_rgb(mv: np.ndarray, max_magnitude: float | None = None) -> np.ndarray:
    """Colour-code a motion field ``(H, W, 2)`` (x, y) as an ``(H, W, 3) uint8`` image (see the module docstring).

    ``max_magnitude``: the length drawn at full brightness (default: the field's largest; a
    zero field is all black). Longer vectors saturate.
    """
    mv = np.asarray(mv, np.float64)
    if mv.shape[-1] != 2:
        raise ValueError(f"flow_to_rgb needs a (..., 2) motion field, got shape {mv.shape}")
    dx, dy = mv[..., 0], mv[..., 1]
    magnitude = np.hypot(dx, dy)
    if max_magnitude is None:
        max_magnitude = float(magnitude.max()) if magnitude.size else 0.0
    if not max_magnitude > 0:
        max_magnitude = 1.0
    hue = np.arctan2(dy, dx) / (2 * np.pi)
    value = np.clip(magnitude / max_magnitude, 0.0, 1.0)
    return np.round(hsv_to_rgb(hue, 1.0, value) * 255).astype(np.uint8)


def colour_wheel(size: int = 65, background: int = 255) -> np.ndarray:
    """The key of :func:`flow_to_rgb`: ``(size, size, 3) uint8``, centre = no motion, rim = full length.

    Drawn in image axes (y down), so the colour at a point is the colour of motion towards it
    from the centre. Outside the disc: ``background`` grey level.
    """
    radius = (size - 1) / 2
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float64)
    field = np.stack([xs - radius, ys - radius], axis=-1)
    rgb = flow_to_rgb(field, max_magnitude=radius)
    rgb[np.hypot(field[..., 0], field[..., 1]) > radius + 0.5] = background
    return rgb


def png_bytes(image: np.ndarray) -> bytes:
    """Encode ``(H, W)``, ``(H, W, 3)`` or ``(H, W, 4)`` ``uint8`` as PNG (zlib only, no imaging library)."""
    image = np.ascontiguousarray(image)
    if image.dtype != np.uint8:
        raise ValueError(f"png_bytes needs uint8 pixels, got {image.dtype}")
    channels = 1 if image.ndim == 2 else image.shape[2]
    colour_type = {1: 0, 3: 2, 4: 6}.get(channels)
    if colour_type is None or image.ndim not in (2, 3):
        raise ValueError(f"png_bytes needs (H, W), (H, W, 3) or (H, W, 4) pixels, got shape {image.shape}")
    height, width = image.shape[:2]
    rows = image.reshape(height, width * channels)
    raw = np.concatenate([np.zeros((height, 1), np.uint8), rows], axis=1).tobytes()  # filter 0 on every row

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")


def png_data_uri(image: np.ndarray) -> str:
    """``data:image/png;base64,...`` of ``image``: what ``go.Image(source=...)`` takes (small JSON)."""
    return "data:image/png;base64," + base64.b64encode(png_bytes(image)).decode("ascii")
