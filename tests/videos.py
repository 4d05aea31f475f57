"""Synthetic test videos whose motion is known exactly."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kdlab.codec import EncodeSettings, encode_frames


def smooth_texture(rng: np.random.Generator, height: int, width: int, scale: int = 4) -> np.ndarray:
    """Random RGB texture ``(H, W, 3) uint8`` with detail at ``scale`` px (block-matching friendly)."""
    coarse = rng.integers(0, 256, (height // scale + 2, width // scale + 2, 3)).astype(np.float32)
    fine = coarse.repeat(scale, 0).repeat(scale, 1)
    # a 3x3 box blur keeps edges sharp enough for motion search but avoids aliasing
    padded = np.pad(fine, ((1, 1), (1, 1), (0, 0)), mode="edge")
    blurred = sum(padded[dy : dy + fine.shape[0], dx : dx + fine.shape[1]] for dy in range(3) for dx in range(3)) / 9
    return blurred[:height, :width].clip(0, 255).astype(np.uint8)


@dataclass
class MovingSquare:
    path: Path
    frames: np.ndarray  # (N, H, W, 3) the encoded source pixels
    velocity: tuple[int, int]  # (dx, dy) px per frame
    size: int  # side of the square
    start: tuple[int, int]  # (x, y) of its top-left corner in frame 0
    gop: int

    def corner(self, t: int) -> tuple[int, int]:
        return self.start[0] + self.velocity[0] * t, self.start[1] + self.velocity[1] * t


def write_moving_square(
    path: Path,
    num_frames: int = 24,
    width: int = 192,
    height: int = 128,
    size: int = 48,
    velocity: tuple[int, int] = (3, -2),
    start: tuple[int, int] = (24, 64),
    gop: int = 12,
    seed: int = 0,
) -> MovingSquare:
    """A static textured background with a textured square moving by ``velocity`` px per frame."""
    rng = np.random.default_rng(seed)
    background = smooth_texture(rng, height, width, scale=8) // 2
    patch = smooth_texture(rng, size, size, scale=4) // 2 + 128
    frames = []
    for t in range(num_frames):
        frame = background.copy()
        x, y = start[0] + velocity[0] * t, start[1] + velocity[1] * t
        frame[y : y + size, x : x + size] = patch
        frames.append(frame)
    frames = np.stack(frames)
    encode_frames(frames, path, EncodeSettings(width=width, height=height, gop=gop, qscale=1), fps=25)
    return MovingSquare(path, frames, velocity, size, start, gop)
