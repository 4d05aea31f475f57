"""MobileNetV3 students (small and large) with CoViAR's per-representation stems.

:class:`MobileNetV3` wraps torchvision's ``mobilenet_v3_small`` / ``mobilenet_v3_large`` built with a
``width_mult`` (torchvision rounds every width to a multiple of 8). It keeps torchvision's module names
(``features``, ``avgpool``, ``classifier``), so at ``width_mult=1`` its state_dict keys and parameter
counts equal torchvision's (plus ``data_bn`` for ``mv`` / ``residual``); for ``mv`` the first conv
(``features.0.0``) takes 2 channels.

Shapes::

    x (B, T, C, H, W) -> forward_features -> (B*T, D, H/32, W/32) -> forward_head -> (B, num_classes)
    D = num_features = the last conv's channels (576 for small, 960 for large at width_mult=1)
    head: avgpool -> Linear(D, last_channel) -> Hardswish -> Dropout -> Linear(last_channel, num_classes)

Registered full-size models (parameters with 1000 classes, iframe stem; MACs per 64x64 frame):
``mobilenet_v3_small`` 2.54 M / 6.5 M, ``mobilenet_v3_large`` 5.48 M / 21.4 M. The ``mv`` stem has
140 parameters fewer (2-channel first conv: -144; ``data_bn``: +4), the ``residual`` stem 6 more.

Tiny variants (``width_mult=0.25``), measured as in :mod:`kdlab.models.resnet` (101 classes):

=============================  ==========  ===  ==========  ============  =========
name                           width_mult  D    parameters  MACs / frame  SGD step
=============================  ==========  ===  ==========  ============  =========
``mobilenet_v3_small_tiny``    0.25        144  143,229     0.81 M        ~36 ms
``mobilenet_v3_large_tiny``    0.25        240  328,421     2.19 M        ~82 ms
=============================  ==========  ===  ==========  ============  =========
"""

from __future__ import annotations

import torchvision
from torch import Tensor, nn

from kdlab.errors import ConfigError
from kdlab.models.registry import register_model
from kdlab.models.stems import TSNNet, load_pretrained

TINY_WIDTH = 0.25


class MobileNetV3(TSNNet):
    """torchvision's MobileNetV3 (``variant`` ``"small"`` or ``"large"``) under the kdlab contract.

    Args:
        variant: ``"small"`` or ``"large"``.
        representation: ``iframe``, ``mv`` or ``residual``.
        num_classes: output classes.
        width_mult: torchvision's width multiplier.
        drop_rate: dropout inside the classifier head (torchvision's default 0.2).
    """

    def __init__(
        self,
        variant: str,
        representation: str = "iframe",
        num_classes: int = 1000,
        width_mult: float = 1.0,
        drop_rate: float = 0.2,
    ):
        super().__init__(representation, num_classes)
        if width_mult <= 0:
            raise ConfigError(f"MobileNetV3 needs width_mult > 0, got {width_mult}")
        build = getattr(torchvision.models, f"mobilenet_v3_{variant}")
        net = build(weights=None, width_mult=width_mult, num_classes=num_classes, dropout=drop_rate)
        self.features, self.avgpool, self.classifier = net.features, net.avgpool, net.classifier
        stem = self.features[0][0]
        if self.in_channels != stem.in_channels:
            self.features[0][0] = nn.Conv2d(
                self.in_channels, stem.out_channels, stem.kernel_size, stem.stride, stem.padding, bias=False
            )
            nn.init.kaiming_normal_(self.features[0][0].weight, mode="fan_out")
        self.num_features = self.classifier[0].in_features

    def backbone_features(self, frames: Tensor) -> Tensor:
        return self.features(frames)

    def frame_logits(self, features: Tensor) -> Tensor:
        return self.classifier(self.avgpool(features).flatten(1))

    def get_classifier(self) -> nn.Linear:
        return self.classifier[-1]


#: registry name -> (torchvision variant, default width_mult)
MOBILENET_VARIANTS: dict[str, tuple[str, float]] = {
    "mobilenet_v3_small": ("small", 1.0),
    "mobilenet_v3_large": ("large", 1.0),
    "mobilenet_v3_small_tiny": ("small", TINY_WIDTH),
    "mobilenet_v3_large_tiny": ("large", TINY_WIDTH),
}


def _register_mobilenet(name: str, variant: str, default_width: float) -> None:
    """Register ``name`` as torchvision's MobileNetV3-``variant`` with another default ``width_mult``."""

    def factory(
        representation: str = "iframe",
        num_classes: int = 1000,
        pretrained: bool | str = False,
        width_mult: float = default_width,
        drop_rate: float = 0.2,
    ) -> MobileNetV3:
        model = MobileNetV3(variant, representation, num_classes, width_mult, drop_rate)
        if pretrained:
            if width_mult != 1.0:
                raise ConfigError(
                    f"pretrained=true needs the full-size mobilenet_v3_{variant} (width_mult=1),"
                    f" got width_mult={width_mult}; set pretrained=false"
                )
            load_pretrained(
                model, f"mobilenet_v3_{variant}", conv1_key="features.0.0.weight", classifier_prefix="classifier.3.",
                source=pretrained,
            )
        return model

    register_model(factory, name, f"MobileNetV3-{variant.capitalize()} (Howard et al., ICCV 2019), width_mult={default_width}.")


for _name, _variant in MOBILENET_VARIANTS.items():
    _register_mobilenet(_name, *_variant)
