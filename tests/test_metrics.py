"""Metrics against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from kdlab.engine import metrics


def test_accuracy_confusion_and_mean_class_accuracy():
    logits = np.array([[3, 1, 0], [0, 2, 1], [0, 3, 1], [1, 0, 2], [2, 0, 1]], float)
    labels = np.array([0, 1, 2, 2, 2])
    assert metrics.topk_accuracy(logits, labels, 1) == pytest.approx(3 / 5)
    assert metrics.topk_accuracy(logits, labels, 2) == pytest.approx(5 / 5)
    cm = metrics.confusion_matrix(logits, labels, 3)
    np.testing.assert_array_equal(cm, [[1, 0, 0], [0, 1, 0], [1, 1, 1]])
    assert metrics.mean_class_accuracy(logits, labels, 3) == pytest.approx((1 + 1 + 1 / 3) / 3)


def test_calibration_error_of_a_confident_wrong_model():
    logits = np.array([[10.0, 0.0], [10.0, 0.0]])
    assert metrics.expected_calibration_error(logits, np.array([1, 1])) == pytest.approx(1.0, abs=1e-3)
    assert metrics.expected_calibration_error(logits, np.array([0, 0])) == pytest.approx(0.0, abs=1e-3)


def test_js_divergence_bounds_and_symmetry():
    a, b = np.array([[50.0, 0.0]]), np.array([[0.0, 50.0]])
    assert metrics.js_divergence(a, b)[0] == pytest.approx(np.log(2), abs=1e-6)
    assert metrics.js_divergence(a, a)[0] == pytest.approx(0.0, abs=1e-9)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(4, 5)), rng.normal(size=(4, 5))
    np.testing.assert_allclose(metrics.js_divergence(x, y), metrics.js_divergence(y, x))
    p, q = metrics.softmax(x), metrics.softmax(y)
    m = (p + q) / 2
    reference = 0.5 * (p * np.log(p / m)).sum(1) + 0.5 * (q * np.log(q / m)).sum(1)
    np.testing.assert_allclose(metrics.js_divergence(x, y), reference, rtol=1e-6)


def test_teacher_disagreement_pairs_and_per_class():
    # 3 teachers, 4 videos, 2 classes; predictions: t0 = [0,0,1,1], t1 = [0,1,1,1], t2 = [1,1,1,1]
    onehot = lambda preds: np.eye(2)[preds] * 5  # noqa: E731
    logits = np.stack([onehot([0, 0, 1, 1]), onehot([0, 1, 1, 1]), onehot([1, 1, 1, 1])])
    labels = np.array([0, 0, 1, 1])
    result = metrics.teacher_disagreement(logits, labels, ["a", "b", "c"], 2)
    pairs = {(p["a"], p["b"]): p for p in result["pairs"]}
    assert pairs[("a", "b")]["disagreement"] == pytest.approx(0.25)
    assert pairs[("a", "c")]["disagreement"] == pytest.approx(0.5)
    assert pairs[("a", "c")]["per_class_disagreement"] == [1.0, 0.0]
    assert result["any_disagreement"] == pytest.approx(0.5)


def test_confusion_matrix_equals_scikit_learns():
    from sklearn.metrics import confusion_matrix as sklearn_confusion

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 6, 500)
    logits = rng.normal(size=(500, 6))
    expected = sklearn_confusion(labels, logits.argmax(1), labels=np.arange(6))
    assert np.array_equal(metrics.confusion_matrix(logits, labels, 6), expected)
