"""``kdlab bench distill``: the cost of a distillation epoch against a cross-entropy epoch.

One epoch of the demo's I-frame student on the synthetic set, three ways:

* cross-entropy alone (``loss = "ce"``),
* offline multi-teacher KD: the three stream teachers' logits stored before the epoch
  (:func:`kdlab.engine.trainer.offline_teacher_logits`), looked up per batch,
* online multi-teacher KD: the teachers run on every batch (their own representations loaded too).

The teachers are the demo's (``configs/demo/teacher_*.toml``) with random weights: their cost does
not depend on the weights. Goal from the engine issue: offline KD with three teachers <= 1.15 x the CE epoch.
"""

from __future__ import annotations

import time

import torch

from kdlab.distill import Distiller
from kdlab.engine import distributed
from kdlab.engine.config import load_config
from kdlab.engine.loading import make_dataset, make_loader
from kdlab.engine.runs import build_model
from kdlab.engine.study import CONFIG_DIR
from kdlab.engine.trainer import make_optimizer, offline_teacher_logits, train_epoch
from kdlab.losses import build_loss

TEACHERS = ("teacher_iframe", "teacher_mv", "teacher_residual")


def _epoch_seconds(config, teachers, loss: str, online: bool, stored=None, repeats: int = 2) -> float:
    context = distributed.Context()
    representations = ["iframe"] + ([t.representation for t in teachers] if online else [])
    dataset = make_dataset(config, "train", list(dict.fromkeys(representations)), True, config.data.num_segments)
    loader = make_loader(dataset, config, shuffle=True)
    torch.manual_seed(0)
    distiller = Distiller(build_model(config, len(dataset.classes)), teachers if loss != "ce" else [], build_loss(loss))
    optimizer = make_optimizer(config, distiller)
    best = float("inf")
    for epoch in range(repeats):
        start = time.perf_counter()
        train_epoch(distiller, distiller, loader, optimizer, epoch, stored, config, context, show=False)
        best = min(best, time.perf_counter() - start)
    return best


def run(data_root: str, overrides: list[str] = (), repeats: int = 2) -> dict:
    config = load_config(CONFIG_DIR / "student_ce.toml", [f"data.root={data_root}", "data.workers=0", "quiet=true", *overrides])
    num_classes = len(make_dataset(config, "test", ["iframe"], False, 1).classes)
    teachers = [build_model(load_config(CONFIG_DIR / f"{name}.toml"), num_classes).eval() for name in TEACHERS]
    ce = _epoch_seconds(config, [], "ce", online=False, repeats=repeats)
    train_set = make_dataset(config, "train", ["iframe"], True, config.data.num_segments)
    start = time.perf_counter()
    stored = offline_teacher_logits(config, teachers, train_set, distributed.Context())
    storing = time.perf_counter() - start
    offline = _epoch_seconds(config, teachers, "avg_kd", online=False, stored=stored, repeats=repeats)
    online = _epoch_seconds(config, teachers, "avg_kd", online=True, repeats=repeats)
    return {
        "ce_epoch_s": ce, "offline_kd_epoch_s": offline, "online_kd_epoch_s": online,
        "storing_teacher_logits_s": storing, "offline_ratio": offline / ce, "online_ratio": online / ce,
        "teachers": [f"{t.arch} ({t.representation})" for t in teachers], "train_videos": len(train_set),
    }
