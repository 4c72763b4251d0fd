"""An endless, resumable stream of batches over an in-memory uint8 image set."""

from __future__ import annotations

from typing import Any

import torch

from ganforge.data.dataset import ImageData
from ganforge.errors import ConfigError
from ganforge.imaging import to_float
from ganforge.recipes.base import Batch


class BatchStream:
    """Shuffles once per epoch with its own generator; drops the last partial batch.

    Under data parallelism every rank shuffles identically and takes its own slice of each global
    batch. The state (permutation, position, generator) goes into checkpoints, so a resumed run
    sees the same batches in the same order as an uninterrupted one.
    """

    def __init__(
        self,
        data: ImageData,
        batch_size: int,
        seed: int,
        device: torch.device,
        rank: int = 0,
        world_size: int = 1,
        name: str = "main",
    ):
        n = len(data)
        if n < batch_size * world_size:
            raise ConfigError(
                f"the {name} dataset has {n} images, fewer than one batch of {batch_size * world_size}; "
                f"lower the batch size, e.g. --set train.batch_size={max(1, n // world_size)}"
            )
        # uint8 stays uint8 on the device (4x less memory); batches are converted as they are drawn
        self.images = data.images.to(device)
        self.labels = data.labels.to(device) if data.labels is not None else None
        self.targets = data.targets.to(device) if data.targets is not None else None
        self.batch_size = batch_size
        self.rank, self.world_size = rank, world_size
        self.generator = torch.Generator().manual_seed(seed)
        self.epoch = 0
        self.position = 0
        self.order = torch.randperm(n, generator=self.generator)

    def __next__(self) -> Batch:
        global_batch = self.batch_size * self.world_size
        if self.position + global_batch > self.order.numel():
            self.epoch += 1
            self.position = 0
            self.order = torch.randperm(self.order.numel(), generator=self.generator)
        start = self.position + self.rank * self.batch_size
        index = self.order[start : start + self.batch_size].to(self.images.device)
        self.position += global_batch
        return Batch(
            real=to_float(self.images[index]),
            labels=self.labels[index] if self.labels is not None else None,
            target=to_float(self.targets[index]) if self.targets is not None else None,
        )

    def __iter__(self) -> BatchStream:
        return self

    def state_dict(self) -> dict[str, Any]:
        return {
            "epoch": self.epoch,
            "position": self.position,
            "order": self.order.clone(),
            "generator": self.generator.get_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state["order"].numel() != self.order.numel():
            raise ConfigError(
                f"the data changed since the checkpoint ({state['order'].numel()} images then, "
                f"{self.order.numel()} now); resume needs the same dataset"
            )
        self.epoch = int(state["epoch"])
        self.position = int(state["position"])
        self.order = state["order"].clone()
        self.generator.set_state(state["generator"])
