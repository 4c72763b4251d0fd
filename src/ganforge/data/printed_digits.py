"""Printed digits rendered from the installed fonts: an offline source domain in the spirit of SVHN.

Each image is one digit 0-9 (its label) in a random installed font, with a random text and
background color (a minimum luminance contrast apart, either polarity), a random height, rotation
and offset from the center, an optional shading gradient across the background, optional
neighbouring digits cut off at the sides (SVHN crops show them), a slight blur and pixel noise.
Rendering is supersampled and box-filtered down, deterministic for a seed and a set of fonts.

Two built-ins are registered: `printed-digits` (20,000 images, seed 0, for training) and
`printed-digits-test` (2,000 images, seed 1, for scoring), 32x32 RGB, cached after the first run.
"""

from __future__ import annotations

import functools
import hashlib
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from ganforge import console
from ganforge.data.builtin import DIGIT_NAMES, Builtin, register
from ganforge.data.dataset import ImageData
from ganforge.data.download import cache_dir, system_paths
from ganforge.errors import DataError
from ganforge.fileio import atomic_path

FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "~/.local/share/fonts", "~/.fonts")
FONT_SUFFIXES = (".ttf", ".otf")
# Fonts whose digits are not ordinary digits: emoji, math and symbol fonts.
EXCLUDED_FONT_WORDS = ("emoji", "math", "symbol", "dingbat", "wingding", "icon")
RENDER_VERSION = 1  # bump when rendering changes, so that old caches are not used
_REFERENCE_PX = 100  # font size at which digit heights are measured


@dataclass(frozen=True)
class RenderStyle:
    """The ranges every random draw comes from (fractions are of the image side)."""

    size: int = 32  # output side in pixels
    supersample: int = 3  # rendered at size * supersample, then box-filtered down
    height: tuple[float, float] = (0.5, 0.85)  # digit height
    rotation: float = 15.0  # degrees, uniform in [-rotation, rotation]
    jitter: float = 0.08  # center offset in x and y, uniform in [-jitter, jitter]
    min_contrast: float = 0.3  # |luma(text) - luma(background)| in [0, 1]
    neighbors: float = 0.4  # probability of a neighbouring digit on each side (tall digits only)
    neighbor_height: float = 0.65  # neighbours only beside digits at least this tall, so that they
    # are cut off by the border and the labelled digit stays the obvious one
    gradient: float = 0.6  # strongest background shading toward a second color, in [0, 1]
    blur: float = 0.3  # probability of a slight [1, 2, 1] blur
    noise: float = 0.03  # strongest pixel noise standard deviation, in [0, 1]


def find_fonts(dirs: tuple[str, ...] = FONT_DIRS) -> list[Path]:
    """Installed TrueType/OpenType fonts that draw ten distinct digits, sorted by path."""
    found: set[Path] = set()
    for root in (*system_paths(dirs), cache_dir() / "fonts"):
        if root.is_dir():
            for path in root.rglob("*"):
                name = path.name.lower()
                if name.endswith(FONT_SUFFIXES) and not any(w in name for w in EXCLUDED_FONT_WORDS):
                    found.add(path)
    return [path for path in sorted(found) if _draws_digits(path)]


def _draws_digits(path: Path) -> bool:
    """True when the font renders ten non-empty, pairwise different digit glyphs."""
    try:
        font = ImageFont.truetype(str(path), 32)
    except OSError:
        return False
    masks = set()
    for digit in DIGIT_NAMES:
        mask = font.getmask(digit)
        if mask.size[0] == 0 or mask.size[1] == 0 or not any(bytes(mask)):
            return False
        masks.add(bytes(mask))
    return len(masks) == 10


def fonts_or_raise() -> list[Path]:
    fonts = find_fonts()
    if not fonts:
        raise DataError(
            "no installed font draws digits; apt-get install fonts-dejavu-core fonts-liberation, "
            f"or put .ttf files in {cache_dir() / 'fonts'}"
        )
    return fonts


class _Fonts:
    """Loaded fonts by (path, pixel size), and each font's digit height per pixel of font size."""

    def __init__(self, paths: list[Path]):
        self.paths = paths
        self._loaded: dict[tuple[int, int], ImageFont.FreeTypeFont] = {}
        self.digit_height = []
        for k in range(len(paths)):
            tops, bottoms = zip(
                *(self.get(k, _REFERENCE_PX).getbbox(d)[1::2] for d in DIGIT_NAMES), strict=True
            )
            self.digit_height.append((max(bottoms) - min(tops)) / _REFERENCE_PX)

    def get(self, k: int, px: int) -> ImageFont.FreeTypeFont:
        key = (k, px)
        if key not in self._loaded:
            self._loaded[key] = ImageFont.truetype(str(self.paths[k]), px)
        return self._loaded[key]


@functools.cache
def _grid(side: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel coordinates in [-0.5, 0.5], for the background shading."""
    ys, xs = np.mgrid[0:side, 0:side] / (side - 1) - 0.5
    return ys, xs


def _luma(rgb: np.ndarray) -> float:
    return float(rgb @ np.array([0.299, 0.587, 0.114])) / 255.0


def _colors(rng: np.random.Generator, min_contrast: float) -> tuple[np.ndarray, np.ndarray]:
    background = rng.integers(0, 256, 3).astype(np.float64)
    while True:  # rejection sampling: a handful of tries at most for contrasts up to ~0.5
        text = rng.integers(0, 256, 3).astype(np.float64)
        if abs(_luma(text) - _luma(background)) >= min_contrast:
            return text, background


def _render_one(label: int, rng: np.random.Generator, fonts: _Fonts, style: RenderStyle) -> np.ndarray:
    """One (size, size, 3) uint8 image of digit `label`."""
    side = style.size * style.supersample
    k = int(rng.integers(len(fonts.paths)))
    height = rng.uniform(*style.height) * side
    px = max(4, round(height / fonts.digit_height[k]))
    font = fonts.get(k, px)
    angle = rng.uniform(-style.rotation, style.rotation)
    center = side / 2 + rng.uniform(-style.jitter, style.jitter, 2) * side
    gap = rng.uniform(0.02, 0.12) * side
    sides = (rng.random(2) < style.neighbors) & (height >= style.neighbor_height * side)
    neighbours = rng.integers(0, 10, 2)

    mask = Image.new("L", (side, side), 0)
    draw = ImageDraw.Draw(mask)
    left, top, right, bottom = font.getbbox(str(label))
    width = right - left
    x0, y0 = center[0] - width / 2 - left, center[1] - (top + bottom) / 2
    draw.text((x0, y0), str(label), fill=255, font=font)
    for present, digit, direction in zip(sides, neighbours, (-1, 1), strict=True):
        if present:
            n_left, _, n_right, _ = font.getbbox(str(digit))
            n_width = n_right - n_left
            offset = (width + n_width) / 2 + gap
            nx = center[0] + direction * offset - n_width / 2 - n_left
            draw.text((nx, y0), str(digit), fill=255, font=font)
    mask = mask.rotate(angle, resample=Image.Resampling.BICUBIC, center=tuple(center))
    s, n = style.supersample, style.size
    # Box-filter the coverage down first and composite at the output size: the same image up to the
    # (tiny) correlation of coverage and the smooth shading within one output pixel, and much faster.
    alpha = np.asarray(mask, dtype=np.float64).reshape(n, s, n, s).mean(axis=(1, 3))[..., None] / 255.0

    text, background = _colors(rng, style.min_contrast)
    shade_to = rng.integers(0, 256, 3).astype(np.float64)
    strength = rng.uniform(0, style.gradient)
    theta = rng.uniform(0, 2 * np.pi)
    ys, xs = _grid(n)
    ramp = (np.cos(theta) * xs + np.sin(theta) * ys + 0.5).clip(0, 1)[..., None]  # (n, n, 1)
    background = background + strength * ramp * (shade_to - background)
    small = background * (1 - alpha) + text * alpha  # (n, n, 3)
    blur = rng.random() < style.blur
    sigma = rng.uniform(0, style.noise) * 255.0
    noise = rng.standard_normal(small.shape)
    if blur:
        padded = np.pad(small, ((1, 1), (1, 1), (0, 0)), mode="edge")
        rows = (padded[:-2] + 2 * padded[1:-1] + padded[2:]) / 4
        small = (rows[:, :-2] + 2 * rows[:, 1:-1] + rows[:, 2:]) / 4
    return np.round(small + sigma * noise).clip(0, 255).astype(np.uint8)


def render_digits(
    n: int,
    seed: int = 0,
    style: RenderStyle | None = None,
    fonts: list[Path] | None = None,
) -> ImageData:
    """`n` printed digits as (n, 3, size, size) uint8 with labels 0-9 (each digit n/10 times,
    shuffled). The same seed, style and fonts give the same images on every run."""
    style = style or RenderStyle()
    if n < 1:
        raise DataError(f"render_digits needs n >= 1, got {n}")
    if style.size < 4 or style.supersample < 1:
        raise DataError(f"render style size must be >= 4 and supersample >= 1, got {style}")
    loaded = _Fonts(fonts if fonts is not None else fonts_or_raise())
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % 10)
    images = np.empty((n, 3, style.size, style.size), dtype=np.uint8)
    for i, label in enumerate(labels):
        images[i] = _render_one(int(label), rng, loaded, style).transpose(2, 0, 1)
    return ImageData(
        torch.from_numpy(images),
        torch.from_numpy(labels.astype(np.int64)),
        list(DIGIT_NAMES),
        "printed-digits",
    )


class PrintedDigits(Builtin):
    """A fixed rendering of `count` digits with `seed`, cached in `cache_dir()/printed-digits`."""

    origin = "rendered by ganforge from the installed fonts (fonts-dejavu, fonts-liberation), cached"

    def __init__(self, name: str, count: int, seed: int, purpose: str):
        self.name, self.count, self.seed = name, count, seed
        self.description = (
            f"{count:,} printed digits in many fonts and colors, 32x32 RGB, labels 0-9 ({purpose})"
        )
        self.style = RenderStyle()

    def available(self) -> tuple[bool, str]:
        fonts = find_fonts()
        if fonts:
            return True, f"{len(fonts)} fonts"
        return False, "apt-get install fonts-dejavu-core fonts-liberation"

    def _cache_path(self, fonts: list[Path]) -> Path:
        key = repr(
            (
                RENDER_VERSION,
                self.count,
                self.seed,
                asdict(self.style),
                [(str(p), p.stat().st_size) for p in fonts],
            )
        )
        digest = hashlib.sha256(key.encode()).hexdigest()[:16]
        return cache_dir() / "printed-digits" / f"{self.name}-{digest}.pt"

    def load(self) -> ImageData:
        fonts = fonts_or_raise()
        path = self._cache_path(fonts)
        cached = _read_cache(path, self.count, self.style.size)
        if cached is not None:
            return ImageData(cached[0], cached[1], list(DIGIT_NAMES), self.name)
        started = time.perf_counter()
        data = render_digits(self.count, self.seed, self.style, fonts)
        seconds = time.perf_counter() - started
        console.info(f"rendered {self.count:,} printed digits from {len(fonts)} fonts in {seconds:.1f} s")
        _write_cache(path, data.images, data.labels)
        return ImageData(data.images, data.labels, list(DIGIT_NAMES), self.name)


def _read_cache(path: Path, count: int, size: int) -> tuple[torch.Tensor, torch.Tensor] | None:
    if not path.is_file():
        return None
    try:
        state = torch.load(path, weights_only=True)
        images, labels = state["images"], state["labels"]
    except Exception as err:  # noqa: BLE001 - an unreadable cache is simply rendered again
        console.warn(f"printed-digit cache {path} is unreadable ({type(err).__name__}); rendering again")
        return None
    if (
        images.dtype == torch.uint8
        and tuple(images.shape) == (count, 3, size, size)
        and labels.shape == (count,)
    ):
        return images, labels
    console.warn(f"printed-digit cache {path} holds other images than expected; rendering again")
    return None


def _write_cache(path: Path, images: torch.Tensor, labels: torch.Tensor) -> None:
    try:
        with atomic_path(path) as tmp:
            torch.save({"images": images.contiguous(), "labels": labels.contiguous()}, tmp)
    except OSError as err:
        console.warn(
            f"could not cache the printed digits in {path.parent} ({err.strerror}); set GANFORGE_CACHE"
        )


register(PrintedDigits("printed-digits", 20_000, seed=0, purpose="training"))
register(PrintedDigits("printed-digits-test", 2_000, seed=1, purpose="held out for scoring"))
