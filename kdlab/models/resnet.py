"""CoViAR's ResNets with a width multiplier, for every representation.

One class, :class:`ResNet`, built from torchvision's ``BasicBlock`` / ``Bottleneck``. Stage widths are
``round(64 * width_mult) * (1, 2, 4, 8)``; ``layers`` overrides the blocks per stage. At
``width_mult=1`` and the default ``layers`` the module names, state_dict keys and parameter counts equal
torchvision's ``resnetXX`` (plus ``data_bn`` for ``mv`` / ``residual``), so ``pretrained=True`` loads
torchvision's ImageNet weights. Scaled-down networks are the same code with other kwargs.

Shapes (``B`` clips, ``T`` segments, ``C`` = 3, or 2 for ``mv``)::

    x (B, T, C, H, W) -> forward_features -> (B*T, D, H/32, W/32) -> forward_head -> (B, num_classes)
    D = num_features = 8 * round(64 * width_mult) * block.expansion   (512 for resnet18/34, 2048 for 50/101/152)

Registered full-size models (parameters with 1000 classes, iframe stem; MACs per 64x64 frame):
``resnet18`` 11.69 M / 148.6 M, ``resnet34`` 21.80 M / 299.6 M, ``resnet50`` 25.56 M / 335.7 M,
``resnet101`` 44.55 M / 638.7 M, ``resnet152`` 60.19 M / 941.8 M, and the narrower student
``resnet18_narrow`` (``width_mult=0.5``) 3.06 M / 39.7 M. (At 224x224 the MACs are about 12x these.)
The ``mv`` stem has 3,132 parameters fewer than ``iframe`` (2-channel ``conv1``: -3,136; ``data_bn``: +4),
the ``residual`` stem 6 more (``data_bn``); at ``width_mult`` w, ``conv1`` has ``round(64 w)`` filters.

Tiny variants (``width_mult=0.125``, base width 8; the narrow one 0.0625) for training a whole study
on 2 CPU cores at 64x64. Measured on one 64x64 iframe with ``torch.utils.flop_counter.FlopCounterMode``
(MACs = FLOPs / 2, convolutions and linear layers), parameters with 101 classes; the last column is one
SGD step (forward + backward) on a batch of 16 clips x 3 segments at 64x64, 2 CPU threads:

========================  ==========  ===  ==========  ============  =========
name                      width_mult  D    parameters  MACs / frame  SGD step
========================  ==========  ===  ==========  ============  =========
``resnet18_tiny``         0.125       64   183,277     3.37 M        ~17 ms
``resnet34_tiny``         0.125       64   342,029     5.73 M        ~27 ms
``resnet50_tiny``         0.125       256  400,109     6.29 M        ~50 ms
``resnet101_tiny``        0.125       256  702,573     11.03 M       ~87 ms
``resnet152_tiny``        0.125       256  952,045     15.76 M       ~124 ms
``resnet18_narrow_tiny``  0.0625      32   48,105      1.15 M        ~14 ms
========================  ==========  ===  ==========  ============  =========

CoViAR at tiny scale keeps the paper's ratio: ``resnet152_tiny`` + 2 x ``resnet18_tiny`` has about 2.4x the
parameters of 3 x ``resnet18_tiny``. Any variant takes ``width_mult=...`` / ``layers=[...]`` overrides.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn
from torchvision.models.resnet import BasicBlock, Bottleneck, conv1x1

from kdlab.errors import ConfigError
from kdlab.models.registry import register_model
from kdlab.models.stems import TSNNet, load_pretrained

Block = type[BasicBlock] | type[Bottleneck]

#: torchvision name -> (block, blocks per stage)
RESNET_SPECS: dict[str, tuple[Block, tuple[int, int, int, int]]] = {
    "resnet18": (BasicBlock, (2, 2, 2, 2)),
    "resnet34": (BasicBlock, (3, 4, 6, 3)),
    "resnet50": (Bottleneck, (3, 4, 6, 3)),
    "resnet101": (Bottleneck, (3, 4, 23, 3)),
    "resnet152": (Bottleneck, (3, 8, 36, 3)),
}
TINY_WIDTH = 0.125
NARROW_WIDTH = 0.5


class ResNet(TSNNet):
    """A torchvision-compatible ResNet with CoViAR's per-representation stem and TSN consensus.

    Args:
        block: torchvision's ``BasicBlock`` or ``Bottleneck``.
        layers: blocks per stage, e.g. ``(2, 2, 2, 2)`` for ResNet-18.
        representation: ``iframe``, ``mv`` or ``residual``.
        num_classes: output classes.
        width_mult: stage widths ``round(64 * width_mult) * (1, 2, 4, 8)``.
        drop_rate: dropout before ``fc`` (0 in CoViAR).
        zero_init_residual: start every residual branch's last BatchNorm at 0, so that each block
            begins as the identity (Goyal et al. 2017, arXiv:1706.02677); torchvision's option of
            the same name. Steadier training from scratch; no effect on ImageNet weights, which
            replace it.
    """

    def __init__(
        self,
        block: Block,
        layers: Sequence[int],
        representation: str = "iframe",
        num_classes: int = 1000,
        width_mult: float = 1.0,
        drop_rate: float = 0.0,
        zero_init_residual: bool = False,
    ):
        super().__init__(representation, num_classes)
        if width_mult <= 0 or len(layers) != 4 or min(layers) < 1:
            raise ConfigError(f"ResNet needs width_mult > 0 and 4 stages of >= 1 block, got {width_mult=}, {layers=}")
        base = max(1, round(64 * width_mult))
        self.inplanes = base
        self.conv1 = nn.Conv2d(self.in_channels, base, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(base)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, base, layers[0])
        self.layer2 = self._make_layer(block, base * 2, layers[1], stride=2)
        self.layer3 = self._make_layer(block, base * 4, layers[2], stride=2)
        self.layer4 = self._make_layer(block, base * 8, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(drop_rate)
        self.num_features = base * 8 * block.expansion
        self.fc = nn.Linear(self.num_features, num_classes)
        for m in self.modules():  # torchvision's initialisation
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, Bottleneck):
                    nn.init.constant_(m.bn3.weight, 0)
                elif isinstance(m, BasicBlock):
                    nn.init.constant_(m.bn2.weight, 0)

    def _make_layer(self, block: Block, planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                conv1x1(self.inplanes, planes * block.expansion, stride), nn.BatchNorm2d(planes * block.expansion)
            )
        # base_width=64 keeps the Bottleneck's inner width equal to `planes` at any width_mult
        stages = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        stages += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*stages)

    def backbone_features(self, frames: Tensor) -> Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(frames))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))

    def frame_logits(self, features: Tensor) -> Tensor:
        return self.fc(self.dropout(self.avgpool(features).flatten(1)))

    def get_classifier(self) -> nn.Linear:
        return self.fc


#: registry name -> (torchvision architecture, default width_mult, description)
RESNET_VARIANTS: dict[str, tuple[str, float, str]] = {
    "resnet18": ("resnet18", 1.0, "ResNet-18: CoViAR's MV and residual network, the paper's I-frame student."),
    "resnet34": ("resnet34", 1.0, "ResNet-34."),
    "resnet50": ("resnet50", 1.0, "ResNet-50."),
    "resnet101": ("resnet101", 1.0, "ResNet-101."),
    "resnet152": ("resnet152", 1.0, "ResNet-152: CoViAR's I-frame network, the paper's teacher."),
    "resnet18_narrow": ("resnet18", NARROW_WIDTH, "ResNet-18 at half width: a narrower student."),
    **{f"{arch}_tiny": (arch, TINY_WIDTH, f"{arch} scaled down for CPU studies.") for arch in RESNET_SPECS},
    "resnet18_narrow_tiny": ("resnet18", TINY_WIDTH * NARROW_WIDTH, "The narrow ResNet-18 at tiny scale."),
}


def _register_resnet(name: str, tv_name: str, default_width: float, description: str) -> None:
    """Register ``name`` as torchvision's ``tv_name`` architecture with another default ``width_mult``."""

    def factory(
        representation: str = "iframe",
        num_classes: int = 1000,
        pretrained: bool | str = False,
        width_mult: float = default_width,
        layers: Sequence[int] | None = None,
        drop_rate: float = 0.0,
        zero_init_residual: bool = False,
    ) -> ResNet:
        block, default_layers = RESNET_SPECS[tv_name]
        layers = tuple(layers) if layers is not None else default_layers
        model = ResNet(block, layers, representation, num_classes, width_mult, drop_rate, zero_init_residual)
        if pretrained:
            if width_mult != 1.0 or layers != default_layers:
                raise ConfigError(
                    f"pretrained=true needs the full-size {tv_name} (width_mult=1, layers={list(default_layers)}),"
                    f" got width_mult={width_mult}, layers={list(layers)}; set pretrained=false"
                )
            load_pretrained(model, tv_name, conv1_key="conv1.weight", classifier_prefix="fc.", source=pretrained)
        return model

    register_model(factory, name, f"{description} (torchvision {tv_name}, width_mult={default_width})")


for _name, _variant in RESNET_VARIANTS.items():
    _register_resnet(_name, *_variant)
