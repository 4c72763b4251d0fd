"""Style-mixing grids (Karras et al. 2019, "A Style-Based Generator Architecture for GANs", figure 3).

Every cell is its row seed's image with the styles of one layer group taken from its column seed:
coarse (4-8 px: pose, face shape, glasses), middle (16-32 px: features, hair style, eyes) or fine
(64 px and up: colour scheme, micro-structure). The grid's first row shows the column seeds, its
first column the row seeds, and its corner is blank.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from ganforge.errors import ConfigError
from ganforge.pipelines.generate import is_style_based, latents, truncation_kwargs


@dataclass
class MixOutput:
    grid: torch.Tensor  # ((R + 1) * (C + 1), C_img, H, W): row 0 the column parents, column 0 the row parents
    mixes: torch.Tensor  # (R, C, C_img, H, W): mixes[i, j] = row i with the chosen layers from column j
    rows: torch.Tensor  # (R, C_img, H, W) the row parents
    cols: torch.Tensor  # (C, C_img, H, W) the column parents
    layers: list[int]  # indices into ws taken from the column parent
    nrow: int  # images per grid row (C + 1)


def parse_layers(G: torch.nn.Module, layers: str | Sequence[str]) -> list[int]:
    """ws indices of layer groups given as "coarse", "middle", "fine", "coarse,middle" or a list."""
    names = (
        [part.strip() for part in layers.split(",") if part.strip()]
        if isinstance(layers, str)
        else list(layers)
    )
    indices = G.layer_indices(names)
    if not indices:
        raise ConfigError(f"layer group(s) {', '.join(names)} hold no layers in this {G.img_size}px model")
    return indices


class StyleMixPipeline:
    """`StyleMixPipeline(G)(row_seeds=[1, 2], col_seeds=[3, 4, 5], layers="coarse")` -> `MixOutput`."""

    def __init__(self, G: torch.nn.Module, device: torch.device | str = "cpu"):
        if not is_style_based(G) or not hasattr(G, "layer_indices"):
            raise ConfigError("style mixing needs a style-based generator (e.g. --preset stylegan-emoji64)")
        self.G = G.to(device).eval()
        self.device = torch.device(device)

    @torch.no_grad()
    def __call__(
        self,
        row_seeds: Sequence[int],
        col_seeds: Sequence[int],
        layers: str | Sequence[str] = "coarse",
        truncation_psi: float | None = None,
    ) -> MixOutput:
        if not row_seeds or not col_seeds:
            raise ConfigError(
                "style mixing needs at least one row seed and one column seed, e.g. --rows 1,2 --cols 3,4"
            )
        G = self.G
        truncation_kwargs(G, truncation_psi)  # checks psi
        psi = 1.0 if truncation_psi is None else truncation_psi
        index = parse_layers(G, layers)
        seeds = list(row_seeds) + list(col_seeds)
        z = torch.cat([latents(1, G.z_dim, s) for s in seeds]).to(self.device)
        ws = G.mapping(z, truncation_psi=psi)  # (R + C, num_ws, w_dim)
        r, c = len(row_seeds), len(col_seeds)
        row_ws, col_ws = ws[:r], ws[r:]
        take = torch.zeros(G.num_ws, dtype=torch.bool, device=ws.device)
        take[index] = True
        # (R, C, num_ws, w_dim): row styles everywhere except the chosen layers, which come from the column
        mixed = torch.where(take[None, None, :, None], col_ws[None], row_ws[:, None])
        images = self._synthesize(torch.cat([ws, mixed.flatten(0, 1)]))
        parents, mixes = images[: r + c], images[r + c :]
        rows, cols = parents[:r], parents[r:]
        mixes = mixes.view(r, c, *mixes.shape[1:])  # (R, C, C_img, H, W)
        blank = torch.ones_like(rows[:1])  # white corner
        grid_rows = [torch.cat([blank, cols])] + [torch.cat([rows[i : i + 1], mixes[i]]) for i in range(r)]
        return MixOutput(torch.cat(grid_rows), mixes, rows, cols, index, c + 1)

    def _synthesize(self, ws: torch.Tensor, batch_size: int = 64) -> torch.Tensor:
        chunks = [
            self.G.synthesis(ws[start : start + batch_size]).clamp(-1, 1).float().cpu()
            for start in range(0, ws.shape[0], batch_size)
        ]
        return torch.cat(chunks)
