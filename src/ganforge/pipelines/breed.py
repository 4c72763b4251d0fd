"""Breeding images, in the spirit of Artbreeder: children are weighted mixtures of their parents'
latents, mutated by fresh noise of a chosen strength. Deterministic for a seed.

Mixing keeps latents where the generator saw them in training. A Gaussian latent of dimension d
lies near the sphere of radius sqrt(d); a plain weighted average of several such latents falls
inside it (White 2016, "Sampling Generative Networks", the same argument that motivates slerp). So
the parents' directions are mixed by share and the mixture is given the parents' share-weighted
norm, the multi-parent generalization of slerp's norm property. Mutation with strength s in [0, 1]
is the variance-preserving blend ``sqrt(1 - s**2) * mix + s * noise``: 0 keeps the mixture, 1 gives
a stranger.

Style-based generators (StyleGAN, Karras et al. 2019) can be bred per layer group: coarse layers
(pose, shape), middle (features) and fine (colour, texture) each take their own parent shares. A
generator opts in by defining

    layer_groups: tuple[str, ...]              # e.g. ("coarse", "middle", "fine")
    forward_groups(z, labels=None) -> images   # z (B, len(layer_groups), z_dim): one latent per group

and, optionally, a `truncation_psi=` keyword on `forward` and `forward_groups`. Its latents (its
"genomes") are then (len(layer_groups), z_dim) per image; a plain (z_dim,) latent means the same
latent for every group.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch

from ganforge.errors import ConfigError


def layer_groups(G: torch.nn.Module) -> tuple[str, ...]:
    """The generator's layer groups for per-group breeding; () when it takes one latent for all layers."""
    groups = tuple(getattr(G, "layer_groups", ()) or ())
    return groups if groups and callable(getattr(G, "forward_groups", None)) else ()


def supports_truncation(G: torch.nn.Module) -> bool:
    """Whether G's forward takes `truncation_psi` (style-based generators do; DCGAN does not)."""
    return "truncation_psi" in inspect.signature(G.forward).parameters


@torch.no_grad()
def synthesize(
    G: torch.nn.Module,
    z: torch.Tensor,
    labels: torch.Tensor | None = None,
    truncation_psi: float | None = None,
    batch_size: int = 64,
) -> torch.Tensor:
    """Images (N, C, H, W) on the CPU for latents z: (N, z_dim), or (N, groups, z_dim) for a
    style-based G (one latent per layer group). `truncation_psi` only where G supports it."""
    kwargs = {}
    if truncation_psi is not None:
        if not supports_truncation(G):
            raise ConfigError("truncation needs a style-based generator (stylegan); this model has none")
        kwargs["truncation_psi"] = float(truncation_psi)
    groups = layer_groups(G)
    if z.dim() == 3 and not groups:
        raise ConfigError(f"latents of shape {tuple(z.shape)} have layer groups, but this generator has none")
    if z.dim() == 3 and z.shape[1] != len(groups):
        raise ConfigError(f"latents have {z.shape[1]} layer groups; this generator has {len(groups)}")
    if z.dim() not in (2, 3) or z.shape[-1] != G.z_dim:
        raise ConfigError(f"latents must be (N, {G.z_dim}); got {tuple(z.shape)}")
    device = next(G.parameters()).device
    forward = G.forward_groups if z.dim() == 3 else G
    chunks = []
    for start in range(0, z.shape[0], batch_size):
        zb = z[start : start + batch_size].to(device)
        lb = labels[start : start + batch_size].to(device) if labels is not None else None
        chunks.append(forward(zb, lb, **kwargs).float().cpu())
    return torch.cat(chunks)


def normalize_shares(shares: Sequence[float], parents: int) -> torch.Tensor:
    """Shares as fractions summing to 1; raises on a wrong count, a negative share or all zeros."""
    if len(shares) != parents:
        raise ConfigError(f"got {len(shares)} shares for {parents} parents; give one share per parent")
    w = torch.tensor([float(s) for s in shares], dtype=torch.float64)
    if not torch.isfinite(w).all() or (w < 0).any():
        raise ConfigError(f"shares {list(shares)} must be finite and >= 0")
    if w.sum() <= 0:
        raise ConfigError("shares are all 0; give at least one parent a positive share")
    w = w / w.max()  # huge shares (1e308 each) would sum to inf and mix to nothing
    return w / w.sum()


def mix_latents(z: torch.Tensor, shares: torch.Tensor) -> torch.Tensor:
    """Norm-preserving weighted mixture of parent latents z (P, z_dim) with fractions `shares` (P,).

    The parents' directions are mixed by share and the result is given the share-weighted mean of
    their norms. Returns (z_dim,): identical parents give themselves back, equal shares of two
    parents lie at equal angles to both, and the mixture stays on the prior's shell."""
    w = shares.to(torch.float64).view(-1, 1)
    zd = z.to(torch.float64)
    norms = zd.norm(dim=1, keepdim=True).clamp_min(1e-12)
    direction = (w * zd / norms).sum(0)
    length = direction.norm()
    if length < 1e-8:  # exactly opposite parents in equal shares: their mixture is the origin
        return torch.zeros_like(z[0])
    return (direction * ((w * norms).sum() / length)).to(z.dtype)


def mutation_noise(n: int, z_dim: int, seed: int) -> torch.Tensor:
    """The (n, z_dim) noise that mutates n children, drawn on the CPU from `seed` one child at a time,
    so that child i is the same however many children are asked for."""
    generator = torch.Generator().manual_seed(seed)
    return torch.cat([torch.randn(1, z_dim, generator=generator) for _ in range(n)])


def mutate(mixed: torch.Tensor, noise: torch.Tensor, strength: float) -> torch.Tensor:
    """Children ``sqrt(1 - s**2) * mixed + s * noise`` for each noise row; mixed (..., z_dim)."""
    if not 0.0 <= strength <= 1.0:
        raise ConfigError(f"mutation strength {strength} must lie in [0, 1] (0: none, 1: a new image)")
    keep = (1.0 - strength * strength) ** 0.5
    if mixed.dim() == 2:  # (groups, z_dim): one noise vector per child, the same for every group
        noise = noise[:, None, :]
    return keep * mixed.unsqueeze(0) + strength * noise


@dataclass
class BreedOutput:
    images: torch.Tensor  # (N, C, H, W) float in [-1, 1], on the CPU
    z: torch.Tensor  # (N, z_dim), or (N, groups, z_dim) when bred per layer group
    labels: torch.Tensor | None  # (N,) the children's classes, for conditional generators
    shares: dict[str, list[float]]  # the normalized shares used, by layer group ("all" for one latent)


class BreedPipeline:
    """`BreedPipeline(G)(parents, shares, n=8, mutation=0.3, seed=0)` -> `BreedOutput`.

    Args of the call:
        parents: (P, z_dim) latents, or (P, groups, z_dim) genomes of a style-based G.
        shares: one share per parent (any scale, normalized here), or for a style-based G a mapping
            from every layer group name to one share per parent.
        n: children to make; they differ only in their mutation noise.
        mutation: strength in [0, 1].
        seed: seeds the mutation noise; the same arguments give the same children.
        parent_labels: each parent's class (conditional G); a child takes the class of the parent
            with the largest share (the first on ties) unless `class_index` is given.
    """

    def __init__(self, G: torch.nn.Module):
        self.G = G.eval()
        self.groups = layer_groups(G)

    def __call__(
        self,
        parents: torch.Tensor,
        shares: Sequence[float] | Mapping[str, Sequence[float]],
        n: int = 8,
        mutation: float = 0.3,
        seed: int = 0,
        parent_labels: Sequence[int] | None = None,
        class_index: int | None = None,
        truncation_psi: float | None = None,
    ) -> BreedOutput:
        z = self.children(parents, shares, n, mutation, seed)
        labels = self.child_labels(n, shares, parent_labels, class_index, parents.shape[0])
        images = synthesize(self.G, z, labels, truncation_psi)
        return BreedOutput(images, z, labels, self.shares_by_group(shares, parents.shape[0]))

    def shares_by_group(
        self, shares: Sequence[float] | Mapping[str, Sequence[float]], parents: int
    ) -> dict[str, list[float]]:
        if not isinstance(shares, Mapping):
            return {"all": normalize_shares(shares, parents).tolist()}
        if not self.groups:
            raise ConfigError(
                "per-layer-group shares need a style-based generator (stylegan); "
                "this one takes one latent for all layers: give one share per parent"
            )
        unknown = sorted(set(shares) - set(self.groups))
        missing = [g for g in self.groups if g not in shares]
        if unknown or missing:
            raise ConfigError(
                f"shares must name exactly the layer groups {', '.join(self.groups)}"
                + (f"; unknown: {', '.join(unknown)}" if unknown else "")
                + (f"; missing: {', '.join(missing)}" if missing else "")
            )
        return {g: normalize_shares(shares[g], parents).tolist() for g in self.groups}

    def children(
        self,
        parents: torch.Tensor,
        shares: Sequence[float] | Mapping[str, Sequence[float]],
        n: int,
        mutation: float,
        seed: int,
    ) -> torch.Tensor:
        """The children's latents alone (no images): (n, z_dim) or (n, groups, z_dim)."""
        if n < 1:
            raise ConfigError(f"children {n}: ask for at least one child")
        z_dim = self.G.z_dim
        if parents.dim() not in (2, 3) or parents.shape[0] < 1 or parents.shape[-1] != z_dim:
            raise ConfigError(f"parents must be (P, {z_dim}) latents, got {tuple(parents.shape)}")
        by_group = self.shares_by_group(shares, parents.shape[0])
        per_group = isinstance(shares, Mapping) or parents.dim() == 3
        if parents.dim() == 3 and parents.shape[1] != len(self.groups):
            raise ConfigError(
                f"parents have {parents.shape[1]} layer groups; this generator has {len(self.groups)}"
            )
        noise = mutation_noise(n, z_dim, seed)
        if not per_group:
            return mutate(mix_latents(parents, torch.tensor(by_group["all"])), noise, mutation)
        genomes = parents if parents.dim() == 3 else parents[:, None, :].expand(-1, len(self.groups), -1)
        mixed = torch.stack(
            [
                mix_latents(genomes[:, k], torch.tensor(by_group.get(g, by_group.get("all"))))
                for k, g in enumerate(self.groups)
            ]
        )  # (groups, z_dim)
        return mutate(mixed, noise, mutation)

    def child_labels(
        self,
        n: int,
        shares: Sequence[float] | Mapping[str, Sequence[float]],
        parent_labels: Sequence[int] | None,
        class_index: int | None,
        parents: int,
    ) -> torch.Tensor | None:
        k = getattr(self.G, "num_classes", 0)
        if not k:
            if class_index is not None:
                raise ConfigError("a class needs a class-conditional model; this one is not")
            return None
        if class_index is None:
            if parent_labels is None or len(parent_labels) != parents:
                raise ConfigError(
                    "a conditional model needs each parent's class, or one class for the children"
                )
            totals = torch.zeros(parents, dtype=torch.float64)
            for fractions in self.shares_by_group(shares, parents).values():
                totals += torch.tensor(fractions, dtype=torch.float64)
            class_index = int(parent_labels[int(torch.argmax(totals))])
        if not 0 <= class_index < k:
            raise ConfigError(f"class {class_index} is out of range; this model has classes 0..{k - 1}")
        return torch.full((n,), class_index, dtype=torch.long)
