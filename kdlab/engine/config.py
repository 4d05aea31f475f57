"""Typed run configuration: dataclass defaults, TOML files that hold only what differs, CLI overrides.

A config file (``configs/*.toml``) has up to five tables::

    base = "common.toml"             # optional: read that file first (relative to this one)
    name = "teacher_mv"              # top-level keys of RunConfig (default: the file's name)
    [data]                           # DataConfig
    representations = ["mv"]
    [model]                          # ModelConfig
    arch = "resnet18_tiny"
    representation = "mv"
    [optim]                          # OptimConfig
    epochs = 12
    [distill]                        # DistillConfig
    teachers = ["runs/demo/teacher_iframe", "runs/demo/teacher_mv"]
    loss = "avg_kd"

Command-line overrides use dotted keys: ``optim.epochs=3 data.root=/data/ucf101 seed=1``; values are
parsed as TOML (``true``, ``3``, ``0.5``, ``["a", "b"]``) or else taken as strings. Every unknown key
or badly typed value raises :class:`~kdlab.errors.ConfigError` naming the key. The resolved config
is saved as JSON in every run folder and checkpoint (:meth:`RunConfig.to_dict`).
"""

from __future__ import annotations

import dataclasses
import json
import re
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kdlab.errors import ConfigError
from kdlab.representations import REPRESENTATIONS

AMP_MODES = ("off", "bf16", "fp16")
_DEVICE = re.compile(r"auto|cpu|cuda(:\d+)?")


@dataclass
class DataConfig:
    """Where the clips come from and how they are sampled (CoViAR's defaults, scaled by the demo)."""

    root: str = "data/synthetic/default"
    train_list: str = "trainlist01.txt"
    test_list: str = "testlist01.txt"
    # share of each class's groups of the training list held out to pick the epoch (0: none; the last epoch is kept)
    val_share: float = 0.1
    accumulate: bool = True
    num_segments: int = 3  # TSN segments in training and validation
    test_segments: int = 25  # the test protocol (CoViAR: 25 segments x 10 crops)
    test_crops: int = 1
    size: int = 224  # network input side
    batch_size: int = 32
    workers: int = 2  # DataLoader worker processes (0: load in the training process)
    cache_dir: str = ""  # default: <root>/cache
    pin_memory: bool = False  # page-locked batches, copied to a GPU without blocking (ignored on a CPU)
    # cache: every frame decoded once and stored (fastest; UCF-101 ~1 TB) | seek: decode each sample's GOPs
    # from the videos (stores a key-frame index of a few kB per video) | decode: the whole clip per sample
    loader: str = "cache"
    index_dir: str = ""  # the seeking loader's key-frame indexes; default: <root>/index


@dataclass
class ModelConfig:
    arch: str = "resnet18"
    representation: str = "iframe"
    pretrained: bool = False
    width_mult: float = 0.0  # 0: the architecture's own
    drop_rate: float = 0.0
    zero_init_residual: bool = False  # ResNets: each residual block starts as the identity (steadier from scratch)
    weights: str = ""  # ImageNet weights from this file (a torchvision state_dict) instead of the torch hub; needs pretrained
    channels_last: bool = False  # NHWC memory format (faster convolutions on tensor cores)
    compile: bool = False  # torch.compile the network (slower start, faster steps on a GPU)


@dataclass
class OptimConfig:
    """Adam as in CoViAR (eps 1e-3, weight decay 1e-4), cosine decay with a linear warm-up."""

    epochs: int = 30
    lr: float = 1e-3
    weight_decay: float = 1e-4
    eps: float = 1e-3
    warmup_epochs: int = 1
    schedule: str = "cosine"  # cosine | constant
    backbone_lr_mult: float = 1.0  # CoViAR trains pretrained backbones at 0.01x
    val_every: int = 1  # epochs between validations on the held-out groups (0: never; the last epoch is kept)
    grad_clip: float = 0.0  # 0: off
    amp: str = "off"  # mixed precision: bf16 | fp16 (with a gradient scaler) | off


@dataclass
class DistillConfig:
    """The teachers (run folders) and the loss; ``loss = "ce"`` trains the student alone."""

    teachers: list[str] = field(default_factory=list)
    loss: str = "ce"
    loss_options: dict[str, Any] = field(default_factory=dict)
    ce_weight: float = 1.0
    kd_weight: float = 1.0
    offline: bool = True  # teachers' logits computed once and stored (False: run alongside the student)
    teacher_checkpoint: str = "last"  # last (its result) | best (the teacher's epoch picked on its validation groups)


@dataclass
class RunConfig:
    name: str = "run"
    out: str = ""  # the run folder; default runs/<name>
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    quiet: bool = False  # no progress bars (also when the CI environment variable is set)
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    distill: DistillConfig = field(default_factory=DistillConfig)

    @property
    def run_dir(self) -> Path:
        return Path(self.out or f"runs/{self.name}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1, sort_keys=True)


def _check_type(key: str, value: Any, annotation) -> Any:
    """Coerce ``value`` to the field's type or raise ConfigError naming ``key``."""
    origin = typing.get_origin(annotation)
    if annotation is bool:
        if isinstance(value, bool):
            return value
    elif annotation is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif annotation is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif annotation is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
    elif origin is list:
        if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
            return list(value)
        if isinstance(value, str):
            return [value]
    elif origin is dict:
        if isinstance(value, dict):
            return dict(value)
    raise ConfigError(f"{key}: expected {getattr(annotation, '__name__', annotation)}, got {value!r}")


def _apply(obj, values: dict, prefix: str = "") -> None:
    hints = typing.get_type_hints(type(obj))
    names = {f.name for f in dataclasses.fields(obj)}
    for key, value in values.items():
        dotted = f"{prefix}{key}"
        if key not in names:
            raise ConfigError(f"{dotted}: unknown key; valid keys here: {', '.join(sorted(names))}")
        current = getattr(obj, key)
        if dataclasses.is_dataclass(current):
            if not isinstance(value, dict):
                raise ConfigError(f"{dotted}: expected a table of keys, got {value!r}")
            _apply(current, value, prefix=f"{dotted}.")
        else:
            setattr(obj, key, _check_type(dotted, value, hints[key]))


def _parse_value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def parse_overrides(overrides: list[str]) -> dict:
    """``["optim.epochs=3", "seed=1"]`` -> ``{"optim": {"epochs": 3}, "seed": 1}``."""
    tree: dict = {}
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {item!r}: expected key=value, e.g. optim.epochs=3")
        key, text = item.split("=", 1)
        node = tree
        parts = key.strip().split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = _parse_value(text.strip())
    return tree


def validate(config: RunConfig) -> RunConfig:
    """Value checks beyond types; each error names its key."""
    from kdlab.losses import LOSSES  # the loss registry names the valid methods

    d, m, o, k = config.data, config.model, config.optim, config.distill
    if k.loss not in LOSSES:
        raise ConfigError(f"distill.loss: loss={k.loss!r} is unknown; valid choices: {', '.join(sorted(LOSSES))}")
    checks = [
        (m.representation in REPRESENTATIONS, "model.representation", f"one of {list(REPRESENTATIONS)}", m.representation),
        (d.num_segments >= 1, "data.num_segments", ">= 1", d.num_segments),
        (0 <= d.val_share < 1, "data.val_share", "a share from 0 (no validation split) to below 1", d.val_share),
        (d.test_segments >= 1, "data.test_segments", ">= 1", d.test_segments),
        (d.test_crops in (1, 10), "data.test_crops", "1 or 10", d.test_crops),
        (d.size >= 16, "data.size", ">= 16", d.size),
        (d.batch_size >= 1, "data.batch_size", ">= 1", d.batch_size),
        (d.workers >= 0, "data.workers", ">= 0", d.workers),
        (o.epochs >= 1, "optim.epochs", ">= 1", o.epochs),
        (0 <= o.warmup_epochs, "optim.warmup_epochs", ">= 0", o.warmup_epochs),
        (o.lr > 0, "optim.lr", "> 0", o.lr),
        (o.eps > 0, "optim.eps", "> 0", o.eps),
        (o.weight_decay >= 0, "optim.weight_decay", ">= 0", o.weight_decay),
        (o.grad_clip >= 0, "optim.grad_clip", ">= 0 (0: off; a negative norm would reverse the gradients)", o.grad_clip),
        (o.backbone_lr_mult > 0, "optim.backbone_lr_mult", "> 0", o.backbone_lr_mult),
        (o.val_every >= 0, "optim.val_every", ">= 0 (0: never)", o.val_every),
        (0 <= m.drop_rate < 1, "model.drop_rate", "a probability from 0 to below 1", m.drop_rate),
        (m.width_mult >= 0, "model.width_mult", ">= 0 (0: the architecture's own)", m.width_mult),
        (config.seed >= 0, "seed", "an integer >= 0", config.seed),
        (_DEVICE.fullmatch(config.device) is not None, "device", "'auto', 'cpu', 'cuda' or 'cuda:N'", config.device),
        (k.ce_weight >= 0 and k.kd_weight >= 0, "distill.ce_weight / distill.kd_weight", ">= 0",
         (k.ce_weight, k.kd_weight)),
        (o.schedule in ("cosine", "constant"), "optim.schedule", "'cosine' or 'constant'", o.schedule),
        (config.data.loader in ("cache", "seek", "decode"), "data.loader", "'cache', 'seek' or 'decode'", config.data.loader),
        (k.teacher_checkpoint in ("last", "best"), "distill.teacher_checkpoint", "'last' or 'best'", k.teacher_checkpoint),
        (k.loss in ("ce", "pkd") or bool(k.teachers), "distill.teachers", f"at least one run folder for loss {k.loss!r}",
         k.teachers),  # pkd's first stage (the motion network) has no teacher
        (not m.zero_init_residual or m.arch.startswith("resnet"), "model.zero_init_residual",
         "false for a network that is not a ResNet", m.zero_init_residual),
        (o.amp in AMP_MODES, "optim.amp", f"one of {list(AMP_MODES)}", o.amp),
        (not m.weights or m.pretrained, "model.weights",
         "no file unless model.pretrained = true (set both to load ImageNet weights from a file)", m.weights),
        (not m.weights or Path(m.weights).is_file(), "model.weights",
         "an existing file of ImageNet weights (e.g. resnet152-394f9c45.pth from torch's hub cache)", m.weights),
    ]
    for ok, key, expected, value in checks:
        if not ok:
            raise ConfigError(f"{key}: expected {expected}, got {value!r}")
    if k.loss == "dkd":
        import inspect

        warmup = k.loss_options.get("warmup", inspect.signature(LOSSES["dkd"]).parameters["warmup"].default)
        if warmup > o.epochs:
            raise ConfigError(f"distill.loss_options.warmup: DKD's warm-up ({warmup} epochs) is longer than the run "
                              f"(optim.epochs = {o.epochs}), so its term never reaches its weight; set "
                              f"distill.loss_options={{warmup = {max(1, round(o.epochs / 12))}}} (mdistiller: 20 of 240 epochs)")
    return config


def _read_toml(path: Path) -> dict:
    if not path.exists():
        raise ConfigError(f"{path}: config file not found")
    if not path.is_file():
        raise ConfigError(f"{path}: is a folder, not a config file; give a .toml file (e.g. configs/demo/kd_single.toml)")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text; a config is a TOML file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror})") from None


def _file_chain(path: Path, seen: tuple = ()) -> list[dict]:
    """The file's values preceded by those of its ``base = "other.toml"`` files (relative to it)."""
    if path.resolve() in seen:
        raise ConfigError(f"{path}: its base files include it again")
    values = _read_toml(path)
    base = values.pop("base", None)
    chain = _file_chain(path.parent / base, seen + (path.resolve(),)) if base else []
    return chain + [values]


def load_config(path: str | Path | None = None, overrides: list[str] | dict | None = None) -> RunConfig:
    """Defaults, updated by the TOML file at ``path``, then by ``overrides``; validated."""
    config = RunConfig()
    if path is not None:
        for values in _file_chain(Path(path)):
            _apply(config, values)
        config.name = config.name if config.name != "run" else Path(path).stem
    if overrides:
        _apply(config, parse_overrides(overrides) if isinstance(overrides, list) else overrides)
    return validate(config)


def config_from_dict(values: dict) -> RunConfig:
    """Rebuild a config saved by :meth:`RunConfig.to_dict` (e.g. a run's ``config.json``)."""
    config = RunConfig()
    _apply(config, values)
    return config
