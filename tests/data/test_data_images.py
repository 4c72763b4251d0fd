"""Decoding single image files: modes, formats, EXIF orientation, crop/pad, and bad files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganforge.data import images
from ganforge.data.images import BadImage, decode_image, open_image, read_image


def save(path: Path, image: Image.Image, **kwargs) -> Path:
    image.save(path, **kwargs)
    return path


def test_gray_is_kept_exactly(tmp_path: Path) -> None:
    pixels = (np.arange(16 * 16).reshape(16, 16) % 251).astype(np.uint8)
    out = read_image(save(tmp_path / "g.png", Image.fromarray(pixels)), 16)
    assert out.shape == (16, 16) and out.dtype == np.uint8
    np.testing.assert_array_equal(out, pixels)


def test_sixteen_bit_gray_is_scaled_not_clipped(tmp_path: Path) -> None:
    deep = np.array([[0, 257, 1000, 32896], [65535, 65535, 514, 25700]], np.uint16)
    path = save(tmp_path / "deep.png", Image.fromarray(deep))
    assert Image.open(path).mode in ("I;16", "I")
    out = np.asarray(open_image(path))
    np.testing.assert_array_equal(out, [[0, 1, 4, 128], [255, 255, 2, 100]])


def test_alpha_is_composited_on_white(tmp_path: Path) -> None:
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[0] = (255, 0, 0, 255)  # opaque red
    rgba[1] = (255, 0, 0, 0)  # fully transparent: white
    rgba[2] = (0, 0, 0, 128)  # half-transparent black: 255 * (1 - 128/255) = 127
    rgba[3] = (0, 0, 255, 51)  # 20% blue over white
    out = np.asarray(open_image(save(tmp_path / "a.png", Image.fromarray(rgba, "RGBA"))))
    assert out.shape == (4, 4, 3)
    np.testing.assert_array_equal(out[0], [[255, 0, 0]] * 4)
    np.testing.assert_array_equal(out[1], [[255, 255, 255]] * 4)
    np.testing.assert_array_equal(out[2], [[127, 127, 127]] * 4)
    np.testing.assert_array_equal(out[3], [[204, 204, 255]] * 4)
    la = np.stack([np.zeros((2, 2), np.uint8), np.full((2, 2), 128, np.uint8)], -1)
    out = np.asarray(open_image(save(tmp_path / "la.png", Image.fromarray(la, "LA"))))
    assert out.shape == (2, 2)
    np.testing.assert_array_equal(out, 127)


def test_palette_with_and_without_transparency(tmp_path: Path) -> None:
    image = Image.new("P", (4, 2))
    image.putpalette([0, 0, 0, 10, 200, 30] + [0] * 762)
    image.putdata([0, 1, 1, 0, 1, 1, 0, 0])
    out = np.asarray(open_image(save(tmp_path / "p.png", image)))
    assert out.shape == (2, 4, 3)
    np.testing.assert_array_equal(out[0, :2], [[0, 0, 0], [10, 200, 30]])
    gif = save(tmp_path / "p.gif", image, transparency=0)
    out = np.asarray(open_image(gif))
    np.testing.assert_array_equal(out[0, :2], [[255, 255, 255], [10, 200, 30]])


def test_first_frame_of_an_animated_gif(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (8, 8), color) for color in ((200, 0, 0), (0, 0, 200))]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100)
    out = read_image(path, 8)
    assert out.shape == (8, 8, 3)
    assert out[..., 0].min() > 180 and out[..., 2].max() < 30


@pytest.mark.parametrize(
    ("name", "mode", "expected_shape"),
    [
        ("cmyk.jpg", "CMYK", (12, 12, 3)),
        ("bilevel.png", "1", (12, 12)),
        ("rgb.webp", "RGB", (12, 12, 3)),
        ("rgb.bmp", "RGB", (12, 12, 3)),
        ("ycc.jpg", "RGB", (12, 12, 3)),
        ("rgb.tif", "RGB", (12, 12, 3)),
    ],
)
def test_modes_and_formats(tmp_path: Path, name: str, mode: str, expected_shape: tuple[int, ...]) -> None:
    base = Image.new("RGB", (12, 12), (250, 250, 250))
    base.paste((0, 0, 0), (0, 0, 6, 12))  # left half black
    image = base.convert(mode)
    path = save(tmp_path / name, image, **({"lossless": True} if name.endswith("webp") else {}))
    out = read_image(path, 12)
    assert out.shape == expected_shape
    left, right = out[:, :5].astype(int), out[:, 7:].astype(int)
    assert left.max() < 40 and right.min() > 215


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    # Stored 64 wide x 32 tall: left half black, right half white. Orientation 6 says "rotate 90 degrees
    # clockwise to display", which puts the left half on top: 32 wide x 64 tall, black above white.
    stored = np.full((32, 64), 255, np.uint8)
    stored[:, :32] = 0
    exif = Image.Exif()
    exif[0x0112] = 6
    path = save(tmp_path / "phone.jpg", Image.fromarray(stored), exif=exif.tobytes(), quality=95)
    upright = open_image(path)
    assert upright.size == (32, 64)
    pixels = np.asarray(upright).astype(int)
    assert pixels[:28].max() < 30 and pixels[36:].min() > 225
    cropped = read_image(path, 32, "crop").astype(int)  # the middle 32 rows: black top, white bottom
    assert cropped[:14].max() < 30 and cropped[18:].min() > 225


def test_crop_takes_the_center(tmp_path: Path) -> None:
    stripes = np.zeros((20, 60, 3), np.uint8)
    stripes[:, :20] = (0, 0, 255)
    stripes[:, 20:40] = (0, 255, 0)
    stripes[:, 40:] = (255, 0, 0)
    out = read_image(save(tmp_path / "s.png", Image.fromarray(stripes)), 20, "crop")
    assert out.shape == (20, 20, 3)
    np.testing.assert_array_equal(out, np.broadcast_to([0, 255, 0], (20, 20, 3)))


def test_pad_adds_white_bars(tmp_path: Path) -> None:
    wide = np.zeros((20, 40, 3), np.uint8)
    wide[:] = (255, 0, 0)
    out = read_image(save(tmp_path / "w.png", Image.fromarray(wide)), 40, "pad")
    assert out.shape == (40, 40, 3)
    np.testing.assert_array_equal(out[:10], 255)
    np.testing.assert_array_equal(out[30:], 255)
    np.testing.assert_array_equal(out[10:30], np.broadcast_to([255, 0, 0], (20, 40, 3)))


def test_downscale_is_antialiased(tmp_path: Path) -> None:
    checker = ((np.indices((64, 64)).sum(0) % 2) * 255).astype(np.uint8)
    out = read_image(save(tmp_path / "c.png", Image.fromarray(checker)), 8)
    assert out.shape == (8, 8)
    assert np.abs(out.astype(int) - 128).max() <= 2  # a 1-pixel checkerboard averages to mid-gray


def test_upscale_and_large_jpeg_draft(tmp_path: Path) -> None:
    small = read_image(save(tmp_path / "tiny.png", Image.new("L", (4, 4), 77)), 32)
    assert small.shape == (32, 32) and set(np.unique(small)) == {77}
    big = Image.new("RGB", (1200, 800), (30, 160, 90))
    out = read_image(save(tmp_path / "big.jpg", big, quality=95), 48)
    assert out.shape == (48, 48, 3)
    assert np.abs(out.astype(int) - [30, 160, 90]).max() <= 4


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("zero.png", "empty file"),
        ("text.png", "not a readable image"),
        ("corrupt.jpg", "damaged header"),
        ("corrupt.png", "corrupt or truncated"),
        ("truncated.png", "truncated"),
        ("truncated.jpg", "truncated"),
        ("bomb.png", "decompression bomb"),
    ],
)
def test_bad_file_warns_once_and_returns_none(
    sample_folder, warnings_seen: list[str], name: str, reason: str
) -> None:
    root, _, bad = sample_folder()
    assert name in bad
    assert decode_image(root / name, 16) is None
    assert len(warnings_seen) == 1
    prefix = f"skipping {root / name}: "
    assert warnings_seen[0].startswith(prefix)
    assert reason in warnings_seen[0].removeprefix(prefix)


def test_own_pixel_limit_is_below_pillows(tmp_path: Path, make_bomb: Callable[[int, int], bytes]) -> None:
    # 9000 x 9000 = 81 M pixels: under Pillow's default limit (89 M), over ganforge's (64 M).
    path = tmp_path / "big.png"
    path.write_bytes(make_bomb(9000, 9000))
    with pytest.raises(BadImage, match="9000x9000 pixels is over the 64,000,000 limit"):
        read_image(path, 16)


def test_pixel_limit_is_configurable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = save(tmp_path / "ok.png", Image.new("RGB", (100, 100)))
    assert read_image(path, 10).shape == (10, 10, 3)
    monkeypatch.setattr(images, "MAX_PIXELS", 99 * 99)
    with pytest.raises(BadImage, match="100x100 pixels is over the 9,801 limit"):
        read_image(path, 10)


def test_unsupported_mode_is_a_bad_file(tmp_path: Path, warnings_seen: list[str]) -> None:
    path = save(tmp_path / "float.tif", Image.fromarray(np.zeros((4, 4), np.float32)))
    assert decode_image(path, 4) is None
    assert warnings_seen == [f"skipping {path}: unsupported image mode F; convert it to RGB or grayscale"]


def test_warning_is_one_line_on_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / ("a-rather-long-file-name-" * 6 + ".png")
    path.write_bytes(b"")
    assert decode_image(path, 8) is None
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err == f"warning: skipping {path}: empty file (0 bytes)\n"
