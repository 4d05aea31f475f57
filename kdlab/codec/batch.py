"""Re-encode whole folder trees of videos in parallel (``kdlab reencode``).

One bad file never stops the batch: each failure is collected with its reason and reported at
the end. Outputs are written atomically (see :mod:`kdlab.codec.encode`), so a file that exists
under its final name is complete, and a rerun skips it.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from kdlab.progress import bar as progress_bar

from kdlab.codec.encode import EncodeSettings, reencode_file
from kdlab.codec.reader import VIDEO_EXTENSIONS
from kdlab.errors import KdlabError, VideoError


@dataclass
class BatchReport:
    """What a batch did: files written, skipped as already done, and failures with reasons."""

    written: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        lines = [f"{len(self.written)} written, {len(self.skipped)} already done, {len(self.failed)} failed"]
        lines += [f"  FAILED {reason}" for reason in self.failed.values()]
        return "\n".join(lines)


def plan(sources: list[str | Path], out: str | Path, suffix: str = ".mp4") -> list[tuple[Path, Path]]:
    """Pair every video under ``sources`` with its output path under ``out``.

    A folder's tree is mirrored below ``out``, keeping the paths relative to the folder
    (``SRC/class/clip.avi -> OUT/class/clip.mp4``); a file given directly lands at ``OUT/clip.mp4``. Missing sources raise :class:`~kdlab.errors.VideoError`.
    """
    out = Path(out)
    pairs = []
    for source in map(Path, sources):
        if source.is_dir():
            files = sorted(p for p in source.rglob("*") if p.suffix.lower() in VIDEO_EXTENSIONS and p.is_file())
            pairs += [(f, (out / f.relative_to(source)).with_suffix(suffix)) for f in files]
        elif source.is_file():
            pairs.append((source, (out / source.name).with_suffix(suffix)))
        else:
            raise VideoError(source, "no such file or folder", "check the path")
    targets = [target for _, target in pairs]
    if len(set(targets)) != len(targets):
        clashes = sorted({str(t) for t in targets if targets.count(t) > 1})
        raise KdlabError(f"several sources would be written to the same output: {', '.join(clashes[:5])}")
    return pairs


def _reencode_one(src: Path, dst: Path, settings: EncodeSettings) -> Path:
    return reencode_file(src, dst, settings)


def reencode_tree(
    sources: list[str | Path],
    out: str | Path,
    settings: EncodeSettings = EncodeSettings(),
    workers: int = 2,
    overwrite: bool = False,
    progress: bool = True,
) -> BatchReport:
    """Re-encode every video under ``sources`` into ``out`` with ``workers`` processes."""
    return reencode_pairs(plan(sources, out), settings, workers, overwrite, progress)


def reencode_pairs(
    pairs: list[tuple[Path, Path]],
    settings: EncodeSettings = EncodeSettings(),
    workers: int = 2,
    overwrite: bool = False,
    progress: bool = True,
) -> BatchReport:
    """Re-encode each ``(source, target)`` pair; targets that exist are skipped unless ``overwrite``."""
    report = BatchReport()
    todo = []
    for src, dst in pairs:
        if dst.exists() and not overwrite:
            report.skipped.append(dst)
        else:
            todo.append((src, dst))
    bar = progress_bar(total=len(todo), desc="reencode", unit="video", enabled=progress and bool(todo))
    if workers <= 1 or len(todo) <= 1:
        for src, dst in todo:
            _collect(report, src, lambda: _reencode_one(src, dst, settings))
            bar.update()
    else:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            futures = {pool.submit(_reencode_one, src, dst, settings): src for src, dst in todo}
            for future in as_completed(futures):
                _collect(report, futures[future], future.result)
                bar.update()
    bar.close()
    return report


def _collect(report: BatchReport, src: Path, result) -> None:
    try:
        report.written.append(result())
    except KdlabError as exc:
        report.failed[str(src)] = str(exc).replace("\n", " ")
    except Exception as exc:  # an unexpected failure of one file must not stop the batch
        report.failed[str(src)] = f"{src}: unexpected {type(exc).__name__}: {exc}"
