"""Editing one image along directions of a generator's latent space ("genes", as in Artbreeder).

`EditPipeline(G, directions)(seed=3, genes={"pca:0": 2.0, "class:7": 0.6})` moves the seed's latent
by ``sum(strength * scale * direction)``: in z for most generators, in w for style-based ones, where
an edit can be limited to a layer group (coarse, middle, fine; Karras et al. 2019). Class genes of a
conditional generator replace its one-hot class input with a soft mixture of its label embedding's
rows. With every strength 0 the image is exactly the unedited one, bit for bit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from ganforge.editing.directions import Direction
from ganforge.editing.directions import classes as class_genes
from ganforge.editing.model import class_embedding, generator_facts
from ganforge.editing.store import DirectionSet, valid_layers
from ganforge.errors import CheckpointError, ConfigError
from ganforge.pipelines.generate import latents

MAX_STRENGTH = 100.0  # beyond this an image is far outside anything the generator was trained on
LATENT_SPACES = ("z", "z+", "w", "w+")


@dataclass
class EditOutput:
    images: torch.Tensor  # (N, C, H, W) in [-1, 1], on the CPU
    genes: list[dict[str, float]]  # the gene values of each image


def parse_genes(text: str) -> dict[str, float]:
    """ "pca:0=2,class:7=0.6,thick=1.5" -> {"pca:0": 2.0, "class:7": 0.6, "thick": 1.5}."""
    genes: dict[str, float] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        name, sep, value = part.rpartition("=")
        try:
            if not sep or not name.strip():
                raise ValueError
            genes[name.strip()] = float(value)
        except ValueError:
            raise ConfigError(
                f"--apply {text!r}: write NAME=STRENGTH pairs, e.g. pca:0=2,class:7=0.6"
            ) from None
    if not genes:
        raise ConfigError("--apply needs at least one NAME=STRENGTH, e.g. pca:0=2")
    return genes


def parse_range(text: str) -> tuple[float, float]:
    """ "-3,3" -> (-3.0, 3.0): finite, first below second."""
    try:
        lo, hi = (float(v) for v in text.split(","))
    except ValueError:
        raise ConfigError(f"--range {text!r}: give two numbers, low and high, e.g. -3,3") from None
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo >= hi:
        raise ConfigError(
            f"--range {text!r}: the low end must be a finite number below the high end, e.g. -3,3"
        )
    if max(abs(lo), abs(hi)) > MAX_STRENGTH:
        raise ConfigError(f"--range {text!r}: keep strengths within +-{MAX_STRENGTH:g}")
    return lo, hi


class EditPipeline:
    """`EditPipeline(G, directions)(seed, genes=...)` -> `EditOutput` with one image; `.strip()` for
    a row of images along one direction. `directions` is the bundle's `DirectionSet`; class genes
    of a conditional generator are always available, saved or not."""

    def __init__(
        self,
        G: torch.nn.Module,
        directions: DirectionSet | None = None,
        class_names: list[str] | None = None,
        device: torch.device | str = "cpu",
    ):
        self.device = torch.device(device)
        self.G = G.to(self.device).eval()
        self.facts = generator_facts(G)
        self.directions: dict[str, Direction] = dict(directions.directions) if directions else {}
        if self.facts.num_classes and class_embedding(G) is not None:
            for d in class_genes(G, class_names):
                self.directions.setdefault(d.name, d)

    # ---------------------------------------------------------------- checking input

    def available(self) -> list[Direction]:
        return list(self.directions.values())

    def check_genes(self, genes: Mapping[str, float]) -> dict[str, float]:
        """Genes as floats, checked: known names, finite, bounded; class genes in [0, 1]."""
        out: dict[str, float] = {}
        for name, value in genes.items():
            if name not in self.directions:
                if name.startswith("class:") and not self.facts.num_classes:
                    raise ConfigError(
                        f"gene {name!r}: class genes need a class-conditional model; this one is not"
                    )
                known = ", ".join(list(self.directions)[:12])
                hint = known or "none yet; run `ganforge directions RUN --method pca` first"
                raise ConfigError(f"unknown direction {name!r}; this model has: {hint}")
            try:
                v = float(value)
            except (TypeError, ValueError):
                raise ConfigError(f"gene {name!r}: strength {value!r} is not a number") from None
            if not math.isfinite(v) or abs(v) > MAX_STRENGTH:
                raise ConfigError(
                    f"gene {name!r}: strength {value} must be a finite number within +-{MAX_STRENGTH:g}"
                )
            if self.directions[name].space == "class" and not 0.0 <= v <= 1.0:
                raise ConfigError(
                    f"class gene {name!r}: {v} must lie in [0, 1] (its share of the class mixture)"
                )
            out[name] = v
        return out

    def check_layers(self, layers: str | None) -> None:
        if layers is None:
            return
        if not self.facts.style_based:
            raise ConfigError(
                "--layers needs a style-based generator (stylegan); this one has a single latent"
            )
        if not valid_layers(layers) or layers == "all":
            raise ConfigError(f"--layers {layers!r}: use coarse, middle, fine or a comma list of them")

    # ---------------------------------------------------------------- the edit

    @torch.no_grad()
    def __call__(
        self,
        seed: int | None = 0,
        latent: torch.Tensor | None = None,
        space: str | None = None,
        class_index: int | None = None,
        genes: Mapping[str, float] | None = None,
        layers: str | None = None,
        truncation_psi: float | None = None,
    ) -> EditOutput:
        """One edited image of seed `seed` (or of `latent` in `space`: z, z+, w, w+)."""
        return self.render([dict(genes or {})], seed, latent, space, class_index, layers, truncation_psi)

    @torch.no_grad()
    def strip(
        self,
        name: str,
        values: Sequence[float],
        seed: int | None = 0,
        latent: torch.Tensor | None = None,
        space: str | None = None,
        class_index: int | None = None,
        genes: Mapping[str, float] | None = None,
        layers: str | None = None,
        truncation_psi: float | None = None,
    ) -> EditOutput:
        """One image per value of direction `name` (other `genes` held fixed)."""
        if not values:
            raise ConfigError("a strip needs at least one step")
        rows = [{**dict(genes or {}), name: float(v)} for v in values]
        return self.render(rows, seed, latent, space, class_index, layers, truncation_psi)

    def render(
        self,
        gene_rows: list[dict[str, float]],
        seed: int | None,
        latent: torch.Tensor | None,
        space: str | None,
        class_index: int | None,
        layers: str | None,
        truncation_psi: float | None,
    ) -> EditOutput:
        checked = [self.check_genes(g) for g in gene_rows]
        self.check_layers(layers)
        base, kind = self._base(seed, latent, space, truncation_psi)
        label = self._class(class_index)
        # one image at a time: the same arithmetic as an unedited single sample, so strength 0 is exact
        images = [self._render_one(base, kind, label, g, layers) for g in checked]
        return EditOutput(torch.cat(images), checked)

    # ---------------------------------------------------------------- internals

    def _class(self, class_index: int | None) -> int | None:
        k = self.facts.num_classes
        if class_index is None:
            return 0 if k else None  # as `ganforge sample --n 1`: the first image takes class 0
        if not k:
            raise ConfigError(
                "--class needs a class-conditional model (e.g. --preset cdcgan-mnist); this one is not"
            )
        if not 0 <= class_index < k:
            raise ConfigError(f"--class {class_index} is out of range; this model has classes 0..{k - 1}")
        return int(class_index)

    def _base(
        self, seed: int | None, latent: torch.Tensor | None, space: str | None, psi: float | None
    ) -> tuple[torch.Tensor, str]:
        """The unedited latent: ("z", (1, z_dim)) or, style-based, ("ws", (1, num_ws, w_dim))."""
        G, facts = self.G, self.facts
        if psi is not None and (not facts.style_based or not math.isfinite(psi)):
            raise ConfigError("--truncation needs a style-based generator and a finite psi, e.g. 0.7")
        if latent is None:
            if seed is None:
                raise ConfigError("give a seed or a latent to edit")
            latent, space = latents(1, G.z_dim, seed)[0], "z"
        latent = latent.detach().float().cpu()
        space = space or ("z+" if latent.dim() == 2 and facts.style_based else "z")
        if space not in LATENT_SPACES:
            raise ConfigError(f"latent space {space!r} is not one of {', '.join(LATENT_SPACES)}")
        if not torch.isfinite(latent).all():
            raise ConfigError("the latent holds NaN or inf")
        if not facts.style_based:
            if space != "z" or tuple(latent.shape) != (G.z_dim,):
                raise ConfigError(
                    f"this generator edits z latents of {G.z_dim} values; got {space} {tuple(latent.shape)}"
                )
            return latent[None].to(self.device), "z"
        expected = {
            "z": (G.z_dim,),
            "z+": (len(facts.layer_groups), G.z_dim),
            "w": (G.w_dim,),
            "w+": (facts.num_ws, G.w_dim),
        }[space]
        if tuple(latent.shape) != expected:
            raise ConfigError(
                f"a {space} latent of this generator has shape {expected}, got {tuple(latent.shape)}"
            )
        x = latent[None].to(self.device)
        kwargs = {"truncation_psi": float(psi)} if psi is not None else {}
        if space == "z":
            return G.mapping(x, **kwargs), "ws"
        if space == "z+":  # one z per layer group, as `forward_groups` renders them
            per_group = [G.mapping(x[:, k], **kwargs) for k in range(len(facts.layer_groups))]
            ws = per_group[0].clone()
            for k, group in enumerate(facts.layer_groups):
                index = G.layer_indices(group)
                ws[:, index] = per_group[k][:, index]
            return ws, "ws"
        if space == "w":
            return x[:, None, :].repeat(1, facts.num_ws, 1), "ws"
        return x, "ws"

    def _render_one(
        self, base: torch.Tensor, kind: str, label: int | None, genes: dict[str, float], layers: str | None
    ) -> torch.Tensor:
        G = self.G
        moves = [
            (self.directions[n], s)
            for n, s in genes.items()
            if s != 0.0 and self.directions[n].space != "class"
        ]
        mixture = self._mixture(label, genes)
        x = base
        if moves:
            x = base.clone()
            for d, s in moves:
                offset = (s * d.scale) * d.vector.to(x)
                if kind == "z":
                    x = x + offset
                else:
                    group = layers or d.layers
                    index = list(range(self.facts.num_ws)) if group == "all" else self._indices(group)
                    x[:, index] = x[:, index] + offset
        if kind == "ws":
            return G.synthesis(x).clamp(-1, 1).float().cpu()
        if mixture is None:
            labels = torch.tensor([label], device=self.device) if label is not None else None
            return G(x, *([labels] if labels is not None else [])).float().cpu()
        return self._render_mixture(x, mixture).float().cpu()

    def _indices(self, group: str) -> list[int]:
        from ganforge.pipelines.mix import parse_layers

        return parse_layers(self.G, group)

    def _mixture(self, label: int | None, genes: dict[str, float]) -> torch.Tensor | None:
        """Class weights (K,) when class genes make the class input a true mixture; None when it is
        one class (then the label is passed as usual, so 100% of class k is the sample of class k)."""
        shares = {int(n.split(":", 1)[1]): s for n, s in genes.items() if self.directions[n].space == "class"}
        if label is None or not any(shares.values()):
            return None
        k = self.facts.num_classes
        weights = torch.zeros(k, dtype=torch.float64)
        for c, s in shares.items():
            weights[c] += s
        total = float(weights.sum())
        if total <= 1.0:
            weights[label] += 1.0 - total  # the image's own class keeps what the genes leave
        else:
            weights /= total
        if int((weights > 0).sum()) == 1:
            return torch.nn.functional.one_hot(weights.argmax(), k).double()
        return weights

    def _render_mixture(self, z: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        top = int(weights.argmax())
        if float(weights[top]) == 1.0:
            return self.G(z, torch.tensor([top], device=self.device))
        embed = class_embedding(self.G)
        mixed = (weights.to(embed.weight) @ embed.weight)[None]  # (1, embedding_dim)
        # the embedding's output is replaced by the mixture of its rows, wherever G uses it
        hook = embed.register_forward_hook(lambda module, args, out: mixed.expand_as(out).to(out))
        try:
            return self.G(z, torch.tensor([top], device=self.device))
        finally:
            hook.remove()


def load_edit_pipeline(path: str | Path, device: torch.device | str = "cpu") -> EditPipeline:
    """An EditPipeline over the generator and saved directions of a bundle or run directory."""
    from ganforge.editing.store import directions_folder, load_directions
    from ganforge.pipelines.loading import load_generator

    loaded = load_generator(path, device)
    try:
        folder = directions_folder(loaded.source)
    except CheckpointError:  # a bare checkpoint: no bundle to keep directions in
        folder = None
    facts = generator_facts(loaded.G)
    directions = load_directions(folder, facts) if folder is not None else None
    return EditPipeline(loaded.G, directions, loaded.class_names, device)
