"""FitNets hints: regress the student's feature map onto each teacher's, with MSE.

Romero et al., "FitNets: Hints for Thin Deep Nets", ICLR 2015; as in mdistiller's ``FitNet``
(total ``CE + 100 * MSE``)::

    hint_k = mean( (r_k(f_s) - f_k)^2 )       over (B*T, D_k, h_k, w_k)
    FitNets = feat_weight * 1/K * sum_k hint_k

``f_s`` ``(B*T, D_s, h_s, w_s)`` is the student's final feature map (``forward_features``);
``f_k`` ``(B*T, D_k, h_k, w_k)`` teacher k's. The connector ``r_k`` (:class:`Connector`) resizes
``f_s`` to ``(h_k, w_k)`` (adaptive average pooling when larger, bilinear interpolation when smaller,
as CA-MKD's code does) and maps ``D_s -> D_k`` with a 1x1 conv + BatchNorm + ReLU.

Differences from mdistiller: the hint is the final feature map (kdlab's models expose that one; mdistiller
uses a middle stage); the connector's conv is 1x1 after resizing, mdistiller's a strided or
``(1 + s_H - t_H)``-sized conv. Several teachers: the mean of the per-teacher hints.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch.nn.functional as F
from torch import Tensor, nn

from kdlab.losses.base import DistillLoss, FeatureInputs, require_features


def resize_to(features: Tensor, size: tuple[int, int]) -> Tensor:
    """``(N, D, h, w) -> (N, D, *size)``: adaptive average pooling down, bilinear interpolation up."""
    if tuple(features.shape[-2:]) == tuple(size):
        return features
    if features.shape[-2] >= size[0] and features.shape[-1] >= size[1]:
        return F.adaptive_avg_pool2d(features, size)
    return F.interpolate(features, size=size, mode="bilinear", align_corners=False)


class Connector(nn.Module):
    """Student -> teacher feature map: resize to the teacher's ``(h, w)``, then 1x1 conv + BN + ReLU.

    ``(N, in_channels, h_s, w_s) -> (N, out_channels, h_t, w_t)`` (CA-MKD's ``Embed``).
    """

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.proj = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, kernel_size=1),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )

    def forward(self, features: Tensor, size: tuple[int, int]) -> Tensor:
        return self.proj(resize_to(features, size))


def connectors_for(student: nn.Module, teachers: Sequence[nn.Module]) -> nn.ModuleList:
    """One :class:`Connector` per teacher, from ``student.num_features`` to ``teacher.num_features``."""
    return nn.ModuleList(Connector(student.num_features, t.num_features) for t in teachers)


def hint_loss(features_student: Tensor, features_teacher: Tensor) -> Tensor:
    """Mean squared error of two same-shaped feature maps ``(N, D, h, w)``."""
    return F.mse_loss(features_student, features_teacher)


class FitNets(DistillLoss):
    """``{"loss_feat": feat_weight * mean_k hint_k}`` (see the module docstring).

    Args:
        feat_weight: weight of the hint term (100 in mdistiller).
    """

    needs_features = True

    def __init__(self, feat_weight: float = 100.0):
        super().__init__()
        self.feat_weight = feat_weight
        self.connectors = nn.ModuleList()

    def setup(self, student: nn.Module, teachers: Sequence[nn.Module]) -> None:
        self.connectors = connectors_for(student, teachers)

    def forward(
        self,
        logits_student: Tensor,
        logits_teachers: Tensor,
        target: Tensor,
        epoch: int = 0,
        features: FeatureInputs | None = None,
    ) -> dict[str, Tensor]:
        feats = require_features(self, features)
        hints = [
            hint_loss(conn(feats.student, tuple(f_t.shape[-2:])), f_t)
            for conn, f_t in zip(self.connectors, feats.teachers, strict=True)
        ]
        return {"loss_feat": self.feat_weight * sum(hints) / len(hints)}
