"""Where kdlab finds its bundled data: the real sample clips and the repository's folders."""

from __future__ import annotations

import os
from pathlib import Path

from kdlab.errors import KdlabError

#: The repository checkout this package was installed from (editable installs, the usual case).
REPO_ROOT = Path(__file__).resolve().parents[1]


def samples_dir() -> Path:
    """The bundled real clips: ``$KDLAB_SAMPLES`` or the repository's ``data/samples``."""
    folder = Path(os.environ.get("KDLAB_SAMPLES", REPO_ROOT / "data" / "samples"))
    if not folder.is_dir():
        raise KdlabError(
            f"{folder}: the bundled sample clips are not there; install kdlab from its repository "
            "(`pip install -e .`) or set KDLAB_SAMPLES to a folder of videos"
        )
    return folder


def sample_path(name: str) -> Path:
    """A bundled clip by file name, e.g. ``sample_path("v_SoccerJuggling_g23_c01.avi")``."""
    path = samples_dir() / name
    if not path.exists():
        available = sorted(p.name for p in samples_dir().iterdir() if p.suffix in (".avi", ".mp4"))
        raise KdlabError(f"{path}: no such sample clip; available: {', '.join(available)}")
    return path
