"""Meta-learned per-sample teacher weights (MMKD), logit form.

Zhang, Chen, Wang, "Adaptive Multi-Teacher Knowledge Distillation with Meta-Learning", ICME 2023;
reference code github Rorozhl/MMKD (``models/meta_util.py`` ``LogitsWeight``, ``MatchLogits``;
``train_meta.py`` and ``helper/meta_optimizer.py`` for the meta step).

**Weighting step** (the reference's ``LogitsWeight`` then ``MatchLogits``). Per sample ``b``, the
input is the K teachers' logits and the student's (detached), concatenated::

    x_b = [z_1[b], ..., z_K[b], z_s[b]]                          (C * (K + 1),)
    w_b = softmax( W2 relu(W1 x_b + c1) + c2 )                   (K,), W1: (C(K+1)/2, C(K+1)), W2: (K, C(K+1)/2)
    L_kd = mean_b sum_k w_b[k] * T^2 * KL(softmax(z_k[b]/T) || softmax(z_s[b]/T))

(``factor`` = 2 is the hidden layer's reduction.) The weights are constants for the student's step
(kdlab detaches them; the reference computes their gradient, then never applies it).

**Meta step** (what trains ``W1, c1, W2, c2``), every ``meta_every`` training batches: a virtual
update of the student with the weighted KD loss on the current batch, then the student's
cross-entropy on held-out "quiz" samples, differentiated through the virtual update::

    theta' = theta - virtual_lr * d L_kd(theta; w_phi) / d theta      (virtual_steps times)
    phi   <- Adam step on d CE(f(x_quiz; theta'), y_quiz) / d phi     (lr meta_lr, weight decay meta_wd)

The student itself is left as it was (the reference's ``rollback``). Simplifications, stated:

- the reference's virtual updates are SGD with momentum and weight decay, two weighted-KD steps and
  one cross-entropy step on the quiz samples; kdlab takes ``virtual_steps`` (default 2) plain SGD
  steps on the weighted KD loss and differentiates the quiz loss at their end;
- hard buffer: the reference fills a buffer with the first samples it sees and then overwrites
  random slots with misclassified ones; kdlab keeps the last ``buffer_size`` training samples the
  student got wrong (first in, first out), emptied at each epoch's start (so a resumed run repeats
  the same steps), and draws the quiz from it before adding the current batch (so the quiz is held
  out from the virtual step). ``hard_buffer=False``: the quiz is the current batch, as the
  reference without ``--hard_buffer``;
- the feature form (``FeatureWeight``) is left out: its first layer's size is tied to the batch
  size (``B * (K + 1)`` inputs), which a last, smaller batch or a change of ``data.batch_size`` breaks.

One process only (the weighting network is not synchronised across ``torchrun`` processes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from kdlab.errors import ConfigError
from kdlab.losses.base import DistillLoss, FeatureInputs, stack_teachers
from kdlab.losses.multi_teacher import weighted_kd


class WeightNet(nn.Module):
    """``(K, B, C)`` teacher logits and ``(B, C)`` student logits -> ``(K, B)`` weights (softmax over K).

    The reference's ``LogitsWeight(n_feature=C * (K + 1), teacher_num=K, factor)``.
    """

    def __init__(self, num_classes: int, num_teachers: int, factor: int = 2):
        super().__init__()
        n = num_classes * (num_teachers + 1)
        self.layer = nn.Linear(n, n // factor)
        self.all_act = nn.Linear(n // factor, num_teachers)

    def forward(self, logits_teachers: Tensor, logits_student: Tensor) -> Tensor:
        x = torch.cat([*stack_teachers(logits_teachers), logits_student], dim=1)  # (B, C(K+1))
        return torch.softmax(self.all_act(torch.relu(self.layer(x))), dim=-1).T  # (K, B)


def mmkd_kd_loss(logits_student: Tensor, logits_teachers: Tensor, weights: Tensor, temperature: float = 4.0) -> Tensor:
    """``L_kd`` with per-sample weights ``(K, B)``: ``(B, C), (K, B, C), (K, B) -> ()`` (the reference's ``MatchLogits``)."""
    return weighted_kd(logits_student, logits_teachers, weights, temperature)


@dataclass(frozen=True)
class VirtualStep:
    """The virtual update: ``steps`` SGD steps of learning rate ``lr`` on the weighted KD loss at ``temperature``."""

    temperature: float = 4.0
    lr: float = 0.05
    steps: int = 2


def virtual_update(student: nn.Module, weight_net: WeightNet, x: Tensor, logits_teachers: Tensor,
                   step: VirtualStep) -> dict[str, Tensor]:
    """The student's parameters after ``step.steps`` SGD steps on the weighted KD loss, as functions of the
    weighting network's parameters (``create_graph``): ``{name: tensor}``; the student is not changed.
    ``x``: the student's input ``(B, T, C, H, W)``; BatchNorm statistics are updated on copies."""
    params = dict(student.named_parameters())
    buffers = {k: v.clone() for k, v in student.named_buffers()}
    for _ in range(step.steps):
        logits = torch.func.functional_call(student, (params, buffers), (x,))
        loss = mmkd_kd_loss(logits, logits_teachers, weight_net(logits_teachers, logits.detach()), step.temperature)
        grads = torch.autograd.grad(loss, list(params.values()), create_graph=True, allow_unused=True)
        params = {k: p if g is None else p - step.lr * g for (k, p), g in zip(params.items(), grads)}
    return {**params, **buffers}


def meta_objective(student: nn.Module, weight_net: WeightNet, x: Tensor, logits_teachers: Tensor,
                   quiz: tuple[Tensor, Tensor], step: VirtualStep = VirtualStep()) -> Tensor:
    """The quiz loss ``CE(f(x_quiz; theta'), y_quiz)`` after :func:`virtual_update`; its gradient w.r.t.
    the weighting network's parameters is the meta step's. ``quiz``: inputs and ``(Q,)`` labels."""
    params = virtual_update(student, weight_net, x, logits_teachers, step)
    return F.cross_entropy(torch.func.functional_call(student, params, (quiz[0],)), quiz[1])


class HardBuffer:
    """The last ``size`` training samples the student got wrong (inputs and labels), first in, first out."""

    def __init__(self, size: int):
        self.size = size
        self.x: Tensor | None = None
        self.y: Tensor | None = None

    def __len__(self) -> int:
        return 0 if self.y is None else len(self.y)

    def clear(self) -> None:
        self.x = self.y = None

    def add(self, x: Tensor, y: Tensor) -> None:
        if len(y) == 0:
            return
        x, y = x.detach(), y.detach()
        if self.y is not None:
            x, y = torch.cat([self.x, x]), torch.cat([self.y, y])
        self.x, self.y = x[-self.size:], y[-self.size:]

    def sample(self, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        pick = torch.randperm(len(self), generator=generator)[: min(n, len(self))].to(self.y.device)
        return self.x[pick], self.y[pick]


class MMKD(DistillLoss):
    """``{"loss_kd": L_kd}`` with teacher weights from a meta-learned weighting network (module docstring).

    Args:
        temperature: T (4 in the reference).
        factor: the weighting network's hidden-layer reduction (2).
        meta_lr: Adam learning rate of the weighting network (1e-3).
        meta_wd: its weight decay (1e-4).
        meta_every: a meta step every this many training batches (the reference's ``meta_freq``, 5).
        virtual_lr: the virtual SGD step's learning rate (the reference uses the student's SGD rate, 0.05).
        virtual_steps: virtual steps before the quiz (2).
        hard_buffer: quiz on recent misclassified samples (True) or on the current batch (False).
        buffer_size: capacity of the hard buffer.
    """

    meta_learns = True

    def __init__(self, temperature: float = 4.0, factor: int = 2, meta_lr: float = 1e-3, meta_wd: float = 1e-4,
                 meta_every: int = 5, virtual_lr: float = 0.05, virtual_steps: int = 2, hard_buffer: bool = True,
                 buffer_size: int = 64):
        super().__init__()
        if meta_every < 1 or virtual_steps < 1 or buffer_size < 1 or factor < 1:
            raise ConfigError("mmkd: meta_every, virtual_steps, buffer_size and factor must be >= 1")
        self.temperature, self.factor = temperature, factor
        self.meta_lr, self.meta_wd, self.meta_every = meta_lr, meta_wd, meta_every
        self.virtual_lr, self.virtual_steps = virtual_lr, virtual_steps
        self.hard_buffer, self.buffer = hard_buffer, HardBuffer(buffer_size)
        self.weight_net: WeightNet | None = None
        self.meta_optimizer: torch.optim.Optimizer | None = None
        self._batches, self._epoch = 0, -1
        self.last_weights: Tensor | None = None  # (K,): the batch mean of the last weights, for inspection

    def setup(self, student: nn.Module, teachers: Sequence[nn.Module]) -> None:
        if not teachers:
            raise ConfigError("loss mmkd needs its teachers at set-up (distill.teachers), to size the weighting network")
        self.build(int(student.num_classes), len(teachers))

    def build(self, num_classes: int, num_teachers: int) -> None:
        """Create the weighting network and its optimiser for C classes and K teachers."""
        self.weight_net = WeightNet(num_classes, num_teachers, self.factor)
        self.meta_optimizer = torch.optim.Adam(self.weight_net.parameters(), lr=self.meta_lr, weight_decay=self.meta_wd)

    def student_parameters(self) -> list[nn.Parameter]:
        """None: the weighting network learns by its own meta step, never with the student's loss."""
        return []

    def get_extra_state(self) -> dict:
        return {"meta_optimizer": self.meta_optimizer.state_dict() if self.meta_optimizer else None}

    def set_extra_state(self, state: dict) -> None:
        if state and state.get("meta_optimizer") is not None and self.meta_optimizer is not None:
            self.meta_optimizer.load_state_dict(state["meta_optimizer"])

    def teacher_weights(self, logits_student: Tensor, logits_teachers: Tensor) -> Tensor:
        """``(K, B)`` weights for the student's step (no gradient)."""
        with torch.no_grad():
            return self.weight_net(stack_teachers(logits_teachers).detach(), logits_student.detach())

    def meta_step(self, student: nn.Module, x: Tensor, logits_student: Tensor, logits_teachers: Tensor,
                  target: Tensor, epoch: int) -> bool:
        """Called by the Distiller once per training batch, before the loss: updates the hard buffer and,
        every ``meta_every`` batches, takes one meta step. Returns whether a meta step was taken."""
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            raise ConfigError("loss mmkd runs in one process: its weighting network is not synchronised under torchrun")
        if epoch != self._epoch:
            self._epoch, self._batches = epoch, 0
            self.buffer.clear()
        generator = torch.Generator().manual_seed(1_000_003 * epoch + self._batches)
        due = self._batches % self.meta_every == 0
        self._batches += 1
        quiz = None
        if due:
            if not self.hard_buffer:
                quiz = (x, target)
            elif len(self.buffer):
                quiz = self.buffer.sample(len(target), generator)
        if self.hard_buffer:
            wrong = logits_student.detach().argmax(1) != target
            self.buffer.add(x[wrong], target[wrong])
        if quiz is None:
            return False
        z_t = stack_teachers(logits_teachers).detach()
        quiz_loss = meta_objective(student, self.weight_net, x, z_t, quiz,
                                   VirtualStep(self.temperature, self.virtual_lr, self.virtual_steps))
        self.meta_optimizer.zero_grad(set_to_none=True)
        grads = torch.autograd.grad(quiz_loss, list(self.weight_net.parameters()), allow_unused=True)
        for p, g in zip(self.weight_net.parameters(), grads):
            p.grad = torch.zeros_like(p) if g is None else g
        self.meta_optimizer.step()
        return True

    def forward(
        self,
        logits_student: Tensor,
        logits_teachers: Tensor,
        target: Tensor,
        epoch: int = 0,
        features: FeatureInputs | None = None,
    ) -> dict[str, Tensor]:
        z_t = stack_teachers(logits_teachers)
        if self.weight_net is None:
            self.build(logits_student.shape[1], z_t.shape[0])
        if self.weight_net.all_act.out_features != z_t.shape[0]:
            raise ConfigError(f"mmkd was set up for {self.weight_net.all_act.out_features} teachers, got {z_t.shape[0]}")
        weights = self.teacher_weights(logits_student, z_t)
        self.last_weights = weights.mean(1)
        return {"loss_kd": mmkd_kd_loss(logits_student, z_t, weights, self.temperature)}
