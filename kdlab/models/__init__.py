"""kdlab's networks: CoViAR's ResNets and MobileNetV3 students for I-frames, motion vectors and residuals.

Every model follows the contract of :class:`kdlab.models.stems.TSNNet` (input ``(B, T, C, H, W)``,
``forward_features``, ``forward_head``, ``get_classifier``); build one with :func:`create_model`.
"""

from kdlab.models import mobilenet, resnet  # noqa: F401  (registers the factories)
from kdlab.models.fusion import COVIAR_FUSION_WEIGHTS, late_fusion
from kdlab.models.registry import create_model, list_models, register_model
from kdlab.models.stems import IN_CHANNELS, REPRESENTATIONS, TSNNet

__all__ = [
    "COVIAR_FUSION_WEIGHTS",
    "IN_CHANNELS",
    "REPRESENTATIONS",
    "TSNNet",
    "create_model",
    "late_fusion",
    "list_models",
    "register_model",
]
