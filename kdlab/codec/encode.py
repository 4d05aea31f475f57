"""Write MPEG-4 Part 2 videos as CoViAR expects them, and re-encode any video that way.

CoViAR re-encodes every dataset video with
``ffmpeg -i IN -vf scale=340:256,setsar=1:1 -q:v 1 -c:v mpeg4 OUT``: MPEG-4 Part 2 (no B-frames),
a key frame every 12 frames, 340x256, top quality. :class:`EncodeSettings` holds these defaults.

The pixels are copied into fresh frames before encoding: a decoded frame keeps its picture type,
and the mpeg4 encoder with B-frames off rejects a frame marked B (``avcodec_send_frame()``
returns EINVAL). Every output is written to a temporary name beside the target and renamed
when complete, so an interrupted run never leaves a half-written video under the final name.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterable

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from kdlab.atomic import replacing
from kdlab.codec.reader import iter_frames, probe
from kdlab.errors import ConfigError, VideoError


@dataclass(frozen=True)
class EncodeSettings:
    """How kdlab encodes video (CoViAR's defaults)."""

    width: int = 340
    height: int = 256
    gop: int = 12
    qscale: int = 1  # ffmpeg's -q:v: 1 is the best quality, 31 the worst
    codec: str = "mpeg4"
    fps: float | None = None  # None: keep the source's rate (25 when it has none)

    def __post_init__(self):
        for key in ("width", "height"):
            value = getattr(self, key)
            if not isinstance(value, int) or value < 16 or value % 2:
                raise ConfigError(f"encode.{key} must be an even number of pixels >= 16, got {value!r}")
        if not isinstance(self.gop, int) or self.gop < 2:
            raise ConfigError(f"encode.gop must be an integer >= 2 (frames per GOP), got {self.gop!r}")
        if not isinstance(self.qscale, int) or not 1 <= self.qscale <= 31:
            raise ConfigError(f"encode.qscale must be an integer from 1 (best) to 31, got {self.qscale!r}")
        if self.codec not in ("mpeg4",):
            raise ConfigError(f"encode.codec must be 'mpeg4' (MPEG-4 Part 2, CoViAR's codec), got {self.codec!r}")
        if self.fps is not None and not self.fps > 0:
            raise ConfigError(f"encode.fps must be positive, got {self.fps!r}")

    def as_dict(self) -> dict:
        return asdict(self)


def _rate(fps: float | Fraction | None) -> Fraction:
    if not fps:
        return Fraction(25)
    return Fraction(fps).limit_denominator(1001)


def encode_frames(
    frames: Iterable[np.ndarray],
    path: str | Path,
    settings: EncodeSettings = EncodeSettings(),
    fps: float | Fraction | None = None,
) -> Path:
    """Encode RGB frames ``(H, W, 3) uint8`` into ``path``; frames are resized to the settings' size.

    The container follows the extension (``.mp4``, ``.avi``, ``.mkv``). Written atomically.
    """
    path = Path(path)
    rate = _rate(settings.fps or fps)
    count = 0
    with replacing(path) as tmp:
        with av.open(str(tmp), "w", format=_container_format(path)) as out:
            stream = out.add_stream(settings.codec, rate=rate)
            stream.width, stream.height = settings.width, settings.height
            stream.pix_fmt = "yuv420p"
            context = stream.codec_context
            context.gop_size = settings.gop
            context.max_b_frames = 0
            context.flags |= av.codec.context.Flags.qscale
            context.global_quality = settings.qscale * 118  # FF_QP2LAMBDA * q, as ffmpeg -q:v does
            # one scaler for the whole stream: `VideoFrame.reformat` makes a new one (a new swscale
            # context and its threads) for every frame, which cost more than the encoding itself
            # on small frames; the converted pixels are the same
            scaler = VideoReformatter()
            for rgb in frames:
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
                frame = scaler.reformat(
                    frame, width=settings.width, height=settings.height, format="yuv420p", interpolation="BICUBIC"
                )
                frame.pts = count
                frame.time_base = 1 / rate
                out.mux(stream.encode(frame))
                count += 1
            out.mux(stream.encode(None))
        if count == 0:
            raise VideoError(path, "no frames to encode", "the source has no decodable frames")
    return path


def _container_format(path: Path) -> str | None:
    suffix = path.suffix.lower()
    return {".mp4": "mp4", ".m4v": "mp4", ".avi": "avi", ".mkv": "matroska"}.get(suffix)


def reencode_file(src: str | Path, dst: str | Path, settings: EncodeSettings = EncodeSettings()) -> Path:
    """Re-encode any video PyAV can read into ``dst`` with ``settings`` (audio is dropped).

    Raises :class:`~kdlab.errors.VideoError` (naming ``src``) when the source is unusable.
    """
    info = probe(src)
    frames = (f.rgb for f in iter_frames(src, rgb=True, mvs=False, allow_bframes=True, prefetch=4))
    return encode_frames(frames, dst, settings, fps=info.fps or None)
