"""Training and distillation: one loop for a teacher, the student alone, and every KD method.

``train(config)`` runs a :class:`Trainer`, the object that holds a run's state: its config, the
distributed context, the run folder, the data plan (:class:`~kdlab.engine.loading.DataPlan`: each
dataset built once), the distiller (the student from ``config.model``, the teachers from the run
folders in ``config.distill.teachers``, the loss from ``config.distill.loss``; ``"ce"``: no
teacher), the optimiser and the epoch records. Its verbs: :meth:`~Trainer.open` (or resume from
``last.pt`` after an interruption; a complete run is left as it is), :meth:`~Trainer.fit`,
:meth:`~Trainer.test` and :meth:`~Trainer.write` (the run folder, :mod:`kdlab.engine.records`).

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

Mixed precision (``optim.amp``), channels-last, pinned memory and ``torch.compile``: see
:mod:`kdlab.engine.accel`.

Under ``torchrun --nproc_per_node=N`` the student is wrapped in DistributedDataParallel, each
process trains on its shard (DistributedSampler) and rank 0 alone writes files.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import RandomSampler
from torch.utils.data.distributed import DistributedSampler
from tqdm.auto import tqdm

from kdlab.data.dataset import EpochSampler
from kdlab.distill import Distiller
from kdlab.engine import accel, distributed, io
from kdlab.engine.config import RunConfig
from kdlab.engine.evaluate import EvalData, predict, predict_many, protocol_name
from kdlab.engine.loading import DataPlan, make_loader, progress_enabled
from kdlab.engine.metrics import classification_metrics
from kdlab.engine.profile import count_parameters, frame_flops
from kdlab.engine.records import Predictions, Summary, alignment
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
    return accel.to_device(inputs, device)


def train(config: RunConfig, force: bool = False) -> RunFolder:
    """Run (or resume) the training described by ``config``; returns its run folder.

    The main process holds the run folder's lock (:meth:`RunFolder.lock`) from start to end.
    """
    context = distributed.setup(config.device)
    try:
        trainer = Trainer(config, context)
        if context.is_main:
            with trainer.run.lock():
                return trainer.complete(force)
        return trainer.complete(force)
    finally:
        distributed.teardown(context)


@dataclass
class Tested:
    """What :meth:`Trainer.test` read on the test list: the last epoch's logits ``(N, C)``, the selected
    epoch's, the labels ``(N,)``, the video ids and the teachers' logits ``(K, N, C)`` (None without)."""

    logits: np.ndarray
    best_logits: np.ndarray
    labels: np.ndarray
    ids: list[str]
    teacher_logits: np.ndarray | None
    validation: dict[str, np.ndarray] | None = None  # the validation groups under the test protocol (:meth:`Trainer.validation_logits`)


class Trainer:
    """One run's training, with its state: config, distributed context, run folder, data plan, distiller,
    optimiser and epoch records (``rows``, ``best``).

    >>> trainer = Trainer(config)                                   # doctest: +SKIP
    >>> if trainer.open():                                          # doctest: +SKIP
    ...     trainer.fit()
    ...     trainer.write(trainer.test())

    ``teachers``: teacher networks to use instead of the run folders of ``config.distill.teachers``
    (``kdlab bench distill`` times random ones); a run trained with them is not written.
    """

    def __init__(self, config: RunConfig, context: distributed.Context | None = None, teachers=None):
        self.config = config
        self.context = context or distributed.Context()
        self.run = RunFolder(config.run_dir)
        self.data = DataPlan(config)
        self.show = progress_enabled(config, self.context)
        self.given_teachers = teachers
        self.teachers: list[torch.nn.Module] = []
        self.teacher_runs: list[RunFolder] = []
        self.distiller: Distiller | None = None
        self.optimizer: torch.optim.Optimizer | None = None
        self.stored: dict[str, np.ndarray] | None = None  # offline teachers' logits per training video
        self.rows: list[dict] = []
        self.best = {"epoch": -1, "val_top1": -1.0}
        self.start_epoch = 0
        self.train_seconds = 0.0
        self._sets = None

    # -- the verbs ---------------------------------------------------------------------------------

    def complete(self, force: bool = False) -> RunFolder:
        """open, fit, test, write: the whole run (a complete one is left as it is)."""
        if self.open(force):
            self.fit()
            tested = self.test()
            if self.context.is_main:
                self.write(tested)
            distributed.barrier(self.context)
        return self.run

    def open(self, force: bool = False) -> bool:
        """Build the data, the distiller and the optimiser, resuming from ``last.pt`` (or starting the run
        folder); False, with nothing built, when the run is complete (unless ``force``)."""
        config = self.config
        distilling = config.distill.loss != "ce"
        for path in config.distill.teachers if distilling and self.given_teachers is None else []:
            RunFolder(path).require("teacher")  # fail before any data work
        if self.run.is_complete() and not force:
            if self.run.config().to_dict() != config.to_dict():
                raise RunError(f"{self.run.path}: already holds a finished run with another config; choose another out= or --force")
            if self.context.is_main:
                print(f"{self.run.path}: already complete (use --force to train again)")
            return False
        torch.manual_seed(config.seed)
        self.build()
        if self.given_teachers is None:
            self._resume(force)
        return True

    def build(self) -> None:
        """The datasets (rank 0 builds the cache before the others read it), the teachers, the distiller, the
        optimiser, and the offline teachers' logits on every training video."""
        config, context = self.config, self.context
        if context.is_main:
            self._datasets()
        distributed.barrier(context)
        train_set, val_set, test_set = self._datasets()
        self.num_classes = num_classes = len(train_set.classes)
        if self.given_teachers is not None:
            self.teachers = list(self.given_teachers) if config.distill.loss != "ce" else []
        elif config.distill.loss != "ce":
            self.teachers, self.teacher_runs = load_teachers(config, num_classes, context.device)
        self.val_data = EvalData(val_set, config, context) if val_set is not None else None
        order = (DistributedSampler(train_set, context.world_size, context.rank, seed=config.seed) if context.distributed
                 else RandomSampler(train_set, generator=torch.Generator()))  # reseeded per epoch from (seed, epoch)
        self.sampler = EpochSampler(order, config.seed)  # each index carries the epoch: every worker draws that epoch's frames
        self.train_loader = make_loader(train_set, config, shuffle=False, sampler=self.sampler)
        student = build_model(config, num_classes)
        for net in [student, *self.teachers]:  # NHWC weights, compiled (each off by default)
            accel.prepare_model(net, config.model.channels_last, config.model.compile)
        loss_module = build_loss(config.distill.loss, **config.distill.loss_options)
        self.distiller = Distiller(student, self.teachers, loss_module, config.distill.ce_weight,
                                   config.distill.kd_weight).to(context.device)
        self.optimizer = make_optimizer(config, self.distiller)
        self.model = DistributedDataParallel(self.distiller) if context.distributed else self.distiller

    def fit(self) -> None:
        """The epochs from :attr:`start_epoch`: train, validate, record (checkpoints and ``metrics.csv``)."""
        config = self.config
        if self.teachers and config.distill.offline and self.stored is None:
            self.stored = self.teacher_logits_on_training_videos()
        started = time.perf_counter()
        for epoch in range(self.start_epoch, config.optim.epochs):
            lr = learning_rate(config, epoch)
            for group in self.optimizer.param_groups:
                group["lr"] = lr * group["lr_mult"]
            self.sampler.set_epoch(epoch)
            torch.manual_seed(config.seed * 1000 + epoch)
            row = {"epoch": epoch, "lr": lr, **self.train_epoch(epoch)}
            last = epoch + 1 == config.optim.epochs
            if self.val_data is not None and ((epoch + 1) % config.optim.val_every == 0 or last):
                row.update(self.validate())
            if self.context.is_main:
                self._record(epoch, row)
            distributed.barrier(self.context)
        self.train_seconds = time.perf_counter() - started
        self.best = distributed.broadcast_object(self.context, self.best if self.context.is_main else None)

    def test(self) -> Tested:
        """The test list, once: the last epoch's student (the run's result, fixed in advance by the schedule)
        and the epoch picked on the validation groups; the teachers' logits on the same videos."""
        config, context = self.config, self.context
        d = config.data
        test_set = self.data.dataset("test", [config.model.representation], False, d.test_segments, d.test_crops)
        models = [self.distiller.student]
        if self.best["epoch"] != config.optim.epochs - 1:
            weights = distributed.broadcast_object(context, self.run.checkpoint("best")["student"] if context.is_main else None)
            best_net = build_model(config, len(test_set.classes), pretrained=False)  # the best epoch's weights replace them
            models.append(accel.prepare_model(best_net, config.model.channels_last, config.model.compile).to(context.device))
            models[-1].load_state_dict(weights)
        tested, labels, ids = predict_many(models, EvalData(test_set, config, context), context, self.show, desc="test")
        validation = self.validation_logits(models) if self.val_data is not None else None
        return Tested(tested[0], tested[-1], labels, ids, self.teacher_test_logits(ids), validation)

    def validation_logits(self, models: list[torch.nn.Module]) -> dict[str, np.ndarray]:
        """The validation groups scored like the test list (``data.test_segments`` x ``data.test_crops``) by
        the reported epochs' students (``models``: the last epoch's, then the best one's when it differs):
        ``val_logits``, ``val_logits_best`` ``(N_val, C)``, ``val_labels``, ``val_video_ids``. What learned
        fusion (:mod:`kdlab.engine.learned_fusion`) fits on, so that the test list is never used to fit."""
        d = self.config.data
        view = self.data.dataset("val", [self.config.model.representation], False, d.test_segments, d.test_crops)
        scored, labels, ids = predict_many(models, EvalData(view, self.config, self.context), self.context, self.show,
                                           desc="val (test protocol)")
        return dict(val_logits=scored[0], val_logits_best=scored[-1], val_labels=labels, val_video_ids=np.array(ids))

    def write(self, tested: Tested) -> None:
        """``predictions.npz`` and ``summary.json`` (:mod:`kdlab.engine.records`); the main process only."""
        config, d = self.config, self.config.data
        classes = self._datasets()[2].classes
        Predictions(tested.logits, tested.labels, tested.ids, classes, tested.best_logits, tested.teacher_logits,
                    [r.name for r in self.teacher_runs], **(tested.validation or {})).write(self.run.predictions_file)
        if config.distill.loss == "pkd":  # the early exits' scores and costs (exits.npz), before summary.json
            from kdlab.engine.exits import evaluate_exits  # marks the run complete

            evaluate_exits(self.run, device=self.context.device)
        protocol = protocol_name(d.test_segments, d.test_crops)

        def score(logits: np.ndarray, epoch: int) -> dict:
            return {**classification_metrics(logits, tested.labels, len(classes)), "protocol": protocol, "epoch": epoch}

        self.summary(score(tested.logits, config.optim.epochs - 1), score(tested.best_logits, self.best["epoch"])).write(
            self.run.summary_file)

    # -- the parts ---------------------------------------------------------------------------------

    def summary(self, test: dict, test_best: dict) -> Summary:
        """The run's :class:`Summary` with its test scores: the last epoch's and the selected epoch's."""
        config, d, rows, best = self.config, self.config.data, self.rows, self.best
        student, last = self.distiller.student, self.rows[-1] if self.rows else {}
        train_set, val_set, test_set = self._datasets()
        return Summary(
            name=config.name, representation=config.model.representation,
            arch=config.model.arch + (f" x{config.model.width_mult:g}" if config.model.width_mult else ""),
            loss=config.distill.loss, teachers=list(config.distill.teachers), seed=config.seed,
            epochs=config.optim.epochs, best=best, last={"epoch": last.get("epoch"), "val_top1": last.get("val_top1")},
            selection=("test: the last epoch; test_best: the epoch with the best validation top-1" if best.get("val_top1", -1) >= 0
                       else "test: the last epoch; no validation split (test_best is the same)"),
            validation_protocol=protocol_name(d.num_segments, 1),
            videos={"train": len(train_set), "val": len(val_set) if val_set is not None else 0, "test": len(test_set)},
            test=test, test_best=test_best, params=count_parameters(student), flops_per_frame=frame_flops(student, config.model.representation, d.size),
            train_seconds=self.train_seconds,
            mean_epoch_seconds=float(np.mean([r["epoch_seconds"] for r in rows])) if rows else None,
        )

    def _datasets(self):
        """The student's training, validation (None without validation groups) and test sets."""
        if self._sets is None:
            self._sets = self._student_datasets()
        return self._sets

    def _student_datasets(self):
        config, d = self.config, self.config.data
        online = config.distill.loss != "ce" and not config.distill.offline
        teacher_reps = [self._teacher_representation(i) for i in range(len(config.distill.teachers))] if online else []
        representations = list(dict.fromkeys([config.model.representation, *teacher_reps]))
        validating = bool(config.optim.val_every) and self.data.has("val")
        return (self.data.dataset("train", representations, True, d.num_segments),
                self.data.dataset("val", [config.model.representation], False, d.num_segments) if validating else None,
                self.data.dataset("test", [config.model.representation], False, d.test_segments, d.test_crops))

    def _teacher_representation(self, i: int) -> str:
        if self.given_teachers is not None:
            return self.given_teachers[i].representation
        return RunFolder(self.config.distill.teachers[i]).config().model.representation

    def _resume(self, force: bool) -> None:
        """Continue from ``last.pt`` (same config only), or start the run folder with ``config.json``."""
        run, config = self.run, self.config
        if run.last_checkpoint.exists() and not force:
            state = run.checkpoint("last")
            if state["config"] != config.to_dict():
                raise RunError(f"{run.path}: holds an unfinished run with another config; choose another out= or --force")
            self.distiller.student.load_state_dict(state["student"])
            self.distiller.loss_module.load_state_dict(state["loss_module"])
            self.optimizer.load_state_dict(state["optimizer"])
            if "scaler" in state:  # fp16's loss scale carries over
                self._scaler().load_state_dict(state["scaler"])
            self.start_epoch, self.best = int(state["epoch"]) + 1, dict(state["best"])
            # the epochs' rows travel in the checkpoint: one atomic write per epoch, metrics.csv rebuilt
            self.rows = [dict(r) for r in state["rows"]] if "rows" in state else [
                r for r in run.metrics() if int(r["epoch"]) < self.start_epoch]
            if self.context.is_main:
                io.write_csv(run.metrics_file, self.rows)
                print(f"{run.path}: resuming after epoch {self.start_epoch - 1}")
        elif self.context.is_main:
            run.path.mkdir(parents=True, exist_ok=True)
            io.write_text(run.config_file, config.to_json())

    def train_epoch(self, epoch: int) -> dict:
        """One pass over the training data; returns the mean of each named loss and the train accuracy."""
        config, context, distiller = self.config, self.context, self.distiller
        distiller.train()
        scaler = self._scaler()  # fp16 only
        sums: dict[str, float] = {}
        correct = seen = 0
        started = time.perf_counter()
        for inputs, labels, ids in tqdm(self.train_loader, desc=f"epoch {epoch}", leave=False, disable=not self.show):
            inputs = _to(inputs if isinstance(inputs, dict) else {config.model.representation: inputs}, context.device)
            labels = labels.to(context.device, non_blocking=True)
            teacher_logits = None
            if self.stored is not None:
                teacher_logits = torch.from_numpy(np.stack([self.stored[v] for v in ids], axis=1)).to(context.device)
            with accel.autocast(context.device, config.optim.amp):
                logits, losses = self.model(inputs, labels, epoch, teacher_logits)
            loss = sum(losses.values())
            if not torch.isfinite(loss):
                raise RunError(f"epoch {epoch}: the loss became {loss.item()} (lower optim.lr?)")
            accel.backward_step(loss, self.optimizer, distiller.learnable_parameters(), config.optim.grad_clip, scaler)
            for name, value in losses.items():
                sums[name] = sums.get(name, 0.0) + float(value.detach()) * len(labels)
            correct += int((logits.argmax(1) == labels).sum())
            seen += len(labels)
        return self._epoch_means(sums, correct, seen, time.perf_counter() - started)

    def _scaler(self):
        """fp16's gradient scaler (one per optimiser, :func:`kdlab.engine.accel.grad_scaler`); None otherwise."""
        return accel.grad_scaler(self.optimizer, self.context.device, self.config.optim.amp)

    def _epoch_means(self, sums: dict, correct: int, seen: int, seconds: float) -> dict:
        """Every process's sums gathered: the mean of each loss, their total, the train top-1, the seconds."""
        totals = distributed.gather_objects(self.context, (sums, correct, seen))
        seen_all = sum(t[2] for t in totals)
        out = {name: sum(t[0][name] for t in totals) / seen_all for name in sums}
        out["loss"] = sum(out.values())
        out["train_top1"] = 100 * sum(t[1] for t in totals) / seen_all
        out["epoch_seconds"] = seconds
        return out

    def validate(self) -> dict:
        """``val_top1`` and ``val_top5`` of the student on the validation groups (main process; ``{}`` elsewhere)."""
        logits, labels, _ = predict(self.distiller.student, self.val_data, self.context, self.show, desc="val")
        if not self.context.is_main:
            return {}
        metrics = classification_metrics(logits, labels, len(self.val_data.dataset.classes))
        return {"val_top1": metrics["top1"], "val_top5": metrics["top5"]}

    def _record(self, epoch: int, row: dict) -> None:
        """The epoch's row; ``best.pt`` when it is the selected epoch so far; ``last.pt``; ``metrics.csv``."""
        self.rows.append(row)
        # the selected epoch: best on the validation groups (the first of equals), or the last without them
        improved = row.get("val_top1", -1.0) > self.best["val_top1"] if self.val_data is not None else True
        if improved:
            self.best = {"epoch": epoch, "val_top1": row.get("val_top1", -1.0)}
        checkpoint = {
            "student": self.distiller.student.state_dict(),
            "loss_module": self.distiller.loss_module.state_dict(),
            "num_classes": self.num_classes,
            "epoch": epoch,
            "config": self.config.to_dict(),
        }
        if improved:
            io.save_torch(self.run.best_checkpoint, checkpoint)
        scaler = self._scaler()
        io.save_torch(self.run.last_checkpoint, {**checkpoint, "optimizer": self.optimizer.state_dict(), "best": self.best,
                                                 "rows": self.rows, **({"scaler": scaler.state_dict()} if scaler else {})})
        io.write_csv(self.run.metrics_file, self.rows)
        if self.show:
            shown = {k: round(v, 4) for k, v in row.items() if isinstance(v, float)}
            tqdm.write(f"{self.run.name} epoch {epoch}: {shown}")

    def teacher_logits_on_training_videos(self) -> dict[str, np.ndarray]:
        """``{video_id: (K, C) float32}``: each teacher's logits on each training video's test view
        (segment centres, centre crop, ``data.test_segments`` segments, as the teachers are tested)."""
        logits = []
        for teacher in self.teachers:
            view = self.data.dataset("train", [teacher.representation], False, self.config.data.test_segments)
            out, _, ids = predict(teacher, EvalData(view, self.config, self.context), self.context, show=False, desc="teacher")
            logits.append(out)
        logits = distributed.broadcast_object(self.context, np.stack(logits, axis=1) if self.context.is_main else None)
        ids = distributed.broadcast_object(self.context, ids if self.context.is_main else None)
        return dict(zip(ids, logits.astype(np.float32)))

    def teacher_test_logits(self, ids: list[str]) -> np.ndarray | None:
        """``(K, N, C)`` teachers' logits on the test videos ``ids`` under this run's test protocol.

        A teacher run's own ``predictions.npz`` is reused when it was made with the same protocol (its last
        epoch's logits, or the epoch picked on validation's: ``distill.teacher_checkpoint``).
        """
        if not self.teachers:
            return None
        d, which = self.config.data, self.config.distill.teacher_checkpoint
        protocol = protocol_name(d.test_segments, d.test_crops)
        out = []
        for teacher, run in zip(self.teachers, self.teacher_runs):
            summary = run.summary()
            if summary is not None and summary.test.get("protocol") == protocol and run.predictions_file.exists():
                saved = run.predictions()
                if (which == "last" or saved.logits_best is not None) and set(ids) <= set(saved.ids):
                    out.append(saved.aligned(ids, which))
                    continue
            view = self.data.dataset("test", [teacher.representation], False, d.test_segments, d.test_crops)
            logits, _, view_ids = predict(teacher, EvalData(view, self.config, self.context), self.context, self.show,
                                          desc=f"teacher {run.name}")
            out.append(logits[alignment(view_ids, ids, f"teacher {run.name}'s test list and this run's")])
        return np.stack(out).astype(np.float32)
