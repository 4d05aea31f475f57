"""Early exits (internal classifiers) on a stream network's stages, attached without changing the network.

Each exit reads the output of one ResNet stage (``layer1``, ``layer2``, ``layer3``; ``layer4`` feeds
the network's own head) through a forward hook, then pools, classifies and takes the TSN mean::

    f_e = stage_e(...)                      (B*T, D_e, h_e, w_e)      captured by a forward hook
    z_e = mean_T( W_e avgpool(f_e) + b_e )   (B, C)

The network is unchanged (its ``state_dict`` and outputs stay the same); the exit heads live in
the loss module that attaches them (:class:`kdlab.losses.pkd.PKD`), so they are saved with it.
At test time, exit ``e`` needs only the stem, stages ``1..e`` and its head: :func:`exit_flops`
counts that cost, the early exits' speed/accuracy trade-off.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch.utils.flop_counter import FlopCounterMode

from kdlab.errors import ConfigError
from kdlab.models.stems import IN_CHANNELS

STAGES = ("layer1", "layer2", "layer3")


def stage_channels(model: nn.Module, stage: str) -> int:
    """Output channels of ``model.<stage>`` (a ResNet stage); :class:`ConfigError` when it has none."""
    module = getattr(model, stage, None)
    if stage not in STAGES or not isinstance(module, nn.Sequential):
        raise ConfigError(f"exits: {stage!r} is not a stage of {getattr(model, 'arch', '') or type(model).__name__};"
                          f" early exits attach to ResNet stages {list(STAGES)}")
    block = module[-1]  # torchvision's BasicBlock ends in bn2, Bottleneck in bn3
    return (block.bn3 if hasattr(block, "bn3") else block.bn2).num_features


class ExitHead(nn.Module):
    """``(B*T, D, h, w)`` -> ``(B, C)``: global average pool, linear classifier, mean over T segments."""

    def __init__(self, channels: int, num_classes: int):
        super().__init__()
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, features: Tensor, batch: int) -> Tensor:
        logits = self.fc(features.mean(dim=(-2, -1)))
        return logits.reshape(batch, -1, logits.shape[-1]).mean(dim=1)


class ExitTap:
    """Forward hooks on ``model``'s stages that keep each stage's latest output (``features[stage]``)."""

    def __init__(self, model: nn.Module, stages: Sequence[str]):
        self.features: dict[str, Tensor] = {}
        self.handles = [getattr(model, s).register_forward_hook(self._keep(s)) for s in stages]

    def _keep(self, stage: str):
        def hook(_module, _inputs, output):
            self.features[stage] = output
        return hook

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()


def exit_flops(model: nn.Module, heads: dict[str, nn.Module], size: int) -> list[int]:
    """FLOPs (2 x multiply-adds) of one ``size`` x ``size`` frame up to each exit (stem, stages ``1..e``,
    exit head), in the order of ``heads``, then of the whole network (its own head)."""
    x = torch.zeros(1, IN_CHANNELS[model.representation], size, size, device=next(model.parameters()).device)
    was_training = model.training
    model.eval()
    costs, spent = {}, 0

    def counted(fn, *args):
        counter = FlopCounterMode(display=False)
        with counter:
            out = fn(*args)
        return out, int(counter.get_total_flops())

    with torch.no_grad():
        h, spent = counted(lambda t: model.maxpool(model.relu(model.bn1(model.conv1(model.data_bn(t))))), x)
        for stage in ("layer1", "layer2", "layer3", "layer4"):
            h, cost = counted(getattr(model, stage), h)
            spent += cost
            if stage in heads:
                costs[stage] = spent + counted(heads[stage], h, 1)[1]
        costs["final"] = spent + counted(model.frame_logits, h)[1]
    model.train(was_training)
    return [costs[s] for s in heads] + [costs["final"]]
