"""Images in and out of the studio: uploads are sniffed from their bytes and checked before they are
decoded; results are encoded as PNG, GIF or base64 data URLs."""

from __future__ import annotations

import base64
import io
import warnings

import torch
from PIL import Image, ImageOps

from ganforge.imaging import make_grid, to_float, to_pil
from ganforge.studio.limits import BadImage, StudioError

# Formats the studio decodes, by Pillow's name for what the bytes are (not what a header claims).
ALLOWED_FORMATS = {"PNG": "PNG", "JPEG": "JPEG", "WEBP": "WebP", "BMP": "BMP", "GIF": "GIF"}
FORMAT_LIST = "PNG, JPEG, WebP, BMP or GIF"


def open_upload(data: bytes, max_pixels: int, what: str = "image") -> Image.Image:
    """Decode uploaded bytes into an RGB or L image, refusing what is not a whole, allowed image.

    The type is sniffed from the bytes; the pixel count is read from the header and checked before
    anything is decoded, so a small file that would expand to gigabytes (a decompression bomb) is
    refused cheaply. Raises `BadImage` with a 4xx status naming the problem."""
    if not data:
        raise BadImage(f"the {what} upload is empty", status=400)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise BadImage(
            f"the {what} declares far too many pixels (a decompression bomb?); "
            f"the studio takes at most {max_pixels:,}",
            status=413,
        ) from None
    except Exception:
        raise BadImage(f"the {what} upload is not an image; send a {FORMAT_LIST} file", status=415) from None
    if image.format not in ALLOWED_FORMATS:
        raise BadImage(
            f"the {what} is a {image.format} file, which the studio does not take; send a {FORMAT_LIST} file",
            status=415,
        )
    w, h = image.size
    if w < 1 or h < 1:
        raise BadImage(f"the {what} has no pixels ({w}x{h})", status=400)
    if w * h > max_pixels:
        raise BadImage(
            f"the {what} is {w}x{h} = {w * h:,} pixels; "
            f"the studio takes at most {max_pixels:,}: resize it first",
            status=413,
        )
    try:
        image.verify()  # structure and checksums, without decoding pixels
        image = Image.open(io.BytesIO(data))
        image.load()  # a truncated file fails here
        image = ImageOps.exif_transpose(image)
    except Exception as err:
        raise BadImage(
            f"the {what} is truncated or corrupt ({str(err)[:80]}); upload the whole file"
        ) from None
    if image.mode in ("L", "RGB"):
        return image
    if image.mode in ("1", "I", "I;16", "F"):
        return image.convert("L")
    if image.mode in ("LA", "RGBA", "PA") or (image.mode == "P" and "transparency" in image.info):
        # transparent pixels are shown on white, as a browser shows them
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return image.convert("RGB")


def pil_to_tensor(image: Image.Image, channels: int | None = None) -> torch.Tensor:
    """L or RGB PIL image -> (1, C, H, W) float in [-1, 1]; `channels` 1 or 3 converts, None keeps."""
    if channels is not None:
        image = image.convert("L" if channels == 1 else "RGB")
    channels = 1 if image.mode == "L" else 3
    data = torch.frombuffer(bytearray(image.tobytes()), dtype=torch.uint8)
    hwc = data.view(image.height, image.width, channels)  # (H, W, C)
    return to_float(hwc.permute(2, 0, 1)[None].contiguous())  # (1, C, H, W)


def mask_to_tensor(image: Image.Image, size: tuple[int, int]) -> torch.Tensor:
    """A painted mask (white = the hole to fill) -> (1, 1, H, W) float, 1 inside the hole."""
    if image.size != size:
        raise BadImage(
            f"the mask is {image.size[0]}x{image.size[1]} but the image is {size[0]}x{size[1]}; "
            "paint the mask over the same image"
        )
    gray = torch.frombuffer(bytearray(image.convert("L").tobytes()), dtype=torch.uint8)
    return (gray.view(1, 1, size[1], size[0]) > 127).float()  # (1, 1, H, W)


def to_image(images: torch.Tensor, nrow: int | None = None, scale: int = 1) -> Image.Image:
    """(N, C, H, W) in [-1, 1] -> one PIL image (a grid when N > 1), upscaled `scale` times."""
    padding = 2 if images.shape[0] > 1 else 0
    image = to_pil(make_grid(images, nrow=nrow, padding=padding))
    if scale > 1:
        image = image.resize((image.width * scale, image.height * scale), Image.NEAREST)
    return image


def png_bytes(images: torch.Tensor, nrow: int | None = None, scale: int = 1) -> bytes:
    buffer = io.BytesIO()
    to_image(images, nrow, scale).save(buffer, format="PNG")
    return buffer.getvalue()


def gif_bytes(frames: torch.Tensor, fps: int = 12, scale: int = 1) -> bytes:
    """An animated, looping GIF of frames (F, C, H, W)."""
    if fps < 1 or fps > 60:
        raise StudioError(f"fps {fps} must lie in 1..60")
    images = [to_image(f[None], scale=scale) for f in frames]
    buffer = io.BytesIO()
    images[0].save(
        buffer, format="GIF", save_all=True, append_images=images[1:], duration=round(1000 / fps), loop=0
    )
    return buffer.getvalue()


def data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()
