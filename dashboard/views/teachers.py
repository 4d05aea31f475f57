"""Teachers: what each teacher of a distillation run predicts, where they disagree, the weights they would get."""

import numpy as np
import streamlit as st
import torch

import state
import widgets
from kdlab.engine.metrics import teacher_disagreement
from kdlab.figures import (
    disagreement_matrix_figure,
    disagreement_rows,
    per_class_disagreement_figure,
    predictions_figure,
    teacher_weights_figure,
)
from kdlab.losses import confidence_weights, entropy_weights

st.title("Teachers")
folder = state.runs_dir()
names = state.require_runs(folder)
runs = state.runs_with_predictions(folder, names, teachers=True)
if not runs:
    st.info(f"No run in `{folder}` has stored its teachers' predictions yet (distillation and fusion runs do: "
            f"mkd_streams, fusion_teachers). {state.make_runs(folder)}.")
    st.stop()
run = state.select_run("Distillation (or fusion) run", runs, "t_run", "mkd_streams")
p = state.predictions(folder / run, teachers=True)
teachers = [str(n) for n in p.teacher_names]
classes = [str(c) for c in p.classes]
summary = state.summary(folder / run)
plural = "s" if len(teachers) != 1 else ""
st.caption(f"`{run}`: {summary.get('loss') or summary.get('kind', '')} with {len(teachers)} teacher{plural} "
           f"({', '.join(teachers)}), {len(p['labels'])} test videos, {summary.get('test', {}).get('protocol', '')}")

st.subheader("Predictions per video")
rows = disagreement_rows(p.teacher_logits, teachers, p.labels, classes, p.video_ids, p.logits)
left, right = st.columns(2)
shown = left.radio("Videos", ["where the teachers disagree", "all"], horizontal=True, key="t_shown")
label = right.selectbox("True class", ["all classes", *classes], index=0 if len(rows) <= 40 else 1, key="t_class")
keep = [i for i, row in enumerate(rows) if (shown == "all" or not row["teachers_agree"])
        and label in ("all classes", row["label"])]
st.caption(f"{len(keep)} of {len(rows)} test videos; a cell gives the predicted class and its probability, "
           "green when right, red when wrong")
if keep:
    models = {name: logits[keep] for name, logits in zip(teachers, p.teacher_logits)} | {run: p.logits[keep]}
    st.plotly_chart(predictions_figure(models, p.labels[keep], classes, p.video_ids[keep]), key="t_predictions")

st.subheader("Disagreement")
with_student = st.checkbox(f"include `{run}` itself", value=False, key="t_with_student")
value = st.radio("Value", ["disagreement", "js"], horizontal=True, key="t_value", format_func={
    "disagreement": "share of videos predicted differently", "js": "Jensen-Shannon divergence"}.get)
logits = np.concatenate([p.teacher_logits, p.logits[None]]) if with_student else p.teacher_logits
models_compared = teachers + [run] if with_student else teachers
result = teacher_disagreement(logits, p.labels, models_compared, len(classes))
st.metric("videos on which not all of them agree", f"{result['any_disagreement']:.0%}")
left, right = st.columns(2)
with left:
    st.plotly_chart(disagreement_matrix_figure(result, models_compared, value), key="t_matrix")
with right:
    st.plotly_chart(per_class_disagreement_figure(result, classes), key="t_per_class")

st.subheader("Clips where the teachers disagree")
rows = [row for row in rows if not row["teachers_agree"]]
if not rows:
    st.success("The teachers agree on every test video.")
else:
    st.dataframe(rows, hide_index=True, key="t_rows")
    configured, root = state.dataset_root(folder)
    clip = st.selectbox("Open a clip", [r["video"] for r in rows], key="t_clip")
    path = state.clip_path(root, clip) if root else None
    if path is None:
        st.info(f"`{clip}` is not on this machine (data set `{configured}`); `make demo` generates the synthetic set.")
    else:
        reps = widgets.decode(path, accumulate=True, key="t_video")
        if reps is not None:
            widgets.representations(reps, key="t_video", compact=True)

st.subheader("Teacher weights")
st.caption("The per-video weights that an aggregation gives each teacher, computed from the stored test logits with "
           "kdlab.losses: EBKD (entropy_weights: confident teachers weigh more; no labels) and CA-MKD "
           "(confidence_weights: teachers with a low cross-entropy on the label weigh more). The dotted line is "
           "the plain average, 1/K.")
z = torch.from_numpy(np.asarray(p.teacher_logits, np.float32))
weights = {"EBKD (entropy)": entropy_weights(z).numpy(),
           "CA-MKD (confidence)": confidence_weights(z, torch.from_numpy(np.asarray(p.labels, np.int64))).numpy()}
st.plotly_chart(teacher_weights_figure(weights, teachers), key="t_weights")
