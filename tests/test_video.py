"""Facts about zsm.data.video and zsm.data.frames: PNG folders round-trip exactly, MP4 round-trips closely, nothing
is overwritten by accident."""
import cv2
import numpy as np
import pytest

from zsm.data.frames import list_frames, read_frames, read_image, write_frames
from zsm.data.video import iter_video, probe_video, read_video, write_video


def smooth_clip(frames=12, h=48, w=64, seed=0):
    """A clip of smooth colour gradients moving right (compresses well, so MP4 round-trips closely)."""
    y, x = np.mgrid[0:h, 0:w]
    clip = [np.stack([128 + 100 * np.sin((x + 3 * t) / 9 + c) * np.cos(y / 11 + c) for c in (0, 1, 2)], axis=-1)
            for t in range(frames)]
    return np.clip(clip, 0, 255).astype(np.uint8)  # (T, H, W, 3)


def test_png_frames_round_trip_exactly_in_natural_order(tmp_path):
    clip = np.random.default_rng(0).integers(0, 256, (12, 9, 10, 3), dtype=np.uint8)
    files = write_frames(tmp_path / "f", clip)
    assert [f.name for f in files[:2]] == ["00000000.png", "00000001.png"]
    np.testing.assert_array_equal(read_frames(tmp_path / "f"), clip)


def test_names_sort_naturally_so_im10_comes_after_im9(tmp_path):
    for i in (1, 2, 9, 10, 11):
        cv2.imwrite(str(tmp_path / f"im{i}.png"), np.full((4, 4, 3), i, np.uint8))
    assert [p.name for p in list_frames(tmp_path)] == ["im1.png", "im2.png", "im9.png", "im10.png", "im11.png"]
    np.testing.assert_array_equal(read_frames(tmp_path)[:, 0, 0, 0], [1, 2, 9, 10, 11])


def test_frames_are_rgb_not_opencvs_bgr(tmp_path):
    red = np.zeros((4, 4, 3), np.uint8)
    red[..., 0] = 255
    write_frames(tmp_path, red[None])
    assert read_image(tmp_path / "00000000.png")[0, 0].tolist() == [255, 0, 0]
    assert cv2.imread(str(tmp_path / "00000000.png"))[0, 0].tolist() == [0, 0, 255]  # BGR on disk, as OpenCV stores


def test_mp4_round_trip_keeps_count_size_fps_and_is_close(tmp_path):
    clip = smooth_clip()
    path = write_video(tmp_path / "out" / "clip.mp4", clip, fps=12.5)  # missing parent folders are created
    frames, fps = read_video(path)
    assert frames.shape == clip.shape and frames.dtype == np.uint8 and fps == 12.5
    mse = np.mean((frames.astype(float) - clip) ** 2)
    assert 10 * np.log10(255 ** 2 / mse) > 30  # lossy mp4v, but close
    info = probe_video(path)
    assert (info.frames, info.height, info.width) == (12, 48, 64)


def test_write_video_takes_a_generator_of_frames(tmp_path):
    clip = smooth_clip(frames=5)
    write_video(tmp_path / "g.mp4", (frame for frame in clip), fps=25)
    assert read_video(tmp_path / "g.mp4")[0].shape == (5, 48, 64, 3)


def test_chunks_are_read_lazily_and_cover_the_video_once(tmp_path):
    clip = smooth_clip(frames=10)
    write_video(tmp_path / "c.mp4", clip, fps=25)
    write_frames(tmp_path / "pngs", clip)
    for source in (tmp_path / "c.mp4", tmp_path / "pngs"):
        chunks = iter_video(source, chunk_size=4)
        first = next(chunks)
        assert first.shape == (4, 48, 64, 3)
        assert [len(c) for c in chunks] == [4, 2]
    np.testing.assert_array_equal(np.concatenate(list(iter_video(tmp_path / "pngs", 3))), clip)


def test_existing_outputs_are_not_overwritten_unless_asked(tmp_path):
    clip = smooth_clip(frames=3)
    write_video(tmp_path / "v.mp4", clip, fps=25)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        write_video(tmp_path / "v.mp4", clip, fps=25)
    write_video(tmp_path / "v.mp4", clip[:2], fps=25, overwrite=True)
    assert len(read_video(tmp_path / "v.mp4")[0]) == 2
    write_frames(tmp_path / "f", clip)
    with pytest.raises(FileExistsError, match="already holds 3 files"):
        write_frames(tmp_path / "f", clip)
    with pytest.raises(ValueError, match="uint8 RGB"):
        write_frames(tmp_path / "f", clip.astype(np.float32), overwrite=True)  # refused before deleting anything
    assert len(read_frames(tmp_path / "f")) == 3
    write_frames(tmp_path / "f", clip[:1], overwrite=True)  # the old frames are removed, not left behind
    assert len(read_frames(tmp_path / "f")) == 1


def test_a_failed_write_leaves_no_file(tmp_path):
    frames = [smooth_clip(frames=1)[0], np.zeros((10, 10, 3), np.uint8)]  # second frame has another size
    with pytest.raises(ValueError, match="frame 1 has shape"):
        write_video(tmp_path / "bad.mp4", frames, fps=25)
    assert list(tmp_path.iterdir()) == []


def test_missing_corrupt_and_empty_videos_raise_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such video file"):
        read_video(tmp_path / "missing.mp4")
    (tmp_path / "junk.mp4").write_bytes(b"this is not a video")
    with pytest.raises(ValueError, match="corrupt"):
        read_video(tmp_path / "junk.mp4")
    whole = write_video(tmp_path / "whole.mp4", smooth_clip(), fps=25).read_bytes()
    (tmp_path / "cut.mp4").write_bytes(whole[: len(whole) // 2])  # truncated download: no index at the end
    with pytest.raises(ValueError, match="cannot decode"):
        read_video(tmp_path / "cut.mp4")
    empty = cv2.VideoWriter(str(tmp_path / "empty.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (32, 32))
    empty.release()  # a valid container with zero frames
    with pytest.raises(ValueError, match="no decodable frame"):
        read_video(tmp_path / "empty.avi")
    with pytest.raises(ValueError, match="got a folder"):
        read_video(tmp_path)


def test_frame_folders_refuse_strays_and_mixed_sizes(tmp_path):
    write_frames(tmp_path / "a", smooth_clip(frames=3))
    (tmp_path / "a" / "notes.txt").write_text("shot on a phone")
    with pytest.raises(ValueError, match=r"notes\.txt is not an image file"):
        read_frames(tmp_path / "a")
    (tmp_path / "a" / "notes.txt").unlink()
    (tmp_path / "a" / ".DS_Store").write_bytes(b"\0")  # hidden files are ignored
    assert len(read_frames(tmp_path / "a")) == 3
    cv2.imwrite(str(tmp_path / "a" / "00000003.png"), np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(ValueError, match="all frames must have one size"):
        read_frames(tmp_path / "a")
    with pytest.raises(ValueError, match="all frames must have one size"):
        list(iter_video(tmp_path / "a", chunk_size=3))  # the odd frame is alone in the second chunk
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "0.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match=r"cannot decode the image .*0\.png"):
        read_frames(tmp_path / "b")
    (tmp_path / "c").mkdir()
    with pytest.raises(ValueError, match="no image files"):
        read_frames(tmp_path / "c")
    with pytest.raises(FileNotFoundError, match="no such frame folder"):
        read_frames(tmp_path / "nothing")


@pytest.mark.parametrize("call, error, fragment", [
    (lambda p: write_video(p / "x.avi", smooth_clip(frames=1), 25), ValueError, ".mp4"),
    (lambda p: write_video(p / "x.mp4", smooth_clip(frames=1), 0), ValueError, "fps"),
    (lambda p: write_video(p / "x.mp4", np.zeros((2, 5, 6, 3), np.uint8), 25), ValueError, "even width and height"),
    (lambda p: write_video(p / "x.mp4", np.zeros((2, 6, 6, 3), np.float32), 25), ValueError, "uint8 RGB"),
    (lambda p: write_video(p / "x.mp4", [], 25), ValueError, "no frames"),
    (lambda p: write_frames(p / "f", np.zeros((6, 6, 3), np.uint8)), ValueError, "(T, H, W, 3)"),
    (lambda p: iter_video(p, chunk_size=0), ValueError, "chunk_size"),
    (lambda p: iter_video(p / "missing.mp4"), FileNotFoundError, "no such video file or frame folder"),
])
def test_bad_arguments_are_refused_with_a_message(tmp_path, call, error, fragment):
    with pytest.raises(error) as info:
        call(tmp_path)
    assert fragment in str(info.value)
