"""The distiller: one student, K frozen teachers, one loss module (mdistiller's contract).

Usage::

    student = create_model("resnet18_tiny", "iframe", num_classes=10)
    teachers = [create_model("resnet152_tiny", "iframe", num_classes=10),
                create_model("resnet18_tiny", "mv", num_classes=10)]   # trained, loaded
    distiller = Distiller(student, teachers, build_loss("avg_kd"), ce_weight=1.0, kd_weight=1.0)
    optimizer = torch.optim.Adam(distiller.learnable_parameters())
    distiller.train()                       # teachers stay in eval mode
    logits, losses = distiller.forward_train(inputs, target, epoch=epoch)
    sum(losses.values()).backward()

``inputs`` is ``{representation: (B, T, C, H, W)}``; the student and every teacher read
``inputs[model.representation]``, so an I-frame student can learn from MV and residual teachers.

``losses`` holds ``loss_ce = ce_weight * CE(z_s, y)``, ``loss_kd = kd_weight * L_kd`` for logit
methods and ``loss_feat`` (weighted inside the loss module) for feature methods; the trainer sums them.
``loss="ce"`` (no KD) gives ``{"loss_ce"}`` only and never runs the teachers.

Offline distillation: ``teacher_logits`` ``(K, B, C)`` precomputed with the teachers in eval mode
replace the teachers' forward pass; feature losses then raise :class:`ConfigError`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import Tensor, nn

from kdlab.errors import ConfigError
from kdlab.losses.base import DistillLoss, FeatureInputs
from kdlab.losses.kd import CrossEntropyOnly, cross_entropy


def _select(inputs: Mapping[str, Tensor], model: nn.Module, role: str) -> Tensor:
    rep = model.representation
    if rep not in inputs:
        raise ConfigError(
            f"the {role} {getattr(model, 'arch', '') or type(model).__name__} reads representation {rep!r},"
            f" but the batch holds only {sorted(inputs)}; load {rep!r} in the data set"
        )
    return inputs[rep]


def _num_segments(x: Tensor) -> int:
    return x.shape[1] if x.dim() == 5 else 1


class Distiller(nn.Module):
    """Student + frozen teachers + loss module.

    Args:
        student: a kdlab model (``forward_features`` / ``forward_head``, ``representation``).
        teachers: K kdlab models; frozen (``requires_grad=False``) and always in eval mode. May be empty
            for ``loss="ce"`` or when teacher logits are always given (offline).
        loss_module: a :class:`~kdlab.losses.base.DistillLoss` (default: ``ce``, the student alone).
        ce_weight: weight of the cross-entropy with the labels.
        kd_weight: weight of the loss module's ``loss_kd`` term.
    """

    def __init__(
        self,
        student: nn.Module,
        teachers: Sequence[nn.Module] = (),
        loss_module: DistillLoss | None = None,
        ce_weight: float = 1.0,
        kd_weight: float = 1.0,
    ):
        super().__init__()
        self.student = student
        self.teachers = nn.ModuleList(teachers)
        self.teachers.requires_grad_(False)
        self.loss_module = loss_module if loss_module is not None else CrossEntropyOnly()
        self.loss_module.setup(student, list(self.teachers))
        self.ce_weight = ce_weight
        self.kd_weight = kd_weight
        self.train()

    def train(self, mode: bool = True) -> Distiller:
        """Set the student and connectors to ``mode``; the teachers always stay in eval mode."""
        super().train(mode)
        self.teachers.eval()
        return self

    def learnable_parameters(self) -> list[nn.Parameter]:
        """The student's and the loss module's (connectors') parameters; never the teachers'."""
        return list(self.student.parameters()) + self.loss_module.student_parameters()

    def _run_teachers(self, inputs: Mapping[str, Tensor], with_features: bool) -> tuple[Tensor, list[Tensor]]:
        if not self.teachers:
            raise ConfigError(
                f"loss {type(self.loss_module).__name__} needs teachers:"
                " pass teacher models or precomputed teacher_logits"
            )
        logits, feats = [], []
        with torch.no_grad():
            for teacher in self.teachers:
                x = _select(inputs, teacher, "teacher")
                f = teacher.forward_features(x)
                logits.append(teacher.forward_head(f, _num_segments(x)))
                if with_features:
                    feats.append(f)
        return torch.stack(logits), feats

    def forward_train(
        self,
        inputs: Mapping[str, Tensor],
        target: Tensor,
        epoch: int = 0,
        teacher_logits: Tensor | None = None,
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """One training forward pass.

        Args:
            inputs: ``{representation: (B, T, C, H, W)}``.
            target: ``(B,)`` class indices.
            epoch: 0-based epoch (DKD's warm-up reads it).
            teacher_logits: ``(K, B, C)`` precomputed teacher logits (offline); the teachers are then not run.

        Returns:
            student logits ``(B, C)`` and ``{"loss_ce": ..., "loss_kd": ..., "loss_feat": ...}`` (scalars).
        """
        loss = self.loss_module
        x = _select(inputs, self.student, "student")
        feat_s = self.student.forward_features(x)
        # float32 logits: under autocast the losses' softmaxes then run in float32 (a no-op without it)
        logits = self.student.forward_head(feat_s, _num_segments(x)).float()
        losses = {"loss_ce": self.ce_weight * cross_entropy(logits, target)}
        if not loss.uses_teachers:  # no teacher is run; a loss may still add terms of its own (PKD's exits)
            losses.update(loss(logits, None, target, epoch=epoch))
            return logits, losses

        features = None
        if teacher_logits is not None:
            if loss.needs_features:
                raise ConfigError(
                    f"loss {type(loss).__name__} uses the teachers' feature maps, so it needs online teachers;"
                    " set offline=false"
                )
            z_t = teacher_logits.to(logits)
            if z_t.dim() != 3 or z_t.shape[1:] != logits.shape:
                raise ConfigError(
                    f"teacher_logits must be (K, {logits.shape[0]}, {logits.shape[1]}), got {tuple(z_t.shape)}"
                )
        else:
            z_t, feats_t = self._run_teachers(inputs, loss.needs_features)
            if loss.needs_features:
                heads = [t.forward_head for t in self.teachers]
                features = FeatureInputs(feat_s, feats_t, heads, _num_segments(x))
        if loss.meta_learns and self.training:
            loss.meta_step(self.student, x, logits.detach(), z_t, target, epoch)

        for name, value in loss(logits, z_t, target, epoch=epoch, features=features).items():
            losses[name] = self.kd_weight * value if name == "loss_kd" else value
        return logits, losses

    def forward_test(self, inputs: Mapping[str, Tensor]) -> Tensor:
        """Student logits ``(B, C)`` for ``{representation: (B, T, C, H, W)}``."""
        return self.student(_select(inputs, self.student, "student"))

    def forward(
        self,
        inputs: Mapping[str, Tensor],
        target: Tensor | None = None,
        epoch: int = 0,
        teacher_logits: Tensor | None = None,
    ) -> tuple[Tensor, dict[str, Tensor]] | Tensor:
        """``forward_train`` in training mode (needs ``target``), ``forward_test`` in eval mode."""
        if self.training:
            if target is None:
                raise ValueError("Distiller.forward in training mode needs the target")
            return self.forward_train(inputs, target, epoch, teacher_logits)
        return self.forward_test(inputs)
