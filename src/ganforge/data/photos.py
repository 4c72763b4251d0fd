"""`photos`: real color photographs available offline, for colorize / upscale / inpaint / sketch work.

The photographs come from Debian wallpaper packages (each ships drawings and renders beside its
photos; the photos were picked by eye and are listed by file name below) and from scikit-image's
sample photos. Each photo is decoded once, downscaled so that its short side is `SHORT_SIDE`
pixels, and cached in `cache_dir()/photos` (decoding a 5120x2880 PNG takes seconds).

A fixed set of whole photos (`HELDOUT`) is held out for evaluation and never trained on:
`load()` returns only random crops of the other photos (a fixed choice, seed `CROP_SEED`), and
`load_heldout(size)` the held-out photos, whole (center square), at `size`.
`GANFORGE_NO_SYSTEM_DATA=1` hides the system packages, as on a bare machine.
"""

from __future__ import annotations

import hashlib
import math
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ganforge.data.builtin import Builtin
from ganforge.data.dataset import ImageData
from ganforge.data.download import cache_dir, system_data_hidden
from ganforge.errors import DataError

SHORT_SIDE = 384  # cached photos are downscaled to this short side: sharp, small, quick to crop
CROP_SIZE = 128  # training crops are CROP_SIZE squares (resized again to data.size by load_source)
CROPS_PER_PHOTO = 128  # a fixed choice of crops per training photo; ~2,800 crops, 140 MB as uint8
CROP_SCALE = (0.3, 0.8)  # a crop's side as a fraction of the photo's short side, uniform
CROP_SEED = 0
MIN_PHOTOS = 12  # below this many, a warning says what to install
CACHE_VERSION = 1  # bump when decoding or downscaling changes
PACKAGES = "mate-backgrounds plasma-workspace-wallpapers lomiri-wallpapers-20.04"
INSTALL = f"apt-get install {PACKAGES}"


@dataclass(frozen=True)
class Photo:
    name: str  # short, stable name used in HELDOUT and the cache
    where: str  # a system path, or "skimage:<function>"
    package: str  # the Debian or PyPI package that ships it


def _plasma(name: str, file: str) -> Photo:
    return Photo(name, f"/usr/share/wallpapers/{name}/contents/images/{file}", "plasma-workspace-wallpapers")


def _mate(name: str) -> Photo:
    return Photo(name, f"/usr/share/backgrounds/mate/nature/{name}.jpg", "mate-backgrounds")


# Looked at one by one. Rejected as drawings, renders or graphics: every gnome-backgrounds and
# ukui-wallpapers file, mate's abstract/ and desktop/ folders, lomiri's Fossa, Infinite-Sea and
# Painting-Colors, plasma's Altai, Autumn (a painting), Canopee, Cascade, Cluster, Elarun, Flow,
# FlyingKonqui, Honeywave, IceCold, Kay, Kokkini, MilkyWay, Opal, PastelHills, Patak, SafeLanding,
# Shell, Volna. Rejected as nearly black and white: plasma's ColdRipple and Grey. Rejected as not
# everyday photos: scikit-image's hubble_deep_field, immunohistochemistry and retina.
PHOTOS: tuple[Photo, ...] = (
    *(
        _mate(n)
        for n in (
            "Aqua",
            "Blinds",
            "Dune",
            "FreshFlower",
            "Garden",
            "GreenMeadow",
            "LadyBird",
            "RainDrops",
            "Storm",
            "TwoWings",
            "Wood",
            "YellowFlower",
        )
    ),
    _plasma("BytheWater", "2560x1600.jpg"),
    _plasma("ColorfulCups", "2560x1600.jpg"),
    _plasma("DarkestHour", "2560x1600.jpg"),
    _plasma("EveningGlow", "2560x1600.jpg"),
    _plasma("FallenLeaf", "2560x1600.jpg"),
    _plasma("Kite", "2560x1600.jpg"),
    _plasma("OneStandsOut", "2560x1600.jpg"),
    _plasma("Path", "2560x1600.jpg"),
    _plasma("summer_1am", "2560x1600.jpg"),
    Photo("Kleiber", "/usr/share/backgrounds/Kleiber_by_Lukas_Baubkus.jpg", "lomiri-wallpapers-20.04"),
    *(
        Photo(n, f"skimage:{n}", "scikit-image")
        for n in ("astronaut", "chelsea", "coffee", "rocket", "stereo_motorcycle")
    ),
)
# Whole photos kept for evaluation, never trained on: two that are always there (scikit-image)
# and six from the packages, chosen to span close-ups, landscapes and dusk light.
HELDOUT: tuple[str, ...] = (
    "chelsea",
    "coffee",
    "LadyBird",
    "YellowFlower",
    "EveningGlow",
    "Path",
    "Kite",
    "Storm",
)


def found_photos() -> list[Photo]:
    """The listed photos present here, in list order."""
    present = []
    for photo in PHOTOS:
        if photo.where.startswith("skimage:"):
            import importlib.util

            if importlib.util.find_spec("skimage") is not None:
                present.append(photo)
        elif not system_data_hidden() and Path(photo.where).is_file():
            present.append(photo)
    return present


def _decode(photo: Photo) -> torch.Tensor:
    """(3, H, W) uint8, downscaled (antialiased, from Pillow's JPEG draft size) to SHORT_SIDE."""
    from PIL import Image

    if photo.where.startswith("skimage:"):
        import skimage.data

        array = getattr(skimage.data, photo.where.split(":", 1)[1])()
        if isinstance(array, tuple):  # stereo_motorcycle returns (left, right, disparity)
            array = array[0]
        array = np.asarray(array)
        image = Image.fromarray(np.ascontiguousarray(array[..., :3]))
    else:
        try:
            image = Image.open(photo.where)
            image.draft("RGB", (SHORT_SIDE * 2, SHORT_SIDE * 2))  # JPEG: decode at a reduced scale
            image = image.convert("RGB")
        except OSError as err:
            raise DataError(f"cannot read {photo.where} ({err}); reinstall {photo.package}") from None
    w, h = image.size
    scale = SHORT_SIDE / min(w, h)
    if scale < 1:
        image = image.resize((round(w * scale), round(h * scale)), Image.Resampling.LANCZOS)
    return torch.from_numpy(np.asarray(image).copy()).permute(2, 0, 1).contiguous()


def load_photos(photos: list[Photo] | None = None) -> dict[str, torch.Tensor]:
    """name -> (3, H, W) uint8 photo with short side SHORT_SIDE, from the cache when it is there."""
    from ganforge.fileio import atomic_path

    photos = found_photos() if photos is None else photos
    key = hashlib.sha256(repr([(p.name, p.where, _stamp(p.where)) for p in photos]).encode()).hexdigest()[:16]
    path = cache_dir() / "photos" / f"photos-v{CACHE_VERSION}-{SHORT_SIDE}-{key}.pt"
    if path.is_file():
        try:
            cached = torch.load(path, weights_only=True)
            if isinstance(cached, dict) and list(cached) == [p.name for p in photos]:
                return cached
        except (OSError, RuntimeError, EOFError, pickle.UnpicklingError):
            pass  # a damaged cache is rebuilt below
    decoded = {p.name: _decode(p) for p in photos}
    with atomic_path(path) as tmp:
        torch.save(decoded, tmp)
    return decoded


def _stamp(where: str) -> str:
    """Size and mtime of a system file, so that an upgraded package invalidates the cache."""
    if where.startswith("skimage:"):
        return where
    stat = Path(where).stat()
    return f"{stat.st_size}:{int(stat.st_mtime)}"


def random_crops(
    images: list[torch.Tensor], per_image: int, size: int, generator: torch.Generator
) -> torch.Tensor:
    """(len(images) * per_image, 3, size, size) uint8 random square crops (side CROP_SCALE of the
    short side, anywhere in the photo) resized to `size`, antialiased; all draws from `generator`."""
    out = torch.empty(len(images) * per_image, 3, size, size, dtype=torch.uint8)
    k = 0
    for image in images:
        h, w = image.shape[-2:]
        for _ in range(per_image):
            u = torch.rand(3, generator=generator).tolist()
            side = max(size // 2, round(min(h, w) * (CROP_SCALE[0] + (CROP_SCALE[1] - CROP_SCALE[0]) * u[0])))
            top, left = math.floor(u[1] * (h - side + 1)), math.floor(u[2] * (w - side + 1))
            crop = image[None, :, top : top + side, left : left + side].float()
            crop = F.interpolate(
                crop, size=(size, size), mode="bilinear", antialias=True, align_corners=False
            )
            out[k] = crop[0].round().clamp(0, 255).to(torch.uint8)
            k += 1
    return out


def center_square(image: torch.Tensor, size: int) -> torch.Tensor:
    """(3, size, size) uint8: the photo's largest centered square, resized to `size`, antialiased."""
    h, w = image.shape[-2:]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    square = image[None, :, top : top + side, left : left + side].float()
    square = F.interpolate(square, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return square[0].round().clamp(0, 255).to(torch.uint8)


class Photos(Builtin):
    name = "photos"
    description = (
        f"{len(PHOTOS)} real color photographs: {CROP_SIZE}x{CROP_SIZE} random training crops; "
        f"{len(HELDOUT)} whole photos held out"
    )
    origin = f"Debian packages {PACKAGES}, and scikit-image's sample photos (cached downscaled)"
    _warned = False

    def available(self) -> tuple[bool, str]:
        found = found_photos()
        train = [p for p in found if p.name not in HELDOUT]
        if not train or len(found) == len(train):
            return False, f"no photos found; pip install scikit-image and {INSTALL}"
        if len(found) < MIN_PHOTOS:
            return True, f"only {len(found)} of {len(PHOTOS)} photos; {INSTALL} for the others"
        return True, f"{len(found)} of {len(PHOTOS)} photos"

    def split(self) -> tuple[list[Photo], list[Photo]]:
        """(training photos, held-out photos) present here; raises when either is empty."""
        found = found_photos()
        train = [p for p in found if p.name not in HELDOUT]
        held = [p for p in found if p.name in HELDOUT]
        if not train or not held:
            raise DataError(
                f"dataset photos is not available: no photos found; pip install scikit-image and {INSTALL}"
            )
        if len(found) < MIN_PHOTOS and not self._warned:
            from ganforge.console import warn

            self._warned = True  # once per process, not at every load
            warn(f"dataset photos: only {len(found)} of {len(PHOTOS)} photos are installed; {INSTALL}")
        return train, held

    def load(self) -> ImageData:
        """The training crops: CROPS_PER_PHOTO fixed random crops of every training photo (cached:
        cutting 3,000 antialiased crops takes ~15 CPU-s)."""
        from ganforge.fileio import atomic_path

        train, _ = self.split()
        names = repr([(p.name, _stamp(p.where)) for p in train]).encode()
        params = f"{CACHE_VERSION}-{CROP_SIZE}-{CROPS_PER_PHOTO}-{CROP_SCALE}-{CROP_SEED}"
        key = hashlib.sha256(names + params.encode()).hexdigest()[:16]
        path = cache_dir() / "photos" / f"crops-{key}.pt"
        crops = None
        if path.is_file():
            try:
                crops = torch.load(path, weights_only=True)
            except (OSError, RuntimeError, EOFError, pickle.UnpicklingError):
                crops = None  # a damaged cache is rebuilt
        if not isinstance(crops, torch.Tensor) or crops.shape != (
            len(train) * CROPS_PER_PHOTO,
            3,
            CROP_SIZE,
            CROP_SIZE,
        ):
            decoded = load_photos(train)
            generator = torch.Generator().manual_seed(CROP_SEED)
            crops = random_crops([decoded[p.name] for p in train], CROPS_PER_PHOTO, CROP_SIZE, generator)
            with atomic_path(path) as tmp:
                torch.save(crops, tmp)
        return ImageData(crops, None, None, self.name)

    def load_heldout(self, size: int) -> tuple[ImageData, list[str]]:
        """(the held-out photos, whole (center square) at `size`, their names)."""
        _, held = self.split()
        decoded = load_photos(held)
        images = torch.stack([center_square(decoded[p.name], size) for p in held])
        return ImageData(images, None, None, self.name), [p.name for p in held]

    def training_names(self) -> list[str]:
        return [p.name for p in self.split()[0]]


def heldout_photos(size: int, channels: int | None = None) -> ImageData:
    """The held-out photos of the registered `photos` source, whole (center square) at `size`."""
    from ganforge.data.transforms import to_channels
    from ganforge.registry import DATASETS

    data, _ = DATASETS.get("photos").load_heldout(size)
    return ImageData(to_channels(data.images, channels), None, None, data.source)


def heldout_crops(per_photo: int, size: int, seed: int = 1) -> torch.Tensor:
    """(n held-out photos * per_photo, 3, size, size) uint8 random crops of the held-out photos (a
    fixed choice for `seed`): enough images of unseen photos for a Fréchet distance."""
    from ganforge.registry import DATASETS

    _, held = DATASETS.get("photos").split()
    decoded = load_photos(held)
    return random_crops([decoded[p.name] for p in held], per_photo, size, torch.Generator().manual_seed(seed))
