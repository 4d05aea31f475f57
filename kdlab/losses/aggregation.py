"""How each of kdlab's multi-teacher losses weighs its teachers, side by side, from logits alone.

Every logit loss of kdlab with several teachers is a weighted sum ``sum_k w[k, b] * KD_b(z_s, z_k)``
(:func:`kdlab.losses.multi_teacher.weighted_kd`); the methods differ only in the weights::

    mean    w = 1/K                                  avg_kd (and kd_to_avg, which has the same gradient)
    ebkd    w from the teachers' entropies (T = 1)   :func:`kdlab.losses.ebkd.entropy_weights`, no labels
    camkd   w from the teachers' cross-entropies     :func:`kdlab.losses.camkd.confidence_weights`, labels
    aekd    one w per batch, min-norm in gradient    :func:`kdlab.losses.aekd.aekd_weights`, the student
            space of the student's logits            and T

:func:`aggregation_weights` returns all four for one batch, so a notebook or the dashboard can set
them side by side (and :func:`kdlab.losses.multi_teacher.aggregate_targets` turns any of them into the
target the student is pulled towards). AE-KD's weights belong to a batch: on a batch of one clip they
are that clip's; computed after training, from the student's final logits, they show what AE-KD would
ask of the trained student, not the weights it used during training. DKD, FitNets and CA-MKD's
feature term are not weightings of KD terms and are left out.

Usage::

    weights = aggregation_weights(z_s, z_t, labels, temperature=4.0)    # {"mean": (K, B), "ebkd": ..., ...}
    target = aggregate_targets(z_t, weights["ebkd"], 4.0)               # (B, C)
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from kdlab.losses.aekd import aekd_weights
from kdlab.losses.base import stack_teachers
from kdlab.losses.camkd import confidence_weights
from kdlab.losses.ebkd import entropy_weights

#: The aggregations of :func:`aggregation_weights`, in words.
AGGREGATIONS: dict[str, str] = {
    "mean": "mean (avg_kd)",
    "ebkd": "entropy (EBKD)",
    "camkd": "confidence (CA-MKD)",
    "aekd": "gradient space (AE-KD)",
}


def aggregation_weights(
    logits_student: Tensor,
    logits_teachers: Tensor | Sequence[Tensor],
    target: Tensor,
    temperature: float = 4.0,
    upper: float = 0.6,
) -> dict[str, Tensor]:
    """Each aggregation's teacher weights ``(K, B)`` for one batch (keys of :data:`AGGREGATIONS`).

    ``logits_student (B, C)``, ``logits_teachers (K, B, C)``, ``target (B,)`` class indices. Every
    column sums to one. ``temperature`` and ``upper`` (AE-KD's bound C) matter for AE-KD only: EBKD and
    CA-MKD weigh at T = 1, as their reference code does. AE-KD gives one weight per teacher for the
    whole batch, repeated over its B columns.
    """
    z_t = stack_teachers(logits_teachers).detach().float()
    z_s = logits_student.detach().float()
    k, b = z_t.shape[:2]
    return {
        "mean": torch.full((k, b), 1.0 / k),
        "ebkd": entropy_weights(z_t),
        "camkd": confidence_weights(z_t, target),
        "aekd": aekd_weights(z_s, z_t, temperature, upper)[:, None].expand(k, b),
    }
