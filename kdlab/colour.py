"""Colour conversion shared by the synthetic renderer and the figures: HSV to RGB, numpy only."""

from __future__ import annotations

import numpy as np


def hsv_to_rgb(hue, saturation, value, full_turn: float = 1.0, dtype=np.float64) -> np.ndarray:
    """HSV to RGB in ``[0, 1]``: any broadcastable shapes ``S`` -> ``(*S, 3)`` of ``dtype``.

    ``hue`` in ``[0, full_turn)`` (taken modulo ``full_turn``: 1 for turns, 360 for degrees), ``saturation``
    and ``value`` in ``[0, 1]``. With ``h = 6 hue / full_turn``, ``C = V S``, ``X = C (1 - |h mod 2 - 1|)`` and
    ``m = V - C``, sector ``floor(h)`` of the wheel gives ``(C, X, 0), (X, C, 0), (0, C, X), (0, X, C),
    (X, 0, C), (C, 0, X)``, plus ``m`` on each channel. The sector's values and ``m`` are cast to ``dtype``
    before they are added (the synthetic renderer draws in float32).
    """
    hue, saturation, value = np.broadcast_arrays(np.asarray(hue, np.float64), np.asarray(saturation, np.float64),
                                                 np.asarray(value, np.float64))
    # turns: hue * 6; any other unit: / (full_turn / 6), e.g. / 60 for degrees (both exact at the primaries)
    h = (hue % 1.0) * 6.0 if full_turn == 1 else (hue % full_turn) / (full_turn / 6.0)
    c = value * saturation
    x = c * (1 - np.abs(h % 2 - 1))
    o = np.zeros_like(c)
    table = np.stack([np.stack(t, -1) for t in ((c, x, o), (x, c, o), (o, c, x), (o, x, c), (x, o, c), (c, o, x))])
    sector = h.astype(np.int64) % 6
    rgb = np.take_along_axis(table, sector[None, ..., None], axis=0)[0]  # (*S, 3)
    return rgb.astype(dtype) + (value - c).astype(dtype)[..., None]
