"""``kdlab prepare``: turn a raw UCF-101 or HMDB-51 download into a kdlab dataset folder.

Steps, each resumable (a rerun skips what is done):

1. parse the official split files (all three splits),
2. re-encode every listed video as CoViAR does (``kdlab reencode``'s settings) into
   ``OUT/<class>/<video>.mp4``,
3. write ``classInd.txt``, ``trainlist0{1,2,3}.txt`` and ``testlist0{1,2,3}.txt`` in UCF-101's
   format, pointing at the re-encoded files (videos that failed are left out and reported),
4. index every video's key frames for the GOP-seeking loader, ``OUT/index`` (a few kB a video, no
   decoding; ``data.loader = "seek"``),
5. only when asked (``cache=``, ``kdlab prepare --cache``): build the representation cache
   ``OUT/cache`` (:mod:`kdlab.data.cache`; ``data.loader = "cache"``), about 80 times the
   re-encoded videos' size (UCF-101: about 1 TB), in exchange for the fastest loading.

Raw layouts: UCF-101 ``RAW/<Class>/v_<Class>_gXX_cYY.avi`` (as the official archive unpacks);
HMDB-51 ``RAW/<class>/<video>.avi`` (each class's .rar unpacked into a folder of its name).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from kdlab.codec.batch import reencode_pairs
from kdlab.codec.encode import EncodeSettings
from kdlab.data.cache import CacheReport, CacheSettings, build_cache, build_indexes
from kdlab.data.splits import Split, VideoRecord, parse_hmdb51, parse_ucf101, write_lists
from kdlab.errors import ConfigError, KdlabError

PARSERS = {"ucf101": parse_ucf101, "hmdb51": parse_hmdb51}


@dataclass
class PrepareReport:
    splits: list[int] = field(default_factory=list)
    videos: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    cache: CacheReport | None = None
    index: CacheReport | None = None

    def summary(self) -> str:
        lines = [f"prepared splits {self.splits}: {self.videos} videos, {len(self.failed)} could not be re-encoded"]
        lines += [f"  FAILED {reason}" for reason in self.failed.values()]
        if self.index:
            lines.append(self.index.summary())
        if self.cache:
            lines.append(self.cache.summary())
        return "\n".join(lines)


def _encoded(record: VideoRecord) -> VideoRecord:
    return VideoRecord(str(Path(record.relpath).with_suffix(".mp4")), record.label)


def prepare(
    dataset: str,
    src: str | Path,
    splits_dir: str | Path,
    out: str | Path,
    settings: EncodeSettings = EncodeSettings(),
    cache: CacheSettings | None = None,
    workers: int = 2,
    progress: bool = True,
) -> PrepareReport:
    """Prepare ``dataset`` ("ucf101" or "hmdb51") from ``src`` and its ``splits_dir`` into ``out``:
    re-encoded videos, lists and key-frame indexes, and the representation cache when ``cache`` is given."""
    if dataset not in PARSERS:
        raise ConfigError(f"dataset must be one of {sorted(PARSERS)}, got {dataset!r}")
    src, out = Path(src), Path(out)
    if not src.is_dir():
        raise KdlabError(f"{src}: not a folder; --src is the unpacked {dataset} videos")
    report = PrepareReport()
    split_sets: dict[int, Split] = {}
    for number in (1, 2, 3):
        try:
            split_sets[number] = PARSERS[dataset](splits_dir, number)
        except KdlabError:
            if number == 1:
                raise
    report.splits = sorted(split_sets)
    records = list(dict.fromkeys(r for s in split_sets.values() for r in s.train + s.test))
    pairs = [(src / r.relpath, out / _encoded(r).relpath) for r in records]
    batch = reencode_pairs(pairs, settings, workers=workers, progress=progress)
    report.failed = batch.failed
    failed = set(batch.failed)
    usable = lambda rs: [_encoded(r) for r in rs if str(src / r.relpath) not in failed]  # noqa: E731
    for number, split in split_sets.items():
        write_lists(out, Split(split.classes, usable(split.train), usable(split.test)), number)
    encoded = usable(records)
    report.videos = len(encoded)
    report.index = build_indexes(out, encoded, out / "index", workers=workers, progress=progress)
    if cache is not None:
        report.cache = build_cache(out, encoded, out / "cache", cache, workers=workers, progress=progress)
    return report
