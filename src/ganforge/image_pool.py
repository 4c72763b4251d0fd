"""The image history pool of Shrivastava et al. 2017, as CycleGAN uses it (Zhu et al. 2017, sec. 4).

The discriminator is shown fakes from a buffer of the last generated images rather than only the
newest batch, which damps oscillation between G and D. Until the pool holds `size` images every
new fake is stored and returned as is; after that each new fake is, with probability 0.5, swapped
for a random stored one (returned in its place, the new one stored), else returned unchanged.
"""

from __future__ import annotations

from typing import Any

import torch

from ganforge.errors import CheckpointError, ConfigError


class ImagePool:
    """A history of generated images. `query` draws its coins from the given generator, so a run
    that saves `state_dict()` in its checkpoints resumes bit for bit."""

    def __init__(self, size: int = 50):
        if size < 0:
            raise ConfigError(f"image pool size must be >= 0 (0 turns the pool off), got {size}")
        self.size = size
        self.images: torch.Tensor | None = None  # (n, C, H, W), n <= size, detached
        self.count = 0

    def __len__(self) -> int:
        return self.count

    @torch.no_grad()
    def query(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Return a batch as large as `images`, mixing new fakes with stored ones (see the module doc)."""
        images = images.detach()
        if self.size == 0:
            return images
        if self.images is None:
            self.images = torch.empty(
                (self.size, *images.shape[1:]), dtype=images.dtype, device=images.device
            )
        elif self.images.shape[1:] != images.shape[1:]:
            raise ValueError(
                f"image pool holds {tuple(self.images.shape[1:])} images, got {tuple(images.shape[1:])}"
            )
        out = images.clone()
        for i in range(images.shape[0]):
            if self.count < self.size:
                self.images[self.count] = images[i]
                self.count += 1
                continue
            # One coin and one index per image, always drawn, so the number of draws per query is
            # fixed once the pool is full (the stream of random numbers does not depend on the coins).
            coin = torch.rand((), generator=generator, device=generator.device)
            index = int(torch.randint(self.size, (), generator=generator, device=generator.device))
            if float(coin) < 0.5:
                out[i] = self.images[index]
                self.images[index] = images[i]
        return out

    def state_dict(self) -> dict[str, Any]:
        stored = self.images[: self.count].clone() if self.images is not None else torch.empty(0)
        return {"size": self.size, "count": self.count, "images": stored}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if int(state["size"]) != self.size:
            raise CheckpointError(
                f"the checkpoint's image pool holds up to {state['size']} images, this run's {self.size}; "
                "resume with the run's own config"
            )
        self.count = int(state["count"])
        stored = state["images"]
        if self.count == 0:
            self.images = None
            return
        self.images = torch.empty((self.size, *stored.shape[1:]), dtype=stored.dtype, device=stored.device)
        self.images[: self.count] = stored
