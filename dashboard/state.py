"""What every dashboard page shares: the runs folder, and cached loaders of runs, videos and the data set.

Loaders are keyed by the file's path and modification time, so a study that is still running
shows its new runs on the next rerun, and an unchanged file is read once (``st.cache_data``).
Decoded videos (:func:`kdlab.codec.extract` with every frame kept: about 1 MB per 320x240 frame) are
kept as shared resources, the last three only (``st.cache_resource``). No maths here: the numbers come
from :mod:`kdlab.engine`, :mod:`kdlab.losses` and :mod:`kdlab.figures`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import streamlit as st

from kdlab.codec import VIDEO_EXTENSIONS, Representations, extract
from kdlab.engine import io
from kdlab.engine.claims import evaluate_claims
from kdlab.engine.runs import RunFolder
from kdlab.engine.study import demo_steps, run_row
from kdlab.errors import KdlabError
from kdlab.paths import REPO_ROOT, samples_dir

DEFAULT_RUNS = "runs/demo"
#: The commands that make a runs folder, for the pages' "nothing here yet" messages.
MAKE_RUNS = ("`make demo` runs the whole study into `runs/demo`; `kdlab demo --runs {folder}` writes it into this folder "
             "(add `--smoke` for a small one in a few minutes)")


def make_runs(folder: Path) -> str:
    """Which command makes run folders in ``folder``."""
    return MAKE_RUNS.format(folder=folder)


# --- the runs folder -------------------------------------------------------------------------

def runs_from_argv(argv: list[str] | None = None) -> str:
    """``--runs DIR`` from ``streamlit run dashboard/app.py -- --runs DIR`` (default ``runs/demo``)."""
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--runs", default=DEFAULT_RUNS)
    args, _ = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    return args.runs


def resolve(path: str | Path) -> Path:
    """An absolute path: as given, else relative to the working folder, else to the repository."""
    path = Path(path).expanduser()
    if path.is_absolute() or path.exists() or not (REPO_ROOT / path).exists():
        return path.resolve()
    return REPO_ROOT / path


def sidebar_runs_dir() -> Path:
    """The runs-folder box in the sidebar (first value: ``--runs``); returns the chosen folder."""
    if not st.session_state.get("runs_dir"):
        st.session_state.runs_dir = runs_from_argv()
    st.sidebar.text_input("Runs folder", key="runs_dir",
                          help="a folder of run folders, as `kdlab demo --runs DIR` writes it; any other folder works too")
    folder = runs_dir()
    names = run_names(folder)
    if names:
        st.sidebar.caption(f"{len(names)} runs in `{folder}`" + (", study.json" if (folder / "study.json").exists() else ""))
    else:
        st.sidebar.caption(f"no run folders in `{folder}` yet")
    return folder


def runs_dir() -> Path:
    return resolve(st.session_state.get("runs_dir") or DEFAULT_RUNS)


def run_names(folder: Path) -> list[str]:
    """Run folders (with a ``summary.json`` or ``config.json``) in the study's step order, then by name."""
    if not folder.is_dir():
        return []
    found = sorted(p.name for p in folder.iterdir() if (p / "summary.json").exists() or (p / "config.json").exists())
    steps = [s["name"] for s in (study(folder) or {}).get("steps", [])]
    return [n for n in steps if n in found] + [n for n in found if n not in steps]


def require_runs(folder: Path) -> list[str]:
    """The run names; without any, a message saying which command makes them, and the page stops."""
    names = run_names(folder)
    if not names:
        st.info(f"No run folders in `{folder}` yet. {make_runs(folder)}. Or type another folder in the sidebar.")
        st.stop()
    return names


# --- files of a run, cached by modification time ----------------------------------------------

def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


@st.cache_data(show_spinner=False, max_entries=256)
def _read_json(path: str, mtime: float) -> dict | None:
    try:
        value = json.loads(Path(path).read_text())
    except (OSError, ValueError):  # a folder that is not kdlab's: treat its files as absent
        return None
    return value if isinstance(value, dict) else None


def read_json(path: Path) -> dict | None:
    """A JSON object file, or None when it is missing or not a JSON object."""
    return _read_json(str(path), _mtime(path)) if path.exists() else None


def study(folder: Path) -> dict | None:
    """``study.json`` (steps, results: runs, ablation, compression) or None."""
    return read_json(folder / "study.json")


def summary(run: Path) -> dict:
    return read_json(run / "summary.json") or {}


@st.cache_data(show_spinner=False, max_entries=256)
def _metrics(path: str, mtime: float) -> list[dict]:
    return io.read_csv(path)


def metrics(run: Path) -> list[dict]:
    """``metrics.csv`` rows (numbers parsed), ``[]`` for fusion runs."""
    return _metrics(str(run / "metrics.csv"), _mtime(run / "metrics.csv"))


@st.cache_data(show_spinner=False, max_entries=128)
def _predictions(run: str, mtime: float) -> dict:
    return RunFolder(run).predictions()


def predictions(run: Path) -> dict | None:
    """``predictions.npz`` as a dict of arrays, or None before the run has finished."""
    file = run / "predictions.npz"
    return _predictions(str(run), _mtime(file)) if file.exists() else None


def runs_with_predictions(folder: Path, names: list[str], teachers: bool = False) -> list[str]:
    """Runs that have predictions; with ``teachers``, only those that stored teacher logits."""
    out = []
    for name in names:
        p = predictions(folder / name)
        if p is not None and (not teachers or len(p.get("teacher_names", ()))):
            out.append(name)
    return out


@st.cache_data(show_spinner=False, max_entries=16)
def _claims(folder: str, stamp: tuple) -> list[dict]:
    return evaluate_claims(folder)


def findings(folder: Path) -> list[dict]:
    """The paper's comparisons with their intervals and verdicts (:mod:`kdlab.engine.claims`):
    ``study.json``'s when the study has finished, else computed from the runs that have finished."""
    claims = ((study(folder) or {}).get("results") or {}).get("claims")
    if claims:
        return claims
    stamp = tuple(_mtime(folder / name / "predictions.npz") for name in run_names(folder))
    return _claims(str(folder), stamp)


def experiment_rows(folder: Path) -> list[dict]:
    """One row per run: ``study.json``'s results when present, else built from the summaries.

    Every row gains ``flops_per_frame`` from the run's ``summary.json`` (None for fused systems). A study
    that is still running has no ``study.json`` yet; its rows take their group from the demo study's steps.
    """
    groups = {step.name: step.group for step in demo_steps()}
    names = run_names(folder)
    results = (study(folder) or {}).get("results") or {}
    rows = [dict(row) for row in results.get("runs", [])]
    listed = {row["run"] for row in rows}
    for name in names:
        s = summary(folder / name)
        if name in listed or "test" not in s:
            continue
        rows.append(run_row(name, groups.get(name, ""), s))
    for row in rows:
        row["flops_per_frame"] = summary(folder / row["run"]).get("flops_per_frame")
    return rows


# --- the data set and the videos --------------------------------------------------------------

def dataset_root(folder: Path) -> tuple[str | None, Path | None]:
    """``(data.root as configured, the folder if it exists)`` from the first run's ``config.json``."""
    for name in run_names(folder):
        data = (read_json(folder / name / "config.json") or {}).get("data")
        if isinstance(data, dict) and isinstance(data.get("root"), str):
            configured = data["root"]
            root = resolve(configured)
            return configured, (root if root.is_dir() else None)
    return None, None


@st.cache_data(show_spinner=False, max_entries=16)
def _list_videos(root: str, mtime: float) -> list[str]:
    base = Path(root)
    return sorted(str(p.relative_to(base)) for p in base.rglob("*")
                  if p.suffix.lower() in VIDEO_EXTENSIONS and p.is_file() and "cache" not in p.relative_to(base).parts)


def list_videos(root: Path) -> list[str]:
    """Relative paths of the videos under ``root`` (the representation cache left out)."""
    return _list_videos(str(root), _mtime(root))


#: The bundled clip that CoViAR reads as is (P-frames only), shown first; the others have B-frames.
FIRST_SAMPLE = "v_SoccerJuggling_g23_c01.avi"


def sample_videos() -> list[Path]:
    """The bundled real clips (:func:`kdlab.paths.samples_dir`), the P-only one first; empty when not installed."""
    try:
        folder = samples_dir()
    except KdlabError:
        return []
    return sorted((p for p in folder.iterdir() if p.suffix.lower() in VIDEO_EXTENSIONS),
                  key=lambda p: (p.name != FIRST_SAMPLE, p.name))


def clip_path(root: Path, video_id: str) -> Path | None:
    """The file of a ``video_ids`` entry (``Class/v_Class_g01_c01``): the id plus the extension on disk."""
    for ext in VIDEO_EXTENSIONS:
        path = root / f"{video_id}{ext}"
        if path.exists():
            return path
    return None


def synth_clips(root: Path) -> dict[str, dict]:
    """``{"Class/v_...": clip entry}`` of the synthetic set's ``synth.json`` (its latent factors), or ``{}``."""
    data = read_json(root / "synth.json") or {}
    return {f"{c['class_name']}/{c['video']}": c for c in data.get("clips", [])}


@st.cache_resource(show_spinner="decoding the video ...", max_entries=3)
def _decode(path: str, mtime: float, accumulate: bool, reencode: bool) -> Representations:
    return extract(path, accumulate=accumulate, keep_frames=True, reencode=reencode)


def load_video(path: Path, accumulate: bool, reencode: bool = False) -> Representations:
    """:func:`kdlab.codec.extract` with every frame kept, decoded once per (file, mode).

    Raises :class:`kdlab.errors.BFramesError` for a B-frame video unless ``reencode``.
    """
    return _decode(str(path), _mtime(path), accumulate, reencode)
