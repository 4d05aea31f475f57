"""``kdlab bench data``: training samples per second from the cache against decoding on the fly.

Both paths feed a DataLoader with 2 worker processes the same training samples (3 TSN segments
of I-frame, motion and residual, CoViAR's crops); "on the fly" decodes the whole video for every
sample, as pytorch-coviar's loader does. Goal from the data issue: the cache at least 10x faster.
"""

from __future__ import annotations

import time
from pathlib import Path

from torch.utils.data import DataLoader

from kdlab.data.dataset import CompressedVideoDataset, collate


def samples_per_second(dataset: CompressedVideoDataset, workers: int, samples: int, batch_size: int = 8) -> float:
    loader = DataLoader(
        dataset, batch_size=batch_size, shuffle=True, num_workers=workers, collate_fn=collate,
        multiprocessing_context="spawn" if workers else None, persistent_workers=bool(workers),
    )
    iterator = iter(loader)
    next(iterator)  # worker start-up is not part of the rate
    seen, start = 0, time.perf_counter()
    while seen < samples:
        try:
            _, labels, _ = next(iterator)
        except StopIteration:
            iterator = iter(loader)
            continue
        seen += len(labels)
    return seen / (time.perf_counter() - start)


def run(root: str | Path, list_file: str = "trainlist01.txt", size: int = 112, workers: int = 2, samples: int = 200) -> dict:
    kwargs = dict(representations=("iframe", "mv", "residual"), num_segments=3, train=True, size=size, progress=False)
    cached = CompressedVideoDataset(root, list_file, **kwargs)
    fly = CompressedVideoDataset(root, list_file, decode_on_the_fly=True, **kwargs)
    cache_rate = samples_per_second(cached, workers, samples)
    fly_rate = samples_per_second(fly, workers, max(16, samples // 10))
    return {"root": str(root), "workers": workers, "size": size, "cache_samples_per_s": cache_rate,
            "on_the_fly_samples_per_s": fly_rate, "speedup": cache_rate / fly_rate}
