"""Atomic writes: a file (or folder) appears under its final name complete, or not at all.

Every writer in kdlab writes to a temporary name beside the target (``.<name>.part-<pid>``) and
renames it into place (``os.replace``, atomic on POSIX and Windows), so an interrupted run never
leaves a half-written video, array, checkpoint or list that a rerun would trust.
"""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


def temporary_name(path: Path) -> Path:
    """``.<stem>.part-<pid><suffix>`` beside ``path`` (the suffix kept, for writers that read it)."""
    return path.with_name(f".{path.stem}.part-{os.getpid()}{path.suffix}")


@contextmanager
def replacing(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``path`` (a file or a folder).

    On an exception the temporary file or folder is removed and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(path)
    if tmp.is_dir():  # left by a crashed process that had the same id
        shutil.rmtree(tmp)
    try:
        yield tmp
        if tmp.is_dir() and path.is_dir():
            shutil.rmtree(path)  # a folder cannot be replaced in one step
        os.replace(tmp, path)
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)


def write_bytes(path: str | Path, data: bytes) -> Path:
    with replacing(path) as tmp:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    return Path(path)


def write_text(path: str | Path, text: str) -> Path:
    return write_bytes(path, text.encode())
