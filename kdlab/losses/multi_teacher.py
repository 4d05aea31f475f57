"""Multi-teacher KD with fixed aggregation: averaged losses, averaged targets, fixed weights.

Notation: student logits ``z_s`` ``(B, C)``; K teachers' logits ``z_k`` stacked ``(K, B, C)``;
``KD`` is Hinton's loss of :mod:`kdlab.losses.kd` (``T^2`` included, batch mean)::

    avg_kd      = 1/K * sum_k KD(z_s, z_k)                                  (AVER, e.g. You et al., KDD 2017)
    kd_to_avg   = T^2 * mean_b KL( 1/K * sum_k softmax(z_k/T) || softmax(z_s/T) )
    weighted_kd = sum_k w_k * KD(z_s, z_k),   w_k >= 0, sum_k w_k = 1      (fixed weights)

``avg_kd`` and ``kd_to_avg`` agree when the teachers agree; otherwise ``kd_to_avg`` is smaller
(KL is convex in its first argument, Jensen) and its target is a single, flatter distribution.
``weighted_kd`` does not normalise: weights that do not sum to one raise :class:`ConfigError`,
so that ``kd_weight`` keeps its meaning (write ``[0.5, 0.25, 0.25]``, not ``[2, 1, 1]``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from kdlab.errors import ConfigError
from kdlab.losses.base import DistillLoss, FeatureInputs, stack_teachers
from kdlab.losses.kd import kd_per_sample, soft_targets


def weighted_kd(
    logits_student: Tensor, logits_teachers: Tensor | Sequence[Tensor], weights: Tensor, temperature: float = 4.0
) -> Tensor:
    """``mean_b sum_k w[k, b] * KD_b(z_s, z_k)``; ``weights`` ``(K,)`` (per teacher) or ``(K, B)`` (per sample)."""
    z_t = stack_teachers(logits_teachers)
    per_sample = torch.stack([kd_per_sample(logits_student, z, temperature) for z in z_t])  # (K, B)
    w = weights.to(per_sample)
    if w.dim() == 1:
        w = w[:, None]
    return (w * per_sample).sum(0).mean()


def aggregate_targets(logits_teachers: Tensor | Sequence[Tensor], weights: Tensor, temperature: float = 4.0) -> Tensor:
    """The teachers' soft targets mixed by ``weights``: ``m[b] = sum_k w[k, b] * softmax(z_k[b] / T)``.

    ``(K, B, C)`` logits and ``(K,)`` (per teacher) or ``(K, B)`` (per sample) weights -> ``(B, C)``.
    For a weighted loss ``sum_k w_k KD(z_s, z_k)`` (avg_kd, EBKD, CA-MKD, AE-KD) this is the target that
    the loss pulls the student towards: per sample, the loss equals ``kd_to_target(z_s, m, T)`` plus
    ``T^2 * (H(m) - sum_k w_k H(p_k))``, which does not depend on the student, so both have the same
    gradient ``T * (softmax(z_s / T) - m)``. With uniform weights, ``m`` is kd_to_avg's target.
    """
    z_t = stack_teachers(logits_teachers)
    w = weights.to(z_t)
    if w.dim() == 1:
        w = w[:, None]
    return (w[..., None] * soft_targets(z_t, temperature)).sum(0)


def kd_to_target(logits_student: Tensor, target: Tensor, temperature: float = 4.0) -> Tensor:
    """``T^2 * KL(target || softmax(z_s / T))`` per sample: ``(B, C)`` logits, ``(B, C)`` probabilities -> ``(B,)``.

    ``kd_to_avg`` is its batch mean with ``target = aggregate_targets(z_t, 1/K, T)``.
    """
    log_p_s = F.log_softmax(logits_student / temperature, dim=-1)
    return (target * (target.clamp_min(1e-30).log() - log_p_s)).sum(-1) * temperature**2


def avg_kd(logits_student: Tensor, logits_teachers: Tensor | Sequence[Tensor], temperature: float = 4.0) -> Tensor:
    """Mean over the K teachers of ``KD(z_s, z_k)``: ``(B, C), (K, B, C) -> ()``."""
    z_t = stack_teachers(logits_teachers)
    return weighted_kd(logits_student, z_t, torch.full((z_t.shape[0],), 1.0 / z_t.shape[0]), temperature)


def kd_to_avg(logits_student: Tensor, logits_teachers: Tensor | Sequence[Tensor], temperature: float = 4.0) -> Tensor:
    """KD towards the teachers' mean soft target: ``(B, C), (K, B, C) -> ()``."""
    p_t = F.softmax(stack_teachers(logits_teachers) / temperature, dim=-1).mean(0)  # (B, C)
    log_p_s = F.log_softmax(logits_student / temperature, dim=-1)
    return (p_t * (p_t.clamp_min(1e-30).log() - log_p_s)).sum(-1).mean() * temperature**2


class MultiTeacherKD(DistillLoss):
    """Base of the logit losses: holds the temperature T."""

    def __init__(self, temperature: float = 4.0):
        super().__init__()
        self.temperature = temperature


class AvgKD(MultiTeacherKD):
    """``{"loss_kd": avg_kd(z_s, z_t, T)}``: the mean of the per-teacher KD losses."""

    def forward(
        self,
        logits_student: Tensor,
        logits_teachers: Tensor,
        target: Tensor,
        epoch: int = 0,
        features: FeatureInputs | None = None,
    ) -> dict[str, Tensor]:
        return {"loss_kd": avg_kd(logits_student, logits_teachers, self.temperature)}


class KDToAvg(MultiTeacherKD):
    """``{"loss_kd": kd_to_avg(z_s, z_t, T)}``: KD to the mean of the teachers' soft targets."""

    def forward(
        self,
        logits_student: Tensor,
        logits_teachers: Tensor,
        target: Tensor,
        epoch: int = 0,
        features: FeatureInputs | None = None,
    ) -> dict[str, Tensor]:
        return {"loss_kd": kd_to_avg(logits_student, logits_teachers, self.temperature)}


class WeightedKD(MultiTeacherKD):
    """``{"loss_kd": sum_k w_k KD(z_s, z_k)}`` with fixed teacher weights (>= 0, summing to one).

    Args:
        weights: one weight per teacher, in the order the teachers are given.
        temperature: T.
    """

    def __init__(self, weights: Sequence[float], temperature: float = 4.0):
        super().__init__(temperature)
        w = [float(x) for x in weights]
        if not w or min(w) < 0 or abs(sum(w) - 1.0) > 1e-6:
            total = sum(w) or 1.0
            raise ConfigError(
                f"weighted_kd weights={w} must be >= 0 and sum to one (they sum to {sum(w):g});"
                f" e.g. {[round(x / total, 6) for x in w]}"
            )
        self.register_buffer("weights", torch.tensor(w))

    def forward(
        self,
        logits_student: Tensor,
        logits_teachers: Tensor,
        target: Tensor,
        epoch: int = 0,
        features: FeatureInputs | None = None,
    ) -> dict[str, Tensor]:
        z_t = stack_teachers(logits_teachers)
        if z_t.shape[0] != len(self.weights):
            raise ConfigError(f"weighted_kd has {len(self.weights)} weights but there are {z_t.shape[0]} teachers")
        return {"loss_kd": weighted_kd(logits_student, z_t, self.weights, self.temperature)}
