"""Studies: ordered lists of runs (train, distill, fuse) that make the paper's experiments.

A study is an explicit list of :class:`Step` s, each naming its run folder under the study's runs
folder, the config that makes it (``configs/demo/<config>.toml``), the runs of the same study it
learns from (``teachers``) and its settings as typed values, or the runs it fuses; the definitions
are the tuples below (:data:`TEACHER_STEPS`, :data:`STUDENT_STEPS`, :data:`SYSTEM_STEPS`,
:data:`ABLATIONS`), so a study can be written anywhere (``kdlab demo --runs /tmp/x``). Every step is
resumable: a finished run is skipped, an interrupted one resumes, so rerunning a study only does
what is missing.

**The headline study** (``make demo``, :func:`demo_steps`): the I-frame, motion and residual
teachers and their 2:1:1 fusion; the student alone, with one teacher (the I-frame teacher) and
with the three, each over :data:`DEMO_SEEDS`; the distilled system (each student fused with the
motion and residual teachers); the compression table. Its findings are the paper's comparisons
(:data:`kdlab.engine.claims.HEADLINE`), each a difference with its 95 % interval and a verdict.

**The full study** (``make study``, :func:`full_steps`): the headline plus every ablation of
:data:`ABLATIONS` over :data:`FULL_SEEDS`, each compared with its reference: the aggregation of
the teachers (all offline and logit-only, plus CA-MKD online with its feature term, labelled),
the temperature, the KD weight, every subset of the three teachers, and teachers of one
representation but different capacity; then the newer methods (:func:`newer_steps`,
:data:`NEWER_CLAIMS`): learned fusion against 2:1:1 for the teachers and the distilled system,
PKD-trained streams against cross-entropy ones (per exit: :func:`kdlab.engine.findings.exit_comparisons`, and fused),
and MMKD among the aggregations.

Run names: seed 0 keeps the plain name (``mkd_streams``), other seeds add ``_seed<s>``. What a
study finds in its runs is read by :mod:`kdlab.engine.findings`.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from kdlab.engine import io
from kdlab.engine.claims import HEADLINE, Claim, seed_name
from kdlab.engine.config import RunConfig, load_config, parse_overrides
from kdlab.engine.findings import collect_results
from kdlab.engine.fuse import fuse_runs
from kdlab.engine.runs import RunFolder
from kdlab.engine.trainer import train
from kdlab.errors import ConfigError, KdlabError, RunError
from kdlab.paths import config_dir, home

#: The demo study's configs (package data: :func:`kdlab.paths.config_dir`).
CONFIG_DIR = config_dir("demo")

#: What ``--smoke`` (and the notebooks' SMOKE mode) changes: tiny data, one short epoch.
SMOKE_OVERRIDES = ("optim.epochs=1", "data.size=48", "data.test_segments=3", "data.workers=0")

STREAMS = ("teacher_iframe", "teacher_mv", "teacher_residual")
STUDENTS = ("student_ce", "kd_single", "mkd_streams")
#: Seeds of the headline study's students: six make a 2-point difference detectable (README, Results).
DEMO_SEEDS = (0, 1, 2, 3, 4, 5)
#: Seeds of every ablation of the full study.
FULL_SEEDS = (0, 1, 2)


@dataclass(frozen=True)
class Step:
    """One run of a study, named ``name`` in the study's runs folder.

    Trained: ``config`` (a file stem of the config folder), with ``teachers`` (run names of this study: they
    replace the config's ``distill.teachers``, which serve ``kdlab distill`` on its own) and ``settings``
    (``(dotted key, value)`` pairs applied after the command line's overrides, e.g. ``("distill.kd_weight",
    2.0)``). Or the late fusion of the ``fuse`` runs.
    """

    name: str
    config: str = ""
    settings: tuple[tuple[str, Any], ...] = ()
    fuse: tuple[str, ...] = ()
    group: str = ""  # teachers | fusion | students | ablation | pkd
    teachers: tuple[str, ...] = ()
    learn: bool = False  # a fusion with temperatures and weights fitted on the validation split
    exits: bool = False  # with learn: every early exit of a PKD run is an output

    def at_seed(self, seed: int) -> Step:
        """This run at ``seed`` (:func:`seed_name`; seed 0 is the run itself); a fusion fuses its seeded first run."""
        if seed == 0:
            return self
        if self.fuse:
            return replace(self, name=seed_name(self.name, seed), fuse=(seed_name(self.fuse[0], seed), *self.fuse[1:]))
        return replace(self, name=seed_name(self.name, seed), settings=(("seed", seed), *self.settings))


#: The headline study's runs at seed 0, in order: the teachers, their fusion, the students and each student's
#: system (the student fused with the motion and residual teachers). The students and the systems of
#: ``mkd_streams`` are repeated over the seeds (:meth:`Step.at_seed`).
TEACHER_STEPS = tuple(Step(name, name, group="teachers") for name in STREAMS)
TEACHERS_FUSION = Step("fusion_teachers", fuse=STREAMS, group="fusion")
STUDENT_STEPS = (
    Step("student_ce", "student_ce", group="students"),
    Step("kd_single", "kd_single", group="students", teachers=("teacher_iframe",)),
    Step("mkd_streams", "mkd_streams", group="students", teachers=STREAMS),
)
SYSTEM_STEPS = {
    "student_ce": Step("fusion_student_ce", fuse=("student_ce", "teacher_mv", "teacher_residual"), group="fusion"),
    "kd_single": Step("fusion_kd_single", fuse=("kd_single", "teacher_mv", "teacher_residual"), group="fusion"),
    "mkd_streams": Step("fusion_mkd_streams", fuse=("mkd_streams", "teacher_mv", "teacher_residual"), group="fusion"),
}


def demo_steps(seeds: tuple[int, ...] = DEMO_SEEDS) -> list[Step]:
    """The headline study: teachers, their fusion, the three students over ``seeds``, the distilled systems
    (``mkd_streams``'s at every seed, the other students' at the first)."""
    steps = [*TEACHER_STEPS, TEACHERS_FUSION]
    for seed in seeds:
        steps += [student.at_seed(seed) for student in STUDENT_STEPS]
        steps.append(SYSTEM_STEPS["mkd_streams"].at_seed(seed))
    steps += [SYSTEM_STEPS[student].at_seed(seeds[0]) for student in ("student_ce", "kd_single")]
    return steps


# --- the full study's ablations -------------------------------------------------------------------

@dataclass(frozen=True)
class Variant:
    """One value of one factor: the run ``name`` (at every seed) compared with its ``reference`` run.

    ``headline``: the run is one of the headline study's (``mkd_streams`` is every factor's reference value),
    trained there; otherwise ``config`` with ``teachers`` and ``settings`` (as :class:`Step`'s) makes it.
    """

    factor: str
    value: str
    label: str
    name: str
    config: str = "mkd_streams"
    settings: tuple[tuple[str, Any], ...] = ()
    teachers: tuple[str, ...] = STREAMS
    reference: str = "mkd_streams"
    headline: bool = False

    @property
    def key(self) -> str:
        """The comparison's key in ``study.json`` (``aggregation_ebkd``)."""
        return f"{self.factor}_{self.value}"

    def step(self) -> Step:
        return Step(self.name, self.config, self.settings, group="ablation", teachers=self.teachers)


def _temperature(t: float) -> tuple[tuple[str, Any], ...]:
    return (("distill.loss_options", {"temperature": t}),)


#: Every ablation of the full study. The reference (``mkd_streams``): mean of the three stream
#: teachers' KD losses, T = 4, KD weight 1, offline teachers. All aggregations but the one
#: labelled online run offline from the teachers' stored logits, with no feature term.
ABLATIONS: tuple[Variant, ...] = (
    Variant("aggregation", "avg_kd", "mean of KD losses (AVER)", "mkd_streams", headline=True),
    Variant("aggregation", "kd_to_avg", "KD to the mean soft target", "aggregation_kd_to_avg", "mkd_streams_kd_to_avg"),
    Variant("aggregation", "ebkd", "entropy weights (EBKD)", "aggregation_ebkd", "mkd_streams_ebkd"),
    Variant("aggregation", "camkd", "confidence weights (CA-MKD, logits only)", "aggregation_camkd",
            "mkd_streams_camkd_offline"),
    Variant("aggregation", "aekd", "gradient-space weights (AE-KD)", "aggregation_aekd", "mkd_streams_aekd"),
    Variant("aggregation", "dkd", "decoupled KD (DKD, warmed up over a twelfth of the run)", "aggregation_dkd",
            "mkd_streams_dkd"),
    Variant("aggregation", "camkd_online", "CA-MKD online, with its feature term", "aggregation_camkd_online",
            "mkd_streams_camkd"),
    Variant("aggregation", "mmkd", "meta-learned weights (MMKD)", "aggregation_mmkd", "mkd_streams_mmkd"),
    Variant("temperature", "1", "T = 1", "temperature_1", settings=_temperature(1.0)),
    Variant("temperature", "2", "T = 2", "temperature_2", settings=_temperature(2.0)),
    Variant("temperature", "4", "T = 4", "mkd_streams", headline=True),
    Variant("temperature", "8", "T = 8", "temperature_8", settings=_temperature(8.0)),
    Variant("kd_weight", "0.5", "KD weight 0.5", "kd_weight_0.5", settings=(("distill.kd_weight", 0.5),)),
    Variant("kd_weight", "1", "KD weight 1", "mkd_streams", headline=True),
    Variant("kd_weight", "2", "KD weight 2", "kd_weight_2", settings=(("distill.kd_weight", 2.0),)),
    Variant("teachers", "I", "I-frame teacher", "kd_single", headline=True),
    Variant("teachers", "MV", "motion teacher", "teachers_MV", teachers=("teacher_mv",)),
    Variant("teachers", "R", "residual teacher", "teachers_R", teachers=("teacher_residual",)),
    Variant("teachers", "I+MV", "I-frame + motion teachers", "teachers_I+MV", teachers=("teacher_iframe", "teacher_mv")),
    Variant("teachers", "I+R", "I-frame + residual teachers", "teachers_I+R",
            teachers=("teacher_iframe", "teacher_residual")),
    Variant("teachers", "MV+R", "motion + residual teachers", "teachers_MV+R", teachers=("teacher_mv", "teacher_residual")),
    Variant("teachers", "I+MV+R", "the three stream teachers", "mkd_streams", headline=True),
    Variant("capacity", "3_depths", "three I-frame teachers of different capacity (ResNet-18 x0.25, -50, -101)",
            "capacity_3_depths", "mkd_depth", teachers=("teacher_iframe", "teacher_iframe_r101", "teacher_iframe_r50"),
            reference="kd_single"),
)
#: The extra teachers of the capacity reading (I-frame networks of other depths).
CAPACITY_TEACHERS = tuple(Step(name, name, group="teachers") for name in ("teacher_iframe_r50", "teacher_iframe_r101"))


def ablation_steps(seeds: tuple[int, ...] = FULL_SEEDS, variants: tuple[Variant, ...] = ABLATIONS) -> list[Step]:
    """Every variant's run at every seed (a headline run is listed as the headline study makes it)."""
    steps = list(CAPACITY_TEACHERS) if any(v.config == "mkd_depth" for v in variants) else []
    students = {step.name: step for step in STUDENT_STEPS}
    for seed in seeds:
        for v in variants:
            if v.headline:
                if v.name in students:
                    steps.append(students[v.name].at_seed(seed))
                continue
            steps.append(v.step().at_seed(seed))
    return steps


def ablation_claims(variants: tuple[Variant, ...] = ABLATIONS) -> tuple[Claim, ...]:
    """Each variant against its reference (none for the reference itself)."""
    labels = {v.name: v.label for v in variants if v.headline}
    labels.setdefault("kd_single", "one I-frame teacher")
    claims = []
    for v in variants:
        if v.name == v.reference:
            continue
        claims.append(Claim(v.key, f"{v.factor}: {v.label}", v.name, v.reference, v.label,
                            labels.get(v.reference, v.reference)))
    return tuple(claims)


# --- the newer methods (learned fusion, PKD; MMKD is an aggregation above) ------------------------

#: PKD's chain of stages, each taught by the one before (configs/demo/pkd_*.toml).
PKD_CHAIN = ("pkd_mv", "pkd_residual", "pkd_iframe")
#: The same networks with the same exits trained with the labels alone (PKD's first stage is one already).
CE_EXITS = {"pkd_residual": "ce_exits_residual", "pkd_iframe": "ce_exits_iframe"}


def newer_steps(seeds: tuple[int, ...] = FULL_SEEDS) -> list[Step]:
    """Learned fusion of the teachers and of each distilled system; the PKD chain at every seed (each stage
    taught by the previous stage of its seed), the same networks with exits but no teacher, and the PKD
    systems fused 2:1:1 and learned (with exits)."""
    steps = [replace(TEACHERS_FUSION, name="fusion_teachers_learned", learn=True)]
    for seed in seeds:
        steps.append(replace(SYSTEM_STEPS["mkd_streams"], name="fusion_mkd_streams_learned", learn=True).at_seed(seed))
        chain = [seed_name(stage, seed) for stage in PKD_CHAIN]
        steps += [Step(stage, stage, group="pkd", teachers=(chain[i - 1],) if i else ()).at_seed(seed)
                  for i, stage in enumerate(PKD_CHAIN)]
        steps += [Step(name, config, group="pkd").at_seed(seed) for config, name in CE_EXITS.items()]
        system = (chain[2], chain[0], chain[1])
        steps.append(Step(seed_name("fusion_pkd", seed), fuse=system, group="fusion"))
        steps.append(Step(seed_name("fusion_pkd_learned", seed), fuse=system, group="fusion", learn=True, exits=True))
    return steps


#: The newer methods against the existing ones (MMKD's is among :func:`ablation_claims`).
NEWER_CLAIMS: tuple[Claim, ...] = (
    Claim("learned_vs_fixed_teachers", "learned fusion vs 2:1:1, the teachers", "fusion_teachers_learned",
          "fusion_teachers", "learned weights and temperatures", "2:1:1",
          "fitted on the validation groups' logits, never the test list"),
    Claim("learned_vs_fixed_distilled", "learned fusion vs 2:1:1, the distilled system", "fusion_mkd_streams_learned",
          "fusion_mkd_streams", "learned weights and temperatures", "2:1:1"),
    Claim("pkd_residual_vs_ce", "PKD vs cross-entropy, the residual network", "pkd_residual", "teacher_residual",
          "PKD (taught by the motion network, with exits)", "cross-entropy"),
    Claim("pkd_iframe_vs_ce", "PKD vs cross-entropy, the I-frame network", "pkd_iframe", "student_ce",
          "PKD (taught by the residual network, with exits)", "cross-entropy"),
    Claim("pkd_system_vs_ce", "PKD streams vs cross-entropy streams, fused 2:1:1", "fusion_pkd", "fusion_student_ce",
          "PKD streams", "cross-entropy streams"),
    Claim("pkd_learned_exits_vs_fixed", "PKD streams: learned fusion of every exit vs 2:1:1", "fusion_pkd_learned",
          "fusion_pkd", "learned, every exit", "2:1:1, final heads",
          "the learned fusion reads the last epoch only (the exits are scored there)"),
)


def full_steps(seeds: tuple[int, ...] = DEMO_SEEDS, ablation_seeds: tuple[int, ...] = FULL_SEEDS) -> list[Step]:
    """The headline study, then every ablation, then the newer methods."""
    steps = demo_steps(seeds)
    names = {s.name for s in steps}
    steps += [s for s in ablation_steps(ablation_seeds) if s.name not in names]
    names = {s.name for s in steps}
    return steps + [s for s in newer_steps(ablation_seeds) if s.name not in names]


# --- running ---------------------------------------------------------------------------------------

def step_config(step: Step, runs_dir: Path, config_dir: Path = CONFIG_DIR, overrides: list[str] = ()) -> RunConfig:
    """The step's config: its file, the command line's ``overrides``, then its settings; its run folder and
    its teachers (:attr:`Step.teachers`) in ``runs_dir``."""
    values = parse_overrides(list(overrides))
    for key, value in step.settings:
        *tables, last = key.split(".")
        node = values
        for table in tables:
            node = node.setdefault(table, {})
        node[last] = value
    config = load_config(config_dir / f"{step.config}.toml", values)
    if config.distill.loss not in ("ce", "pkd") and not step.teachers:  # pkd's first stage has no teacher
        raise ConfigError(f"study step {step.name}: distills ({step.config}.toml: distill.loss = "
                          f"{config.distill.loss!r}) but names no teachers; give its Step teachers=(run names)")
    config.name = step.name
    config.out = str(runs_dir / step.name)
    config.distill.teachers = [str(runs_dir / name) for name in step.teachers]
    return config


@dataclass(frozen=True)
class Study:
    """A study: its ``steps`` (every run it makes, in order), the ``claims`` it evaluates, and the folder of
    the configs its steps name."""

    steps: tuple[Step, ...]
    claims: tuple[Claim, ...] = HEADLINE
    config_dir: Path = CONFIG_DIR


def run_study(study: Study | list[Step], runs_dir: str | Path, overrides: list[str] = (), log=print,
              jobs: int | None = None, record: bool = True) -> dict:
    """Run every step (skipping finished runs); write ``study.json`` (unless ``record`` is False);
    return the results. A plain list of steps is a :class:`Study` with the headline claims.

    ``study.json`` describes the study that wrote it (``kdlab demo``); a part of a study run again
    from a notebook (:func:`run_steps`) must not replace it with its own subset, so it passes
    ``record=False``.

    Trainings whose teachers are ready run side by side in ``jobs`` worker processes (default:
    one per CPU core, at most 8), each with one thread (:func:`train_in_worker`): small networks
    use two threads poorly, so two one-thread runs on two cores finish about 1.5x sooner than
    the same runs one after the other (measured). Every run, in the demo and in tests alike,
    trains with one thread, so its numbers do not depend on ``jobs``. Fusions run when their
    runs are done. The representation cache is built once, first.
    """
    study = study if isinstance(study, Study) else Study(tuple(study))
    runs_dir = Path(runs_dir)
    runs_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    configs = {s.name: step_config(s, runs_dir, Path(study.config_dir), list(overrides)) for s in study.steps if not s.fuse}
    schedule = _Schedule(list(study.steps), runs_dir, configs, log, record)
    schedule.run(jobs or min(8, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1))
    results = collect_results(list(study.steps), runs_dir, claims=study.claims, exit_pairs=CE_EXITS)
    results["wall_seconds"] = time.perf_counter() - started
    if record:
        _write_study(runs_dir, list(study.steps), results, schedule.timings)
    return results


class _Schedule:
    """The steps of a study in flight: which are finished, linked to an equal run, pending or training."""

    def __init__(self, steps: list[Step], runs_dir: Path, configs: dict[str, RunConfig], log, record: bool):
        self.steps, self.runs_dir, self.configs, self.log, self.record = steps, runs_dir, configs, log, record
        self.links = _links(steps, configs, runs_dir)
        self.timings: dict[str, float] = {}
        self.known = {s.name for s in steps}
        self.finished = {s.name for s in steps if self.trains(s) and RunFolder(runs_dir / s.name).is_complete()}
        self.pending = [s for s in steps if s.name not in self.finished]
        self.running: dict = {}

    def trains(self, step: Step) -> bool:
        """Whether the step trains a network (not a fusion, not a link to an equal run)."""
        return not step.fuse and step.name not in self.links

    def needs(self, step: Step) -> set[str]:
        """The runs the step waits on: the fused runs, the linked run, or the teachers."""
        if step.fuse:
            return set(step.fuse)
        if step.name in self.links:
            return {self.links[step.name]}
        config = self.configs[step.name]
        return {Path(t).name for t in config.distill.teachers} if config.distill.loss != "ce" else set()

    def report(self, step: Step) -> None:
        test = RunFolder(self.runs_dir / step.name).summary().test
        took = f" ({self.timings[step.name]:.0f} s)" if step.name in self.timings else ""
        self.log(f"[{step.name}] test top-1 {test['top1']:.1f}%{took}")
        # the dashboard follows a study while it runs; the findings and the compression table come at the end
        if self.record:
            _write_study(self.runs_dir, self.steps, collect_results(self.steps, self.runs_dir, findings=False), self.timings)

    def run(self, jobs: int) -> None:
        """Every pending step, trainings ``jobs`` at a time, each as soon as what it needs has finished."""
        for step in [s for s in self.steps if s.name in self.finished]:
            self.log(f"[{step.name}] already complete")
            self.report(step)
        training = [s for s in self.pending if self.trains(s)]
        if training:
            _build_cache(self.configs[training[0].name])
        with _Workers(jobs) as workers:
            while self.pending or self.running:
                progressed = self._start_ready(workers, jobs)
                if self.running and not progressed:
                    self._finish_one(workers)
                elif not self.running and not progressed:
                    blocked = ", ".join(f"{s.name} (needs {sorted(self.needs(s) - self.finished)})" for s in self.pending)
                    raise RunError(f"{self.runs_dir}: these steps wait on each other: {blocked}")

    def _start_ready(self, workers: _Workers, jobs: int) -> bool:
        """Start every pending step whose runs are ready (fusions and links at once); whether any started."""
        progressed = False
        for step in list(self.pending):
            if any(n in self.known and n not in self.finished for n in self.needs(step)):  # runs made elsewhere are ready
                continue
            if self.trains(step) and len(self.running) >= jobs:
                continue  # every worker is busy
            self.pending.remove(step)
            progressed = True
            folder = self.runs_dir / step.name
            if step.fuse:
                fuse_runs([self.runs_dir / name for name in step.fuse], folder, learn=step.learn, exits=step.exits)
            elif step.name in self.links:
                if not folder.is_symlink():
                    folder.symlink_to(self.links[step.name])
                self.log(f"[{step.name}] same config as {self.links[step.name]}: reused")
            else:
                self.log(f"[{step.name}] training ...")
                self.running[workers.submit(self.configs[step.name])] = (step, time.perf_counter())
                continue
            self.finished.add(step.name)
            self.report(step)
        return progressed

    def _finish_one(self, workers: _Workers) -> None:
        future = workers.wait_one(self.running)
        step, step_started = self.running.pop(future)
        future.result()  # a failed run stops the study with its error
        self.timings[step.name] = time.perf_counter() - step_started
        self.finished.add(step.name)
        self.report(step)


def _links(steps: list[Step], configs: dict[str, RunConfig], runs_dir: Path) -> dict[str, str]:
    """Steps whose config (but for the name) equals an earlier step's or a finished run's: they
    link to that run's folder instead of training it again. ``{step: the run it links to}``."""
    done: dict[str, str] = {}
    for existing in sorted(runs_dir.iterdir()):
        run = RunFolder(existing)
        if not existing.is_symlink() and run.is_complete() and run.exists():
            done.setdefault(_fingerprint(run.config()), existing.name)
    links: dict[str, str] = {}
    for step in steps:
        if step.fuse:
            continue
        key = _fingerprint(configs[step.name])
        folder = runs_dir / step.name
        if folder.is_symlink():  # linked by an earlier study: it stays linked
            links[step.name] = os.readlink(folder)
        elif folder.exists():  # finished or interrupted: it stays what it is
            done.setdefault(key, step.name)
        elif key in done:
            links[step.name] = done[key]
        else:
            done[key] = step.name  # the first step with this config trains it
    return links


def train_in_worker(config: RunConfig, quiet: bool = False) -> str:
    """Train one run with one thread (in a worker process, or inline); returns its folder.

    ``quiet``: no progress bars (runs side by side would draw theirs over each other)."""
    import torch

    if quiet:
        os.environ["KDLAB_QUIET"] = "1"  # this worker process only
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return str(train(config).path)
    finally:
        torch.set_num_threads(threads)


class _Workers:
    """Trainings in ``jobs`` spawned processes, or inline (still one thread) when ``jobs`` is 1."""

    def __init__(self, jobs: int):
        self.jobs = jobs
        self.pool = None

    def __enter__(self):
        if self.jobs > 1:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            self.pool = ProcessPoolExecutor(max_workers=self.jobs, mp_context=multiprocessing.get_context("spawn"))
        return self

    def __exit__(self, *exc):
        if self.pool is not None:
            self.pool.shutdown(wait=exc[0] is None, cancel_futures=True)

    def submit(self, config: RunConfig):
        from concurrent.futures import Future

        if self.pool is not None:
            return self.pool.submit(train_in_worker, config, True)
        future = Future()
        try:
            future.set_result(train_in_worker(config))
        except BaseException as exc:  # noqa: BLE001  (re-raised by future.result())
            future.set_exception(exc)
        return future

    @staticmethod
    def wait_one(running: dict):
        from concurrent.futures import FIRST_COMPLETED, wait

        done, _ = wait(list(running), return_when=FIRST_COMPLETED)
        return next(iter(done))


def _build_cache(config: RunConfig) -> None:
    """Decode every video of the study's data set once (train, validation and test lists), before
    the workers start, so that they do not build the same cache side by side."""
    from kdlab.engine.loading import make_dataset, part_records

    for part in ("train", "val", "test"):
        if part_records(config, part):
            make_dataset(config, part, ["iframe"], False, 1)


def _write_study(runs_dir: Path, steps: list[Step], results: dict, timings: dict) -> None:
    io.write_json(runs_dir / "study.json", {"steps": [vars(s) for s in steps], "results": results, "seconds": timings})


def _fingerprint(config: RunConfig) -> str:
    values = config.to_dict()
    values.pop("name"), values.pop("out")
    return json.dumps(values, sort_keys=True)


# --- notebooks -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Workspace:
    """Where a study reads its data and writes its runs, and what it overrides (notebooks, ``kdlab demo``)."""

    runs: Path
    data: Path
    overrides: tuple[str, ...]
    smoke: bool

    @property
    def seeds(self) -> tuple[int, ...]:
        """The headline study's seeds (one in SMOKE mode)."""
        return (0,) if self.smoke else DEMO_SEEDS


def workspace(smoke: bool = False, runs: str | Path | None = None, data: str | Path | None = None) -> Workspace:
    """The demo's folders (``runs/demo``, ``data/synthetic/default``), or the tiny SMOKE ones.

    ``$KDLAB_RUNS`` and ``$KDLAB_DATA`` override the folders (the tests point them at temporary
    ones). The synthetic set is generated, or completed, or checked against its preset. Relative paths are taken from the
    repository in a checkout (so notebooks find ``make demo``'s runs whatever their working folder), else
    from the current folder (:func:`kdlab.paths.home`).
    """
    from kdlab.data.synthetic import PRESETS, generate
    from kdlab.progress import quiet

    name = "smoke" if smoke else "demo"
    runs = Path(runs or os.environ.get("KDLAB_RUNS") or f"runs/{name}")
    data = Path(data or os.environ.get("KDLAB_DATA") or f"data/synthetic/{'tiny' if smoke else 'default'}")
    runs, data = (p if p.is_absolute() else home() / p for p in (runs, data))
    try:
        generate(data, PRESETS["tiny" if smoke else "default"], progress=not quiet())  # resumable: ~0.1 s when complete
    except KdlabError as exc:
        if "holds a synthetic set made with" not in str(exc):
            raise
        raise KdlabError(f"{data}: holds a synthetic set of another kdlab version or preset; delete it "
                         f"(`make clean` removes data/synthetic and runs/) or give another folder with --data") from None
    overrides = (f"data.root={data}", *(SMOKE_OVERRIDES if smoke else ()))
    return Workspace(runs, data, overrides, smoke)


def run_steps(space: Workspace, names: list[str], log=print, claims: tuple[Claim, ...] = HEADLINE) -> dict:
    """Run the study steps called ``names`` (and nothing else) in ``space``; finished runs are reused."""
    known = full_steps(space.seeds, space.seeds if space.smoke else FULL_SEEDS)
    steps = [step for step in known if step.name in names]
    missing = sorted(set(names) - {step.name for step in steps})
    if missing:
        raise ValueError(f"no study step named {missing}; see kdlab.engine.study.full_steps()")
    return run_study(Study(tuple(steps), claims), space.runs, overrides=list(space.overrides), log=log,
                     record=not (space.runs / "study.json").exists())
