"""Decoupled knowledge distillation (DKD), per teacher, averaged over teachers.

Zhao, Cui, Song, Qiu, Liang, "Decoupled Knowledge Distillation", CVPR 2022; as mdistiller's ``dkd.py``.
For sample b with label y, ``p = softmax(z / T)``::

    b = (p_y, 1 - p_y)                                  binary target / non-target probabilities
    p_hat = softmax over the classes c != y of z_c / T  (distribution among the non-target classes)
    TCKD = T^2 * mean_b KL(b_teacher || b_student)
    NCKD = T^2 * mean_b KL(p_hat_teacher || p_hat_student)
    DKD  = alpha * TCKD + beta * NCKD                   (alpha 1, beta 8, T 4)

Several teachers: the mean of the per-teacher DKD losses. Warm-up (mdistiller): the loss is scaled
by ``min(epoch / warmup, 1)`` with mdistiller's epochs counted from 1; kdlab's ``epoch`` counts from 0,
so the factor is ``min((epoch + 1) / warmup, 1)`` (warmup 20).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from kdlab.losses.base import DistillLoss, FeatureInputs, stack_teachers


def _binary_kl(p_t: Tensor, p_s: Tensor) -> Tensor:
    """``KL((p_t, 1-p_t) || (p_s, 1-p_s))`` per sample, ``(B,) -> (B,)``."""
    q_t = torch.stack([p_t, 1.0 - p_t], dim=-1).clamp_min(1e-30)
    q_s = torch.stack([p_s, 1.0 - p_s], dim=-1).clamp_min(1e-30)
    return (q_t * (q_t.log() - q_s.log())).sum(-1)


def dkd_loss(
    logits_student: Tensor,
    logits_teacher: Tensor,
    target: Tensor,
    alpha: float = 1.0,
    beta: float = 8.0,
    temperature: float = 4.0,
) -> Tensor:
    """DKD for one teacher: ``(B, C), (B, C), (B,) -> ()``; see the module docstring."""
    gt = F.one_hot(target, logits_student.shape[-1]).bool()
    p_s = F.softmax(logits_student / temperature, dim=-1)[gt]
    p_t = F.softmax(logits_teacher / temperature, dim=-1)[gt]
    tckd = _binary_kl(p_t, p_s).mean()
    # non-target distribution: drop the target class from the softmax
    masked_s = (logits_student / temperature).masked_fill(gt, float("-inf"))
    masked_t = (logits_teacher / temperature).masked_fill(gt, float("-inf"))
    log_q_s = F.log_softmax(masked_s, dim=-1).masked_fill(gt, 0.0)
    log_q_t = F.log_softmax(masked_t, dim=-1).masked_fill(gt, 0.0)
    nckd = (log_q_t.exp() * (log_q_t - log_q_s)).sum(-1).mean()
    return (alpha * tckd + beta * nckd) * temperature**2


def multi_dkd_loss(
    logits_student: Tensor,
    logits_teachers: Tensor | Sequence[Tensor],
    target: Tensor,
    alpha: float = 1.0,
    beta: float = 8.0,
    temperature: float = 4.0,
) -> Tensor:
    """Mean over the K teachers of :func:`dkd_loss`: ``(B, C), (K, B, C), (B,) -> ()``."""
    z_t = stack_teachers(logits_teachers)
    return torch.stack([dkd_loss(logits_student, z, target, alpha, beta, temperature) for z in z_t]).mean()


def warmup_factor(epoch: int, warmup: int) -> float:
    """``min((epoch + 1) / warmup, 1)`` for a 0-based ``epoch`` (mdistiller's ``min(epoch / warmup, 1)``, 1-based)."""
    return min((epoch + 1) / warmup, 1.0) if warmup > 0 else 1.0


class DKD(DistillLoss):
    """``{"loss_kd": warmup_factor(epoch) * mean_k DKD(z_s, z_k)}``.

    Args:
        alpha: TCKD weight (1). beta: NCKD weight (8). temperature: T (4). warmup: epochs of linear warm-up (20).
    """

    def __init__(self, alpha: float = 1.0, beta: float = 8.0, temperature: float = 4.0, warmup: int = 20):
        super().__init__()
        self.alpha, self.beta, self.temperature, self.warmup = alpha, beta, temperature, warmup

    def forward(
        self,
        logits_student: Tensor,
        logits_teachers: Tensor,
        target: Tensor,
        epoch: int = 0,
        features: FeatureInputs | None = None,
    ) -> dict[str, Tensor]:
        loss = multi_dkd_loss(logits_student, logits_teachers, target, self.alpha, self.beta, self.temperature)
        return {"loss_kd": warmup_factor(epoch, self.warmup) * loss}
