"""``kdlab bench data``: training samples per second of the three loaders, side by side, and their disk.

All three feed a DataLoader with the same worker processes the same training samples (3 TSN
segments of I-frame, motion and residual, CoViAR's crops):

* ``cache``: every frame's representations decoded once and stored (memory-mapped reads);
* ``seek``: each sample decodes only its GOPs, from their I-frames to its frames (:mod:`kdlab.codec.seek`);
* ``decode``: each sample decodes its whole video (CoViAR's own C loader parses the stream from the
  start but decodes only the target GOP up to the sampled frame, as ``seek`` does).

Goals (the data issue): seek >= 1/3 of the cache's samples/s and >= 10x whole-clip decoding, its
index under 1 % of the videos. Samples/s depend on what else the machine runs; the CPU time of one
sample, measured in this process, hardly does, and is reported beside them, overall and per video.
Whole-clip decoding costs in proportion to the clip's length, while a seeking sample decodes about
20 frames (3 segments, each from its GOP's I-frame to a frame about halfway through the 12-frame
GOP) whatever the length: the per-video table shows the ratio growing with the clip. Without a
dataset, the bench lays out real clips (the bundled samples, or ``--clips DIR``) re-encoded as
CoViAR does (MPEG-4 Part 2, 340x256, GOP 12), one class per label.

Here every file stays in the page cache; on a full dataset the cache (about 80x the videos) does
not, so its reads come from disk, while the videos of the seeking loader may still fit in memory.
"""

from __future__ import annotations

import csv
import re
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader, RandomSampler

from kdlab.data.dataset import CompressedVideoDataset, collate
from kdlab.representations import REPRESENTATIONS

LOADERS = ("cache", "seek", "decode")


def samples_per_second(dataset: CompressedVideoDataset, workers: int, samples: int, batch_size: int = 32) -> float:
    """Training samples per second through a DataLoader, in its steady state.

    Workers take batches in turn and each keeps two in hand (DataLoader's prefetching), so:

    * the first ``2 x workers`` batches are not timed (worker start-up, first use of each video);
    * the clock runs from the receipt of the last of those to the receipt of the last timed batch,
      whole rounds of one batch per worker: at both ends each worker is about as far into its next
      batch, so work done before the clock started is balanced by work left after it stopped (timing
      from one receipt to the end of the loader instead counts the head start and overstates the
      rate by up to half a batch per worker: 25 % for 4 timed batches);
    * ``workers`` more batches are drawn and not timed, so that no worker runs out of work before
      the clock stops; the loader is read to the end and its workers shut down untimed.

    At least ``samples`` samples are timed.
    """
    lanes = max(workers, 1)
    warmup, rounds = 2 * lanes, max(1, -(-samples // (batch_size * lanes)))
    timed = rounds * lanes
    sampler = RandomSampler(dataset, replacement=True, num_samples=(warmup + timed + lanes) * batch_size)
    loader = DataLoader(
        dataset, batch_size=batch_size, sampler=sampler, num_workers=workers, collate_fn=collate,
        multiprocessing_context="spawn" if workers else None,
    )
    received = [time.perf_counter() for _ in loader]
    start, stop = received[warmup - 1], received[warmup - 1 + timed]
    return timed * batch_size / (stop - start)


def cpu_ms_per_sample(dataset: CompressedVideoDataset, samples: int) -> tuple[float, list[float]]:
    """CPU time (ms, every thread of this process) per training sample, read here without a
    DataLoader: the cost of a sample itself, which a busy machine does not change as it does
    samples/s (the first pass over the videos, which opens them, is not counted). Torch runs one
    thread, as in a DataLoader worker (idle pool threads spinning would count as CPU time).

    Returns the mean over ``samples`` samples, the videos taken in turn, and each video's own mean
    (NaN for a video that got none).
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    spent, count = [0.0] * len(dataset), [0] * len(dataset)
    try:
        for index in range(min(len(dataset), samples)):
            dataset[index]
        for i in range(samples):
            index = i % len(dataset)
            start = time.process_time()
            dataset[index, i + 1]
            spent[index] += time.process_time() - start
            count[index] += 1
    finally:
        torch.set_num_threads(threads)
    return 1e3 * sum(spent) / samples, [1e3 * t / n if n else float("nan") for t, n in zip(spent, count)]


BENCH_DATASETS = ("UCF-101", "HMDB-51")


def real_clip_dataset(clips: Path, out: Path, workers: int = 2, datasets: tuple[str, ...] = BENCH_DATASETS) -> Path:
    """Lay the clips of ``clips`` out as UCF-101 under ``out``, re-encoded as CoViAR does.

    With a ``labels.csv`` (``file,dataset,label``, as in the shared clips) the clips of ``datasets``
    are taken, one class per label; otherwise every video, its class read from a UCF-101 name or one
    class per file.
    """
    from kdlab.codec.batch import reencode_pairs
    from kdlab.codec.encode import EncodeSettings
    from kdlab.codec.reader import VIDEO_EXTENSIONS
    from kdlab.data.splits import Split, VideoRecord, write_lists
    from kdlab.errors import KdlabError

    if not clips.is_dir():
        raise KdlabError(f"{clips}: no such folder; give --clips a folder of videos (with a labels.csv, or UCF-101's names)")
    if (clips / "labels.csv").exists():
        with open(clips / "labels.csv", newline="") as handle:
            labelled = {row["file"]: row["label"] for row in csv.DictReader(handle) if row["dataset"] in datasets}
    else:  # UCF-101's names carry the class (v_<Class>_g<group>_c<clip>); others are a class each
        labelled = {p.name: (re.match(r"v_([A-Za-z]+)_g\d+_c\d+$", p.stem) or [p.stem, p.stem])[1]
                    for p in sorted(clips.iterdir()) if p.suffix.lower() in VIDEO_EXTENSIONS}
    names = {file: "".join(word[:1].upper() + word[1:] for word in re.split(r"[^A-Za-z0-9]+", label))
             for file, label in labelled.items() if (clips / file).exists()}  # "arm wrestling" -> ArmWrestling
    if not names:
        raise KdlabError(f"{clips}: no {' or '.join(datasets)} clips (labels.csv) or videos to benchmark")
    classes = sorted(set(names.values()))
    pairs, records = [], []
    for g, (file, name) in enumerate(sorted(names.items()), start=1):
        rel = f"{name}/v_{name}_g{g:02d}_c01.mp4"
        pairs.append((clips / file, out / rel))
        records.append(VideoRecord(rel, classes.index(name)))
    report = reencode_pairs(pairs, EncodeSettings(), workers=workers, progress=False)
    if report.failed:
        raise KdlabError("could not re-encode: " + "; ".join(report.failed.values()))
    write_lists(out, Split(classes, records, records))
    return out


def _bytes(folder: Path, pattern: str) -> int:
    return sum(p.stat().st_size for p in folder.rglob(pattern) if p.is_file())


def run(root: str | Path, list_file: str = "trainlist01.txt", size: int = 112, workers: int = 2, samples: int = 640,
        batch_size: int = 32) -> dict:
    """Samples/s of each loader on ``root``'s ``list_file``, the CPU time of a sample (overall and
    per video) and the disk each loader needs."""
    root = Path(root)
    kwargs = dict(representations=REPRESENTATIONS, num_segments=3, train=True, size=size, progress=False)
    datasets = {loader: CompressedVideoDataset(root, list_file, loader=loader, **kwargs) for loader in LOADERS}
    # Whole-clip decoding is slow, but its cost varies with the clips a batch draws: 2/5 as many samples.
    counts = {"cache": samples, "seek": samples, "decode": max(4 * batch_size, 2 * samples // 5)}
    rates = {loader: samples_per_second(datasets[loader], workers, counts[loader], batch_size) for loader in LOADERS}
    cpu = {loader: cpu_ms_per_sample(datasets[loader], max(len(datasets[loader]), counts[loader] // 4)) for loader in LOADERS}
    lengths = [len(datasets["seek"]._source(r).gop_pos) for r in datasets["seek"].records]
    videos = sum((root / r.relpath).stat().st_size for r in datasets["seek"].records)
    disk = {"videos": videos, "index": _bytes(datasets["seek"].index_dir, "*.json"),
            "cache": _bytes(datasets["cache"].cache_dir, "*.npy")}
    per_video = [{"video": record.video_id, "frames": frames, **{f"{loader}_cpu_ms": cpu[loader][1][i] for loader in LOADERS}}
                 for i, (record, frames) in enumerate(zip(datasets["seek"].records, lengths))]
    return {
        "root": str(root), "workers": workers, "size": size, "batch_size": batch_size, "videos": len(datasets["seek"]),
        "frames": sum(lengths), "per_video": per_video,
        **{f"{loader}_samples_per_s": rate for loader, rate in rates.items()},
        **{f"{loader}_cpu_ms_per_sample": ms for loader, (ms, _) in cpu.items()},
        **{f"{name}_bytes": value for name, value in disk.items()},
        "goals": {"seek_vs_cache": rates["seek"] / rates["cache"], "seek_vs_decode": rates["seek"] / rates["decode"],
                  "seek_vs_cache_cpu": cpu["cache"][0] / cpu["seek"][0], "seek_vs_decode_cpu": cpu["decode"][0] / cpu["seek"][0],
                  "index_share_of_videos": disk["index"] / videos},
    }
