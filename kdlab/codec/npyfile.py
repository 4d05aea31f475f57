"""``.npy`` files written a block of rows at a time, their length known only at the end.

A streamed extraction (:class:`kdlab.codec.extract.GopStream`) hands out a GOP (or a piece of one) at a
time and cannot say how many frames a video holds before its last GOP is decoded (a container's frame count
is a claim, not a fact). :class:`NpyWriter` writes the ``.npy`` header for zero rows, appends each
block as it comes and, on :meth:`~NpyWriter.close`, rewrites the header in place with the final
count. This works because numpy pads every header so that the first axis can grow to
``GROWTH_AXIS_MAX_DIGITS`` digits without changing its length (checked: a header of another
length raises instead of corrupting the file).

:func:`add_to_zip` puts a finished file into an ``.npz`` archive in fixed-size chunks, so that
writing a multi-gigabyte array needs a few megabytes of memory.
"""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path
from typing import BinaryIO

import numpy as np

#: Bytes copied at a time into an archive.
CHUNK_BYTES = 16 * 1024 * 1024


def _header(dtype: np.dtype, shape: tuple[int, ...]) -> bytes:
    buffer = io.BytesIO()
    header = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": shape}
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue()


class NpyWriter:
    """Append ``(n, *row_shape)`` blocks to a ``.npy`` file; :meth:`close` fixes its length.

    Args:
        file: a path, or a seekable binary file object (left open) positioned at its start.
        dtype: the array's type; blocks of other types are converted (``astype``, no clipping).
    """

    def __init__(self, file: str | Path | BinaryIO, dtype):
        self._owned = isinstance(file, (str, Path))
        self.file: BinaryIO = open(file, "wb+") if self._owned else file
        self.dtype = np.dtype(dtype)
        self.rows = 0
        self.row_shape: tuple[int, ...] | None = None
        self._header_bytes = 0

    def append(self, block: np.ndarray) -> None:
        """Write ``block (n, *row_shape)``; every block has the first one's row shape."""
        if self.row_shape is None:
            self.row_shape = tuple(block.shape[1:])
            header = _header(self.dtype, (0, *self.row_shape))
            self._header_bytes = len(header)
            self.file.write(header)
        elif tuple(block.shape[1:]) != self.row_shape:
            raise ValueError(f"block rows of shape {block.shape[1:]}, the file holds {self.row_shape}")
        self.file.write(np.ascontiguousarray(block, dtype=self.dtype).data)
        self.rows += len(block)

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.rows, *(self.row_shape or ()))

    def close(self) -> tuple[int, ...]:
        """Rewrite the header with the final row count; return the array's shape."""
        if self.row_shape is None:  # nothing appended: an empty 1-D array
            self.row_shape = ()
            self.file.write(_header(self.dtype, (0,)))
        else:
            header = _header(self.dtype, self.shape)
            if len(header) != self._header_bytes:  # pragma: no cover - numpy's growth padding prevents it
                raise RuntimeError(f".npy header grew from {self._header_bytes} to {len(header)} bytes")
            end = self.file.tell()
            self.file.seek(0)
            self.file.write(header)
            self.file.seek(end)
        self.file.flush()
        if self._owned:
            self.file.close()
        return self.shape

    def __enter__(self) -> "NpyWriter":
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if kind is None:
            self.close()
        elif self._owned:
            self.file.close()


def add_to_zip(archive: zipfile.ZipFile, name: str, file: BinaryIO) -> None:
    """Copy the finished ``.npy`` in ``file`` into ``archive`` as ``name.npy``, chunk by chunk
    (compressed or not as the archive is)."""
    file.seek(0)
    with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
        shutil.copyfileobj(file, member, CHUNK_BYTES)


def write_to_zip(archive: zipfile.ZipFile, name: str, array: np.ndarray) -> None:
    """Write a small in-memory ``array`` into ``archive`` as ``name.npy`` (as ``np.savez`` does)."""
    with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
        np.lib.format.write_array(member, np.asanyarray(array), allow_pickle=False)
