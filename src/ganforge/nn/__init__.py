"""Shared layers and helpers used by more than one architecture or by the trainer."""

from ganforge.nn.ema import update_ema
from ganforge.nn.layers import check_images, check_labels, init_dcgan_weights_, maybe_spectral_norm

__all__ = ["check_images", "check_labels", "init_dcgan_weights_", "maybe_spectral_norm", "update_ema"]
