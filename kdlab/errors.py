"""Errors that kdlab shows to its users.

Every error that a user can cause (a bad file, a bad config value, a missing run) is a
:class:`KdlabError`. Its message names the file or key and says what to do; the command line
prints it without a traceback and exits with status 2. Anything else escaping kdlab is a bug.
"""

from __future__ import annotations

from pathlib import Path


class KdlabError(Exception):
    """Base class: a user-facing error whose message is complete on its own."""


class VideoError(KdlabError):
    """A video file that kdlab cannot turn into compressed-domain representations.

    The message reads ``<path>: <reason>`` followed by a hint when there is something to do.
    """

    def __init__(self, path: str | Path, reason: str, hint: str | None = None):
        self.path = str(path)
        self.reason = reason
        self.hint = hint
        message = f"{self.path}: {reason}"
        if hint:
            message += f"\n  hint: {hint}"
        super().__init__(message)

    def __reduce__(self):  # keep the fields when the error crosses a process boundary
        return (type(self), (self.path, self.reason, self.hint))


class BFramesError(VideoError):
    """The video has B-frames, which break CoViAR's single backward chain of references."""


class NoMotionVectorsError(VideoError):
    """The video's codec (VP8, VP9, HEVC, AV1, GIF, ...) or its P-frames carry no motion vectors
    that FFmpeg exports; CoViAR's representations need them (re-encode to MPEG-4 Part 2)."""


class CorruptVideoError(VideoError):
    """The stream is damaged or truncated; ``frame`` is the first frame that could not be decoded."""

    def __init__(self, path, reason, hint=None, frame: int | None = None):
        self.frame = frame
        super().__init__(path, reason, hint)

    def __reduce__(self):
        return (type(self), (self.path, self.reason, self.hint, self.frame))


class ConfigError(KdlabError):
    """A configuration key or value that kdlab cannot use; the message names the key."""


class RunError(KdlabError):
    """A run folder that is missing or incomplete; the message names the folder."""
