"""PKD: early exits attached to a stream network, their loss by hand, their cost, and a progressive chain of runs."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from kdlab.distill import Distiller
from kdlab.engine.profile import frame_flops
from kdlab.errors import ConfigError
from kdlab.losses import build_loss, exit_loss, kd_loss
from kdlab.models import create_model
from kdlab.models.exits import exit_flops


def test_exit_loss_by_hand() -> None:
    y = torch.tensor([0])
    z1, z2 = torch.tensor([[0.0, 0.0]]), torch.tensor([[math.log(3.0), 0.0]])  # p = (1/2, 1/2) and (3/4, 1/4)
    # labels only: mean of CE = (log 2 + log 4/3) / 2
    assert exit_loss([z1, z2], y, None, 1.0).item() == pytest.approx(math.log(8 / 3) / 2)
    # taught by z2 at T = 1: KD(z1, z2) = 3/4 log(3/2) + 1/4 log(1/2), KD(z2, z2) = 0
    kd = 0.75 * math.log(1.5) + 0.25 * math.log(0.5)
    assert exit_loss([z1, z2], y, z2[None], 1.0).item() == pytest.approx(math.log(8 / 3) / 2 + kd / 2)


def make(loss_options=None, teachers=1):
    torch.manual_seed(0)
    student = create_model("resnet18_tiny", "residual", num_classes=5)
    teacher_nets = [create_model("resnet18_tiny", "mv", num_classes=5) for _ in range(teachers)]
    return Distiller(student, teacher_nets, build_loss("pkd", **(loss_options or {})))


def inputs(batch=3, segments=2, size=32):
    g = torch.Generator().manual_seed(1)
    return {"residual": torch.randn(batch, segments, 3, size, size, generator=g),
            "mv": torch.randn(batch, segments, 2, size, size, generator=g)}


def test_exits_match_the_formula_and_leave_the_network_unchanged() -> None:
    distiller = make({"exit_weight": 0.5, "temperature": 2.0})
    plain = create_model("resnet18_tiny", "residual", num_classes=5)
    assert distiller.student.state_dict().keys() == plain.state_dict().keys()
    x, y = inputs(), torch.tensor([0, 1, 4])
    logits, losses = distiller.forward_train(x, y)
    assert set(losses) == {"loss_ce", "loss_kd", "loss_exit"}
    # the exits by hand: stage outputs, global average pool, linear, mean over the 2 segments
    s, heads = distiller.student, distiller.loss_module.heads
    with torch.no_grad():
        frames = x["residual"].reshape(-1, 3, 32, 32)
        h = s.maxpool(s.relu(s.bn1(s.conv1(s.data_bn(frames)))))
        exits = []
        for stage in ("layer1", "layer2", "layer3"):
            h = getattr(s, stage)(h)
            exits.append((h.mean((2, 3)) @ heads[stage].fc.weight.T + heads[stage].fc.bias).reshape(3, 2, 5).mean(1))
        z_t = distiller.teachers[0](x["mv"])
    expected = np.mean([F.cross_entropy(z, y).item() + kd_loss(z, z_t, 2.0).item() for z in exits])
    assert losses["loss_exit"].item() == pytest.approx(0.5 * expected, rel=1e-4)
    assert losses["loss_kd"].item() == pytest.approx(kd_loss(logits, z_t, 2.0).item(), rel=1e-5)
    sum(losses.values()).backward()
    learnable = {id(p) for p in distiller.learnable_parameters()}
    assert all(id(p) in learnable and p.grad is not None for p in heads.parameters())


def test_the_first_stage_trains_without_a_teacher() -> None:
    distiller = make({"exits": ["layer3", "layer2"]}, teachers=0)
    _, losses = distiller.forward_train(inputs(), torch.tensor([0, 1, 4]))
    assert set(losses) == {"loss_ce", "loss_exit"} and distiller.loss_module.exit_names == ["layer2", "layer3"]


def test_exit_costs_grow_with_depth_and_end_at_the_network_cost() -> None:
    distiller = make()
    costs = exit_flops(distiller.student, dict(distiller.loss_module.heads.items()), 64)
    assert costs == sorted(costs) and len(set(costs)) == 4
    assert costs[-1] == frame_flops(distiller.student, "residual", 64)


def test_bad_exits_fail_clearly() -> None:
    with pytest.raises(ConfigError, match="exits"):
        build_loss("pkd", exits=["layer4"])
    with pytest.raises(ConfigError, match="ResNet stages"):
        Distiller(create_model("mobilenet_v3_small_tiny", "mv", num_classes=5), [], build_loss("pkd"))


def test_a_progressive_chain_of_runs_writes_its_exits(tmp_path) -> None:
    from kdlab.data.synthetic import PRESETS, generate
    from kdlab.engine import trainer
    from kdlab.engine.config import load_config

    synth = generate(tmp_path / "tiny", PRESETS["tiny"], workers=1, progress=False)
    base = [f"data.root={synth}", "data.size=32", "data.test_segments=2", "data.batch_size=8", "data.workers=0",
            "model.arch=resnet18_tiny", "optim.epochs=1", "quiet=true", "distill.loss=pkd"]
    mv = trainer.train(load_config(None, [*base, "model.representation=mv", f"out={tmp_path / 'pkd_mv'}"]))
    residual = trainer.train(load_config(None, [*base, "model.representation=residual", f"out={tmp_path / 'pkd_r'}",
                                                f"distill.teachers={json.dumps([str(mv.path)])}"]))
    assert "loss_exit" in mv.metrics()[0] and "loss_kd" not in mv.metrics()[0] and "loss_kd" in residual.metrics()[0]
    for run in (mv, residual):
        with np.load(run.path / "exits.npz") as e:
            pred = run.predictions()
            assert e["names"].tolist() == ["layer1", "layer2", "layer3", "final"]
            assert e["logits"].shape == (4, *pred["logits"].shape) and e["val_logits"].shape == (4, *pred["val_logits"].shape)
            np.testing.assert_allclose(e["logits"][-1], pred["logits"], atol=1e-5)  # the final head: the run's own logits
            assert e["val_video_ids"].tolist() == pred["val_video_ids"].tolist()
            assert list(e["flops_per_frame"]) == sorted(e["flops_per_frame"])
    # every exit an output of the learned fusion, fitted on the validation groups only
    from kdlab.cli import main
    from kdlab.engine.learned_fusion import apply_fusion, fit_fusion
    from kdlab.engine.runs import RunFolder

    assert main(["fuse", str(residual.path), str(mv.path), "--out", str(tmp_path / "f"), "--learn", "--exits"]) == 0
    summary = RunFolder(tmp_path / "f").summary()
    assert summary["method"] == "learned_exits" and len(summary["weights"]) == 8
    assert summary["outputs"][:4] == ["pkd_r:layer1", "pkd_r:layer2", "pkd_r:layer3", "pkd_r:final"]
    with np.load(residual.path / "exits.npz") as r, np.load(mv.path / "exits.npz") as m:
        fit = fit_fusion(np.concatenate([r["val_logits"], m["val_logits"]]), r["val_labels"])
        fused = apply_fusion(np.concatenate([r["logits"], m["logits"]]), fit["weights"], fit["temperatures"])
        labels = r["labels"]
    np.testing.assert_allclose(summary["weights"], fit["weights"], rtol=1e-6)
    assert summary["test"]["top1"] == pytest.approx(100 * (fused.argmax(1) == labels).mean())
    assert main(["fuse", str(mv.path), "--out", str(tmp_path / "g"), "--exits"]) == 2
