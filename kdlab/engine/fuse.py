"""Late fusion of stream runs: CoViAR's weighted sum of per-video scores (2 x I + 1 x MV + 1 x R),
or, with ``learn=True`` (``kdlab fuse --learn``), temperatures and weights fitted on the runs' stored
validation logits (:mod:`kdlab.engine.learned_fusion`); the test list is never used to fit."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kdlab.engine import io
from kdlab.engine.metrics import classification_metrics
from kdlab.engine.runs import RunFolder
from kdlab.errors import ConfigError, RunError
from kdlab.models import COVIAR_FUSION_WEIGHTS, late_fusion


def aligned(prediction: dict, ids: list[str], key: str = "logits") -> np.ndarray:
    """``prediction[key]`` with its rows in the order of the video ``ids`` (``logits`` when ``key`` is absent)."""
    where = {v: i for i, v in enumerate(prediction["video_ids"].tolist())}
    missing = [v for v in ids if v not in where]
    if missing:
        raise ConfigError(f"runs do not cover the same test videos (e.g. {missing[0]}); fuse runs of one dataset")
    return prediction[key if key in prediction else "logits"][[where[v] for v in ids]]


def fuse_predictions(predictions: list[dict], weights: list[float], key: str = "logits") -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Align runs' predictions by video id and fuse their ``key`` logits (``logits``: each run's
    last epoch; ``logits_best``: the epoch picked on validation, where stored); returns ``(logits, labels, ids)``."""
    ids = predictions[0]["video_ids"].tolist()
    fused = late_fusion([aligned(p, ids, key) for p in predictions], weights)
    return np.asarray(fused), predictions[0]["labels"], ids


def fuse_runs(runs: list[str | Path], out: str | Path, weights: list[float] | None = None, force: bool = False,
              learn: bool = False, exits: bool = False) -> dict:
    """Fuse the runs' test predictions; write ``predictions.npz`` and ``summary.json`` under ``out``.

    ``out`` may hold the same fusion (same run names and weights), which is written again;
    a trained run or another fusion there is refused unless ``force``. ``learn``: fit temperatures
    and weights on the runs' validation logits (:func:`learn_fusion`) instead of fixed ``weights``.
    """
    if learn and weights is not None:
        raise ConfigError("--weights and --learn exclude each other: --learn fits the weights on the validation split")
    folders = [RunFolder(r).require() for r in runs]
    representations = [f.config().model.representation for f in folders]
    if exits and not learn:
        raise ConfigError("--exits needs --learn: the exits' weights are fitted on the validation split")
    if learn:
        return learn_fusion(folders, representations, RunFolder(out), force, exits)
    if weights is None:
        weights = [COVIAR_FUSION_WEIGHTS[r] for r in representations]
    if len(weights) != len(folders):
        raise ConfigError(f"--weights: {len(weights)} given for {len(folders)} runs")
    out = RunFolder(out)
    if not force:
        _refuse_to_replace(out, [f.name for f in folders], list(weights))
    predictions = [f.predictions() for f in folders]
    logits, labels, ids = fuse_predictions(predictions, list(weights))
    best_logits, _, _ = fuse_predictions(predictions, list(weights), "logits_best")
    with out.lock():
        _write(out, folders, representations, list(weights), predictions, ids, logits, best_logits)
    return out.summary()


def _refuse_to_replace(out: RunFolder, names: list[str], weights: list[float] | None, method: str = "fixed") -> None:
    if out.config_file.exists():
        raise RunError(f"{out.path}: holds a trained run; fusing into it would replace its results; "
                       "choose another --out (or --force)")
    previous = out.summary()
    if previous and (previous.get("kind") != "fusion" or [Path(r).name for r in previous.get("runs", [])] != names
                     or previous.get("method", "fixed") != method or (weights is not None and previous.get("weights") != weights)):
        raise RunError(f"{out.path}: holds a fusion of other runs or weights ({previous.get('runs')}, "
                       f"{previous.get('weights')}); choose another --out (or --force)")


def learn_fusion(folders: list[RunFolder], representations: list[str], out: RunFolder, force: bool = False,
                 exits: bool = False) -> dict:
    """Fit temperatures and weights on the runs' validation logits (``val_logits`` for the last epoch,
    ``val_logits_best`` for the epoch picked on validation), apply them to the test logits, write
    ``out``; a run without validation logits is refused in one line. Returns the summary.

    ``exits``: every early exit of a run with ``exits.npz`` (PKD) is an output of its own, with its own
    temperature and weight (last epoch only: the "best" reading then repeats the last)."""
    from kdlab.engine.learned_fusion import apply_fusion, fit_fusion

    method = "learned_exits" if exits else "learned"
    if not force:
        _refuse_to_replace(out, [f.name for f in folders], None, method)
    predictions = [f.predictions() for f in folders]
    for folder, p in zip(folders, predictions):
        if "val_logits" not in p:
            raise RunError(f"{folder.path}: predictions.npz holds no validation logits (val_logits), which --learn fits on "
                           "(never the test list); train the run again with this kdlab version and data.val_share > 0")
        check_validation(str(folder.predictions_file), p)
    val_ids = predictions[0]["val_video_ids"].tolist()
    ids = predictions[0]["video_ids"].tolist()
    fits, fused = {}, {}
    for epoch, key in (("last", "logits"), ("best", "logits_best")):
        names, val, test = _outputs(folders, predictions, val_ids, ids, key, exits)
        fits[epoch] = {**fit_fusion(val, predictions[0]["val_labels"]), "outputs": names}
        fused[epoch] = apply_fusion(test, fits[epoch]["weights"], fits[epoch]["temperatures"])
    if exits:
        fused["best"], fits["best"] = fused["last"], fits["last"]
    with out.lock():
        _write(out, folders, representations, fits["last"]["weights"], predictions, ids, fused["last"], fused["best"],
               {"method": method, "temperatures": fits["last"]["temperatures"], "outputs": fits["last"]["outputs"],
                "fit": fits, "fitted_on": f"the validation split: {len(val_ids)} clips of held-out training groups, "
                                          "never the test list"})
    return out.summary()


def _outputs(folders, predictions, val_ids, ids, key, exits) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The fusion's outputs: names, validation ``(K, M, C)`` and test ``(K, N, C)`` logits, aligned by video."""
    names, val, test = [], [], []
    for folder, p in zip(folders, predictions):
        exit_file = folder.path / "exits.npz"
        if exits and exit_file.exists():
            with np.load(exit_file) as e:
                arrays = {k: e[k] for k in e.files}
            for i, name in enumerate(arrays["names"].tolist()):
                view = {"video_ids": arrays["video_ids"], "logits": arrays["logits"][i],
                        "val_video_ids": arrays["val_video_ids"], "val_logits": arrays["val_logits"][i]}
                names.append(f"{folder.name}:{name}")
                val.append(_val_aligned(folder, view, val_ids, "val_logits"))
                test.append(aligned(view, ids))
            continue
        names.append(folder.name)
        val.append(_val_aligned(folder, p, val_ids, f"val_{key}"))
        test.append(aligned(p, ids, key))
    return names, np.stack(val), np.stack(test)


def fit_learned(predictions: list[dict], key: str = "logits") -> tuple[dict, np.ndarray, np.ndarray, list[str]]:
    """Learned fusion of runs' predictions dicts (no files written: the dashboard's): fitted on their
    ``val_{key}``, applied to their test ``key`` logits. Returns ``(fit, fused (N, C), labels, ids)``;
    :class:`ConfigError` when a run holds no validation logits or the runs' validation clips differ."""
    from kdlab.engine.learned_fusion import apply_fusion, fit_fusion

    if any("val_logits" not in p for p in predictions):
        raise ConfigError("a run holds no validation logits (val_logits): train it again with this kdlab version")
    for i, p in enumerate(predictions):
        check_validation(f"run {i + 1}", p)
    val_ids, ids = predictions[0]["val_video_ids"].tolist(), predictions[0]["video_ids"].tolist()
    val = np.stack([_val_aligned(RunFolder(f"run {i + 1}"), p, val_ids, f"val_{key}") for i, p in enumerate(predictions)])
    fit = fit_fusion(val, predictions[0]["val_labels"])
    test = np.stack([aligned(p, ids, key) for p in predictions])
    return fit, apply_fusion(test, fit["weights"], fit["temperatures"]), predictions[0]["labels"], ids


def check_validation(name: str, p: dict) -> None:
    """:class:`RunError` unless ``p`` holds ``val_logits`` ``(M, C)`` (C as ``logits``), ``val_labels`` ``(M,)``
    class indices and ``val_video_ids`` ``(M,)`` (and ``val_logits_best`` of the same shape, where stored)."""
    z, c = p["val_logits"], p["logits"].shape[-1]
    labels, ids = p.get("val_labels"), p.get("val_video_ids")
    if (z.ndim != 2 or z.shape[1] != c or labels is None or ids is None or labels.shape != z.shape[:1]
            or ids.shape != z.shape[:1] or labels.dtype.kind not in "iu" or p.get("val_logits_best", z).shape != z.shape
            or (len(labels) and (labels.min() < 0 or labels.max() >= c))):
        raise RunError(f"{name}: its validation arrays are damaged (expected val_logits (M, {c}), val_labels (M,) "
                       "class indices, val_video_ids (M,)); train the run again")


def _val_aligned(folder: RunFolder, prediction: dict, ids: list[str], key: str) -> np.ndarray:
    where = {v: i for i, v in enumerate(prediction["val_video_ids"].tolist())}
    if len(where) != len(ids) or any(v not in where for v in ids):
        raise ConfigError(f"{folder.path}: its validation clips differ from the first run's; fuse runs of one dataset "
                          "and one data.val_share")
    return prediction[key if key in prediction else "val_logits"][[where[v] for v in ids]]


def _write(out: RunFolder, folders, representations, weights, predictions, ids, logits, best_logits,
           extra: dict | None = None) -> None:
    """``predictions.npz`` (fused logits, and each stream's as ``teacher_logits``) and ``summary.json``."""
    labels, classes = predictions[0]["labels"], predictions[0]["classes"]
    streams = np.stack([aligned(p, ids) for p in predictions]).astype(np.float32)
    io.save_npz(out.predictions_file, logits=logits, logits_best=best_logits, labels=labels, video_ids=np.array(ids),
                classes=classes, teacher_logits=streams, teacher_names=np.array([f.name for f in folders]))
    protocol = folders[0].summary().get("test", {}).get("protocol")
    summary = {
        "complete": True,
        "name": out.name,
        "kind": "fusion",
        "runs": [str(f.path) for f in folders],
        "representations": representations,
        "weights": list(weights),
        **(extra or {}),
        "params": sum(f.summary().get("params", 0) for f in folders),  # the fused system: every stream's network
        "test": {**classification_metrics(logits, labels, len(classes)), "protocol": protocol},
        "test_best": {**classification_metrics(best_logits, labels, len(classes)), "protocol": protocol},
    }
    io.write_json(out.summary_file, summary)


def fused_correct(stream_logits: np.ndarray, labels: np.ndarray, weight_sets) -> np.ndarray:
    """Which clips the late fusion gets right under each set of weights.

    ``stream_logits (K, N, C)`` (one run per stream, aligned by video), ``labels (N,)``,
    ``weight_sets (G, K)`` -> ``(G, N)`` bool: clip ``n`` right when fused (:func:`late_fusion`) with
    ``weight_sets[g]``. Only the weights' ratios matter: scaling all of them leaves the argmax alone.
    """
    streams = list(np.asarray(stream_logits))
    return np.stack([late_fusion(streams, [float(w) for w in weights]).argmax(1) == labels for weights in weight_sets])


def held_out_choice(correct: np.ndarray, groups, repeats: int = 20, seed: int = 0) -> dict:
    """How optimistic it is to pick the best of G settings on the clips that then score it.

    ``correct (G, N)``: clip right under setting ``g`` (:func:`fused_correct`); ``groups (N,)``:
    the clips' groups (:func:`kdlab.engine.stats.clip_groups`), kept whole. Two-fold cross-fitting:
    split the groups at random into halves A and B, pick the best setting on A and score it on B,
    and the reverse; the held-out top-1 counts every clip once, scored by a choice that did not see
    it. Averaged over ``repeats`` random splits. Returns ``{"best": g, "best_top1": %, "held_out_top1":
    %, "optimism": best - held out (points)}``; ties go to the first setting.
    """
    correct = np.asarray(correct, bool)
    _, index = np.unique(np.asarray(groups), return_inverse=True)
    rng = np.random.default_rng(seed)
    held_out = []
    for _ in range(repeats):
        half = (rng.permutation(index.max() + 1) % 2)[index].astype(bool)  # (N,): the clip's group is in B
        right = 0
        for chooser, scored in ((~half, half), (half, ~half)):
            right += correct[correct[:, chooser].sum(1).argmax()][scored].sum()
        held_out.append(100 * right / correct.shape[1])
    accuracy = 100 * correct.mean(1)
    best = int(accuracy.argmax())
    return {"best": best, "best_top1": float(accuracy[best]), "held_out_top1": float(np.mean(held_out)),
            "optimism": float(accuracy[best] - np.mean(held_out))}
