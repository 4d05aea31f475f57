"""Learned fusion (WISE-style): temperature scaling, simplex weights on calibrated log-probabilities, checked by
sampling, by the optimality conditions, and on held-out halves."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import log_softmax, softmax

from kdlab.engine.learned_fusion import apply_fusion, fit_fusion, fit_temperature, fused_nll, nll


def sample_labels(z: np.ndarray, rng) -> np.ndarray:
    p = softmax(z, axis=1)
    return (p.cumsum(1) > rng.random((len(z), 1))).argmax(1)


def test_temperature_scaling_recovers_the_temperature_that_made_the_labels() -> None:
    rng = np.random.default_rng(0)
    z = rng.normal(size=(20000, 5)) * 4
    labels = sample_labels(z / 2.5, rng)  # y ~ softmax(z / 2.5)
    tau = fit_temperature(z, labels)
    assert tau == pytest.approx(2.5, rel=0.05)
    assert nll(z, labels, tau) < min(nll(z, labels, 1.0), nll(z, labels, 5.0))


def test_the_gradient_is_the_derivative_and_vanishes_at_the_fit() -> None:
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 4, 600)
    good = np.eye(4)[labels] * 3 + rng.normal(size=(600, 4))
    other = np.eye(4)[labels] * 1.5 + rng.normal(size=(600, 4)) * 2
    noise = rng.normal(size=(600, 4)) * 3
    streams = np.stack([good, other, noise])
    fit = fit_fusion(streams, labels)
    logp = np.stack([log_softmax(z / t, axis=1) for z, t in zip(streams, fit["temperatures"])])
    w = np.array(fit["weights"])
    value, grad = fused_nll(w, logp, labels)
    eps = 1e-6
    for k in range(3):  # the analytic gradient against central differences
        step = np.eye(3)[k] * eps
        assert grad[k] == pytest.approx((fused_nll(w + step, logp, labels)[0] - fused_nll(w - step, logp, labels)[0])
                                        / (2 * eps), rel=1e-4, abs=1e-7)
    # KKT on the simplex: the gradient is one value (lambda) where w > 0, and no lower where w = 0
    assert w.sum() == pytest.approx(1.0) and (w >= 0).all()
    lam = grad[w > 1e-6].mean()
    assert all(abs(g - lam) < 1e-4 if wk > 1e-6 else g > lam - 1e-4 for g, wk in zip(grad, w))
    assert w[0] > w[2] and w[2] < 0.1  # the noise stream adds (almost) nothing
    fused = apply_fusion(streams, w, fit["temperatures"])
    np.testing.assert_allclose(np.exp(fused).sum(1), 1.0, rtol=1e-5)
    assert fit["val_nll"] == pytest.approx(value, rel=1e-5)
    assert fit["val_nll"] <= min(nll(z, labels, t) for z, t in zip(streams, fit["temperatures"])) + 1e-9  # a vertex


def test_complementary_streams_fused_beat_each_alone() -> None:
    """Two streams that each see half of the classes: the fusion sees all of them (as 2:1:1 fusion does)."""
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 6, 1200)
    a = rng.normal(size=(1200, 6))
    b = rng.normal(size=(1200, 6))
    low = labels < 3
    a[low, labels[low]] += 4  # stream a knows classes 0-2
    b[~low, labels[~low]] += 4  # stream b knows classes 3-5
    fit = fit_fusion(np.stack([a[:600], b[:600]]), labels[:600])  # fitted on one half...
    fused = apply_fusion(np.stack([a[600:], b[600:]]), fit["weights"], fit["temperatures"])  # ...scored on the other
    alone = max((z[600:].argmax(1) == labels[600:]).mean() for z in (a, b))
    assert (fused.argmax(1) == labels[600:]).mean() > alone + 0.2


def test_damaged_validation_arrays_are_named() -> None:
    from kdlab.engine.fuse import fit_learned
    from kdlab.engine.records import Predictions
    from kdlab.errors import KdlabError

    rng = np.random.default_rng(4)
    p = dict(logits=rng.normal(size=(5, 3)), labels=np.arange(5) % 3, video_ids=np.array([f"c/v{i}" for i in range(5)]),
             classes=np.array(["a", "b", "c"]), val_logits=rng.normal(size=(4, 3)), val_labels=np.arange(4) % 3,
             val_video_ids=np.array([f"c/w{i}" for i in range(4)]))
    fit, fused, labels, ids = fit_learned([Predictions(**p), Predictions(**p)])
    assert fused.shape == (5, 3) and ids == p["video_ids"].tolist()
    with pytest.raises(KdlabError, match="run 2: its validation arrays are damaged"):
        fit_learned([Predictions(**p), Predictions(**{**p, "val_labels": np.arange(3)})])
