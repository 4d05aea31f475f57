"""Datasets and loaders as a run config describes them (shared by training and evaluation)."""

from __future__ import annotations

from pathlib import Path

import torch
from torch.utils.data import DataLoader

from kdlab.data.dataset import CompressedVideoDataset, collate
from kdlab.data.splits import read_class_index, read_list, validation_split
from kdlab.engine import accel, distributed
from kdlab.engine.config import RunConfig
from kdlab.errors import KdlabError
from kdlab.progress import quiet


def progress_enabled(config: RunConfig, context: distributed.Context) -> bool:
    return context.is_main and not config.quiet and not quiet()


#: The parts of a dataset a run reads: the training list less its validation groups, those groups, the test list.
PARTS = ("train", "val", "test")


def part_records(config: RunConfig, part: str):
    """The records of ``part``: ``"train"`` and ``"val"`` split ``data.train_list`` by group
    (``data.val_share`` of each class's groups to validation), ``"test"`` is ``data.test_list``."""
    d = config.data
    root = Path(d.root)
    if not (root / "classInd.txt").exists():
        raise KdlabError(f"{root}: no classInd.txt; give a dataset folder made by `kdlab synth` or `kdlab prepare` (data.root)")
    classes = read_class_index(root / "classInd.txt")

    def listed(name):
        return read_list(Path(name) if Path(name).is_absolute() else root / name, classes)

    if part == "test":
        return listed(d.test_list)
    train, val = validation_split(listed(d.train_list), d.val_share)
    return {"train": train, "val": val}[part]


def make_dataset(config: RunConfig, part: str, representations, train: bool, segments: int, crops: int = 1):
    """The dataset of ``part`` (:data:`PARTS`) as the run config describes it."""
    return _dataset(config, (part, tuple(representations), train, segments, crops))


def _dataset(config: RunConfig, view: tuple, checked: CompressedVideoDataset | None = None) -> CompressedVideoDataset:
    """``view``: (part, representations, train, segments, crops). ``checked``: a dataset of the same part whose
    cache was checked: its records are taken as they are, without checking the cache again (:class:`DataPlan`)."""
    part, representations, train, segments, crops = view
    d = config.data
    return CompressedVideoDataset(
        d.root, checked.records if checked else part_records(config, part), representations=tuple(representations),
        accumulate=d.accumulate, num_segments=segments, train=train, size=d.size, crops=crops,
        cache_dir=d.cache_dir or None, seed=config.seed, workers=max(1, d.workers), progress=not config.quiet,
        loader=d.loader, index_dir=d.index_dir or None, check=checked is None,
    )


def make_loader(dataset, config: RunConfig, shuffle: bool, sampler=None) -> DataLoader:
    workers = config.data.workers
    return DataLoader(
        dataset, batch_size=config.data.batch_size, shuffle=shuffle and sampler is None, sampler=sampler,
        num_workers=workers, collate_fn=collate, drop_last=False,
        pin_memory=accel.use_pinned_memory(config.data.pin_memory, config.device),
        # the workers' base seed from a generator of its own, not from torch's global one (which a
        # resumed run would have drawn from at another point): items are seeded by (seed, epoch, index)
        generator=torch.Generator().manual_seed(config.seed),
        # spawned workers: forking a process that runs threads (FFmpeg's, torch's) can deadlock
        multiprocessing_context="spawn" if workers else None, persistent_workers=bool(workers),
    )


class DataPlan:
    """The datasets of one run, each built once: by (part, representations, train, segments, crops).

    A part's cache is checked once, by the first dataset of that part (every video of the list is
    compared with its stored representations, and built when stale); the part's later datasets
    reuse its checked records (videos that failed to decode already left out). Today's distillation
    run reads up to five views: the student's training, validation and test sets, and per teacher
    representation its view of the training list (offline logits) and of the test list.
    """

    def __init__(self, config: RunConfig):
        self.config = config
        self._built: dict[tuple, CompressedVideoDataset] = {}
        self._checked: dict[str, CompressedVideoDataset] = {}

    def dataset(self, part: str, representations, train: bool, segments: int, crops: int = 1) -> CompressedVideoDataset:
        """The dataset of ``part`` (:data:`PARTS`) reading ``representations`` (see :func:`make_dataset`)."""
        key = (part, tuple(representations), train, segments, crops)
        if key not in self._built:
            checked = self._checked.get(part)
            self._built[key] = _dataset(self.config, key, checked)
            self._checked.setdefault(part, self._built[key])
        return self._built[key]

    def has(self, part: str) -> bool:
        """Whether ``part`` has any video (``"val"`` is empty when ``data.val_share`` is 0)."""
        return bool(part_records(self.config, part))
