"""Store a video's representations on disk, compactly, for random access during training.

A stored video is a folder (by convention ``<name>.kdv``) holding plain ``.npy`` arrays and a
``meta.json``::

    meta.json         format version, source file (path, size, mtime), extraction settings,
                      codec, fps, frame types, skipped leading frames, and each array's
                      file size and CRC-32 of its first and last 64 kB (:func:`verify`)
    iframes.npy       (G, H, W, 3) uint8
    mv.npy            (N, H, W, 2) int8     motion, clipped to [-128, 127]
    residual.npy      (N, H, W, 3) int8     residual, clipped to [-128, 127]
    gop_index.npy     (N,) int32
    gop_pos.npy       (N,) int32

Clipping to int8 loses nothing CoViAR's networks see (see :mod:`kdlab.codec.extract`).
:func:`load` memory-maps the arrays, so reading one frame's motion and residual touches only
those bytes, and several DataLoader workers share the page cache.

Writes are atomic: everything goes to a temporary folder beside the target, which is renamed
into place once complete; an interrupted write leaves no folder under the final name.
"""

from __future__ import annotations

import json
import zlib
from functools import lru_cache
from pathlib import Path

import numpy as np

from kdlab.atomic import replacing
from kdlab.codec.extract import GopStream, Representations, gop_layout
from kdlab.codec.npyfile import NpyWriter
from kdlab.errors import KdlabError

FORMAT_VERSION = 1
_ARRAYS = ("iframes", "mv", "residual", "gop_index", "gop_pos")


def source_signature(path: str | Path) -> dict:
    """What identifies a source file's content cheaply: resolved path, size and mtime (ns)."""
    stat = Path(path).stat()
    return {"path": str(Path(path).resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def save(reps: Representations, folder: str | Path, settings: dict | None = None) -> Path:
    """Write ``reps`` (any precision; stored as int8) to ``folder`` atomically and return it.

    ``settings`` (e.g. ``{"accumulate": True}``) is kept in ``meta.json`` so that a cache can
    tell when it was built with other settings.
    """
    folder = Path(folder)
    with replacing(folder) as tmp:
        tmp.mkdir()
        arrays = {
            "iframes": reps.iframes.astype(np.uint8, copy=False),
            "mv": _int8(reps.mv),
            "residual": _int8(reps.residual),
            "gop_index": reps.gop_index.astype(np.int32, copy=False),
            "gop_pos": reps.gop_pos.astype(np.int32, copy=False),
        }
        for name, array in arrays.items():
            np.save(tmp / f"{name}.npy", array)
        _write_meta(tmp, reps.source or reps.path, {"accumulate": reps.accumulate, **(settings or {})},
                    reps.codec, reps.fps, reps.frame_types, reps.skipped_leading)
    return folder


def save_stream(stream: GopStream, folder: str | Path, settings: dict | None = None) -> Path:
    """Write a video's representations to ``folder`` a GOP (or a piece of a long one) at a time
    (atomically), so memory stays bounded whatever its length; the same files as :func:`save` writes."""
    folder = Path(folder)
    with replacing(folder) as tmp:
        tmp.mkdir()
        with NpyWriter(tmp / "iframes.npy", np.uint8) as iframes, NpyWriter(tmp / "mv.npy", np.int8) as mv, \
                NpyWriter(tmp / "residual.npy", np.int8) as residual:
            for piece in stream:
                if piece.starts_gop:
                    iframes.append(piece.iframe[None])
                mv.append(_int8(piece.mv))
                residual.append(_int8(piece.residual))
        gop_index, gop_pos = gop_layout(stream.frame_types)
        np.save(tmp / "gop_index.npy", gop_index)
        np.save(tmp / "gop_pos.npy", gop_pos)
        _write_meta(tmp, stream.path, {"accumulate": stream.accumulate, **(settings or {})},
                    stream.info.codec, stream.info.fps, stream.frame_types, stream.skipped_leading)
    return folder


def _write_meta(folder: Path, source, settings: dict, codec: str, fps: float, frame_types: str, skipped: int) -> None:
    """``meta.json`` of a stored video whose arrays are already in ``folder``."""
    meta = {
        "format": FORMAT_VERSION,
        "source": source_signature(source) if Path(source).exists() else {"path": str(source)},
        "settings": settings,
        "codec": codec,
        "fps": fps,
        "frame_types": frame_types,
        "skipped_leading": skipped,
        "arrays": {name: _fingerprint(folder / f"{name}.npy") for name in _ARRAYS},
    }
    (folder / "meta.json").write_text(json.dumps(meta, indent=1))


#: How much of each end of an array file the checksum reads: the whole of the small index arrays,
#: the header and the first and last frames of the large ones (a cheap check, not a full read).
CHECKED_BYTES = 64 * 1024


def _fingerprint(path: Path) -> dict:
    """``{"bytes": size, "crc32": CRC-32 of the first and last CHECKED_BYTES}`` of a file."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        crc = zlib.crc32(handle.read(CHECKED_BYTES))
        if size > 2 * CHECKED_BYTES:
            handle.seek(size - CHECKED_BYTES)
        crc = zlib.crc32(handle.read(), crc)
    return {"bytes": size, "crc32": crc}


def verify(folder: str | Path, meta: dict | None = None) -> str | None:
    """Why a stored video's files do not match its ``meta.json`` (truncated, resized, altered at
    either end), or None when they do. Entries written before sizes were recorded pass."""
    folder = Path(folder)
    meta = read_meta(folder) if meta is None else meta
    stats = []
    for name in _ARRAYS:
        try:
            stat = (folder / f"{name}.npy").stat()
        except OSError:
            return f"{name}.npy is missing"
        stats.append((stat.st_size, stat.st_mtime_ns, stat.st_ino))
    recorded = tuple(tuple(sorted(meta.get("arrays", {}).get(name, {}).items())) for name in _ARRAYS)
    return _verify_files(str(folder), tuple(stats), recorded)


@lru_cache(maxsize=65536)
def _verify_files(folder: str, stats: tuple, recorded: tuple) -> str | None:
    """:func:`verify`'s reading part, done once per version of the files (their stats key the cache)."""
    for name, (size, _, _), entry in zip(_ARRAYS, stats, recorded):
        expected = dict(entry)
        if not expected:
            continue
        if size != expected["bytes"]:
            return f"{name}.npy has {size} bytes, {expected['bytes']} were written"
        if _fingerprint(Path(folder) / f"{name}.npy")["crc32"] != expected["crc32"]:
            return f"{name}.npy does not match its checksum"
    return None


def _int8(array: np.ndarray) -> np.ndarray:
    return array if array.dtype == np.int8 else np.clip(array, -128, 127).astype(np.int8)


def read_meta(folder: str | Path) -> dict:
    """The ``meta.json`` of a stored video, or raise :class:`KdlabError` naming the folder."""
    path = Path(folder) / "meta.json"
    try:
        meta = json.loads(path.read_text())
    except FileNotFoundError:
        raise KdlabError(f"{folder}: not a stored video (no meta.json); build it with `kdlab cache` or save()") from None
    except json.JSONDecodeError as exc:
        raise KdlabError(f"{path}: damaged ({exc}); delete {folder} and build it again") from None
    if meta.get("format") != FORMAT_VERSION:
        raise KdlabError(f"{folder}: stored with format {meta.get('format')}, this kdlab reads {FORMAT_VERSION}; rebuild it")
    return meta


def _open_array(path: Path) -> np.memmap:
    """``np.load(path, mmap_mode="r")``, with the parsed ``.npy`` header remembered per file version.

    Training opens a stored video for nearly every sample (a worker keeps only a few open: each
    map holds a file descriptor); parsing five headers each time cost more than reading the sample.
    """
    stat = path.stat()
    dtype, shape, order, offset = _npy_header(str(path), stat.st_size, stat.st_mtime_ns)
    return np.memmap(path, dtype=dtype, mode="r", shape=shape, order=order, offset=offset)


@lru_cache(maxsize=4096)
def _npy_header(path: str, size: int, mtime_ns: int) -> tuple[np.dtype, tuple[int, ...], str, int]:
    """``(dtype, shape, order, data offset)`` of a ``.npy`` file (``size`` and ``mtime_ns`` key the cache)."""
    with open(path, "rb") as handle:
        version = np.lib.format.read_magic(handle)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(handle)
        else:
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(handle)
        return dtype, shape, "F" if fortran else "C", handle.tell()


def load(folder: str | Path, mmap: bool = True) -> Representations:
    """Open a stored video; arrays are memory-mapped (read-only) unless ``mmap`` is False."""
    folder = Path(folder)
    meta = read_meta(folder)
    try:
        arrays = {name: _open_array(folder / f"{name}.npy") if mmap else np.load(folder / f"{name}.npy") for name in _ARRAYS}
    except (FileNotFoundError, ValueError, OSError) as exc:
        raise KdlabError(f"{folder}: incomplete or damaged ({exc}); delete it and build it again") from None
    return Representations(
        path=str(folder),
        codec=meta["codec"],
        fps=meta["fps"],
        frame_types=meta["frame_types"],
        accumulate=meta["settings"]["accumulate"],
        precision="compact",
        source=meta["source"]["path"],
        skipped_leading=meta["skipped_leading"],
        extra={"settings": meta["settings"]},
        **arrays,
    )
