"""What the dashboard's files must hold, checked before a page uses them: each check returns None, or one line
that says why not (``"results.runs[2].top1 is text, not a number or null"``).

A run folder can be damaged: a half-copied ``study.json``, a ``metrics.csv`` saved by a spreadsheet in UTF-16,
a ``predictions.npz`` from another tool or version. :mod:`state` reads every file through these checks and
treats a file that fails as absent, so a page leaves that run out (or shows what the other files allow) and
names the file in one warning, instead of stopping with a traceback.

JSON files are checked against small schemas (:data:`SCHEMAS`, by file name): the fields the pages and
:mod:`kdlab.figures` read, with their types. ``predictions.npz`` is checked for the arrays and shapes that
:mod:`kdlab.engine.records` requires of every reader (:func:`predictions_problem`). Video ids come from these files, so they are
untrusted paths: :func:`inside` accepts only relative ids that stay in the data set's folder.

No Streamlit and no torch here: plain functions of parsed values.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath

import numpy as np

from kdlab.engine.records import arrays_problem

NULL = type(None)
NUMBER = (int, float)  # JSON numbers; true and false are not numbers here


# --- JSON: a schema is a type, an Obj, a ListOf, a OneOf, or a tuple of these (any one fits) ---------------

@dataclass(frozen=True)
class Obj:
    """A JSON object: each field in ``fields`` has its type when present; those in ``required`` must be present."""

    fields: dict = field(default_factory=dict)
    required: tuple[str, ...] = ()


@dataclass(frozen=True)
class ListOf:
    """A JSON list whose items all fit ``item``."""

    item: object


@dataclass(frozen=True)
class OneOf:
    """One of a few values (``decided``: -1, 0 or 1)."""

    values: tuple


def mismatch(value, schema, where: str = "") -> str | None:
    """Why ``value`` (parsed JSON) does not fit ``schema``, naming the field (``steps[0].name``); None when it fits."""
    options = _options(schema)
    shape = next((option for option in options if _fits(value, option)), None)
    if shape is None:
        return f"{where or 'the file'} is {_value_words(value)}, not {' or '.join(_schema_words(options))}"
    if isinstance(shape, Obj):
        absent = [key for key in shape.required if key not in value]
        if absent:
            return f"{where or 'the file'} has no `{absent[0]}`"
        found = (mismatch(value[key], sub, f"{where}.{key}" if where else key)
                 for key, sub in shape.fields.items() if key in value)
        return next((why for why in found if why), None)
    if isinstance(shape, ListOf):
        found = (mismatch(item, shape.item, f"{where}[{i}]") for i, item in enumerate(value))
        return next((why for why in found if why), None)
    return None


def _options(schema) -> list:
    """A schema's alternatives, nested tuples flattened: ``(NUMBER, NULL) -> [int, float, NoneType]``."""
    if isinstance(schema, tuple):
        return [option for part in schema for option in _options(part)]
    return [schema]


def _fits(value, option) -> bool:
    """Whether ``value`` has the outer shape of ``option`` (its fields and items are checked after)."""
    if isinstance(option, Obj):
        return isinstance(value, dict)
    if isinstance(option, ListOf):
        return isinstance(value, list)
    if isinstance(option, OneOf):
        return not isinstance(value, bool) and value in option.values
    if isinstance(value, bool):
        return option is bool
    return isinstance(value, option)


_WORDS = {str: "text", int: "an integer", float: "a number", bool: "true or false", NULL: "null", dict: "an object",
          list: "a list"}


def _value_words(value) -> str:
    return _WORDS.get(type(value), type(value).__name__)


def _schema_words(options: list) -> list[str]:
    if int in options and float in options:  # "a number" says both
        options = [o for o in options if o is not int]
    return list(dict.fromkeys(map(_option_words, options)))


def _option_words(option) -> str:
    if isinstance(option, Obj):
        return "an object"
    if isinstance(option, ListOf):
        return "a list"
    if isinstance(option, OneOf):
        return "one of " + ", ".join(map(str, option.values))
    return _WORDS.get(option, str(option))


# --- the JSON files' schemas: the fields that the pages and kdlab.figures read -----------------------------

TEST = Obj({"top1": NUMBER, "top5": NUMBER, "mean_class_accuracy": NUMBER, "ece": NUMBER, "videos": int,
            "epoch": int, "protocol": str})
SUMMARY = Obj({"name": str, "complete": bool, "kind": str, "loss": str, "arch": str, "representation": str,
               "representations": ListOf(str), "teachers": ListOf(str), "runs": ListOf(str), "weights": ListOf(NUMBER),
               "params": (NUMBER, NULL), "flops_per_frame": (NUMBER, NULL), "test": TEST, "test_best": (TEST, NULL)})
CONFIG = Obj({"data": Obj({"root": str}), "model": Obj({"representation": str}),
              "distill": Obj({"loss_options": Obj()})})

STEP = Obj({"name": str, "group": str}, required=("name",))
ROW = Obj({"run": str, "group": str, "loss": str, "representation": str, "arch": str, "teachers": int,
           "params": (NUMBER, NULL), "top1": (NUMBER, NULL), "top1_best": (NUMBER, NULL), "best_epoch": (int, NULL),
           "mean_class_accuracy": (NUMBER, NULL), "protocol": (str, NULL)}, required=("run",))
_CLAIM = {"key": str, "title": str, "verdict": str, "decided": OneOf((-1, 0, 1)), "seeds": int, "clips": int,
          "groups": int, "method": str, "mdd": NUMBER, "difference": NUMBER, "low": NUMBER, "high": NUMBER,
          "b_label": str}
CLAIM = Obj({**_CLAIM, "note": (str, NULL), "best": (Obj({"verdict": str}, required=("verdict",)), NULL)},
            required=tuple(_CLAIM))
SEEDS = Obj({"run": str, "seeds": ListOf(int), "top1_per_seed": ListOf(NUMBER), "top1": NUMBER, "low": NUMBER,
             "high": NUMBER, "method": str}, required=("run", "top1", "low", "high"))
_SETTING = {"param_ratio": NUMBER, "flops_ratio_per_gop": NUMBER, "flops_ratio_per_triple": (NUMBER, NULL),
            "size": int, "num_classes": int, "gop": int, "note": str,
            "rows": ListOf(Obj({"system": str, "iframe_net": str, "mv_net": str, "residual_net": str,
                                "params_M": NUMBER, "gflops_per_gop": NUMBER, "gflops_per_triple": (NUMBER, NULL),
                                "fused_top1": (NUMBER, NULL)}, required=("system", "params_M", "gflops_per_gop")))}
_RATIOS = ("param_ratio", "flops_ratio_per_gop")
COMPRESSION = Obj({**_SETTING, "full_size": (Obj(_SETTING, required=_RATIOS), NULL)}, required=_RATIOS)
STUDY = Obj({"steps": ListOf(STEP),
             "results": (Obj({"runs": ListOf(ROW), "claims": ListOf(CLAIM), "seeds": ListOf(SEEDS),
                              "compression": (COMPRESSION, NULL)}), NULL)})
SYNTH = Obj({"clips": ListOf(Obj({"class_name": str, "video": str, "appearance": str, "motion": str,
                                  "residual": str, "split": str}, required=("class_name", "video")))})

#: The schema of each JSON file the dashboard reads, by file name (any other JSON file: an object).
SCHEMAS = {"study.json": STUDY, "summary.json": SUMMARY, "config.json": CONFIG, "synth.json": SYNTH}


def json_problem(data: bytes, name: str) -> tuple[object, str | None]:
    """``(value, None)`` for UTF-8 JSON that fits the schema of file ``name``, else ``(None, why not)``."""
    try:
        value = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        return None, "not UTF-8 text"
    except ValueError as exc:
        return None, f"not JSON ({exc})"
    why = mismatch(value, SCHEMAS.get(name, Obj()))
    return (None, why) if why else (value, None)


# --- metrics.csv -------------------------------------------------------------------------------------------

def metrics_problem(data: bytes) -> str | None:
    """Why ``metrics.csv`` is not one row per epoch (None when it is): UTF-8 text, a header with ``epoch``,
    every row as long as the header, whole-number epochs."""
    try:
        rows = [row for row in csv.reader(io.StringIO(data.decode("utf-8"), newline="")) if row]
    except UnicodeDecodeError:
        return "not UTF-8 text"
    except csv.Error as exc:
        return f"not CSV ({exc})"
    if not rows or "epoch" not in rows[0]:
        return "no header with an `epoch` column"
    header, epoch = rows[0], rows[0].index("epoch")
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            return f"row {line} has {len(row)} fields, the header {len(header)}"
        if not row[epoch].strip().isdigit():
            return f"row {line}'s epoch `{row[epoch]}` is not a whole number"
    return None


# --- predictions.npz ---------------------------------------------------------------------------------------

def predictions_problem(p: dict[str, np.ndarray]) -> str | None:
    """Why ``predictions.npz``'s arrays cannot serve a page (None when they can): what every reader needs
    (:func:`kdlab.engine.records.arrays_problem`: ``logits (N, C)``, ``labels (N,)`` class indices,
    ``video_ids (N,)`` text, ``classes (C,)``), and video ids that stay inside the data set (:func:`inside`).
    """
    why = arrays_problem(p)
    if why:
        return why
    outside = next((v for v in p["video_ids"].tolist() if not inside(v)), None)
    if outside is not None:
        return f"video id `{outside}` is not a path inside the data set (absolute, or with `..`)"
    return None


def inside(video_id: str) -> bool:
    """Whether a video id is a relative path that stays inside its folder: not empty, not absolute (``/x``,
    ``C:\\x``), no ``..`` part (``/`` and ``\\`` both separate), no NUL."""
    if not video_id or "\0" in video_id:
        return False
    posix, windows = PurePosixPath(video_id), PureWindowsPath(video_id)
    return not (posix.is_absolute() or windows.drive or windows.root) and ".." not in posix.parts + windows.parts


def within(path: Path, root: Path) -> bool:
    """Whether ``path``, links followed, lies under ``root`` (a link inside the data set may point out of it)."""
    return path.resolve().is_relative_to(root.resolve())
