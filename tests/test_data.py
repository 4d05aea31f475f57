"""Split files, TSN sampling, CoViAR's transforms, the representation cache and the Dataset."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from kdlab.codec import extract, store
from kdlab.data import sampling, transforms
from kdlab.data.cache import CacheSettings, build_cache, entry_path, is_fresh, read_failures
from kdlab.data.dataset import CompressedVideoDataset, collate
from kdlab.data.splits import Split, VideoRecord, parse_hmdb51, parse_ucf101, read_list, write_lists
from kdlab.errors import ConfigError, KdlabError
from tests.videos import write_moving_square

# --- split files in the official formats -------------------------------------------------


def test_parse_ucf101_official_format(tmp_path):
    (tmp_path / "classInd.txt").write_text("1 ApplyEyeMakeup\r\n2 ApplyLipstick\r\n3 Archery\r\n")
    (tmp_path / "trainlist01.txt").write_text(
        "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1\nArchery/v_Archery_g08_c02.avi 3\n"
    )
    (tmp_path / "testlist01.txt").write_text(
        "ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi\r\nApplyLipstick/v_ApplyLipstick_g01_c01.avi\r\n"
    )
    split = parse_ucf101(tmp_path, 1)
    assert split.classes == ["ApplyEyeMakeup", "ApplyLipstick", "Archery"]
    assert split.train == [
        VideoRecord("ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi", 0),
        VideoRecord("Archery/v_Archery_g08_c02.avi", 2),
    ]
    assert [r.label for r in split.test] == [0, 1]
    assert split.test[1].video_id == "ApplyLipstick/v_ApplyLipstick_g01_c01"
    with pytest.raises(KdlabError, match="trainlist02.txt: split file not found"):
        parse_ucf101(tmp_path, 2)


def test_parse_hmdb51_official_format(tmp_path):
    (tmp_path / "wave_test_split1.txt").write_text("a_wave_1.avi 1 \nb_wave_2.avi 2 \nc_wave_3.avi 0 \n")
    (tmp_path / "cartwheel_test_split1.txt").write_text("d_cart_1.avi 2 \ne_cart_2.avi 1 \n")
    (tmp_path / "wave_test_split2.txt").write_text("a_wave_1.avi 2 \n")
    split = parse_hmdb51(tmp_path, 1)
    assert split.classes == ["cartwheel", "wave"]
    assert split.train == [VideoRecord("cartwheel/e_cart_2.avi", 0), VideoRecord("wave/a_wave_1.avi", 1)]
    assert split.test == [VideoRecord("cartwheel/d_cart_1.avi", 0), VideoRecord("wave/b_wave_2.avi", 1)]
    assert parse_hmdb51(tmp_path, 2).test == [VideoRecord("wave/a_wave_1.avi", 0)]
    with pytest.raises(KdlabError, match="no '<class>_test_split3.txt' files"):
        parse_hmdb51(tmp_path, 3)


def test_list_round_trip_and_bad_lines(tmp_path):
    split = Split(["a", "b"], [VideoRecord("b/x.mp4", 1)], [VideoRecord("a/y.mp4", 0)])
    write_lists(tmp_path, split)
    assert parse_ucf101(tmp_path) == split
    (tmp_path / "bad.txt").write_text("a/y.mp4 7\n")
    with pytest.raises(KdlabError, match=r"bad.txt:1: label 7 outside 1..2"):
        read_list(tmp_path / "bad.txt", split.classes)


# --- sampling ----------------------------------------------------------------------------


def test_motion_samples_never_take_an_iframe_position():
    gop_pos = np.array(list(range(12)) * 4)
    candidates = sampling.candidate_frames(gop_pos, ["mv"])
    assert 0 not in gop_pos[candidates] and len(candidates) == 44
    rng = np.random.default_rng(0)
    for _ in range(200):
        frames = sampling.train_frames(candidates, 3, rng)
        assert (gop_pos[frames] > 0).all() and (np.diff(frames) > 0).all()
    np.testing.assert_array_equal(sampling.candidate_frames(gop_pos, ["iframe"]), np.arange(48))


def test_train_sampling_draws_one_frame_per_segment():
    candidates = np.arange(30)
    seen = [set() for _ in range(3)]
    rng = np.random.default_rng(1)
    for _ in range(500):
        frames = sampling.train_frames(candidates, 3, rng)
        for seg, f in enumerate(frames):
            assert seg * 10 <= f < (seg + 1) * 10
            seen[seg].add(int(f))
    assert all(len(s) == 10 for s in seen), "every frame of each segment is reachable"


def test_test_sampling_takes_segment_centres():
    np.testing.assert_array_equal(sampling.test_frames(np.arange(30), 3), [4, 14, 24])
    assert len(sampling.test_frames(np.arange(100), 25)) == 25
    # fewer candidates than segments: every segment still gets a valid frame
    np.testing.assert_array_equal(sampling.test_frames(np.array([5, 6]), 4), [5, 5, 6, 6])


# --- transforms ------------------------------------------------------------------------


def test_coviar_normalisation_values():
    mv = np.array([[[[0, 20], [-20, 40]]]], np.int8)  # (T=1, H=1, W=2, 2)
    img = transforms.to_image("mv", mv)
    np.testing.assert_array_equal(img[0, 0], [[128, 255], [1, 255]])  # int(-127.5) = -127
    res = transforms.to_image("residual", np.array([[[[-200, 0, 100]]]], np.int16))
    np.testing.assert_array_equal(res[0, 0, 0], [0, 128, 228])
    x = transforms.normalise("mv", img)
    assert x.dtype == np.float32 and float(x[0, 0, 0, 0]) == pytest.approx(128 / 255 - 0.5, abs=1e-6)
    rgb = np.array([[[[0, 128, 255]]]], np.uint8)
    expected = (rgb / 255 - np.array(transforms.IMAGENET_MEAN)) / np.array(transforms.IMAGENET_STD)
    np.testing.assert_allclose(transforms.normalise("iframe", rgb), expected, rtol=1e-6)
    expected = (res / 255 - 0.5) / np.array(transforms.IMAGENET_STD)
    np.testing.assert_allclose(transforms.normalise("residual", res), expected, rtol=1e-6)


def test_flip_negates_motion_x_only():
    mv = np.zeros((1, 2, 3, 2), np.int8)
    mv[..., 0] = 8  # moving right
    mv[..., 1] = -4
    img = transforms.to_image("mv", mv)
    flipped = transforms.hflip("mv", img)
    back = (flipped.astype(np.int32) - 128) * 20 / 127.5
    assert np.all(back[..., 0] < 0) and np.allclose(back[..., 0], -8, atol=0.2)
    np.testing.assert_array_equal(flipped[..., 1], img[..., 1])
    rgb = np.arange(12, dtype=np.uint8).reshape(1, 1, 4, 3)
    np.testing.assert_array_equal(transforms.hflip("iframe", rgb)[0, 0, 0], rgb[0, 0, 3])


def test_multi_scale_boxes_stay_inside_and_test_crops():
    rng = np.random.default_rng(0)
    for _ in range(100):
        box = transforms.multi_scale_box(96, 128, rng)
        assert 0 <= box.top and box.top + box.height <= 96 and 0 <= box.left and box.left + box.width <= 128
        assert box.height in [96, 84, 72, 63] and box.width in [96, 84, 72, 63]
    ten = transforms.test_boxes(100, 120, 80, crops=10)
    assert len(ten) == 10 and sum(b.flip for b in ten) == 5
    assert ten[4] == transforms.Box(10, 20, 80, 80)


# --- a tiny dataset: two classes moving right or left ---------------------------------


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    records = []
    for label, (name, velocity) in enumerate([("Right", (2, 0)), ("Left", (-2, 0))]):
        for clip in range(2):
            rel = f"{name}/v_{name}_g{clip + 1:02d}_c01.avi"
            start = (24, 32) if velocity[0] > 0 else (96, 32)
            write_moving_square(root / rel, num_frames=24, width=160, height=96, size=32,
                                velocity=velocity, start=start, seed=clip + 10 * label)
            records.append(VideoRecord(rel, label))
    write_lists(root, Split(["Right", "Left"], records, records))
    return root


def test_cache_equals_direct_decoding(tiny_dataset, tmp_path):
    ds = CompressedVideoDataset(tiny_dataset, "trainlist01.txt", ("mv", "residual", "iframe"),
                                cache_dir=tmp_path / "c", workers=1, progress=False)
    record = ds.records[0]
    direct = extract(tiny_dataset / record.relpath, precision="compact")
    cached = store.load(entry_path(tmp_path / "c", record.video_id))
    for key in ("iframes", "mv", "residual", "gop_index", "gop_pos"):
        np.testing.assert_array_equal(getattr(cached, key), getattr(direct, key))


def test_cache_is_rebuilt_when_source_or_settings_change(tiny_dataset, tmp_path):
    cache = tmp_path / "cache"
    records = CompressedVideoDataset(tiny_dataset, "trainlist01.txt", cache_dir=cache, workers=2, progress=False).records
    settings = CacheSettings(accumulate=True)
    report = build_cache(tiny_dataset, records, cache, settings, progress=False)
    assert len(report.fresh) == 4 and not report.built
    source = tiny_dataset / records[0].relpath
    entry = entry_path(cache, records[0].video_id)
    os.utime(source, ns=(time.time_ns(), time.time_ns()))  # touched: a new modification time
    assert not is_fresh(entry, source, settings)
    assert build_cache(tiny_dataset, records, cache, settings, progress=False).built == [records[0].video_id]
    other = CacheSettings(accumulate=False)
    assert not is_fresh(entry, source, other)
    assert len(build_cache(tiny_dataset, records, cache, other, workers=2, progress=False).built) == 4
    assert store.read_meta(entry)["settings"]["accumulate"] is False


def test_corrupt_video_is_reported_and_skipped(tiny_dataset, tmp_path):
    root = tmp_path / "ds"
    import shutil

    shutil.copytree(tiny_dataset, root, ignore=shutil.ignore_patterns("cache"))
    broken = root / "Left" / "v_Left_g02_c01.avi"
    broken.write_bytes(broken.read_bytes()[:3000])
    with pytest.warns(UserWarning, match=r"1 of 4 videos could not be decoded.*v_Left_g02_c01"):
        ds = CompressedVideoDataset(root, "trainlist01.txt", "mv", workers=1, progress=False)
    assert len(ds) == 3 and "Left/v_Left_g02_c01" in read_failures(root / "cache")
    assert all(r.video_id != "Left/v_Left_g02_c01" for r in ds.records)


def test_items_shapes_labels_and_motion_sign(tiny_dataset):
    ds = CompressedVideoDataset(tiny_dataset, "testlist01.txt", ("iframe", "mv", "residual"), num_segments=3,
                                train=False, size=64, progress=False)
    inputs, label, video_id = ds[0]
    assert inputs["iframe"].shape == (3, 3, 64, 64) and inputs["mv"].shape == (3, 2, 64, 64)
    assert inputs["residual"].shape == (3, 3, 64, 64) and inputs["iframe"].dtype == torch.float32
    assert (label, video_id) == (0, "Right/v_Right_g01_c01")
    # the square moves right in class 0 and left in class 1: the mean x motion says so
    right = ds[0][0]["mv"][:, 0].max()
    left = ds[2][0]["mv"][:, 0].min()
    assert right > 0 and left < 0
    single = CompressedVideoDataset(tiny_dataset, "testlist01.txt", "mv", train=False, size=64, crops=10, progress=False)
    assert single[0][0].shape == (30, 2, 64, 64), "10 crops stacked along the segment axis"


def test_deterministic_with_workers(tiny_dataset):
    def epoch_batches(workers, epoch):
        ds = CompressedVideoDataset(tiny_dataset, "trainlist01.txt", ("iframe", "mv"), size=48, seed=3, progress=False)
        ds.set_epoch(epoch)
        # spawned workers: forking a process that runs threads (pytest-xdist's, FFmpeg's) can deadlock
        context = "spawn" if workers else None
        loader = DataLoader(ds, batch_size=2, num_workers=workers, collate_fn=collate, multiprocessing_context=context)
        return [(b[0]["mv"].clone(), b[1]) for b in loader]

    a, b = epoch_batches(0, 1), epoch_batches(2, 1)
    for (x, y), (x2, y2) in zip(a, b):
        assert torch.equal(x, x2) and torch.equal(y, y2)
    c = epoch_batches(0, 2)
    assert not all(torch.equal(x, x2) for (x, _), (x2, _) in zip(a, c)), "another epoch draws other samples"


def test_on_the_fly_decoding_equals_cache(tiny_dataset):
    kwargs = dict(representations=("mv", "residual"), train=False, size=64, progress=False)
    cached = CompressedVideoDataset(tiny_dataset, "testlist01.txt", **kwargs)
    fly = CompressedVideoDataset(tiny_dataset, "testlist01.txt", decode_on_the_fly=True, **kwargs)
    for rep in ("mv", "residual"):
        assert torch.equal(cached[1][0][rep], fly[1][0][rep])


def test_bad_dataset_arguments(tiny_dataset, tmp_path):
    with pytest.raises(ConfigError, match=r"representations: \['flow'\]"):
        CompressedVideoDataset(tiny_dataset, "trainlist01.txt", "flow")
    with pytest.raises(KdlabError, match="no classInd.txt"):
        CompressedVideoDataset(tmp_path, "trainlist01.txt")


def test_persistent_workers_draw_each_epochs_frames(tiny_dataset):
    """A worker's copy of the dataset never sees set_epoch: the sampler carries the epoch instead."""
    from torch.utils.data import SequentialSampler

    from kdlab.data.dataset import EpochSampler

    ds = CompressedVideoDataset(tiny_dataset, "trainlist01.txt", "mv", size=48, seed=5, progress=False)
    sampler = EpochSampler(SequentialSampler(ds))
    loader = DataLoader(ds, batch_size=4, sampler=sampler, num_workers=1, collate_fn=collate,
                        multiprocessing_context="spawn", persistent_workers=True)
    batches = []
    for epoch in range(2):
        sampler.set_epoch(epoch)
        batches.append(next(iter(loader))[0])
    assert not torch.equal(batches[0], batches[1]), "epoch 1 drew the same frames and crops as epoch 0"
    ds.set_epoch(1)
    assert torch.equal(batches[1], torch.stack([ds[i][0] for i in range(4)]))


@pytest.mark.parametrize("rep, channels", [("iframe", 3), ("mv", 2), ("residual", 3)])
def test_apply_box_normalises_after_resizing_like_before(rep, channels):
    """Resizing then normalising equals normalising then resizing (the reference order), flipped or not."""
    import torch.nn.functional as F

    images = np.random.default_rng(1).integers(0, 256, (2, 30, 40, channels), dtype=np.uint8)
    for flip in (False, True):
        box = transforms.Box(3, 5, 24, 28, flip=flip)
        crop = images[:, 3:27, 5:33]
        crop = transforms.hflip(rep, crop) if flip else crop
        reference = torch.from_numpy(transforms.normalise(rep, crop)).permute(0, 3, 1, 2).contiguous()
        reference = F.interpolate(reference, size=(16, 16), mode="bilinear", align_corners=False)
        out = transforms.apply_box(rep, images, box, 16)
        assert out.shape == (2, channels, 16, 16) and out.dtype == torch.float32
        torch.testing.assert_close(out, reference, atol=1e-5, rtol=0)


@pytest.mark.parametrize("dtype", [np.int8, np.int16])
def test_training_transform_equals_the_plain_pipeline_bit_for_bit(dtype):
    """The training transform (mapped in float32, channels-last resize) gives exactly the values of
    the plain pipeline: numpy to_image, hflip, a contiguous NCHW bilinear resize, then normalise."""
    import torch.nn.functional as F

    rng = np.random.default_rng(3)
    low, high = (-128, 128) if dtype == np.int8 else (-600, 600)
    raw = {"iframe": rng.integers(0, 256, (2, 64, 86, 3), dtype=np.uint8),
           "mv": rng.integers(low, high, (2, 64, 86, 2)).astype(dtype),
           "residual": rng.integers(low, high, (2, 64, 86, 3)).astype(dtype)}
    transform = transforms.ClipTransform(size=28, train=True)
    flips = set()
    for seed in range(12):
        out = transform(raw, np.random.default_rng(seed), raw=True)
        box = transforms.multi_scale_box(64, 86, np.random.default_rng(seed))
        flips.add(box.flip)
        for rep, array in raw.items():
            images = transforms.to_image(rep, array[:, box.top : box.top + box.height, box.left : box.left + box.width])
            images = transforms.hflip(rep, images) if box.flip else images
            tensor = torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2))).float()
            resized = F.interpolate(tensor, size=(28, 28), mode="bilinear", align_corners=False)
            scale, offset = (torch.from_numpy(v.astype(np.float32)).view(1, -1, 1, 1) for v in transforms._affine(rep))
            assert torch.equal(out[rep], resized * scale + offset), (rep, seed, box)
            assert out[rep].is_contiguous()
    assert flips == {False, True}


@pytest.mark.parametrize("train, crops", [(True, 1), (False, 1), (False, 10)])
def test_raw_representations_crop_before_mapping_to_images_with_the_same_values(train, crops):
    """ClipTransform(raw=True) maps only the crop to 8-bit images: bit for bit what mapping first gives."""
    rng = np.random.default_rng(2)
    raw = {"iframe": rng.integers(0, 256, (2, 40, 52, 3), dtype=np.uint8),
           "mv": rng.integers(-128, 128, (2, 40, 52, 2), dtype=np.int8),
           "residual": rng.integers(-128, 128, (2, 40, 52, 3), dtype=np.int8)}
    transform = transforms.ClipTransform(size=24, train=train, crops=crops)
    for seed in range(6):  # flipped and not, several boxes
        mapped = transform({rep: transforms.to_image(rep, a) for rep, a in raw.items()}, np.random.default_rng(seed))
        direct = transform(raw, np.random.default_rng(seed), raw=True)
        for rep in raw:
            assert torch.equal(mapped[rep], direct[rep]), (rep, seed)


def test_validation_split_holds_out_whole_groups_per_class():
    from kdlab.data.splits import VideoRecord, group_of, validation_split

    records = [VideoRecord(f"C{c}/v_C{c}_g{g:02d}_c{k:02d}.avi", c) for c in range(2) for g in range(4, 14) for k in range(3)]
    records.append(VideoRecord("Lone/v_Lone_g01_c01.avi", 2))  # a class with one group stays in training
    train, val = validation_split(records, 0.2)
    assert len(train) + len(val) == len(records)
    held = sorted({r.group for r in val})
    assert held == ["C0/g08", "C0/g13", "C1/g08", "C1/g13"]  # 2 of 10 groups per class, evenly spaced
    assert not {r.group for r in train} & set(held)
    assert validation_split(records, 0.2) == (train, val), "the same split every time"
    assert validation_split(records, 0.0) == (records, [])
    assert group_of("brush_hair/April_09_brush_hair_u_nm_np1_ba_goo_0") == "brush_hair/April_09_brush_hair_u_nm_np1_ba_goo_0"
    with pytest.raises(KdlabError, match="validation share"):
        validation_split(records, 1.0)


def test_list_lines_with_spaces_bad_labels_or_escaping_paths(tmp_path):
    from kdlab.data.splits import read_list

    lists = tmp_path / "l.txt"
    lists.write_text("A/v a b.avi 1\nB/plain.avi\n")
    assert [(r.relpath, r.label) for r in read_list(lists, ["A", "B"])] == [("A/v a b.avi", 0), ("B/plain.avi", 1)]
    for line, message in (("A/v.avi 1.5", "label '1.5' is not a whole number"), ("../x.avi 1", "leaves the dataset folder"),
                          ("/etc/x.avi 1", "leaves the dataset folder"), ("A/v.avi 3", "label 3 outside 1..2")):
        lists.write_text(line + "\n")
        with pytest.raises(KdlabError, match=f"l.txt:1: .*{message}"):
            read_list(lists, ["A", "B"])


def test_damaged_cache_entries_are_found_and_rebuilt(tiny_dataset, tmp_path):
    cache = tmp_path / "cache"
    ds = CompressedVideoDataset(tiny_dataset, "trainlist01.txt", ("mv", "iframe"), cache_dir=cache, workers=1, progress=False)
    settings = CacheSettings(accumulate=True)
    records = ds.records
    entries = [entry_path(cache, r.video_id) for r in records[:2]]
    sources = [tiny_dataset / r.relpath for r in records[:2]]
    assert all(is_fresh(e, s, settings) for e, s in zip(entries, sources))
    good = {name: (entries[0] / f"{name}.npy").read_bytes() for name in ("mv", "gop_index")}
    # a truncated motion array, and a gop_index whose last value was flipped (same size)
    (entries[0] / "mv.npy").write_bytes(good["mv"][: len(good["mv"]) // 2])
    index = entries[1] / "gop_index.npy"
    index.write_bytes(index.read_bytes()[:-4] + (99).to_bytes(4, "little"))
    assert store.verify(entries[0]).startswith("mv.npy has") and "checksum" in store.verify(entries[1])
    assert not is_fresh(entries[0], sources[0], settings) and not is_fresh(entries[1], sources[1], settings)
    report = build_cache(tiny_dataset, records, cache, settings, progress=False)
    assert sorted(report.built) == sorted(r.video_id for r in records[:2])
    assert (entries[0] / "mv.npy").read_bytes() == good["mv"] and store.verify(entries[1]) is None
