"""Shared fixtures: synthetic videos with known motion, the shared real clips, the bundled samples."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.videos import MovingSquare, write_moving_square

REPO = Path(__file__).resolve().parents[1]
SHARED_CLIPS = Path(os.environ.get("KDLAB_SHARED_CLIPS", REPO.parent / "shared" / "clips"))
SAMPLES = REPO / "data" / "samples"

# Keep every test process to one intra-op thread: pytest-xdist runs one process per core.
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(scope="session")
def shared_clips() -> Path:
    """``../shared/clips`` (real UCF-101/HMDB-51/Kinetics clips); skips when absent."""
    if not (SHARED_CLIPS / "MANIFEST.md").exists():
        pytest.skip(f"{SHARED_CLIPS} is not here (the shared real clips are optional)")
    return SHARED_CLIPS


@pytest.fixture(scope="session")
def samples() -> Path:
    return SAMPLES


@pytest.fixture(scope="session")
def square(tmp_path_factory) -> MovingSquare:
    """A 192x128 MPEG-4 video (GOP 12, 24 frames): a textured square moving (+3, -2) px per frame."""
    return write_moving_square(tmp_path_factory.mktemp("videos") / "square.avi")
