"""`ganforge directions`: find directions of meaningful change in a generator and save them in its bundle."""

from __future__ import annotations

from typing import Annotated

import typer

from ganforge.console import info
from ganforge.errors import ConfigError

METHODS = ("pca", "sefa", "classes", "labels")


def directions(
    model: Annotated[str, typer.Argument(help="a run directory or a bundle folder")],
    method: Annotated[
        str | None, typer.Option(help="pca (GANSpace), sefa (closed form), classes (class genes), labels")
    ] = None,
    data: Annotated[
        str | None,
        typer.Option(
            help="--method labels: a folder of class subfolders, a labeled built-in, or `thickness`"
        ),
    ] = None,
    n: Annotated[
        int, typer.Option(help="latents sampled (pca, labels; also the scale of every direction)")
    ] = 2000,
    k: Annotated[int, typer.Option(help="how many directions (pca, sefa)")] = 10,
    layers: Annotated[
        str, typer.Option(help="sefa on a style-based model: all, coarse, middle or fine")
    ] = "all",
    features: Annotated[
        str | None,
        typer.Option(help="--method labels: digits-lenet, fashion-lenet or effnet-lite0 (default: chosen)"),
    ] = None,
    seed: Annotated[int, typer.Option(help="seeds the sampled latents")] = 0,
    list_: Annotated[bool, typer.Option("--list", help="list the saved directions and stop")] = False,
    device: Annotated[str, typer.Option(help="cpu, cuda, mps")] = "cpu",
) -> None:
    """Find directions in latent space and save them in the bundle (directions.safetensors + .json).

    pca: GANSpace (Härkönen et al. 2020). sefa: eigenvectors of W^T W (Shen & Zhou 2021). classes:
    class genes of a conditional model. labels: InterFaceGAN (Shen et al. 2020): a classifier trained
    on labeled images scores samples and a linear boundary in latent space gives one direction per
    class, named after it. A rerun of a method replaces that method's directions.

    Examples:

      ganforge directions runs/00000-dcgan-mnist --method pca --k 10

      ganforge directions runs/00000-dcgan-mnist --method sefa

      ganforge directions runs/00001-cdcgan-mnist --method classes

      ganforge directions runs/00000-dcgan-mnist --method labels --data thickness

      ganforge directions runs/00003-stylegan-emoji64 --method sefa --layers coarse

      ganforge directions runs/00000-dcgan-mnist --list
    """
    from ganforge.editing.model import generator_facts
    from ganforge.editing.store import directions_folder, load_directions, save_directions
    from ganforge.pipelines.loading import load_generator

    folder = directions_folder(model)
    if list_:
        loaded = load_generator(folder, device)
        saved = load_directions(folder, generator_facts(loaded.G))
        if not len(saved):
            info(f"{folder} has no directions yet; find some with `ganforge directions {model} --method pca`")
            return
        for d in saved.directions.values():
            extra = "" if d.variance is None else f"  variance {d.variance:.4g}"
            scale = f"scale {d.scale:.4g}"
            print(
                f"{d.name:<16} {d.method:<8} {d.space:<5} {scale:<13} layers {d.layers:<7} {d.label}{extra}"
            )
        return
    if method not in METHODS:
        raise ConfigError(f"--method {method!r}: use one of {', '.join(METHODS)} (or --list)")
    if method != "labels" and (data is not None or features is not None):
        raise ConfigError("--data and --features go with --method labels only")
    if method == "labels" and not data:
        raise ConfigError(
            "--method labels needs --data: a folder of class subfolders, mnist-5k, or thickness"
        )
    if layers != "all" and method != "sefa":
        raise ConfigError(
            "--layers goes with --method sefa only (edits choose layers with `ganforge edit --layers`)"
        )
    loaded = load_generator(folder, device)
    G = loaded.G
    from ganforge.editing import directions as find

    if method == "pca":
        found = find.pca(G, k=k, n=n, seed=seed)
    elif method == "sefa":
        found = find.sefa(G, k=k, layers=layers, n=n, seed=seed)
    elif method == "classes":
        found = find.classes(G, loaded.class_names)
    else:
        from ganforge.editing.attributes import label_directions

        found, classifier = label_directions(G, data, n=n, seed=seed, features=features)
        accuracy = classifier.held_out_accuracy
        info(
            f"classifier: {classifier.features_name} features + logistic head, held-out accuracy "
            + ("n/a" if accuracy is None else f"{accuracy:.3f}")
        )
    saved = save_directions(folder, found)
    names = ", ".join(d.name for d in found[:12]) + (" ..." if len(found) > 12 else "")
    info(f"saved {len(found)} {method} direction(s) in {folder} ({names}); {len(saved)} in all")
