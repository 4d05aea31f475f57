"""``kdlab bench codec | data | train | distill``: measured speed figures (see :mod:`kdlab.bench`)."""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from kdlab.cli.arguments import bounded_int


def register(subparsers) -> None:
    p = subparsers.add_parser("bench", help="benchmarks: codec (decode, extraction, flow, sample reads), data (cache vs seeking "
                       "vs decoding), train (GPU step: loading, forward/backward, whole step), distill (KD epoch cost)")
    sub = p.add_subparsers(dest="bench", metavar="WHAT", required=True)
    c = sub.add_parser("codec", help="frames per second of decoding, extraction and Farneback flow; sample read time")
    c.add_argument("video", nargs="?", help="a video (default: a bundled sample re-encoded to 340x256)")
    c.add_argument("--repeats", type=int, default=5, help="runs of each measurement; the fastest counts (default 5)")
    c.add_argument("--json", action="store_true")
    c.set_defaults(handler=_codec)
    d = sub.add_parser("data", help="training samples/s of the cache, GOP-seeking and whole-clip decoding loaders, side by side")
    d.add_argument("root", nargs="?", help="a dataset folder (its cache and index are built there; default: real clips "
                   "re-encoded at 340x256 in a temp folder)")
    d.add_argument("--clips", default=None, help="without ROOT: a folder of clips (default: the bundled samples; with a "
                   "labels.csv, its UCF-101 and HMDB-51 clips)")
    d.add_argument("--dataset", action="append", choices=("UCF-101", "HMDB-51"), default=None,
                   help="with --clips and a labels.csv: take only this data set's clips (repeatable; default both)")
    d.add_argument("--list", default="trainlist01.txt")
    d.add_argument("--size", type=bounded_int(16), default=112)
    d.add_argument("--workers", type=bounded_int(0), default=2, help="DataLoader workers (default 2; 0 reads in this process)")
    d.add_argument("--samples", type=bounded_int(1), default=640, help="timed samples of the cache and seek loaders (whole-clip "
                   "decoding: 2/5 of them, at least 4 batches; default 640)")
    d.add_argument("--batch", type=bounded_int(1), default=32, help="samples per batch (default 32; the ucf101 configs use 40-80)")
    d.add_argument("--json", action="store_true")
    d.set_defaults(handler=_data)
    t = sub.add_parser("train", help="clips/s of data loading, forward/backward and whole step: ResNet-152 teacher, "
                       "ResNet-18 student, 224 px (GPU)")
    t.add_argument("root", nargs="?", help="a dataset folder (default: a synthetic one, generated in a temp folder)")
    t.add_argument("--device", default=None, help="auto (default), cuda, cuda:N or cpu")
    t.add_argument("--small", action="store_true", help="CPU test size: tiny networks, 32 px, batch 2, no workers")
    t.add_argument("--size", type=bounded_int(16), default=None, help="input side (default 224)")
    t.add_argument("--batch", type=bounded_int(1), default=None, help="clips per batch (default 32; halved until it fits)")
    t.add_argument("--segments", type=bounded_int(1), default=None, help="TSN segments per clip (default 3)")
    t.add_argument("--teacher", default=None, help="the I-frame teacher (default resnet152)")
    t.add_argument("--student", default=None, help="the student (default resnet18)")
    t.add_argument("--steps", type=bounded_int(1), default=None, help="timed steps of each kind (default 10)")
    t.add_argument("--workers", type=bounded_int(0), default=None, help="DataLoader workers (default 8)")
    t.add_argument("--amp", choices=("bf16", "fp16", "off"), default=None, help="mixed precision (default bf16; off on a CPU)")
    t.add_argument("--channels-last", dest="channels_last", action=argparse.BooleanOptionalAction, default=None,
                   help="NHWC memory format (default on)")
    t.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None, help="torch.compile (default off)")
    t.add_argument("--json", action="store_true")
    t.set_defaults(handler=_train)
    k = sub.add_parser("distill", help="a KD epoch with 3 stored (offline) or online teachers against a CE epoch")
    k.add_argument("root", nargs="?", default=None, help="a dataset folder (default: the demo's, data/synthetic/default)")
    k.add_argument("overrides", nargs="*", metavar="KEY=VALUE")
    k.add_argument("--json", action="store_true")
    k.set_defaults(handler=_distill)


def _codec(args) -> int:
    from kdlab.bench.codec import run
    from kdlab.codec import reencode_file
    from kdlab.paths import sample_path

    with tempfile.TemporaryDirectory() as tmp:
        video = args.video or reencode_file(sample_path("v_SoccerJuggling_g23_c01.avi"), Path(tmp) / "clip.mp4")
        results = run(video, repeats=args.repeats)
    if args.json:
        print(json.dumps(results, indent=1))
        return 0
    goals = results["goals"]
    flow = results["farneback_fps"]
    print(f"video: {results['video']} ({results['frames']} frames)")
    print(f"(a) PyAV decode to RGB           {results['decode_fps']:8.0f} frames/s (PyAV defaults); "
          f"(a') as kdlab's reader decodes {results['decode_as_reader_fps']:.0f} (CPU {results['decode_as_reader_cpu_ms']:.2f} ms/frame)")
    print(f"(b) kdlab extraction, accumulated {results['extract_compact_fps']:8.0f} frames/s (int8 store precision; "
          f"CPU {results['extract_compact_cpu_ms']:.2f} ms/frame); exact int16 {results['extract_exact_fps']:.0f}; "
          f"per-frame (no accumulation) {results['extract_no_accumulate_fps']:.0f}")
    print("(c) OpenCV Farneback flow         " + (f"{flow:8.0f} frames/s" if flow else "  (pip install kdlab[bench])"))
    print(f"(d) one sample from the store     {results['sample_read_ms']:8.3f} ms")
    print(f"(b)/(a) = {goals['extract_vs_decode']:.2f} (goal >= 0.6); (b)/(a') = {goals['extract_vs_decode_as_reader']:.2f}" + (
        f"   (b)/(c) = {goals['extract_vs_farneback']:.1f} (goal >= 20)" if flow else ""))
    return 0


def _data(args) -> int:
    from kdlab.bench.data import BENCH_DATASETS, LOADERS, real_clip_dataset, run
    from kdlab.paths import samples_dir

    with tempfile.TemporaryDirectory() as tmp:
        clips = Path(args.clips) if args.clips else samples_dir()
        root = args.root or real_clip_dataset(clips, Path(tmp) / "clips", args.workers, tuple(args.dataset or BENCH_DATASETS))
        results = run(root, args.list, args.size, args.workers, args.samples, args.batch)
    if args.json:
        print(json.dumps(results, indent=1))
        return 0
    goals, frames, mib = results["goals"], results["frames"], 2**20
    print(f"dataset: {results['root']} ({results['videos']} videos, {frames} frames; {results['workers']} workers, "
          f"batches of {results['batch_size']}, {results['size']} px, I-frame + MV + residual x 3 segments)")
    labels = {"cache": "cache (stored representations)", "seek": "seek (decode the GOPs)", "decode": "decode the whole clip"}
    for loader in LOADERS:
        rate = results[f"{loader}_samples_per_s"]
        print(f"{labels[loader]:32s} {rate:8.1f} samples/s  ({rate / max(results['workers'], 1):6.1f} per worker)  "
              f"CPU {results[f'{loader}_cpu_ms_per_sample']:6.1f} ms/sample")
    print(f"seek / cache  = {goals['seek_vs_cache']:.2f} samples/s, {goals['seek_vs_cache_cpu']:.2f} CPU (goal >= 0.33); "
          f"seek / decode = {goals['seek_vs_decode']:.1f}x samples/s, {goals['seek_vs_decode_cpu']:.1f}x CPU (goal >= 10x)")
    print("CPU ms a sample by video (one process): whole-clip decoding grows with the clip, seeking does not")
    print(f"  {'frames':>6s} {'cache':>6s} {'seek':>6s} {'decode':>7s} {'decode/seek':>11s}  video")
    for v in sorted(results["per_video"], key=lambda v: v["frames"]):
        print(f"  {v['frames']:6d} {v['cache_cpu_ms']:6.1f} {v['seek_cpu_ms']:6.1f} {v['decode_cpu_ms']:7.1f} "
              f"{v['decode_cpu_ms'] / v['seek_cpu_ms']:10.1f}x  {v['video']}")
    print(f"disk: videos {results['videos_bytes'] / mib:.1f} MiB ({results['videos_bytes'] / frames / 1024:.1f} KiB/frame), "
          f"index {results['index_bytes'] / 1024:.1f} KiB ({100 * goals['index_share_of_videos']:.2f} % of the videos, goal < 1 %), "
          f"cache {results['cache_bytes'] / mib:.1f} MiB ({results['cache_bytes'] / results['videos_bytes']:.0f}x the videos)")
    return 0


def _distill(args) -> int:
    from kdlab.bench.distill import run
    from kdlab.paths import home

    results = run(args.root or home() / "data" / "synthetic" / "default", args.overrides)
    if args.json:
        print(json.dumps(results, indent=1))
        return 0
    print(f"one epoch of the I-frame student ({results['train_videos']} videos), teachers {', '.join(results['teachers'])}")
    print(f"cross-entropy alone          {results['ce_epoch_s']:6.2f} s")
    print(f"3 stored teachers (offline)  {results['offline_kd_epoch_s']:6.2f} s  = {results['offline_ratio']:.2f}x (goal <= 1.15x)"
          f"; storing their logits once took {results['storing_teacher_logits_s']:.1f} s")
    print(f"3 teachers run online        {results['online_kd_epoch_s']:6.2f} s  = {results['online_ratio']:.2f}x")
    return 0


def _train(args) -> int:
    from kdlab.bench.train import run

    given = {k: getattr(args, k) for k in ("device", "size", "batch", "segments", "teacher", "student", "steps",
                                           "workers", "amp", "channels_last", "compile") if getattr(args, k) is not None}
    r = run(args.root, small=args.small, **given)
    if args.json:
        print(json.dumps(r, indent=1))
        return 0
    layout = "channels_last" if r["channels_last"] else "NCHW"
    print(f"kdlab bench train on {r['device']} ({r['device_name']}, torch {r['torch']}): {r['size']} px, {r['segments']} segments, "
          f"batch {r['batch']}, amp {r['amp']}, {layout}, compile {'on' if r['compile'] else 'off'}")
    print(f"data loading ({r['workers']} workers, {r['root']})  {r['data_clips_per_s']:9.1f} clips/s "
          f"(first batch after {r['first_batch_s']:.1f} s)")
    print(f"{'step':52} {'forward/backward':>17} {'whole step':>15} {'GPU memory':>11}")
    for key, label in (("teacher_step", f"teacher {r['teacher']} (I-frame, CE)"),
                       ("distill_step", f"distill {r['student']} <- {r['teacher']} (KD, online)")):
        x = r[key]
        memory = f"{x['peak_memory_gib']:8.1f} GiB" if x["peak_memory_gib"] is not None else "          -"
        print(f"{label:52} {x['forward_backward_clips_per_s']:9.1f} clips/s {x['whole_step_clips_per_s']:7.1f} clips/s {memory}")
    slow = [k.split("_")[0] for k in ("teacher_step", "distill_step")  # loading is the bottleneck
            if r[k]["whole_step_clips_per_s"] < 0.8 * r[k]["forward_backward_clips_per_s"] > r["data_clips_per_s"]]
    if slow:
        print(f"{' and '.join(slow)} step: the whole step is well below forward/backward, so the device waits "
              "for data; more data.workers (--workers) would help")
    return 0
