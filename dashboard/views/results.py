"""Results: the findings first (the paper's comparisons with their intervals), then the experiment table,
accuracy against parameters and FLOPs, learning curves and the compression table."""

import streamlit as st

import state
from kdlab.engine.claims import HEADLINE
from kdlab.figures import accuracy_cost_figure, compression_figure, compression_rows, learning_curves_figure

TABLE_COLUMNS = ["run", "group", "representation", "arch", "loss", "teachers", "params", "flops_per_frame", "top1", "top1_best",
                 "mean_class_accuracy", "protocol"]

st.title("Results")
folder = state.runs_dir()
names = state.require_runs(folder)
study = state.study(folder) or {}
results = study.get("results") or {}
rows = state.experiment_rows(folder)
if not study:
    st.caption(f"No study.json in `{folder}`: the table is built from the runs' summaries.")

st.subheader("Findings")
claims = state.findings(folder)
if not claims:
    st.info("No comparison yet: the findings need the students (student_ce, kd_single, mkd_streams) to have finished.")
headline_keys = {c.key for c in HEADLINE}
headline = [c for c in claims if c["key"] in headline_keys]
MARKS = {1: ":green[better]", -1: ":red[worse]", 0: ":gray[no difference detected]"}
for start in range(0, len(headline), 2):
    for column, claim in zip(st.columns(2), headline[start:start + 2]):
        with column.container(border=True):
            st.markdown(f"**{claim['title']}** · {MARKS[claim['decided']]}")
            st.markdown(claim["verdict"])
            seeds = f"{claim['seeds']} seed{'s' * (claim['seeds'] > 1)}"
            st.caption(f"{seeds}, {claim['clips']} test clips in {claim['groups']} groups; 95 % interval: {claim['method']}; "
                       f"detectable difference {claim['mdd']:.1f} points"
                       + (f"; at the epoch picked on validation: {claim['best']['verdict']}" if claim.get("best") else "")
                       + (f". {claim['note']}" if claim.get("note") else ""))
ablations = [c for c in claims if c["key"] not in headline_keys]
if ablations:
    st.caption("Ablations (`make study`), each against its reference, paired by seed:")
    WORDS = {1: "better", -1: "worse", 0: "no difference detected"}
    st.dataframe([{"variant": c["title"], "against": c["b_label"], "verdict": WORDS[c["decided"]],
                   "difference (points)": f"{c['difference']:+.1f}", "95 % interval": f"[{c['low']:+.1f}, {c['high']:+.1f}]",
                   "detectable (points)": f"{c['mdd']:.1f}", "seeds": c["seeds"]} for c in ablations],
                 hide_index=True, key="r_ablations")

st.subheader("Experiments")
st.dataframe(rows, hide_index=True, key="r_table", column_order=TABLE_COLUMNS)
if results.get("seeds"):
    st.caption("Over seeds (test top-1 at the last epoch, mean and 95 % interval):")
    st.dataframe([{"run": r["run"], "seeds": len(r["seeds"]), "top-1 %": round(r["top1"], 1), "low": round(r["low"], 1),
                   "high": round(r["high"], 1)} for r in results["seeds"]], hide_index=True, key="r_seeds")

left, right = st.columns(2)
with left:
    st.plotly_chart(accuracy_cost_figure(rows, "params"), key="r_params")
with right:
    st.plotly_chart(accuracy_cost_figure(rows, "flops_per_frame"), key="r_flops")
st.caption("Fused systems have no single network and are left out here; the compression table below counts them.")

st.subheader("Learning curves")
curves = {name: state.metrics(folder / name) for name in names}
trained = [name for name, rows_ in curves.items() if rows_]
if not trained:
    st.info("No run has a metrics.csv yet.")
else:
    groups = {row["run"]: row.get("group") for row in rows}
    default = [n for n in trained if groups.get(n) == "students"] or trained
    chosen = st.multiselect("Runs", trained, default=default, key="r_runs")
    columns = list(dict.fromkeys(k for n in trained for k in curves[n][0] if k != "epoch"))
    preferred = [m for m in ("loss", "val_top1") if m in columns] or columns[:1]
    metrics = st.multiselect("Columns of metrics.csv", columns, default=preferred, key="r_metrics")
    st.plotly_chart(learning_curves_figure({n: curves[n] for n in chosen}, metrics), key="r_curves")

st.subheader("Compression")
table = results.get("compression")
if not table:
    st.info(f"No compression table yet: study.json gets one once teacher_iframe, teacher_mv and mkd_streams are "
            f"trained. {state.make_runs(folder)}.")
else:
    st.caption(table.get("note", ""))
    st.dataframe(compression_rows(table), hide_index=True, key="r_compression")  # columns in the builder's order
    st.plotly_chart(compression_figure(table), key="r_compression_figure")
