"""Evaluation: per-video logits under a test protocol (segments x crops), and ``kdlab evaluate``.

A video's score is the mean of the network's logits over its segments and crops (TSN/CoViAR
consensus). Training-time validation uses ``data.num_segments`` x 1 crop; the test protocol
``data.test_segments`` x ``data.test_crops`` (CoViAR: 25 x 10). The two differ, which is why
CoViAR's users struggled to reproduce its numbers: kdlab reports both, named.
"""

from __future__ import annotations

import numpy as np
import torch
from tqdm.auto import tqdm

from kdlab.engine import accel, distributed, io
from kdlab.engine.loading import make_dataset, make_loader, progress_enabled
from kdlab.engine.metrics import classification_metrics
from kdlab.engine.records import Predictions
from kdlab.engine.runs import RunFolder
from kdlab.errors import ConfigError


def protocol_name(segments: int, crops: int) -> str:
    """How a video was scored, e.g. ``"25 segments x 10 crops"``."""
    return f"{segments} segment{'s' * (segments > 1)} x {crops} crop{'s' * (crops > 1)}"


class EvalData:
    """A dataset, this rank's share of it (every ``world_size``-th item) and its loader, built once."""

    def __init__(self, dataset, config, context):
        self.dataset = dataset
        self.amp = config.optim.amp  # evaluated under the run's autocast
        self.indices = list(range(context.rank, len(dataset), context.world_size))
        self.loader = make_loader(torch.utils.data.Subset(dataset, self.indices), config, shuffle=False)


def predict(model, data: EvalData, context, show: bool = False, desc: str = "eval"):
    """Logits ``(N, C)``, labels ``(N,)`` and video ids of every item of ``data.dataset``, on every rank."""
    (logits,), labels, ids = predict_many([model], data, context, show, desc)
    return logits, labels, ids


@torch.no_grad()
def predict_many(models, data: EvalData, context, show: bool = False, desc: str = "eval"):
    """Like :func:`predict` for several models of one representation, reading the data once:
    ``([logits (N, C) per model], labels, ids)`` (e.g. a run's selected epoch and its last)."""
    modes = [m.training for m in models]
    for m in models:
        m.eval()
    outputs = [[] for _ in models]
    for inputs, labels, ids in tqdm(data.loader, desc=desc, leave=False, disable=not show):
        if isinstance(inputs, dict):
            inputs = inputs[models[0].representation]
        inputs = inputs.to(context.device, non_blocking=True)
        with accel.autocast(context.device, getattr(data, "amp", "off")):
            for out, m in zip(outputs, models):
                out.append(m(inputs).float().cpu().numpy())
    for m, mode in zip(models, modes):
        m.train(mode)
    dataset = data.dataset
    merged_all = []
    for out in outputs:
        logits = np.concatenate(out) if out else np.zeros((0, len(dataset.classes)), np.float32)
        parts = distributed.gather_objects(context, (data.indices, logits))
        order = np.concatenate([p[0] for p in parts]).astype(int)
        merged = np.empty((len(dataset), logits.shape[1]), np.float32)
        merged[order] = np.concatenate([p[1] for p in parts])
        merged_all.append(merged)
    records = dataset.records
    return merged_all, np.array([r.label for r in records]), [r.video_id for r in records]


def evaluate_run(path, segments: int | None = None, crops: int | None = None, checkpoint: str = "last",
                 workers: int | None = None) -> dict:
    """Re-evaluate a finished run under another protocol; writes ``eval_<S>x<C>.json`` and ``.npz``."""
    run = RunFolder(path).require()
    config = run.config()
    if segments is not None:
        if segments < 1:
            raise ConfigError(f"--segments: expected >= 1, got {segments}")
        config.data.test_segments = segments
    if crops is not None:
        if crops not in (1, 10):
            raise ConfigError(f"--crops: expected 1 or 10, got {crops}")
        config.data.test_crops = crops
    if workers is not None:
        config.data.workers = workers
    context = distributed.setup(config.device)
    try:
        model = run.load_model(checkpoint, context.device)
        d = config.data
        dataset = make_dataset(config, "test", [config.model.representation], False, d.test_segments, d.test_crops)
        data = EvalData(dataset, config, context)
        logits, labels, ids = predict(model, data, context, progress_enabled(config, context), desc="evaluate")
        result = classification_metrics(logits, labels, len(dataset.classes))
        result.update(protocol=protocol_name(d.test_segments, d.test_crops), checkpoint=checkpoint, run=str(run.path))
        if context.is_main:
            stem = run.path / f"eval_{d.test_segments}x{d.test_crops}_{checkpoint}"
            Predictions(logits, labels, ids, dataset.classes).write(stem.with_suffix(".npz"))
            io.write_json(stem.with_suffix(".json"), result)
        return result
    finally:
        distributed.teardown(context)
