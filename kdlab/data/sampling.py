"""Which frames a clip sample reads: TSN's segment sampling, as CoViAR uses it.

A video's frames are split into ``num_segments`` equal, consecutive segments; training takes a
random frame in each (TSN, Wang et al. ECCV 2016), testing the centre of each (CoViAR's test
protocol uses 25 segments). Motion and residual are only defined on P-frames, so when a sample
reads them the candidates are the P-frames (CoViAR excludes the I-frame positions likewise); an
I-frame sample reads the I-frame of each chosen frame's GOP.

All functions are pure: frame types in, frame indices out.
"""

from __future__ import annotations

import numpy as np



def candidate_frames(gop_pos: np.ndarray, representations: tuple[str, ...] | list[str]) -> np.ndarray:
    """Frame indices a sample may draw: P-frames when motion or residual is read, else every frame.

    Args:
        gop_pos: ``(N,)`` position of each frame in its GOP (0 = I-frame).
        representations: the representations the sample reads.
    """
    if set(representations) & {"mv", "residual"}:
        candidates = np.flatnonzero(gop_pos > 0)
        if len(candidates) == 0:
            raise ValueError("a video without P-frames has no motion or residual to sample")
        return candidates
    return np.arange(len(gop_pos))


def segment_bounds(count: int, num_segments: int) -> tuple[np.ndarray, np.ndarray]:
    """``[begin, end)`` of each of ``num_segments`` equal segments over ``count`` candidates.

    With fewer candidates than segments, segments share candidates (each is at least one long).
    """
    edges = np.linspace(0, count, num_segments + 1)
    begin = np.floor(edges[:-1]).astype(int)
    end = np.maximum(np.floor(edges[1:]).astype(int), begin + 1)
    begin = np.minimum(begin, count - 1)
    end = np.minimum(end, count)
    return begin, end


def train_frames(candidates: np.ndarray, num_segments: int, rng: np.random.Generator) -> np.ndarray:
    """TSN training sampling: one random candidate in each segment, ``(num_segments,)`` frame indices."""
    begin, end = segment_bounds(len(candidates), num_segments)
    return candidates[rng.integers(begin, end)]


def test_frames(candidates: np.ndarray, num_segments: int) -> np.ndarray:
    """Test sampling: the centre candidate of each segment, ``(num_segments,)`` frame indices."""
    begin, end = segment_bounds(len(candidates), num_segments)
    return candidates[(begin + end - 1) // 2]
