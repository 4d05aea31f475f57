"""A generated corpus of bad inputs, each run through the command line: exit status 2, one message
naming the file or key, never a traceback (and never a silent zero)."""

from __future__ import annotations

import json
import shutil

import av
import pytest

from kdlab.cli import main
from kdlab.data.synthetic import PRESETS, generate
from tests.videos import write_clip


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad")
    files = {
        "vp8": write_clip(root / "vp8.webm", "libvpx"),
        "gif": write_clip(root / "anim.gif", "gif"),
        "text": root / "notes.avi",
        "empty": root / "empty.mp4",
        "folder_toml": root / "folder.toml",
        "latin1_toml": root / "latin1.toml",
        "bad_key_toml": root / "bad_key.toml",
    }
    # two elementary streams of different sizes, back to back: the size changes at frame 24
    a = write_clip(root / "a.m4v", container_format="m4v")
    b = write_clip(root / "b.m4v", width=96, height=64, container_format="m4v")
    files["sizes"] = root / "sizes.m4v"
    files["sizes"].write_bytes(a.read_bytes() + b.read_bytes())
    files["text"].write_text("this is not a video\n")
    files["empty"].write_bytes(b"")
    files["folder_toml"].mkdir()
    files["latin1_toml"].write_bytes(b"\xff\xfe[optim]")
    files["bad_key_toml"].write_text("[optim]\ngrad_clip = -1\n")
    # a dataset whose list has a label that is not a whole number, and one that leaves the folder
    data = generate(root / "tiny", PRESETS["tiny"], workers=1, progress=False)
    for name, line in (("fraction", "RedRiseSteady/x.avi 1.5"), ("escape", "../../etc/passwd 1")):
        copy = root / name
        shutil.copytree(data, copy, ignore=shutil.ignore_patterns("cache"))
        (copy / "trainlist01.txt").write_text(line + "\n")
        files[name] = copy
    return files


CASES = [
    (["inspect", "{vp8}"], None),  # inspect describes it, and says it is not ready (below)
    (["export", "{vp8}", "--out", "{tmp}/x.npz"], "codec (vp8) has no motion vectors"),
    (["export", "{gif}", "--out", "{tmp}/x.npz"], "codec (gif) has no motion vectors"),
    (["export", "{sizes}", "--out", "{tmp}/x.npz"], "changes size at frame 24"),
    (["export", "{text}", "--out", "{tmp}/x.npz"], "looks like a text file"),
    (["export", "{empty}", "--out", "{tmp}/x.npz"], "is empty (0 bytes)"),
    (["train", "{folder_toml}"], "is a folder, not a config file"),
    (["train", "{latin1_toml}"], "not UTF-8 text"),
    (["train", "{bad_key_toml}"], "optim.grad_clip: expected >= 0"),
    (["train", "data.root={fraction}", "optim.epochs=1"], "label '1.5' is not a whole number"),
    (["train", "data.root={escape}", "optim.epochs=1"], "leaves the dataset folder"),
    (["cache", "{escape}"], "leaves the dataset folder"),
    (["bench", "data", "--clips", "{tmp}/missing"], "no such folder; give --clips a folder of videos"),
]


@pytest.mark.parametrize("argv, message", CASES, ids=[" ".join(c[0][:2]) for c in CASES])
def test_each_bad_input_gets_one_line(corpus, tmp_path, capsys, argv, message):
    names = {k: str(v) for k, v in corpus.items()}
    code = main([part.format(tmp=tmp_path, **names) for part in argv])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    if message is None:
        assert code == 0 and "not ready" in captured.out and "no motion vectors" in captured.out
        return
    assert code == 2, captured.err
    lines = [line for line in captured.err.splitlines() if line.strip() and not line.startswith("  hint:")]
    assert len(lines) == 1 and message in lines[0], captured.err


def test_the_corpus_covers_what_it_says(corpus):
    """The inputs are what their names claim (so the cases above test something)."""
    with av.open(str(corpus["vp8"])) as container:
        assert container.streams.video[0].codec_context.name == "vp8"
    with av.open(str(corpus["sizes"])) as container:
        widths = {frame.width for frame in container.decode(video=0)}
    assert widths == {128, 96}
    assert json.loads((corpus["fraction"] / "synth.json").read_text())["config"]["classes"] == 4
