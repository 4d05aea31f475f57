# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 06 · Real datasets and GPUs
#
# *kdlab book, notebook 6 of 6* · previous: [05 · How to combine teachers, and what matters](05_aggregation_and_ablations.ipynb) ·
# back to the start: [01 · What is inside an MPEG-4 file](01_compressed_video.ipynb)
#
# The same code that trains on the synthetic benchmark takes UCF-101 and HMDB-51. This notebook runs every
# step on a *small real sample* in UCF-101's official layout, made from the clips that ship with kdlab (and
# `../shared/clips` when it is there), so that every command below is real, and ends with a two-process
# distributed training on this machine's CPU.
#
# **You will learn to**
# * lay a dataset out as UCF-101 does (class folders, `classInd.txt`, train and test lists) and prepare it with
#   `kdlab prepare`: re-encoding to CoViAR's format, the lists, the representation cache;
# * read what the data loader hands a network (segments, representations, shapes);
# * read the full-size configs (CoViAR's settings) and start a distributed run with `torchrun`;
# * check that a command you ran finished, from its return code and its run folder, not from its silence.
#
# **Prerequisites**: [notebook 01](01_compressed_video.ipynb) (re-encoding, B-frames) and
# [03](03_single_vs_multi_teacher.ipynb) (what a run folder holds). **Run time** on a 2-core CPU: about 20 s
# (SMOKE mode, smaller frames: about 15 s). The steps for the real datasets:
#
# 1. download the videos and the official split files (see `data/README.md`),
# 2. `kdlab prepare ucf101 --src UCF-101 --splits ucfTrainTestlist --out data/ucf101`: re-encodes every video as
#    CoViAR does (MPEG-4 Part 2, no B-frames, GOP 12, 340x256), writes the lists in UCF-101's format and builds
#    the representation cache; resumable,
# 3. train with the full-size configs `configs/ucf101/*.toml` on one GPU, or several with
#    `torchrun --nproc_per_node=N -m kdlab train ...`.

# %% tags=["parameters"]
import os

SMOKE = os.environ.get("KDLAB_SMOKE", "0") == "1"
STATIC = SMOKE or os.environ.get("KDLAB_STATIC", "0") == "1"  # no live kernel (tests, the book): sliders are Plotly's

# %%
import shutil
import tempfile
from pathlib import Path

from kdlab.codec.inspect import inspect_video
from kdlab.data.cache import CacheSettings
from kdlab.data.dataset import CompressedVideoDataset
from kdlab.data.prepare import prepare
from kdlab.codec.encode import EncodeSettings
from kdlab.data.splits import read_class_index, read_list
from kdlab.engine.config import load_config
from kdlab.engine.runs import RunFolder
from kdlab.figures import channels_figure, interactive_figure
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
# cache=...: also the representation cache (`kdlab prepare --cache`); without it, the videos and their key-frame
# index are all that `data.loader = "seek"` reads
report = prepare("ucf101", raw, splits, work / "ucf101", settings=EncodeSettings(**size), cache=CacheSettings(),
                 workers=2, progress=False)
print(report.summary())
print(sorted(p.name for p in (work / "ucf101").iterdir()))

# %%
dataset = CompressedVideoDataset(work / "ucf101", "trainlist01.txt", ("iframe", "mv", "residual"), num_segments=3,
                                 train=True, size=112, progress=False)
inputs, label, video_id = dataset[0]
print(video_id, dataset.classes[label], {k: tuple(v.shape) for k, v in inputs.items()})

# %% [markdown]
# Each item is one clip: per representation a tensor `(segments, channels, size, size)`, here 3 TSN segments
# (one random P-frame in each third of the clip; the I-frame of its GOP for the I-frame network), cropped,
# possibly flipped, resized and normalised as CoViAR does.
#
# **Try this.** Step through the segments of this real clip and see the motion network's two input channels
# (+-0.5 is 20 px of accumulated motion, notebook 01).

# %%
def motion_input(segment):
    mv = inputs["mv"][segment].numpy()
    return channels_figure({"motion x": mv[0], "motion y": mv[1]}, zmin=-0.5, zmax=0.5,
                           title=f"{video_id}: segment {segment}, the motion network's input")


interactive_figure(motion_input, {"segment": list(range(inputs["mv"].shape[0]))}, value={"segment": 0}, static=STATIC)

# %% [markdown]
# ### Exercise 1
# Read the lists you wrote back with `kdlab.data.splits` (`read_class_index`, `read_list`): how many training
# and test clips, and which labels? Then add a third class `Basketball` to `classInd.txt` by hand (in a copy)
# and check that a training line with label 4 is refused with a clear message.

# %% tags=["solution"] jupyter={"source_hidden": true, "outputs_hidden": true}
# Solution. The readers name the file and the line of any error.
from kdlab.errors import KdlabError

class_names = read_class_index(splits / "classInd.txt")
train_records = read_list(splits / "trainlist01.txt", class_names)
print(class_names, [(r.relpath, r.label) for r in train_records])
bad = work / "bad_list.txt"
bad.write_text("Basketball/v_Basketball_g01_c01.avi 4\r\n")
try:
    read_list(bad, [*class_names, "Basketball"])
    raise AssertionError("label 4 of 3 classes was accepted")
except KdlabError as error:
    print(error)

# %% [markdown]
# ### Exercise 2
# The cache stores, per frame, int8 motion (2 values a pixel) and int8 residual (3 values a pixel), and per GOP
# the uint8 I-frame (3 a pixel). How many bytes per frame is that at this sample's size, and at 340x256? Compare
# with the cache files `prepare` just wrote.

# %% tags=["solution"] jupyter={"source_hidden": true, "outputs_hidden": true}
# Solution. 5 bytes a pixel per frame, plus 3 bytes a pixel per GOP of 12 frames.
from kdlab.codec import store

entries = sorted((work / "ucf101").rglob("*.kdv"))  # one folder per video: memory-mapped arrays and meta.json
on_disk = sum(f.stat().st_size for entry in entries for f in entry.rglob("*") if f.is_file())
stored = [store.load(entry) for entry in entries]
frames = sum(r.num_frames for r in stored)
width_px, height_px = stored[0].width, stored[0].height
per_frame = (5 + 3 / 12) * width_px * height_px
print(f"{width_px}x{height_px}: {per_frame / 1e3:.0f} kB per frame by hand, {on_disk / frames / 1e3:.0f} kB on disk; "
      f"at 340x256: {(5 + 3 / 12) * 340 * 256 / 1e3:.0f} kB, so about {2.5e6 * (5 + 3 / 12) * 340 * 256 / 1e12:.1f} TB "
      "for UCF-101's 2.5 M frames")

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
run = RunFolder(work / "runs" / "mv")
# a command that prints nothing may still have failed: check its return code and what it left behind
assert result.returncode == 0, f"torchrun exited with {result.returncode}:\n{result.stderr[-3000:]}"
assert run.is_complete() and len(run.metrics()) == 1 and run.predictions_file.exists(), "a complete run folder"

# %% [markdown]
# ### Exercise 3
# Under `torchrun --nproc_per_node=N`, each process reads its share of the training list through a
# `DistributedSampler`. With UCF-101's split 1 (9537 training clips), 4 GPUs and a batch of 32 per process, how
# many steps does an epoch take, and how many clips does each process see? Check with the sampler itself.

# %% tags=["solution"] jupyter={"source_hidden": true, "outputs_hidden": true}
# Solution. Each process gets ceil(9537 / 4) = 2385 clips (the sampler pads by repeating a few), so
# ceil(2385 / 32) = 75 steps; the effective batch is 4 x 32 = 128.
import math

from torch.utils.data.distributed import DistributedSampler

shares = [len(list(DistributedSampler(range(9537), num_replicas=4, rank=r, shuffle=True, seed=0))) for r in range(4)]
print(f"clips per process {shares}, steps per epoch {math.ceil(shares[0] / 32)}")
assert shares == [math.ceil(9537 / 4)] * 4

# %% [markdown]
# ## What to take away

# %%
print(f"- `kdlab prepare` turned {report.videos} real clips (one with B-frames) into CoViAR's format, wrote the lists "
      f"and the cache; {len(report.failed)} failed.")
print(f"- The dataset yields {', '.join(f'{k} {tuple(v.shape)}' for k, v in inputs.items())} per clip.")
print(f"- A 2-process torchrun training exited with code {result.returncode} and left a complete run folder "
      f"({len(run.metrics())} epoch row, test predictions), written once by rank 0.")
print("- Check what you run: its return code and the files it must leave, not only its printed output.")
shutil.rmtree(work, ignore_errors=True)

# %% [markdown]
# ## References
#
# * K. Soomro, A. R. Zamir, M. Shah. *UCF101: A dataset of 101 human action classes from videos in the wild.*
#   2012. [arXiv:1212.0402](https://arxiv.org/abs/1212.0402).
# * H. Kuehne, H. Jhuang, E. Garrote, T. Poggio, T. Serre. *HMDB: A large video database for human motion
#   recognition.* ICCV 2011. [doi:10.1109/ICCV.2011.6126543](https://doi.org/10.1109/ICCV.2011.6126543).
# * C.-Y. Wu et al. *Compressed Video Action Recognition.* CVPR 2018. [arXiv:1712.00636](https://arxiv.org/abs/1712.00636)
#   (the re-encoding, the 25 x 10 test protocol).
# * L. Wang et al. *Temporal Segment Networks.* ECCV 2016. [arXiv:1608.00859](https://arxiv.org/abs/1608.00859)
#   (segment sampling).
# * S. Li et al. *PyTorch Distributed: Experiences on Accelerating Data Parallel Training.* VLDB 2020.
#   [arXiv:2006.15704](https://arxiv.org/abs/2006.15704) (DistributedDataParallel).
# * M.-C. Wu, C.-T. Chiu. *Multi-teacher knowledge distillation for compressed video action recognition based on
#   deep learning.* J. Systems Architecture 103 (2020) 101695. [doi:10.1016/j.sysarc.2019.101695](https://doi.org/10.1016/j.sysarc.2019.101695).
#
# Back to the start: [01 · What is inside an MPEG-4 file](01_compressed_video.ipynb).
