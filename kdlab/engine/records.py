"""The run folder's records: every key of ``summary.json`` and ``predictions.npz``, read and written here only.

::

    summary = Summary.read(run / SUMMARY_FILE)        # typed, version-checked; None when absent
    summary.test["top1"], summary.row("mkd_streams", "students")
    p = Predictions.read(run / PREDICTIONS_FILE)      # logits (N, C), labels (N,), video_ids (N,), classes (C,), ...
    p.aligned(ids)                                    # logits with their rows in the order of ``ids``

A record carries its format (:data:`FORMAT`) and the kdlab version that wrote it (``kdlab``). Folders
written before the format was numbered hold no ``format`` key: they are format 1, whose keys are the
same, and are read as they are. A record of a newer format is refused with one line naming the kdlab
that wrote it. Plain NumPy and JSON, no torch: the dashboard reads runs through this module too.

For notebooks written against the dict form, both records answer ``record["test"]``, ``record.get(key)``
and ``key in record`` with the same values as the file's keys.
"""

from __future__ import annotations

import json
import zipfile
import zlib
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

from kdlab import __version__
from kdlab.errors import ConfigError, RunError

#: The run records' format number: 2 adds ``format`` and ``kdlab`` to both files (1: unnumbered, same keys).
FORMAT = 2
SUMMARY_FILE = "summary.json"
PREDICTIONS_FILE = "predictions.npz"
#: The two readings of a run's test predictions: the last epoch, and the epoch picked on validation.
EPOCH_KEYS = {"last": "logits", "best": "logits_best"}
#: The arrays every reader needs from ``predictions.npz`` (the dashboard's checks name them too).
REQUIRED_ARRAYS = ("logits", "labels", "video_ids", "classes")
#: The arrays of the teachers (or of a fusion's streams): ``teacher_logits (K, N, C)``, ``teacher_names (K,)``.
TEACHER_ARRAYS = ("teacher_logits", "teacher_names")
#: The validation groups scored under the test protocol (what learned fusion fits on, never the test list):
#: ``val_logits``, ``val_logits_best`` ``(M, C)``, ``val_labels (M,)``, ``val_video_ids (M,)``.
VALIDATION_ARRAYS = ("val_logits", "val_logits_best", "val_labels", "val_video_ids")
#: A fusion run's ``kind``; a trained run's is ``"training"`` (absent in format 1).
FUSION = "fusion"


def _check_format(found, writer, path: Path) -> None:
    """Refuse a record of a format this kdlab does not read, naming the kdlab that wrote it (``writer``)."""
    if found is None:  # format 1: the keys are this format's
        return
    if isinstance(found, bool) or not isinstance(found, (int, np.integer)) or not 1 <= found <= FORMAT:
        raise RunError(f"{path}: record format {found}, written by kdlab {writer or '(unknown)'}; this kdlab "
                       f"{__version__} reads formats 1 to {FORMAT}: use that kdlab, or rerun the step that wrote it")


def arrays_problem(arrays: dict) -> str | None:
    """Why a predictions archive's arrays do not fit together (None when they do): ``logits (N, C)``
    numbers with N and C at least 1 (and ``logits_best (N, C)`` where stored), ``labels (N,)`` class
    indices in ``[0, C)``, ``video_ids (N,)`` text, ``classes (C,)``. The teachers' arrays:
    :func:`teachers_problem`; the validation arrays: :meth:`Predictions.validation_problem`."""
    absent = [key for key in REQUIRED_ARRAYS if key not in arrays]
    if absent:
        return f"no `{absent[0]}` array"
    logits, labels, ids = (np.asarray(arrays[key]) for key in ("logits", "labels", "video_ids"))
    if logits.ndim != 2 or 0 in logits.shape or logits.dtype.kind not in "fiu":
        return f"`logits` is {_array_words(logits)}, not (clips, classes) numbers"
    n, c = logits.shape
    needed = {"labels": (n,), "video_ids": (n,), "classes": (c,)} | ({"logits_best": (n, c)} if "logits_best" in arrays else {})
    for key, shape in needed.items():
        if np.shape(arrays[key]) != shape:
            return f"`{key}` has shape {np.shape(arrays[key])}, but `logits` {logits.shape} needs {shape}"
    if labels.dtype.kind not in "iu" or labels.min() < 0 or labels.max() >= c:
        return f"`labels` are not class indices in [0, {c})"
    if ids.dtype.kind != "U":
        return f"`video_ids` are {ids.dtype}, not text"
    return None


def teachers_problem(arrays: dict) -> str | None:
    """Why a run's teacher arrays do not fit its logits (None when they do, or when the run stored
    neither: it had no teachers): ``teacher_logits (K, N, C)`` numbers and ``teacher_names (K,)``, with
    ``(N, C)`` the shape of ``logits``. Call after :func:`arrays_problem` found nothing."""
    if "teacher_logits" not in arrays and "teacher_names" not in arrays:
        return None
    absent = [key for key in TEACHER_ARRAYS if key not in arrays]
    if absent:
        return f"no `{absent[0]}` array"
    z, names, n_c = np.asarray(arrays["teacher_logits"]), np.asarray(arrays["teacher_names"]), np.shape(arrays["logits"])
    if z.ndim != 3 or z.shape[1:] != n_c or z.dtype.kind not in "fiu":
        return f"`teacher_logits` is {_array_words(z)}, but `logits` {n_c} needs (teachers, {n_c[0]}, {n_c[1]}) numbers"
    if names.shape != z.shape[:1]:
        return f"`teacher_names` has shape {names.shape}, but `teacher_logits` {z.shape} needs ({z.shape[0]},)"
    return None


def _array_words(a: np.ndarray) -> str:
    return f"{a.dtype} of shape {a.shape}"


def read_json(path: Path) -> dict:
    """A run file's JSON object; a damaged one is a :class:`RunError` naming it."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise RunError(f"{path}: damaged (not a JSON object); rerun the step that writes it, "
                       "or delete the run folder and train it again") from None
    except OSError as exc:
        raise RunError(f"{path}: cannot be read ({exc.strerror})") from None
    if not isinstance(value, dict):
        raise RunError(f"{path}: damaged (not a JSON object); rerun the step that writes it")
    return value


class _Keys:
    """Read-only dict-style access to a record's file keys (``record["test"]``, ``.get``, ``in``)."""

    def to_dict(self) -> dict:  # pragma: no cover  (each record defines it)
        raise NotImplementedError

    def __getitem__(self, key: str):
        return self.to_dict()[key]

    def get(self, key: str, default=None):
        return self.to_dict().get(key, default)

    def __contains__(self, key: str) -> bool:
        return key in self.to_dict()

    def keys(self):
        return self.to_dict().keys()


# --- summary.json ----------------------------------------------------------------------------------

#: Keys a trained run's summary holds, and a fusion's (beside :data:`_COMMON`).
_COMMON = ("complete", "name", "params", "test", "test_best", "format", "kdlab")
_TRAINED = ("representation", "arch", "loss", "teachers", "seed", "epochs", "best", "last", "selection",
            "validation_protocol", "videos", "flops_per_frame", "train_seconds", "mean_epoch_seconds")
_FUSED = ("kind", "runs", "representations", "weights")
#: Keys a learned fusion adds (``kdlab fuse --learn``): how it was fitted, and on what.
_LEARNED = ("method", "temperatures", "outputs", "fit", "fitted_on")


@dataclass
class Summary(_Keys):
    """``summary.json``: what a run scored on the test list and what it cost.

    ``test`` / ``test_best``: :func:`kdlab.engine.metrics.classification_metrics` of the last epoch and of
    the epoch picked on validation, plus ``protocol`` (``"3 segments x 1 crop"``) and ``epoch``. A trained
    run (``kind == "training"``) adds its network, loss, teachers, seed, epochs, selected epoch, data sizes,
    parameters, FLOPs per frame and timings; a fusion (``kind == "fusion"``) its runs, their
    representations and weights, and their parameters summed.
    """

    name: str = ""
    test: dict = field(default_factory=dict)
    test_best: dict | None = None
    complete: bool = True
    kind: str = "training"
    params: int | None = None
    # a trained run
    representation: str = ""
    arch: str = ""
    loss: str = ""
    teachers: list = field(default_factory=list)
    seed: int = 0
    epochs: int = 0
    best: dict = field(default_factory=dict)
    last: dict = field(default_factory=dict)
    selection: str = ""
    validation_protocol: str | None = None
    videos: dict = field(default_factory=dict)
    flops_per_frame: int | None = None
    train_seconds: float | None = None
    mean_epoch_seconds: float | None = None
    # a fusion
    runs: list = field(default_factory=list)
    representations: list = field(default_factory=list)
    weights: list = field(default_factory=list)
    # a learned fusion: "learned" (per run) or "learned_exits" (per exit); its temperatures, outputs' names,
    # the fits of both readings ({"last": ..., "best": ...}) and what they were fitted on
    method: str = "fixed"
    temperatures: list = field(default_factory=list)
    outputs: list = field(default_factory=list)
    fit: dict = field(default_factory=dict)
    fitted_on: str = ""
    # the record
    format: int = FORMAT
    kdlab: str = __version__

    @property
    def is_fusion(self) -> bool:
        return self.kind == FUSION

    @property
    def inputs(self) -> str:
        """The representation read (``"iframe"``), or a fusion's joined (``"iframe+mv+residual"``)."""
        return "+".join(self.representations) if self.is_fusion else self.representation

    @property
    def validated(self) -> bool:
        """Whether the run had a validation split that picked ``best`` (else best is the last epoch)."""
        return self.best.get("val_top1", -1) >= 0

    def to_dict(self) -> dict:
        """The file's keys: those of this run's kind (a fusion has no ``seed`` or ``arch``)."""
        keys = _COMMON + (_FUSED if self.is_fusion else _TRAINED) + (_LEARNED if self.method != "fixed" else ())
        return {key: getattr(self, key) for key in keys}

    @classmethod
    def from_dict(cls, values: dict, path: Path | str = SUMMARY_FILE) -> Summary:
        """A summary of any format this kdlab reads (unknown keys are left out; absent ones take the defaults)."""
        _check_format(values.get("format"), values.get("kdlab"), Path(path))
        known = {f.name for f in fields(cls)}
        record = cls(**{key: value for key, value in values.items() if key in known})
        if "format" not in values:
            record.format, record.kdlab = 1, values.get("kdlab", "0.1.0 or earlier")
        if not record.name:
            record.name = Path(path).parent.name
        return record

    @classmethod
    def read(cls, path: str | Path) -> Summary | None:
        """The summary at ``path``; None when there is none; :class:`RunError` naming a damaged one."""
        path = Path(path)
        return cls.from_dict(read_json(path), path) if path.exists() else None

    def write(self, path: str | Path) -> Path:
        from kdlab.engine import io  # writes atomically

        return io.write_json(path, self.to_dict())

    def row(self, run: str | None = None, group: str = "") -> dict:
        """One row of the results table (``study.json``'s ``results.runs``, the dashboard's Results page)."""
        best = self.test_best or {}
        return {
            "run": run or self.name,
            "group": group or (FUSION if self.is_fusion else ""),
            "loss": FUSION if self.is_fusion else self.loss,
            "representation": self.inputs,
            "arch": "" if self.is_fusion else self.arch,
            "teachers": 0 if self.is_fusion else len(self.teachers),
            "params": self.params,
            "top1": self.test.get("top1"),
            "top1_best": best.get("top1"),
            "best_epoch": best.get("epoch"),
            "mean_class_accuracy": self.test.get("mean_class_accuracy"),
            "protocol": self.test.get("protocol"),
        }


#: Columns of :meth:`Summary.row` (``study.json``'s ``results.runs``).
ROW_KEYS = tuple(Summary(test={}).row("run"))


# --- predictions.npz --------------------------------------------------------------------------------

def alignment(have, want, what: str = "runs") -> np.ndarray:
    """Indices ``i`` with ``have[i] == want`` element-wise: ``(len(want),)`` int, linear time.

    ``have``/``want``: video ids (lists or arrays of text). A ``want`` id missing from ``have`` is a
    :class:`ConfigError` naming it and ``what`` (e.g. ``"runs"``).
    """
    where = {v: i for i, v in enumerate(np.asarray(have).astype(str).tolist())}
    wanted = np.asarray(want).astype(str).tolist()
    missing = next((v for v in wanted if v not in where), None)
    if missing is not None:
        raise ConfigError(f"{what} do not cover the same videos (e.g. {missing}); use runs of one data set")
    return np.fromiter((where[v] for v in wanted), dtype=np.int64, count=len(wanted))


@dataclass
class Predictions(_Keys):
    """``predictions.npz``: per-video test logits of a run (and of its teachers), with their clips.

    ``logits (N, C)`` the last epoch's, ``logits_best (N, C)`` the epoch picked on validation's (None when
    not stored: the same), ``labels (N,)`` class indices, ``video_ids (N,)`` text (``Class/v_Class_g01_c01``),
    ``classes (C,)`` names, ``teacher_logits (K, N, C)`` float32 and ``teacher_names (K,)`` (``K = 0``
    without teachers; a fusion stores its streams there). A trained run with a validation split also
    holds :data:`VALIDATION_ARRAYS`: its validation groups scored under the test protocol by the same
    two epochs (None in runs written before them, and in fusions).
    """

    logits: np.ndarray
    labels: np.ndarray
    video_ids: np.ndarray
    classes: np.ndarray
    logits_best: np.ndarray | None = None
    teacher_logits: np.ndarray | None = None
    teacher_names: np.ndarray | None = None
    val_logits: np.ndarray | None = None
    val_logits_best: np.ndarray | None = None
    val_labels: np.ndarray | None = None
    val_video_ids: np.ndarray | None = None
    format: int = FORMAT
    kdlab: str = __version__

    def __post_init__(self):
        self.video_ids = np.asarray(self.video_ids)
        self.classes = np.asarray(self.classes)
        if self.teacher_logits is None:
            self.teacher_logits = np.zeros((0, *np.shape(self.logits)), np.float32)
        if self.teacher_names is None:
            self.teacher_names = np.array([], dtype=str)
        self.teacher_names = np.asarray(self.teacher_names, dtype=str)

    @property
    def ids(self) -> list[str]:
        return [str(v) for v in self.video_ids.tolist()]

    @property
    def names(self) -> list[str]:
        """The teachers' (or streams') names, as text."""
        return [str(n) for n in self.teacher_names.tolist()]

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def epoch(self, which: str = "last") -> np.ndarray:
        """The logits of the last epoch (``"last"``) or of the epoch picked on validation (``"best"``;
        the last epoch's when the run stored none)."""
        if which not in EPOCH_KEYS:
            raise ConfigError(f"checkpoint: expected one of {sorted(EPOCH_KEYS)}, got {which!r}")
        best = self.logits_best if which == "best" else None
        return self.logits if best is None else best

    def aligned(self, ids, which: str = "last") -> np.ndarray:
        """``epoch(which)`` with its rows in the order of the video ``ids`` (:func:`alignment`)."""
        return self.epoch(which)[alignment(self.video_ids, ids)]

    @property
    def val_ids(self) -> list[str]:
        return [str(v) for v in np.asarray(self.val_video_ids).tolist()]

    def validation_problem(self) -> str | None:
        """Why the validation arrays cannot be fitted on (None when they can): none stored, or not
        ``val_logits (M, C)`` with C as ``logits``, ``val_labels (M,)`` class indices, ``val_video_ids (M,)``."""
        if self.val_logits is None:
            return ("holds no validation logits (val_logits); train the run again with this kdlab "
                    "and data.val_share > 0")
        z, c = np.asarray(self.val_logits), np.shape(self.logits)[-1]
        labels, ids = self.val_labels, self.val_video_ids
        best = z if self.val_logits_best is None else np.asarray(self.val_logits_best)
        if (z.ndim != 2 or z.shape[1] != c or labels is None or ids is None or np.shape(labels) != z.shape[:1]
                or np.shape(ids) != z.shape[:1] or np.asarray(labels).dtype.kind not in "iu" or best.shape != z.shape
                or (len(labels) and (np.min(labels) < 0 or np.max(labels) >= c))):
            return (f"its validation arrays are damaged (expected val_logits (M, {c}), val_labels (M,) class indices, "
                    "val_video_ids (M,)); train the run again")
        return None

    def val_aligned(self, ids, which: str = "last") -> np.ndarray:
        """The validation logits of ``which`` epoch with their rows in the order of the validation video ``ids``
        (:class:`ConfigError` when the run's validation clips are not exactly those)."""
        if len(ids) != len(self.val_ids):
            raise ConfigError("the runs' validation clips differ; fuse runs of one data set and one data.val_share")
        z = self.val_logits_best if which == "best" and self.val_logits_best is not None else self.val_logits
        return np.asarray(z)[alignment(self.val_video_ids, ids, "the runs' validation clips")]

    def to_dict(self) -> dict:
        """The archive's arrays (``logits_best`` and the validation arrays left out when not stored)."""
        arrays = {"logits": self.logits, "labels": self.labels, "video_ids": self.video_ids, "classes": self.classes,
                  "teacher_logits": self.teacher_logits, "teacher_names": self.teacher_names}
        optional = {"logits_best": self.logits_best, **{key: getattr(self, key) for key in VALIDATION_ARRAYS}}
        arrays.update({key: value for key, value in optional.items() if value is not None})
        return arrays

    def write(self, path: str | Path) -> Path:
        from kdlab.engine import io  # writes atomically

        return io.save_npz(path, **self.to_dict(), format=np.array(self.format), kdlab=np.array(self.kdlab))

    @classmethod
    def from_arrays(cls, arrays: dict, path: Path | str = PREDICTIONS_FILE) -> Predictions:
        """From an archive's arrays of any format this kdlab reads; :class:`RunError` naming a missing
        array or arrays that do not fit together (:func:`arrays_problem`)."""
        version = arrays["format"].item() if "format" in arrays else None
        _check_format(version, str(arrays["kdlab"]) if "kdlab" in arrays else None, Path(path))
        why = arrays_problem(arrays)
        if why:
            raise RunError(f"{path}: {why}; rerun the step that writes it")
        record = cls(**{key: arrays.get(key) for key in (*REQUIRED_ARRAYS, "logits_best", *TEACHER_ARRAYS,
                                                          *VALIDATION_ARRAYS)})
        record.format = version or 1
        record.kdlab = str(arrays["kdlab"]) if "kdlab" in arrays else "0.1.0 or earlier"
        return record

    @classmethod
    def read(cls, path: str | Path) -> Predictions:
        """The predictions at ``path``; :class:`RunError` when absent or not a readable archive."""
        path = Path(path)
        return cls.from_arrays(read_arrays(path), path)


def read_arrays(path: str | Path) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` file, as stored (no pickles); :class:`RunError` naming a missing or damaged file."""
    path = Path(path)
    if not path.exists():
        raise RunError(f"{path.parent}: no {path.name}; the run has not finished (rerun it to resume)")
    try:
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    except (OSError, EOFError, ValueError, zipfile.BadZipFile, zlib.error):
        raise RunError(f"{path}: damaged (not a NumPy .npz archive); rerun the step that writes it") from None


# --- exits.npz ----------------------------------------------------------------------------------------

EXITS_FILE = "exits.npz"


@dataclass
class Exits(_Keys):
    """``exits.npz`` of a PKD run: every early exit and the final head, scored under the test protocol.

    ``names (E+1,)`` the exits' stages, then ``"final"``; ``logits (E+1, N, C)`` on the test list with its
    ``labels (N,)`` and ``video_ids (N,)``; ``val_logits (E+1, M, C)`` on the validation groups (what
    learned fusion fits on) with ``val_labels``, ``val_video_ids`` (None without a validation split);
    ``flops_per_frame (E+1,)``: FLOPs (2 x MACs) of one frame up to each exit.
    """

    names: np.ndarray
    logits: np.ndarray
    labels: np.ndarray
    video_ids: np.ndarray
    flops_per_frame: np.ndarray
    val_logits: np.ndarray | None = None
    val_labels: np.ndarray | None = None
    val_video_ids: np.ndarray | None = None

    def problem(self) -> str | None:
        """Why the arrays are not of the shapes above (None when they are)."""
        z = np.asarray(self.logits)
        if z.ndim != 3:
            return "`logits` is not of shape (exits, clips, classes)"
        for key, shape in (("names", z.shape[:1]), ("flops_per_frame", z.shape[:1]), ("labels", z.shape[1:2]),
                           ("video_ids", z.shape[1:2])):
            if np.shape(getattr(self, key)) != shape:
                return f"`{key}` is not of shape {shape}"
        val = self.val_logits
        if val is not None and (np.ndim(val) != 3 or np.shape(val)[::2] != z.shape[::2]
                                or np.shape(self.val_video_ids) != np.shape(val)[1:2]):
            return "`val_logits` and `val_video_ids` do not match `logits`"
        return None

    def aligned(self, i: int, ids) -> np.ndarray:
        """Exit ``i``'s test logits ``(N, C)`` in the order of the video ``ids``."""
        return np.asarray(self.logits[i])[alignment(self.video_ids, ids)]

    def val_aligned(self, i: int, ids) -> np.ndarray:
        """Exit ``i``'s validation logits ``(M, C)`` in the order of the validation video ``ids``."""
        return np.asarray(self.val_logits[i])[alignment(self.val_video_ids, ids, "the runs' validation clips")]

    def to_dict(self) -> dict:
        arrays = {key.name: getattr(self, key.name) for key in fields(self)}
        return {key: value for key, value in arrays.items() if value is not None}

    def write(self, path: str | Path) -> Path:
        from kdlab.engine import io  # writes atomically

        return io.save_npz(path, **self.to_dict())

    @classmethod
    def read(cls, path: str | Path) -> Exits | None:
        """The exits at ``path`` (None when there are none); :class:`RunError` naming a damaged file."""
        path = Path(path)
        if not path.exists():
            return None
        arrays = read_arrays(path)
        known = {f.name for f in fields(cls)}
        absent = [f.name for f in fields(cls) if f.default is not None and f.name not in arrays]
        record = None if absent else cls(**{key: value for key, value in arrays.items() if key in known})
        why = f"no `{absent[0]}` array" if absent else record.problem()
        if why:
            raise RunError(f"{path}: {why}; rerun the PKD run (its exits are scored at its end)")
        return record
