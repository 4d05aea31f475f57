"""``kdlab train``, ``distill``, ``evaluate``, ``fuse``, ``profile``: the study's steps."""

from __future__ import annotations

import json

from kdlab.cli.arguments import bounded_int
from kdlab.representations import REPRESENTATIONS


def _add_config_arguments(p) -> None:
    p.add_argument("config", nargs="?", help="a TOML config (configs/...); keys it omits keep their defaults")
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="e.g. optim.epochs=3 data.root=/data/ucf101 out=runs/x")
    p.add_argument("--force", action="store_true", help="train again even if the run folder is complete")


def register(subparsers) -> None:
    p = subparsers.add_parser("train", help="train a network (a teacher) on one representation",
                              description="Writes a run folder: config.json, metrics.csv, last.pt, best.pt, "
                              "predictions.npz, summary.json. Resumes when interrupted. Runs under torchrun too.")
    _add_config_arguments(p)
    p.set_defaults(handler=_train, distill=False)

    p = subparsers.add_parser("distill", help="train a student taught by teachers named by their run folders",
                              description="Like train, with [distill] teachers = [run folders] and loss = kd | avg_kd | "
                              "kd_to_avg | weighted_kd | ebkd | camkd | aekd | dkd | fitnets | mmkd | pkd (progressive, with early exits).")
    _add_config_arguments(p)
    p.set_defaults(handler=_train, distill=True)

    p = subparsers.add_parser("evaluate", help="evaluate a run under a test protocol (segments x crops)")
    p.add_argument("run", help="a run folder")
    p.add_argument("--segments", type=bounded_int(1), default=None, help="test segments (CoViAR: 25)")
    p.add_argument("--crops", type=int, default=None, choices=(1, 10), help="test crops (CoViAR: 10)")
    p.add_argument("--checkpoint", default="last", choices=("last", "best"),
                   help="last: the last epoch, the run's result (default); best: the epoch picked on the validation groups")
    p.add_argument("--workers", type=bounded_int(0), default=None, help="DataLoader worker processes (0: none)")
    p.set_defaults(handler=_evaluate)

    p = subparsers.add_parser("fuse", help="late fusion of stream runs (CoViAR: 2 x I + 1 x MV + 1 x R)")
    p.add_argument("runs", nargs="+", help="run folders (their predictions.npz)")
    p.add_argument("--weights", type=float, nargs="+", default=None, help="one per run (default: 2 for iframe, 1 otherwise)")
    p.add_argument("--out", required=True, help="folder for the fused predictions and summary")
    p.add_argument("--learn", action="store_true",
                   help="fit per-run temperatures and weights on the runs' validation logits (WISE-style), never the test list")
    p.add_argument("--exits", action="store_true", help="with --learn: each early exit of a PKD run (exits.npz) is an output")
    p.add_argument("--force", action="store_true", help="replace a trained run or another fusion in --out")
    p.set_defaults(handler=_fuse)

    p = subparsers.add_parser("profile", help="parameters, FLOPs/MACs per frame and per GOP, CPU latency")
    p.add_argument("--compression", action="store_true", help="CoViAR (ResNet-152 + 2 x ResNet-18) against the distilled model")
    p.add_argument("--arch", default="resnet18", help="a registry network (kdlab.models.list_models())")
    p.add_argument("--representation", default="iframe", choices=REPRESENTATIONS)
    p.add_argument("--classes", type=bounded_int(1), default=101)
    p.add_argument("--size", type=bounded_int(16), default=224)
    p.add_argument("--gop", type=bounded_int(1), default=12)
    p.add_argument("--segments", type=bounded_int(1), default=3, help="frames per clip (TSN segments) for the per-clip figure")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_profile)


def _train(args) -> int:
    from kdlab.engine.config import load_config
    from kdlab.engine.trainer import train
    from kdlab.errors import ConfigError

    path, overrides = args.config, list(args.overrides)
    if path and "=" in path and not path.endswith(".toml"):  # no config file, only overrides
        path, overrides = None, [path] + overrides
    config = load_config(path, overrides)
    if args.distill and config.distill.loss == "ce":
        raise ConfigError("distill.loss: `kdlab distill` needs a KD loss (kd, avg_kd, ...); use `kdlab train` for loss=ce")
    run = train(config, force=args.force)
    summary = run.summary()
    if summary:
        test, best = summary.test, summary.test_best or summary.test
        picked = (f"; at epoch {summary.best['epoch']}, the best on validation ({summary.best['val_top1']:.2f}%): "
                  f"{best['top1']:.2f}%" if summary.validated else "")
        print(f"{run.path}: test top-1 {test['top1']:.2f}% ({test['protocol']}) at the last epoch{picked}")
    return 0


def _evaluate(args) -> int:
    from kdlab.engine.evaluate import evaluate_run

    result = evaluate_run(args.run, args.segments, args.crops, args.checkpoint, args.workers)
    print(json.dumps(result, indent=1))
    return 0


def _fuse(args) -> int:
    from kdlab.engine.fuse import fuse_runs

    summary = fuse_runs(args.runs, args.out, args.weights, force=args.force, learn=args.learn, exits=args.exits)
    learned = (f" and temperatures {[round(t, 3) for t in summary.temperatures]} fitted on {summary.fitted_on}"
               if summary.method != "fixed" else "")
    weights = [round(w, 3) for w in summary.weights] if learned else summary.weights
    print(f"{args.out}: fused top-1 {summary.test['top1']:.2f}% with weights {weights}{learned}")
    return 0


def _profile(args) -> int:
    from kdlab.engine.profile import compression_table, cpu_latency_ms, net_cost
    from kdlab.models import create_model

    if args.compression:
        table = compression_table(num_classes=args.classes, size=args.size, gop=args.gop)
        if args.json:
            print(json.dumps(table, indent=1))
            return 0
        print(f"{'system':10} {'I-frame net':12} {'params (M)':>10} {'GFLOPs/GOP':>11} {'GMACs/GOP':>10}")
        for row in table["rows"]:
            print(f"{row['system']:10} {row['iframe_net']:12} {row['params_M']:10.2f} {row['gflops_per_gop']:11.2f} {row['gmacs_per_gop']:10.2f}")
        print(f"parameters {table['param_ratio']:.2f}x fewer; per GOP of {args.gop}: {table['flops_ratio_per_gop']:.2f}x "
              f"fewer FLOPs (per I/MV/R triple it would be {table['flops_ratio_per_triple']:.2f}x)")
        print(table["note"])
        return 0
    cost = net_cost(args.arch, args.representation, args.classes, args.size)
    latency = cpu_latency_ms(create_model(args.arch, args.representation, num_classes=args.classes),
                             args.representation, args.size)
    result = {"arch": args.arch, "representation": args.representation, "params": cost.params,
              "flops_per_frame": cost.flops_per_frame, "macs_per_frame": cost.macs_per_frame,
              "flops_per_clip": cost.flops_per_frame * args.segments, "segments_per_clip": args.segments,
              "cpu_latency_ms_per_frame": latency, "size": args.size,
              "note": "FLOPs = 2 x multiply-adds (torch FlopCounterMode); papers quote multiply-adds as FLOPs"}
    print(json.dumps(result, indent=1))
    return 0
