"""Architectures, one per file. Importing this package imports every
module in it and so registers every model in `ganforge.registry.MODELS` (no import line per file).

Contract for generators: ``G(z, labels=None) -> images`` with z (B, z_dim), labels (B,) int64 or None,
images (B, C, H, W) in [-1, 1]; attributes ``z_dim``, ``img_channels``, ``img_size``, ``num_classes``
(0 when unconditional). Discriminators: ``D(images, labels=None) -> logits`` of shape (B,).
Every registered model implements ``example_inputs(batch, generator)`` so that the registry-driven
tests can run it; the registry entry's ``tiny`` metadata gives small constructor arguments.
"""

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
