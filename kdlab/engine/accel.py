"""GPU-ready training: mixed precision, channels-last, pinned memory, ``torch.compile``.

Every switch is a config key, off by default (the demo's CPU numbers never change); the full-size
configs (``configs/ucf101``, ``configs/hmdb51``) turn on those that help on a GPU:

=====================  ==================================================================================
key                    effect
=====================  ==================================================================================
``optim.amp``          ``"bf16"``: forward passes under ``torch.autocast(dtype=torch.bfloat16)`` (convolutions
                       and matrix products in bf16, reductions and losses in float32; no scaler needed: bf16
                       has float32's exponent range). ``"fp16"``: autocast in float16 plus a
                       ``torch.amp.GradScaler``: the loss is multiplied by a scale ``s`` before backward,
                       gradients are divided by ``s`` before clipping and the step, a step whose gradients
                       hold inf/nan is skipped and ``s`` halved, ``s`` doubles after 2000 clean steps.
                       ``"off"``: float32 throughout. Evaluation runs under the same autocast.
``model.channels_last`` the networks' 4-D weights in NHWC order (``torch.channels_last``); convolutions then
                       produce NHWC activations, the layout of the GPU's tensor-core kernels.
``data.pin_memory``    the DataLoader returns page-locked batches, so the host-to-GPU copies
                       (``non_blocking=True``) overlap the computation. Ignored without a GPU.
``model.compile``      ``torch.compile`` (TorchInductor) of the networks' ``forward_features`` and
                       ``forward_head`` (student and teachers): a slow first step, then fused kernels;
                       parameters and state_dict keys are unchanged, so checkpoints are the same.
=====================  ==================================================================================

The gradient scaler of an optimiser is made once and kept beside it (:func:`grad_scaler`), so
that the training loop and ``kdlab bench train`` share one step function (:func:`backward_step`).
"""

from __future__ import annotations

import contextlib
import weakref

import torch

AMP_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}

#: optimiser -> its GradScaler (fp16 only), dropped with the optimiser
_SCALERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def autocast(device: torch.device, amp: str):
    """The autocast context of ``optim.amp`` on ``device`` (a no-op context for ``"off"``)."""
    if amp == "off":
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=AMP_DTYPES[amp])


def grad_scaler(optimizer: torch.optim.Optimizer, device: torch.device, amp: str) -> torch.amp.GradScaler | None:
    """The gradient scaler of ``optimizer`` for ``optim.amp = "fp16"`` (made on first use), else None."""
    if amp != "fp16":
        return None
    if optimizer not in _SCALERS:
        _SCALERS[optimizer] = torch.amp.GradScaler(device.type)
    return _SCALERS[optimizer]


def backward_step(loss: torch.Tensor, optimizer: torch.optim.Optimizer, parameters, grad_clip: float,
                  scaler: torch.amp.GradScaler | None = None) -> None:
    """One optimiser step on ``loss``: zero the gradients, backward, clip the gradient norm to
    ``grad_clip`` (0: no clipping), step. With a ``scaler`` the backward pass runs on ``s * loss``
    and the gradients are unscaled before clipping (so ``grad_clip`` means the same in any precision)."""
    optimizer.zero_grad(set_to_none=True)
    if scaler is None:
        loss.backward()
        if grad_clip:
            torch.nn.utils.clip_grad_norm_(parameters, grad_clip)
        optimizer.step()
        return
    scaler.scale(loss).backward()
    if grad_clip:
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(parameters, grad_clip)
    scaler.step(optimizer)
    scaler.update()


def prepare_model(model: torch.nn.Module, channels_last: bool = False, compile: bool = False) -> torch.nn.Module:
    """``model`` in place: NHWC weights (``channels_last``) and compiled (``compile``); returns it."""
    if channels_last:
        model.to(memory_format=torch.channels_last)
    if compile:  # the trainer calls forward_features / forward_head directly, so those are compiled
        for name in ("forward_features", "forward_head"):
            if hasattr(model, name):
                setattr(model, name, torch.compile(getattr(model, name)))
    return model


def use_pinned_memory(pin_memory: bool, device_name: str) -> bool:
    """Whether a DataLoader should pin its batches: asked for, and a GPU will receive them."""
    return pin_memory and device_name != "cpu" and torch.cuda.is_available()


def to_device(inputs, device: torch.device):
    """A tensor or a dict of tensors on ``device``; non-blocking, so copies from pinned memory overlap."""
    if isinstance(inputs, dict):
        return {k: v.to(device, non_blocking=True) for k, v in inputs.items()}
    return inputs.to(device, non_blocking=True)
