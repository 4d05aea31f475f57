"""Late fusion of stream runs: CoViAR's weighted sum of per-video scores (2 x I + 1 x MV + 1 x R)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kdlab.engine import io
from kdlab.engine.metrics import classification_metrics
from kdlab.engine.runs import RunFolder
from kdlab.errors import ConfigError
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


def fuse_runs(runs: list[str | Path], out: str | Path, weights: list[float] | None = None) -> dict:
    """Fuse the runs' test predictions; write ``predictions.npz`` and ``summary.json`` under ``out``."""
    folders = [RunFolder(r).require() for r in runs]
    representations = [f.config().model.representation for f in folders]
    if weights is None:
        weights = [COVIAR_FUSION_WEIGHTS[r] for r in representations]
    if len(weights) != len(folders):
        raise ConfigError(f"--weights: {len(weights)} given for {len(folders)} runs")
    predictions = [f.predictions() for f in folders]
    logits, labels, ids = fuse_predictions(predictions, list(weights))
    best_logits, _, _ = fuse_predictions(predictions, list(weights), "logits_best")
    classes = predictions[0]["classes"]
    out = RunFolder(out)
    stream_logits = np.stack([aligned(p, ids) for p in predictions])
    io.save_npz(out.predictions_file, logits=logits, logits_best=best_logits, labels=labels, video_ids=np.array(ids), classes=classes,
                teacher_logits=stream_logits.astype(np.float32), teacher_names=np.array([f.name for f in folders]))
    protocol = folders[0].summary().get("test", {}).get("protocol")
    summary = {
        "complete": True,
        "name": out.name,
        "kind": "fusion",
        "runs": [str(f.path) for f in folders],
        "representations": representations,
        "weights": list(weights),
        "params": sum(f.summary().get("params", 0) for f in folders),  # the fused system: every stream's network
        "test": {**classification_metrics(logits, labels, len(classes)), "protocol": protocol},
        "test_best": {**classification_metrics(best_logits, labels, len(classes)), "protocol": protocol},
    }
    io.write_json(out.summary_file, summary)
    return summary
