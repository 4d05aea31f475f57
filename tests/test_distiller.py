"""Tests of the Distiller contract: frozen teachers, learnable parameters, online/offline, optimisation."""

from __future__ import annotations

import pytest
import torch

from kdlab.distill import Distiller
from kdlab.errors import ConfigError
from kdlab.losses import build_loss, list_losses
from kdlab.models import IN_CHANNELS, create_model

NUM_CLASSES = 5
LOGIT_LOSSES = ["avg_kd", "kd_to_avg", "weighted_kd", "ebkd", "aekd", "dkd"]
LOSS_KWARGS = {"weighted_kd": {"weights": [0.5, 0.25, 0.25]}}


def make_inputs(batch: int = 4, segments: int = 2, size: int = 32, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {rep: torch.randn(batch, segments, c, size, size, generator=g) for rep, c in IN_CHANNELS.items()}


def make_distiller(loss: str, **kwargs) -> Distiller:
    """An I-frame student taught by an I-frame, an MV and a residual teacher (cross-modal, as CoViAR's streams)."""
    torch.manual_seed(0)
    student = create_model("resnet18_tiny", "iframe", num_classes=NUM_CLASSES)
    teachers = [
        create_model("resnet34_tiny", "iframe", num_classes=NUM_CLASSES),
        create_model("resnet18_tiny", "mv", num_classes=NUM_CLASSES),
        create_model("mobilenet_v3_small_tiny", "residual", num_classes=NUM_CLASSES),
    ]
    return Distiller(student, teachers, build_loss(loss, **LOSS_KWARGS.get(loss, {})), **kwargs)


TARGET = torch.tensor([0, 1, 2, 3])


def test_teachers_stay_frozen_and_in_eval_mode() -> None:
    distiller = make_distiller("camkd")
    distiller.eval()
    distiller.train()
    assert distiller.student.training and distiller.loss_module.training
    assert all(not t.training for t in distiller.teachers)
    assert all(not m.training for t in distiller.teachers for m in t.modules())
    assert all(not p.requires_grad for p in distiller.teachers.parameters())


@pytest.mark.parametrize("loss", ["fitnets", "camkd", "avg_kd"])
def test_learnable_parameters_are_the_students_and_connectors(loss: str) -> None:
    distiller = make_distiller(loss)
    learnable = {id(p) for p in distiller.learnable_parameters()}
    assert learnable.isdisjoint(id(p) for p in distiller.teachers.parameters())
    assert {id(p) for p in distiller.student.parameters()} <= learnable
    assert {id(p) for p in distiller.loss_module.parameters()} <= learnable
    assert (len(list(distiller.loss_module.parameters())) > 0) == (loss != "avg_kd")
    optimizer = torch.optim.SGD(distiller.learnable_parameters(), lr=0.1)
    in_optimizer = {id(p) for group in optimizer.param_groups for p in group["params"]}
    assert in_optimizer.isdisjoint(id(p) for p in distiller.teachers.parameters())


@pytest.mark.parametrize("loss", sorted(set(list_losses()) - {"kd"}))
def test_gradients_flow_only_into_the_student_and_connectors(loss: str) -> None:
    distiller = make_distiller(loss)
    logits, losses = distiller.forward_train(make_inputs(), TARGET, epoch=5)
    assert logits.shape == (4, NUM_CLASSES)
    assert "loss_ce" in losses and all(v.dim() == 0 and torch.isfinite(v) for v in losses.values())
    assert ("loss_kd" in losses) == (loss not in ("ce", "fitnets"))
    assert ("loss_feat" in losses) == (loss in ("camkd", "fitnets"))
    sum(losses.values()).backward()
    assert all(p.grad is None for p in distiller.teachers.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in distiller.student.parameters())
    for p in distiller.loss_module.student_parameters():
        assert p.grad is not None


def test_ce_runs_without_teachers_and_matches_plain_cross_entropy() -> None:
    student = create_model("resnet18_tiny", "mv", num_classes=NUM_CLASSES)
    distiller = Distiller(student, [], build_loss("ce"), ce_weight=0.5)
    inputs = make_inputs()
    logits, losses = distiller.forward_train(inputs, TARGET)
    assert set(losses) == {"loss_ce"}
    torch.testing.assert_close(losses["loss_ce"], 0.5 * torch.nn.functional.cross_entropy(logits, TARGET))


def test_kd_weight_scales_only_the_kd_term() -> None:
    inputs = make_inputs()
    _, base = make_distiller("avg_kd").forward_train(inputs, TARGET)
    _, scaled = make_distiller("avg_kd", ce_weight=2.0, kd_weight=0.25).forward_train(inputs, TARGET)
    torch.testing.assert_close(scaled["loss_ce"], 2.0 * base["loss_ce"])
    torch.testing.assert_close(scaled["loss_kd"], 0.25 * base["loss_kd"])


@pytest.mark.parametrize("loss", LOGIT_LOSSES)
def test_offline_teacher_logits_equal_online(loss: str) -> None:
    distiller = make_distiller(loss)
    inputs = make_inputs()
    with torch.no_grad():
        precomputed = torch.stack([t(inputs[t.representation]) for t in distiller.teachers])
    _, online = distiller.forward_train(inputs, TARGET, epoch=3)
    _, offline = distiller.forward_train(inputs, TARGET, epoch=3, teacher_logits=precomputed)
    assert online.keys() == offline.keys()
    for name in online:
        torch.testing.assert_close(offline[name], online[name])


def test_offline_camkd_without_feature_term_equals_online() -> None:
    distiller = make_distiller("camkd")
    distiller.loss_module = build_loss("camkd", feat_weight=0.0)
    inputs = make_inputs()
    with torch.no_grad():
        precomputed = torch.stack([t(inputs[t.representation]) for t in distiller.teachers])
    _, online = distiller.forward_train(inputs, TARGET)
    _, offline = distiller.forward_train(inputs, TARGET, teacher_logits=precomputed)
    assert set(offline) == {"loss_ce", "loss_kd"}
    torch.testing.assert_close(offline["loss_kd"], online["loss_kd"])


@pytest.mark.parametrize("loss", ["fitnets", "camkd"])
def test_feature_losses_need_online_teachers(loss: str) -> None:
    distiller = make_distiller(loss)
    with pytest.raises(ConfigError, match="offline=false"):
        distiller.forward_train(make_inputs(), TARGET, teacher_logits=torch.zeros(3, 4, NUM_CLASSES))


def test_bad_teacher_logits_and_missing_representations_are_reported() -> None:
    distiller = make_distiller("avg_kd")
    with pytest.raises(ConfigError, match="teacher_logits"):
        distiller.forward_train(make_inputs(), TARGET, teacher_logits=torch.zeros(3, 4, NUM_CLASSES + 1))
    inputs = make_inputs()
    del inputs["mv"]
    with pytest.raises(ConfigError, match="'mv'"):
        distiller.forward_train(inputs, TARGET)
    with pytest.raises(ConfigError, match="teachers"):
        Distiller(distiller.student, [], build_loss("avg_kd")).forward_train(make_inputs(), TARGET)


def test_forward_test_and_forward_dispatch() -> None:
    distiller = make_distiller("avg_kd").eval()
    inputs = make_inputs()
    with torch.no_grad():
        expected = distiller.student(inputs["iframe"])
        torch.testing.assert_close(distiller.forward_test(inputs), expected)
        torch.testing.assert_close(distiller(inputs), expected)
    distiller.train()
    logits, losses = distiller(inputs, TARGET)
    assert logits.shape == expected.shape and "loss_kd" in losses


@pytest.mark.parametrize("loss", ["avg_kd", "camkd"])
def test_a_few_steps_of_distillation_reduce_the_kd_loss(loss: str) -> None:
    distiller = make_distiller(loss)
    inputs = make_inputs(batch=4, segments=1, size=32, seed=1)
    optimizer = torch.optim.Adam(distiller.learnable_parameters(), lr=3e-3)
    history = []
    for _ in range(15):
        _, losses = distiller.forward_train(inputs, TARGET)
        optimizer.zero_grad()
        (losses["loss_kd"] + losses.get("loss_feat", 0.0)).backward()
        optimizer.step()
        history.append(losses["loss_kd"].item())
    assert history[-1] < 0.7 * history[0]
