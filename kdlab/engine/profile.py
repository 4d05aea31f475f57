"""Parameters, FLOPs and CPU latency of networks, per frame, per clip and per GOP.

FLOPs come from ``torch.utils.flop_counter.FlopCounterMode``, which counts a multiply-add as 2
FLOPs. Papers of this field (CoViAR, the Wu and Chiu paper) quote multiply-adds (MACs) and call
them FLOPs; kdlab reports both, named: ``flops = 2 x macs``.

Per GOP (the paper's 1.2x): a GOP of ``g`` frames runs the I-frame network once and the motion and
residual networks on its ``g - 1`` P-frames::

    cost_per_gop = cost(iframe_net) + (g - 1) * (cost(mv_net) + cost(residual_net))

With CoViAR's ResNet-152 I-frame network and two ResNet-18s (101 classes, 224 x 224, g = 12) this
gives 80.8 M parameters; replacing the ResNet-152 by a ResNet-18 student gives 33.7 M (2.40x
fewer) and 1.23x fewer FLOPs per GOP (2.76x per (I, MV, R) triple), the arithmetic of METHOD.md.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
from torch.utils.flop_counter import FlopCounterMode

from kdlab.models import create_model

IN_CHANNELS = {"iframe": 3, "mv": 2, "residual": 3}


def count_parameters(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def frame_flops(model: torch.nn.Module, representation: str, size: int) -> int:
    """FLOPs (2 x multiply-adds) of one frame ``(1, 1, C, size, size)`` through ``model``.

    Works on models built on the ``meta`` device (shapes only, no memory or arithmetic).
    """
    device = next(model.parameters()).device
    x = torch.zeros(1, 1, IN_CHANNELS[representation], size, size, device=device)
    was_training = model.training
    model.eval()
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(x)
    model.train(was_training)
    return int(counter.get_total_flops())


def cpu_latency_ms(model: torch.nn.Module, representation: str, size: int, frames: int = 1, repeats: int = 10) -> float:
    """Median milliseconds of a forward pass on ``frames`` frames (batch 1) on this machine's CPU."""
    x = torch.zeros(1, frames, IN_CHANNELS[representation], size, size)
    model = model.eval()
    times = []
    with torch.no_grad():
        model(x)  # warm-up
        for _ in range(repeats):
            start = time.perf_counter()
            model(x)
            times.append(time.perf_counter() - start)
    return 1e3 * sorted(times)[len(times) // 2]


@dataclass
class NetCost:
    arch: str
    representation: str
    params: int
    flops_per_frame: int
    width_mult: float = 0.0

    @property
    def macs_per_frame(self) -> int:
        return self.flops_per_frame // 2


def net_cost(arch: str, representation: str, num_classes: int, size: int, width_mult: float = 0.0) -> NetCost:
    """Parameters and FLOPs per frame of a registry network (no weights needed)."""
    options = {"width_mult": width_mult} if width_mult else {}
    with torch.device("meta"):  # counting needs shapes, not weights: instant even for ResNet-152
        model = create_model(arch, representation=representation, num_classes=num_classes, **options)
    return NetCost(arch, representation, count_parameters(model), frame_flops(model, representation, size), width_mult)


@dataclass
class SystemCost:
    """A three-stream system: the I-frame, motion and residual networks."""

    name: str
    iframe: NetCost
    mv: NetCost
    residual: NetCost

    @property
    def params(self) -> int:
        return self.iframe.params + self.mv.params + self.residual.params

    def flops_per_gop(self, gop: int = 12) -> int:
        return self.iframe.flops_per_frame + (gop - 1) * (self.mv.flops_per_frame + self.residual.flops_per_frame)

    def flops_per_triple(self) -> int:
        return self.iframe.flops_per_frame + self.mv.flops_per_frame + self.residual.flops_per_frame

    def as_row(self, gop: int = 12) -> dict:
        return {
            "system": self.name,
            "iframe_net": self.iframe.arch,
            "mv_net": self.mv.arch,
            "residual_net": self.residual.arch,
            "params_M": self.params / 1e6,
            "gflops_per_gop": self.flops_per_gop(gop) / 1e9,
            "gmacs_per_gop": self.flops_per_gop(gop) / 2e9,
            "gflops_per_triple": self.flops_per_triple() / 1e9,
        }


#: The networks of the compression table: CoViAR's I-frame network, the distilled I-frame student, the
#: motion and residual networks both systems share.
PAPER_NETWORKS = ("resnet152", "resnet18", "resnet18")


def compression_table(
    networks: tuple[str, str, str] = PAPER_NETWORKS,
    num_classes: int = 101,
    size: int = 224,
    gop: int = 12,
    width_mult: float = 0.0,
) -> dict:
    """CoViAR against the distilled system: the parameter and per-GOP FLOP ratios.

    ``networks``: (CoViAR's I-frame network, the student, the motion and residual streams' network).
    Defaults reproduce METHOD.md's reading of the paper (expect 2.40x and 1.23x).
    """
    teacher_iframe, student_iframe, stream_arch = networks
    mv = net_cost(stream_arch, "mv", num_classes, size, width_mult)
    residual = net_cost(stream_arch, "residual", num_classes, size, width_mult)
    coviar = SystemCost("CoViAR", net_cost(teacher_iframe, "iframe", num_classes, size, width_mult), mv, residual)
    distilled = SystemCost("distilled", net_cost(student_iframe, "iframe", num_classes, size, width_mult), mv, residual)
    return {
        "rows": [coviar.as_row(gop), distilled.as_row(gop)],
        "param_ratio": coviar.params / distilled.params,
        "flops_ratio_per_gop": coviar.flops_per_gop(gop) / distilled.flops_per_gop(gop),
        "flops_ratio_per_triple": coviar.flops_per_triple() / distilled.flops_per_triple(),
        "gop": gop,
        "size": size,
        "num_classes": num_classes,
        "note": "FLOPs = 2 x multiply-adds (torch FlopCounterMode); papers quote multiply-adds as FLOPs",
    }


def machine() -> dict:
    """What the numbers were measured on: processor, cores, accelerator, library versions.

    Training numbers are deterministic per processor kind and differ across kinds (float
    rounding in torch's kernels), so every reported figure names its machine.
    """
    import os
    import platform

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    cuda = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {"cpu": cpu, "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
            "gpu": cuda, "torch": torch.__version__.split("+")[0], "python": platform.python_version()}


def describe_machine(m: dict) -> str:
    """``"Intel Xeon ..., 2 cores, no GPU, torch 2.14.1"``."""
    return f"{m.get('cpu')}, {m.get('cores')} cores, {m.get('gpu') or 'no GPU'}, torch {m.get('torch')}"
