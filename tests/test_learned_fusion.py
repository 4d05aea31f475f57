"""Learned fusion (WISE-style): temperature scaling, EM mixture weights, hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import softmax

from kdlab.engine.learned_fusion import apply_fusion, fit_fusion, fit_mixture_weights, fit_temperature, nll


def test_temperature_scaling_recovers_the_temperature_that_made_the_labels() -> None:
    rng = np.random.default_rng(0)
    z = rng.normal(size=(20000, 5)) * 4
    p = softmax(z / 2.5, axis=1)
    labels = (p.cumsum(1) > rng.random((len(z), 1))).argmax(1)  # y ~ softmax(z / 2.5)
    tau = fit_temperature(z, labels)
    assert tau == pytest.approx(2.5, rel=0.05)
    assert nll(z, labels, tau) < min(nll(z, labels, 1.0), nll(z, labels, 5.0))


def test_mixture_weights_by_hand() -> None:
    # two clips; p_A(y) = (0.9, 0.2), p_B(y) = (0.1, 0.6). d/dw of mean log(w a + (1 - w) b) = 0 gives
    # 0.8 / (0.1 + 0.8 w) = 0.4 / (0.6 - 0.4 w), so w = 0.44 / 0.64 = 0.6875
    w = fit_mixture_weights(np.array([[0.9, 0.2], [0.1, 0.6]]))
    np.testing.assert_allclose(w, [0.6875, 0.3125], atol=1e-6)
    # one output right everywhere: it takes all the weight
    np.testing.assert_allclose(fit_mixture_weights(np.array([[0.9, 0.8], [0.1, 0.1]])), [1.0, 0.0], atol=1e-6)


def test_an_uninformative_stream_gets_little_weight_and_fusion_is_a_log_mixture() -> None:
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 4, 600)
    good = np.eye(4)[labels] * 3 + rng.normal(size=(600, 4))
    noise = rng.normal(size=(600, 4)) * 3
    fit = fit_fusion(np.stack([good, noise]), labels)
    assert fit["weights"][0] > 0.9 and sum(fit["weights"]) == pytest.approx(1.0)
    fused = apply_fusion(np.stack([good, noise]), fit["weights"], fit["temperatures"])
    expected = sum(w * softmax(z / t, axis=1) for w, z, t in zip(fit["weights"], (good, noise), fit["temperatures"]))
    np.testing.assert_allclose(np.exp(fused), expected, rtol=1e-5)
    assert fit["val_nll"] == pytest.approx(-np.log(expected[np.arange(600), labels]).mean(), rel=1e-5)
