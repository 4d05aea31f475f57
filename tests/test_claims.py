"""The paper's comparisons read from run folders: pairing by seed and clip, verdicts, the report."""

from __future__ import annotations

import numpy as np
import pytest

from kdlab.engine import io
from kdlab.engine.claims import HEADLINE, evaluate_claims, finished_seeds, seed_summary
from kdlab.engine.metrics import teacher_complementarity
from kdlab.engine.report import format_report

CLASSES = 4
IDS = [f"C{c}/v_C{c}_g{g:02d}_c{k:02d}" for c in range(CLASSES) for g in range(1, 16) for k in range(1, 3)]  # 120 clips
LABELS = np.array([int(v[1]) for v in IDS])


def _logits(right: np.ndarray) -> np.ndarray:
    """One-hot logits: the label where ``right``, the next class otherwise."""
    predicted = np.where(right, LABELS, (LABELS + 1) % CLASSES)
    return np.eye(CLASSES, dtype=np.float32)[predicted]


def _write(folder, right, right_best=None, teachers=None):
    folder.mkdir(parents=True)
    order = np.random.default_rng(len(str(folder))).permutation(len(IDS))  # each run lists its clips in its own order
    arrays = dict(logits=_logits(right)[order], logits_best=_logits(right if right_best is None else right_best)[order],
                  labels=LABELS[order], video_ids=np.array(IDS)[order], classes=np.array([f"C{c}" for c in range(CLASSES)]))
    if teachers is not None:
        arrays.update(teacher_logits=np.stack([_logits(t)[order] for t in teachers]),
                      teacher_names=np.array(["teacher_iframe", "teacher_mv", "teacher_residual"]))
    io.save_npz(folder / "predictions.npz", **arrays)
    io.write_json(folder / "summary.json", {"complete": True, "test": {"top1": 100 * float(right.mean())}})


@pytest.fixture()
def runs(tmp_path):
    rng = np.random.default_rng(0)
    base = rng.random(len(IDS)) < 0.6
    for seed in range(3):
        suffix = "" if seed == 0 else f"_seed{seed}"
        noise = rng.random(len(IDS)) < 0.1
        _write(tmp_path / f"student_ce{suffix}", base & ~noise)
        single = base | (rng.random(len(IDS)) < 0.3)  # one teacher: clearly better than none
        _write(tmp_path / f"kd_single{suffix}", single, right_best=base)
        _write(tmp_path / f"mkd_streams{suffix}", single ^ (rng.random(len(IDS)) < 0.02))  # about the same as one teacher
    return tmp_path


def test_claims_pair_seeds_and_clips(runs):
    assert finished_seeds(runs, "kd_single") == [0, 1, 2]
    claims = {c["key"]: c for c in evaluate_claims(runs)}
    assert set(claims) == {"multi_vs_single", "single_vs_none", "multi_vs_none"}  # no fusion runs: no distilled claim
    one = claims["single_vs_none"]
    assert one["seeds"] == 3 and one["clips"] == 120 and one["groups"] == 60
    assert one["decided"] == 1 and one["verdict"].startswith("one teacher better than the student alone by")
    # the per-seed differences, computed by hand from the run folders
    for seed, difference in enumerate(one["per_seed"]):
        suffix = "" if seed == 0 else f"_seed{seed}"
        accuracy = {}
        for name in ("kd_single", "student_ce"):
            with np.load(runs / f"{name}{suffix}" / "predictions.npz") as p:
                accuracy[name] = 100 * (p["logits"].argmax(1) == p["labels"]).mean()
        assert difference == pytest.approx(accuracy["kd_single"] - accuracy["student_ce"])
    assert claims["multi_vs_single"]["decided"] == 0
    assert claims["multi_vs_single"]["verdict"].startswith("no difference detected between three teachers and one teacher")
    # the epoch picked on validation is judged on its own logits: there, one teacher is no better than none
    assert one["best"]["difference"] < one["difference"]


def test_a_single_fixed_system_is_set_against_every_seed(runs):
    rng = np.random.default_rng(1)
    teachers = [rng.random(len(IDS)) < p for p in (0.8, 0.4, 0.5)]
    _write(runs / "fusion_teachers", teachers[0] | teachers[1], teachers=teachers)
    for seed in range(3):
        _write(runs / ("fusion_mkd_streams" + ("" if seed == 0 else f"_seed{seed}")), teachers[0] | teachers[1])
    claim = next(c for c in evaluate_claims(runs) if c["key"] == "distilled_vs_coviar")
    assert claim["seeds"] == 3 and claim["per_seed"] == [0.0, 0.0, 0.0] and claim["decided"] == 0


def test_teacher_complementarity_by_hand():
    labels = np.array([0, 1, 2, 3])
    right = [np.array([1, 1, 0, 0], bool), np.array([0, 1, 1, 0], bool), np.array([1, 0, 0, 0], bool)]
    logits = np.stack([np.eye(4)[np.where(r, labels, (labels + 1) % 4)] for r in right])
    c = teacher_complementarity(logits, labels, ["I", "MV", "R"])
    assert c["top1"] == {"I": 50.0, "MV": 50.0, "R": 25.0}
    assert c["oracle_top1"] == 75.0  # clip 3 is wrong for everyone
    assert c["first_wrong"] == 50.0 and c["right_where_first_wrong"] == {"MV": 25.0, "R": 0.0}
    assert c["any_right_where_first_wrong"] == 25.0


def test_report_states_every_verdict_and_the_machine(runs):
    results = {"runs": [], "machine": {"cpu": "Test CPU", "cores": 2, "gpu": None, "torch": "2.x"},
               "seeds": seed_summary(runs, ["student_ce", "kd_single", "mkd_streams"]), "claims": evaluate_claims(runs)}
    text = format_report(results)
    assert "machine: Test CPU, 2 cores, no GPU" in text
    for claim in results["claims"]:
        assert claim["verdict"] in text and claim["best"]["verdict"] in text
    assert "the paper's comparisons" in text and "detectable" in text
    assert {c.key for c in HEADLINE} >= {c["key"] for c in results["claims"]}
