"""Exponential moving average of a model's weights, kept by the trainer as `G_ema`."""

from __future__ import annotations

import torch
from torch import nn


@torch.no_grad()
def update_ema(ema_model: nn.Module, model: nn.Module, decay: float) -> None:
    """Move `ema_model`'s parameters toward `model`'s: ``ema = decay * ema + (1 - decay) * param``.

    Buffers (BatchNorm running statistics, spectral norm's power-iteration vectors, counters) are
    copied as they are, not averaged. Both models must have the same parameter and buffer names;
    `ema_model` is usually ``copy.deepcopy(model)`` (Karras et al. 2018 keep G_ema this way).
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
    if buffers:
        torch._foreach_copy_([ema_buffers[k] for k in buffers], list(buffers.values()))
