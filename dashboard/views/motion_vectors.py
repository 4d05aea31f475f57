"""Motion vectors: one video's I-frames, motion field and residual, frame by frame."""

from pathlib import Path

import streamlit as st

import state
import widgets

st.title("Motion vectors")
st.caption("CoViAR reads MPEG-4 in its compressed form: per GOP one I-frame, and for every P-frame the motion "
           "vectors (one per 16x16 block) and the residual (what the vectors do not explain). Accumulated, both "
           "are traced back to the GOP's I-frame.")

folder = state.runs_dir()
configured, root = state.dataset_root(folder)
samples = state.sample_videos()
sources = ([f"the runs' data set ({root.name})"] if root else []) + (["bundled real clips"] if samples else []) + ["a path"]
state.from_url("mv_source", sources[0], sources)
source = st.radio("Video from", sources, horizontal=True, key="mv_source")
state.to_url("mv_source", sources[0])
if root is None:
    if configured:
        st.info(f"The runs' data set `{configured}` is not on this machine; `make demo` "
                f"(or `kdlab synth --out {configured}`) makes it.")
    else:
        st.info(f"No runs in `{folder}` name a data set yet. {state.make_runs(folder)}; it generates the synthetic "
                "set first. The bundled real clips work meanwhile.")

path: Path | None = None
if source.startswith("the runs'"):
    videos = state.list_videos(root)
    if not videos:
        st.warning(f"`{root}` holds no videos.")
        st.stop()
    clips = state.synth_clips(root)
    state.from_url("mv_clip", videos[0], videos)
    choice = st.selectbox(f"Clip ({len(videos)} in `{root}`)", videos, key="mv_clip")
    state.to_url("mv_clip", videos[0])
    path = root / choice
    clip = clips.get(str(Path(choice).with_suffix("")))
    if clip:
        st.caption(f"class **{clip['class_name']}**: appearance {clip['appearance']}, motion {clip['motion']}, "
                   f"residual effect {clip['residual']} ({clip['split']} split)")
elif source.startswith("bundled"):
    names = [p.name for p in samples]
    state.from_url("mv_sample", names[0], names)
    path = samples[names.index(st.selectbox("Clip", names, key="mv_sample"))]
    state.to_url("mv_sample", names[0])
else:
    state.from_url("mv_path", "")
    typed = st.text_input("Video file", key="mv_path", placeholder="/data/ucf101/ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi")
    state.to_url("mv_path", "")
    if not typed:
        st.stop()
    path = state.resolve(typed)
    if not path.is_file():
        st.error(f"{path}: no such file")
        st.stop()

accumulate = st.toggle("Accumulated (traced back to the I-frame, as CoViAR feeds its networks)", value=True,
                       key="mv_accumulate")
reps = widgets.decode(path, accumulate, key="mv")
if reps is None:
    st.stop()
st.caption(f"`{path}`: {reps.num_frames} frames of {reps.width}x{reps.height}, {reps.num_gops} GOPs, {reps.fps:.1f} fps")
widgets.representations(reps, key="mv")
