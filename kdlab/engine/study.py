"""Studies: ordered lists of runs (train, distill, fuse) that make one experiment of the paper.

A :class:`Step` names a run folder under the study's runs folder and the config that makes it
(``configs/demo/<config>.toml``). Teachers that a config names (``runs/demo/teacher_mv``) are
looked up by their folder name in the study's runs folder, so a study can be written anywhere
(``kdlab demo --runs /tmp/x``). Every step is resumable: a finished run is skipped, an
interrupted one resumes, so rerunning a study only does what is missing.

The demo study (``make demo``) runs the paper's experiments 1-5 at demo size and a small
ablation (the number of teachers over three seeds):

1. the I-frame, motion and residual teachers and their 2:1:1 fusion,
2. the student alone, 3. single-teacher KD, 4. multi-teacher KD (the three stream teachers, with
   several aggregations), 5. the compression table: CoViAR-style three-stream system against the
   distilled one (student in place of the I-frame teacher), both fused 2:1:1.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kdlab.engine import io
from kdlab.engine.config import RunConfig, load_config
from kdlab.engine.fuse import fuse_runs
from kdlab.engine.profile import compression_table
from kdlab.engine.runs import RunFolder
from kdlab.engine.trainer import train
from kdlab.paths import REPO_ROOT

CONFIG_DIR = REPO_ROOT / "configs" / "demo"

#: What ``--smoke`` (and the notebooks' SMOKE mode) changes: tiny data, one short epoch.
SMOKE_OVERRIDES = ("optim.epochs=1", "data.size=48", "data.test_segments=3", "data.workers=0")


@dataclass(frozen=True)
class Step:
    """One run of a study: ``config`` (a file stem in the config folder) or a fusion of ``fuse`` runs."""

    name: str
    config: str = ""
    overrides: tuple[str, ...] = ()
    fuse: tuple[str, ...] = ()
    group: str = ""  # teachers | fusion | students | ablation


def demo_steps(seeds: tuple[int, ...] = (0, 1, 2)) -> list[Step]:
    streams = ("teacher_iframe", "teacher_mv", "teacher_residual")
    steps = [
        Step("teacher_iframe", "teacher_iframe", group="teachers"),
        Step("teacher_mv", "teacher_mv", group="teachers"),
        Step("teacher_residual", "teacher_residual", group="teachers"),
        Step("fusion_teachers", fuse=streams, group="fusion"),
        Step("student_ce", "student_ce", group="students"),
        Step("kd_single", "kd_single", group="students"),
        Step("mkd_streams", "mkd_streams", group="students"),
        Step("mkd_streams_ebkd", "mkd_streams_ebkd", group="students"),
        Step("mkd_streams_camkd", "mkd_streams_camkd", group="students"),
    ]
    for student in ("student_ce", "kd_single", "mkd_streams"):
        steps.append(Step(f"fusion_{student}", fuse=(student, "teacher_mv", "teacher_residual"), group="fusion"))
    for seed in seeds:
        if seed == 0:
            continue  # seed 0 is the main runs above
        for config in ("student_ce", "kd_single", "mkd_streams"):
            steps.append(Step(f"{config}_seed{seed}", config, (f"seed={seed}",), group="ablation"))
    return steps


AGGREGATIONS = ("avg_kd", "kd_to_avg", "ebkd", "camkd", "aekd", "dkd")


def ablation_steps(
    seeds: tuple[int, ...] = (0, 1, 2),
    aggregations: tuple[str, ...] = AGGREGATIONS,
    temperatures: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0),
    kd_weights: tuple[float, ...] = (0.5, 1.0, 2.0),
    teacher_counts: tuple[int, ...] = (1, 2, 3),
) -> list[Step]:
    """The paper's ablations on the stream teachers (experiment 6), each value over ``seeds``.

    Runs are named ``<factor>_<value>_seed<s>`` (e.g. ``temperature_4_seed1``), so that
    :func:`ablation_table` can group them. The three stream teachers must exist (``demo_steps``).
    """
    steps = []
    stream_teachers = ["teacher_iframe", "teacher_mv", "teacher_residual"]
    for seed in seeds:
        for loss in aggregations:
            config = "mkd_streams" if loss == "avg_kd" else f"mkd_streams_{loss}"
            steps.append(Step(f"aggregation_{loss}_seed{seed}", config, (f"seed={seed}",), group="ablation"))
        for t in temperatures:
            steps.append(Step(f"temperature_{t:g}_seed{seed}", "mkd_streams",
                              (f"seed={seed}", f"distill.loss_options={{temperature = {t}}}"), group="ablation"))
        for w in kd_weights:
            steps.append(Step(f"kd_weight_{w:g}_seed{seed}", "mkd_streams", (f"seed={seed}", f"distill.kd_weight={w}"),
                              group="ablation"))
        for k in teacher_counts:
            teachers = "[" + ", ".join(f'"{t}"' for t in stream_teachers[:k]) + "]"
            steps.append(Step(f"teachers_{k}_seed{seed}", "mkd_streams", (f"seed={seed}", f"distill.teachers={teachers}"),
                              group="ablation"))
    return steps


ABLATION_FACTORS = ("aggregation", "temperature", "kd_weight", "teachers")


def ablation_table(results: dict) -> list[dict]:
    """``[{factor, value, seeds, top1_mean, top1_std}]`` from the ``<factor>_<value>_seed<s>`` runs."""
    groups: dict[tuple[str, str], list[float]] = {}
    for row in results["runs"]:
        stem, _, seed = row["run"].rpartition("_seed")
        factor = next((f for f in ABLATION_FACTORS if stem.startswith(f + "_")), None)
        if factor and seed.isdigit():
            groups.setdefault((factor, stem[len(factor) + 1 :]), []).append(row["top1"])
    return [
        {"factor": factor, "value": value, "seeds": len(values), "top1_mean": float(np.mean(values)),
         "top1_std": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0}
        for (factor, value), values in groups.items()
    ]


def step_config(step: Step, runs_dir: Path, config_dir: Path = CONFIG_DIR, overrides: list[str] = ()) -> RunConfig:
    """The step's config with its run folder and teachers placed in ``runs_dir``."""
    config = load_config(config_dir / f"{step.config}.toml", [*overrides, *step.overrides])
    config.name = step.name
    config.out = str(runs_dir / step.name)
    config.distill.teachers = [str(runs_dir / Path(t).name) for t in config.distill.teachers]
    return config


def run_study(
    steps: list[Step],
    runs_dir: str | Path,
    config_dir: str | Path = CONFIG_DIR,
    overrides: list[str] = (),
    log=print,
) -> dict:
    """Run every step in order (skipping finished runs); write ``study.json``; return the results."""
    runs_dir, config_dir = Path(runs_dir), Path(config_dir)
    runs_dir.mkdir(parents=True, exist_ok=True)
    timings = {}
    # identical configs (but for the name) train once: a later step links to the finished run
    done: dict[str, Path] = {}
    for existing in sorted(runs_dir.iterdir()):
        run = RunFolder(existing)
        if not existing.is_symlink() and run.is_complete() and run.exists():
            done.setdefault(_fingerprint(run.config()), existing)
    for step in steps:
        started = time.perf_counter()
        folder = RunFolder(runs_dir / step.name)
        if step.fuse:
            fuse_runs([runs_dir / name for name in step.fuse], folder.path)
        else:
            config = step_config(step, runs_dir, config_dir, list(overrides))
            key = _fingerprint(config)
            if not folder.path.exists() and key in done:
                folder.path.symlink_to(done[key].name)
                log(f"[{step.name}] same config as {done[key].name}: reused")
            elif folder.is_complete():
                log(f"[{step.name}] already complete")
            else:
                log(f"[{step.name}] training ...")
                train(config)
                timings[step.name] = time.perf_counter() - started
            done.setdefault(key, folder.path)
        test = folder.summary()["test"]
        log(f"[{step.name}] test top-1 {test['top1']:.1f}%" + (f" ({timings[step.name]:.0f} s)" if step.name in timings else ""))
        # the dashboard follows a study while it runs; the compression table comes at the end
        _write_study(runs_dir, steps, collect_results(steps, runs_dir, compression=False), timings)
    results = collect_results(steps, runs_dir)
    _write_study(runs_dir, steps, results, timings)
    return results


def _write_study(runs_dir: Path, steps: list[Step], results: dict, timings: dict) -> None:
    io.write_json(runs_dir / "study.json", {"steps": [vars(s) for s in steps], "results": results, "seconds": timings})


def _fingerprint(config: RunConfig) -> str:
    values = config.to_dict()
    values.pop("name"), values.pop("out")
    return json.dumps(values, sort_keys=True)


def collect_results(steps: list[Step], runs_dir: Path, compression: bool = True) -> dict:
    """Per-run rows, the seed ablation (mean and spread) and the demo-size compression table."""
    rows = []
    for step in steps:
        summary = RunFolder(runs_dir / step.name).summary()
        if not summary:
            continue
        rows.append({
            "run": step.name,
            "group": step.group,
            "loss": summary.get("loss", "fusion" if step.fuse else ""),
            "representation": summary.get("representation", "+".join(summary.get("representations", []))),
            "arch": summary.get("arch", ""),
            "teachers": len(summary.get("teachers", [])),
            "params": summary.get("params"),
            "top1": summary["test"]["top1"],
            "mean_class_accuracy": summary["test"]["mean_class_accuracy"],
            "protocol": summary["test"].get("protocol"),
        })
    return {"runs": rows, "ablation": seed_ablation(rows), "compression": demo_compression(runs_dir) if compression else None}


def seed_ablation(rows: list[dict]) -> list[dict]:
    """Mean and standard deviation of test top-1 over the seeds of each config with ``<name>_seedN`` runs."""
    names = {row["run"] for row in rows}
    groups: dict[str, list[float]] = {}
    for row in rows:
        base = row["run"].split("_seed")[0]
        if f"{base}_seed1" in names:
            groups.setdefault(base, []).append(row["top1"])
    return [
        {"run": name, "seeds": len(values), "top1_mean": float(np.mean(values)),
         "top1_std": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0}
        for name, values in groups.items()
    ]


def demo_compression(runs_dir: Path, gop: int = 12) -> dict | None:
    """The compression table at demo size, from the runs' own parameters, FLOPs and fused accuracies.

    CoViAR-style system: the I-frame, motion and residual teachers; distilled system: the
    multi-teacher student in place of the I-frame teacher. FLOPs per GOP as in
    :mod:`kdlab.engine.profile`: ``I + (gop - 1) * (MV + R)``.
    """
    names = {"iframe": "teacher_iframe", "student": "mkd_streams", "mv": "teacher_mv", "residual": "teacher_residual"}
    summaries = {key: RunFolder(runs_dir / name).summary() for key, name in names.items()}
    if not all(summaries.values()):
        return None
    rows = []
    for system, iframe, fused in (("CoViAR", "iframe", "fusion_teachers"), ("distilled", "student", "fusion_mkd_streams")):
        nets = [summaries[iframe], summaries["mv"], summaries["residual"]]
        params = sum(n["params"] for n in nets)
        per_gop = nets[0]["flops_per_frame"] + (gop - 1) * (nets[1]["flops_per_frame"] + nets[2]["flops_per_frame"])
        fusion = RunFolder(runs_dir / fused).summary()
        rows.append({
            "system": system, "iframe_net": nets[0]["arch"], "mv_net": nets[1]["arch"], "residual_net": nets[2]["arch"],
            "params_M": params / 1e6, "gflops_per_gop": per_gop / 1e9, "gmacs_per_gop": per_gop / 2e9,
            "gflops_per_triple": sum(n["flops_per_frame"] for n in nets) / 1e9,
            "fused_top1": fusion["test"]["top1"] if fusion else None,
        })
    coviar, distilled = rows
    return {
        "rows": rows,
        "param_ratio": coviar["params_M"] / distilled["params_M"],
        "flops_ratio_per_gop": coviar["gflops_per_gop"] / distilled["gflops_per_gop"],
        "flops_ratio_per_triple": coviar["gflops_per_triple"] / distilled["gflops_per_triple"],
        "gop": gop,
        "size": RunFolder(runs_dir / names["student"]).config().data.size,
        "full_size": compression_table(),
        "note": "FLOPs = 2 x multiply-adds (torch FlopCounterMode); papers quote multiply-adds as FLOPs",
    }


def format_results(results: dict) -> str:
    """The results table that ``make demo`` prints."""
    lines = [f"{'run':22} {'input':18} {'network':16} {'loss':10} {'teachers':>8} {'params':>9} {'top-1 %':>8}"]
    for row in results["runs"]:
        if row["group"] == "ablation":
            continue
        params = f"{row['params'] / 1e3:.0f}k" if row["params"] else ""
        lines.append(f"{row['run']:22} {row['representation']:18} {row['arch']:16} {row['loss']:10} "
                     f"{row['teachers']:>8} {params:>9} {row['top1']:8.1f}")
    if results["ablation"]:
        lines.append("\nnumber of teachers over seeds (test top-1, mean +- std):")
        for row in results["ablation"]:
            lines.append(f"  {row['run']:24} {row['top1_mean']:6.1f} +- {row['top1_std']:.1f}  ({row['seeds']} seeds)")
    table = results.get("compression")
    if table:
        full = table["full_size"]
        lines.append("\ncompression (FLOPs = 2 x multiply-adds, per GOP of 12 frames):")
        lines.append(f"  full size (UCF-101, 224 px): CoViAR {full['rows'][0]['params_M']:.1f} M params vs distilled "
                     f"{full['rows'][1]['params_M']:.1f} M: {full['param_ratio']:.2f}x fewer parameters, "
                     f"{full['flops_ratio_per_gop']:.2f}x fewer FLOPs per GOP")
        a, b = table["rows"]
        lines.append(f"  demo size ({table['size']} px): {a['iframe_net']}+2 streams {a['params_M'] * 1e3:.0f}k params, "
                     f"{a['gflops_per_gop'] * 1e3:.1f} MFLOPs/GOP, fused top-1 {a['fused_top1']:.1f}%  vs  "
                     f"{b['iframe_net']}+2 streams {b['params_M'] * 1e3:.0f}k, {b['gflops_per_gop'] * 1e3:.1f} MFLOPs/GOP, "
                     f"fused top-1 {b['fused_top1']:.1f}%  ({table['param_ratio']:.2f}x params, "
                     f"{table['flops_ratio_per_gop']:.2f}x FLOPs)")
    return "\n".join(lines)


@dataclass(frozen=True)
class Workspace:
    """Where a study reads its data and writes its runs, and what it overrides (notebooks, ``kdlab demo``)."""

    runs: Path
    data: Path
    overrides: tuple[str, ...]
    smoke: bool


def workspace(smoke: bool = False, runs: str | Path | None = None, data: str | Path | None = None) -> Workspace:
    """The demo's folders (``runs/demo``, ``data/synthetic/default``), or the tiny SMOKE ones.

    ``$KDLAB_RUNS`` and ``$KDLAB_DATA`` override the folders (the tests point them at temporary
    ones). The synthetic set is generated, or completed, or checked against its preset. Relative paths are taken from the
    repository, so notebooks find ``make demo``'s runs whatever their working folder.
    """
    from kdlab.data.synthetic import PRESETS, generate
    from kdlab.progress import quiet

    name = "smoke" if smoke else "demo"
    runs = Path(runs or os.environ.get("KDLAB_RUNS") or f"runs/{name}")
    data = Path(data or os.environ.get("KDLAB_DATA") or f"data/synthetic/{'tiny' if smoke else 'default'}")
    runs, data = (p if p.is_absolute() else REPO_ROOT / p for p in (runs, data))
    generate(data, PRESETS["tiny" if smoke else "default"], progress=not quiet())  # resumable: ~0.1 s when complete
    overrides = (f"data.root={data}", *(SMOKE_OVERRIDES if smoke else ()))
    return Workspace(runs, data, overrides, smoke)


def run_steps(space: Workspace, names: list[str], log=print) -> dict:
    """Run the demo steps called ``names`` (and nothing else) in ``space``; finished runs are reused."""
    steps = [step for step in demo_steps(seeds=(0,) if space.smoke else (0, 1, 2)) if step.name in names]
    missing = sorted(set(names) - {step.name for step in steps})
    if missing:
        raise ValueError(f"no demo step named {missing}; see kdlab.engine.study.demo_steps()")
    return run_study(steps, space.runs, overrides=list(space.overrides), log=log)
