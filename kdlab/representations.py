"""CoViAR's three representations of a compressed video, by name: the one list that every module uses.

``iframe``: the decoded I-frame of the GOP (RGB); ``mv``: the motion vectors accumulated back to it
(2 channels); ``residual``: the accumulated residual (RGB). See :mod:`kdlab.codec` for how they are made.
"""

REPRESENTATIONS: tuple[str, ...] = ("iframe", "mv", "residual")
