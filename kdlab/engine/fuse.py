"""Late fusion of stream runs: CoViAR's weighted sum of per-video scores (2 x I + 1 x MV + 1 x R),
or, with ``learn=True`` (``kdlab fuse --learn``), temperatures and weights fitted on the runs' stored
validation logits (:mod:`kdlab.engine.learned_fusion`); the test list is never used to fit."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kdlab.engine.metrics import classification_metrics
from kdlab.engine.records import FUSION, Predictions, Summary
from kdlab.engine.runs import RunFolder
from kdlab.errors import ConfigError, RunError
from kdlab.models import COVIAR_FUSION_WEIGHTS, late_fusion


def fuse_predictions(predictions: list[Predictions], weights: list[float], which: str = "last") -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Align runs' predictions by video id and fuse their logits of ``which`` epoch (``"last"``: each run's
    result; ``"best"``: the epoch picked on validation, where stored); returns ``(logits, labels, ids)``."""
    ids = predictions[0].ids
    fused = late_fusion([p.aligned(ids, which) for p in predictions], weights)
    return np.asarray(fused), predictions[0].labels, ids


def fuse_runs(runs: list[str | Path], out: str | Path, weights: list[float] | None = None, force: bool = False,
              learn: bool = False, exits: bool = False) -> Summary:
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
    _write(out, folders, representations, list(weights), fuse_folders(folders, list(weights)))
    return out.summary()


def fuse_folders(folders: list[RunFolder], weights: list[float]) -> Predictions:
    """The late fusion of the runs' predictions, aligned by video id: the fused logits of each run's last
    epoch and of its selected epoch, and each run's own (``teacher_logits``, named by the run folders)."""
    predictions = [f.predictions() for f in folders]
    logits, labels, ids = fuse_predictions(predictions, weights)
    best_logits, _, _ = fuse_predictions(predictions, weights, "best")
    streams = np.stack([p.aligned(ids) for p in predictions]).astype(np.float32)
    return Predictions(logits, labels, ids, predictions[0].classes, best_logits, streams, [f.name for f in folders])


def _refuse_to_replace(out: RunFolder, names: list[str], weights: list[float] | None, method: str = "fixed") -> None:
    if out.config_file.exists():
        raise RunError(f"{out.path}: holds a trained run; fusing into it would replace its results; "
                       "choose another --out (or --force)")
    previous = out.summary()
    if previous and (not previous.is_fusion or [Path(r).name for r in previous.runs] != names
                     or previous.method != method or (weights is not None and previous.weights != weights)):
        raise RunError(f"{out.path}: holds a fusion of other runs or weights ({previous.runs}, "
                       f"{previous.weights}); choose another --out (or --force)")


def learn_fusion(folders: list[RunFolder], representations: list[str], out: RunFolder, force: bool = False,
                 exits: bool = False) -> Summary:
    """Fit temperatures and weights on the runs' validation logits (the last epoch's for ``test``, the
    selected epoch's for ``test_best``), apply them to the test logits, write ``out``; a run without
    validation logits is refused in one line. Returns the summary.

    ``exits``: every early exit of a run with ``exits.npz`` (PKD) is an output of its own, with its own
    temperature and weight (last epoch only: the "best" reading then repeats the last)."""
    from kdlab.engine.exits import read_exits
    from kdlab.engine.learned_fusion import apply_fusion, fit_fusion

    method = "learned_exits" if exits else "learned"
    if not force:
        _refuse_to_replace(out, [f.name for f in folders], None, method)
    predictions = [f.predictions() for f in folders]
    for folder, p in zip(folders, predictions):
        why = p.validation_problem()
        if why:
            raise RunError(f"{folder.predictions_file}: {why} (--learn fits on the validation split, never the test list)")
    val_ids, ids = predictions[0].val_ids, predictions[0].ids
    exit_records = [read_exits(f) if exits else None for f in folders]  # read once, used by every reading
    fits, fused = {}, {}
    for which in ("last",) if exits else ("last", "best"):  # exits are scored at the last epoch only
        names, val, test = _outputs(folders, predictions, exit_records, val_ids, ids, which)
        fits[which] = {**fit_fusion(val, predictions[0].val_labels), "outputs": names}
        fused[which] = apply_fusion(test, fits[which]["weights"], fits[which]["temperatures"])
    if exits:
        fused["best"], fits["best"] = fused["last"], fits["last"]
    streams = np.stack([p.aligned(ids) for p in predictions]).astype(np.float32)
    record = Predictions(fused["last"], predictions[0].labels, ids, predictions[0].classes, fused["best"], streams,
                         [f.name for f in folders])
    learned = dict(method=method, temperatures=fits["last"]["temperatures"], outputs=fits["last"]["outputs"], fit=fits,
                   fitted_on=f"the validation split: {len(val_ids)} clips of held-out training groups, never the test list")
    _write(out, folders, representations, fits["last"]["weights"], record, learned)
    return out.summary()


def _write(out: RunFolder, folders: list[RunFolder], representations: list[str], weights: list[float],
           fused: Predictions, learned: dict | None = None) -> None:
    """The fusion's ``predictions.npz`` and ``summary.json`` (``learned``: :data:`records._LEARNED`'s fields)."""
    summaries = [f.summary() for f in folders]
    protocol = summaries[0].test.get("protocol") if summaries[0] else None
    summary = Summary(
        name=out.name, kind=FUSION, runs=[str(f.path) for f in folders], representations=representations,
        weights=list(weights), params=sum(s.params or 0 for s in summaries if s),  # every stream's network
        test={**classification_metrics(fused.logits, fused.labels, fused.num_classes), "protocol": protocol},
        test_best={**classification_metrics(fused.epoch("best"), fused.labels, fused.num_classes), "protocol": protocol},
        **(learned or {}),
    )
    with out.lock():
        fused.write(out.predictions_file)
        summary.write(out.summary_file)


def _outputs(folders, predictions: list[Predictions], exit_records: list, val_ids, ids, which: str
             ) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The fusion's outputs: names, validation ``(K, M, C)`` and test ``(K, N, C)`` logits, aligned by video;
    a run with an :class:`~kdlab.engine.records.Exits` record in ``exit_records`` gives one output per exit."""
    names, val, test = [], [], []
    for folder, p, e in zip(folders, predictions, exit_records):
        if e is not None:
            for i, name in enumerate(e.names.tolist()):
                names.append(f"{folder.name}:{name}")
                val.append(e.val_aligned(i, val_ids))
                test.append(e.aligned(i, ids))
            continue
        names.append(folder.name)
        val.append(p.val_aligned(val_ids, which))
        test.append(p.aligned(ids, which))
    return names, np.stack(val), np.stack(test)


def fit_learned(predictions: list[Predictions], which: str = "last") -> tuple[dict, np.ndarray, np.ndarray, list[str]]:
    """Learned fusion of runs' predictions (no files written: the dashboard's): fitted on their validation
    logits of ``which`` epoch, applied to their test logits of the same epoch. Returns ``(fit, fused (N, C),
    labels, ids)``; :class:`ConfigError` when a run holds no validation logits or the runs' validation clips differ."""
    from kdlab.engine.learned_fusion import apply_fusion, fit_fusion

    for i, p in enumerate(predictions):
        why = p.validation_problem()
        if why:
            raise ConfigError(f"run {i + 1}: {why}")
    val_ids, ids = predictions[0].val_ids, predictions[0].ids
    fit = fit_fusion(np.stack([p.val_aligned(val_ids, which) for p in predictions]), predictions[0].val_labels)
    test = np.stack([p.aligned(ids, which) for p in predictions])
    return fit, apply_fusion(test, fit["weights"], fit["temperatures"]), predictions[0].labels, ids


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
