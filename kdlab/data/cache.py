"""The representation cache (every video decoded once, its representations stored compactly) and
the key-frame indexes of the GOP-seeking loader (a few kilobytes per video, no decoding).

Layout: ``<cache>/<video_id>.kdv`` per video (see :mod:`kdlab.codec.store`: memory-mapped int8
motion and residual, uint8 I-frames) and ``<cache>/failures.json`` naming the videos that could
not be decoded, with the reason.

An entry is *fresh* when its ``meta.json`` records the same source file (size and modification
time) and the same extraction settings; anything else is rebuilt. Building runs in parallel
processes with a progress bar, each entry written atomically, so an interrupted build resumes
where it stopped. A corrupt video is reported and skipped, never replaced by zeros.

The seeking loader's indexes (:mod:`kdlab.codec.seek`) live likewise in ``<index>/<video_id>.json``
with their own ``failures.json``, fresh while their source file is unchanged.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from kdlab.atomic import write_text
from kdlab.codec import store
from kdlab.codec.batch import tally
from kdlab.codec.extract import GopStream
from kdlab.codec.seek import build_index, load_index, save_index
from kdlab.data.splits import VideoRecord
from kdlab.errors import KdlabError
from kdlab.parallel import map_jobs

FAILURES = "failures.json"


@dataclass(frozen=True)
class CacheSettings:
    """Extraction settings that a cache entry depends on."""

    accumulate: bool = True

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class CacheReport:
    built: list[str] = field(default_factory=list)
    fresh: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    kind: str = "cache"  # or "index"

    def summary(self) -> str:
        counts = {"built": len(self.built), "up to date": len(self.fresh), "failed": len(self.failed)}
        return tally(counts, [f"  SKIPPED {vid}: {reason}" for vid, reason in sorted(self.failed.items())], f"{self.kind}: ")


def entry_path(cache_dir: str | Path, video_id: str) -> Path:
    return Path(cache_dir) / f"{video_id}.kdv"


def is_fresh(entry: Path, source: Path, settings: CacheSettings) -> bool:
    """Whether ``entry`` was built from ``source`` as it is now, with ``settings``."""
    try:
        meta = store.read_meta(entry)
    except KdlabError:
        return False
    if store.verify(entry, meta) is not None:  # truncated or altered: rebuilt
        return False
    signature = store.source_signature(source) if source.exists() else None
    recorded = meta.get("source", {})
    same_source = signature is not None and all(recorded.get(k) == signature[k] for k in ("size", "mtime_ns"))
    same_settings = {k: meta["settings"].get(k) for k in settings.as_dict()} == settings.as_dict()
    return same_source and same_settings


def build_entry(source: str | Path, entry: str | Path, settings: CacheSettings) -> Path:
    """Decode ``source`` once and store its representations at ``entry`` (atomically), a GOP or a piece of one at a time."""
    stream = GopStream(source, accumulate=settings.accumulate, precision="compact")
    return store.save_stream(stream, entry, settings=settings.as_dict())


def read_failures(cache_dir: str | Path) -> dict[str, str]:
    path = Path(cache_dir) / FAILURES
    return json.loads(path.read_text()) if path.exists() else {}


def _write_failures(cache_dir: Path, failures: dict[str, str]) -> None:
    write_text(cache_dir / FAILURES, json.dumps(failures, indent=1, sort_keys=True))


def build_cache(
    root: str | Path,
    records: list[VideoRecord],
    cache_dir: str | Path,
    settings: CacheSettings = CacheSettings(),
    workers: int = 2,
    progress: bool = True,
) -> CacheReport:
    """Make every record's entry fresh; videos under ``root``, entries under ``cache_dir``."""
    return _build_all(root, records, Path(cache_dir), "cache", workers, progress,
                      lambda source, entry: is_fresh(entry, source, settings),
                      lambda vid: entry_path(cache_dir, vid), build_entry, (settings,))


def _build_all(root, records, folder: Path, desc: str, workers: int, progress: bool, fresh, entry_of, build, extra=()) -> CacheReport:
    """``build(source, entry, *extra)`` for every record whose entry is not ``fresh(source, entry)``,
    in ``workers`` processes; failures recorded in ``folder/failures.json`` (cleared once built)."""
    root = Path(root)
    report = CacheReport(kind=desc)
    jobs = {}
    for record in dict.fromkeys(records):  # a video listed twice is built once
        source, entry = root / record.relpath, entry_of(record.video_id)
        if fresh(source, entry):
            report.fresh.append(record.video_id)
        else:
            jobs[record.video_id] = (source, entry, *extra)
    built, report.failed = map_jobs(build, jobs, workers, desc=desc, progress=progress)
    report.built = list(built)
    failures = {k: v for k, v in read_failures(folder).items() if k not in report.built and k not in report.fresh}
    failures.update(report.failed)
    _write_failures(folder, failures)
    return report


# The GOP-seeking loader's per-video key-frame index (kdlab.codec.seek): <index>/<video_id>.json.

def index_path(index_dir: str | Path, video_id: str) -> Path:
    return Path(index_dir) / f"{video_id}.json"


def is_index_fresh(entry: Path, source: Path) -> bool:
    """Whether the index ``entry`` was built from ``source`` as it is now (size and modification time)."""
    try:
        _, recorded = load_index(entry)
    except KdlabError:
        return False
    signature = store.source_signature(source) if source.exists() else None
    return signature is not None and all(recorded.get(k) == signature[k] for k in ("size", "mtime_ns"))


def build_index_entry(source: str | Path, entry: str | Path) -> Path:
    """Read ``source``'s packets (no decoding) and save its key-frame index at ``entry``."""
    save_index(build_index(source), entry, store.source_signature(source))
    return Path(entry)


def build_indexes(root: str | Path, records: list[VideoRecord], index_dir: str | Path, workers: int = 2,
                  progress: bool = True) -> CacheReport:
    """Make every record's key-frame index fresh; videos under ``root``, indexes under ``index_dir``."""
    return _build_all(root, records, Path(index_dir), "index", workers, progress,
                      lambda source, entry: is_index_fresh(entry, source),
                      lambda vid: index_path(index_dir, vid), build_index_entry)
