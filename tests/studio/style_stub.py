"""A stand-in style-based generator for breeding tests: each layer group paints one RGB channel, so
what a child takes from each parent per group can be read straight off its pixels."""

from __future__ import annotations

import torch
from torch import nn


class TinyStyleG(nn.Module):
    layer_groups = ("coarse", "middle", "fine")

    def __init__(self, z_dim: int = 8, img_size: int = 8, num_classes: int = 0):
        super().__init__()
        self.z_dim, self.img_size, self.img_channels, self.num_classes = z_dim, img_size, 3, num_classes
        self.mapping = nn.Linear(z_dim, 16)
        self.to_pixels = nn.Linear(16, img_size * img_size)
        self.register_buffer("w_avg", torch.zeros(16))

    def forward(self, z: torch.Tensor, labels=None, truncation_psi: float = 1.0) -> torch.Tensor:
        return self.forward_groups(z[:, None, :].expand(-1, 3, -1), labels, truncation_psi)

    def forward_groups(self, z: torch.Tensor, labels=None, truncation_psi: float = 1.0) -> torch.Tensor:
        w = torch.tanh(self.mapping(z))  # (B, 3, 16): one style per group
        w = self.w_avg + truncation_psi * (w - self.w_avg)
        pixels = torch.tanh(self.to_pixels(w))  # (B, 3, H*W): group k paints channel k
        return pixels.view(z.shape[0], 3, self.img_size, self.img_size)  # (B, C, H, W)
