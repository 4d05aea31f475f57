"""Re-encode whole folder trees of videos in parallel (``kdlab reencode``).

One bad file never stops the batch: each failure is collected with its reason and reported at
the end. Outputs are written atomically (see :mod:`kdlab.codec.encode`), so a file that exists
under its final name is complete, and a rerun skips it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from kdlab.codec.encode import EncodeSettings, reencode_file
from kdlab.codec.reader import VIDEO_EXTENSIONS
from kdlab.errors import KdlabError, VideoError
from kdlab.parallel import map_jobs


@dataclass
class BatchReport:
    """What a batch did: files written, skipped as already done, and failures with reasons."""

    written: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        counts = {"written": len(self.written), "already done": len(self.skipped), "failed": len(self.failed)}
        return tally(counts, [f"  FAILED {reason}" for reason in self.failed.values()])


def tally(counts: dict[str, int], failures: list[str], prefix: str = "") -> str:
    """A batch's report: one line of counts (``"2 written, 0 already done, 1 failed"``), then one per failure."""
    return "\n".join([prefix + ", ".join(f"{n} {label}" for label, n in counts.items()), *failures])


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
    counts = Counter(target for _, target in pairs)
    clashes = sorted(str(t) for t, n in counts.items() if n > 1)
    if clashes:
        raise KdlabError(f"several sources would be written to the same output: {', '.join(clashes[:5])}")
    _refuse_writing_into_sources([Path(s) for s in sources], out, pairs)
    return pairs


def _refuse_writing_into_sources(sources: list[Path], out: Path, pairs: list[tuple[Path, Path]]) -> None:
    """No output may be a source video (``--overwrite`` would replace the original), and ``out`` may
    not lie inside a source folder (the next run would re-encode its own outputs)."""
    originals = {src.resolve() for src, _ in pairs}
    overwritten = [str(dst) for _, dst in pairs if dst.resolve() in originals]
    if overwritten:
        raise KdlabError(f"{overwritten[0]}: would be written over a source video; choose an --out outside the sources")
    target = out.resolve()
    for source in sources:
        if source.is_dir() and (target == source.resolve() or source.resolve() in target.parents):
            raise KdlabError(f"--out {out} lies inside the source folder {source}; the next run would re-encode "
                             "its own outputs: choose an --out outside it")


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
    jobs = {}
    for src, dst in pairs:
        if dst.exists() and not overwrite:
            report.skipped.append(dst)
        else:
            jobs[str(src)] = (src, dst, settings)
    written, report.failed = map_jobs(reencode_file, jobs, workers, desc="reencode", progress=progress)
    report.written = list(written.values())
    return report
