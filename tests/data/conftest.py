"""Fixtures for the data tests: an isolated cache directory, captured warnings, sample image files."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganforge import console


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache for the whole session, so that the emoji are rendered once, never in ~/.cache."""
    return tmp_path_factory.mktemp("ganforge-cache")


@pytest.fixture(autouse=True)
def isolated_cache(session_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GANFORGE_CACHE", str(session_cache))
    return session_cache


@pytest.fixture
def warnings_seen(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every `console.warn` message, in order."""
    seen: list[str] = []
    monkeypatch.setattr(console, "warn", seen.append)
    return seen


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def bomb_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny PNG whose header claims width x height pixels."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit gray
    pixels = zlib.compress(b"\0" * 64)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", pixels)
        + png_chunk(b"IEND", b"")
    )


def png_bytes(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def gradient(height: int, width: int) -> np.ndarray:
    """A (height, width) uint8 pattern that no flip or rotation maps onto itself."""
    y, x = np.mgrid[0:height, 0:width]
    return ((x * 3 + y * 7) % 256).astype(np.uint8)


def write_good_images(folder: Path) -> dict[str, bool]:
    """One small image per supported mode and format; returns {file name: is gray}."""
    folder.mkdir(parents=True, exist_ok=True)
    rgb = np.stack([gradient(24, 32), gradient(24, 32)[::-1], np.full((24, 32), 90, np.uint8)], -1)
    gray = gradient(24, 32)
    palette = Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    palette_transparent = palette.copy()
    palette_transparent.info["transparency"] = 0
    samples = {
        "gray.png": (Image.fromarray(gray), True),
        "gray_alpha.png": (Image.fromarray(np.stack([gray, np.full_like(gray, 200)], -1), "LA"), True),
        "rgb.jpg": (Image.fromarray(rgb), False),
        "rgba.png": (Image.fromarray(np.dstack([rgb, np.full_like(gray, 128)]), "RGBA"), False),
        "palette.gif": (palette, False),
        "palette_transparent.png": (palette_transparent, False),
        "deep16.png": (Image.fromarray(gray.astype(np.uint16) * 257), True),
        "cmyk.jpg": (Image.fromarray(rgb).convert("CMYK"), False),
        "bilevel.bmp": (Image.fromarray(gray > 128), True),
        "rgb.webp": (Image.fromarray(rgb), False),
        "rgb.bmp": (Image.fromarray(rgb), False),
        "rgb.tiff": (Image.fromarray(rgb), False),
    }
    for name, (image, _) in samples.items():
        kwargs = {"lossless": True} if name.endswith(".webp") else {}
        image.save(folder / name, **kwargs)
    return {name: is_gray for name, (_, is_gray) in samples.items()}


def write_bad_images(folder: Path) -> list[str]:
    """Files with an image extension that must each be skipped with one warning."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "zero.png").write_bytes(b"")
    (folder / "text.png").write_text("these are notes, not pixels\n")
    (folder / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4)
    full = folder / "truncated_full.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), np.uint8)).save(full)
    (folder / "truncated.png").write_bytes(full.read_bytes()[:-400])
    full.unlink()
    jpeg = folder / "truncated_full.jpg"
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (64, 64, 3), np.uint8)).save(jpeg, quality=95)
    (folder / "truncated.jpg").write_bytes(jpeg.read_bytes()[: len(jpeg.read_bytes()) // 2])
    jpeg.unlink()
    (folder / "bomb.png").write_bytes(bomb_png())
    damaged = bytearray(png_bytes(np.random.default_rng(2).integers(0, 256, (32, 32, 3), np.uint8)))
    damaged[len(damaged) // 2 : len(damaged) // 2 + 16] = bytes(16)  # inside IDAT: the CRC no longer matches
    (folder / "corrupt.png").write_bytes(bytes(damaged))
    return sorted(
        ["zero.png", "text.png", "corrupt.jpg", "corrupt.png", "truncated.png", "truncated.jpg", "bomb.png"]
    )


@pytest.fixture
def make_bomb() -> Callable[[int, int], bytes]:
    return bomb_png


@pytest.fixture
def sample_folder(tmp_path: Path) -> Callable[..., tuple[Path, dict[str, bool], list[str]]]:
    def make(with_bad: bool = True) -> tuple[Path, dict[str, bool], list[str]]:
        root = tmp_path / "images"
        good = write_good_images(root)
        bad = write_bad_images(root) if with_bad else []
        (root / "notes.txt").write_text("ignored: not an image extension")
        (root / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
        return root, good, bad

    return make
