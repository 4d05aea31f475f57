"""Metrics on per-video logits: accuracy, confusion, calibration, and how much teachers disagree.

All functions take numpy arrays: ``logits (N, C)``, ``labels (N,)``; teachers' logits as
``(K, N, C)``. They are pure and cheap, so notebooks and the dashboard call them directly.
"""

from __future__ import annotations

import numpy as np


def softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    z = logits - logits.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def topk_accuracy(logits: np.ndarray, labels: np.ndarray, k: int = 1) -> float:
    """Share of videos whose label is among the ``k`` highest scores."""
    k = min(k, logits.shape[1])
    top = np.argsort(-logits, axis=1)[:, :k]
    return float((top == labels[:, None]).any(axis=1).mean())


def confusion_matrix(logits: np.ndarray, labels: np.ndarray, num_classes: int) -> np.ndarray:
    """``(C, C)`` counts: row = true class, column = predicted class (scikit-learn's convention).

    ``counts[t, p]`` = number of clips of class ``t`` predicted ``p``: one ``bincount`` of ``t C + p``
    (no scikit-learn import, which would cost the dashboard's first page about a second).
    """
    predicted = logits.argmax(axis=1)
    flat = np.asarray(labels, np.int64) * num_classes + predicted
    return np.bincount(flat, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def mean_class_accuracy(logits: np.ndarray, labels: np.ndarray, num_classes: int) -> float:
    """Mean over the classes present of the per-class recall (UCF-101's 'mean class accuracy')."""
    cm = confusion_matrix(logits, labels, num_classes)
    support = cm.sum(axis=1)
    present = support > 0
    return float((np.diag(cm)[present] / support[present]).mean())


def expected_calibration_error(logits: np.ndarray, labels: np.ndarray, bins: int = 15) -> float:
    """ECE (Guo et al., ICML 2017): ``sum_b |B_b|/N * |acc(B_b) - conf(B_b)|`` over confidence bins."""
    probs = softmax(logits)
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        members = which == b
        if members.any():
            ece += members.mean() * abs(correct[members].mean() - confidence[members].mean())
    return float(ece)


def classification_metrics(logits: np.ndarray, labels: np.ndarray, num_classes: int) -> dict:
    """Top-1, top-5, mean class accuracy and calibration error, as percentages where usual."""
    return {
        "top1": 100 * topk_accuracy(logits, labels, 1),
        "top5": 100 * topk_accuracy(logits, labels, 5),
        "mean_class_accuracy": 100 * mean_class_accuracy(logits, labels, num_classes),
        "ece": expected_calibration_error(logits, labels),
        "videos": int(len(labels)),
    }


def disagreement_rate(logits_a: np.ndarray, logits_b: np.ndarray) -> float:
    """Share of videos on which two models predict different classes."""
    return float((logits_a.argmax(axis=1) != logits_b.argmax(axis=1)).mean())


def js_divergence(logits_a: np.ndarray, logits_b: np.ndarray) -> np.ndarray:
    """Per-video Jensen-Shannon divergence (nats) between two models' softmax, ``(N,)``.

    ``JS(p, q) = (KL(p || m) + KL(q || m)) / 2`` with ``m = (p + q) / 2``; in ``[0, ln 2]``.
    """
    p, q = softmax(logits_a), softmax(logits_b)
    m = (p + q) / 2
    eps = 1e-12
    kl = lambda x, y: (x * (np.log(x + eps) - np.log(y + eps))).sum(axis=1)  # noqa: E731
    return (kl(p, m) + kl(q, m)) / 2


def teacher_disagreement(teacher_logits: np.ndarray, labels: np.ndarray, names: list[str], num_classes: int) -> dict:
    """Pairwise disagreement and JS divergence of K models, overall and per true class.

    Returns ``{"pairs": [{"a", "b", "disagreement", "js", "per_class_disagreement": [C]}...],
    "any_disagreement": share of videos where not all K agree}``.
    """
    k = len(teacher_logits)
    pairs = []
    for i in range(k):
        for j in range(i + 1, k):
            differs = teacher_logits[i].argmax(1) != teacher_logits[j].argmax(1)
            per_class = [float(differs[labels == c].mean()) if (labels == c).any() else float("nan") for c in range(num_classes)]
            pairs.append({
                "a": names[i], "b": names[j],
                "disagreement": float(differs.mean()),
                "js": float(js_divergence(teacher_logits[i], teacher_logits[j]).mean()),
                "per_class_disagreement": per_class,
            })
    predictions = teacher_logits.argmax(axis=2)
    return {"pairs": pairs, "any_disagreement": float((predictions != predictions[:1]).any(axis=0).mean())}


def teacher_complementarity(teacher_logits: np.ndarray, labels: np.ndarray, names: list[str],
                            fused_logits: np.ndarray | None = None) -> dict:
    """What several teachers know that the first one (the I-frame teacher) does not.

    ``teacher_logits (K, N, C)``. Returns each teacher's top-1 (%), the *oracle* top-1 (a clip
    counts when at least one teacher is right: the most any use of the teachers could reach),
    the share of clips the first teacher gets wrong (``first_wrong``) and, per other teacher, the
    share of all clips it gets right where the first is wrong (``right_where_first_wrong``), and
    the fused top-1 when ``fused_logits`` is given. Disagreement alone is not complementarity:
    a teacher that is wrong where the first is right adds nothing.
    """
    right = teacher_logits.argmax(axis=2) == labels[None]  # (K, N)
    first_wrong = ~right[0]
    out = {
        "names": list(names),
        "top1": {n: 100 * float(r.mean()) for n, r in zip(names, right)},
        "oracle_top1": 100 * float(right.any(axis=0).mean()),
        "first_wrong": 100 * float(first_wrong.mean()),
        "right_where_first_wrong": {n: 100 * float((r & first_wrong).mean()) for n, r in zip(names[1:], right[1:])},
        "any_right_where_first_wrong": 100 * float((right[1:].any(axis=0) & first_wrong).mean()),
        "videos": int(len(labels)),
    }
    if fused_logits is not None:
        out["fused_top1"] = 100 * topk_accuracy(fused_logits, labels, 1)
    return out
