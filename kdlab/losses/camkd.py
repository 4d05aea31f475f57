"""Confidence-aware multi-teacher KD (CA-MKD).

Zhang, Chen, Wang, "Confidence-Aware Multi-Teacher Knowledge Distillation", ICASSP 2022; reference
code github Rorozhl/CA-MKD (``distiller_zoo/CAMKD.py``, ``helper/loops.py``, ``models/util.py``).

Confidence weights from a cross-entropy per teacher and sample (softmax over the K teachers)::

    w[k, b] = (1 - softmax_k( CE(z[k, b], y_b) )_k) / (K - 1)        (sum_k w[k, b] = 1; w = 1 when K = 1)

KD term, weights from the teachers' own logits ``z_k`` (``(K, B, C)``, no gradient)::

    L_kd = mean_b sum_k w[k, b] * T^2 * KL(softmax(z_k[b]/T) || softmax(z_s[b]/T))

Feature term: the student's final feature map ``f_s`` ``(B*T, D_s, h_s, w_s)`` goes through a
per-teacher connector ``e_k`` (resize to the teacher's ``(h_k, w_k)``, 1x1 conv + BN + ReLU:
:class:`kdlab.losses.fitnets.Connector`, the reference's ``Embed``), is matched to the teacher's map
``f_k`` with a per-sample MSE, and weighted by confidences computed by running **teacher k's head**
(pool + classifier + TSN mean) on the embedded student features::

    g_k = e_k(f_s);   u = w(head_k(g_k), y);   mse[k, b] = mean over (T, D_k, h_k, w_k) of (g_k - f_k)^2
    L_feat = mean_b sum_k u[k, b] * mse[k, b]

Total (reference): ``CE + 1 * L_kd + 50 * L_feat`` with T = 4.

Quirks of the reference code, and what kdlab does:

- It divides both sums by ``B*K`` although the weights already sum to one per sample: an extra ``1/K``.
  ``reference_scaling=True`` reproduces it; the default (False) keeps weights that sum to one.
- The feature weights ``u`` are not detached, so the gradient also flows through ``head_k(g_k)``
  into the connectors and the student; kdlab does the same (teacher parameters stay frozen).
- It drops the feature term during the first epoch; kdlab does not.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from kdlab.losses.base import DistillLoss, FeatureInputs, require_features, stack_teachers
from kdlab.losses.fitnets import connectors_for
from kdlab.losses.multi_teacher import weighted_kd


def confidence_weights(logits_teachers: Tensor | Sequence[Tensor], target: Tensor) -> Tensor:
    """CA-MKD's per-sample weights ``(K, B)`` from ``(K, B, C)`` logits and ``(B,)`` labels; columns sum to one."""
    z = stack_teachers(logits_teachers)
    k = z.shape[0]
    if k == 1:
        return torch.ones(z.shape[:2], dtype=z.dtype, device=z.device)
    ce = torch.stack([F.cross_entropy(z_k, target, reduction="none") for z_k in z])  # (K, B)
    return (1.0 - F.softmax(ce, dim=0)) / (k - 1)


def camkd_kd_loss(
    logits_student: Tensor,
    logits_teachers: Tensor | Sequence[Tensor],
    target: Tensor,
    temperature: float = 4.0,
    reference_scaling: bool = False,
) -> Tensor:
    """``L_kd``: ``(B, C), (K, B, C), (B,) -> ()``; ``reference_scaling`` divides by K as the reference code."""
    z_t = stack_teachers(logits_teachers).detach()
    loss = weighted_kd(logits_student, z_t, confidence_weights(z_t, target), temperature)
    return loss / z_t.shape[0] if reference_scaling else loss


def camkd_feature_loss(
    embedded: Sequence[Tensor],
    features_teachers: Sequence[Tensor],
    logits_embedded: Tensor | Sequence[Tensor],
    target: Tensor,
    reference_scaling: bool = False,
) -> Tensor:
    """``L_feat`` from K embedded student maps and K teacher maps (each ``(B*T, D_k, h_k, w_k)``).

    ``logits_embedded`` ``(K, B, C)``: each teacher's head applied to its embedded student map.
    """
    batch = target.shape[0]
    u = confidence_weights(logits_embedded, target)  # (K, B), not detached (reference)
    mse = torch.stack([(g - f).pow(2).reshape(batch, -1).mean(-1) for g, f in zip(embedded, features_teachers)])
    loss = (u * mse).sum(0).mean()
    return loss / len(embedded) if reference_scaling else loss


class CAMKD(DistillLoss):
    """``{"loss_kd": L_kd, "loss_feat": feat_weight * L_feat}`` (see the module docstring).

    Args:
        temperature: T (4 in the reference).
        feat_weight: weight of the feature term (50 in the reference); 0 turns it off, and then
            CA-MKD runs offline from precomputed teacher logits.
        reference_scaling: divide both terms by K as the reference code does.
    """

    def __init__(self, temperature: float = 4.0, feat_weight: float = 50.0, reference_scaling: bool = False):
        super().__init__()
        self.temperature = temperature
        self.feat_weight = feat_weight
        self.reference_scaling = reference_scaling
        self.needs_features = feat_weight > 0
        self.connectors = nn.ModuleList()

    def setup(self, student: nn.Module, teachers: Sequence[nn.Module]) -> None:
        if self.needs_features:
            self.connectors = connectors_for(student, teachers)

    def forward(
        self,
        logits_student: Tensor,
        logits_teachers: Tensor,
        target: Tensor,
        epoch: int = 0,
        features: FeatureInputs | None = None,
    ) -> dict[str, Tensor]:
        terms = {
            "loss_kd": camkd_kd_loss(
                logits_student, logits_teachers, target, self.temperature, self.reference_scaling
            )
        }
        if self.needs_features:
            feats = require_features(self, features)
            embedded = [
                conn(feats.student, tuple(f_t.shape[-2:]))
                for conn, f_t in zip(self.connectors, feats.teachers, strict=True)
            ]
            logits_embedded = torch.stack(
                [head(g, feats.num_segments) for head, g in zip(feats.teacher_heads, embedded)]
            )
            terms["loss_feat"] = self.feat_weight * camkd_feature_loss(
                embedded, feats.teachers, logits_embedded, target, self.reference_scaling
            )
        return terms
