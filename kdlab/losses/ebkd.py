"""Entropy-based multi-teacher KD (EBKD): confident teachers weigh more, per sample.

Kwon, Na, Kim, Yoo, "Adaptive Knowledge Distillation Based on Entropy", ICASSP 2020. For sample b
and teacher k, with ``H`` the entropy of the teacher's softmax **at T = 1** (as the EBKD baseline of
the CA-MKD code, github Rorozhl/CA-MKD ``helper/loops.py``, computes it)::

    H[k, b] = - sum_c softmax(z_k[b])_c * log softmax(z_k[b])_c
    v[k, b] = 1 - H[k, b] / sum_j H[j, b]          (sum_k v[k, b] = K - 1)
    w[k, b] = v[k, b] / (K - 1)                     (kdlab: sum_k w[k, b] = 1; w = 1 when K = 1)
    EBKD    = mean_b sum_k w[k, b] * KD_b(z_s, z_k)   (KD_b: T^2 * KL per sample)

Quirk: the CA-MKD code applies ``v`` and divides by ``B*K``, i.e. weights that sum to ``(K-1)/K``;
kdlab normalises to one so that agreeing teachers give exactly single-teacher KD. Shapes: ``z_s``
``(B, C)``, ``z_k`` ``(K, B, C)``, weights ``(K, B)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from kdlab.losses.base import FeatureInputs, stack_teachers
from kdlab.losses.multi_teacher import MultiTeacherKD, weighted_kd


def entropy_weights(logits_teachers: Tensor | Sequence[Tensor]) -> Tensor:
    """EBKD's per-sample teacher weights ``(K, B)``, each column summing to one (see the module docstring)."""
    z_t = stack_teachers(logits_teachers).detach()
    k = z_t.shape[0]
    if k == 1:
        return torch.ones(z_t.shape[:2], dtype=z_t.dtype, device=z_t.device)
    log_p = F.log_softmax(z_t, dim=-1)
    entropy = -(log_p.exp() * log_p).sum(-1)  # (K, B)
    share = entropy / entropy.sum(0, keepdim=True).clamp_min(1e-12)
    return (1.0 - share) / (k - 1)


def ebkd_loss(
    logits_student: Tensor, logits_teachers: Tensor | Sequence[Tensor], temperature: float = 4.0
) -> Tensor:
    """EBKD: ``(B, C), (K, B, C) -> ()``."""
    return weighted_kd(logits_student, logits_teachers, entropy_weights(logits_teachers), temperature)


class EBKD(MultiTeacherKD):
    """``{"loss_kd": ebkd_loss(z_s, z_t, T)}``."""

    def forward(
        self,
        logits_student: Tensor,
        logits_teachers: Tensor,
        target: Tensor,
        epoch: int = 0,
        features: FeatureInputs | None = None,
    ) -> dict[str, Tensor]:
        return {"loss_kd": ebkd_loss(logits_student, logits_teachers, self.temperature)}
