"""Adaptive ensemble KD in gradient space (AE-KD).

Du, You, Li, Wu, Wang, Qian, Zhang, "Agree to Disagree: Adaptive Ensemble Knowledge Distillation in
Gradient Space", NeurIPS 2020; reference code github AnTuo1998/AE-KD (``helper/optimization.py``,
``helper/loops.py``).

Per step, the gradient of each teacher's KD loss w.r.t. the student logits, averaged over the batch
as the reference code does (``(K, B, C) -> (K, C)``)::

    g_k = mean_b dKD(z_s, z_k)/dz_s[b] = mean_b (T / B) * (softmax(z_s[b]/T) - softmax(z_k[b]/T))

The teacher weights solve the min-norm problem (MGDA-style; the reference solves its dual with a
one-class SVM on the precomputed kernel ``G = g g^T`` with ``nu = 1 / (C*K)``)::

    w = argmin_w || sum_k w_k g_k ||^2   s.t.  sum_k w_k = 1,  0 <= w_k <= u,   u = clip(C, 1/K, 1),  C = 0.6
    AE-KD = sum_k w_k * KD(z_s, z_k)     (w detached: constants for this step)

kdlab computes ``g_k`` in closed form (the reference back-propagates each loss through the student
and reads the logit gradient with a hook; the values are equal) and solves with scikit-learn's
``OneClassSVM`` like the reference, after dividing ``G`` by its mean diagonal: the minimiser does not
change, but libsvm's absolute tolerance (1e-6) otherwise stops at its starting vertex, since KD
gradients are ~1e-3 and ``G`` ~1e-6. When ``G`` is zero (the student matches every teacher) or
``u * K <= 1``, the weights are uniform.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from kdlab.losses.base import FeatureInputs, stack_teachers
from kdlab.losses.multi_teacher import MultiTeacherKD, weighted_kd


def kd_logit_gradients(
    logits_student: Tensor, logits_teachers: Tensor | Sequence[Tensor], temperature: float
) -> Tensor:
    """``d KD(z_s, z_k) / d z_s`` for each teacher: ``(B, C), (K, B, C) -> (K, B, C)`` (KD with batch mean)."""
    z_t = stack_teachers(logits_teachers).detach()
    p_s = F.softmax(logits_student.detach() / temperature, dim=-1)
    p_t = F.softmax(z_t / temperature, dim=-1)
    return (p_s - p_t) * (temperature / logits_student.shape[0])


def min_norm_weights(vectors: Tensor, upper: float = 0.6) -> Tensor:
    """``argmin ||sum_k w_k v_k||^2`` over ``sum w = 1, 0 <= w <= clip(upper, 1/K, 1)``: ``(K, D) -> (K,)``."""
    k = vectors.shape[0]
    nu = min(max(1.0 / (upper * k), 1.0 / k), 1.0)  # the reference's nu; bound = 1 / (K * nu)
    v = vectors.detach().double().cpu().numpy()
    gram = v @ v.T
    scale = float(np.mean(np.diag(gram)))
    if k == 1 or nu >= 1.0 or scale <= 1e-300:
        return torch.full((k,), 1.0 / k, dtype=vectors.dtype, device=vectors.device)
    from sklearn.svm import OneClassSVM

    svm = OneClassSVM(kernel="precomputed", nu=nu, tol=1e-6).fit(gram / scale)
    weights = np.zeros(k)
    weights[svm.support_] = svm.dual_coef_.ravel() / (k * nu)
    return torch.as_tensor(weights / weights.sum(), dtype=vectors.dtype, device=vectors.device)


def aekd_weights(
    logits_student: Tensor, logits_teachers: Tensor | Sequence[Tensor], temperature: float = 4.0, upper: float = 0.6
) -> Tensor:
    """AE-KD's teacher weights ``(K,)`` for this batch (detached; sum to one; each <= ``clip(upper, 1/K, 1)``)."""
    grads = kd_logit_gradients(logits_student, logits_teachers, temperature).mean(dim=1)  # (K, C)
    return min_norm_weights(grads, upper)


def aekd_loss(
    logits_student: Tensor, logits_teachers: Tensor | Sequence[Tensor], temperature: float = 4.0, upper: float = 0.6
) -> Tensor:
    """AE-KD: ``(B, C), (K, B, C) -> ()``."""
    weights = aekd_weights(logits_student, logits_teachers, temperature, upper)
    return weighted_kd(logits_student, logits_teachers, weights, temperature)


class AEKD(MultiTeacherKD):
    """``{"loss_kd": aekd_loss(z_s, z_t, T, C)}``.

    Args:
        temperature: T.
        upper: C, the upper bound of a teacher's weight (0.6 in the reference code).
    """

    def __init__(self, temperature: float = 4.0, upper: float = 0.6):
        super().__init__(temperature)
        self.upper = upper

    def forward(
        self,
        logits_student: Tensor,
        logits_teachers: Tensor,
        target: Tensor,
        epoch: int = 0,
        features: FeatureInputs | None = None,
    ) -> dict[str, Tensor]:
        return {"loss_kd": aekd_loss(logits_student, logits_teachers, self.temperature, self.upper)}
