"""Cross-entropy and Hinton's knowledge distillation.

Hinton, Vinyals, Dean, "Distilling the Knowledge in a Neural Network", NIPS DL workshop 2014::

    p_t = softmax(z_t / T),  p_s = softmax(z_s / T)            (per sample, over the C classes)
    KD(z_s, z_t) = T^2 * mean_b  sum_c p_t[b, c] * (log p_t[b, c] - log p_s[b, c])

i.e. ``KL(p_t || p_s) * T^2`` with ``batchmean`` reduction, as mdistiller's ``kd_loss``. The ``T^2``
keeps the gradient's magnitude independent of T. Shapes: ``z_s``, ``z_t`` ``(B, C)``.

Usage::

    loss = kd_loss(student_logits, teacher_logits, temperature=4.0)
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from kdlab.errors import ConfigError
from kdlab.losses.base import DistillLoss, FeatureInputs, stack_teachers


def cross_entropy(logits: Tensor, target: Tensor) -> Tensor:
    """Mean cross-entropy of ``(B, C)`` logits against ``(B,)`` class indices."""
    return F.cross_entropy(logits, target)


def soft_targets(logits: Tensor, temperature: float) -> Tensor:
    """Hinton's soft targets ``softmax(z / T)`` over the last axis: ``(..., C) -> (..., C)``.

    T = 1 is the model's own distribution; a higher T flattens it, so that the small probabilities
    (how the model ranks the wrong classes, Hinton's "dark knowledge") weigh in the loss; as T grows
    the targets tend to uniform. :func:`kd_per_sample` is ``T^2 * KL`` between two of them.
    """
    return F.softmax(logits / temperature, dim=-1)


def kd_per_sample(logits_student: Tensor, logits_teacher: Tensor, temperature: float) -> Tensor:
    """``T^2 * KL(softmax(z_t/T) || softmax(z_s/T))`` per sample: ``(B, C), (B, C) -> (B,)``."""
    log_p_s = F.log_softmax(logits_student / temperature, dim=-1)
    log_p_t = F.log_softmax(logits_teacher / temperature, dim=-1)
    return (log_p_t.exp() * (log_p_t - log_p_s)).sum(-1) * temperature**2


def kd_loss(logits_student: Tensor, logits_teacher: Tensor, temperature: float = 4.0) -> Tensor:
    """Hinton KD, batch mean: ``(B, C), (B, C) -> ()``; see the module docstring."""
    return kd_per_sample(logits_student, logits_teacher, temperature).mean()


class CrossEntropyOnly(DistillLoss):
    """No distillation: the student learns from the labels alone (the Distiller adds ``loss_ce``)."""

    uses_teachers = False

    def forward(
        self,
        logits_student: Tensor,
        logits_teachers: Tensor,
        target: Tensor,
        epoch: int = 0,
        features: FeatureInputs | None = None,
    ) -> dict[str, Tensor]:
        return {}


class KD(DistillLoss):
    """Hinton KD from exactly one teacher: ``{"loss_kd": kd_loss(z_s, z_t, T)}``."""

    def __init__(self, temperature: float = 4.0):
        super().__init__()
        self.temperature = temperature

    def forward(
        self,
        logits_student: Tensor,
        logits_teachers: Tensor,
        target: Tensor,
        epoch: int = 0,
        features: FeatureInputs | None = None,
    ) -> dict[str, Tensor]:
        z_t = stack_teachers(logits_teachers)
        if z_t.shape[0] != 1:
            raise ConfigError(
                f"loss 'kd' takes exactly one teacher, got {z_t.shape[0]}; for several teachers use"
                " avg_kd, kd_to_avg, weighted_kd, ebkd, camkd, aekd or dkd"
            )
        return {"loss_kd": kd_loss(logits_student, z_t[0], self.temperature)}
