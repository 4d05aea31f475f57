"""Training and distillation: one loop for a teacher, the student alone, and every KD method.

``train(config)`` builds the student from ``config.model``, the teachers from the run folders in
``config.distill.teachers``, the loss from ``config.distill.loss`` (``"ce"``: no teacher), and runs
the epochs, writing the run folder (:mod:`kdlab.engine.runs`). It resumes from ``last.pt`` after an
interruption and returns at once when the run is already complete.

Three parts of the data (:func:`kdlab.engine.loading.part_records`): the training list less
``data.val_share`` of each class's groups, which it trains on; those held-out groups, the
validation split, scored after every epoch (``val_top1`` in ``metrics.csv``; ``best.pt`` keeps the
best epoch); and the test list, read once, after the last epoch, for the last epoch's weights
(the run's result, ``test`` in ``summary.json``) and for the best validation epoch's
(``test_best``). Nothing is ever chosen by looking at the test list.

Teachers run *offline* by default: their logits on each training video (the test view: segment
centres, centre crop, ``data.test_segments`` segments) are computed once before the first epoch and looked up per batch, so a
distillation epoch costs about a cross-entropy epoch. ``distill.offline = false`` runs them on the
very same augmented batch as the student (needed by feature losses, FitNets and CA-MKD's
feature term).

Under ``torchrun --nproc_per_node=N`` the student is wrapped in DistributedDataParallel, each
process trains on its shard (DistributedSampler) and rank 0 alone writes files.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import RandomSampler
from torch.utils.data.distributed import DistributedSampler
from tqdm.auto import tqdm

from kdlab.data.dataset import EpochSampler
from kdlab.distill import Distiller
from kdlab.engine import distributed, io
from kdlab.engine.config import RunConfig
from kdlab.engine.evaluate import EvalData, predict, predict_many, protocol_name, teacher_test_logits
from kdlab.engine.loading import make_dataset, make_loader, part_records, progress_enabled
from kdlab.engine.metrics import classification_metrics
from kdlab.engine.profile import count_parameters, frame_flops
from kdlab.engine.runs import RunFolder, build_model
from kdlab.errors import ConfigError, RunError
from kdlab.losses import build_loss


def load_teachers(config: RunConfig, num_classes: int, device) -> tuple[list[torch.nn.Module], list[RunFolder]]:
    teachers, folders = [], []
    for path in config.distill.teachers:
        folder = RunFolder(path).require("teacher")
        teacher_classes = int(folder.checkpoint(config.distill.teacher_checkpoint)["num_classes"])
        if teacher_classes != num_classes:
            raise ConfigError(f"distill.teachers: {path} predicts {teacher_classes} classes, this dataset has {num_classes}")
        teachers.append(folder.load_model(config.distill.teacher_checkpoint, device))
        folders.append(folder)
    return teachers, folders


def learning_rate(config: RunConfig, epoch: int) -> float:
    """Linear warm-up over ``warmup_epochs``, then cosine decay to 0 (or constant)."""
    o = config.optim
    if epoch < o.warmup_epochs:
        return o.lr * (epoch + 1) / (o.warmup_epochs + 1)
    if o.schedule == "constant":
        return o.lr
    progress = (epoch - o.warmup_epochs) / max(1, o.epochs - o.warmup_epochs)
    return o.lr * 0.5 * (1 + math.cos(math.pi * progress))


def make_optimizer(config: RunConfig, distiller: Distiller) -> torch.optim.Optimizer:
    """Adam (CoViAR's eps and weight decay); a pretrained backbone learns at ``backbone_lr_mult``."""
    head = set(map(id, distiller.student.get_classifier().parameters()))
    backbone = [p for p in distiller.student.parameters() if id(p) not in head]
    others = [p for p in distiller.student.get_classifier().parameters()] + distiller.loss_module.student_parameters()
    o = config.optim
    groups = [
        {"params": backbone, "lr_mult": o.backbone_lr_mult if config.model.pretrained else 1.0},
        {"params": others, "lr_mult": 1.0},
    ]
    return torch.optim.Adam(groups, lr=o.lr, eps=o.eps, weight_decay=o.weight_decay)


def _to(inputs, device):
    if isinstance(inputs, dict):
        return {k: v.to(device, non_blocking=True) for k, v in inputs.items()}
    return inputs.to(device, non_blocking=True)


def train(config: RunConfig, force: bool = False) -> RunFolder:
    """Run (or resume) the training described by ``config``; returns its run folder.

    The main process holds the run folder's lock (:meth:`RunFolder.lock`) from start to end.
    """
    context = distributed.setup(config.device)
    try:
        if context.is_main:
            with RunFolder(config.run_dir).lock():
                return _train(config, context, force)
        return _train(config, context, force)
    finally:
        distributed.teardown(context)


def _train(config: RunConfig, context: distributed.Context, force: bool) -> RunFolder:
    run = RunFolder(config.run_dir)
    for path in config.distill.teachers if config.distill.loss != "ce" else []:
        RunFolder(path).require("teacher")  # fail before any data work
    if run.is_complete() and not force:
        if run.config().to_dict() != config.to_dict():
            raise RunError(f"{run.path}: already holds a finished run with another config; choose another out= or --force")
        if context.is_main:
            print(f"{run.path}: already complete (use --force to train again)")
        return run
    torch.manual_seed(config.seed)
    device = context.device
    show = progress_enabled(config, context)
    student_rep = config.model.representation
    online = config.distill.loss != "ce" and not config.distill.offline

    # -- data -------------------------------------------------------------------------------
    # the training list less its validation groups; the held-out groups pick the epoch; the test
    # list is read once, after the last epoch
    validating = bool(config.optim.val_every) and bool(part_records(config, "val"))

    def student_datasets():
        return (make_dataset(config, "train", [student_rep], True, config.data.num_segments),
                make_dataset(config, "val", [student_rep], False, config.data.num_segments) if validating else None,
                make_dataset(config, "test", [student_rep], False, config.data.test_segments, config.data.test_crops))

    parts = student_datasets() if context.is_main else None  # rank 0 builds the cache before the others read it
    distributed.barrier(context)
    train_set, val_set, test_set = parts or student_datasets()
    num_classes = len(train_set.classes)
    teachers, teacher_runs = load_teachers(config, num_classes, device) if config.distill.loss != "ce" else ([], [])
    representations = list(dict.fromkeys([student_rep] + ([t.representation for t in teachers] if online else [])))
    if representations != [student_rep]:
        train_set = make_dataset(config, "train", representations, True, config.data.num_segments)
    val_data = EvalData(val_set, config, context) if validating else None
    order = (DistributedSampler(train_set, context.world_size, context.rank, seed=config.seed) if context.distributed
             else RandomSampler(train_set, generator=torch.Generator()))  # reseeded per epoch from (seed, epoch)
    sampler = EpochSampler(order, config.seed)  # each index carries the epoch, so every worker draws that epoch's frames
    train_loader = make_loader(train_set, config, shuffle=False, sampler=sampler)

    # -- model, loss, optimiser, resume --------------------------------------------------------
    student = build_model(config, num_classes)
    loss_module = build_loss(config.distill.loss, **config.distill.loss_options)
    distiller = Distiller(student, teachers, loss_module, config.distill.ce_weight, config.distill.kd_weight).to(device)
    optimizer = make_optimizer(config, distiller)
    start_epoch, rows, best = 0, [], {"epoch": -1, "val_top1": -1.0}
    if run.last_checkpoint.exists() and not force:
        state = run.checkpoint("last")
        if state["config"] != config.to_dict():
            raise RunError(f"{run.path}: holds an unfinished run with another config; choose another out= or --force")
        distiller.student.load_state_dict(state["student"])
        distiller.loss_module.load_state_dict(state["loss_module"])
        optimizer.load_state_dict(state["optimizer"])
        start_epoch, best = int(state["epoch"]) + 1, dict(state["best"])
        # the epochs' rows travel in the checkpoint: one atomic write per epoch, metrics.csv rebuilt
        rows = [dict(r) for r in state["rows"]] if "rows" in state else [
            r for r in run.metrics() if int(r["epoch"]) < start_epoch]
        if context.is_main:
            io.write_csv(run.metrics_file, rows)
            print(f"{run.path}: resuming after epoch {start_epoch - 1}")
    elif context.is_main:
        run.path.mkdir(parents=True, exist_ok=True)
        io.write_text(run.config_file, config.to_json())
    model = DistributedDataParallel(distiller) if context.distributed else distiller

    # -- offline teachers: their logits on every training video, computed once -----------------
    stored = None
    if teachers and not online:
        stored = offline_teacher_logits(config, teachers, train_set, context)

    # -- epochs --------------------------------------------------------------------------------
    started = time.perf_counter()
    for epoch in range(start_epoch, config.optim.epochs):
        lr = learning_rate(config, epoch)
        for group in optimizer.param_groups:
            group["lr"] = lr * group["lr_mult"]
        sampler.set_epoch(epoch)
        torch.manual_seed(config.seed * 1000 + epoch)
        row = {"epoch": epoch, "lr": lr, **train_epoch(model, distiller, train_loader, optimizer, epoch, stored, config, context, show)}
        if validating and ((epoch + 1) % config.optim.val_every == 0 or epoch + 1 == config.optim.epochs):
            logits, labels, _ = predict(distiller.student, val_data, context, show, desc="val")
            if context.is_main:
                metrics = classification_metrics(logits, labels, num_classes)
                row.update(val_top1=metrics["top1"], val_top5=metrics["top5"])
        if context.is_main:
            rows.append(row)
            # the selected epoch: best on the validation groups (the first of equals), or the last without them
            improved = row.get("val_top1", -1.0) > best["val_top1"] if validating else True
            if improved:
                best = {"epoch": epoch, "val_top1": row.get("val_top1", -1.0)}
            checkpoint = {
                "student": distiller.student.state_dict(),
                "loss_module": distiller.loss_module.state_dict(),
                "num_classes": num_classes,
                "epoch": epoch,
                "config": config.to_dict(),
            }
            if improved:
                io.save_torch(run.best_checkpoint, checkpoint)
            io.save_torch(run.last_checkpoint, {**checkpoint, "optimizer": optimizer.state_dict(), "best": best,
                                                "rows": rows})
            io.write_csv(run.metrics_file, rows)
            if show:
                shown = {k: round(v, 4) for k, v in row.items() if isinstance(v, float)}
                tqdm.write(f"{run.name} epoch {epoch}: {shown}")
        distributed.barrier(context)
    train_seconds = time.perf_counter() - started
    best = distributed.broadcast_object(context, best if context.is_main else None)

    # -- the test list, once: the last epoch's student (the run's result, fixed in advance by the
    # schedule) and the epoch picked on the validation groups ---------------------------------
    test_data = EvalData(test_set, config, context)
    models = [distiller.student]
    if best["epoch"] != config.optim.epochs - 1:
        weights = distributed.broadcast_object(context, run.checkpoint("best")["student"] if context.is_main else None)
        models.append(build_model(config, num_classes).to(device))
        models[-1].load_state_dict(weights)
    tested, labels, ids = predict_many(models, test_data, context, show, desc="test")
    logits, best_logits = tested[0], tested[-1]
    teacher_logits = teacher_test_logits(config, teachers, teacher_runs, test_set, ids, context, show)
    val_arrays = validation_logits(config, models, context, show) if validating else {}
    if context.is_main and config.distill.loss == "pkd":  # the early exits' scores and costs (exits.npz), before
        from kdlab.engine.exits import evaluate_exits  # summary.json marks the run complete
        evaluate_exits(run, device=device)
    if context.is_main:
        sizes = {"train": len(train_set), "val": len(val_data.dataset) if val_data else 0, "test": len(test_set)}
        write_results(run, config, distiller.student, rows, best, logits, best_logits, labels, ids, test_set.classes,
                      teacher_logits, teacher_runs, train_seconds, sizes, val_arrays)
    distributed.barrier(context)
    return run


def train_epoch(model, distiller: Distiller, loader, optimizer, epoch: int, stored, config: RunConfig, context, show) -> dict:
    """One pass over the training data; returns the mean of each named loss and the train accuracy."""
    distiller.train()
    device = context.device
    sums: dict[str, float] = {}
    correct = seen = 0
    started = time.perf_counter()
    for inputs, labels, ids in tqdm(loader, desc=f"epoch {epoch}", leave=False, disable=not show):
        inputs = _to(inputs if isinstance(inputs, dict) else {config.model.representation: inputs}, device)
        labels = labels.to(device)
        teacher_logits = None
        if stored is not None:
            teacher_logits = torch.from_numpy(np.stack([stored[v] for v in ids], axis=1)).to(device)
        logits, losses = model(inputs, labels, epoch, teacher_logits)
        loss = sum(losses.values())
        if not torch.isfinite(loss):
            raise RunError(f"epoch {epoch}: the loss became {loss.item()} (lower optim.lr?)")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if config.optim.grad_clip:
            torch.nn.utils.clip_grad_norm_(distiller.learnable_parameters(), config.optim.grad_clip)
        optimizer.step()
        batch = len(labels)
        for name, value in losses.items():
            sums[name] = sums.get(name, 0.0) + float(value.detach()) * batch
        correct += int((logits.argmax(1) == labels).sum())
        seen += batch
    totals = distributed.gather_objects(context, (sums, correct, seen))
    seen_all = sum(t[2] for t in totals)
    out = {name: sum(t[0][name] for t in totals) / seen_all for name in sums}
    out["loss"] = sum(out.values())
    out["train_top1"] = 100 * sum(t[1] for t in totals) / seen_all
    out["epoch_seconds"] = time.perf_counter() - started
    return out


def offline_teacher_logits(config: RunConfig, teachers, train_set, context) -> dict[str, np.ndarray]:
    """``{video_id: (K, C) float32}``: each teacher's logits on each training video's test view
    (segment centres, centre crop, ``data.test_segments`` segments, as the teachers are tested)."""
    logits = []
    for teacher in teachers:
        view = make_dataset(config, "train", [teacher.representation], False, config.data.test_segments)
        out, _, ids = predict(teacher, EvalData(view, config, context), context, show=False, desc="teacher")
        logits.append(out)
    logits = distributed.broadcast_object(context, np.stack(logits, axis=1) if context.is_main else None)
    ids = distributed.broadcast_object(context, ids if context.is_main else None)
    return dict(zip(ids, logits.astype(np.float32)))


def validation_logits(config: RunConfig, models, context, show) -> dict[str, np.ndarray]:
    """The validation groups scored like the test list (``data.test_segments`` x ``data.test_crops``) by
    the reported epochs' students (``models``: the last epoch's, then the best one's when it differs):
    ``val_logits``, ``val_logits_best`` ``(N_val, C)``, ``val_labels``, ``val_video_ids``. What learned
    fusion (:mod:`kdlab.engine.learned_fusion`) fits on, so that the test list is never used to fit."""
    d = config.data
    view = make_dataset(config, "val", [config.model.representation], False, d.test_segments, d.test_crops)
    scored, labels, ids = predict_many(models, EvalData(view, config, context), context, show, desc="val (test protocol)")
    return dict(val_logits=scored[0], val_logits_best=scored[-1], val_labels=labels, val_video_ids=np.array(ids))


def write_results(run: RunFolder, config, student, rows, best, logits, best_logits, labels, ids, classes,
                  teacher_logits, teacher_runs, train_seconds, sizes, val_arrays=None) -> None:
    d = config.data
    teacher_names = [r.name for r in teacher_runs]
    arrays = dict(logits=logits, logits_best=best_logits, labels=labels, video_ids=np.array(ids),
                  classes=np.array(classes), teacher_names=np.array(teacher_names, dtype=str), **(val_arrays or {}))
    arrays["teacher_logits"] = teacher_logits if teacher_logits is not None else np.zeros((0, *logits.shape), np.float32)
    io.save_npz(run.predictions_file, **arrays)
    protocol = protocol_name(d.test_segments, d.test_crops)
    test = {**classification_metrics(logits, labels, len(classes)), "protocol": protocol, "epoch": config.optim.epochs - 1}
    test_best = {**classification_metrics(best_logits, labels, len(classes)), "protocol": protocol, "epoch": best["epoch"]}
    last = rows[-1] if rows else {}
    summary = {
        "complete": True,
        "name": config.name,
        "representation": config.model.representation,
        "arch": config.model.arch + (f" x{config.model.width_mult:g}" if config.model.width_mult else ""),
        "loss": config.distill.loss,
        "teachers": list(config.distill.teachers),
        "seed": config.seed,
        "epochs": config.optim.epochs,
        "best": best,
        "last": {"epoch": last.get("epoch"), "val_top1": last.get("val_top1")},
        "selection": ("test: the last epoch; test_best: the epoch with the best validation top-1"
                      if best.get("val_top1", -1) >= 0 else "test: the last epoch; no validation split (test_best is the same)"),
        "validation_protocol": protocol_name(d.num_segments, 1),
        "videos": sizes,
        "test": test,
        "test_best": test_best,
        "params": count_parameters(student),
        "flops_per_frame": frame_flops(student, config.model.representation, d.size),
        "train_seconds": train_seconds,
        "mean_epoch_seconds": float(np.mean([r["epoch_seconds"] for r in rows])) if rows else None,
    }
    io.write_json(run.summary_file, summary)
