"""Results: the findings first (the paper's comparisons with their intervals, and what the distilled system saves),
then the experiment table, accuracy against parameters and FLOPs, learning curves and the compression table."""

import streamlit as st

import state
from kdlab.engine.claims import HEADLINE
from kdlab.figures import (
    accuracy_cost_figure,
    compression_figure,
    compression_rows,
    experiment_table,
    learning_curves_figure,
    seeds_table,
)

HEADLINE_KEYS = {c.key for c in HEADLINE}
MARKS = {1: ":green[better]", -1: ":red[worse]", 0: ":gray[no difference detected]"}
WORDS = {1: "better", -1: "worse", 0: "no difference detected"}

st.title("Results")
folder = state.runs_dir()
names = state.require_runs(folder)
study = state.study(folder) or {}
results = study.get("results") or {}
rows = state.experiment_rows(folder)
if not study:
    st.caption(f"No study.json in `{folder}` (or a damaged one): the table is built from the runs' summaries.")


def claim_card(claim: dict) -> None:
    st.markdown(f"**{claim['title']}** · {MARKS[claim['decided']]}")
    st.markdown(claim["verdict"])
    seeds = f"{claim['seeds']} seed{'s' * (claim['seeds'] > 1)}"
    st.caption(f"{seeds}, {claim['clips']} test clips in {claim['groups']} groups; 95 % interval: {claim['method']}; "
               f"detectable difference {claim['mdd']:.1f} points"
               + (f"; at the epoch picked on validation: {claim['best']['verdict']}" if claim.get("best") else "")
               + (f". {claim['note']}" if claim.get("note") else ""))


def compression_card(table: dict) -> None:
    """The ratios of the compression table: measured counts, so no interval."""
    def ratios(t: dict) -> str:
        return (f"{t['param_ratio']:.1f}x fewer parameters, {t['flops_ratio_per_gop']:.1f}x fewer FLOPs per GOP"
                + (f" ({t['flops_ratio_per_triple']:.1f}x per I/MV/R triple)" if t.get("flops_ratio_per_triple") else ""))

    st.markdown("**the distilled system vs CoViAR-style fusion: cost** · :blue[smaller]")
    text = f"at the demo size: {ratios(table)}"
    full = table.get("full_size")
    if full:
        nets = " → ".join(dict.fromkeys(row.get("iframe_net", "") for row in full.get("rows", [])))
        text += f"; at full size ({full.get('size')} px, I-frame network {nets}): {ratios(full)}"
    st.markdown(text)
    fused = {row["system"]: row["fused_top1"] for row in table.get("rows", []) if row.get("fused_top1") is not None}
    st.caption("Counted, not sampled: no interval. " + ("Fused top-1 at seed 0: "
               + ", ".join(f"{system} {top1:.1f} %" for system, top1 in fused.items()) + ". " if fused else "")
               + table.get("note", ""))


st.subheader("Findings")
claims = state.findings(folder)
headline = [c for c in claims if c["key"] in HEADLINE_KEYS]
cards = [(claim_card, c) for c in headline]
if (results.get("compression") or {}).get("param_ratio"):
    cards.append((compression_card, results["compression"]))
if not cards:
    st.info("No comparison yet: the findings need the students (student_ce, kd_single, mkd_streams) to have finished.")
for start in range(0, len(cards), 2):
    for column, (card, value) in zip(st.columns(2), cards[start:start + 2]):
        with column.container(border=True):
            card(value)
ablations = [c for c in claims if c["key"] not in HEADLINE_KEYS]
if ablations:
    st.caption("Ablations (`make study`), each against its reference, paired by seed:")
    st.dataframe([{"variant": c["title"], "against": c["b_label"], "verdict": WORDS[c["decided"]],
                   "difference (points)": f"{c['difference']:+.1f}", "95 % interval": f"[{c['low']:+.1f}, {c['high']:+.1f}]",
                   "detectable (points)": f"{c['mdd']:.1f}", "seeds": c["seeds"]} for c in ablations],
                 hide_index=True, key="r_ablations")

st.subheader("Experiments")
for row in rows:
    row["method"] = state.base_name(row["run"])
every_seed = st.toggle("every seed's run", value=False, key="r_every_seed",
                       help="off: one row per method, its first seed; the table below gives the means over seeds")
shown = rows if every_seed else [r for r in rows if r["method"] == r["run"] or r["run"].endswith("_seed0")]
st.dataframe(experiment_table(shown), hide_index=True, key="r_table")
seeds = state.seed_intervals(folder, [m for m in dict.fromkeys(r["method"] for r in rows)
                                      if sum(r["method"] == m for r in rows) > 1])
if seeds:
    st.caption("Over seeds (test top-1 at the last epoch; 95 % interval for seeds and test clips):")
    st.dataframe(seeds_table(seeds), hide_index=True, key="r_seeds")

left, right = st.columns(2)
with left:
    st.plotly_chart(accuracy_cost_figure(rows, "params", seeds=seeds), key="r_params")
with right:
    st.plotly_chart(accuracy_cost_figure(rows, "flops_per_frame", seeds=seeds), key="r_flops")
st.caption("One point per method (hover for its name): the mean over its seeds, with the 95 % interval as a bar. "
           "Click a group in the legend to show or hide it (the ablations start hidden: they share the students' "
           "network). A fused system counts the parameters of all its streams and has no FLOPs per frame; the "
           "compression table below counts its FLOPs per GOP.")

st.subheader("Learning curves")
curves = {name: state.metrics(folder / name) for name in names}
trained = [name for name, rows_ in curves.items() if rows_]
if not trained:
    st.info("No run has a metrics.csv yet.")
else:
    groups = {row["run"]: row.get("group") for row in rows}
    default = [n for n in trained if groups.get(n) == "students" and state.base_name(n) == n] or trained[:6]
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
