"""Atomic writes: a file appears under its final name complete, or not at all.

Each writer writes a temporary file beside the target and renames it into place
(``os.replace`` is atomic on POSIX and Windows), so an interrupted run never leaves a
half-written checkpoint, CSV or JSON that a resume would trust.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch


def _tmp(path: Path) -> Path:
    return path.with_name(f".{path.name}.part-{os.getpid()}")


def write_bytes(path: str | Path, data: bytes) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp(path)
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_text(path: str | Path, text: str) -> Path:
    return write_bytes(path, text.encode())


def write_json(path: str | Path, value: Any) -> Path:
    return write_text(path, json.dumps(value, indent=1, sort_keys=True, default=_jsonable) + "\n")


def _jsonable(value):
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def write_csv(path: str | Path, rows: list[dict]) -> Path:
    """All rows, with the union of their keys as columns (first-seen order)."""
    columns: list[str] = []
    for row in rows:
        columns += [key for key in row if key not in columns]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return write_text(path, buffer.getvalue())


def read_csv(path: str | Path) -> list[dict]:
    """Rows of a CSV with numbers parsed back to int or float where they look like one."""
    path = Path(path)
    if not path.exists():
        return []
    with open(path, newline="") as handle:
        return [{k: _number(v) for k, v in row.items()} for row in csv.DictReader(handle)]


def _number(text: str):
    for kind in (int, float):
        try:
            return kind(text)
        except (TypeError, ValueError):
            continue
    return text


def save_torch(path: str | Path, value: Any) -> Path:
    buffer = io.BytesIO()
    torch.save(value, buffer)
    return write_bytes(path, buffer.getvalue())


def save_npz(path: str | Path, **arrays) -> Path:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return write_bytes(path, buffer.getvalue())
