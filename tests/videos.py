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


def write_clip(path: Path, codec: str = "mpeg4", width: int = 128, height: int = 96, frames: int = 24,
               container_format: str | None = None, gop: int = 12) -> Path:
    """A short clip in any codec PyAV can write: a bright square moving 1 px a frame over stripes.

    ``codec="mpeg4"`` writes P-frames only (GOP ``gop``); ``container_format="m4v"`` a raw elementary
    stream, which can be concatenated with another (e.g. of another size)."""
    import av

    with av.open(str(path), "w", format=container_format) as container:
        stream = container.add_stream(codec, rate=25)
        stream.width, stream.height = width, height
        stream.pix_fmt = "rgb8" if codec == "gif" else "yuv420p"
        if codec == "mpeg4":
            stream.codec_context.gop_size, stream.codec_context.max_b_frames = gop, 0
        for t in range(frames):
            image = np.zeros((height, width, 3), np.uint8)
            image[..., 1] = (np.arange(width) % 9 * 25)[None]
            image[10:30, 5 + t : 25 + t] = 200
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path
