"""Compressed-video codec layer: PyAV decoding, CoViAR's representations, re-encoding.

>>> from kdlab.codec import extract
>>> reps = extract("video.mp4", accumulate=True)       # doctest: +SKIP
>>> reps.iframes.shape, reps.mv.shape, reps.residual.shape  # (G,H,W,3) (N,H,W,2) (N,H,W,3)
"""

from kdlab.codec.encode import EncodeSettings, encode_frames, reencode_file
from kdlab.codec.extract import Representations, extract
from kdlab.codec.motion import block_motion, compose, dense_motion, gather, motion_field, motion_from_index, residual, source_index, warp
from kdlab.codec.reader import MV_FIELDS, VIDEO_EXTENSIONS, DecodedFrame, VideoInfo, iter_frames, open_video, probe

__all__ = [
    "EncodeSettings", "encode_frames", "reencode_file", "Representations", "extract",
    "block_motion", "compose", "dense_motion", "gather", "motion_field", "motion_from_index", "residual", "source_index", "warp",
    "MV_FIELDS", "VIDEO_EXTENSIONS", "DecodedFrame", "VideoInfo", "iter_frames", "open_video", "probe",
]
