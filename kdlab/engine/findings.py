"""A study's findings, read from its run folders: what ``kdlab demo`` prints and ``study.json`` keeps.

:func:`collect_results` gathers, for the runs of a study's steps (:mod:`kdlab.engine.study`), one
row per run and, as findings: each method's mean over seeds with its interval, the claims' verdicts
(:mod:`kdlab.engine.claims`), what the teachers know beyond the I-frame teacher, the design the
numbers rest on (test clips and groups, seeds), the compression table at demo size
(:func:`demo_compression`) and PKD's exits against networks with the same exits trained on the labels
alone (:func:`exit_comparisons`). :mod:`kdlab.engine.report` writes them as text.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from kdlab.engine import stats
from kdlab.engine.claims import HEADLINE, Claim, base_name, evaluate_claims, finished_runs, seed_of, seed_summary
from kdlab.engine.exits import read_exits
from kdlab.engine.metrics import teacher_complementarity
from kdlab.engine.profile import compression_table, machine
from kdlab.engine.runs import RunFolder
from kdlab.engine.stats import clip_groups

if TYPE_CHECKING:
    from kdlab.engine.study import Step


def collect_results(steps: list[Step], runs_dir: Path, findings: bool = True, claims: tuple[Claim, ...] = HEADLINE,
                    exit_pairs: dict[str, str] | None = None) -> dict:
    """Per-run rows of ``steps``; with ``findings``: the seeds' summary, the claims' verdicts, the
    teachers' complementarity, the design (clips, groups, seeds), the compression table and, when
    the steps train PKD runs, their exits against ``exit_pairs`` (:func:`exit_comparisons`)."""
    runs_dir = Path(runs_dir)
    rows = []
    for step in steps:
        summary = RunFolder(runs_dir / step.name).summary()
        if summary and summary.test:
            rows.append(summary.row(step.name, step.group))
    results = {"runs": rows, "machine": machine()}
    if not findings:
        return results
    trained = [s for s in steps if not s.fuse]
    bases = list(dict.fromkeys(base_name(s.name) for s in trained if s.group in ("students", "ablation", "pkd")))
    results.update(
        seeds=seed_summary(runs_dir, bases),
        seeds_best=seed_summary(runs_dir, bases, which="best"),
        claims=evaluate_claims(runs_dir, claims),
        complementarity=_complementarity(runs_dir),
        design=_design(runs_dir, steps),
        compression=demo_compression(runs_dir),
    )
    if exit_pairs and any(s.group == "pkd" for s in steps):
        results["exits"] = exit_comparisons(runs_dir, exit_pairs)
    return results


def _complementarity(runs_dir: Path) -> dict | None:
    """Each teacher's accuracy, their oracle accuracy and who is right where the I-frame teacher is wrong."""
    folder = RunFolder(runs_dir / "fusion_teachers")
    if not folder.predictions_file.exists():
        return None
    p = folder.predictions()
    return teacher_complementarity(p.teacher_logits, p.labels, p.names, fused_logits=p.logits)


def _design(runs_dir: Path, steps: list[Step]) -> dict | None:
    """What the study's numbers rest on: test clips and groups, validation clips, training clips, seeds."""
    for step in steps:
        folder = RunFolder(runs_dir / step.name)
        summary = folder.summary()
        if step.fuse or not summary or not summary.videos:
            continue
        ids = folder.predictions().video_ids
        config = folder.config()
        seeds = sorted({seed_of(s.name) for s in steps if s.group == "students"})
        return {"videos": summary.videos, "test_groups": len(set(clip_groups(ids).tolist())), "seeds": seeds,
                "epochs": config.optim.epochs, "size": config.data.size, "val_share": config.data.val_share,
                "test_protocol": summary.test["protocol"], "validation_protocol": summary.validation_protocol}
    return None


def demo_compression(runs_dir: Path, gop: int = 12) -> dict | None:
    """The compression table at demo size, from the runs' own parameters, FLOPs and fused accuracies.

    CoViAR-style system: the I-frame, motion and residual teachers; distilled system: the
    multi-teacher student in place of the I-frame teacher. FLOPs per GOP as in
    :mod:`kdlab.engine.profile`: ``I + (gop - 1) * (MV + R)``.
    """
    seeds = finished_runs(runs_dir, "mkd_streams")
    student = seeds[min(seeds)] if seeds else "mkd_streams"  # the first seed's
    names = {"iframe": "teacher_iframe", "student": student, "mv": "teacher_mv", "residual": "teacher_residual"}
    summaries = {key: RunFolder(runs_dir / name).summary() for key, name in names.items()}
    if not all(summaries.values()):
        return None
    rows = []
    for system, iframe, fused in (("CoViAR", "iframe", "fusion_teachers"), ("distilled", "student", f"fusion_{student}")):
        nets = [summaries[iframe], summaries["mv"], summaries["residual"]]
        params = sum(n.params for n in nets)
        per_gop = nets[0].flops_per_frame + (gop - 1) * (nets[1].flops_per_frame + nets[2].flops_per_frame)
        fusion = RunFolder(runs_dir / fused).summary()
        rows.append({
            "system": system, "iframe_net": nets[0].arch, "mv_net": nets[1].arch, "residual_net": nets[2].arch,
            "params_M": params / 1e6, "gflops_per_gop": per_gop / 1e9, "gmacs_per_gop": per_gop / 2e9,
            "gflops_per_triple": sum(n.flops_per_frame for n in nets) / 1e9,
            "fused_top1": fusion.test["top1"] if fusion else None,
        })
    coviar, distilled = rows
    config = RunFolder(runs_dir / names["student"]).config()
    return {
        "rows": rows,
        "param_ratio": coviar["params_M"] / distilled["params_M"],
        "flops_ratio_per_gop": coviar["gflops_per_gop"] / distilled["gflops_per_gop"],
        "flops_ratio_per_triple": coviar["gflops_per_triple"] / distilled["gflops_per_triple"],
        "gop": gop,
        "size": config.data.size,
        "num_classes": RunFolder(runs_dir / names["student"]).predictions().num_classes,
        "full_size": compression_table(),
        "note": "FLOPs = 2 x multiply-adds (torch FlopCounterMode); papers quote multiply-adds as FLOPs",
    }


def exit_comparisons(runs_dir: str | Path, pairs: dict[str, str]) -> list[dict]:
    """Each PKD run of ``pairs`` (PKD run -> the same network with the same exits trained on the labels
    alone, e.g. :data:`kdlab.engine.study.CE_EXITS`) against its twin, exit by exit, paired by seed
    (:func:`kdlab.engine.stats.compare`), with each exit's FLOPs per frame."""
    out = []
    for pkd, ce in pairs.items():
        a, b = _exit_runs(runs_dir, pkd), _exit_runs(runs_dir, ce)
        if not a or not b:
            continue
        first = a[next(iter(a))]
        for i, name in enumerate(first.names.tolist()):
            sides = [stats.Outcomes.from_logits(label, [(r.logits[i], r.labels, r.video_ids) for r in runs.values()],
                                                list(runs)) for label, runs in ((f"{pkd}:{name}", a), (f"{ce}:{name}", b))]
            out.append({"key": f"{pkd}_{name}", "stage": pkd, "exit": name, "a": pkd, "b": ce,
                        "flops_per_frame": int(first.flops_per_frame[i]), **stats.compare(*sides).to_dict(),
                        "a_top1": sides[0].accuracy().__dict__, "b_top1": sides[1].accuracy().__dict__})
    return out


def _exit_runs(runs_dir, base: str) -> dict:
    """``{seed: exits.npz arrays}`` of the finished runs of ``base`` (:func:`kdlab.engine.exits.read_exits`)."""
    found = {}
    for seed, name in finished_runs(runs_dir, base).items():
        e = read_exits(RunFolder(Path(runs_dir) / name))
        if e is not None:
            found[seed] = e
    return found
