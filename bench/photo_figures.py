"""Before/after figures of the photo presets on held-out photos, for the README (docs/*.png).

    python bench/photo_figures.py --colorize RUN --inpaint RUN --edges2photo RUN --photo2edges RUN \
        --sr4 RUN [--sr4-gan RUN] --out docs/

Each figure has one row per held-out photo (three of them, never trained on): the model's input,
its output, and the original. Super-resolution rows show bicubic, the model and the original on
a 96x96 crop of the 256x256 photo, enlarged 2x with nearest neighbours so the pixels show.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from torch.nn import functional as F

from ganforge.bundle import load_bundle
from ganforge.data.derived import derive_pair
from ganforge.data.photos import heldout_photos
from ganforge.imaging import save_image, to_float

PHOTOS = (2, 4, 6)  # indices into the held-out list (YellowFlower, Kite, chelsea) shown in every figure


def _bundle(run: str):
    folder = Path(run)
    return load_bundle(folder / "bundle" if (folder / "bundle").is_dir() else folder)


def _rgb(x: torch.Tensor) -> torch.Tensor:
    return x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x[:, :3]


@torch.no_grad()
def translate_figure(run: str, task: str, out: Path, size: int = 128) -> Path:
    G = _bundle(run).models["G"].eval()
    photos = to_float(heldout_photos(size).images[list(PHOTOS)])
    A, B = derive_pair(task, photos, torch.Generator().manual_seed(0))
    fake = G(A).clamp(-1, 1)
    if task == "inpaint":
        holes = (A[:, -1:] > 0).float()
        fake = holes * fake + (1 - holes) * A[:, :-1]
    rows = torch.stack([_rgb(A), _rgb(fake), _rgb(B)], 1).flatten(0, 1)
    return save_image(rows, out / f"photos-{task}.png", nrow=3)


@torch.no_grad()
def sr_figure(runs: list[str], out: Path, size: int = 256, crop: int = 96) -> Path:
    from ganforge.data.sr_pairs import downscale
    from ganforge.models.srresnet import bicubic

    hr = to_float(heldout_photos(size).images[list(PHOTOS)])
    models = [_bundle(run).models["G"].eval() for run in runs]
    scale = models[0].scale
    lr = downscale(hr, scale)
    columns = [bicubic(lr, scale).clamp(-1, 1), *(G(lr).clamp(-1, 1) for G in models), hr]
    top = (size - crop) // 2
    columns = [c[..., top : top + crop, top : top + crop] for c in columns]
    columns = [F.interpolate(c, scale_factor=2, mode="nearest") for c in columns]
    rows = torch.stack(columns, 1).flatten(0, 1)
    return save_image(rows, out / f"photos-sr-x{scale}.png", nrow=len(columns))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for task in ("colorize", "inpaint", "edges2photo", "photo2edges"):
        parser.add_argument(f"--{task}", help=f"a pix2pix-{task}-photos run or bundle")
    parser.add_argument("--sr4", help="a srgan-x4-photos run")
    parser.add_argument("--sr4-gan", help="its --stage gan run, shown beside it")
    parser.add_argument("--out", type=Path, default=Path("docs"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for task in ("colorize", "inpaint", "edges2photo", "photo2edges"):
        if getattr(args, task):
            print(translate_figure(getattr(args, task), task, args.out))
    if args.sr4:
        print(sr_figure([args.sr4] + ([args.sr4_gan] if args.sr4_gan else []), args.out))


if __name__ == "__main__":
    main()
