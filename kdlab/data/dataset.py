"""A torch ``Dataset`` of compressed-video clips: TSN samples of I-frames, motion and residuals.

>>> ds = CompressedVideoDataset("data/synthetic/default", "trainlist01.txt",
...                             representations=("iframe", "mv"), num_segments=3, train=True)
>>> inputs, label, video_id = ds[0]      # doctest: +SKIP
>>> inputs["mv"].shape                  # (T, C, S, S) = (3, 2, 112, 112)

Each item is ``(inputs, label, video_id)``: ``inputs`` is a ``(T, C, S, S)`` float tensor, or a
dict of them by representation when several are read at once (then they share frame positions
and crops, so teachers of other representations see the same moments of the clip as the student).

Three loaders give the same arrays (``loader=``):

* ``"cache"`` (default): every video decoded once into the representation cache
  (:mod:`kdlab.data.cache`, built on first use); an item reads three frames from memory maps.
  Fastest, but the cache holds every frame's motion and residual (UCF-101: about 1 TB).
* ``"seek"``: an item seeks to the GOPs of its frames and decodes only from their I-frames to
  them (:mod:`kdlab.codec.seek`); the videos and a key-frame index of a few kB each are all it
  stores (``<root>/index``, built on first use from the packets alone, without decoding).
* ``"decode"``: an item decodes its whole video (the baseline of ``kdlab bench data``; CoViAR's own
  C loader decodes only the sample's GOP up to its frame, as ``"seek"`` does).

Sampling is deterministic: item ``i`` of epoch ``e`` draws from a generator
seeded by ``(seed, e, i)``, whatever the number of DataLoader workers.
"""

from __future__ import annotations

import warnings
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset, RandomSampler, Sampler, default_collate

from kdlab.codec import Representations, extract, store
from kdlab.codec.seek import GopReader, KeyframeIndex, load_index
from kdlab.data import sampling
from kdlab.data.cache import (
    CacheSettings, build_cache, build_indexes, entry_path, index_path, is_fresh, is_index_fresh, read_failures,
)
from kdlab.data.splits import VideoRecord, read_class_index, read_list
from kdlab.data.transforms import ClipTransform
from kdlab.errors import ConfigError, KdlabError
from kdlab.representations import REPRESENTATIONS


def _open_limit() -> int:
    """How many stored videos an item reader keeps open: each holds about five file descriptors
    (memory maps), so as many as the process's descriptor limit allows, within [64, 4096]."""
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    except (ImportError, OSError, ValueError):
        return 64
    return 4096 if soft == resource.RLIM_INFINITY else max(64, min(4096, (soft - 256) // 6))


OPEN_LIMIT = _open_limit()
#: Stored videos open in this process, shared by every dataset of it (the train, validation and test
#: sets of a run, and the runs of a study, read the same stores): path -> memory-mapped arrays.
_OPEN: OrderedDict[str, Representations] = OrderedDict()


def open_store(path: Path) -> Representations:
    """The stored video at ``path``, opened once per process (least recently used closed first)."""
    key = str(path)
    reps = _OPEN.get(key)
    if reps is None:
        reps = _OPEN[key] = store.load(path)
        if len(_OPEN) > OPEN_LIMIT:  # memory maps hold file descriptors
            _OPEN.popitem(last=False)
    else:
        _OPEN.move_to_end(key)
    return reps


def forget_stores(paths) -> None:
    """Close the given stored videos (they are being rebuilt)."""
    for path in paths:
        _OPEN.pop(str(path), None)


#: GOP readers open in this process (each holds an open container): (video, index, accumulate) -> reader.
_READERS: OrderedDict[tuple, GopReader] = OrderedDict()
#: Key-frame indexes read in this process (a few kB each): index path -> index.
_INDEXES: dict[str, KeyframeIndex] = {}


def open_reader(video: Path, index: Path, accumulate: bool) -> GopReader:
    """A :class:`GopReader` of ``video``, opened once per process (least recently used closed first)."""
    key = (str(video), str(index), accumulate)
    reader = _READERS.get(key)
    if reader is None:
        if str(index) not in _INDEXES:
            _INDEXES[str(index)] = load_index(index)[0]
        reader = _READERS[key] = GopReader(video, _INDEXES[str(index)], accumulate)
        if len(_READERS) > READER_LIMIT:
            _READERS.popitem(last=False)[1].close()
    else:
        _READERS.move_to_end(key)
    return reader


def close_readers() -> None:
    """Close every GOP reader this process holds open (each keeps its container and last frame)."""
    while _READERS:
        _READERS.popitem()[1].close()


def forget_indexes(paths) -> None:
    """Drop the given indexes and their readers (they are being rebuilt)."""
    stale = {str(path) for path in paths}
    for key in [k for k in _READERS if k[1] in stale]:
        _READERS.pop(key).close()
    for path in stale:
        _INDEXES.pop(path, None)


#: Open GOP readers per process: an open container costs a file descriptor and a decoder's buffers.
READER_LIMIT = 32
LOADERS = ("cache", "seek", "decode")


class CompressedVideoDataset(Dataset):
    """Clips of one list file of a dataset in kdlab's (UCF-101's) layout.

    Args:
        root: dataset folder holding ``classInd.txt``, the list files and the videos.
        list_file: list file name (relative to ``root``) or path, or the records themselves
            (e.g. one part of :func:`kdlab.data.splits.validation_split`).
        representations: one or several of ``"iframe"``, ``"mv"``, ``"residual"``.
        accumulate: motion and residual traced back to the I-frame (CoViAR) or per frame.
        num_segments: TSN segments ``T`` (CoViAR trains with 3, tests with 25).
        train: random frame per segment and multi-scale crop/flip, or segment centres and test crops.
        size: network input side ``S``; ``crops``: test crops, 1 or 10.
        cache_dir: where representations are stored (default ``root/cache``); built if missing.
        seed: sampling seed; ``set_epoch`` changes the draw each epoch.
        decode_on_the_fly: the same as ``loader="decode"``.
        workers: processes for building the cache or the indexes.
        loader: ``"cache"``, ``"seek"`` or ``"decode"`` (the module docstring); identical items.
        index_dir: where the seeking loader's key-frame indexes are (default ``root/index``).
        check: bring the records' cache entries or indexes up to date (built when stale, failures
            left out); False when another dataset of the same records has just done it.
    """

    def __init__(
        self,
        root: str | Path,
        list_file: str | Path | list[VideoRecord],
        representations: str | tuple[str, ...] = "iframe",
        accumulate: bool = True,
        num_segments: int = 3,
        train: bool = True,
        size: int = 224,
        crops: int = 1,
        scale_size: int | None = None,
        cache_dir: str | Path | None = None,
        seed: int = 0,
        decode_on_the_fly: bool = False,
        workers: int = 2,
        progress: bool = True,
        loader: str = "cache",
        index_dir: str | Path | None = None,
        check: bool = True,
    ):
        self.root = Path(root)
        if not (self.root / "classInd.txt").exists():
            raise KdlabError(f"{self.root}: no classInd.txt; give a dataset folder made by `kdlab synth` or `kdlab prepare`")
        self.single = isinstance(representations, str)
        self.representations = (representations,) if self.single else tuple(representations)
        unknown = set(self.representations) - set(REPRESENTATIONS)
        if unknown or not self.representations:
            raise ConfigError(f"representations: {sorted(unknown)} not among {list(REPRESENTATIONS)}")
        if num_segments < 1:
            raise ConfigError(f"num_segments must be >= 1, got {num_segments}")
        self.classes = read_class_index(self.root / "classInd.txt")
        if isinstance(list_file, (list, tuple)):
            self.records: list[VideoRecord] = list(list_file)
        else:
            list_path = Path(list_file) if Path(list_file).is_absolute() else self.root / list_file
            self.records = read_list(list_path, self.classes)
        self.settings = CacheSettings(accumulate=accumulate)
        self.num_segments = num_segments
        self.train = train
        self.transform = ClipTransform(size=size, train=train, scale_size=scale_size, crops=crops)
        self.cache_dir = Path(cache_dir) if cache_dir else self.root / "cache"
        self.seed = seed
        self.epoch = 0
        self.loader = "decode" if decode_on_the_fly else loader
        if self.loader not in LOADERS:
            raise ConfigError(f"data.loader must be one of {list(LOADERS)}, got {loader!r}")
        self.index_dir = Path(index_dir) if index_dir else self.root / "index"
        if check and self.loader == "cache":
            self._ensure(self.cache_dir, lambda r: entry_path(self.cache_dir, r.video_id),
                         lambda r, entry: is_fresh(entry, self.root / r.relpath, self.settings), forget_stores,
                         lambda stale: build_cache(self.root, stale, self.cache_dir, self.settings, workers, progress))
        elif check and self.loader == "seek":
            self._ensure(self.index_dir, lambda r: index_path(self.index_dir, r.video_id),
                         lambda r, entry: is_index_fresh(entry, self.root / r.relpath), forget_indexes,
                         lambda stale: build_indexes(self.root, stale, self.index_dir, workers, progress))

    def _ensure(self, folder: Path, entry, fresh, forget, build) -> None:
        """Build the records' cache entries or indexes that are not ``fresh`` (closing what this
        process has open of them first), then leave out the videos that failed."""
        stale = [r for r in self.records if not fresh(r, entry(r))]
        if stale:
            forget(entry(r) for r in stale)
            report = build(stale)
            if report.failed:
                print(report.summary())
        self._skip_failures(folder)

    def _skip_failures(self, folder: Path) -> None:
        """Leave out (with a warning) the videos that ``folder/failures.json`` names."""
        failures = read_failures(folder)
        skipped = [r.video_id for r in self.records if r.video_id in failures]
        if skipped:
            warnings.warn(
                f"{len(skipped)} of {len(self.records)} videos could not be decoded and are skipped: "
                + "; ".join(f"{v} ({failures[v]})" for v in skipped[:5])
                + (" ..." if len(skipped) > 5 else ""),
                stacklevel=4,
            )
            self.records = [r for r in self.records if r.video_id not in failures]
        if not self.records:
            raise KdlabError(f"{self.root}: no usable videos in this list")

    def __len__(self) -> int:
        return len(self.records)

    def set_epoch(self, epoch: int) -> None:
        """Draw other training frames and crops in each epoch (deterministically)."""
        self.epoch = epoch

    @property
    def labels(self) -> np.ndarray:
        return np.array([r.label for r in self.records])

    @property
    def decode_on_the_fly(self) -> bool:
        return self.loader == "decode"

    def _source(self, record: VideoRecord) -> Representations | GopReader:
        """Where ``record``'s arrays come from: a stored (or freshly decoded) video, or a GOP reader."""
        if self.loader == "seek":
            return open_reader(self.root / record.relpath, index_path(self.index_dir, record.video_id), self.settings.accumulate)
        if self.loader == "decode":
            return extract(self.root / record.relpath, accumulate=self.settings.accumulate, precision="compact")
        return open_store(entry_path(self.cache_dir, record.video_id))

    def frames(self, index: int, rng: np.random.Generator | None = None, source=None) -> np.ndarray:
        """The frame indices item ``index`` reads, ``(T,)`` (the I-frame sample reads their GOPs' I-frames)."""
        source = source if source is not None else self._source(self.records[index])
        candidates = sampling.candidate_frames(np.asarray(source.gop_pos), self.representations)
        if self.train:
            return sampling.train_frames(candidates, self.num_segments, rng or self._rng(index))
        return sampling.test_frames(candidates, self.num_segments)

    def _rng(self, index: int, epoch: int | None = None) -> np.random.Generator:
        return np.random.default_rng([self.seed, self.epoch if epoch is None else epoch, index])

    def __getitem__(self, key: int | tuple[int, int]):
        """Item ``key``, or ``(index, epoch)`` as :class:`EpochSampler` yields them."""
        index, epoch = key if isinstance(key, tuple) else (key, self.epoch)
        record = self.records[index]
        source = self._source(record)
        rng = self._rng(index, epoch)
        frames = self.frames(index, rng, source)
        if isinstance(source, GopReader):
            arrays = source.read(frames, self.representations)
        else:
            arrays = {rep: source.iframes[np.asarray(source.gop_index)[frames]] if rep == "iframe" else getattr(source, rep)[frames]
                      for rep in self.representations}
        tensors = self.transform({rep: np.asarray(arrays[rep]) for rep in self.representations}, rng, raw=True)
        inputs = tensors[self.representations[0]] if self.single else tensors
        return inputs, record.label, record.video_id


class EpochSampler(Sampler):
    """Wraps a sampler so that it yields ``(index, epoch)``: DataLoader workers, persistent or not,
    then draw each epoch's own frames and crops (a worker's copy of the dataset never sees
    ``set_epoch`` calls made in the main process).

    A ``RandomSampler`` given with its own ``generator`` is reseeded for every epoch from
    ``(seed, epoch)`` alone (:func:`epoch_order_seed`), so the order of an epoch does not depend on
    what else drew from torch's global generator before it: a resumed run, with any number of
    DataLoader workers, persistent or not, sees the same batches as an uninterrupted one.
    """

    def __init__(self, sampler: Sampler, seed: int = 0):
        self.sampler = sampler
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
        if hasattr(self.sampler, "set_epoch"):
            self.sampler.set_epoch(epoch)
        generator = getattr(self.sampler, "generator", None)
        if isinstance(self.sampler, RandomSampler) and generator is not None:
            generator.manual_seed(epoch_order_seed(self.seed, epoch))

    def __iter__(self):
        epoch = self.epoch
        return ((index, epoch) for index in self.sampler)

    def __len__(self) -> int:
        return len(self.sampler)


def epoch_order_seed(seed: int, epoch: int) -> int:
    """The seed of epoch ``epoch``'s order: the third 64-bit draw of a generator seeded with
    ``1000 seed + epoch``.

    Why the third: kdlab used to seed torch's global generator so before every epoch and let the
    loader draw from it, two base seeds (the epoch loop's progress bar, ``tqdm.auto``, creates the
    loader's iterator once more than the loop does) and then the RandomSampler's seed. The order of
    every epoch is kept the same, so earlier studies reproduce, but it is now computed from
    ``(seed, epoch)`` alone, whatever else drew from the global generator before it.
    """
    generator = torch.Generator().manual_seed(seed * 1000 + epoch)
    for _ in range(2):  # the two base seeds
        torch.empty((), dtype=torch.int64).random_(generator=generator)
    return int(torch.empty((), dtype=torch.int64).random_(generator=generator).item())


def collate(batch):
    """Stack inputs (tensors or dicts of tensors) and labels; keep video ids as a list."""
    inputs, labels, ids = zip(*batch)
    # default_collate stacks straight into shared memory inside a DataLoader worker, which spares
    # the copy that sending an ordinary tensor to the main process would cost (~10 MB per batch).
    return default_collate(list(inputs)), torch.tensor(labels), list(ids)
