"""Official split files of UCF-101 and HMDB-51, and kdlab's list files.

kdlab's list files use UCF-101's format, so a prepared dataset and the synthetic benchmark look
the same to every later step::

    classInd.txt        "1 ApplyEyeMakeup"                (1-based class index and name)
    trainlist01.txt     "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1"
    testlist01.txt      "ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi"   (label from the folder)

HMDB-51 ships one file per class and split, ``<class>_test_split<k>.txt``, whose lines are
``<video>.avi <mark>`` with mark 1 = train, 2 = test, 0 = unused in that split;
:func:`parse_hmdb51` turns them into the same records.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from kdlab.atomic import write_text
from kdlab.errors import KdlabError


@dataclass(frozen=True)
class VideoRecord:
    """One video of a split: its path relative to the dataset root and its 0-based label."""

    relpath: str  # e.g. "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi"
    label: int

    @property
    def video_id(self) -> str:
        """The path without extension: unique within a dataset, used as the cache key."""
        return os.path.splitext(self.relpath)[0]

    @property
    def group(self) -> str:
        """The clip's group (:func:`group_of`)."""
        return group_of(self.video_id)


_GROUP = re.compile(r"_g(\d+)_c\d+$")
_NUMBER = re.compile(r"-?\d+(\.\d*)?")  # a list line's label token (whole numbers are valid ones)


def group_of(video_id: str) -> str:
    """The group a clip belongs to: ``"Class/v_Class_g04_c01"`` -> ``"Class/g04"``.

    UCF-101 (and the synthetic set) number groups ``gXX`` within a class: the clips of a group
    share actor and scene, so they are not independent and never straddle two splits. A clip
    without a group in its name (HMDB-51) is a group of its own.
    """
    video_id = str(video_id)
    match = _GROUP.search(video_id)
    if not match:
        return video_id
    folder = video_id.rsplit("/", 1)[0] + "/" if "/" in video_id else ""
    return f"{folder}g{match.group(1)}"


def validation_split(records: list[VideoRecord], share: float) -> tuple[list[VideoRecord], list[VideoRecord]]:
    """Split a training list into ``(train, validation)`` by group, about ``share`` of each class's groups.

    Per class, ``max(1, round(share x groups))`` groups go to validation (none when ``share`` is
    0), spread evenly over the class's groups in name order, so the split is the same for every
    seed and run. A class with a single group stays whole in training.
    """
    if not 0 <= share < 1:
        raise KdlabError(f"validation share must be in [0, 1), got {share}")
    if share == 0:
        return list(records), []
    groups_by_class: dict[int, list[str]] = defaultdict(list)
    for record in records:
        if record.group not in groups_by_class[record.label]:
            groups_by_class[record.label].append(record.group)
    held_out = set()
    for groups in groups_by_class.values():
        groups = sorted(groups)
        if len(groups) < 2:
            continue
        count = min(len(groups) - 1, max(1, round(share * len(groups))))
        # evenly spaced, ending on the last group: for 10 groups and 2 held out, the 5th and the 10th
        picks = [round((i + 1) * len(groups) / count) - 1 for i in range(count)]
        held_out.update(groups[i] for i in picks)
    return [r for r in records if r.group not in held_out], [r for r in records if r.group in held_out]


@dataclass
class Split:
    """Class names (index = 0-based label) and the train and test records of one split."""

    classes: list[str]
    train: list[VideoRecord]
    test: list[VideoRecord]


def _lines(path: Path) -> list[str]:
    if not path.exists():
        raise KdlabError(f"{path}: split file not found; check --splits (the folder of the official split files)")
    return [line.strip() for line in path.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()]


def read_class_index(path: str | Path) -> list[str]:
    """``classInd.txt`` -> class names ordered by their 1-based index."""
    path = Path(path)
    entries = {}
    for number, line in enumerate(_lines(path), 1):
        parts = line.split()
        if len(parts) != 2 or not parts[0].isdigit():
            raise KdlabError(f"{path}:{number}: expected '<index> <ClassName>', got {line!r}")
        entries[int(parts[0])] = parts[1]
    if sorted(entries) != list(range(1, len(entries) + 1)):
        raise KdlabError(f"{path}: class indices must run 1..{len(entries)} without gaps")
    return [entries[i] for i in range(1, len(entries) + 1)]


def read_list(path: str | Path, classes: list[str]) -> list[VideoRecord]:
    """A UCF-101-style list: ``relpath [label]``; without a label the class folder gives it."""
    path = Path(path)
    by_name = {name: i for i, name in enumerate(classes)}
    records = []
    for number, line in enumerate(_lines(path), 1):
        line = line.replace("\\", "/")
        # "path [label]": the path may hold spaces, so the label is the last token when it is a number
        head, _, last = line.rpartition(" ")
        relpath, label_text = (head.strip(), last) if head and _NUMBER.fullmatch(last) else (line, "")
        if ".." in Path(relpath).parts or Path(relpath).is_absolute():
            raise KdlabError(f"{path}:{number}: {relpath!r} leaves the dataset folder; list paths relative to it")
        folder = relpath.split("/")[0]
        if label_text:
            if not label_text.isdigit():
                raise KdlabError(f"{path}:{number}: label {label_text!r} is not a whole number (1..{len(classes)})")
            label = int(label_text) - 1
            if not 0 <= label < len(classes):
                raise KdlabError(f"{path}:{number}: label {label_text} outside 1..{len(classes)}")
        elif folder in by_name:
            label = by_name[folder]
        else:
            raise KdlabError(f"{path}:{number}: {relpath!r} has no label and its folder {folder!r} is not a class")
        records.append(VideoRecord(relpath, label))
    return records


def write_lists(root: str | Path, split: Split, number: int = 1) -> None:
    """Write ``classInd.txt``, ``trainlist0N.txt`` and ``testlist0N.txt`` (atomically) under ``root``."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    _write(root / "classInd.txt", [f"{i + 1} {name}" for i, name in enumerate(split.classes)])
    _write(root / f"trainlist0{number}.txt", [f"{r.relpath} {r.label + 1}" for r in split.train])
    _write(root / f"testlist0{number}.txt", [r.relpath for r in split.test])


def _write(path: Path, lines: list[str]) -> None:
    write_text(path, "".join(f"{line}\n" for line in lines))


def parse_ucf101(splits_dir: str | Path, split: int = 1) -> Split:
    """UCF-101's ``classInd.txt``, ``trainlist0{split}.txt`` and ``testlist0{split}.txt``."""
    if split not in (1, 2, 3):
        raise KdlabError(f"split must be 1, 2 or 3, got {split}")
    splits_dir = Path(splits_dir)
    classes = read_class_index(splits_dir / "classInd.txt")
    return Split(
        classes,
        read_list(splits_dir / f"trainlist0{split}.txt", classes),
        read_list(splits_dir / f"testlist0{split}.txt", classes),
    )


_HMDB_FILE = re.compile(r"^(?P<cls>.+)_test_split(?P<split>[123])\.txt$")


def parse_hmdb51(splits_dir: str | Path, split: int = 1) -> Split:
    """HMDB-51's ``<class>_test_split{split}.txt`` files (marks: 1 train, 2 test, 0 unused).

    Classes are sorted by name (their 0-based label); records point at ``<class>/<video>``.
    """
    if split not in (1, 2, 3):
        raise KdlabError(f"split must be 1, 2 or 3, got {split}")
    splits_dir = Path(splits_dir)
    files = {}
    for path in sorted(splits_dir.glob(f"*_test_split{split}.txt")):
        files[_HMDB_FILE.match(path.name)["cls"]] = path
    if not files:
        raise KdlabError(f"{splits_dir}: no '<class>_test_split{split}.txt' files; check --splits")
    classes = sorted(files)
    train, test = [], []
    for label, name in enumerate(classes):
        for number, line in enumerate(_lines(files[name]), 1):
            parts = line.split()
            if len(parts) != 2 or parts[1] not in ("0", "1", "2"):
                raise KdlabError(f"{files[name]}:{number}: expected '<video> <0|1|2>', got {line!r}")
            record = VideoRecord(f"{name}/{parts[0]}", label)
            {"1": train, "2": test}.get(parts[1], []).append(record)
    return Split(classes, train, test)
