"""Export a bundle's models to ONNX or TorchScript, and check the exported file against PyTorch.

Generators (`G(z, labels) -> images`) export with inputs `z` (batch, z_dim) and, when conditional,
`labels` (batch,) int64; image-to-image models (pix2pix's U-Net, CycleGAN's `G_AB`/`G_BA`, SRGAN's
SRResNet, DTN) export with input `images` (batch, C, H, W), where H and W stay free for fully
convolutional networks. Outputs are images in [-1, 1]. Both formats are made by tracing the eval-mode
model on example inputs (ONNX through PyTorch's TorchScript-based `torch.onnx.export`, which needs no
extra exporter package; TorchScript through `torch.jit.trace`, deprecated by PyTorch but still the
format C++ and mobile runtimes load).

Parity: every exported file is loaded back (onnxruntime for ONNX, `torch.jit.load` for TorchScript)
and run on fresh random inputs of another batch size, and, where H and W are free, of another image
shape; the largest absolute difference from the PyTorch model is reported beside the tolerance.
Each exported file gets a `<name>.<format>.json` beside it: its inputs, outputs and parity result.
"""

from __future__ import annotations

import copy
import json
import os
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from ganforge.errors import ConfigError, GanforgeError
from ganforge.nn.examples import noise_inputs

FORMATS = ("onnx", "torchscript")
SUFFIX = {"onnx": ".onnx", "torchscript": ".torchscript.pt"}
EXPORT_FORMAT = "ganforge-export/1"
DEFAULT_ATOL = 1e-3  # on images in [-1, 1]: under a quarter of one 8-bit level
DEFAULT_OPSET = 17


class ExportError(GanforgeError):
    """A model cannot be exported, or its exported file disagrees with PyTorch."""


@dataclass
class Signature:
    """What an exported model takes and returns; dims are ints or names of free axes."""

    kind: str  # "generator" or "image-to-image"
    inputs: list[dict[str, Any]]  # {"name", "shape", "dtype"}
    outputs: list[dict[str, Any]]
    free_spatial: bool = False  # H and W of `images` may change


@dataclass
class ExportResult:
    name: str  # the model's name in the bundle: G_ema, G_AB, ...
    format: str
    path: Path
    signature: Signature
    max_abs_diff: float  # largest |exported - PyTorch| over every check
    tolerance: float
    checks: list[str] = field(default_factory=list)  # the input shapes compared, e.g. "z (3, 100)"

    @property
    def ok(self) -> bool:
        return self.max_abs_diff <= self.tolerance


def model_kind(model: torch.nn.Module, registry_name: str | None = None) -> str | None:
    """What `model` is for export: "generator", "image-to-image", or None (discriminators, classifiers)."""
    if registry_name:
        from ganforge.registry import MODELS

        if registry_name in MODELS and MODELS.entry(registry_name).meta.get("kind") == "image-to-image":
            return "image-to-image"
    if hasattr(model, "z_dim"):
        return "generator"
    if hasattr(model, "in_channels") and hasattr(model, "out_channels"):
        return "image-to-image"
    return None


def example_inputs(model: torch.nn.Module, kind: str, batch: int, seed: int) -> tuple[torch.Tensor, ...]:
    """Random valid inputs: the model's own `example_inputs` when it has them."""
    generator = torch.Generator().manual_seed(seed)
    if hasattr(model, "example_inputs"):
        return tuple(t.cpu() for t in model.example_inputs(batch, generator))
    if kind == "generator":
        return tuple(t.cpu() for t in noise_inputs(model, batch, generator))
    raise ExportError(f"{type(model).__name__} has no example_inputs(); cannot tell what images it takes")


def signature(model: torch.nn.Module, kind: str, inputs: Sequence[torch.Tensor]) -> Signature:
    if kind == "generator":
        specs = [{"name": "z", "shape": ["batch", int(inputs[0].shape[1])], "dtype": "float32"}]
        if len(inputs) > 1:
            specs.append({"name": "labels", "shape": ["batch"], "dtype": "int64"})
        with torch.no_grad():
            out = model(*inputs)
        out_shape = ["batch", *map(int, out.shape[1:])]
        return Signature(kind, specs, [{"name": "images", "shape": out_shape, "dtype": "float32"}])
    free = not hasattr(model, "img_size")  # fully convolutional: any H and W it can divide
    c = int(inputs[0].shape[1])
    with torch.no_grad():
        out = model(*inputs)
    in_shape = ["batch", c, "height", "width"] if free else ["batch", *map(int, inputs[0].shape[1:])]
    if free:
        h_in, h_out = inputs[0].shape[2], out.shape[2]
        scale = h_out // h_in if h_out % h_in == 0 else None
        spatial = [f"height*{scale}", f"width*{scale}"] if scale and scale > 1 else ["height", "width"]
        out_shape = ["batch", int(out.shape[1]), *spatial]
    else:
        out_shape = ["batch", *map(int, out.shape[1:])]
    return Signature(
        kind,
        [{"name": "images", "shape": in_shape, "dtype": "float32"}],
        [{"name": "output", "shape": out_shape, "dtype": "float32"}],
        free,
    )


def check_inputs(model: torch.nn.Module, sig: Signature, seed: int) -> list[tuple[torch.Tensor, ...]]:
    """Inputs unlike the traced ones: batch 3, and where H, W are free also a (H, 2W) image."""
    cases = [example_inputs(model, sig.kind, 3, seed + 1)]
    if sig.free_spatial:
        x = cases[0][0]
        g = torch.Generator().manual_seed(seed + 2)
        wide = torch.rand(2, x.shape[1], x.shape[2], 2 * x.shape[3], generator=g) * 2 - 1  # (B, C, H, 2W)
        cases.append((wide,))
    return cases


def _export_file(
    model: torch.nn.Module, sig: Signature, inputs: tuple[torch.Tensor, ...], fmt: str, path: Path, opset: int
) -> None:
    names = [spec["name"] for spec in sig.inputs]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer and deprecation warnings say nothing the parity check misses
        if fmt == "torchscript":
            torch.jit.save(torch.jit.trace(model, inputs, check_trace=False), str(path))
            return
        try:
            import onnx  # noqa: F401  (the exporter needs it)
        except ImportError:
            raise ExportError('ONNX export needs the onnx package: pip install "ganforge[export]"') from None
        out_name = sig.outputs[0]["name"]
        dynamic = {name: {0: "batch"} for name in [*names, out_name]}
        if sig.free_spatial:
            dynamic["images"] = {0: "batch", 2: "height", 3: "width"}
            dynamic[out_name] = {0: "batch", 2: "out_height", 3: "out_width"}
        torch.onnx.export(
            model,
            inputs,
            str(path),
            dynamo=False,
            input_names=names,
            output_names=[out_name],
            dynamic_axes=dynamic,
            opset_version=opset,
            do_constant_folding=True,
        )


def _runner(path: Path, fmt: str, names: list[str]) -> Any:
    """A function running the exported file on tensors and returning a tensor."""
    if fmt == "torchscript":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # torch.jit is deprecated, still supported
            loaded = torch.jit.load(str(path), map_location="cpu").eval()

        def run_ts(*inputs: torch.Tensor) -> torch.Tensor:
            with torch.no_grad():
                return loaded(*inputs)

        return run_ts
    try:
        import onnxruntime
    except ImportError:
        raise ExportError(
            'the ONNX parity check needs onnxruntime: pip install "ganforge[export]" '
            "(or skip the check with --no-check)"
        ) from None
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def run_onnx(*inputs: torch.Tensor) -> torch.Tensor:
        feeds = {name: t.numpy() for name, t in zip(names, inputs, strict=True)}
        return torch.from_numpy(session.run(None, feeds)[0])

    return run_onnx


def _plain_weights(model: torch.nn.Module) -> torch.nn.Module:
    """An eval-mode copy of `model` with its weight parametrizations (spectral norm) folded into
    plain weights: the same outputs, and no power-iteration ops (`aten::vdot`) that ONNX lacks."""
    from torch.nn.utils import parametrize

    if not any(parametrize.is_parametrized(m) for m in model.modules()):
        return model
    plain = copy.deepcopy(model).eval()
    for module in list(plain.modules()):
        if parametrize.is_parametrized(module):
            # by hand: parametrize.remove_parametrizations edits the class, which the copy shares
            values = {name: getattr(module, name).detach().clone() for name in module.parametrizations}
            module.__class__ = type(module).__bases__[0]
            del module._modules["parametrizations"]
            for name, value in values.items():
                module.register_parameter(name, torch.nn.Parameter(value, requires_grad=False))
    return plain


def export_model(
    model: torch.nn.Module,
    name: str,
    out_dir: Path,
    fmt: str = "onnx",
    kind: str | None = None,
    registry_name: str | None = None,
    check: bool = True,
    atol: float = DEFAULT_ATOL,
    seed: int = 0,
    opset: int = DEFAULT_OPSET,
) -> ExportResult:
    """Export one model to `out_dir/<name>.onnx` (or `.torchscript.pt`) and check it against PyTorch."""
    if fmt not in FORMATS:
        raise ConfigError(f"--format {fmt!r} is not one of {', '.join(FORMATS)}")
    model = model.cpu().eval()
    kind = kind or model_kind(model, registry_name)
    if kind is None:
        raise ExportError(
            f"{name} ({type(model).__name__}) is neither a generator nor an image-to-image model; "
            "only those export"
        )
    inputs = example_inputs(model, kind, 2, seed)
    sig = signature(model, kind, inputs)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}{SUFFIX[fmt]}"
    partial = path.with_name(path.name + ".partial")
    try:
        _export_file(_plain_weights(model), sig, inputs, fmt, partial, opset)
        os.replace(partial, path)  # an older export is replaced only by a whole new one
    except GanforgeError:
        raise
    except Exception as err:
        first = (str(err).strip().splitlines() or [type(err).__name__])[0][:200]
        raise ExportError(f"exporting {name} to {fmt} failed: {first}") from None
    finally:
        partial.unlink(missing_ok=True)
    result = ExportResult(name, fmt, path, sig, float("nan"), atol)
    if check:
        run = _runner(path, fmt, [spec["name"] for spec in sig.inputs])
        worst = 0.0
        for case in check_inputs(model, sig, seed):
            with torch.no_grad():
                expected = model(*case)
            got = run(*case)
            if got.shape != expected.shape:
                raise ExportError(
                    f"the exported {name} returns shape {tuple(got.shape)} for inputs "
                    f"{[tuple(t.shape) for t in case]}; PyTorch returns {tuple(expected.shape)}"
                )
            worst = max(worst, float((got.float() - expected.float()).abs().max()))
            result.checks.append(
                ", ".join(f"{s['name']} {tuple(t.shape)}" for s, t in zip(sig.inputs, case, strict=True))
            )
        result.max_abs_diff = worst
    _write_description(result, registry_name)
    return result


def _write_description(result: ExportResult, registry_name: str | None) -> Path:
    path = result.path.with_name(f"{result.name}.{result.format}.json")
    record = {
        "format": EXPORT_FORMAT,
        "model": result.name,
        "registry_name": registry_name,
        "file": result.path.name,
        "export_format": result.format,
        **{k: v for k, v in asdict(result.signature).items()},
        "value_range": [-1.0, 1.0],
        "parity": {
            "checked": bool(result.checks),
            "max_abs_diff": None if not result.checks else result.max_abs_diff,
            "tolerance": result.tolerance,
            "inputs": result.checks,
        },
    }
    path.write_text(json.dumps(record, indent=2) + "\n")
    return path


def export_bundle(
    path: str | Path,
    out_dir: str | Path,
    fmt: str = "onnx",
    models: Sequence[str] | None = None,
    check: bool = True,
    atol: float = DEFAULT_ATOL,
    seed: int = 0,
    opset: int = DEFAULT_OPSET,
) -> list[ExportResult]:
    """Export the generators and image-to-image models of a bundle (a folder, a run directory or
    `hf:user/name`), or only those named in `models`; see `export_model`."""
    from ganforge.bundle import load_bundle
    from ganforge.hub import resolve_bundle
    from ganforge.registry import load_all

    if fmt not in FORMATS:
        raise ConfigError(f"--format {fmt!r} is not one of {', '.join(FORMATS)}")
    load_all()
    folder = resolve_bundle(path)
    bundle = load_bundle(folder)
    specs = json.loads((folder / "model.json").read_text())["models"]
    if models:
        unknown = [m for m in models if m not in bundle.models]
        if unknown:
            raise ConfigError(f"--model {unknown[0]}: the bundle holds {', '.join(bundle.models)}")
        chosen = list(models)
    else:
        chosen = [n for n, m in bundle.models.items() if model_kind(m, specs[n]["registry_name"])]
        if not chosen:
            raise ExportError(
                f"{folder} holds no generator or image-to-image model ({', '.join(bundle.models)})"
            )
    return [
        export_model(
            bundle.models[name],
            name,
            Path(out_dir),
            fmt,
            None,
            specs[name]["registry_name"],
            check,
            atol,
            seed,
            opset,
        )
        for name in chosen
    ]
