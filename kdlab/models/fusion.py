"""CoViAR's late fusion: a weighted sum of the per-stream video scores.

CoViAR (Wu et al., CVPR 2018; pytorch-coviar ``combine.py``) averages each stream's logits over the
test segments and crops, then adds them with weights I : MV : R = 2 : 1 : 1 (no softmax, no
normalisation of the weights)::

    fused[n, c] = sum_s  w_s * scores_s[n, c]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeVar

import numpy as np
import torch

from kdlab.errors import ConfigError

#: CoViAR's fusion weights.
COVIAR_FUSION_WEIGHTS: dict[str, float] = {"iframe": 2.0, "mv": 1.0, "residual": 1.0}

Scores = TypeVar("Scores", torch.Tensor, np.ndarray)


def late_fusion(
    scores: Mapping[str, Scores] | Sequence[Scores],
    weights: Mapping[str, float] | Sequence[float] = COVIAR_FUSION_WEIGHTS,
) -> Scores:
    """Weighted sum of per-stream scores, each ``(N, num_classes)`` (mean logits of N videos).

    Args:
        scores: ``{stream: (N, C)}`` or a sequence of ``(N, C)`` arrays, all torch tensors or all numpy arrays.
        weights: ``{stream: weight}`` for a dict of scores (default: CoViAR's 2:1:1 by stream name), or a
            sequence of the same length as a sequence of scores. Weights are used as given (not normalised).

    Returns:
        ``(N, C)`` fused scores, of the same kind (tensor or ndarray) as the inputs.

    Raises:
        ConfigError: a stream has no weight, the lengths differ, or the shapes disagree.

    Example::

        fused = late_fusion({"iframe": s_i, "mv": s_m, "residual": s_r})   # 2*s_i + s_m + s_r
    """
    if isinstance(scores, Mapping):
        if not isinstance(weights, Mapping):
            raise ConfigError("late_fusion: scores given by stream name need weights by stream name")
        missing = [name for name in scores if name not in weights]
        if missing:
            raise ConfigError(
                f"late_fusion: no weight for stream(s) {missing}; weights are given for {sorted(weights)}"
            )
        pairs = [(scores[name], float(weights[name])) for name in scores]
    else:
        if isinstance(weights, Mapping) or len(weights) != len(scores):
            raise ConfigError(
                f"late_fusion: {len(scores)} score arrays need a sequence of {len(scores)} weights, got {weights!r}"
            )
        pairs = [(s, float(w)) for s, w in zip(scores, weights)]
    if not pairs:
        raise ConfigError("late_fusion: no scores to fuse")
    shapes = {tuple(s.shape) for s, _ in pairs}
    if len(shapes) != 1:
        raise ConfigError(f"late_fusion: the streams' scores have different shapes {sorted(shapes)}")
    fused = pairs[0][0] * pairs[0][1]
    for s, w in pairs[1:]:
        fused = fused + s * w
    return fused
