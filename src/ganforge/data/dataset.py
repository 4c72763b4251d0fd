"""The in-memory result of loading any image source: a uint8 tensor plus optional class labels."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class ImageData:
    """A decoded image set, kept as uint8 so that 70,000 MNIST digits take 55 MB, not 220 MB.

    Training converts batches to float in [-1, 1] on the device (`ganforge.imaging.to_float`).
    """

    images: torch.Tensor  # (N, C, H, W) uint8, C in {1, 3}
    labels: torch.Tensor | None  # (N,) int64 class indices into class_names, or None
    class_names: list[str] | None  # class_names[k] names label k; None when there are no labels
    source: str  # the built-in name or the folder path it came from
    targets: torch.Tensor | None = (
        None  # (N, C', H, W) uint8 paired with `images` (paired translation), or None
    )

    def __post_init__(self) -> None:
        images = self.images
        if images.dtype != torch.uint8 or images.ndim != 4 or images.shape[1] not in (1, 3):
            raise ValueError(
                f"ImageData.images must be (N, 1|3, H, W) uint8, got {tuple(images.shape)} {images.dtype}"
            )
        if self.targets is not None and (
            self.targets.dtype != torch.uint8
            or self.targets.ndim != 4
            or self.targets.shape[0] != images.shape[0]
        ):
            raise ValueError(f"ImageData.targets must be ({images.shape[0]}, C, H, W) uint8")
        if (self.labels is None) != (self.class_names is None):
            raise ValueError("ImageData.labels and class_names must both be set or both be None")
        if self.labels is not None:
            if self.labels.dtype != torch.int64 or self.labels.shape != (images.shape[0],):
                raise ValueError(
                    f"ImageData.labels must be ({images.shape[0]},) int64, got {tuple(self.labels.shape)}"
                )
            if (
                len(self.labels)
                and not 0 <= int(self.labels.min()) <= int(self.labels.max()) < self.num_classes
            ):
                raise ValueError(f"ImageData.labels must lie in 0..{self.num_classes - 1}")

    @property
    def num_classes(self) -> int:
        """Number of classes; 0 when the images have no labels."""
        return len(self.class_names) if self.class_names is not None else 0

    @property
    def channels(self) -> int:
        return self.images.shape[1]

    @property
    def size(self) -> tuple[int, int]:
        """(H, W) of every image."""
        return self.images.shape[2], self.images.shape[3]

    def __len__(self) -> int:
        return self.images.shape[0]

    def subset(self, index: torch.Tensor) -> ImageData:
        """The images (and labels) at `index`, in that order."""
        labels = self.labels[index] if self.labels is not None else None
        targets = self.targets[index] if self.targets is not None else None
        return ImageData(self.images[index], labels, self.class_names, self.source, targets)

    def without_labels(self) -> ImageData:
        return ImageData(self.images, None, None, self.source, self.targets)
