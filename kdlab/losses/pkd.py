"""Progressive cross-representation distillation with early exits (PKD).

Soufleri, Ravikumar, Roy, "Advancing Compressed Video Action Recognition through Progressive
Knowledge Distillation", arXiv 2407.02713, 2024. Internal classifiers (early exits,
:mod:`kdlab.models.exits`) on each stream's network; the streams are trained in turn, motion
network first, then the residual network taught by it, then the I-frame network taught by the
residual one (a chain of runs: each stage's ``distill.teachers`` is the previous stage's run)::

    stage 1  mv:        L = CE(z, y) + exit_weight * 1/E sum_e CE(z_e, y)                       (no teacher)
    stage 2  residual:  L = CE(z, y) + kd_weight * KD(z, z_t) + exit_weight * 1/E sum_e [CE(z_e, y) + KD(z_e, z_t)]
    stage 3  iframe:    the same, taught by stage 2

``z`` ``(B, C)``: the network's own head; ``z_e`` ``(B, C)``: exit e; ``z_t`` ``(K, B, C)``: the previous
stage's final logits (several teachers: the mean of their KD terms); ``KD`` Hinton's loss with
``T^2``. Where the paper leaves a choice open, the simplest reading: every exit learns like the final
head (labels plus the previous stage's final output), all exits weigh the same, and the teacher
is the previous network's final head, not its matching exit. Options (``distill.loss_options``):
``temperature`` (4), ``exit_weight`` (1), ``exits`` (``["layer1", "layer2", "layer3"]``).

Terms: ``{"loss_kd": KD(z, z_t), "loss_exit": exit_weight * ...}`` (``loss_kd`` absent without a
teacher). The Distiller adds ``loss_ce`` and scales ``loss_kd`` by ``distill.kd_weight``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from kdlab.errors import ConfigError
from kdlab.losses.base import DistillLoss, FeatureInputs, stack_teachers
from kdlab.losses.multi_teacher import avg_kd
from kdlab.models.exits import STAGES, ExitHead, ExitTap, stage_channels


def exit_loss(exit_logits: Sequence[Tensor], target: Tensor, logits_teachers: Tensor | None, temperature: float) -> Tensor:
    """``1/E sum_e [CE(z_e, y) + avg_k KD(z_e, z_k)]`` (the KD part only with teachers): E ``(B, C)`` -> ``()``."""
    terms = []
    for z_e in exit_logits:
        term = F.cross_entropy(z_e, target)
        if logits_teachers is not None:
            term = term + avg_kd(z_e, logits_teachers, temperature)
        terms.append(term)
    return torch.stack(terms).mean()


class PKD(DistillLoss):
    """Early exits on the student's stages, trained with the labels and the previous stage's network.

    Args:
        temperature: T of the KD terms.
        exit_weight: weight of the exits' mean loss.
        exits: the stages that get an exit (ResNet ``layer1``..``layer3``).
    """

    def __init__(self, temperature: float = 4.0, exit_weight: float = 1.0, exits: Sequence[str] = STAGES):
        super().__init__()
        exits = list(exits)
        if not exits or len(set(exits)) != len(exits) or any(e not in STAGES for e in exits):
            raise ConfigError(f"distill.loss_options.exits: expected distinct stages among {list(STAGES)}, got {exits}")
        self.temperature, self.exit_weight = temperature, exit_weight
        self.exit_names = [e for e in STAGES if e in exits]  # in network order
        self.heads = nn.ModuleDict()
        self.tap: ExitTap | None = None

    def setup(self, student: nn.Module, teachers: Sequence[nn.Module]) -> None:
        """Attach the exit heads to the student's stages (hooks; the student itself is unchanged)."""
        self.uses_teachers = bool(teachers)
        self.heads = nn.ModuleDict({e: ExitHead(stage_channels(student, e), student.num_classes) for e in self.exit_names})
        if self.tap is not None:
            self.tap.remove()
        self.tap = ExitTap(student, self.exit_names)

    def exit_logits(self, batch: int) -> list[Tensor]:
        """Each exit's ``(B, C)`` logits from the student's last forward pass."""
        if self.tap is None or set(self.tap.features) != set(self.exit_names):
            raise ConfigError("pkd: the exits are not attached; the Distiller calls setup(student, teachers) first")
        return [self.heads[e](self.tap.features[e], batch) for e in self.exit_names]

    def forward(
        self,
        logits_student: Tensor,
        logits_teachers: Tensor | None,
        target: Tensor,
        epoch: int = 0,
        features: FeatureInputs | None = None,
    ) -> dict[str, Tensor]:
        z_t = None if logits_teachers is None else stack_teachers(logits_teachers).detach()
        exits = self.exit_logits(logits_student.shape[0])
        terms = {"loss_exit": self.exit_weight * exit_loss(exits, target, z_t, self.temperature)}
        if z_t is not None:
            terms["loss_kd"] = avg_kd(logits_student, z_t, self.temperature)
        return terms
