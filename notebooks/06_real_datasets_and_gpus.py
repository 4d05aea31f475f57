# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 06 · Real datasets and GPUs
#
# The same code that trains on the synthetic benchmark takes UCF-101 and HMDB-51. The steps:
#
# 1. download the videos and the official split files (see `data/README.md`),
# 2. `kdlab prepare ucf101 --src UCF-101 --splits ucfTrainTestlist --out data/ucf101`: re-encodes every
#    video as CoViAR does (MPEG-4 Part 2, no B-frames, GOP 12, 340x256), writes the lists in
#    UCF-101's format and builds the representation cache; resumable,
# 3. train with the full-size configs `configs/ucf101/*.toml` on one GPU, or several with
#    `torchrun --nproc_per_node=N -m kdlab train ...`.
#
# Here we run steps 2-3 on a *small real sample* in UCF-101's official layout, made from the clips
# that ship with kdlab (and `../shared/clips` when it is there), so that every command below is real.

# %% tags=["parameters"]
import os

SMOKE = os.environ.get("KDLAB_SMOKE", "0") == "1"

# %%
import shutil
import tempfile
from pathlib import Path

from kdlab.codec.inspect import inspect_video
from kdlab.data.dataset import CompressedVideoDataset
from kdlab.data.prepare import prepare
from kdlab.codec.encode import EncodeSettings
from kdlab.engine.config import load_config
from kdlab.paths import REPO_ROOT, samples_dir

work = Path(tempfile.mkdtemp(prefix="kdlab-real-"))
raw, splits = work / "UCF-101", work / "ucfTrainTestlist"
clips = {"SoccerJuggling": ["v_SoccerJuggling_g23_c01.avi"], "ApplyEyeMakeup": ["v_ApplyEyeMakeup_g01_c01.avi"]}
shared = REPO_ROOT.parent / "shared" / "clips"
if shared.exists() and not SMOKE:
    clips["SoccerJuggling"].append("v_SoccerJuggling_g24_c01.avi")
for name, files in clips.items():
    (raw / name).mkdir(parents=True)
    for f in files:
        source = samples_dir() / f if (samples_dir() / f).exists() else shared / f
        shutil.copy(source, raw / name / f)
splits.mkdir()
(splits / "classInd.txt").write_text("1 ApplyEyeMakeup\r\n2 SoccerJuggling\r\n")
(splits / "trainlist01.txt").write_text("".join(f"{n}/{f} {i + 1}\r\n" for i, n in enumerate(sorted(clips)) for f in clips[n]))
(splits / "testlist01.txt").write_text("".join(f"{n}/{f}\r\n" for n in sorted(clips) for f in clips[n][:1]))
print((splits / "trainlist01.txt").read_text())

# %% [markdown]
# One of these clips (ApplyEyeMakeup, Xvid) has B-frames and an audio track: `prepare` re-encodes it.

# %%
print(inspect_video(raw / "ApplyEyeMakeup" / "v_ApplyEyeMakeup_g01_c01.avi")["frame_type_counts"])
size = dict(width=160, height=128) if SMOKE else {}
report = prepare("ucf101", raw, splits, work / "ucf101", settings=EncodeSettings(**size), workers=2, progress=False)
print(report.summary())
print(sorted(p.name for p in (work / "ucf101").iterdir()))

# %%
dataset = CompressedVideoDataset(work / "ucf101", "trainlist01.txt", ("iframe", "mv", "residual"), num_segments=3,
                                 train=True, size=112, progress=False)
inputs, label, video_id = dataset[0]
print(video_id, dataset.classes[label], {k: tuple(v.shape) for k, v in inputs.items()})

# %% [markdown]
# ## The full-size configs
#
# `configs/ucf101/` holds CoViAR's settings: 224 x 224 inputs, 3 training segments, the 25 x 10 test
# protocol, ImageNet-pretrained backbones trained at 0.01x the learning rate. `pretrained = true`
# needs torchvision's ImageNet weights (downloaded once, or a torch hub cache).

# %%
for name in ("teacher_iframe", "mkd_streams"):
    config = load_config(REPO_ROOT / "configs" / "ucf101" / f"{name}.toml")
    print(name, config.model.arch, config.model.representation, f"{config.data.size}px",
          f"test {config.data.test_segments}x{config.data.test_crops}", f"{config.optim.epochs} epochs",
          config.distill.loss, config.distill.teachers)

# %% [markdown]
# ## On GPUs
#
# One GPU: `kdlab train configs/ucf101/teacher_iframe.toml` (the device is picked automatically).
# Several GPUs on one machine, with DistributedDataParallel and NCCL (gloo on CPUs), each process
# reading its share of the data and rank 0 writing the run folder:
#
# ```bash
# torchrun --nproc_per_node=4 -m kdlab train configs/ucf101/teacher_iframe.toml
# torchrun --nproc_per_node=4 -m kdlab distill configs/ucf101/mkd_streams.toml
# kdlab evaluate runs/ucf101/mkd_streams --segments 25 --crops 10
# ```
#
# Below, the same command on this machine's CPU with two processes, on the small real sample.

# %%
import subprocess
import sys

command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "kdlab",
           "train", f"data.root={work / 'ucf101'}", f"out={work / 'runs' / 'mv'}", "model.arch=resnet18_tiny",
           "model.representation=mv", "data.size=64", "data.batch_size=2", "data.workers=0", "data.test_segments=3",
           "optim.epochs=1", "quiet=true"]
result = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
print(result.stdout[-500:] or result.stderr[-2000:])

# %% [markdown]
# ## What to take away

# %%
from kdlab.engine.runs import RunFolder

run = RunFolder(work / "runs" / "mv")
print(f"- `kdlab prepare` turned {report.videos} real clips (one with B-frames) into CoViAR's format, wrote the lists "
      f"and the cache; {len(report.failed)} failed.")
print(f"- The dataset yields {', '.join(f'{k} {tuple(v.shape)}' for k, v in inputs.items())} per clip.")
print(f"- A 2-process torchrun training finished: {run.is_complete()}, one run folder with "
      f"{len(run.metrics())} epoch row(s), written once by rank 0.")
shutil.rmtree(work, ignore_errors=True)
