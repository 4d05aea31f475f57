"""Distillation by hand: soft targets at a temperature, how each aggregation weighs the teachers on one clip and
over the test set, and the student's KD loss, all from a distillation run's stored test logits with kdlab.losses."""

import numpy as np
import streamlit as st
import torch

import state
from kdlab.figures import class_distributions_figure, class_weights_figure, clip_weights_figure, kd_losses_figure
from kdlab.losses import (
    AGGREGATIONS,
    aggregate_targets,
    aggregation_weights,
    kd_per_sample,
    kd_to_avg,
    soft_targets,
    weighted_kd,
)

st.title("Distillation")
st.caption("A student learns from its teachers' soft targets: their class probabilities softened by a temperature T, "
           "softmax(z / T). With several teachers, the methods differ in how they weigh them. Everything below is "
           "computed from the run's stored test logits (the teachers', and the student's after training) with "
           "`kdlab.losses`; nothing is retrained.")

folder = state.runs_dir()
names = state.require_runs(folder)
runs = state.distillation_runs(folder, names)
if not runs:
    st.info(f"No distillation run in `{folder}` has finished yet (kd_single, mkd_streams and the aggregation "
            f"runs store their teachers' logits). {state.make_runs(folder)}.")
    st.stop()

run = state.select_run("Distillation run", runs, "d_run", "mkd_streams")
p = state.predictions(folder / run, teachers=True)
teachers = [str(n) for n in p.teacher_names]
classes = [str(c) for c in p.classes]
labels = np.asarray(p.labels, np.int64)
video_ids = [str(v) for v in p.video_ids]
position = {v: i for i, v in enumerate(video_ids)}
summary = state.summary(folder / run)
run_temperature = state.temperature(folder / run)
st.caption(f"`{run}`: {summary.get('loss', 'distillation')} at T = {run_temperature:g} with {len(teachers)} "
           f"teacher{'s' * (len(teachers) != 1)} ({', '.join(teachers)}); {len(labels)} test clips")

z_teachers = torch.from_numpy(np.asarray(p.teacher_logits, np.float32))  # (K, N, C)
z_student = torch.from_numpy(np.asarray(p.logits, np.float32))  # (N, C)
predicted = z_teachers.argmax(-1).numpy()  # (K, N)
disagree = [i for i in range(len(labels)) if len(set(predicted[:, i])) > 1]

left, right = st.columns([3, 2])
with left:
    default_clip = video_ids[disagree[0] if disagree else 0]
    state.from_url("d_clip", default_clip, video_ids)
    only_disagreeing = st.toggle(f"only clips where the teachers disagree ({len(disagree)})", value=bool(disagree),
                                 key="d_disagree", disabled=not disagree or len(teachers) < 2)
    options = [video_ids[i] for i in disagree] if only_disagreeing and disagree else video_ids
    if st.session_state.d_clip not in options:
        options = [st.session_state.d_clip, *options]  # a clip from a link stays choosable
    clip_id = st.selectbox("Test clip", options, key="d_clip",
                           format_func=lambda v: f"{v} (true class {classes[labels[position[v]]]})")
    state.to_url("d_clip", default_clip)
with right:
    state.from_url("d_T", run_temperature if 1 <= run_temperature <= 20 else 4.0, cast=state.number_in(1.0, 20.0, 0.5))
    temperature = st.slider("Temperature T", 1.0, 20.0, step=0.5, key="d_T",
                            help="softmax(z / T): T = 1 is the model's own distribution; higher T flattens it")
    state.to_url("d_T", run_temperature)

i = position[clip_id]
z_t, z_s, y = z_teachers[:, i:i + 1], z_student[i:i + 1], torch.from_numpy(labels[i:i + 1])
guesses = ", ".join(f"{t} says {classes[predicted[k, i]]}" for k, t in enumerate(teachers))
st.markdown(f"Clip `{clip_id}`, true class **{classes[labels[i]]}**: {guesses}; the student `{run}` says "
            f"**{classes[int(z_s.argmax())]}**.")

weights = {AGGREGATIONS[key]: w for key, w in aggregation_weights(z_s, z_t, y, temperature).items()}
models = {t: soft_targets(z_t[k, 0], temperature).numpy() for k, t in enumerate(teachers)}
student = {f"student ({run})": soft_targets(z_s[0], temperature).numpy()}
targets = {f"{name}": aggregate_targets(z_t, w, temperature)[0].numpy() for name, w in weights.items()}

st.subheader(f"Soft targets at T = {temperature:g}")
left, right = st.columns(2)
with left:
    st.plotly_chart(class_distributions_figure(models | student, classes, int(labels[i]), "teachers and student",
                                               markers=list(student)), key="d_soft")
    st.caption("**What to look at:** the true class is in bold; the black diamonds are the student at the same T. "
               "At T = 1 a confident teacher puts almost all its mass on one class. Raise T and "
               "the bars flatten: how a teacher ranks the *wrong* classes (which ones it finds alike) becomes "
               "visible, and that is what the student learns beyond the label. Where the teachers disagree, they "
               "pull the student towards different classes.")
with right:
    st.plotly_chart(class_distributions_figure(targets | student, classes, int(labels[i]), "aggregated targets",
                                               markers=list(student)), key="d_targets")
    st.caption("**What to look at:** each aggregation mixes the teachers' soft targets with its weights (below). "
               "The mixture is where its loss pulls the student: the weighted sum of KD losses and KD to the "
               "mixture differ by a constant that does not depend on the student, so they have the same gradient. "
               "The student's own distribution (black diamonds) shows how far it still is.")

left, right = st.columns(2)
with left:
    st.plotly_chart(clip_weights_figure({n: w[:, 0].numpy() for n, w in weights.items()}, teachers,
                                        "each teacher's weight on this clip"), key="d_weights")
    st.caption("**What to look at:** the mean gives every teacher 1/K (dotted). EBKD favours the most confident "
               "teacher (lowest entropy), right or wrong; CA-MKD favours the teachers whose cross-entropy on the true "
               "label is low (it reads the label); AE-KD picks the weights that make the teachers' pulls on the "
               "student agree, here on this clip alone and from the trained student: what AE-KD would ask now, not "
               "what it used during training.")
with right:
    per_teacher = {t: float(kd_per_sample(z_s, z_t[k], temperature)) for k, t in enumerate(teachers)}
    per_aggregation = {n: float(weighted_kd(z_s, z_t, w, temperature)) for n, w in weights.items()}
    per_aggregation["KD to the mean target (kd_to_avg)"] = float(kd_to_avg(z_s, z_t, temperature))
    st.plotly_chart(kd_losses_figure(per_teacher, per_aggregation, "the student's KD loss on this clip"), key="d_losses")
    st.caption("**What to look at:** grey, T² KL(teacher || student) against each teacher alone; blue, the loss each "
               "aggregation trains with, the sum of those weighted as above. A small value: the student already "
               "matches that target here. kd_to_avg is smaller than the mean's loss by exactly T² times the "
               "teachers' disagreement (their generalised Jensen-Shannon divergence), and has the same gradient.")

st.subheader("Over the whole test set")
mean_weights = state.class_weights(folder / run, temperature)
st.plotly_chart(class_weights_figure({AGGREGATIONS[k]: w for k, w in mean_weights.items() if k != "mean"}, classes,
                                     teachers), key="d_class_weights")
st.caption("**What to look at:** each cell is a teacher's mean weight on the test clips of one true class; the bold "
           "value is the teacher that leads on that class. A teacher that leads where it is also the most accurate "
           "(Teachers and Confusion pages) is what the weighting is for. EBKD and CA-MKD weigh at T = 1, as their "
           "papers' code does, so the temperature slider leaves them alone; AE-KD's weights here are those of each "
           "class's clips taken as one batch (AE-KD weighs a batch, not a clip).")
