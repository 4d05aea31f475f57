"""Early exits of a PKD run scored on the test list and the validation groups: ``exits.npz``.

A run trained with ``distill.loss = "pkd"`` keeps its exit heads in its checkpoint's
``loss_module``. :func:`evaluate_exits` rebuilds the network with its exits and scores every exit
and the network's own head under the test protocol; ``exits.npz`` holds::

    names (E+1,)           the exits' stages, then "final"
    logits (E+1, N, C)     test list; labels (N,), video_ids (N,)
    val_logits (E+1, M, C) validation groups (what learned fusion fits on); val_labels, val_video_ids
    flops_per_frame (E+1,) FLOPs (2 x MACs) of one frame up to each exit (:func:`kdlab.models.exits.exit_flops`)

Called by the trainer at the end of a PKD run (the last epoch's weights, the run's result).
"""

from __future__ import annotations

import numpy as np
import torch

from kdlab.engine.loading import make_dataset, make_loader, part_records
from kdlab.engine.records import EXITS_FILE, Exits
from kdlab.engine.runs import RunFolder, build_model
from kdlab.errors import RunError
from kdlab.losses import build_loss
from kdlab.models.exits import exit_flops


def exits_file(run: RunFolder):
    return run.path / EXITS_FILE


def read_exits(run: RunFolder) -> Exits | None:
    """A run's :class:`~kdlab.engine.records.Exits` (None when it has none); :class:`RunError` naming a damaged one."""
    return Exits.read(exits_file(run))


@torch.no_grad()
def _score(model, loss_module, dataset, config) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """``(E+1, N, C)`` logits of every exit and the final head, the labels and video ids, in dataset order."""
    loader = make_loader(dataset, config, shuffle=False)
    outputs = []
    for inputs, _, _ in loader:
        x = inputs[model.representation] if isinstance(inputs, dict) else inputs
        final = model(x.to(next(model.parameters()).device))
        outputs.append(torch.stack([*loss_module.exit_logits(final.shape[0]), final]).float().cpu().numpy())
    logits = np.concatenate(outputs, axis=1)
    return logits, np.array([r.label for r in dataset.records]), [r.video_id for r in dataset.records]


def evaluate_exits(run: RunFolder | str, which: str = "last", device: str = "cpu") -> dict:
    """Score the run's exits (``which`` checkpoint) on the test list and the validation groups; write
    ``exits.npz``; return ``{"names", "test_top1", "val_top1", "flops_per_frame"}``."""
    run = (run if isinstance(run, RunFolder) else RunFolder(run)).require()
    config = run.config()
    if config.distill.loss != "pkd":
        raise RunError(f"{run.path}: trained with loss {config.distill.loss!r}, which has no early exits (loss pkd has)")
    state = run.checkpoint(which)
    model = build_model(config, int(state["num_classes"]), pretrained=False)  # the checkpoint replaces the weights
    model.load_state_dict(state["student"])
    loss_module = build_loss("pkd", **config.distill.loss_options)
    loss_module.setup(model, [])
    loss_module.load_state_dict(state["loss_module"])
    model, loss_module = model.to(device).eval(), loss_module.to(device).eval()
    d = config.data
    scored = {}
    for part in ("test", "val"):
        if part_records(config, part):
            dataset = make_dataset(config, part, [config.model.representation], False, d.test_segments, d.test_crops)
            scored[part] = _score(model, loss_module, dataset, config)
    names = [*loss_module.exit_names, "final"]
    flops = exit_flops(model, dict(loss_module.heads.items()), d.size)
    logits, labels, ids = scored["test"]
    val_logits, val_labels, val_ids = scored.get("val", (None, None, None))
    Exits(np.array(names), logits, labels, np.array(ids), np.array(flops, np.int64), val_logits, val_labels,
          None if val_ids is None else np.array(val_ids)).write(exits_file(run))
    top1 = {part: (100 * (z.argmax(2) == y).mean(1)).tolist() for part, (z, y, _) in scored.items()}
    return {"names": names, "test_top1": top1.get("test"), "val_top1": top1.get("val"), "flops_per_frame": flops}
