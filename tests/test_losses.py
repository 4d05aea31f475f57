"""Tests of kdlab.losses against independent NumPy computations of each formula and golden values.

``tests/golden/losses.json`` holds fixed inputs and the values of the NumPy references below on them
(computed once, float64); the torch implementations must match both.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.optimize import minimize

from kdlab.errors import ConfigError
from kdlab.losses import (
    aekd_loss,
    aekd_weights,
    avg_kd,
    build_loss,
    camkd_feature_loss,
    camkd_kd_loss,
    confidence_weights,
    dkd_loss,
    ebkd_loss,
    entropy_weights,
    kd_loss,
    kd_to_avg,
    list_losses,
    multi_dkd_loss,
    weighted_kd,
)
from kdlab.losses.aekd import kd_logit_gradients, min_norm_weights
from kdlab.losses.dkd import warmup_factor

GOLDEN = Path(__file__).parent / "golden" / "losses.json"
T = 4.0


# ---------------------------------------------------------------- NumPy references (float64)
def np_softmax(z: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = z / temperature
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def np_kl(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    return (p * (np.log(p) - np.log(q))).sum(-1)


def np_kd_per_sample(zs, zt, temperature):
    return temperature**2 * np_kl(np_softmax(zt, temperature), np_softmax(zs, temperature))


def np_kd(zs, zt, temperature):
    return np_kd_per_sample(zs, zt, temperature).mean()


def np_avg_kd(zs, zts, temperature):
    return np.mean([np_kd(zs, z, temperature) for z in zts])


def np_kd_to_avg(zs, zts, temperature):
    p_avg = np.mean([np_softmax(z, temperature) for z in zts], axis=0)
    return temperature**2 * np_kl(p_avg, np_softmax(zs, temperature)).mean()


def np_weighted_kd(zs, zts, w, temperature):
    return sum(wk * np_kd(zs, z, temperature) for wk, z in zip(w, zts))


def np_ebkd_weights(zts):
    p = np_softmax(zts, 1.0)
    h = -(p * np.log(p)).sum(-1)  # (K, B)
    return (1 - h / h.sum(0)) / (len(zts) - 1)


def np_ebkd(zs, zts, temperature):
    per = np.stack([np_kd_per_sample(zs, z, temperature) for z in zts])
    return (np_ebkd_weights(zts) * per).sum(0).mean()


def np_camkd_weights(zts, y):
    ce = np.stack([-np.log(np_softmax(z)[np.arange(len(y)), y]) for z in zts])  # (K, B)
    sm = np.exp(ce) / np.exp(ce).sum(0)
    return (1 - sm) / (len(zts) - 1)


def np_camkd_kd(zs, zts, y, temperature, reference_scaling):
    per = np.stack([np_kd_per_sample(zs, z, temperature) for z in zts])  # (K, B)
    w = np_camkd_weights(zts, y)
    if reference_scaling:  # the reference code: sum(w * kl) / (B * K)
        return (w * per).sum() / (len(y) * len(zts))
    return (w * per).sum(0).mean()


def np_dkd(zs, zt, y, alpha, beta, temperature):
    ps, pt = np_softmax(zs, temperature), np_softmax(zt, temperature)
    rows = np.arange(len(y))
    bs = np.stack([ps[rows, y], 1 - ps[rows, y]], -1)
    bt = np.stack([pt[rows, y], 1 - pt[rows, y]], -1)
    others = np.ones_like(ps, dtype=bool)
    others[rows, y] = False
    qs = ps[others].reshape(len(y), -1) / (1 - ps[rows, y])[:, None]  # renormalised non-target classes
    qt = pt[others].reshape(len(y), -1) / (1 - pt[rows, y])[:, None]
    return temperature**2 * (alpha * np_kl(bt, bs).mean() + beta * np_kl(qt, qs).mean())


def np_aekd_weights(zs, zts, temperature, upper):
    """Solve the min-norm QP with SciPy's SLSQP (independent of kdlab's libsvm route)."""
    b = zs.shape[0]
    g = np.stack([(temperature / b) * (np_softmax(zs, temperature) - np_softmax(z, temperature)) for z in zts]).mean(1)
    gram = g @ g.T / np.mean(np.diag(g @ g.T))
    k = len(zts)
    bound = min(max(upper, 1 / k), 1)
    res = minimize(
        lambda w: w @ gram @ w,
        np.full(k, 1 / k),
        jac=lambda w: 2 * gram @ w,
        bounds=[(0, bound)] * k,
        constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1}],
        method="SLSQP",
        options={"ftol": 1e-14, "maxiter": 500},
    )
    return res.x


def golden_inputs(seed: int = 0, batch: int = 4, classes: int = 6, teachers: int = 3):
    rng = np.random.default_rng(seed)
    zs = rng.normal(size=(batch, classes)) * 2
    zts = rng.normal(size=(teachers, batch, classes)) * 3
    y = rng.integers(0, classes, size=batch)
    return zs, zts, y


def np_golden_values(zs, zts, y) -> dict[str, object]:
    """Every loss of the golden fixture, from the NumPy references."""
    return {
        "kd": np_kd(zs, zts[0], T),
        "kd_T1": np_kd(zs, zts[0], 1.0),
        "avg_kd": np_avg_kd(zs, zts, T),
        "kd_to_avg": np_kd_to_avg(zs, zts, T),
        "weighted_kd": np_weighted_kd(zs, zts, [0.5, 0.3, 0.2], T),
        "ebkd": np_ebkd(zs, zts, T),
        "camkd_kd": np_camkd_kd(zs, zts, y, T, False),
        "camkd_kd_reference": np_camkd_kd(zs, zts, y, T, True),
        "dkd": np_dkd(zs, zts[0], y, 1.0, 8.0, T),
        "dkd_multi": np.mean([np_dkd(zs, z, y, 1.0, 8.0, T) for z in zts]),
        "aekd_weights": np_aekd_weights(zs, zts, T, 0.6).tolist(),
    }


def torch_values(zs, zts, y) -> dict[str, object]:
    zs, zts, y = torch.tensor(zs), torch.tensor(zts), torch.tensor(y)
    w = aekd_weights(zs, zts, T, 0.6)
    return {
        "kd": kd_loss(zs, zts[0], T).item(),
        "kd_T1": kd_loss(zs, zts[0], 1.0).item(),
        "avg_kd": avg_kd(zs, zts, T).item(),
        "kd_to_avg": kd_to_avg(zs, zts, T).item(),
        "weighted_kd": weighted_kd(zs, zts, torch.tensor([0.5, 0.3, 0.2]), T).item(),
        "ebkd": ebkd_loss(zs, zts, T).item(),
        "camkd_kd": camkd_kd_loss(zs, zts, y, T, reference_scaling=False).item(),
        "camkd_kd_reference": camkd_kd_loss(zs, zts, y, T, reference_scaling=True).item(),
        "dkd": dkd_loss(zs, zts[0], y, 1.0, 8.0, T).item(),
        "dkd_multi": multi_dkd_loss(zs, zts, y, 1.0, 8.0, T).item(),
        "aekd_weights": w.tolist(),
    }


# ---------------------------------------------------------------- golden values and references
def test_golden_fixture() -> None:
    golden = json.loads(GOLDEN.read_text())
    inputs = golden["inputs"]
    got = torch_values(np.array(inputs["student"]), np.array(inputs["teachers"]), np.array(inputs["target"]))
    for name, expected in golden["values"].items():
        np.testing.assert_allclose(got[name], expected, rtol=1e-6, atol=2e-4 if name == "aekd_weights" else 1e-9)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_losses_match_numpy_references(seed: int) -> None:
    zs, zts, y = golden_inputs(seed, batch=5, classes=7)
    expected, got = np_golden_values(zs, zts, y), torch_values(zs, zts, y)
    for name in expected:
        np.testing.assert_allclose(got[name], expected[name], rtol=1e-6, atol=2e-4 if name == "aekd_weights" else 1e-9)


def test_camkd_feature_loss_matches_numpy() -> None:
    rng = np.random.default_rng(4)
    batch, segments, k = 3, 2, 2
    embedded = [rng.normal(size=(batch * segments, c, 2, 2)) for c in (4, 5)]
    teachers = [rng.normal(size=e.shape) for e in embedded]
    logits = rng.normal(size=(k, batch, 6)) * 2
    y = rng.integers(0, 6, size=batch)
    u = np_camkd_weights(logits, y)
    mse = np.stack([((e - f) ** 2).reshape(batch, -1).mean(-1) for e, f in zip(embedded, teachers)])
    t = [torch.tensor(a) for a in embedded], [torch.tensor(a) for a in teachers]
    for reference in (False, True):
        expected = (u * mse).sum() / (batch * k) if reference else (u * mse).sum(0).mean()
        got = camkd_feature_loss(*t, torch.tensor(logits), torch.tensor(y), reference_scaling=reference)
        np.testing.assert_allclose(got.item(), expected, rtol=1e-10)


# ---------------------------------------------------------------- properties
def logits(*shape: int, seed: int = 0, scale: float = 3.0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * scale


def test_kd_carries_the_t_squared_factor() -> None:
    zs, zt = logits(5, 7, seed=1), logits(5, 7, seed=2)
    for temperature in (1.0, 2.0, 4.0):
        kl = F.kl_div(F.log_softmax(zs / temperature, -1), F.softmax(zt / temperature, -1), reduction="batchmean")
        torch.testing.assert_close(kd_loss(zs, zt, temperature), kl * temperature**2)


def multi_teacher_losses(zs, zts, y) -> dict[str, torch.Tensor]:
    k = zts.shape[0]
    return {
        "avg_kd": avg_kd(zs, zts, T),
        "kd_to_avg": kd_to_avg(zs, zts, T),
        "weighted_kd": weighted_kd(zs, zts, torch.full((k,), 1 / k), T),
        "ebkd": ebkd_loss(zs, zts, T),
        "camkd": camkd_kd_loss(zs, zts, y, T),
        "aekd": aekd_loss(zs, zts, T),
    }


def test_perfect_student_gets_zero_kd() -> None:
    zs = logits(4, 6, seed=3)
    zts = zs.expand(3, -1, -1).clone()
    y = torch.tensor([0, 1, 2, 3])
    assert kd_loss(zs, zts[0], T).abs() < 1e-12
    assert dkd_loss(zs, zts[0], y).abs() < 1e-12
    for name, value in multi_teacher_losses(zs, zts, y).items():
        assert value.abs() < 1e-12, name


def test_agreeing_teachers_reduce_every_aggregation_to_single_teacher_kd() -> None:
    zs, zt = logits(4, 6, seed=4), logits(4, 6, seed=5)
    zts = zt.expand(3, -1, -1).clone()
    y = torch.tensor([5, 1, 0, 2])
    single = kd_loss(zs, zt, T)
    for name, value in multi_teacher_losses(zs, zts, y).items():
        torch.testing.assert_close(value, single, msg=name)
    torch.testing.assert_close(multi_dkd_loss(zs, zts, y), dkd_loss(zs, zt, y))


def test_avg_kd_and_kd_to_avg_differ_on_disagreeing_teachers() -> None:
    zs, zts = logits(4, 6, seed=6), logits(3, 4, 6, seed=7)
    a, b = avg_kd(zs, zts, T), kd_to_avg(zs, zts, T)
    assert a > b + 1e-3  # KL is convex in its first argument (Jensen)


def test_teacher_weights_sum_to_one() -> None:
    zs, zts = logits(8, 5, seed=8), logits(3, 8, 5, seed=9)
    y = torch.randint(0, 5, (8,), generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(entropy_weights(zts).sum(0), torch.ones(8, dtype=torch.float64))
    torch.testing.assert_close(confidence_weights(zts, y).sum(0), torch.ones(8, dtype=torch.float64))
    w = aekd_weights(zs, zts, T, upper=0.6)
    torch.testing.assert_close(w.sum(), torch.tensor(1.0, dtype=torch.float64))
    assert (w >= -1e-9).all() and (w <= 0.6 + 1e-6).all()
    # CA-MKD's reference scaling is an extra 1/K on top of those weights
    torch.testing.assert_close(camkd_kd_loss(zs, zts, y, T, True), camkd_kd_loss(zs, zts, y, T, False) / 3)


def test_ebkd_trusts_the_confident_teacher() -> None:
    confident = torch.tensor([[8.0, 0.0, 0.0]])
    unsure = torch.tensor([[0.1, 0.0, 0.0]])
    w = entropy_weights(torch.stack([confident, unsure]))
    assert w[0, 0] > w[1, 0]


def test_camkd_trusts_the_correct_teacher() -> None:
    right, wrong = torch.tensor([[5.0, 0.0, 0.0]]), torch.tensor([[0.0, 5.0, 0.0]])
    w = confidence_weights(torch.stack([right, wrong]), torch.tensor([0]))
    assert w[0, 0] > 0.99


def test_aekd_gradients_match_autograd() -> None:
    zs, zts = logits(5, 4, seed=10).requires_grad_(), logits(3, 5, 4, seed=11)
    grads = kd_logit_gradients(zs, zts, T)
    for k in range(3):
        (auto,) = torch.autograd.grad(kd_loss(zs, zts[k], T), zs)
        torch.testing.assert_close(grads[k], auto)


def test_aekd_weights_are_optimal_for_realistically_small_gradients() -> None:
    # a student close to its teachers on a batch of 32: G ~ 1e-7, far below libsvm's absolute tolerance
    rng = np.random.default_rng(5)
    base = rng.normal(size=(32, 10))
    zs = base + 0.1 * rng.normal(size=base.shape)
    zts = base + 0.1 * rng.normal(size=(3, *base.shape))
    got = aekd_weights(torch.tensor(zs), torch.tensor(zts), T, 0.6).numpy()
    np.testing.assert_allclose(got, np_aekd_weights(zs, zts, T, 0.6), atol=2e-4)


def test_min_norm_weights_cancel_opposite_gradients() -> None:
    a = torch.tensor([1.0, 2.0, 0.0])
    vectors = torch.stack([a, -a, torch.tensor([0.0, 0.0, 5.0])])
    torch.testing.assert_close(min_norm_weights(vectors, upper=0.6), torch.tensor([0.5, 0.5, 0.0]), atol=1e-5, rtol=0)
    # the upper bound binds: the best single teacher can take at most C
    w = min_norm_weights(torch.tensor([[0.1, 0.0], [3.0, 0.0], [0.0, 3.0]]), upper=0.6)
    torch.testing.assert_close(w[0], torch.tensor(0.6), atol=1e-5, rtol=0)


def test_dkd_warmup_is_linear_over_20_epochs() -> None:
    zs, zt = logits(4, 6, seed=12), logits(1, 4, 6, seed=13)
    y = torch.tensor([0, 1, 2, 3])
    module = build_loss("dkd")
    full = dkd_loss(zs, zt[0], y)
    for epoch, factor in [(0, 1 / 20), (9, 10 / 20), (19, 1.0), (100, 1.0)]:
        torch.testing.assert_close(module(zs, zt, y, epoch=epoch)["loss_kd"], factor * full)
    assert warmup_factor(0, 0) == 1.0


def test_dkd_gradient_is_finite() -> None:
    zs = logits(4, 6, seed=14).requires_grad_()
    dkd_loss(zs, logits(4, 6, seed=15), torch.tensor([0, 1, 2, 3])).backward()
    assert torch.isfinite(zs.grad).all()


def test_registry_lists_and_rejects() -> None:
    assert list_losses() == sorted(
        ["ce", "kd", "avg_kd", "kd_to_avg", "weighted_kd", "ebkd", "camkd", "aekd", "dkd", "fitnets", "mmkd", "pkd"]
    )
    with pytest.raises(ConfigError, match="avg_kd") as err:
        build_loss("mkd_magic")
    assert "mkd_magic" in str(err.value)
    with pytest.raises(ConfigError, match="temperature") as err:
        build_loss("kd", temprature=3)
    assert "temprature" in str(err.value)


def test_weighted_kd_rejects_weights_that_do_not_sum_to_one() -> None:
    with pytest.raises(ConfigError, match="sum to one"):
        build_loss("weighted_kd", weights=[2.0, 1.0, 1.0])
    module = build_loss("weighted_kd", weights=[0.5, 0.5])
    with pytest.raises(ConfigError, match="2 weights"):
        module(logits(2, 3), logits(3, 2, 3), torch.tensor([0, 1]))


def test_single_teacher_kd_rejects_several_teachers() -> None:
    with pytest.raises(ConfigError, match="avg_kd"):
        build_loss("kd")(logits(2, 3), logits(2, 2, 3), torch.tensor([0, 1]))


def test_fitnets_is_weighted_mean_of_hints_through_the_connectors() -> None:
    from types import SimpleNamespace

    from kdlab.losses import FeatureInputs

    student = SimpleNamespace(num_features=4)
    teachers = [SimpleNamespace(num_features=6), SimpleNamespace(num_features=3)]
    loss = build_loss("fitnets")
    loss.setup(student, teachers)
    f_s = torch.randn(4, 4, 3, 3)
    f_t = [torch.randn(4, 6, 2, 2), torch.randn(4, 3, 5, 5)]  # smaller and larger than the student's map
    feats = FeatureInputs(f_s, f_t, teacher_heads=[], num_segments=2)
    got = loss(logits(2, 3), logits(2, 2, 3), torch.tensor([0, 1]), features=feats)["loss_feat"]
    mapped = [conn(f_s, tuple(t.shape[-2:])) for conn, t in zip(loss.connectors, f_t)]
    assert [m.shape for m in mapped] == [t.shape for t in f_t]
    expected = 100 * np.mean([((m.detach().numpy() - t.numpy()) ** 2).mean() for m, t in zip(mapped, f_t)])
    np.testing.assert_allclose(got.item(), expected, rtol=1e-5)
