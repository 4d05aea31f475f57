"""Page pieces used by more than one page: a video's decode (with the B-frame message) and its representations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

import state
from kdlab.codec import Representations
from kdlab.errors import BFramesError, KdlabError
from kdlab.figures import flow_figure, gop_timeline_figure, image_figure, motion_arrows_figure, residual_figure

ARROW_SCALES = ["auto", 1, 2, 4, 8]


def decode(path: Path, accumulate: bool, key: str) -> Representations | None:
    """The video's representations, or a message (and None) when it cannot be read.

    A B-frame video gets :class:`~kdlab.errors.BFramesError`'s text (which names ``kdlab reencode``)
    and a button that re-encodes it on the fly (``extract(..., reencode=True)``).
    """
    chosen = st.session_state.setdefault("reencode", set())
    try:
        return state.load_video(path, accumulate, reencode=str(path) in chosen)
    except BFramesError as exc:
        message = st.empty()
        with message.container():
            st.warning(str(exc).replace("\n  hint: ", "\n\n**hint:** "))
            clicked = st.button("Re-encode it now without B-frames (MPEG-4 Part 2, GOP 12, in a temporary folder) "
                                "and show it", key=f"{key}_reencode")
        if clicked:
            message.empty()
            chosen.add(str(path))
            return decode(path, accumulate, key)
    except KdlabError as exc:
        st.error(str(exc))
    return None


def _plot(fig, key: str) -> None:
    st.plotly_chart(fig, key=key, config={"displaylogo": False})


def representations(reps: Representations, key: str, compact: bool = False) -> None:
    """Frame slider, GOP timeline, and the I-frame, motion field (arrows, colour) and residual of one frame.

    ``compact``: the I-frame, the arrows and the colour-coded field only, in one row.
    """
    n = reps.num_frames
    last_of_first_gop = int(np.flatnonzero(reps.gop_index == 0).max())  # the most motion accumulated
    t = st.slider("Frame", 0, n - 1, last_of_first_gop, key=f"{key}_frame") if n > 1 else 0
    _plot(gop_timeline_figure(reps.frame_types, t, reps.gop_index), f"{key}_timeline")
    g, position = int(reps.gop_index[t]), int(reps.gop_pos[t])
    mode = "accumulated from the I-frame" if reps.accumulate else "from the previous frame"
    note = f"frame {t}: {reps.frame_types[t]}-frame, GOP {g}, position {position}; motion and residual {mode}"
    if position == 0:
        note += ". An I-frame has no motion and no residual: pick a P-frame."
    if reps.source:
        note += f". Re-encoded on the fly from `{reps.source}` (B-frames removed)."
    st.caption(note)
    c1, c2 = st.columns(2)
    step = c1.select_slider("Arrow grid (px; MPEG-4 codes one vector per 16x16 block)", [8, 16, 32], 16,
                            key=f"{key}_step")
    scale = c2.select_slider("Arrow length (x the motion)", ARROW_SCALES, "auto", key=f"{key}_scale")
    frame = reps.frames[t] if reps.frames is not None else reps.iframe(t)
    arrows = motion_arrows_figure(reps.mv[t], frame, step=step, scale=None if scale == "auto" else float(scale),
                                  height=380)
    iframe = image_figure(reps.iframe(t), title=f"I-frame of GOP {g} (frame {int(t - position)})", height=380)
    flow = flow_figure(reps.mv[t], height=380)
    if compact:
        for column, (fig, name) in zip(st.columns(3), ((iframe, "iframe"), (arrows, "arrows"), (flow, "flow"))):
            with column:
                _plot(fig, f"{key}_{name}")
        return
    top = st.columns(2)
    with top[0]:
        _plot(iframe, f"{key}_iframe")
    with top[1]:
        _plot(arrows, f"{key}_arrows")
    bottom = st.columns(2)
    with bottom[0]:
        _plot(flow, f"{key}_flow")
    with bottom[1]:
        _plot(residual_figure(reps.residual[t], height=380), f"{key}_residual")
