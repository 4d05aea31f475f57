"""GPU-ready training, checked on a CPU: mixed precision, channels-last, compile, pinned memory,
ImageNet weights from a local file or torch's hub cache, and ``kdlab bench train`` at test size."""

from __future__ import annotations

import json
import urllib.error

import pytest
import torch
import torchvision

from kdlab.cli import main
from kdlab.data.synthetic import PRESETS, generate
from kdlab.engine import accel, trainer
from kdlab.engine.config import load_config
from kdlab.engine.runs import build_model
from kdlab.errors import ConfigError
from kdlab.models import create_model

BASE = ["data.size=32", "data.num_segments=2", "data.test_segments=2", "data.batch_size=8", "data.workers=0",
        "model.arch=resnet18_tiny", "optim.epochs=1", "quiet=true"]


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    return generate(tmp_path_factory.mktemp("synth") / "tiny", PRESETS["tiny"], workers=1, progress=False)


def _train(synth, tmp_path, name, *extra):
    return trainer.train(load_config(None, BASE + [f"data.root={synth}", f"out={tmp_path / name}", *extra]))


def _losses(run) -> list[float]:
    return [float(v) for row in run.metrics() for k, v in row.items() if k.startswith("loss")]


# -- mixed precision -------------------------------------------------------------------------------

def test_bf16_autocast_trains_on_cpu_close_to_float32_but_not_equal(synth, tmp_path):
    fp32 = _train(synth, tmp_path, "fp32")
    bf16 = _train(synth, tmp_path, "bf16", "optim.amp=bf16")
    assert sorted(p.name for p in bf16.path.iterdir()) == sorted(p.name for p in fp32.path.iterdir())
    assert bf16.summary()["complete"] and bf16.config().optim.amp == "bf16"
    a, b = _losses(fp32), _losses(bf16)
    assert all(torch.isfinite(torch.tensor(b)))
    assert a != b  # the convolutions ran in bf16 (8 bits of mantissa) ...
    assert b == pytest.approx(a, rel=0.05)  # ... yet the same training, seed for seed
    logits = bf16.predictions()["logits"]
    assert logits.dtype.name == "float32" and torch.isfinite(torch.from_numpy(logits)).all()


def test_fp16_run_keeps_its_loss_scale_in_the_checkpoint(synth, tmp_path):
    run = _train(synth, tmp_path, "fp16", "optim.amp=fp16")
    assert all(torch.isfinite(torch.tensor(_losses(run))))
    scaler = torch.load(run.last_checkpoint, weights_only=True)["scaler"]
    assert scaler["scale"] > 1  # 2**16 at the start, halved at each overflow: positive, still large
    assert "scaler" not in torch.load(_train(synth, tmp_path, "off").last_checkpoint, weights_only=True)


def test_autocast_runs_convolutions_in_bf16_and_the_distillers_logits_in_float32():
    from kdlab.distill import Distiller

    net = create_model("resnet18_tiny", "iframe", num_classes=5)
    x = torch.randn(2, 2, 3, 32, 32)
    with accel.autocast(torch.device("cpu"), "bf16"):
        assert net.forward_features(x).dtype == torch.bfloat16
        logits, losses = Distiller(net).train()({"iframe": x}, torch.tensor([0, 3]))
    assert logits.dtype == torch.float32 and losses["loss_ce"].dtype == torch.float32
    with accel.autocast(torch.device("cpu"), "off"):
        assert net.forward_features(x).dtype == torch.float32


def _regression(seed: int = 0):
    torch.manual_seed(seed)
    model = torch.nn.Linear(4, 1)
    return model, torch.optim.SGD(model.parameters(), lr=0.1), torch.randn(8, 4)


def test_grad_scaler_step_equals_a_plain_step_and_clips_the_unscaled_gradient():
    plain, opt, x = _regression()
    accel.backward_step(plain(x).pow(2).mean(), opt, list(plain.parameters()), grad_clip=0.01)
    scaled, opt2, _ = _regression()
    scaler = accel.grad_scaler(opt2, torch.device("cpu"), "fp16")
    assert scaler is accel.grad_scaler(opt2, torch.device("cpu"), "fp16")  # one per optimiser
    accel.backward_step(scaled(x).pow(2).mean(), opt2, list(scaled.parameters()), grad_clip=0.01, scaler=scaler)
    for p, q in zip(plain.parameters(), scaled.parameters()):
        torch.testing.assert_close(p, q)
    assert accel.grad_scaler(opt2, torch.device("cpu"), "bf16") is None  # bf16 needs no scaler


def test_grad_scaler_skips_a_step_with_infinite_gradients_and_halves_its_scale():
    model, opt, x = _regression()
    before = [p.detach().clone() for p in model.parameters()]
    scaler = accel.grad_scaler(opt, torch.device("cpu"), "fp16")
    scale = scaler.get_scale()
    accel.backward_step(model(x).mean() * float("inf"), opt, list(model.parameters()), 0.0, scaler)
    assert all(torch.equal(p, b) for p, b in zip(model.parameters(), before))
    assert scaler.get_scale() == scale / 2


# -- memory format, compile, pinned memory ------------------------------------------------------------

def test_channels_last_changes_the_layout_not_the_function_or_the_keys():
    torch.manual_seed(0)
    ref = create_model("resnet18_tiny", "residual", num_classes=5).eval()
    nhwc = create_model("resnet18_tiny", "residual", num_classes=5).eval()
    nhwc.load_state_dict(ref.state_dict())
    accel.prepare_model(nhwc, channels_last=True)
    assert nhwc.conv1.weight.is_contiguous(memory_format=torch.channels_last)
    assert not ref.conv1.weight.is_contiguous(memory_format=torch.channels_last)
    x = torch.randn(2, 3, 3, 32, 32)
    torch.testing.assert_close(nhwc(x), ref(x), rtol=1e-4, atol=1e-4)
    assert list(nhwc.state_dict()) == list(ref.state_dict())


def test_compile_keeps_parameters_and_checkpoint_keys():
    net = create_model("resnet18_tiny", "mv", num_classes=5)
    keys, forward_features = list(net.state_dict()), net.forward_features
    accel.prepare_model(net, compile=True)  # compiled lazily, at the first call (not made here: slow on a CPU)
    assert net.forward_features is not forward_features and callable(net.forward_features)
    assert list(net.state_dict()) == keys  # no "_orig_mod." prefix: checkpoints load either way


def test_pinned_memory_only_when_a_gpu_receives_the_batches(monkeypatch):
    assert not accel.use_pinned_memory(False, "cuda")
    assert not accel.use_pinned_memory(True, "cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert not accel.use_pinned_memory(True, "auto")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert accel.use_pinned_memory(True, "auto") and accel.use_pinned_memory(True, "cuda:0")


@pytest.mark.parametrize("override, key", [
    ("optim.amp=fp32", "optim.amp"),
    ("optim.amp=true", "optim.amp"),
    ("model.channels_last=1", "model.channels_last"),
    ("model.compile=yes", "model.compile"),
    ("data.pin_memory=on", "data.pin_memory"),
])
def test_bad_values_name_their_key(override, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_config(None, [override])


def test_the_full_size_configs_turn_the_gpu_settings_on_and_the_demo_leaves_them_off():
    for name in ("ucf101", "hmdb51"):
        c = load_config(f"configs/{name}/teacher_iframe.toml")
        assert (c.optim.amp, c.model.channels_last, c.data.pin_memory) == ("bf16", True, True)
    c = load_config("configs/demo/teacher_iframe.toml")
    assert (c.optim.amp, c.model.channels_last, c.data.pin_memory, c.model.compile) == ("off", False, False, False)


# -- ImageNet weights from a file or torch's hub cache ------------------------------------------------

@pytest.fixture(scope="module")
def resnet18_file(tmp_path_factory):
    """torchvision's ResNet-18 (random weights) saved as its ImageNet file would be."""
    torch.manual_seed(1)
    state = torchvision.models.resnet18(weights=None).state_dict()
    path = tmp_path_factory.mktemp("weights") / "resnet18-f37072fd.pth"
    torch.save(state, path)
    return path, state


def _weights_config(path, *extra):
    return load_config(None, ["model.arch=resnet18", "model.pretrained=true", f"model.weights={path}", *extra])


def test_weights_load_from_a_local_file(resnet18_file):
    path, state = resnet18_file
    net = build_model(_weights_config(path, "model.representation=mv"), num_classes=7)
    loaded = net.state_dict()
    torch.testing.assert_close(loaded["layer4.1.conv2.weight"], state["layer4.1.conv2.weight"])
    torch.testing.assert_close(loaded["conv1.weight"], state["conv1.weight"].mean(1, keepdim=True).expand(-1, 2, -1, -1))
    assert net.fc.out_features == 7  # a fresh classifier


def test_weights_wrapped_in_a_checkpoint_with_ddp_prefixes_load_too(resnet18_file, tmp_path):
    path, state = resnet18_file
    wrapped = tmp_path / "ddp.pth"
    torch.save({"state_dict": {f"module.{k}": v for k, v in state.items()}, "epoch": 90}, wrapped)
    net = build_model(_weights_config(wrapped), num_classes=3)
    torch.testing.assert_close(net.state_dict()["layer2.0.bn1.running_var"], state["layer2.0.bn1.running_var"])


def test_weights_of_another_architecture_are_one_error_naming_file_and_architecture(tmp_path):
    other = tmp_path / "resnet34.pth"
    torch.save(torchvision.models.resnet34(weights=None).state_dict(), other)
    tiny = tmp_path / "tiny.pth"
    torch.save({"conv1.weight": torch.zeros(2, 3, 7, 7)}, tiny)
    junk = tmp_path / "notes.pth"
    junk.write_text("not weights")
    for path, what in ((other, "unexpected"), (tiny, "missing"), (junk, "not a PyTorch weights file")):
        with pytest.raises(ConfigError) as err:
            build_model(_weights_config(path), num_classes=3)
        message = str(err.value)
        assert message.startswith(f"model.weights: {path}") and "resnet18" in message and what in message
        assert "\n" not in message


def test_a_weights_file_is_checked_with_the_config():
    with pytest.raises(ConfigError, match=r"model\.weights: expected an existing file"):
        _weights_config("/no/such/resnet152.pth")
    with pytest.raises(ConfigError, match=r"model\.weights: .*model\.pretrained = true"):
        load_config(None, [f"model.weights={__file__}"])


def test_weights_come_from_torchs_hub_cache_without_internet(resnet18_file, tmp_path, monkeypatch):
    path, state = resnet18_file
    cache = tmp_path / "hub" / "checkpoints"
    cache.mkdir(parents=True)
    (cache / path.name).write_bytes(path.read_bytes())  # the file name torchvision downloads to
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    net = create_model("resnet18", "iframe", num_classes=4, pretrained=True)
    torch.testing.assert_close(net.state_dict()["layer3.0.conv1.weight"], state["layer3.0.conv1.weight"])


def test_a_bad_weights_file_through_the_command_line_is_one_line(synth, tmp_path, capsys):
    bad = tmp_path / "resnet152.pth"
    torch.save({"fc.weight": torch.zeros(3, 3)}, bad)
    code = main(["train", *BASE, f"data.root={synth}", f"out={tmp_path / 'run'}", "model.arch=resnet152",
                 "model.pretrained=true", f"model.weights={bad}"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert str(bad) in err and "resnet152" in err and "model.weights" in err


# -- kdlab bench train ---------------------------------------------------------------------------------

def test_bench_train_runs_at_test_size_on_cpu(capsys):
    assert main(["bench", "train", "--small", "--device", "cpu", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["device"] == "cpu" and (r["teacher"], r["student"], r["size"]) == ("resnet152_tiny", "resnet18_tiny", 32)
    assert r["data_clips_per_s"] > 0
    for step in ("teacher_step", "distill_step"):
        assert r[step]["forward_backward_clips_per_s"] > 0 and r[step]["whole_step_clips_per_s"] > 0


def test_bench_train_prints_its_table(capsys):
    assert main(["bench", "train", "--small", "--device", "cpu", "--amp", "bf16", "--steps", "1"]) == 0
    out = capsys.readouterr().out
    assert "amp bf16" in out and "data loading" in out
    assert "teacher resnet152_tiny (I-frame, CE)" in out and "distill resnet18_tiny <- resnet152_tiny (KD, online)" in out


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is here")
def test_bench_train_on_a_missing_gpu_is_one_line(capsys):
    assert main(["bench", "train", "--small", "--device", "cuda"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "device" in err and "no GPU" in err


def test_a_run_started_from_a_weights_file_no_longer_needs_it(synth, tmp_path, resnet18_file):
    path, state = resnet18_file
    local = tmp_path / path.name
    local.write_bytes(path.read_bytes())
    run = _train(synth, tmp_path, "imagenet", "model.arch=resnet18", "model.pretrained=true", f"model.weights={local}",
                 "optim.backbone_lr_mult=0.01", "optim.amp=bf16")
    assert run.summary()["complete"] and all(torch.isfinite(torch.tensor(_losses(run))))
    trained = torch.load(run.last_checkpoint, weights_only=True)["student"]
    # the backbone started from the file and moved little (0.01x the learning rate, one epoch)
    assert (trained["layer4.1.conv2.weight"] - state["layer4.1.conv2.weight"]).abs().max() < 0.05
    local.unlink()  # a trained run's weights are its checkpoint's: the ImageNet file is not read again
    model = run.load_model()
    torch.testing.assert_close(model.state_dict()["layer4.1.conv2.weight"], trained["layer4.1.conv2.weight"])
