"""Run folders: what a training run leaves behind, and how later steps read it.

::

    runs/demo/teacher_mv/
      config.json       the resolved RunConfig
      metrics.csv       one row per epoch: losses by name, learning rate, train and validation accuracy
      last.pt           resume state: student (and connector) weights, optimiser, epoch, config
      best.pt           student weights at the best training-time validation
      predictions.npz   test-protocol logits of the student and of each teacher, labels, video ids, classes
                        (:class:`kdlab.engine.records.Predictions`)
      summary.json      best and last epoch, test metrics, parameters, FLOPs, timings
                        (:class:`kdlab.engine.records.Summary`)

Checkpoints are plain dicts of tensors and numbers (``torch.load(weights_only=True)`` reads them)
and hold only the student, never the teachers. ``last.pt`` also holds every epoch's row, so an
epoch is recorded in one atomic write (``metrics.csv`` is rebuilt from it on resume).

While a process trains or fuses into a folder it holds an OS lock on ``.lock`` there
(:meth:`RunFolder.lock`): a second process is refused with the holder's pid, and a killed process
releases it with its death, so a rerun resumes at once.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

import torch

from kdlab.engine import io
from kdlab.engine.config import RunConfig, config_from_dict
from kdlab.engine.records import PREDICTIONS_FILE, SUMMARY_FILE, Predictions, Summary, read_json
from kdlab.errors import ConfigError, RunError
from kdlab.models import create_model
from kdlab.models.stems import WeightsFileError


class RunFolder:
    def __init__(self, path: str | Path):
        self.path = Path(path)

    config_file = property(lambda self: self.path / "config.json")
    metrics_file = property(lambda self: self.path / "metrics.csv")
    predictions_file = property(lambda self: self.path / PREDICTIONS_FILE)
    summary_file = property(lambda self: self.path / SUMMARY_FILE)
    last_checkpoint = property(lambda self: self.path / "last.pt")
    best_checkpoint = property(lambda self: self.path / "best.pt")

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r})"

    @property
    def name(self) -> str:
        return self.path.name

    @contextmanager
    def lock(self):
        """Hold an exclusive OS lock on the folder while the block runs (the folder is created).

        Raises :class:`RunError` naming the holder's pid when another process holds it. The lock
        (``fcntl.flock``) dies with its process; on systems without ``fcntl`` there is no lock.
        """
        try:
            import fcntl
        except ImportError:  # pragma: no cover  (Windows)
            yield self
            return
        self.path.mkdir(parents=True, exist_ok=True)
        lock_file = self.path / ".lock"
        handle = open(lock_file, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise RunError(f"{self.path}: another kdlab process (pid {holder}) is writing this run folder; "
                           "wait for it to finish, or choose another out= / --out") from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield self
        finally:
            lock_file.unlink(missing_ok=True)
            handle.close()

    def exists(self) -> bool:
        return self.config_file.exists()

    def is_complete(self) -> bool:
        summary = self.summary()
        return summary is not None and summary.complete

    def require(self, what: str = "run") -> RunFolder:
        if not self.exists():
            raise RunError(
                f"{self.path}: no {what} run folder here (no config.json); train it first, e.g. "
                f"`kdlab train configs/demo/teacher_iframe.toml out={self.path}`"
            )
        return self

    def config(self) -> RunConfig:
        self.require()
        values = read_json(self.config_file)
        try:
            return config_from_dict(values)
        except ConfigError as exc:
            raise RunError(f"{self.config_file}: {exc} (a config.json of another kdlab version?)") from None

    def summary(self) -> Summary | None:
        """``summary.json`` (None before the run has finished)."""
        return Summary.read(self.summary_file)

    def metrics(self) -> list[dict]:
        return io.read_csv(self.metrics_file)

    def predictions(self) -> Predictions:
        """``predictions.npz``; :class:`RunError` before the run has finished."""
        return Predictions.read(self.predictions_file)

    def checkpoint(self, which: str = "last") -> dict:
        path = self.last_checkpoint if which == "last" else self.best_checkpoint
        if not path.exists():
            raise RunError(f"{path}: checkpoint not found; the run has not finished an epoch (rerun it to resume)")
        return torch.load(path, map_location="cpu", weights_only=True)

    def load_model(self, which: str = "last", device: str | torch.device = "cpu") -> torch.nn.Module:
        """The run's network with its ``which`` weights, in eval mode."""
        config = self.config()
        state = self.checkpoint(which)
        model = build_model(config, int(state["num_classes"]), pretrained=False)  # the checkpoint's weights
        model.load_state_dict(state["student"])
        return model.to(device).eval()


def build_model(config: RunConfig, num_classes: int, pretrained: bool = True) -> torch.nn.Module:
    """The student network of ``config`` (random or ImageNet weights: ``model.weights``, a local file, or
    torchvision's). ``pretrained=False`` skips the ImageNet weights, for a network whose weights a
    checkpoint replaces (no download, no weights file needed)."""
    m = config.model
    options = {"drop_rate": m.drop_rate}
    if m.width_mult:
        options["width_mult"] = m.width_mult
    if m.zero_init_residual:
        options["zero_init_residual"] = True
    try:
        return create_model(m.arch, representation=m.representation, num_classes=num_classes,
                            pretrained=(m.weights or m.pretrained) if pretrained else False, **options)
    except WeightsFileError as exc:
        raise ConfigError(f"model.weights: {exc}") from None
    except ConfigError as exc:
        raise ConfigError(f"model.arch / model options: {exc}") from None
