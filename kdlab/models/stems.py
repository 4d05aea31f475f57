"""Per-representation input stems and the TSN contract shared by every kdlab network.

CoViAR (Wu et al., CVPR 2018; github chaoyuaw/pytorch-coviar, ``model.py``) feeds three
representations of a compressed video to three torchvision ResNets that differ only at the input:

=============  ========  =====================================================================
representation channels stem
=============  ========  =====================================================================
``iframe``     3         plain: the ImageNet network as it is
``mv``         2         ``data_bn = BatchNorm2d(2)`` on the input, then a 2-channel ``conv1``
``residual``   3         ``data_bn = BatchNorm2d(3)`` on the input
=============  ========  =====================================================================

:class:`TSNNet` implements the contract of all kdlab models on top of a backbone:

- input ``x``: ``(B, T, C, H, W)`` (T = TSN segments) or ``(B, C, H, W)`` (read as T = 1);
- ``forward_features(x) -> (B*T, D, h, w)``: the final feature map, before global pooling;
- ``forward_head(features, num_segments) -> (B, num_classes)``: per-frame logits, then the TSN
  consensus, the mean of the logits over the T segments;
- ``forward(x) -> (B, num_classes)``;
- attributes ``representation``, ``num_features`` (D), ``num_classes``, ``arch`` (registry name);
- ``get_classifier() -> nn.Linear``: the final linear layer.

Pretrained weights come from torchvision's weights API (downloaded, or read from torch's hub cache)
or from a local file of the same state_dict (``pretrained="path/to/resnet152.pth"``). For ``mv`` the RGB ``conv1`` kernel
``(O, 3, k, k)`` is averaged over its input channels and repeated to ``(O, 2, k, k)`` (TSN's
cross-modality initialisation). Note: pytorch-coviar's ``model.py`` instead replaces ``conv1`` by
a freshly initialised ``Conv2d(2, 64)``; kdlab keeps the ImageNet edge detectors.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn

from kdlab.errors import ConfigError
from kdlab.representations import REPRESENTATIONS

#: Input channels of each representation.
IN_CHANNELS: dict[str, int] = dict(zip(REPRESENTATIONS, (3, 2, 3)))


def check_representation(representation: str) -> str:
    """Return ``representation`` if kdlab knows it, else raise :class:`ConfigError`."""
    if representation not in IN_CHANNELS:
        raise ConfigError(
            f"representation={representation!r} is unknown; valid choices: {', '.join(REPRESENTATIONS)}"
        )
    return representation


def input_norm(representation: str) -> nn.Module:
    """CoViAR's input stem: ``BatchNorm2d(C)`` for ``mv`` / ``residual``, identity for ``iframe``."""
    if representation == "iframe":
        return nn.Identity()
    return nn.BatchNorm2d(IN_CHANNELS[representation])


def adapt_conv1_weight(weight: Tensor, in_channels: int) -> Tensor:
    """Average an RGB kernel ``(O, 3, k, k)`` over its inputs and repeat it: ``(O, in_channels, k, k)``."""
    if weight.shape[1] == in_channels:
        return weight
    return weight.mean(dim=1, keepdim=True).repeat(1, in_channels, 1, 1)


def fetch_torchvision_state_dict(tv_name: str) -> dict[str, Tensor]:
    """Download (or read from the torch hub cache) torchvision's default ImageNet weights of ``tv_name``.

    Raises :class:`ConfigError` when the weights cannot be had (no internet and no cache).
    """
    import torchvision

    weights = torchvision.models.get_model_weights(tv_name).DEFAULT
    try:
        return weights.get_state_dict(progress=False)
    except Exception as exc:  # URLError, OSError, hash mismatch: all mean "no weights here"
        raise ConfigError(
            f"pretrained=true needs torchvision's ImageNet weights {weights} ({weights.url}), which could not be"
            f" loaded ({type(exc).__name__}: {exc}). pretrained=true needs internet access or a torch hub cache"
            f" ($TORCH_HOME/hub/checkpoints, now {torch.hub.get_dir()}/checkpoints); or copy the file there, or give it"
            f" as model.weights=path/to/{weights.url.rsplit('/', 1)[-1]}; otherwise set pretrained=false."
        ) from exc


class WeightsFileError(ConfigError):
    """A local weights file (``model.weights``) that cannot be read or does not fit the network."""


def read_weights_file(path: str | Path, tv_name: str) -> dict[str, Tensor]:
    """The state_dict in ``path``: ``torch.save(net.state_dict(), path)`` of torchvision's ``tv_name``
    (as in torch's hub cache, e.g. ``resnet152-394f9c45.pth``), also wrapped as ``{"state_dict": ...}``
    or ``{"model": ...}``, keys optionally prefixed ``module.`` (DistributedDataParallel).

    Raises :class:`WeightsFileError` naming the file and the architecture it should hold.
    """
    path = Path(path)
    expected = f"expected torchvision's {tv_name} ImageNet weights (a state_dict saved with torch.save)"
    if not path.is_file():
        raise WeightsFileError(f"{path}: file not found; {expected}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # unpickling, zip and I/O errors all mean "not a weights file"
        reason = f"{type(exc).__name__}: " + (str(exc).strip().splitlines() or [""])[0][:100]
        raise WeightsFileError(f"{path}: not a PyTorch weights file ({reason}); {expected}") from None
    for key in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict) or not state or not all(isinstance(v, Tensor) for v in state.values()):
        raise WeightsFileError(f"{path}: holds no state_dict of tensors; {expected}")
    return {k.removeprefix("module."): v for k, v in state.items()}


def _misfit(model: TSNNet, state: dict[str, Tensor], skipped: tuple[str, ...]) -> str:
    """What keeps ``state`` (with ``model``'s own ``conv1`` already adapted) from loading into
    ``model``, in a few words; ``""`` when it fits. Keys starting with ``skipped`` are not needed."""
    own = {k: v.shape for k, v in model.state_dict().items()
           if not k.startswith(skipped) and not k.endswith("num_batches_tracked")}
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own and not k.startswith(skipped) and not k.endswith("num_batches_tracked")]
    shapes = [f"{k} is {tuple(state[k].shape)}, not {tuple(own[k])}" for k in own if k in state and state[k].shape != own[k]]
    problems = [f"{len(missing)} tensors missing (e.g. {missing[0]})"] if missing else []
    problems += [f"{len(unexpected)} unexpected (e.g. {unexpected[0]})"] if unexpected else []
    problems += [f"{len(shapes)} of other shapes (e.g. {shapes[0]})"] if shapes else []
    return "; ".join(problems)


def load_pretrained(model: TSNNet, tv_name: str, conv1_key: str, classifier_prefix: str,
                    source: bool | str | Path = True) -> None:
    """Load torchvision's ImageNet weights of ``tv_name`` into ``model``, CoViAR-style.

    ``source`` is ``True`` (torchvision's download, or the file already in torch's hub cache) or the
    path of a local weights file (:func:`read_weights_file`; clusters without internet). The final
    classifier (``classifier_prefix``) keeps its fresh initialisation (CoViAR replaces ``fc``);
    ``conv1_key`` ``(O, 3, k, k)`` is adapted to the representation's channels; ``data_bn`` keeps its defaults.
    """
    from_file = not isinstance(source, bool)
    state = read_weights_file(source, tv_name) if from_file else fetch_torchvision_state_dict(tv_name)
    state = {k: v for k, v in state.items() if not k.startswith(classifier_prefix)}
    if conv1_key in state and state[conv1_key].dim() == 4:
        state[conv1_key] = adapt_conv1_weight(state[conv1_key], IN_CHANNELS[model.representation])
    problem = _misfit(model, state, (classifier_prefix, "data_bn."))
    if problem:
        where = f"{source}: " if from_file else ""
        raise (WeightsFileError if from_file else ConfigError)(
            f"{where}does not fit {tv_name} ({problem}); expected torchvision's {tv_name} ImageNet weights"
        )
    model.load_state_dict(state, strict=False)


class TSNNet(nn.Module):
    """Base class: input stem, frame folding and TSN consensus; subclasses provide the backbone.

    Subclasses implement ``backbone_features(frames) -> (N, D, h, w)`` and
    ``frame_logits(features) -> (N, num_classes)`` and set ``num_features``.
    """

    num_features: int
    arch: str = ""

    def __init__(self, representation: str, num_classes: int):
        super().__init__()
        self.representation = check_representation(representation)
        self.in_channels = IN_CHANNELS[representation]
        self.num_classes = num_classes
        self.data_bn = input_norm(representation)

    def _fold(self, x: Tensor) -> tuple[Tensor, int]:
        """``(B, T, C, H, W)`` or ``(B, C, H, W)`` -> frames ``(B*T, C, H, W)`` and T."""
        if x.dim() not in (4, 5) or x.shape[-3] != self.in_channels:
            raise ValueError(
                f"{self.arch or type(self).__name__} ({self.representation}) expects (B, T, {self.in_channels}, H, W)"
                f" or (B, {self.in_channels}, H, W), got {tuple(x.shape)}"
            )
        num_segments = x.shape[1] if x.dim() == 5 else 1
        return x.reshape((-1,) + tuple(x.shape[-3:])), num_segments

    def backbone_features(self, frames: Tensor) -> Tensor:
        raise NotImplementedError

    def frame_logits(self, features: Tensor) -> Tensor:
        raise NotImplementedError

    def get_classifier(self) -> nn.Linear:
        raise NotImplementedError

    def forward_features(self, x: Tensor) -> Tensor:
        """``(B, T, C, H, W)`` -> final feature map ``(B*T, D, h, w)``."""
        frames, _ = self._fold(x)
        return self.backbone_features(self.data_bn(frames))

    def forward_head(self, features: Tensor, num_segments: int = 1) -> Tensor:
        """``(B*T, D, h, w)`` -> ``(B, num_classes)``: pool, classifier, mean over the T segments."""
        logits = self.frame_logits(features)
        return logits.reshape(-1, num_segments, logits.shape[-1]).mean(dim=1)

    def forward(self, x: Tensor) -> Tensor:
        """``(B, T, C, H, W)`` or ``(B, C, H, W)`` -> mean logits ``(B, num_classes)``."""
        num_segments = x.shape[1] if x.dim() == 5 else 1
        return self.forward_head(self.forward_features(x), num_segments)

