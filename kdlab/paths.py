"""Where kdlab finds what it ships (configs, the dashboard, the sample clips) and where relative folders go.

kdlab runs from a checkout (``pip install -e .``, or ``PYTHONPATH`` at the repository) and from an installed
wheel (``pip install .``) alike. The configs and the dashboard travel inside the package as package data
(``kdlab/configs``, ``kdlab/dashboard``: pyproject.toml maps the repository's folders there) and are found
through :mod:`importlib.resources`; in a checkout, where the package has no such folders, the repository's.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from kdlab.errors import KdlabError

#: The folder above the package: the repository in a checkout, ``site-packages`` in an installed kdlab.
REPO_ROOT = Path(__file__).resolve().parents[1]
#: The folders shipped with kdlab, by name.
BUNDLED = ("configs", "dashboard")


def checkout() -> Path | None:
    """The repository this kdlab runs from (None for an installed kdlab)."""
    return REPO_ROOT if (REPO_ROOT / "pyproject.toml").is_file() and (REPO_ROOT / "kdlab").is_dir() else None


def home() -> Path:
    """Where relative default folders (``runs/demo``, ``data/synthetic``) go: the repository in a checkout,
    else the current folder."""
    return checkout() or Path.cwd()


def bundled(name: str) -> Path:
    """A folder shipped with kdlab: ``"configs"`` (``configs/demo/*.toml``, ...) or ``"dashboard"`` (``app.py``)."""
    if name not in BUNDLED:
        raise ValueError(f"no bundled folder {name!r}; one of {BUNDLED}")
    folder = Path(str(resources.files("kdlab").joinpath(name)))
    if folder.is_dir():
        return folder
    if checkout() and (REPO_ROOT / name).is_dir():
        return REPO_ROOT / name
    raise KdlabError(f"{folder}: kdlab's {name} folder is missing from this installation; reinstall kdlab "
                     "(`pip install .` from its repository)")


def config_dir(group: str = "demo") -> Path:
    """A folder of bundled configs: ``demo`` (the study's), ``ucf101``, ``hmdb51``."""
    return bundled("configs") / group


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
