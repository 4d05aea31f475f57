"""kdlab's distillation losses: pure functions plus thin ``nn.Module`` wrappers, one module per method.

A plain-dict registry maps a method name to its loss module::

    from kdlab.losses import build_loss
    loss = build_loss("camkd", temperature=4.0, reference_scaling=True)

=============  ======================================================  ==========================
name           method                                                  module
=============  ======================================================  ==========================
``ce``         no distillation (the student alone)                     :mod:`kdlab.losses.kd`
``kd``         Hinton KD, one teacher                                  :mod:`kdlab.losses.kd`
``avg_kd``     mean of the per-teacher KD losses                       :mod:`~.multi_teacher`
``kd_to_avg``  KD to the mean of the teachers' soft targets            :mod:`~.multi_teacher`
``weighted_kd`` fixed teacher weights                                  :mod:`~.multi_teacher`
``ebkd``       entropy-weighted (Kwon et al., ICASSP 2020)             :mod:`kdlab.losses.ebkd`
``camkd``      confidence-aware (Zhang et al., ICASSP 2022)            :mod:`kdlab.losses.camkd`
``aekd``       adaptive ensemble in gradient space (Du et al. 2020)    :mod:`kdlab.losses.aekd`
``dkd``        decoupled KD (Zhao et al., CVPR 2022)                   :mod:`kdlab.losses.dkd`
``fitnets``    feature hints (Romero et al., ICLR 2015)                :mod:`kdlab.losses.fitnets`
``mmkd``       meta-learned teacher weights (Zhang et al., ICME 2023)  :mod:`kdlab.losses.mmkd`
``pkd``        progressive KD with early exits (Soufleri et al. 2024)  :mod:`kdlab.losses.pkd`
=============  ======================================================  ==========================

:func:`aggregation_weights` (:mod:`kdlab.losses.aggregation`) sets the multi-teacher weightings side
by side; :func:`soft_targets`, :func:`aggregate_targets` and :func:`kd_to_target` are the pieces to
show a distillation target by hand.
"""

from __future__ import annotations

import inspect
from typing import Any

from kdlab.errors import ConfigError
from kdlab.losses.aekd import AEKD, aekd_loss, aekd_weights
from kdlab.losses.aggregation import AGGREGATIONS, aggregation_weights
from kdlab.losses.base import DistillLoss, FeatureInputs
from kdlab.losses.camkd import CAMKD, camkd_feature_loss, camkd_kd_loss, confidence_weights
from kdlab.losses.dkd import DKD, dkd_loss, multi_dkd_loss
from kdlab.losses.ebkd import EBKD, ebkd_loss, entropy_weights
from kdlab.losses.fitnets import FitNets, hint_loss
from kdlab.losses.kd import KD, CrossEntropyOnly, cross_entropy, kd_loss, kd_per_sample, soft_targets
from kdlab.losses.mmkd import MMKD, WeightNet, mmkd_kd_loss
from kdlab.losses.pkd import PKD, exit_loss
from kdlab.losses.multi_teacher import (
    AvgKD,
    KDToAvg,
    WeightedKD,
    aggregate_targets,
    avg_kd,
    kd_to_avg,
    kd_to_target,
    weighted_kd,
)

LOSSES: dict[str, type[DistillLoss]] = {
    "ce": CrossEntropyOnly,
    "kd": KD,
    "avg_kd": AvgKD,
    "kd_to_avg": KDToAvg,
    "weighted_kd": WeightedKD,
    "ebkd": EBKD,
    "camkd": CAMKD,
    "aekd": AEKD,
    "dkd": DKD,
    "fitnets": FitNets,
    "mmkd": MMKD,
    "pkd": PKD,
}


def list_losses() -> list[str]:
    """Sorted names of the registered losses."""
    return sorted(LOSSES)


def build_loss(name: str, **kwargs: Any) -> DistillLoss:
    """Build the loss module ``name`` with its hyperparameters; unknown names or keys raise :class:`ConfigError`."""
    if name not in LOSSES:
        raise ConfigError(f"loss={name!r} is unknown; valid choices: {', '.join(list_losses())}")
    cls = LOSSES[name]
    accepted = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        raise ConfigError(
            f"loss {name!r} has no option(s) {unknown}; valid options: {', '.join(accepted) or '(none)'}"
        )
    return cls(**kwargs)


__all__ = [
    "AEKD",
    "AGGREGATIONS",
    "CAMKD",
    "DKD",
    "EBKD",
    "KD",
    "LOSSES",
    "MMKD",
    "PKD",
    "AvgKD",
    "CrossEntropyOnly",
    "DistillLoss",
    "FeatureInputs",
    "FitNets",
    "KDToAvg",
    "WeightNet",
    "WeightedKD",
    "aekd_loss",
    "aekd_weights",
    "aggregate_targets",
    "aggregation_weights",
    "avg_kd",
    "build_loss",
    "camkd_feature_loss",
    "camkd_kd_loss",
    "confidence_weights",
    "cross_entropy",
    "dkd_loss",
    "ebkd_loss",
    "entropy_weights",
    "exit_loss",
    "hint_loss",
    "kd_loss",
    "kd_per_sample",
    "kd_to_avg",
    "kd_to_target",
    "list_losses",
    "mmkd_kd_loss",
    "multi_dkd_loss",
    "soft_targets",
    "weighted_kd",
]
