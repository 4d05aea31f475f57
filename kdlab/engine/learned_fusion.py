"""Learned late fusion: per-output temperatures and weights fitted on the validation split (WISE-style).

Soufleri, Ravikumar, Roy, "Advancing Compressed Video Action Recognition through Progressive
Knowledge Distillation", arXiv 2407.02713, 2024 (WISE: weighted inference with scaled ensembles).
Instead of CoViAR's fixed ``2 x I + 1 x MV + 1 x R`` on logits, each of the K outputs (a stream, or an
early exit of a stream) is first calibrated by temperature scaling, then the calibrated
probabilities are mixed with weights on the simplex::

    p_k(c | x) = softmax(z_k(x) / tau_k)_c                                   (per output k)
    p(c | x)   = sum_k w_k p_k(c | x),     w_k >= 0, sum_k w_k = 1            (fused)

Both are fitted on the **validation split** (held-out groups of the training list, scored under
the test protocol: ``val_logits`` in each run's ``predictions.npz``), never on the test list:

- ``tau_k`` minimises the validation negative log-likelihood of ``p_k`` alone (Guo et al., ICML 2017;
  convex in ``1 / tau_k``; bounded search over ``log tau_k`` in [-4, 4]);
- then ``w`` minimises the validation NLL of the mixture, ``-mean_n log sum_k w_k p_k(y_n | x_n)``,
  by EM (convex in ``w``; each EM step is ``w_k <- mean_n w_k p_k(y_n|x_n) / p(y_n|x_n)``).

Where the paper leaves a choice open, this takes the simplest reading and says so: two stages
(temperatures, then weights) rather than a joint fit; a mixture of probabilities rather than a
weighted sum of logits (whose weights and temperatures could not be told apart). The fused
"logits" written to ``predictions.npz`` are ``log p(c | x)`` (same argmax, proper scores).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, logsumexp

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


def fit_mixture_weights(likelihoods: np.ndarray, iterations: int = 1000, tol: float = 1e-12) -> np.ndarray:
    """EM for the mixture weights: ``likelihoods (K, N)`` = ``p_k(y_n | x_n)`` -> ``w (K,)`` on the simplex,
    the maximiser of ``mean_n log sum_k w_k p_k(y_n | x_n)``; starts uniform."""
    lik = np.maximum(np.asarray(likelihoods, np.float64), 1e-300)
    w = np.full(lik.shape[0], 1.0 / lik.shape[0])
    for _ in range(iterations):
        resp = w[:, None] * lik
        new = (resp / resp.sum(0, keepdims=True)).mean(1)
        if np.abs(new - w).max() < tol:
            return new
        w = new
    return w


def fit_fusion(stream_logits: np.ndarray, labels: np.ndarray) -> dict:
    """Temperatures, then weights, from validation logits ``(K, N, C)`` and labels ``(N,)``.

    Returns ``{"temperatures": [K], "weights": [K], "val_nll": fused NLL, "val_top1": %}``."""
    z = np.asarray(stream_logits, np.float64)
    labels = np.asarray(labels)
    temperatures = np.array([fit_temperature(z_k, labels) for z_k in z])
    rows = np.arange(len(labels))
    likelihoods = np.stack([np.exp(log_softmax(z_k / t, axis=1))[rows, labels] for z_k, t in zip(z, temperatures)])
    weights = fit_mixture_weights(likelihoods)
    fused = apply_fusion(z, weights, temperatures)
    return {"temperatures": temperatures.tolist(), "weights": weights.tolist(),
            "val_nll": float(-fused[rows, labels].mean()), "val_top1": float(100 * (fused.argmax(1) == labels).mean())}


def apply_fusion(stream_logits: np.ndarray, weights, temperatures) -> np.ndarray:
    """``log sum_k w_k softmax(z_k / tau_k)``: ``(K, N, C)`` -> ``(N, C)`` float32 (log-probabilities)."""
    z = np.asarray(stream_logits, np.float64)
    w = np.asarray(weights, np.float64)
    logp = np.stack([log_softmax(z_k / t, axis=1) for z_k, t in zip(z, temperatures)])
    with np.errstate(divide="ignore"):
        return logsumexp(logp + np.log(w)[:, None, None], axis=0).astype(np.float32)
