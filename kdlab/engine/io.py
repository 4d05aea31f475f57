"""Run-folder files written atomically (see :mod:`kdlab.atomic`): JSON, CSV, checkpoints, arrays."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from kdlab.atomic import write_bytes, write_text


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
