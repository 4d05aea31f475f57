"""CoViAR's input pipeline: representation to 8-bit image, crop/flip/resize, normalisation.

Following pytorch-coviar (``dataset.py``, ``transforms.py``), every representation is first mapped
to an 8-bit image, spatial augmentation acts on those images, and normalisation comes last:

=============  =====================================================  ===============================
representation  to 8-bit image                                        normalised (after / 255)
=============  =====================================================  ===============================
``iframe``      RGB as decoded                                        ``(x - mean) / std`` (ImageNet)
``mv``          ``clip(int(mv * 127.5 / 20) + 128, 0, 255)``:         ``x - 0.5``
                20 px of motion saturates
``residual``    ``clip(residual + 128, 0, 255)``                      ``(x - 0.5) / std`` (ImageNet)
=============  =====================================================  ===============================

A horizontal flip mirrors the image and negates the motion's x component (``255 - x`` on the
8-bit MV image, as CoViAR's ``GroupRandomHorizontalFlip(is_mv=True)``). Motion values are not
rescaled when the field is resized, as in CoViAR.

Training crops are TSN's multi-scale crops (``GroupMultiScaleCrop``: crop sides drawn from
``scales`` x the short side, at one of 13 fixed positions, aspect distortion at most one step);
testing scales the short side to ``scale_size`` and takes the centre crop, or CoViAR's 10 crops
(4 corners and centre, each also flipped), stacked along the segment axis.

Arrays in: ``(T, H, W, C)`` numpy per representation. Tensors out: ``(T, C, S, S)`` float32
(``(crops * T, C, S, S)`` for multi-crop testing).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
MV_SATURATION_PX = 20.0


def to_image(representation: str, array: np.ndarray) -> np.ndarray:
    """Map a representation ``(T, H, W, C)`` to CoViAR's 8-bit image of the same shape."""
    if representation == "iframe":
        return array.astype(np.uint8, copy=False)
    if representation == "mv":
        scaled = (array.astype(np.float32) * (127.5 / MV_SATURATION_PX)).astype(np.int32) + 128
        return np.clip(scaled, 0, 255).astype(np.uint8)
    if representation == "residual":
        return np.clip(array.astype(np.int16) + 128, 0, 255).astype(np.uint8)
    raise ValueError(f"unknown representation {representation!r}")


def _affine(representation: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel ``(scale, offset)``, float64 ``(C,)`` each: normalised = ``level * scale + offset``."""
    if representation == "mv":
        mean, std = (0.5, 0.5), (1.0, 1.0)
    elif representation == "iframe":
        mean, std = IMAGENET_MEAN, IMAGENET_STD
    elif representation == "residual":
        mean, std = (0.5, 0.5, 0.5), IMAGENET_STD
    else:
        raise ValueError(f"unknown representation {representation!r}")
    std = np.asarray(std, np.float64)
    return 1.0 / (255.0 * std), -np.asarray(mean, np.float64) / std


def normalise(representation: str, images: np.ndarray) -> np.ndarray:
    """8-bit images ``(..., C)`` to network input values, float32 of the same shape (the formulas in
    the module docstring, as one affine map per channel)."""
    scale, offset = _affine(representation)
    return (images * scale + offset).astype(np.float32)


@lru_cache(maxsize=None)
def _affine_tensors(representation: str) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`_affine` as float32 ``(1, C, 1, 1)`` tensors, built once per representation (read only)."""
    return tuple(torch.from_numpy(v.astype(np.float32)).view(1, -1, 1, 1) for v in _affine(representation))


def _normalise_channels_first(representation: str, tensor: torch.Tensor) -> torch.Tensor:
    """:func:`normalise` in place on a float tensor ``(T, C, H, W)``."""
    scale, offset = _affine_tensors(representation)
    return tensor.mul_(scale).add_(offset)


def hflip(representation: str, images: np.ndarray) -> np.ndarray:
    """Mirror 8-bit images ``(T, H, W, C)``; for motion also negate x (``255 - x``)."""
    flipped = images[:, :, ::-1]
    if representation == "mv":
        flipped = flipped.copy()
        flipped[..., 0] = 255 - flipped[..., 0]
    return flipped


@dataclass(frozen=True)
class Box:
    """A crop ``[top, top + height) x [left, left + width)``, optionally mirrored."""

    top: int
    left: int
    height: int
    width: int
    flip: bool = False


def multi_scale_box(
    height: int,
    width: int,
    rng: np.random.Generator,
    scales: tuple[float, ...] = (1.0, 0.875, 0.75, 0.66),
    max_distort: int = 1,
    flip: bool = True,
) -> Box:
    """TSN's ``GroupMultiScaleCrop`` with ``more_fix_crop``, plus a random horizontal flip."""
    base = min(height, width)
    sizes = [int(base * s) for s in scales]
    pairs = [(h, w) for i, h in enumerate(sizes) for j, w in enumerate(sizes) if abs(i - j) <= max_distort]
    crop_h, crop_w = pairs[rng.integers(len(pairs))]
    sh, sw = (height - crop_h) // 4, (width - crop_w) // 4
    offsets = [
        (0, 0), (0, 4), (4, 0), (4, 4), (2, 2),  # corners and centre
        (2, 0), (2, 4), (4, 2), (0, 2),  # edge centres
        (1, 1), (1, 3), (3, 1), (3, 3),  # quarter points
    ]
    oy, ox = offsets[rng.integers(len(offsets))]
    return Box(oy * sh, ox * sw, crop_h, crop_w, flip=bool(flip and rng.random() < 0.5))


def test_boxes(height: int, width: int, crop: int, crops: int = 1) -> list[Box]:
    """CoViAR's test crops on an image already scaled: the centre (``crops=1``) or 10 crops."""
    if crops not in (1, 10):
        raise ValueError(f"test crops must be 1 or 10, got {crops}")
    crop_h, crop_w = min(crop, height), min(crop, width)
    centre = Box((height - crop_h) // 2, (width - crop_w) // 2, crop_h, crop_w)
    if crops == 1:
        return [centre]
    corners = [Box(0, 0, crop_h, crop_w), Box(0, width - crop_w, crop_h, crop_w),
               Box(height - crop_h, 0, crop_h, crop_w), Box(height - crop_h, width - crop_w, crop_h, crop_w), centre]
    return corners + [Box(b.top, b.left, b.height, b.width, flip=True) for b in corners]


def _resize(images: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    if tuple(images.shape[-2:]) == size:
        return images
    return F.interpolate(images, size=size, mode="bilinear", align_corners=False)


def _shared_tensor(array: np.ndarray) -> torch.Tensor:
    """``array`` as a tensor sharing its memory (copied only when its strides are negative). A
    read-only array (a memory-mapped store) is shared too: nothing here writes to it."""
    if any(stride < 0 for stride in array.strides):
        array = np.ascontiguousarray(array)
    if array.flags.writeable:
        return torch.from_numpy(array)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.from_numpy(array)


def image_values(representation: str, crop: np.ndarray, flip: bool = False, raw: bool = False) -> torch.Tensor:
    """A crop ``(T, h, w, C)`` as float32 ``(T, C, h, w)``: its 8-bit image values, mirrored if ``flip``.

    ``crop`` holds 8-bit images, or with ``raw`` the representation itself, mapped here by
    :func:`to_image`'s formulas computed in float32: exactly the same values, since every operand
    and result is an integer below 2^24 (``mv * 127.5 / 20`` is ``mv * 51 / 8``, truncated toward
    zero as ``astype(int32)`` does). The result is laid out channels-last in memory (what torch's
    bilinear resize of three-channel images is fastest on); two-channel motion is made contiguous.
    """
    tensor = _shared_tensor(crop).permute(0, 3, 1, 2)
    if flip:
        tensor = tensor.flip(3)
    values = tensor.to(torch.float32, copy=True)
    if raw and representation == "mv":
        values.mul_(127.5 / MV_SATURATION_PX).trunc_().add_(128).clamp_(0, 255)
    elif raw and representation == "residual":
        values.add_(128).clamp_(0, 255)
    elif representation not in ("iframe", "mv", "residual"):
        raise ValueError(f"unknown representation {representation!r}")
    if flip and representation == "mv":
        values[:, 0].neg_().add_(255)  # the mirrored field points the other way: 255 - x, as hflip
    return values if values.shape[1] == 3 else values.contiguous()


def apply_box(representation: str, images: np.ndarray, box: Box, size: int, raw: bool = False) -> torch.Tensor:
    """Crop, flip, resize and normalise ``(T, H, W, C)`` -> ``(T, C, S, S)`` float32 (contiguous).

    ``images`` are 8-bit images, or with ``raw`` the representation itself, mapped to its images on
    the crop's pixels only (:func:`image_values`). Normalising after resizing gives the same values
    as before (both are linear, and bilinear weights sum to one), on the fewer pixels of the output.
    """
    crop = images[:, box.top : box.top + box.height, box.left : box.left + box.width]
    resized = _resize(image_values(representation, crop, box.flip, raw), (size, size)).contiguous()
    return _normalise_channels_first(representation, resized)


def scale_short_side(images: np.ndarray, short: int) -> np.ndarray:
    """Resize 8-bit images ``(T, H, W, C)`` so the short side is ``short`` (bilinear), uint8 out."""
    t, h, w, c = images.shape
    if min(h, w) == short:
        return images
    factor = short / min(h, w)
    size = (max(short, round(h * factor)), max(short, round(w * factor)))
    tensor = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float()
    resized = _resize(tensor, size).round().clamp(0, 255).to(torch.uint8)
    return resized.permute(0, 2, 3, 1).numpy()


@dataclass(frozen=True)
class ClipTransform:
    """The spatial pipeline for one sample, the same box for every representation.

    Args:
        size: network input side ``S``.
        train: multi-scale crop and flip (training) or test crops.
        scale_size: test-time short side before cropping (CoViAR: ``size * 256 // 224``).
        crops: test crops, 1 (centre) or 10 (CoViAR's full protocol).
        flip: allow the random flip in training.
    """

    size: int = 224
    train: bool = True
    scale_size: int | None = None
    crops: int = 1
    flip: bool = True

    def __call__(self, images: dict[str, np.ndarray], rng: np.random.Generator, raw: bool = False) -> dict[str, torch.Tensor]:
        """8-bit images by representation, each ``(T, H, W, C)`` -> tensors ``(T', C, S, S)``.

        With ``raw``, the representations themselves (I-frames, motion, residual), mapped to 8-bit
        images here: in training after the crop, on its fewer pixels (the same values, since
        :func:`to_image` acts on each value alone).
        """
        if self.train:
            height, width = next(iter(images.values())).shape[1:3]
            box = multi_scale_box(height, width, rng, flip=self.flip)
            return {rep: apply_box(rep, array, box, self.size, raw) for rep, array in images.items()}
        short = self.scale_size or self.size * 256 // 224
        out = {}
        for rep, array in images.items():
            scaled = scale_short_side(to_image(rep, array) if raw else array, short)
            boxes = test_boxes(scaled.shape[1], scaled.shape[2], self.size, self.crops)
            out[rep] = torch.cat([apply_box(rep, scaled, box, self.size) for box in boxes])
        return out
