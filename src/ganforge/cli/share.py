"""`ganforge push`, `ganforge export`, `ganforge project` and `ganforge report`: share and reuse models."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer

from ganforge.console import info
from ganforge.errors import ConfigError

Model = Annotated[str, typer.Argument(help="a run directory, a bundle folder, or hf:user/name")]


def push(
    model: Annotated[str, typer.Argument(help="a run directory or a bundle folder")],
    repo: Annotated[str, typer.Argument(help="the Hub repository, user/name (created when missing)")],
    private: Annotated[bool, typer.Option("--private", help="make a new repository private")] = False,
    token: Annotated[
        str | None, typer.Option(help="Hugging Face token (default: HF_TOKEN or `hf auth login`)")
    ] = None,
    message: Annotated[str | None, typer.Option(help="commit message")] = None,
) -> None:
    """Upload a trained bundle to the Hugging Face Hub, with a model card.

    The card holds the data, steps, metrics and sample grid. Needs the optional Hub client:
    pip install "ganforge\\[hub]".

    Examples:

      ganforge push runs/00000-dcgan-mnist alice/dcgan-mnist

      ganforge sample hf:alice/dcgan-mnist --n 16 --out grid.png
    """
    from ganforge.hub import push as push_bundle

    result = push_bundle(model, repo, private=private, token=token, message=message)
    info(f"pushed {len(result.files)} files ({', '.join(result.files)}) to {result.repo_id}: {result.url}")
    info(f"load it anywhere with: ganforge sample hf:{result.repo_id}")


def export(
    model: Model,
    format: Annotated[str, typer.Option("--format", "-f", help="onnx or torchscript")] = "onnx",
    out: Annotated[Path, typer.Option(help="folder for the exported files")] = Path("export"),
    names: Annotated[
        list[str] | None, typer.Option("--model", help="export only this model of the bundle (repeatable)")
    ] = None,
    check: Annotated[bool, typer.Option("--check/--no-check", help="compare with PyTorch")] = True,
    atol: Annotated[float, typer.Option(help="largest |difference| from PyTorch accepted")] = 1e-3,
    opset: Annotated[int, typer.Option(help="ONNX opset version")] = 17,
) -> None:
    """Export a bundle's models to ONNX or TorchScript, with a parity check against PyTorch.

    Generators export as z (+ labels) -> images, translation and upscaling models as images ->
    images. Each exported file is then run on fresh random inputs and its largest difference
    from PyTorch is printed.

    Examples:

      ganforge export runs/00000-dcgan-mnist --format onnx --out export/

      ganforge export runs/00004-cyclegan --format torchscript --model G_AB
    """
    from ganforge.export import ExportError, export_bundle

    if atol <= 0:
        raise ConfigError("--atol must be positive")
    results = export_bundle(model, out, format, models=names, check=check, atol=atol, opset=opset)
    for r in results:
        ins = ", ".join(f"{s['name']} {tuple(s['shape'])}" for s in r.signature.inputs)
        outs = ", ".join(f"{s['name']} {tuple(s['shape'])}" for s in r.signature.outputs)
        size = r.path.stat().st_size / 1e6
        info(f"{r.name} ({r.signature.kind}) -> {r.path} ({size:.2f} MB): {ins} -> {outs}")
    info("parity against PyTorch on fresh random inputs:")
    for r in results:
        if not r.checks:
            info(f"  {r.name}: not checked (--no-check)")
            continue
        verdict = "ok" if r.ok else "FAILED"
        info(
            f"  {r.name} {r.format}: max |diff| {r.max_abs_diff:.2e} (tolerance {r.tolerance:.0e}) {verdict}"
        )
    failed = [r.name for r in results if r.checks and not r.ok]
    if failed:
        raise ExportError(
            f"the exported {', '.join(failed)} disagree with PyTorch beyond --atol {atol:g}; "
            f"the files are kept in {out} for inspection"
        )


def project(
    model: Model,
    image: Annotated[Path, typer.Argument(help="the photo to reproduce (png, jpg, ...)")],
    out: Annotated[Path, typer.Option(help="folder for the reconstruction and the latent")] = Path(
        "projection"
    ),
    steps: Annotated[int, typer.Option(help="optimization steps")] = 300,
    space: Annotated[
        str, typer.Option(help="auto (W+ for style-based models, else z), z, z+, w, w+")
    ] = "auto",
    lr: Annotated[
        float | None, typer.Option(help="peak learning rate (default 0.05 for z, 0.1 for w)")
    ] = None,
    perceptual_weight: Annotated[
        float, typer.Option(help="weight of the feature loss (0: pixels only)")
    ] = 1.0,
    pixel_weight: Annotated[float, typer.Option(help="weight of the pixel MSE")] = 1.0,
    class_index: Annotated[
        int | None, typer.Option("--class", help="class to project into (conditional models)")
    ] = None,
    seed: Annotated[int, typer.Option(help="seeds the starting point and the noise")] = 0,
    fit: Annotated[str, typer.Option(help="non-square photos: crop or pad")] = "crop",
    name: Annotated[
        str | None, typer.Option(help="model name in lineage.json (default: as `ganforge serve` names it)")
    ] = None,
    device: Annotated[str, typer.Option(help="cpu, cuda, mps")] = "cpu",
) -> None:
    """Find the latent that reproduces a photo (GAN inversion).

    Optimizes the latent (z, or W / W+ for style-based models) for a pixel plus perceptual loss.
    Writes target.png, reconstruction.png, latent.npz and, for z latents, lineage.json, which the
    studio's Breed page imports to breed with the photo.

    Examples:

      ganforge project runs/00000-dcgan-mnist digit.png --out proj/ --steps 300

      ganforge project runs/00007-stylegan-emoji64 face.png --space w+ --out proj/
    """
    from ganforge.pipelines import load_generator
    from ganforge.pipelines.project import ProjectPipeline, load_target, save_projection

    if fit not in ("crop", "pad"):
        raise ConfigError(f"--fit {fit!r} must be crop or pad")
    loaded = load_generator(model, device, verb="project")
    target = load_target(image, loaded.G, fit)
    pipe = ProjectPipeline(loaded.G, device)
    every = max(1, steps // 10)

    def report(step: int, loss: float) -> None:
        if (step + 1) % every == 0 or step + 1 == steps:
            info(f"step {step + 1}/{steps}  loss {loss:.4f}")

    result = pipe(
        target,
        steps=steps,
        space=space,
        lr=lr,
        pixel_weight=pixel_weight,
        perceptual_weight=perceptual_weight,
        class_index=class_index,
        seed=seed,
        callback=report,
    )
    model_name = name or serve_name(loaded.source)
    files = save_projection(result, out, model_name, image.name)
    mse = float((result.image - result.target).square().mean())
    psnr = 10 * math.log10(4.0 / max(mse, 1e-12))  # peak-to-peak 2 for [-1, 1]
    shape = "x".join(map(str, result.latent.shape))
    info(f"reconstruction: MSE {mse:.4f}, PSNR {psnr:.1f} dB; latent {result.space} ({shape})")
    info(f"wrote {', '.join(str(p) for p in files.values())}")
    if "lineage" in files:
        info(f"studio: `ganforge serve {model}`, then import {files['lineage']} on the Breed page")
    else:
        info(
            "the studio breeds z latents; use --space z (z+ for style-based models) to breed with this photo"
        )


def serve_name(source: Path) -> str:
    """The name `ganforge serve` gives a model loaded from `source` (a run's bundle: the run's name)."""
    path = Path(source).resolve()
    if path.name == "bundle" and path.parent.name:
        return path.parent.name
    return path.stem if path.is_file() else path.name


def report(
    run: Annotated[Path, typer.Argument(help="a run directory")],
    out: Annotated[Path | None, typer.Option(help="the HTML file (default RUN/report.html)")] = None,
    max_samples: Annotated[int, typer.Option(help="most sample grids shown, evenly spaced")] = 24,
) -> None:
    """Write a self-contained HTML report of a training run.

    Loss and metric curves, the sample grids over training and the config, in one page that
    loads nothing from the network.

    Examples:

      ganforge report runs/00000-dcgan-mnist

      ganforge report runs/00000-dcgan-mnist --out dcgan.html --max-samples 8
    """
    from ganforge.report import read_run, write_report

    if max_samples < 1:
        raise ConfigError("--max-samples must be at least 1")
    path = write_report(run, out, max_samples)
    record = read_run(run)
    info(
        f"wrote {path} ({path.stat().st_size / 1e3:.0f} kB): {len(record.scalars)} logged values, "
        f"{len(record.metrics)} metrics, {min(len(record.samples), max_samples)} sample grid(s)"
    )
