"""Decode one image file into a square uint8 array, robustly: every bad file becomes one warning.

Whatever the file holds, the result is 8-bit gray (H, W) or RGB (H, W, 3):

- transparency (LA, RGBA, PA, P or L/RGB with a transparent colour) is composited on white;
- 16-bit gray (I;16, I) is scaled to 8 bits (v / 257), not clipped;
- CMYK, YCbCr, bilevel and palette images are converted to RGB or gray;
- the EXIF orientation tag is applied, so photos from phones are upright;
- non-square images are center-cropped (`fit="crop"`) or padded to a square with white
  (`fit="pad"`; white like the alpha background, so padded and transparent areas look alike);
- the square is resized to `size` with Lanczos, which antialiases when downscaling.

Corrupt, empty, truncated, over-large (decompression bombs) and unsupported files raise
`BadImage`; `decode_image` turns that into one `warn` line and returns None.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ganforge import console

Fit = Literal["crop", "pad"]

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff")
MAX_PIXELS = 8000 * 8000  # larger images are refused as possible decompression bombs
WHITE = 255


class BadImage(Exception):
    """A file that cannot be used as an image; the message is the reason, for the warning line."""


def decode_image(path: str | Path, size: int, fit: Fit = "crop") -> np.ndarray | None:
    """Read `path` as a (size, size) gray or (size, size, 3) RGB uint8 array.

    Returns None, after one warning line naming the file and the reason, when the file is bad.
    """
    try:
        return read_image(path, size, fit)
    except BadImage as err:
        console.warn(f"skipping {path}: {err}")
        return None


def read_image(path: str | Path, size: int, fit: Fit = "crop") -> np.ndarray:
    """Like `decode_image`, but raise `BadImage` for a bad file instead of warning."""
    image = open_image(path, draft_size=2 * size)
    return fit_and_resize(image, size, fit)


def open_image(path: str | Path, draft_size: int | None = None) -> Image.Image:
    """Fully decode `path` and convert it to an upright 8-bit "L" or "RGB" image."""
    path = Path(path)
    try:
        nbytes = path.stat().st_size
    except OSError as err:
        raise BadImage(f"cannot read it ({err.strerror or err})") from None
    if nbytes == 0:
        raise BadImage("empty file (0 bytes)")
    # catch_warnings changes process-wide state and is not thread-safe: decode from one thread.
    with warnings.catch_warnings():
        # Pillow only warns between MAX_IMAGE_PIXELS and twice that; a warning is a refusal here.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(path) as image:
                width, height = image.size
                if width * height > MAX_PIXELS:
                    raise BadImage(
                        f"{width}x{height} pixels is over the {MAX_PIXELS:,} limit (decompression-bomb guard)"
                    )
                if draft_size and image.format == "JPEG":
                    # Let libjpeg decode at 1/2, 1/4 or 1/8 scale while both sides stay >= draft_size.
                    image.draft(None, (draft_size, draft_size))
                # Decode everything now. With Pillow's default ImageFile.LOAD_TRUNCATED_IMAGES = False
                # (left alone here: it is process-wide), a truncated file raises instead of loading gray.
                image.load()
                upright = ImageOps.exif_transpose(image)
        except BadImage:
            raise
        except UnidentifiedImageError:
            raise BadImage("not a readable image (unknown format or damaged header)") from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
            raise BadImage(f"refused as a possible decompression bomb ({_one_line(err)})") from None
        except Exception as err:  # noqa: BLE001 - Pillow's plugins raise many types on malformed input
            raise BadImage(f"corrupt or truncated ({_one_line(err)})") from None
    return to_8bit(upright)


def to_8bit(image: Image.Image) -> Image.Image:
    """Convert any supported mode to "L" or "RGB", compositing transparency on white."""
    mode = image.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        # Pillow keeps 16-bit gray as I;16 (or I); scale the full 0..65535 range to 0..255.
        values = np.asarray(image).astype(np.float64)
        return Image.fromarray(np.clip(np.round(values / 257.0), 0, 255).astype(np.uint8), "L")
    if mode in ("L", "RGB") and "transparency" in image.info:
        image, mode = image.convert(mode + "A"), mode + "A"
    conversions = {"1": "L", "P": "RGBA" if "transparency" in image.info else "RGB", "PA": "RGBA"}
    conversions |= {"La": "LA", "RGBa": "RGBA", "RGBX": "RGB", "CMYK": "RGB", "YCbCr": "RGB"}
    if mode in conversions:
        image, mode = image.convert(conversions[mode]), conversions[mode]
    if mode in ("LA", "RGBA"):
        return _composite_on_white(image)
    if mode not in ("L", "RGB"):
        raise BadImage(f"unsupported image mode {mode}; convert it to RGB or grayscale")
    return image


def _composite_on_white(image: Image.Image) -> Image.Image:
    array = np.asarray(image).astype(np.float32)
    color, alpha = array[..., :-1], array[..., -1:] / 255.0
    blended = np.round(color * alpha + WHITE * (1.0 - alpha)).astype(np.uint8)
    return Image.fromarray(blended[..., 0] if blended.shape[-1] == 1 else blended, image.mode[:-1])


def fit_and_resize(image: Image.Image, size: int, fit: Fit = "crop") -> np.ndarray:
    """Make `image` square by `fit`, resize to (size, size) and return it as a uint8 array."""
    width, height = image.size
    if fit == "crop":
        side = min(width, height)
        left, top = (width - side) // 2, (height - side) // 2
        box = (left, top, left + side, top + side)
    elif fit == "pad":
        side = max(width, height)
        canvas = Image.new(image.mode, (side, side), WHITE if image.mode == "L" else (WHITE,) * 3)
        canvas.paste(image, ((side - width) // 2, (side - height) // 2))
        image, box = canvas, (0, 0, side, side)
    else:
        raise ValueError(f"fit must be 'crop' or 'pad', got {fit!r}")
    if (side, side) == (size, size) and box == (0, 0, size, size):
        return np.array(image)
    # reducing_gap: shrink big images with a fast box filter first, then Lanczos for the last 3x.
    resized = image.resize((size, size), Image.Resampling.LANCZOS, box=box, reducing_gap=3.0)
    return np.array(resized)  # a writable copy, so that torch.from_numpy can share it


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    return text if len(text) <= 160 else text[:157] + "..."
