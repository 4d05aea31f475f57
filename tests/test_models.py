"""Tests of kdlab.models: the registry, the TSN contract, torchvision parity, stems, pretrained loading, fusion."""

from __future__ import annotations

import urllib.error

import numpy as np
import pytest
import torch
import torchvision

from kdlab.errors import ConfigError
from kdlab.models import COVIAR_FUSION_WEIGHTS, IN_CHANNELS, REPRESENTATIONS, create_model, late_fusion, list_models
from kdlab.models import stems

NUM_CLASSES = 7
FULL_SIZE = ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "mobilenet_v3_small", "mobilenet_v3_large"]


def n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def clip(representation: str, batch: int = 2, segments: int = 2, size: int = 32) -> torch.Tensor:
    return torch.randn(batch, segments, IN_CHANNELS[representation], size, size)


@pytest.mark.parametrize("representation", REPRESENTATIONS)
@pytest.mark.parametrize("name", list_models())
def test_contract(name: str, representation: str) -> None:
    torch.manual_seed(0)
    model = create_model(name, representation=representation, num_classes=NUM_CLASSES).eval()
    assert (model.arch, model.representation, model.num_classes) == (name, representation, NUM_CLASSES)
    x = clip(representation)
    with torch.no_grad():
        logits = model(x)
        feats = model.forward_features(x)
        head = model.forward_head(feats, num_segments=2)
        single = model(x[:, 0])  # (B, C, H, W) reads as T = 1
    assert logits.shape == (2, NUM_CLASSES)
    assert feats.dim() == 4 and feats.shape[:2] == (4, model.num_features)
    torch.testing.assert_close(head, logits)
    assert single.shape == (2, NUM_CLASSES)
    assert isinstance(model.get_classifier(), torch.nn.Linear)
    assert model.get_classifier().out_features == NUM_CLASSES


def test_tsn_consensus_is_the_mean_of_segment_logits() -> None:
    model = create_model("resnet18_tiny", "residual", num_classes=NUM_CLASSES).eval()
    x = clip("residual", segments=3)
    with torch.no_grad():
        per_segment = torch.stack([model(x[:, t]) for t in range(3)]).mean(0)
        torch.testing.assert_close(model(x), per_segment)


def test_list_models_is_sorted_and_holds_the_required_families() -> None:
    names = list_models()
    assert names == sorted(names)
    for required in FULL_SIZE + ["resnet18_narrow", "resnet18_tiny", "resnet152_tiny", "mobilenet_v3_small_tiny"]:
        assert required in names


@pytest.mark.parametrize("name", FULL_SIZE)
def test_full_size_iframe_nets_equal_torchvision(name: str) -> None:
    ours = create_model(name, "iframe", num_classes=1000)
    theirs = getattr(torchvision.models, name)(weights=None)
    assert n_params(ours) == n_params(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert all(a.shape == b.shape for a, b in zip(ours.state_dict().values(), theirs.state_dict().values()))


@pytest.mark.parametrize("name", ["resnet18", "resnet50", "mobilenet_v3_small", "resnet18_tiny"])
def test_stems_differ_by_the_expected_parameters(name: str) -> None:
    iframe, mv, residual = (create_model(name, rep, num_classes=10) for rep in ("iframe", "mv", "residual"))
    first = iframe.conv1 if hasattr(iframe, "conv1") else iframe.features[0][0]
    kernel = first.out_channels * first.kernel_size[0] * first.kernel_size[1]
    assert n_params(mv) == n_params(iframe) - kernel + 2 * 2  # one input channel less; BatchNorm2d(2)
    assert n_params(residual) == n_params(iframe) + 2 * 3  # BatchNorm2d(3)
    assert isinstance(mv.data_bn, torch.nn.BatchNorm2d) and mv.data_bn.num_features == 2
    assert isinstance(iframe.data_bn, torch.nn.Identity)


def test_width_and_depth_are_kwargs_of_the_same_code() -> None:
    tiny = create_model("resnet50_tiny")
    assert type(tiny) is type(create_model("resnet50"))
    assert tiny.conv1.out_channels == 8 and tiny.num_features == 8 * 8 * 4
    wide = create_model("resnet18_tiny", width_mult=0.25)
    assert wide.conv1.out_channels == 16
    shallow = create_model("resnet18", layers=[1, 1, 1, 1])
    assert [len(getattr(shallow, f"layer{i}")) for i in range(1, 5)] == [1, 1, 1, 1]
    assert create_model("resnet18_narrow").conv1.out_channels == 32
    assert create_model("mobilenet_v3_small_tiny").num_features < create_model("mobilenet_v3_small").num_features


def test_unknown_names_raise_config_error_listing_choices() -> None:
    with pytest.raises(ConfigError, match="resnet18_tiny") as err:
        create_model("resnet9000")
    assert "resnet9000" in str(err.value)
    with pytest.raises(ConfigError, match="iframe, mv, residual") as err:
        create_model("resnet18_tiny", representation="optical_flow")
    assert "optical_flow" in str(err.value)
    with pytest.raises(ConfigError, match="width_mult, layers, drop_rate") as err:
        create_model("resnet18_tiny", widht_mult=0.5)
    assert "widht_mult" in str(err.value)


def test_wrong_input_channels_are_reported() -> None:
    model = create_model("resnet18_tiny", "mv")
    with pytest.raises(ValueError, match="mv"):
        model(torch.randn(1, 2, 3, 32, 32))


@pytest.fixture
def fake_imagenet(monkeypatch: pytest.MonkeyPatch) -> dict[str, dict[str, torch.Tensor]]:
    """Serve torchvision's randomly initialised networks as if they were the downloaded ImageNet weights."""
    served: dict[str, dict[str, torch.Tensor]] = {}

    def fetch(tv_name: str) -> dict[str, torch.Tensor]:
        served[tv_name] = getattr(torchvision.models, tv_name)(weights=None).state_dict()
        return dict(served[tv_name])

    monkeypatch.setattr(stems, "fetch_torchvision_state_dict", fetch)
    return served


@pytest.mark.parametrize(
    "name, conv1, inner",
    [
        ("resnet18", "conv1.weight", "layer3.1.conv2.weight"),
        ("mobilenet_v3_small", "features.0.0.weight", "classifier.0.weight"),
    ],
)
def test_pretrained_loads_weights_and_averages_the_rgb_kernel_for_mv(fake_imagenet, name, conv1, inner) -> None:
    mv = create_model(name, "mv", num_classes=10, pretrained=True)
    state, loaded = fake_imagenet[name], mv.state_dict()
    expected = state[conv1].mean(dim=1, keepdim=True).expand(-1, 2, -1, -1)
    torch.testing.assert_close(loaded[conv1], expected)
    torch.testing.assert_close(loaded[inner], state[inner])
    assert mv.get_classifier().out_features == 10  # a fresh classifier, as CoViAR
    iframe = create_model(name, "iframe", num_classes=10, pretrained=True)
    torch.testing.assert_close(iframe.state_dict()[conv1], fake_imagenet[name][conv1])


def test_pretrained_needs_full_size(fake_imagenet) -> None:
    with pytest.raises(ConfigError, match="width_mult"):
        create_model("resnet18_tiny", pretrained=True)


def test_pretrained_without_internet_raises_config_error(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torchvision.models._api, "load_state_dict_from_url", offline)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(ConfigError, match="internet"):
        create_model("resnet18", "mv", pretrained=True)


def test_late_fusion_is_coviars_weighted_sum() -> None:
    rng = np.random.default_rng(0)
    s = {rep: rng.normal(size=(4, 5)) for rep in REPRESENTATIONS}
    fused = late_fusion(s)
    assert isinstance(fused, np.ndarray)
    np.testing.assert_allclose(fused, 2 * s["iframe"] + s["mv"] + s["residual"])
    t = {k: torch.from_numpy(v) for k, v in s.items()}
    fused_t = late_fusion(t, COVIAR_FUSION_WEIGHTS)
    assert isinstance(fused_t, torch.Tensor)
    np.testing.assert_allclose(fused_t.numpy(), fused)
    np.testing.assert_allclose(late_fusion([s["iframe"], s["mv"]], [0.5, 3.0]), 0.5 * s["iframe"] + 3 * s["mv"])


def test_late_fusion_missing_weight_raises() -> None:
    scores = {"iframe": np.zeros((2, 3)), "flow": np.zeros((2, 3))}
    with pytest.raises(ConfigError, match="flow"):
        late_fusion(scores)
    with pytest.raises(ConfigError):
        late_fusion([np.zeros((2, 3))] * 3, [1.0, 1.0])


def test_zero_init_residual_starts_every_block_as_the_identity():
    import torch
    from torchvision.models.resnet import BasicBlock, Bottleneck

    from kdlab.engine.config import load_config
    from kdlab.errors import ConfigError

    for arch in ("resnet18_tiny", "resnet50_tiny"):
        model = create_model(arch, representation="iframe", num_classes=5, zero_init_residual=True).eval()
        blocks = [m for m in model.modules() if isinstance(m, (BasicBlock, Bottleneck))]
        assert blocks
        for block in blocks:
            x = torch.rand(2, block.conv1.in_channels, 8, 8)  # non-negative, as after a ReLU
            identity = block.downsample(x) if block.downsample is not None else x
            torch.testing.assert_close(block(x), torch.relu(identity))
    plain = create_model("resnet18_tiny", representation="iframe", num_classes=5)
    assert all(float(m.bn2.weight.detach().abs().sum()) > 0 for m in plain.modules() if isinstance(m, BasicBlock))
    with pytest.raises(ConfigError, match="model.zero_init_residual"):
        load_config(None, ["model.arch=mobilenet_v3_small", "model.zero_init_residual=true"])
