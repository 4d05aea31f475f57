"""MMKD (meta-learned teacher weights): the weighting step against a NumPy transcription of the
reference code (Rorozhl/MMKD ``LogitsWeight`` + ``MatchLogits`` with ``DistillKL(is_ca=True)``) and
golden values; the meta gradient against finite differences; the meta step's effect; the contract."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from kdlab.errors import ConfigError
from kdlab.losses import MMKD, WeightNet, build_loss, mmkd_kd_loss
from kdlab.losses.mmkd import VirtualStep, meta_objective
from tests.test_distiller import TARGET, make_distiller, make_inputs

GOLDEN = Path(__file__).parent / "golden" / "mmkd.json"
T = 4.0


# ---------------------------------------------------------------- NumPy transcription (float64)
def np_log_softmax(z, temperature=1.0):
    z = z / temperature
    z = z - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


def np_logits_weight(zts, zs, w1, b1, w2, b2):
    """``LogitsWeight.forward``: cat(teachers..., student) -> Linear -> ReLU -> Linear -> softmax(-1): (B, K)."""
    x = np.concatenate([*zts, zs], axis=1)
    a = np.maximum(x @ w1.T + b1, 0) @ w2.T + b2
    return np.exp(np_log_softmax(a))


def np_match_logits(zs, zts, weight, temperature):
    """``MatchLogits``: per-sample ``DistillKL(is_ca=True)`` stacked on dim 1, times the weights, summed, batch mean."""
    log_ps = np_log_softmax(zs, temperature)
    div = np.stack([(np.exp(lp) * (lp - log_ps)).sum(-1) * temperature**2
                    for lp in (np_log_softmax(z, temperature) for z in zts)], axis=1)  # (B, K)
    return (weight * div).sum(-1).mean()


def golden_case(seed: int, batch: int = 4, classes: int = 6, teachers: int = 3) -> dict:
    rng = np.random.default_rng(seed)
    n = classes * (teachers + 1)
    return {
        "student": rng.normal(size=(batch, classes)) * 2, "teachers": rng.normal(size=(teachers, batch, classes)) * 3,
        "w1": rng.normal(size=(n // 2, n)) / np.sqrt(n), "b1": rng.normal(size=n // 2) * 0.1,
        "w2": rng.normal(size=(teachers, n // 2)) / np.sqrt(n // 2), "b2": rng.normal(size=teachers) * 0.1,
    }


def np_values(case: dict) -> dict:
    w = np_logits_weight(case["teachers"], case["student"], case["w1"], case["b1"], case["w2"], case["b2"])
    return {"weights": w, "loss": np_match_logits(case["student"], case["teachers"], w, T)}


def torch_values(case: dict) -> dict:
    c = {k: torch.tensor(np.asarray(v), dtype=torch.float64) for k, v in case.items()}
    k, _, classes = c["teachers"].shape
    net = WeightNet(classes, k).double()
    with torch.no_grad():
        net.layer.weight.copy_(c["w1"]), net.layer.bias.copy_(c["b1"])
        net.all_act.weight.copy_(c["w2"]), net.all_act.bias.copy_(c["b2"])
    w = net(c["teachers"], c["student"])  # (K, B)
    return {"weights": w.T.detach().numpy(), "loss": mmkd_kd_loss(c["student"], c["teachers"], w, T).item()}


def test_golden_weighting_step() -> None:
    golden = json.loads(GOLDEN.read_text())
    got = torch_values(golden["inputs"])
    np.testing.assert_allclose(got["weights"], golden["values"]["weights"], rtol=1e-9)
    np.testing.assert_allclose(got["loss"], golden["values"]["loss"], rtol=1e-9)


@pytest.mark.parametrize("seed", [1, 2])
def test_weighting_step_matches_the_transcription(seed: int) -> None:
    case = golden_case(seed, batch=5, classes=7, teachers=2)
    expected, got = np_values(case), torch_values(case)
    np.testing.assert_allclose(got["weights"], expected["weights"], rtol=1e-9)
    np.testing.assert_allclose(got["loss"], expected["loss"], rtol=1e-9)
    assert np.allclose(got["weights"].sum(1), 1.0)


# ---------------------------------------------------------------- the meta step
class Linear(nn.Module):
    """A linear student on (B, D) inputs (what ``functional_call`` needs: ``forward(x) -> (B, C)``)."""

    def __init__(self, d: int, c: int):
        super().__init__()
        self.fc = nn.Linear(d, c)

    def forward(self, x):
        return self.fc(x)


def test_meta_gradient_matches_finite_differences() -> None:
    """One virtual step: the student's logits fed to the weighting network (detached, as the reference)
    do not depend on it yet, so the meta gradient is the exact derivative of the quiz loss."""
    torch.manual_seed(0)
    student, net = Linear(5, 4).double(), WeightNet(4, 2).double()
    x, zt = torch.randn(6, 5, dtype=torch.float64), torch.randn(2, 6, 4, dtype=torch.float64) * 3
    quiz = (torch.randn(5, 5, dtype=torch.float64), torch.tensor([0, 1, 2, 3, 0]))
    params = list(net.parameters())
    grads = torch.autograd.grad(meta_objective(student, net, x, zt, quiz, VirtualStep(T, 0.5, 1)), params)
    eps = 1e-6
    for p, g in zip(params, grads):
        flat, gflat = p.data.view(-1), g.view(-1)
        for i in (0, flat.numel() - 1):
            keep = flat[i].item()
            flat[i] = keep + eps
            up = meta_objective(student, net, x, zt, quiz, VirtualStep(T, 0.5, 1)).item()
            flat[i] = keep - eps
            down = meta_objective(student, net, x, zt, quiz, VirtualStep(T, 0.5, 1)).item()
            flat[i] = keep
            assert gflat[i].item() == pytest.approx((up - down) / (2 * eps), rel=1e-4, abs=1e-9)
    assert any(g.abs().sum() > 0 for g in grads)


def test_meta_steps_learn_to_trust_the_teacher_that_helps_the_quiz() -> None:
    """Teacher 0 points at the true class, teacher 1 at a wrong one; the quiz (other samples of the same
    rule) rewards following teacher 0, so the meta steps move the weights towards it."""
    torch.manual_seed(0)
    d, c, b = 6, 3, 24
    rule = torch.randn(d, c)
    x = torch.randn(b, d)
    y = (x @ rule).argmax(1)
    good, bad = 4 * nn.functional.one_hot(y, c).float(), 4 * nn.functional.one_hot((y + 1) % c, c).float()
    zt = torch.stack([good, bad])
    student = Linear(d, c)
    loss = MMKD(temperature=2.0, meta_every=1, hard_buffer=False, meta_lr=3e-2, virtual_lr=1.0)
    loss.build(c, 2)
    before = loss.teacher_weights(student(x), zt).mean(1)
    state = {k: v.clone() for k, v in student.state_dict().items()}
    for step in range(40):
        assert loss.meta_step(student, x, student(x).detach(), zt, y, epoch=0)
    after = loss.teacher_weights(student(x), zt).mean(1)
    assert after[0] > 0.9 and after[0] > before[0] + 0.3
    assert all(torch.equal(v, student.state_dict()[k]) for k, v in state.items())  # the student is left alone


def test_hard_buffer_holds_the_last_misclassified_samples_and_empties_each_epoch() -> None:
    loss = MMKD(buffer_size=3, meta_every=2)
    loss.build(3, 1)
    student = Linear(2, 3)
    x = torch.arange(8.0).view(4, 2)
    zt = torch.zeros(1, 4, 3)
    wrong = torch.tensor([[0.0, 9, 0], [9, 0, 0], [9, 0, 0], [0, 9, 0]])  # argmax 1, 0, 0, 1
    y = torch.tensor([0, 0, 1, 1])  # wrong: samples 0 and 2
    assert not loss.meta_step(student, x, wrong, zt, y, epoch=0)  # due, but nothing held out yet
    assert loss.buffer.y.tolist() == [0, 1] and torch.equal(loss.buffer.x, x[[0, 2]])
    assert not loss.meta_step(student, x, wrong, zt, y, epoch=0)  # not due
    assert loss.buffer.y.tolist() == [1, 0, 1]  # the last three
    assert loss.meta_step(student, x, wrong, zt, y, epoch=0)  # due, and the buffer has a quiz
    loss.meta_step(student, x, torch.nn.functional.one_hot(y, 3).float(), zt, y, epoch=1)
    assert len(loss.buffer) == 0


# ---------------------------------------------------------------- the distiller contract
def test_weighting_network_learns_only_by_its_meta_step_and_resumes() -> None:
    distiller = make_distiller("mmkd", ce_weight=1.0)
    module = distiller.loss_module
    net = {id(p) for p in module.weight_net.parameters()}
    assert net and net.isdisjoint(id(p) for p in distiller.learnable_parameters())
    module.hard_buffer, module.meta_every = False, 1
    before = [p.clone() for p in module.weight_net.parameters()]
    student = {k: v.clone() for k, v in distiller.student.state_dict().items()}
    _, losses = distiller.forward_train(make_inputs(), TARGET)
    assert set(losses) == {"loss_ce", "loss_kd"} and module.last_weights.shape == (3,)
    assert any(not torch.equal(a, b) for a, b in zip(before, module.weight_net.parameters()))
    assert all(torch.equal(v, distiller.student.state_dict()[k]) for k, v in student.items()
               if "running" not in k and "num_batches" not in k)  # BatchNorm statistics: the student's own forward
    state = module.state_dict()
    fresh = make_distiller("mmkd").loss_module
    fresh.load_state_dict(state)
    assert fresh.meta_optimizer.state_dict()["state"][0]["step"] == 1
    for a, b in zip(fresh.weight_net.parameters(), module.weight_net.parameters()):
        assert torch.equal(a, b)


def test_bad_options_fail_clearly() -> None:
    with pytest.raises(ConfigError, match="meta_every"):
        build_loss("mmkd", meta_every=0)
    with pytest.raises(ConfigError, match="meta_lr"):
        build_loss("mmkd", meta_rate=0.1)


def write_golden() -> None:  # run once: python -c "from tests.test_mmkd import write_golden; write_golden()"
    case = golden_case(0)
    values = np_values(case)
    GOLDEN.write_text(json.dumps({
        "description": "MMKD's weighting step (Rorozhl/MMKD LogitsWeight + MatchLogits, DistillKL is_ca) transcribed in"
                       " NumPy, float64; B=4, C=6, K=3, T=4; weights (B, K).",
        "inputs": {k: np.asarray(v).tolist() for k, v in case.items()},
        "values": {"weights": values["weights"].tolist(), "loss": float(values["loss"])},
    }, indent=1) + "\n")
