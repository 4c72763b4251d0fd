"""Render the color emoji of a CBDT font (Noto Color Emoji) into a uint8 image tensor.

The single codepoints come from the font's own cmap table and the sequences (ZWJ families and
professions, skin tones, flags, keycaps) from its GSUB ligature lookups, both parsed here from the
TTF bytes (fontTools is not a dependency). Noto Color Emoji gives about 1,400 + 2,500 = 3,900
images; rendering them takes a few seconds, and the result is cached with each image's coarse group
(`ganforge.data.emoji_groups`) as its label.
"""

from __future__ import annotations

import os
import struct
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from ganforge import console
from ganforge.data.emoji_groups import EMOJI_GROUPS, emoji_group
from ganforge.data.font_gsub import ligature_sequences
from ganforge.fileio import atomic_path

BITMAP_SIZE = 109  # the only size whose bitmap strike Noto Color Emoji has; FreeType refuses others
# Codepoints that only make sense inside a sequence, or are not pictures on their own.
EXCLUDED_RANGES = (
    (0x0000, 0x009F),  # ASCII and C1: space, digits, '#', '*' (keycap bases) and controls
    (0x200D, 0x200D),  # zero-width joiner
    (0x20E3, 0x20E3),  # combining enclosing keycap: an empty keycap alone
    (0xFE00, 0xFE0F),  # variation selectors
    (0x1F1E6, 0x1F1FF),  # regional indicator letters: flags are pairs of these
    (0x1F3FB, 0x1F3FF),  # skin-tone modifiers: plain colour swatches alone
    (0x1F9B0, 0x1F9B3),  # hair-style components
    (0xE0000, 0xE007F),  # tag characters (subdivision flags)
)


def font_codepoints(font_path: str | Path) -> list[int]:
    """Every codepoint the font maps to a glyph, read from its cmap (formats 12 and 4)."""
    data = Path(font_path).read_bytes()
    num_tables = struct.unpack_from(">H", data, 4)[0]
    cmap = None
    for i in range(num_tables):
        tag, _, offset, _ = struct.unpack_from(">4sIII", data, 12 + 16 * i)
        if tag == b"cmap":
            cmap = offset
    if cmap is None:
        raise ValueError(f"{font_path} has no cmap table")
    subtables = {}
    for i in range(struct.unpack_from(">H", data, cmap + 2)[0]):
        platform, encoding, offset = struct.unpack_from(">HHI", data, cmap + 4 + 8 * i)
        fmt = struct.unpack_from(">H", data, cmap + offset)[0]
        subtables.setdefault(fmt, cmap + offset)
    if 12 in subtables:
        return _cmap_format12(data, subtables[12])
    if 4 in subtables:
        return _cmap_format4(data, subtables[4])
    raise ValueError(f"{font_path} has no Unicode cmap subtable of format 12 or 4")


def _cmap_format12(data: bytes, start: int) -> list[int]:
    num_groups = struct.unpack_from(">I", data, start + 12)[0]
    codepoints = []
    for g in range(num_groups):
        first, last, _glyph = struct.unpack_from(">III", data, start + 16 + 12 * g)
        codepoints.extend(range(first, last + 1))
    return sorted(set(codepoints))


def _cmap_format4(data: bytes, start: int) -> list[int]:
    segments = struct.unpack_from(">H", data, start + 6)[0] // 2
    ends_at = start + 14
    starts_at = ends_at + 2 * segments + 2  # skip reservedPad
    deltas_at = starts_at + 2 * segments
    range_offsets_at = deltas_at + 2 * segments
    codepoints = []
    for s in range(segments):
        first, last = (struct.unpack_from(">H", data, at + 2 * s)[0] for at in (starts_at, ends_at))
        delta = struct.unpack_from(">h", data, deltas_at + 2 * s)[0]
        range_offset = struct.unpack_from(">H", data, range_offsets_at + 2 * s)[0]
        for code in range(first, min(last, 0xFFFE) + 1):
            if range_offset == 0:
                glyph = (code + delta) & 0xFFFF
            else:
                glyph_at = range_offsets_at + 2 * s + range_offset + 2 * (code - first)
                glyph = struct.unpack_from(">H", data, glyph_at)[0]
                glyph = (glyph + delta) & 0xFFFF if glyph else 0
            if glyph:
                codepoints.append(code)
    return codepoints


def is_emoji_candidate(codepoint: int) -> bool:
    return not any(low <= codepoint <= high for low, high in EXCLUDED_RANGES)


def emoji_texts(font_path: str | Path) -> list[str]:
    """Every picture the font draws: its single emoji codepoints, then its ligature sequences."""
    singles = [chr(c) for c in font_codepoints(font_path) if is_emoji_candidate(c)]
    return singles + ligature_sequences(font_path)


def render_emoji(font_path: str | Path, size: int = 64) -> tuple[torch.Tensor, list[str]]:
    """Render every emoji of the font on white, centered on a square, resized to (size, size).

    Returns (N, 3, size, size) uint8 images and the N texts (one codepoint or a sequence). Glyphs
    that render blank are left out.
    """
    # BASIC layout for single codepoints (raqm fails on some control codepoints); raqm shapes the
    # sequences so that GSUB turns each into its one ligature glyph.
    basic = ImageFont.truetype(str(font_path), BITMAP_SIZE, layout_engine=ImageFont.Layout.BASIC)
    shaped = ImageFont.truetype(str(font_path), BITMAP_SIZE, layout_engine=ImageFont.Layout.RAQM)
    images, kept = [], []
    for text in emoji_texts(font_path):
        font = basic if len(text) == 1 else shaped
        left, top, right, bottom = font.getbbox(text)
        width, height = right - left, bottom - top
        if width <= 0 or height <= 0 or width > 1.5 * 136:  # blank, or a sequence the shaper did not join
            continue
        # One canvas size for all glyphs (136 for Noto) keeps the emoji at the same scale.
        side = max(136, width, height)
        canvas = Image.new("RGB", (side, side), (255, 255, 255))
        origin = ((side - width) / 2 - left, (side - height) / 2 - top)
        ImageDraw.Draw(canvas).text(origin, text, font=font, embedded_color=True)
        pixels = np.asarray(canvas.resize((size, size), Image.Resampling.LANCZOS))
        if pixels.min() == 255:
            continue
        images.append(pixels.transpose(2, 0, 1))
        kept.append(text)
    if not images:
        raise ValueError(f"no color emoji glyph rendered from {font_path}")
    return torch.from_numpy(np.stack(images)), kept


def render_cached(font_path: str | Path, size: int, cache_path: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """`render_emoji` images and their groups (N,) int64, indices into EMOJI_GROUPS: read from
    `cache_path` when it holds them, else rendered and saved there.

    The cache is a dict of two plain tensors (`torch.save`), loaded with `weights_only=True`.
    """
    cached = _read_cache(cache_path, size)
    if cached is not None:
        return cached
    started = time.perf_counter()
    images, texts = render_emoji(font_path, size)
    labels = torch.tensor([EMOJI_GROUPS.index(emoji_group(text)) for text in texts], dtype=torch.int64)
    console.info(f"rendered {len(images)} emoji in {time.perf_counter() - started:.1f} s")
    _write_cache(cache_path, images, labels)
    return images, labels


def _read_cache(path: Path, size: int) -> tuple[torch.Tensor, torch.Tensor] | None:
    if not path.is_file():
        return None
    try:
        cached = torch.load(path, weights_only=True)
    except Exception as err:  # noqa: BLE001 - an unreadable cache is simply rendered again
        console.warn(f"emoji cache {path} is unreadable ({type(err).__name__}); rendering the emoji again")
        return None
    images = cached.get("images") if isinstance(cached, dict) else None
    labels = cached.get("labels") if isinstance(cached, dict) else None
    if (
        isinstance(images, torch.Tensor)
        and images.dtype == torch.uint8
        and images.shape[1:] == (3, size, size)
        and isinstance(labels, torch.Tensor)
        and labels.dtype == torch.int64
        and labels.shape == images.shape[:1]
        and (len(labels) == 0 or 0 <= int(labels.min()) <= int(labels.max()) < len(EMOJI_GROUPS))
    ):
        return images, labels
    console.warn(
        f"emoji cache {path} does not hold {size}x{size} RGB images with their groups; "
        "rendering the emoji again"
    )
    return None


def _write_cache(path: Path, images: torch.Tensor, labels: torch.Tensor) -> None:
    try:
        with atomic_path(path) as tmp:
            torch.save({"images": images.contiguous(), "labels": labels.contiguous()}, tmp)
            os.chmod(tmp, 0o644)
    except OSError as err:
        console.warn(
            f"could not cache the rendered emoji in {path.parent} ({err.strerror}); set GANFORGE_CACHE"
        )
