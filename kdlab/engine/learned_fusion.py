"""Learned late fusion: per-output temperatures and weights fitted on the validation split (WISE-style).

Soufleri, Ravikumar, Roy, "Advancing Compressed Video Action Recognition through Progressive
Knowledge Distillation", arXiv 2407.02713, 2024 (WISE: weighted inference with scaled ensembles).
Instead of CoViAR's fixed ``2 x I + 1 x MV + 1 x R`` on logits, each of the K outputs (a stream, or an
early exit of a stream) is first calibrated by temperature scaling, then the calibrated
log-probabilities are pooled with learned weights on the simplex (a logarithmic opinion pool)::

    l_k(c | x) = log softmax(z_k(x) / tau_k)_c                                 (per output k)
    s(c | x)   = sum_k w_k l_k(c | x),     w_k >= 0, sum_k w_k = 1             (fused score)
    p(c | x)   = softmax_c s(c | x)

Both are fitted on the **validation split** (held-out groups of the training list, scored under
the test protocol: ``val_logits`` in each run's ``predictions.npz``), never on the test list:

- ``tau_k`` minimises the validation negative log-likelihood of output k alone (Guo et al., ICML 2017;
  bounded search over ``log tau_k`` in [-4, 4]);
- then ``w`` minimises the validation NLL of ``p`` over the simplex (convex: ``s`` is linear in ``w``),
  by SLSQP from equal weights.

Where the paper leaves a choice open, this takes the simplest reading and says so: two stages
(temperatures, then weights) rather than a joint fit; a weighted sum of log-probabilities (the form
of CoViAR's weighted sum of logits, of which 2:1:1 is a point: ``w_k / tau_k`` proportional to 2, 1, 1)
rather than a mixture of probabilities, which lets the most confident stream decide and, measured on
the demo's streams, fell to the I-frame stream's accuracy; weights on the simplex, because on a
validation split the fused streams often classify perfectly, and unbounded weights then grow without
end. Only the weights' ratios change a prediction. The fused "logits" written to ``predictions.npz``
are ``log p(c | x)``.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize, minimize_scalar
from scipy.special import log_softmax, softmax

LOG_TAU_BOUNDS = (-4.0, 4.0)


def nll(logits: np.ndarray, labels: np.ndarray, temperature: float = 1.0) -> float:
    """Mean negative log-likelihood of ``softmax(z / T)``: ``(N, C), (N,) -> float``."""
    logp = log_softmax(np.asarray(logits, np.float64) / temperature, axis=1)
    return float(-logp[np.arange(len(labels)), labels].mean())


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """``tau = argmin NLL(softmax(z / tau))`` on ``(N, C)`` validation logits and ``(N,)`` labels."""
    result = minimize_scalar(lambda a: nll(logits, labels, float(np.exp(a))), bounds=LOG_TAU_BOUNDS,
                             method="bounded", options={"xatol": 1e-6})
    return float(np.exp(result.x))


def fused_nll(weights: np.ndarray, logp: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """NLL of ``softmax(sum_k w_k l_k)`` and its gradient in ``w``: ``(K,), (K, N, C), (N,) -> (float, (K,))``.

    ``d NLL / d w_k = mean_n [ sum_c p(c | x_n) l_k(c | x_n) - l_k(y_n | x_n) ]``."""
    s = np.tensordot(weights, logp, axes=1)  # (N, C)
    rows = np.arange(len(labels))
    p = softmax(s, axis=1)
    value = float(-log_softmax(s, axis=1)[rows, labels].mean())
    grad = ((p[None] * logp).sum(-1) - logp[:, rows, labels]).mean(1)
    return value, grad


def fit_weights(logp: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """``w`` on the simplex minimising :func:`fused_nll` on calibrated validation log-probabilities ``(K, N, C)``."""
    k = logp.shape[0]
    if k == 1:
        return np.ones(1)
    result = minimize(fused_nll, np.full(k, 1.0 / k), args=(logp, labels), jac=True, method="SLSQP",
                      bounds=[(0.0, 1.0)] * k, constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1.0,
                                                             "jac": lambda w: np.ones_like(w)}],
                      options={"ftol": 1e-12, "maxiter": 1000})
    w = np.clip(result.x, 0.0, None)
    return w / w.sum()


def fit_fusion(stream_logits: np.ndarray, labels: np.ndarray) -> dict:
    """Temperatures, then weights, from validation logits ``(K, N, C)`` and labels ``(N,)``.

    Returns ``{"temperatures": [K], "weights": [K], "val_nll": fused NLL, "val_top1": %}``."""
    z = np.asarray(stream_logits, np.float64)
    labels = np.asarray(labels)
    temperatures = np.array([fit_temperature(z_k, labels) for z_k in z])
    logp = np.stack([log_softmax(z_k / t, axis=1) for z_k, t in zip(z, temperatures)])
    weights = fit_weights(logp, labels)
    fused = apply_fusion(z, weights, temperatures)
    return {"temperatures": temperatures.tolist(), "weights": weights.tolist(),
            "val_nll": float(-fused[np.arange(len(labels)), labels].mean()),
            "val_top1": float(100 * (fused.argmax(1) == labels).mean())}


def apply_fusion(stream_logits: np.ndarray, weights, temperatures) -> np.ndarray:
    """``log softmax(sum_k w_k log softmax(z_k / tau_k))``: ``(K, N, C)`` -> ``(N, C)`` float32."""
    z = np.asarray(stream_logits, np.float64)
    logp = np.stack([log_softmax(z_k / t, axis=1) for z_k, t in zip(z, temperatures)])
    return log_softmax(np.tensordot(np.asarray(weights, np.float64), logp, axes=1), axis=1).astype(np.float32)
