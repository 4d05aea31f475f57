"""What every dashboard page shares: the runs folder, the URL's query, and cached loaders of runs, videos and the data set.

Loaders are keyed by the file's path and modification time, so a study that is still running
shows its new runs on the next rerun, and an unchanged file is read once (``st.cache_data``).
Decoded videos (:func:`kdlab.codec.extract` with every frame kept: about 1 MB per 320x240 frame) are
kept as shared resources, the last three only (``st.cache_resource``). No maths here: the numbers come
from :mod:`kdlab.engine`, :mod:`kdlab.losses` and :mod:`kdlab.figures`; the heavier of those calls are
cached here too.

The modules that import torch (:mod:`kdlab.engine.runs`, ``io``, ``claims``, ``study``, ``fuse``) are
imported inside the functions that need them, so the first page (motion vectors) starts without torch.

Every file is checked before it is used (:mod:`checks`): a damaged one (not UTF-8, not JSON, fields of
other types, arrays missing or of other shapes, video ids that climb out of the data set) is treated as
absent, so a page leaves that run out or shows what the other files allow, and :func:`warn_damaged`
names each damaged file, why, and what to do in one warning at the top of every page.

A page's choices live in the URL (``/teachers?t_run=mkd_streams``): :func:`from_url` seeds a widget
from the query before the widget is drawn, :func:`to_url` writes its value back after.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import streamlit as st

import checks
from kdlab.codec import VIDEO_EXTENSIONS, Representations, extract
from kdlab.engine.records import EXITS_FILE, PREDICTIONS_FILE, SUMMARY_FILE, Exits
from kdlab.errors import KdlabError
from kdlab.paths import home, samples_dir

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
    """An absolute path: as given, else relative to the working folder, else to the repository (a checkout's)."""
    path = Path(path).expanduser()
    if path.is_absolute() or path.exists() or not (home() / path).exists():
        return path.resolve()
    return home() / path


# --- the URL's query ---------------------------------------------------------------------------

def from_url(key: str, default, options: Sequence | None = None, cast: Callable = str) -> None:
    """Set the widget ``key``'s value before it is drawn: the URL's ``?key=`` when it is new and valid
    (a link opened), else the value chosen before, else ``default``.

    Draw the widget without ``index``/``value`` (session state holds it) and call :func:`to_url` after.
    A query value that ``cast`` rejects or that is not among ``options`` is ignored, with a caption.
    """
    synced = st.session_state.setdefault("_url_synced", {})
    raw = st.query_params.get(key)
    if raw is not None and raw != synced.get(key):  # new in the URL: a link was opened
        synced[key] = raw
        try:
            value = cast(raw)
            valid = options is None or value in options
        except (TypeError, ValueError):
            valid = False
        if valid:
            st.session_state[key] = value
        else:
            st.caption(f"The link's `{key}={raw}` is not available here; showing the default.")
    if key not in st.session_state or (options is not None and st.session_state[key] not in options):
        st.session_state[key] = default


def number_in(low: float, high: float, step: float) -> Callable[[str], float]:
    """A ``cast`` for :func:`from_url`: a number on a slider's range and step (a ValueError otherwise)."""
    def cast(text: str) -> float:
        value = round(round(float(text) / step) * step, 6)
        if not low <= value <= high:
            raise ValueError(f"{value} is outside [{low}, {high}]")
        return value

    return cast


def to_url(key: str, default) -> None:
    """Put the widget ``key``'s value in the URL's query (removed when it is ``default``, to keep links short)."""
    value = st.session_state.get(key)
    synced = st.session_state.setdefault("_url_synced", {})
    if value is None or value == default:
        if key in st.query_params:
            del st.query_params[key]
        synced.pop(key, None)
    else:
        text = str(value)
        if st.query_params.get(key) != text:
            st.query_params[key] = text
        synced[key] = text


def select_run(label: str, runs: Sequence[str], key: str, preferred: str) -> str:
    """A select box of ``runs`` whose choice is kept in the URL (``?key=...``); ``preferred`` first
    when it is among them, else the first run."""
    default = preferred if preferred in runs else runs[0]
    from_url(key, default, runs)
    value = st.selectbox(label, runs, key=key)
    to_url(key, default)
    return value


def sidebar_runs_dir() -> Path:
    """The runs-folder box in the sidebar (first value: ``--runs``, or the URL's ``runs_dir``); returns the chosen folder."""
    default = runs_from_argv()
    from_url("runs_dir", default)
    if not st.session_state.get("runs_dir"):
        st.session_state.runs_dir = default
    st.sidebar.text_input("Runs folder", key="runs_dir",
                          help="a folder of run folders, as `kdlab demo --runs DIR` writes it; any other folder works too")
    to_url("runs_dir", default)
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
    found = sorted(p.name for p in folder.iterdir() if (p / SUMMARY_FILE).exists() or (p / "config.json").exists())
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


def _read_bytes(path: str) -> tuple[bytes | None, str | None]:
    """The file's bytes, or ``(None, why not)``."""
    try:
        return Path(path).read_bytes(), None
    except OSError as exc:
        return None, f"cannot be read ({exc.strerror})"


@st.cache_data(show_spinner=False, max_entries=512)
def _read_json(path: str, mtime: float) -> tuple[dict | None, str | None]:
    """``(value, None)``, or ``(None, why)`` for a file that is unreadable or does not fit its schema
    (:func:`checks.json_problem`)."""
    data, why = _read_bytes(path)
    return (None, why) if why else checks.json_problem(data, Path(path).name)


def read_json(path: Path) -> dict | None:
    """A JSON file of the runs folder or data set, checked (:data:`checks.SCHEMAS`); None when missing or damaged."""
    return _read_json(str(path), _mtime(path))[0] if path.exists() else None


def study(folder: Path) -> dict | None:
    """``study.json`` (steps, results: runs, claims, seeds, compression) or None."""
    return read_json(folder / "study.json")


def study_results(folder: Path) -> dict:
    """``study.json``'s ``results`` (``{}`` without one)."""
    return (study(folder) or {}).get("results") or {}


def summary(run: Path) -> dict:
    """``summary.json`` (``{}`` when missing or damaged)."""
    return read_json(run / SUMMARY_FILE) or {}


@st.cache_data(show_spinner=False, max_entries=512)
def _metrics_problem(path: str, mtime: float) -> str | None:
    data, why = _read_bytes(path)
    return why or checks.metrics_problem(data)


@st.cache_data(show_spinner=False, max_entries=256)
def _metrics(path: str, mtime: float) -> list[dict]:
    from kdlab.engine.io import read_csv

    return read_csv(path)


def metrics(run: Path) -> list[dict]:
    """``metrics.csv`` rows (numbers parsed by :func:`kdlab.engine.io.read_csv`); ``[]`` for fusion runs and
    when the file is damaged (:func:`checks.metrics_problem`)."""
    file = run / "metrics.csv"
    if not file.exists() or _metrics_problem(str(file), _mtime(file)):
        return []
    return _metrics(str(file), _mtime(file))


@st.cache_data(show_spinner=False, max_entries=128)
def _arrays(run: str, mtime: float) -> dict | None:
    """The arrays of ``run/predictions.npz`` as stored (:func:`kdlab.engine.records.read_arrays`, no torch);
    None when it is not a readable ``.npz``."""
    from kdlab.engine.records import PREDICTIONS_FILE, read_arrays
    from kdlab.errors import RunError

    try:
        return read_arrays(Path(run) / PREDICTIONS_FILE)
    except RunError:
        return None


def _predictions(run: str, mtime: float):
    """The run's :class:`kdlab.engine.records.Predictions` (call after :func:`_predictions_problems` found nothing)."""
    from kdlab.engine.records import Predictions

    return Predictions.from_arrays(_arrays(run, mtime), Path(run))


@st.cache_data(show_spinner=False, max_entries=512)
def _predictions_problems(run: str, mtime: float) -> tuple[str | None, str | None]:
    """Why the run's predictions cannot serve any page, and why not the teacher pages (None: they can)."""
    from kdlab.engine.records import Predictions, teachers_problem
    from kdlab.errors import RunError

    p = _arrays(run, mtime)
    if p is None:
        return ("not a readable NumPy .npz archive",) * 2
    why = checks.predictions_problem(p)
    if why is None:
        try:
            Predictions.from_arrays(p, Path(run))
        except RunError as exc:  # a newer record format
            why = str(exc).split(": ", 1)[-1]
    return why, why or teachers_problem(p)


def predictions_problem(run: Path, teachers: bool = False) -> str | None:
    """Why the run's ``predictions.npz`` is damaged for a page (with ``teachers``: a teacher page); None when it
    is whole or absent."""
    file = run / PREDICTIONS_FILE
    if not file.exists():
        return None
    problems = _predictions_problems(str(run), _mtime(file))
    return problems[1] if teachers else problems[0]


def predictions(run: Path, teachers: bool = False):
    """``predictions.npz`` as :class:`kdlab.engine.records.Predictions`, checked for what a page needs (:func:`checks.predictions_problem`;
    with ``teachers``, :func:`kdlab.engine.records.teachers_problem` too); None before the run has finished or when damaged."""
    file = run / PREDICTIONS_FILE
    if not file.exists() or predictions_problem(run, teachers):
        return None
    return _predictions(str(run), _mtime(file))


def runs_with_predictions(folder: Path, names: list[str], teachers: bool = False) -> list[str]:
    """Runs whose predictions are whole; with ``teachers``, only those that stored teacher logits."""
    out = []
    for name in names:
        p = predictions(folder / name, teachers)
        if p is not None and (not teachers or len(p.teacher_names)):
            out.append(name)
    return out


# --- damaged files ---------------------------------------------------------------------------------

#: The files of a run folder that the pages read, in the order a warning lists them.
RUN_FILES = ("config.json", SUMMARY_FILE, "metrics.csv", PREDICTIONS_FILE)


def _problem(path: Path) -> str | None:
    """Why one file of the runs folder is damaged (None when it is whole or absent)."""
    if not path.exists():
        return None
    if path.suffix == ".json":
        return _read_json(str(path), _mtime(path))[1]
    if path.name == "metrics.csv":
        return _metrics_problem(str(path), _mtime(path))
    return predictions_problem(path.parent, teachers=True)  # the teachers' arrays checked too


@st.cache_data(show_spinner=False, max_entries=16)
def _damaged(files: tuple[str, ...], stamp: tuple[float, ...]) -> dict[str, str]:
    return {file: why for file in files if (why := _problem(Path(file)))}


def damaged_files(folder: Path) -> dict[Path, str]:
    """Every damaged file of the runs folder with its one-line reason: ``study.json`` and each run's
    :data:`RUN_FILES`, checked as the loaders check them (re-checked when a file changes)."""
    files = tuple(str(f) for f in [folder / "study.json", *(folder / n / f for n in run_names(folder) for f in RUN_FILES)])
    return {Path(file): why for file, why in _damaged(files, tuple(_mtime(Path(f)) for f in files)).items()}


def damaged_runs(folder: Path) -> set[str]:
    """The runs with a damaged file."""
    return {path.parent.name for path in damaged_files(folder) if path.parent != folder}


def damaged_results(folder: Path) -> set[str]:
    """The runs whose test results cannot be read: a damaged ``summary.json``, or a ``predictions.npz`` without the
    arrays every page needs. :mod:`kdlab.engine.claims` reads those files itself, so their methods are left out of
    the comparisons computed here."""
    return {path.parent.name for path, why in damaged_files(folder).items()
            if path.name == SUMMARY_FILE or (path.name == PREDICTIONS_FILE and predictions_problem(path.parent))}


#: What to do about a damaged file: rerun the step that writes it.
REMEDIES = {
    "study.json": "rerun the study that wrote it (`kdlab demo --runs {folder}` for the demo): it skips finished runs "
                  "and writes study.json again; meanwhile the pages use the runs' own files",
    "run": "rerun the step that writes it: `kdlab train`, `distill` or `fuse` with `--force` into its run folder, "
           "or delete the folder and rerun the study (it trains only what is missing)",
}


def warn_damaged(folder: Path) -> None:
    """One warning naming every damaged file of the runs folder, why, and what to do; nothing when all are whole."""
    damaged = damaged_files(folder)
    if not damaged:
        return
    kinds = dict.fromkeys("study.json" if path == folder / "study.json" else "run" for path in damaged)
    st.warning("**Damaged files**, left out where a page needs them:\n"
               + "".join(f"- `{path}`: {why}\n" for path, why in damaged.items())
               + "\n" + "; ".join(("For study.json: " if kind == "study.json" else "For a run's file: ")
                                  + REMEDIES[kind].format(folder=folder) for kind in kinds) + ".")


def _stamp(folder: Path) -> tuple[float, ...]:
    """The modification times of the runs' predictions and summaries: a key that changes when a run does."""
    return tuple(_mtime(folder / name / file) for name in run_names(folder) for file in (PREDICTIONS_FILE, SUMMARY_FILE))


@st.cache_data(show_spinner=False, max_entries=16)
def _claims(folder: str, keys: tuple[str, ...], stamp: tuple) -> list[dict]:
    from kdlab.engine.claims import HEADLINE, evaluate_claims

    return evaluate_claims(folder, tuple(c for c in HEADLINE if c.key in keys))


def findings(folder: Path) -> list[dict]:
    """The paper's comparisons with their intervals and verdicts (:mod:`kdlab.engine.claims`):
    ``study.json``'s when the study has finished, else computed from the runs that have finished."""
    claims = study_results(folder).get("claims")
    if claims:
        return claims
    from kdlab.engine.claims import HEADLINE

    damaged = {base_name(run) for run in damaged_results(folder)}  # the library would read them: leave their claims out
    keys = tuple(c.key for c in HEADLINE if c.a not in damaged and c.b not in damaged)
    return _claims(str(folder), keys, _stamp(folder)) if keys else []


def experiment_rows(folder: Path) -> list[dict]:
    """One row per run: ``study.json``'s results when present, else built from the summaries.

    Every row gains ``flops_per_frame`` from the run's ``summary.json`` (None for fused systems). A study
    that is still running has no ``study.json`` yet; its rows take their group from the demo study's steps.
    """
    names = run_names(folder)
    rows = [dict(row) for row in study_results(folder).get("runs", [])]
    listed = {row["run"] for row in rows}
    missing = [name for name in names if name not in listed and "test" in summary(folder / name)]
    if missing:
        from kdlab.engine.records import Summary
        from kdlab.engine.study import demo_steps

        groups = {step.name: step.group for step in demo_steps()}
        rows += [Summary.from_dict(summary(folder / name)).row(name, groups.get(name, "")) for name in missing]
    for row in rows:
        row["flops_per_frame"] = summary(folder / row["run"]).get("flops_per_frame")
    return rows


@st.cache_data(show_spinner=False, max_entries=16)
def _seed_summary(folder: str, bases: tuple[str, ...], stamp: tuple) -> list[dict]:
    from kdlab.engine.claims import seed_summary

    return seed_summary(folder, list(bases))


def seed_intervals(folder: Path, bases: Sequence[str]) -> list[dict]:
    """Top-1 over seeds with its 95 % interval per method (:func:`kdlab.engine.claims.seed_summary`):
    ``study.json``'s ``results.seeds`` where it has the method, else computed from the runs."""
    known = {row["run"]: row for row in study_results(folder).get("seeds", [])}
    damaged = {base_name(run) for run in damaged_results(folder)}  # the library would read them: left out
    missing = tuple(b for b in bases if b not in known and b not in damaged)
    computed = _seed_summary(str(folder), missing, _stamp(folder)) if missing else []
    return list(known.values()) + computed


def base_name(run: str) -> str:
    """The run without its seed (``mkd_streams_seed3 -> mkd_streams``), as :mod:`kdlab.engine.claims` names runs."""
    from kdlab.engine.claims import base_name as base

    return base(run)


def representation(run: Path) -> str | None:
    """The representation a trained run reads (``iframe``, ``mv``, ``residual``): its summary's, else its config's
    (``model.representation``, when the summary is damaged); None for a fusion."""
    model = (read_json(run / "config.json") or {}).get("model") or {}
    return summary(run).get("representation") or model.get("representation")


def is_fusion(run: Path) -> bool:
    """Whether the run is a late fusion (``kdlab fuse``): its summary says so, or it has no ``config.json``
    (a fusion writes none; a trained run always has one)."""
    return summary(run).get("kind") == "fusion" or not (run / "config.json").exists()


def distillation_runs(folder: Path, names: list[str]) -> list[str]:
    """Runs that learned from teachers and stored their logits (fusions left out: their streams are not teachers)."""
    return [name for name in runs_with_predictions(folder, names, teachers=True) if not is_fusion(folder / name)]


def temperature(run: Path, default: float = 4.0) -> float:
    """The run's distillation temperature T (``distill.loss_options.temperature`` of its config)."""
    options = ((read_json(run / "config.json") or {}).get("distill") or {}).get("loss_options") or {}
    value = options.get("temperature", default)
    return float(value) if isinstance(value, (int, float)) else default


# --- cached calls of the library --------------------------------------------------------------

@st.cache_data(show_spinner=False, max_entries=32)
def _class_weights(run: str, mtime: float, temperature: float) -> dict[str, np.ndarray]:
    import torch

    from kdlab.losses import aggregation_weights

    p = _predictions(run, mtime)
    z_t = torch.from_numpy(np.asarray(p.teacher_logits, np.float32))
    z_s = torch.from_numpy(np.asarray(p.logits, np.float32))
    labels = np.asarray(p.labels, np.int64)
    out: dict[str, np.ndarray] = {}
    for c in range(p.num_classes):
        members = np.flatnonzero(labels == c)
        if not len(members):
            for key in out:
                out[key][c] = np.nan
            continue
        # every aggregation on this class's clips as one batch: per-clip weights averaged, AE-KD's the batch's own
        weights = aggregation_weights(z_s[members], z_t[:, members], torch.from_numpy(labels[members]), temperature)
        for key, w in weights.items():
            out.setdefault(key, np.full((p.num_classes, z_t.shape[0]), np.nan))[c] = w.mean(1).numpy()
    return out


def class_weights(run: Path, temperature: float) -> dict[str, np.ndarray]:
    """Each aggregation's mean weight per (true class, teacher) on the test clips: ``{key: (C, K)}``
    (:func:`kdlab.losses.aggregation_weights`, each class's clips taken as one batch)."""
    return _class_weights(str(run), _mtime(run / PREDICTIONS_FILE), float(temperature))


@st.cache_data(show_spinner=False, max_entries=16)
def _fusion_grid(runs: tuple[str, ...], mtimes: tuple, ratios: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from kdlab.engine.fuse import fused_correct

    predictions = [_predictions(run, mtime) for run, mtime in zip(runs, mtimes)]
    ids = predictions[0].ids
    streams = np.stack([p.aligned(ids) for p in predictions])
    weight_sets = [(1.0, m, r) for r in ratios for m in ratios]
    return fused_correct(streams, predictions[0].labels, weight_sets), predictions[0].labels, np.asarray(ids)


def fusion_grid(runs: Sequence[Path], ratios: Sequence[float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which test clips the fusion of ``runs`` (I-frame, motion, residual) gets right with weights
    ``(1, m, r)`` for every ``r``, then ``m`` in ``ratios``: ``(correct (R * M, N), labels, video ids)``
    (:func:`kdlab.engine.fuse.fused_correct`; rows ordered residual-major)."""
    return _fusion_grid(tuple(str(r) for r in runs), tuple(_mtime(r / PREDICTIONS_FILE) for r in runs),
                        tuple(float(x) for x in ratios))


@st.cache_data(show_spinner=False, max_entries=64)
def _fused(runs: tuple[str, ...], mtimes: tuple, weights: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from kdlab.engine.fuse import fuse_predictions

    logits, labels, ids = fuse_predictions([_predictions(run, mtime) for run, mtime in zip(runs, mtimes)], list(weights))
    return logits, labels, np.asarray(ids)


@st.cache_data(show_spinner=False, max_entries=32)
def _exits(run: str, mtime: float):
    try:
        return Exits.read(Path(run) / EXITS_FILE)
    except KdlabError:
        return None


def exits(run: Path):
    """A PKD run's :class:`kdlab.engine.records.Exits` (``names (E+1,)``, ``logits (E+1, N, C)``, ``labels``,
    ``video_ids``, ``flops_per_frame``); None when absent or damaged."""
    file = run / EXITS_FILE
    return _exits(str(run), _mtime(file)) if file.exists() else None


@st.cache_data(show_spinner=False, max_entries=16)
def _learned(runs: tuple[str, ...], mtimes: tuple) -> tuple[dict, np.ndarray, np.ndarray, np.ndarray]:
    from kdlab.engine.fuse import fit_learned

    fit, logits, labels, ids = fit_learned([_predictions(run, mtime) for run, mtime in zip(runs, mtimes)])
    return fit, logits, labels, np.asarray(ids)


def learned_fusion(runs: Sequence[Path]) -> tuple[dict, np.ndarray, np.ndarray, np.ndarray]:
    """Temperatures and weights fitted on ``runs``' validation logits, applied to their test logits:
    ``(fit, logits (N, C), labels, video ids)`` (:func:`kdlab.engine.fuse.fit_learned`); raises
    :class:`~kdlab.errors.ConfigError` when a run stored no validation logits."""
    return _learned(tuple(str(r) for r in runs), tuple(_mtime(r / PREDICTIONS_FILE) for r in runs))


def fused(runs: Sequence[Path], weights: Sequence[float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The late fusion of ``runs``' test logits with ``weights``: ``(logits (N, C), labels, video ids)``
    (:func:`kdlab.engine.fuse.fuse_predictions`, aligned by video id)."""
    return _fused(tuple(str(r) for r in runs), tuple(_mtime(r / PREDICTIONS_FILE) for r in runs),
                  tuple(float(w) for w in weights))


@st.cache_data(show_spinner=False, max_entries=256)
def accuracy_interval(correct: np.ndarray, video_ids: np.ndarray, labels: np.ndarray):
    """Top-1 (%) with its 95 % bootstrap interval by clip group, within class (:func:`kdlab.engine.stats.accuracy_interval`)."""
    from kdlab.engine import stats

    return stats.accuracy_interval(correct, stats.clip_groups(video_ids), labels)


@st.cache_data(show_spinner=False, max_entries=256)
def comparison(correct_a: np.ndarray, correct_b: np.ndarray, video_ids: np.ndarray, labels: np.ndarray, a: str, b: str):
    """A against B on the same clips, one seed each: the difference, its 95 % interval (paired bootstrap by
    group) and the verdict in words (:func:`kdlab.engine.stats.compare`, as the study states its comparisons)."""
    from kdlab.engine import stats

    ids = np.asarray(video_ids).astype(str)
    return stats.compare(stats.Outcomes(a, np.asarray(correct_a)[None], ids, (0,), None, labels),
                         stats.Outcomes(b, np.asarray(correct_b)[None], ids, (0,), None, labels))


@st.cache_data(show_spinner=False, max_entries=16)
def held_out_choice(correct: np.ndarray, video_ids: np.ndarray) -> dict:
    """How optimistic the best of a grid is on the clips that chose it (:func:`kdlab.engine.fuse.held_out_choice`)."""
    from kdlab.engine.fuse import held_out_choice as choice
    from kdlab.engine.stats import clip_groups

    return choice(correct, clip_groups(video_ids))


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
    """The file of a ``video_ids`` entry (``Class/v_Class_g01_c01``): the id plus the extension on disk.

    None when there is none, and for an id that would leave ``root`` (absolute, ``..``, or a link out of it):
    ids come from run files, which may be damaged or foreign.
    """
    if not checks.inside(video_id):
        return None
    for ext in VIDEO_EXTENSIONS:
        path = root / f"{video_id}{ext}"
        if path.is_file() and checks.within(path, root):
            return path
    return None


def synth_clips(root: Path) -> dict[str, dict]:
    """``{"Class/v_...": clip entry}`` of the synthetic set's ``synth.json`` (its latent factors), or ``{}``
    (also when it is damaged: the clips are shown without their factors)."""
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
