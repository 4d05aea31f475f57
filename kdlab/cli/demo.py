"""``kdlab demo``: the main job. The whole study on the embedded synthetic benchmark, then the dashboard."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from kdlab.cli.arguments import bounded_int
from kdlab.paths import bundled


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "demo",
        help="the study on the embedded synthetic data: teachers, fusion, students over seeds, verdicts, compression",
        description="Generates the synthetic benchmark if missing, runs the headline study at demo size (resumable: "
        "finished runs are kept), prints the paper's comparisons with their 95 %% intervals and verdicts, writes "
        "runs/demo/ (results.txt, study.json, one folder per run) and serves the dashboard (not with --no-serve, "
        "NO_SERVE=1 or under CI). --full adds every ablation (make study).",
    )
    p.add_argument("--runs", default=None, help="where the run folders go (default runs/demo, runs/smoke with --smoke)")
    p.add_argument("--data", default=None, help="the synthetic set, generated if missing (default data/synthetic/default)")
    p.add_argument("--smoke", action="store_true", help="tiny data, one epoch, one seed: checks the pipeline in a minute")
    p.add_argument("--full", action="store_true", help="the headline study and every ablation (aggregations, "
                   "temperature, KD weight, teacher subsets, teacher capacity) over seeds")
    p.add_argument("--seeds", default=None, metavar="LIST",
                   help="the students' seeds, e.g. 0-5 (the default) or 6-11 to replicate the study on other seeds")
    p.add_argument("--jobs", type=bounded_int(1), default=None, help="runs trained side by side (default: one per CPU core)")
    p.add_argument("--no-serve", action="store_true", help="do not start the dashboard at the end")
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="applied to every run, e.g. optim.epochs=2")
    p.set_defaults(handler=_demo)
    p = subparsers.add_parser("dashboard", help="serve the Streamlit dashboard on localhost")
    p.add_argument("runs", nargs="?", default="runs/demo", help="a folder of run folders (default runs/demo)")
    p.add_argument("--port", type=bounded_int(1, 65535), default=8501)
    p.set_defaults(handler=_dashboard)


def _demo(args) -> int:
    from kdlab.engine import io
    from kdlab.engine.claims import HEADLINE
    from kdlab.engine.report import format_report
    from kdlab.engine.study import FULL_SEEDS, NEWER_CLAIMS, Study, ablation_claims, demo_steps, full_steps, run_study, workspace

    started = time.perf_counter()
    # folders given on the command line are relative to the current folder; the defaults to kdlab.paths.home()
    absolute = lambda p: os.path.abspath(p) if p else None  # noqa: E731
    seeds = parse_seeds(args.seeds) if args.seeds else None
    space = workspace(smoke=args.smoke, runs=absolute(args.runs), data=absolute(args.data))
    seeds = seeds or space.seeds
    if args.full:
        steps, claims = full_steps(seeds, seeds if args.smoke else FULL_SEEDS), HEADLINE + ablation_claims() + NEWER_CLAIMS
    else:
        steps, claims = demo_steps(seeds), HEADLINE
    results = run_study(Study(tuple(steps), claims), space.runs, overrides=[*space.overrides, *args.overrides], jobs=args.jobs)
    results["wall_seconds"] = time.perf_counter() - started  # with the data set's generation
    table = format_report(results)
    io.write_text(space.runs / "results.txt", table + "\n")
    minutes = (time.perf_counter() - started) / 60
    print(f"\n{table}\n\nruns in {space.runs}/ ({minutes:.1f} min wall time); the dashboard reads them: "
          f"kdlab dashboard {space.runs}")
    if args.no_serve or os.environ.get("NO_SERVE") or os.environ.get("CI"):
        return 0
    return serve(str(space.runs))


def parse_seeds(text: str) -> tuple[int, ...]:
    """``"0-5"`` or ``"0,2,7"`` (or both, ``"0-2,7"``) -> the seeds, in order."""
    from kdlab.errors import ConfigError

    seeds = []
    for part in text.split(","):
        first, _, last = part.strip().partition("-")
        if not first.isdigit() or (last and not last.isdigit()) or (last and int(last) < int(first)):
            raise ConfigError(f"--seeds: expected seeds such as 0-5 or 0,2,7, got {text!r}")
        seeds += range(int(first), int(last or first) + 1)
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"--seeds: a seed is listed twice in {text!r}")
    return tuple(seeds)


def serve(runs: str, port: int = 8501) -> int:
    app = bundled("dashboard") / "app.py"
    command = [sys.executable, "-m", "streamlit", "run", str(app), "--server.address", "127.0.0.1",
               "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false",
               "--", "--runs", str(runs)]
    print(f"dashboard on http://127.0.0.1:{port} (Ctrl-C to stop)")
    try:
        return subprocess.call(command)
    except KeyboardInterrupt:
        return 0


def _dashboard(args) -> int:
    return serve(args.runs, args.port)
