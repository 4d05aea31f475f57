"""The study's results as text: what ``kdlab demo`` prints and writes to ``results.txt``.

Every comparison is a verdict from :mod:`kdlab.engine.stats` (through
:mod:`kdlab.engine.claims`): a difference with its 95 % interval, "better"/"worse" only when the
interval excludes zero, and otherwise "no difference detected" with the smallest difference the
design would have detected. Every figure names the machine it comes from.
"""

from __future__ import annotations

from kdlab.engine.claims import HEADLINE
from kdlab.engine.profile import describe_machine

#: Words for the runs that the headline study compares.
RUN_LABELS = {"student_ce": "student alone", "kd_single": "one teacher (I-frame)", "mkd_streams": "three teachers (I, MV, R)"}


def _pct(value) -> str:
    return "" if value is None else f"{value:.1f}"


def _params(value) -> str:
    if not value:
        return ""
    return f"{value / 1e6:.2f} M" if value >= 1e6 else f"{value / 1e3:.0f} k"


def format_runs(rows: list[dict]) -> list[str]:
    lines = [f"{'run':22} {'input':18} {'network':16} {'loss':8} {'teachers':>8} {'params':>8} {'top-1 %':>8} {'best-val %':>10}"]
    for row in rows:
        if row["group"] == "ablation" or "_seed" in row["run"]:
            continue
        lines.append(f"{row['run']:22} {row['representation']:18} {row['arch']:16} {row['loss']:8} "
                     f"{row['teachers']:>8} {_params(row['params']):>8} {_pct(row['top1']):>8} {_pct(row.get('top1_best')):>10}")
    return lines


def format_seeds(seeds: list[dict], best: list[dict]) -> list[str]:
    best_by_run = {row["run"]: row for row in best}
    lines = []
    for row in seeds:
        if len(row["seeds"]) < 2:
            continue
        other = best_by_run.get(row["run"])
        label = RUN_LABELS.get(row["run"], row["run"])
        per_seed = " ".join(f"{v:.1f}" for v in row["top1_per_seed"])
        lines.append(f"  {label:28} {row['top1']:5.1f} [{row['low']:.1f}, {row['high']:.1f}]"
                     + (f"   best-val epoch {other['top1']:5.1f} [{other['low']:.1f}, {other['high']:.1f}]" if other else "")
                     + f"   per seed: {per_seed}")
    return lines


def format_claim(claim: dict, indent: str = "  ") -> list[str]:
    p = f"McNemar p = {claim['p_value']:.3f}" if claim["seeds"] == 1 else f"paired t-test p = {claim['p_value']:.3f}"
    lines = [f"{indent}{claim['title']}:",
             f"{indent}    {claim['verdict']}",
             f"{indent}    ({claim['seeds']} seed{'s' * (claim['seeds'] > 1)}, {claim['clips']} test clips in "
             f"{claim['groups']} groups; {p}; detectable: {claim['mdd']:.1f} points)"]
    if claim.get("best"):
        lines.append(f"{indent}    at the epoch picked on validation: {claim['best']['verdict']}")
    if claim.get("note"):
        lines.append(f"{indent}    note: {claim['note']}")
    return lines


def format_complementarity(c: dict) -> list[str]:
    first = c["names"][0]
    tops = ", ".join(f"{n} {v:.1f}" for n, v in c["top1"].items())
    lines = [f"  teachers' test top-1 %: {tops}; fused 2:1:1 {c.get('fused_top1', float('nan')):.1f}; "
             f"oracle (at least one right) {c['oracle_top1']:.1f}",
             f"  {first} is wrong on {c['first_wrong']:.1f} % of the clips; on those, another teacher is right on "
             f"{c['any_right_where_first_wrong']:.1f} % of all clips ("
             + ", ".join(f"{n} {v:.1f}" for n, v in c["right_where_first_wrong"].items()) + ")"]
    return lines


def format_compression(table: dict) -> list[str]:
    full = table["full_size"]
    a, b = table["rows"]
    return [
        "compression (FLOPs = 2 x multiply-adds, per GOP of 12 frames):",
        f"  full size (UCF-101, 224 px): CoViAR {full['rows'][0]['params_M']:.1f} M params vs distilled "
        f"{full['rows'][1]['params_M']:.1f} M: {full['param_ratio']:.2f}x fewer parameters, "
        f"{full['flops_ratio_per_gop']:.2f}x fewer FLOPs per GOP ({full['flops_ratio_per_triple']:.2f}x per (I, MV, R) triple)",
        f"  demo size ({table['size']} px): {a['iframe_net']} + 2 streams {a['params_M'] * 1e3:.0f} k params, "
        f"{a['gflops_per_gop'] * 1e3:.1f} MFLOPs/GOP  vs  {b['iframe_net']} + 2 streams {b['params_M'] * 1e3:.0f} k, "
        f"{b['gflops_per_gop'] * 1e3:.1f} MFLOPs/GOP: {table['param_ratio']:.2f}x fewer parameters (width, not depth), "
        f"{table['flops_ratio_per_gop']:.2f}x fewer FLOPs per GOP",
    ]


def format_report(results: dict) -> str:
    lines = []
    machine = results.get("machine")
    design = results.get("design")
    if machine:
        lines.append(f"machine: {describe_machine(machine)}"
                     + (f"; wall time {results['wall_seconds'] / 60:.1f} min" if results.get("wall_seconds") else ""))
    if design:
        v = design["videos"]
        lines.append(f"design: {v['train']} training clips, {v['val']} validation clips (held-out groups of the training "
                     f"list, pick the 'best' epoch), {v['test']} test clips in {design['test_groups']} groups (read once per run); "
                     f"students over seeds {', '.join(map(str, design['seeds']))}; {design['epochs']} epochs at "
                     f"{design['size']} px; test protocol {design['test_protocol']}")
    lines += ["", "runs (seed 0; test top-1 at the last epoch, the runs' result, and at the epoch picked on validation):"]
    lines += format_runs(results["runs"])
    seeds = format_seeds(results.get("seeds") or [], results.get("seeds_best") or [])
    if seeds:
        lines += ["", "over seeds (test top-1 %, mean [95 % interval]):"] + seeds
    claims = results.get("claims") or []
    headline = [c for c in claims if c["key"] in {h.key for h in HEADLINE}]
    if headline:
        lines += ["", "the paper's comparisons (paired by seed on the same test clips; 95 % intervals; last epoch, "
                      "then the epoch picked on validation):"]
        for claim in headline:
            lines += format_claim(claim)
    others = [c for c in claims if c not in headline]
    if others:
        lines += ["", "ablations (each against its reference, paired by seed):"]
        for claim in others:
            lines += format_claim(claim)
    if results.get("exits"):
        lines += ["", "PKD's early exits against the same exits trained on the labels alone (paired by seed):"]
        lines += [f"  {e['stage']} {e['exit']:7} {e['flops_per_frame'] / 1e6:6.2f} MFLOPs/frame: {e['verdict']}"
                  for e in results["exits"]]
    if results.get("complementarity"):
        lines += ["", "what the teachers know beyond the I-frame teacher (test list):"]
        lines += format_complementarity(results["complementarity"])
    if results.get("compression"):
        lines += [""] + format_compression(results["compression"])
    return "\n".join(lines)
