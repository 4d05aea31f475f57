"""The library pieces behind the dashboard's Distillation and Fusion pages, against independent NumPy computations.

Soft targets at a temperature, aggregated targets, KD to a target distribution and every aggregation's
teacher weights (:mod:`kdlab.losses`); fusion under many weight sets and the optimism of picking the
best of them (:mod:`kdlab.engine.fuse`).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kdlab.engine.fuse import fused_correct, held_out_choice
from kdlab.losses import (
    AGGREGATIONS,
    aekd_weights,
    aggregate_targets,
    aggregation_weights,
    avg_kd,
    confidence_weights,
    entropy_weights,
    kd_per_sample,
    kd_to_avg,
    kd_to_target,
    soft_targets,
    weighted_kd,
)
from kdlab.models import late_fusion
from tests.test_losses import np_kl, np_softmax


@pytest.fixture
def batch():
    rng = np.random.default_rng(3)
    z_s = rng.normal(0, 2, (6, 5))
    z_t = rng.normal(0, 3, (3, 6, 5))
    labels = rng.integers(0, 5, 6)
    return z_s, z_t, labels


def tensors(*arrays):
    return [torch.tensor(a, dtype=torch.float64) for a in arrays]


@pytest.mark.parametrize("temperature", [1.0, 4.0, 20.0])
def test_soft_targets_are_the_softmax_at_t(batch, temperature):
    _, z_t, _ = batch
    p = soft_targets(torch.tensor(z_t), temperature).numpy()
    assert np.allclose(p, np_softmax(z_t, temperature)) and np.allclose(p.sum(-1), 1)


def test_a_higher_temperature_flattens_the_targets(batch):
    _, z_t, _ = batch
    entropy = [float(-(p * p.log()).sum(-1).mean()) for p in (soft_targets(torch.tensor(z_t), t) for t in (1, 4, 20))]
    assert entropy[0] < entropy[1] < entropy[2] < np.log(5)


def test_kd_per_sample_is_t2_kl_of_two_soft_targets(batch):
    z_s, z_t, _ = batch
    zs, zt = tensors(z_s, z_t[0])
    expected = 16 * np_kl(soft_targets(zt, 4.0).numpy(), soft_targets(zs, 4.0).numpy())
    assert np.allclose(kd_per_sample(zs, zt, 4.0).numpy(), expected)


def test_aggregate_targets_mix_the_soft_targets(batch):
    _, z_t, _ = batch
    w = np.array([[0.2], [0.3], [0.5]]) * np.ones((3, 6))
    w[:, 0] = [1.0, 0.0, 0.0]  # per sample: the first clip takes the first teacher alone
    m = aggregate_targets(torch.tensor(z_t), torch.tensor(w), 4.0).numpy()
    p = np_softmax(z_t, 4.0)
    assert np.allclose(m, (w[..., None] * p).sum(0)) and np.allclose(m[0], p[0, 0]) and np.allclose(m.sum(-1), 1)
    uniform = aggregate_targets(torch.tensor(z_t), torch.full((3,), 1 / 3, dtype=torch.float64), 4.0).numpy()
    assert np.allclose(uniform, p.mean(0))


def test_kd_to_the_mean_target_is_kd_to_avg(batch):
    z_s, z_t, _ = batch
    zs, zt = tensors(z_s, z_t)
    mean = aggregate_targets(zt, torch.full((3,), 1 / 3, dtype=torch.float64), 4.0)
    assert torch.allclose(kd_to_target(zs, mean, 4.0).mean(), kd_to_avg(zs, zt, 4.0))
    assert np.allclose(kd_to_target(zs, mean, 4.0).numpy(), 16 * np_kl(mean.numpy(), np_softmax(z_s, 4.0)))


def test_a_weighted_loss_and_kd_to_its_mixture_differ_by_a_constant_with_the_same_gradient(batch):
    """What the Distillation page says of its aggregated targets: same pull on the student."""
    z_s, z_t, labels = batch
    zt = torch.tensor(z_t)
    w = entropy_weights(zt)
    mixture = aggregate_targets(zt, w, 4.0)
    gradients = []
    for loss_of in (lambda z: weighted_kd(z, zt, w, 4.0), lambda z: kd_to_target(z, mixture, 4.0).mean()):
        z = torch.tensor(z_s, requires_grad=True)
        loss_of(z).backward()
        gradients.append(z.grad)
    assert torch.allclose(gradients[0], gradients[1])
    # the constant: T^2 (H(m) - sum_k w_k H(p_k)) per sample, >= 0
    p = np_softmax(z_t, 4.0)
    entropy = lambda q: -(q * np.log(q)).sum(-1)  # noqa: E731
    gap = 16 * (entropy(mixture.numpy()) - (w.numpy() * entropy(p)).sum(0))
    zs = torch.tensor(z_s)
    assert np.isclose(float(weighted_kd(zs, zt, w, 4.0) - kd_to_target(zs, mixture, 4.0).mean()), gap.mean())
    assert (gap >= -1e-12).all()
    assert torch.allclose(avg_kd(zs, zt, 4.0) - kd_to_avg(zs, zt, 4.0),
                          torch.tensor(16 * (entropy(p.mean(0)) - entropy(p).mean(0)).mean()))


def test_aggregation_weights_are_the_methods_own(batch):
    z_s, z_t, labels = batch
    zs, zt = torch.tensor(z_s, dtype=torch.float32), torch.tensor(z_t, dtype=torch.float32)
    y = torch.tensor(labels)
    weights = aggregation_weights(zs, zt, y, temperature=4.0)
    assert list(weights) == list(AGGREGATIONS) and all(w.shape == (3, 6) for w in weights.values())
    assert all(torch.allclose(w.sum(0), torch.ones(6)) for w in weights.values())
    assert torch.allclose(weights["mean"], torch.full((3, 6), 1 / 3))
    assert torch.allclose(weights["ebkd"], entropy_weights(zt))
    assert torch.allclose(weights["camkd"], confidence_weights(zt, y))
    assert torch.allclose(weights["aekd"], aekd_weights(zs, zt, 4.0)[:, None].expand(3, 6))
    one_clip = aggregation_weights(zs[:1], zt[:, :1], y[:1], temperature=4.0)
    assert torch.allclose(one_clip["aekd"][:, 0], aekd_weights(zs[:1], zt[:, :1], 4.0))


# --- fusion ---------------------------------------------------------------------------------------

def test_fused_correct_is_late_fusion_under_each_weight_set(batch):
    _, z_t, labels = batch
    weight_sets = [(2, 1, 1), (1, 0, 0), (0, 0, 1), (4, 2, 2)]
    correct = fused_correct(z_t, labels, weight_sets)
    assert correct.shape == (4, 6) and correct.dtype == bool
    for row, w in zip(correct, weight_sets):
        assert np.array_equal(row, late_fusion(list(z_t), list(w)).argmax(1) == labels)
    assert np.array_equal(correct[1], z_t[0].argmax(1) == labels)
    assert np.array_equal(correct[0], correct[3]), "only the ratios matter"


def test_held_out_choice_sees_through_a_lucky_setting():
    # setting 0 is right on 70 % of the clips; setting 1 is right on a random 50 % with luck in a few groups
    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(100), 2)
    good = rng.random(200) < 0.7
    noise = rng.random((50, 200)) < 0.5  # 50 coin-flip settings: one of them looks best by luck
    correct = np.vstack([good, noise])
    result = held_out_choice(correct, groups, repeats=10)
    assert result["best_top1"] == pytest.approx(100 * correct.mean(1).max())
    assert result["held_out_top1"] <= result["best_top1"] and result["optimism"] >= 0
    # a single setting: nothing to choose, no optimism
    alone = held_out_choice(good[None], groups)
    assert alone["best"] == 0 and alone["optimism"] == pytest.approx(0)
    assert alone["held_out_top1"] == pytest.approx(100 * good.mean())


def test_held_out_choice_keeps_groups_whole():
    # each group has two clips: setting g is right on group g's clips only; chosen on the other half, it is wrong
    groups = np.repeat(np.arange(4), 2)
    correct = np.zeros((4, 8), bool)
    for g in range(4):
        correct[g, 2 * g: 2 * g + 2] = True
    result = held_out_choice(correct, groups, repeats=5)
    assert result["best_top1"] == 25.0 and result["held_out_top1"] == 0.0
