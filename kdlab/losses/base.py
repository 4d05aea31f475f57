"""The interface every kdlab distillation loss implements (one thin ``nn.Module`` per method).

A loss module holds its hyperparameters (temperature, weights, connectors) and maps the student's
and teachers' outputs to named loss terms::

    terms = loss(logits_student, logits_teachers, target, epoch=epoch, features=features)
    # {"loss_kd": ...}  and/or  {"loss_feat": ...}   (scalars; the Distiller adds "loss_ce")

Shapes: ``logits_student`` ``(B, C)``; ``logits_teachers`` ``(K, B, C)`` (or a list of K ``(B, C)``);
``target`` ``(B,)`` long. Feature-based losses (``needs_features = True``) also get
:class:`FeatureInputs`, which exist only when the teachers run online.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
import torch
from torch import Tensor, nn

from kdlab.errors import ConfigError


@dataclass
class FeatureInputs:
    """Final feature maps of the student and the K teachers, for feature-based losses.

    Attributes:
        student: ``(B*T, D_s, h_s, w_s)``, with gradient.
        teachers: K maps ``(B*T, D_k, h_k, w_k)``, detached.
        teacher_heads: each teacher's ``forward_head(features, num_segments) -> (B, C)``.
        num_segments: T, the TSN segments per clip.
    """

    student: Tensor
    teachers: list[Tensor]
    teacher_heads: list[Callable[[Tensor, int], Tensor]]
    num_segments: int


def stack_teachers(logits_teachers: Tensor | Sequence[Tensor]) -> Tensor:
    """K teachers' logits as one ``(K, B, C)`` tensor (accepts a ``(K, B, C)`` tensor or a list of ``(B, C)``)."""
    z = logits_teachers if isinstance(logits_teachers, Tensor) else torch.stack(list(logits_teachers))
    if z.dim() != 3:
        raise ValueError(f"teacher logits must be (K, B, C) or a list of (B, C), got shape {tuple(z.shape)}")
    return z


class DistillLoss(nn.Module):
    """Base class of the loss modules.

    Attributes:
        uses_teachers: False only for ``ce`` (the student alone): the Distiller then skips the teachers.
        needs_features: True for losses on feature maps (FitNets, CA-MKD's feature term); they need
            online teachers.
        meta_learns: True for losses that learn from the student's network itself (MMKD's meta step):
            the Distiller then calls :meth:`meta_step` once per training batch, before the loss.
    """

    uses_teachers: bool = True
    needs_features: bool = False
    meta_learns: bool = False

    def setup(self, student: nn.Module, teachers: Sequence[nn.Module]) -> None:
        """Build parameters that depend on the networks (connectors); called once by the Distiller."""

    def student_parameters(self) -> list[nn.Parameter]:
        """The parameters trained with the student by its optimiser (connectors): all of them, unless a
        loss trains some by itself (MMKD's weighting network)."""
        return list(self.parameters())

    def meta_step(self, student: nn.Module, x: Tensor, logits_student: Tensor, logits_teachers: Tensor,
                  target: Tensor, epoch: int) -> bool:
        """Learn from the student's network on this batch (``meta_learns`` losses); returns whether it did.

        ``x``: the student's input ``(B, T, C, H, W)``; ``logits_student`` ``(B, C)``; ``logits_teachers`` ``(K, B, C)``."""
        return False

    def forward(
        self,
        logits_student: Tensor,
        logits_teachers: Tensor,
        target: Tensor,
        epoch: int = 0,
        features: FeatureInputs | None = None,
    ) -> dict[str, Tensor]:
        raise NotImplementedError


def require_features(loss: DistillLoss, features: FeatureInputs | None) -> FeatureInputs:
    """Return ``features`` or raise :class:`ConfigError` when a feature loss is run offline."""
    if features is None:
        raise ConfigError(
            f"loss {type(loss).__name__} needs the teachers' feature maps, so it needs online teachers;"
            " set offline=false (precomputed teacher logits carry no features)"
        )
    return features
