"""``kdlab bench distill``: the cost of a distillation epoch against a cross-entropy epoch.

One epoch of the demo's I-frame student on the synthetic set, three ways:

* cross-entropy alone (``loss = "ce"``),
* offline multi-teacher KD: the three stream teachers' logits stored before the epoch
  (:meth:`kdlab.engine.trainer.Trainer.teacher_logits_on_training_videos`), looked up per batch,
* online multi-teacher KD: the teachers run on every batch (their own representations loaded too).

The teachers are the demo's (``configs/demo/teacher_*.toml``) with random weights: their cost does
not depend on the weights. Goal from the engine issue: offline KD with three teachers <= 1.15 x the CE epoch.
"""

from __future__ import annotations

import time

import torch

from kdlab.engine.config import load_config, parse_overrides
from kdlab.engine.runs import build_model
from kdlab.engine.study import CONFIG_DIR
from kdlab.engine.trainer import Trainer

TEACHERS = ("teacher_iframe", "teacher_mv", "teacher_residual")


def _trainer(base: list[str], teachers, loss: str, online: bool) -> Trainer:
    """A :class:`Trainer` of the demo's I-frame student with ``teachers`` (random networks, no run folders)."""
    values = parse_overrides(base)
    if loss != "ce":  # the names stand for the given networks
        values["distill"] = {"loss": loss, "offline": not online, "teachers": list(TEACHERS)}
    trainer = Trainer(load_config(CONFIG_DIR / "student_ce.toml", values), teachers=teachers)
    torch.manual_seed(0)
    trainer.build()
    return trainer


def _epoch_seconds(trainer: Trainer, repeats: int) -> float:
    """The fastest of ``repeats`` training epochs (:meth:`Trainer.train_epoch`)."""
    return min(trainer.train_epoch(epoch)["epoch_seconds"] for epoch in range(repeats))


def run(data_root: str, overrides: list[str] = (), repeats: int = 2) -> dict:
    base = [f"data.root={data_root}", "data.workers=0", "quiet=true", *overrides]
    ce_trainer = _trainer(base, [], "ce", online=False)
    teachers = [build_model(load_config(CONFIG_DIR / f"{name}.toml"), ce_trainer.num_classes).eval() for name in TEACHERS]
    ce = _epoch_seconds(ce_trainer, repeats)
    offline_trainer = _trainer(base, teachers, "avg_kd", online=False)
    start = time.perf_counter()
    offline_trainer.stored = offline_trainer.teacher_logits_on_training_videos()
    storing = time.perf_counter() - start
    offline = _epoch_seconds(offline_trainer, repeats)
    online = _epoch_seconds(_trainer(base, teachers, "avg_kd", online=True), repeats)
    return {
        "ce_epoch_s": ce, "offline_kd_epoch_s": offline, "online_kd_epoch_s": online,
        "storing_teacher_logits_s": storing, "offline_ratio": offline / ce, "online_ratio": online / ce,
        "teachers": [f"{t.arch} ({t.representation})" for t in teachers],
        "train_videos": len(offline_trainer.data.dataset("train", ["iframe"], True, offline_trainer.config.data.num_segments)),
    }
