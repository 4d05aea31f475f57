"""Datasets and loaders as a run config describes them (shared by training and evaluation)."""

from __future__ import annotations

from torch.utils.data import DataLoader

from kdlab.data.dataset import CompressedVideoDataset, collate
from kdlab.engine import distributed
from kdlab.engine.config import RunConfig
from kdlab.progress import quiet


def progress_enabled(config: RunConfig, context: distributed.Context) -> bool:
    return context.is_main and not config.quiet and not quiet()


def make_dataset(config: RunConfig, list_file: str, representations, train: bool, segments: int, crops: int = 1):
    d = config.data
    return CompressedVideoDataset(
        d.root, list_file, representations=tuple(representations), accumulate=d.accumulate,
        num_segments=segments, train=train, size=d.size, crops=crops, cache_dir=d.cache_dir or None,
        seed=config.seed, workers=max(1, d.workers), progress=not config.quiet,
    )


def make_loader(dataset, config: RunConfig, shuffle: bool, sampler=None) -> DataLoader:
    workers = config.data.workers
    return DataLoader(
        dataset, batch_size=config.data.batch_size, shuffle=shuffle and sampler is None, sampler=sampler,
        num_workers=workers, collate_fn=collate, drop_last=False,
        # spawned workers: forking a process that runs threads (FFmpeg's, torch's) can deadlock
        multiprocessing_context="spawn" if workers else None, persistent_workers=bool(workers),
    )
