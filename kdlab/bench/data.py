"""``kdlab bench data``: training samples per second from the cache against decoding on the fly.

Both paths feed a DataLoader with 2 worker processes the same training samples (3 TSN segments
of I-frame, motion and residual, CoViAR's crops); "on the fly" decodes the whole video for every
sample, as pytorch-coviar's loader does. Goal from the data issue: the cache at least 10x faster.
"""

from __future__ import annotations

import time
from pathlib import Path

from torch.utils.data import DataLoader, RandomSampler

from kdlab.data.dataset import CompressedVideoDataset, collate
from kdlab.representations import REPRESENTATIONS


def samples_per_second(dataset: CompressedVideoDataset, workers: int, samples: int, batch_size: int = 8) -> float:
    """Training samples per second through a DataLoader, in its steady state.

    The first ``2 x workers`` batches are not timed: they include worker start-up, and the other
    workers have been preparing their first batches meanwhile (DataLoader's prefetching), which
    would count work done before the clock started. The loader draws exactly the batches it needs
    and is read to the end, so that its workers shut down normally.
    """
    warmup = 2 * max(workers, 1)
    sampler = RandomSampler(dataset, replacement=True, num_samples=samples + warmup * batch_size)
    loader = DataLoader(
        dataset, batch_size=batch_size, sampler=sampler, num_workers=workers, collate_fn=collate,
        multiprocessing_context="spawn" if workers else None,
    )
    iterator = iter(loader)
    for _ in range(warmup):
        next(iterator)
    seen, start = 0, time.perf_counter()
    for _, labels, _ in iterator:
        seen += len(labels)
    return seen / (time.perf_counter() - start)


def run(root: str | Path, list_file: str = "trainlist01.txt", size: int = 112, workers: int = 2, samples: int = 200) -> dict:
    kwargs = dict(representations=REPRESENTATIONS, num_segments=3, train=True, size=size, progress=False)
    cached = CompressedVideoDataset(root, list_file, **kwargs)
    fly = CompressedVideoDataset(root, list_file, decode_on_the_fly=True, **kwargs)
    cache_rate = samples_per_second(cached, workers, samples)
    fly_rate = samples_per_second(fly, workers, max(64, samples // 4))
    return {"root": str(root), "workers": workers, "size": size, "cache_samples_per_s": cache_rate,
            "on_the_fly_samples_per_s": fly_rate, "speedup": cache_rate / fly_rate}
