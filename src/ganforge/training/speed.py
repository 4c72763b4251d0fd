"""Speed switches of the trainer: reduced-precision autocast, channels-last memory, torch.compile.

Each is a `train.*` config value. "auto" turns a switch on only where it is both faster and tested
to give the eager float32 result within tolerance (tests/training/test_speed.py); the figures
behind each choice come from `bench/train_throughput.py`.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterable

import torch
from torch import nn

from ganforge.config import MEMORY_FORMATS, PRECISIONS, check_precision  # noqa: F401  (the values live there)
from ganforge.console import warn


def native_bf16(device: torch.device) -> bool:
    """Whether `device` computes bfloat16 natively (so autocast to it is faster, not emulated)."""
    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if device.type != "cpu":
        return False
    cpu = getattr(torch, "cpu", None)
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    with contextlib.suppress(Exception):  # private probes: absent in some builds
        return any(bool(getattr(cpu, name)()) for name in checks if hasattr(cpu, name))
    return False


def autocast_dtype(precision: str, device: torch.device, auto_ok: bool = True) -> torch.dtype | None:
    """The dtype the training passes autocast to (None: float32 throughout); "auto" picks bf16
    where `device` computes it natively and `auto_ok` (the recipe finds it faster)."""
    if precision == "bf16" or (precision == "auto" and auto_ok and native_bf16(device)):
        return torch.bfloat16
    return None


def autocast(device: torch.device, dtype: torch.dtype | None) -> contextlib.AbstractContextManager:
    """Autocast to `dtype` on `device`'s type, or a no-op context for float32."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype)


def use_channels_last(memory_format: str, device: torch.device, supported: bool) -> bool:
    """channels_last for "channels_last"; for "auto" where the recipe's models support it (they
    only reshape activations with layout-agnostic ops) and the device is a CPU or CUDA GPU."""
    if memory_format == "channels_last":
        return True
    return memory_format == "auto" and supported and device.type in ("cpu", "cuda")


def to_channels_last(models: Iterable[nn.Module]) -> None:
    """Convert every 4-D parameter and buffer of `models` to channels_last strides, in place (the
    optimizers keep the same Parameter objects)."""
    for model in models:
        model.to(memory_format=torch.channels_last)


def compile_available(device: torch.device) -> str | None:
    """None when torch.compile can run here, else why not (one line)."""
    try:
        import torch._dynamo  # noqa: F401
    except Exception as exc:  # pragma: no cover - depends on the torch build
        return f"torch.compile is not available in this torch build ({exc})"
    if not torch._dynamo.is_dynamo_supported():
        return "torch.compile does not support this Python version"
    if device.type == "cpu" and not (shutil.which("g++") or shutil.which("clang++")):
        return "torch.compile on CPU needs a C++ compiler (apt install g++)"
    return None


def compile_models(models: Iterable[nn.Module], device: torch.device) -> bool:
    """`nn.Module.compile()` each model in place (state_dict keys stay the same); False, with a
    warning, when compilation is unavailable and the models stay eager.

    A model with an `outputs` method (logits and features, which recipes call beside `forward`:
    fastgan's D, sgan's C) gets that method compiled too. Left eager, its BatchNorm layers would
    save their running statistics for backward and a compiled `forward` later in the same pass
    would update them in place: "modified by an inplace operation" at backward.
    """
    reason = compile_available(device)
    if reason is not None:
        warn(f"train.compile: {reason}; training eagerly")
        return False
    for model in models:
        model.compile()
        if callable(getattr(model, "outputs", None)):
            model.outputs = torch.compile(model.outputs)
    return True


FUSABLE = (torch.optim.Adam, torch.optim.AdamW)


def fuse_optimizers(optimizers: dict[str, torch.optim.Optimizer], device: torch.device) -> list[str]:
    """Rebuild each Adam/AdamW of `optimizers` that has not stepped yet with ``fused=True`` (one
    kernel per step instead of one per op on lists of tensors: 3.6x faster for DCGAN-64's G on one
    CPU thread, 5.2 against 18.6 ms) where the device is a CPU or CUDA GPU and every parameter is
    floating point on it. Same groups and settings; returns the names rebuilt."""
    if device.type not in ("cpu", "cuda"):
        return []
    fused = []
    for name, opt in optimizers.items():
        params = [p for group in opt.param_groups for p in group["params"]]
        if (
            type(opt) not in FUSABLE
            or opt.state
            or opt.defaults.get("fused")
            or opt.defaults.get("differentiable")
            or not all(p.is_floating_point() and p.device.type == device.type for p in params)
        ):
            continue
        drop = ("fused", "foreach")
        groups = [{k: v for k, v in group.items() if k not in drop} for group in opt.param_groups]
        defaults = {k: v for k, v in opt.defaults.items() if k not in drop}
        optimizers[name] = type(opt)(groups, **defaults, fused=True)
        fused.append(name)
    return fused


def all_finite(tensors: list[torch.Tensor]) -> bool:
    """Whether every element of `tensors` is finite, in one fused kernel and one sync: the largest
    absolute value of a tensor is NaN or inf exactly when it holds a NaN or inf."""
    if not tensors:
        return True
    norms = torch._foreach_norm([t.detach() for t in tensors], float("inf"))
    return bool(torch.isfinite(torch.stack(norms)).all())


def inference_mode(precision: str, device: torch.device) -> tuple[torch.dtype | None, bool]:
    """The one decision of every pipeline's (autocast dtype, channels_last): bf16 ("bf16", or "auto"
    where native) runs in channels_last memory, where bf16 convolutions are fast; fp32 stays
    contiguous float32, the reference path."""
    dtype = autocast_dtype(check_precision(precision), device)
    return dtype, dtype is not None


def inference_runner(model: nn.Module, device: torch.device, precision: str):  # noqa: ANN201
    """`model` itself for "fp32"; for "bf16" (or "auto" where native) a function that calls it under
    autocast and returns float32, so tiling and blending code stays in float32."""
    dtype, channels_last = inference_mode(precision, device)
    if dtype is None:
        return model
    if channels_last:
        model.to(memory_format=torch.channels_last)

    def run(*args: object, **kwargs: object) -> torch.Tensor:
        with autocast(device, dtype):
            return model(*args, **kwargs).float()

    return run
