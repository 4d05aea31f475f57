"""``kdlab bench train``: where a training step's time goes, at full size on a GPU.

Two steps of the paper's setting, each as the trainer runs it (:func:`kdlab.engine.accel.backward_step`
under the run's autocast, Adam, CoViAR's TSN input ``(B, T, 3, S, S)``):

* the teacher step: the I-frame ResNet-152 trained with cross-entropy;
* the distillation step: the I-frame ResNet-18 student with KD from that ResNet-152 run online
  (frozen, eval mode, no gradients). With stored (offline) teacher logits a distillation step costs
  a student cross-entropy step.

Three rates in clips per second (a clip is T segments):

* data loading: the training DataLoader alone (``workers`` processes, the cache, CoViAR's crops);
* forward/backward: the step on a batch already on the device (forward, backward, optimiser update);
* whole step: batches from the loader, copied to the device, then the step, as in an epoch.

The whole step is bounded by the slower of the first two; if it is far below the forward/backward
rate, the GPU waits for data (add ``data.workers``). Defaults: 224 px, 3 segments, batch 32 (halved
until it fits in the GPU's memory), bf16 autocast and channels-last as in ``configs/ucf101``.
``small=True`` (``--small``) runs the same code at CPU test size: tiny networks, 32 px, batch 2.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from kdlab.distill import Distiller
from kdlab.engine import accel, distributed
from kdlab.engine.config import RunConfig, load_config
from kdlab.engine.loading import make_dataset, make_loader
from kdlab.errors import ConfigError
from kdlab.losses import build_loss
from kdlab.models import create_model


@dataclass
class BenchSettings:
    device: str = "auto"
    size: int = 224
    batch: int = 32
    segments: int = 3
    teacher: str = "resnet152"
    student: str = "resnet18"
    classes: int = 101
    steps: int = 10  # timed steps of each kind
    warmup: int = 3  # untimed steps first (cuDNN's algorithm search; compilation)
    workers: int = 8
    amp: str = "bf16"  # "off" by default on a CPU, where bf16 is slow without AMX
    channels_last: bool = True
    compile: bool = False


#: the CPU test size
SMALL = dict(size=32, batch=2, segments=2, teacher="resnet152_tiny", student="resnet18_tiny", classes=4,
             steps=2, warmup=1, workers=0)


def synthetic_root(folder: Path, small: bool) -> Path:
    """A synthetic set to load from: 64x64 clips for ``small``, else 320x240 (UCF-101's size)."""
    from kdlab.data.synthetic import PRESETS, generate

    preset = PRESETS["tiny"] if small else PRESETS["tiny"].replace(width=320, height=240, clips_per_class=8, frames=36)
    return generate(folder / "synthetic", preset, progress=False)


def run_config(s: BenchSettings, root: Path | str = "") -> RunConfig:
    """The run config a training run would use for these settings (validated: bad values raise
    :class:`ConfigError` naming the key)."""
    return load_config(None, [
        f"data.root={root}", f"data.size={s.size}", f"data.num_segments={s.segments}", f"data.batch_size={s.batch}",
        f"data.workers={s.workers}", "data.pin_memory=true", f"optim.amp={s.amp}", f"device={s.device}",
        f"model.channels_last={str(s.channels_last).lower()}", f"model.compile={str(s.compile).lower()}",
        "data.val_share=0", "quiet=true"])


def _batches(loader):
    """The loader's batches for ever (epoch after epoch)."""
    while True:
        yield from loader


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def loading_rate(batches, steps: int) -> float:
    """Clips per second drawn from the (already started) loader ``batches``."""
    seen, start = 0, time.perf_counter()
    for _ in range(steps):
        seen += len(next(batches)[1])
    return seen / (time.perf_counter() - start)


def make_step(s: BenchSettings, distill: bool, device: torch.device):
    """``step(inputs, labels)``: one training step of the teacher (``distill=False``) or of the student
    taught online by the teacher, with the trainer's precision, memory format and optimiser."""
    prepare = dict(channels_last=s.channels_last, compile=s.compile)
    teacher = accel.prepare_model(create_model(s.teacher, "iframe", s.classes), **prepare)
    if distill:
        student = accel.prepare_model(create_model(s.student, "iframe", s.classes), **prepare)
        distiller = Distiller(student, [teacher.eval()], build_loss("kd")).to(device)
    else:
        distiller = Distiller(teacher, [], build_loss("ce")).to(device)
    optimizer = torch.optim.Adam(distiller.learnable_parameters(), lr=1e-4, eps=1e-3)
    scaler = accel.grad_scaler(optimizer, device, s.amp)

    def step(inputs, labels):
        with accel.autocast(device, s.amp):
            _, losses = distiller(inputs if isinstance(inputs, dict) else {"iframe": inputs}, labels)
        accel.backward_step(sum(losses.values()), optimizer, distiller.learnable_parameters(), 0.0, scaler)

    return step


def step_rates(s: BenchSettings, distill: bool, batches, device: torch.device) -> dict:
    """Clips per second of one kind of step: on a resident batch, and fed by the loader."""
    step = make_step(s, distill, device)
    inputs = torch.randn(s.batch, s.segments, 3, s.size, s.size, device=device)
    labels = torch.randint(0, s.classes, (s.batch,), device=device)
    for _ in range(s.warmup):
        step(inputs, labels)
    _sync(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    start = time.perf_counter()
    for _ in range(s.steps):
        step(inputs, labels)
    _sync(device)
    compute = s.batch * s.steps / (time.perf_counter() - start)
    # the loader prefetches 2 batches a worker meanwhile: those go untimed, then the steady state
    prefetched, timed = 2 * s.workers, max(s.steps, 2 * s.workers)
    seen = 0
    for i in range(prefetched + timed):
        if i == prefetched:
            _sync(device)
            seen, start = 0, time.perf_counter()
        x, y, _ = next(batches)
        step(accel.to_device(x, device), y.to(device, non_blocking=True))
        seen += len(y)
    _sync(device)
    whole = seen / (time.perf_counter() - start)
    peak = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None
    return {"forward_backward_clips_per_s": compute, "whole_step_clips_per_s": whole, "peak_memory_gib": peak}


def _measure(s: BenchSettings, root: Path) -> dict:
    config = run_config(s, root)
    device = distributed.pick_device(s.device)
    dataset = make_dataset(config, "train", ["iframe"], True, s.segments)
    s.classes = max(s.classes, len(dataset.classes))  # a data set of more classes than UCF-101's
    batches = _batches(make_loader(dataset, config, shuffle=True))
    start = time.perf_counter()
    next(batches)  # worker start-up
    first = time.perf_counter() - start
    for _ in range(2 * s.workers):
        next(batches)  # the workers' prefetched batches go untimed: the rate is the steady state's
    results = {"first_batch_s": first, "data_clips_per_s": loading_rate(batches, max(s.steps, 2 * s.workers))}
    results["teacher_step"] = step_rates(s, False, batches, device)
    results["distill_step"] = step_rates(s, True, batches, device)
    return results


def run(root: str | Path | None = None, small: bool = False, **changes) -> dict:
    """Measure the teacher and distillation steps; ``changes`` override :class:`BenchSettings`.

    On a GPU the batch is halved until a step fits in memory. ``root``: a dataset folder (default:
    a synthetic one in a temporary folder, 320x240 clips, or 64x64 with ``small``).
    """
    s = BenchSettings(**{**(SMALL if small else {}), **changes})
    run_config(s)
    device = distributed.pick_device(s.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device: {s.device!r} asked for, but torch sees no GPU here "
                          f"(torch {torch.__version__}); use --device cpu or auto")
    if device.type == "cpu" and "amp" not in changes:
        s.amp = "off"
    with tempfile.TemporaryDirectory() as tmp:
        data_root = Path(root) if root else synthetic_root(Path(tmp), small)
        while True:
            try:
                results = _measure(s, data_root)
                break
            except torch.OutOfMemoryError:
                if s.batch == 1:
                    raise
                s.batch //= 2
                torch.cuda.empty_cache()
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    return {"device": str(device), "device_name": name, "torch": torch.__version__, "root": str(root or "synthetic"),
            **dataclasses.asdict(s), **results}
