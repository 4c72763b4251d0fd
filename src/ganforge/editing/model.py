"""What editing needs to know about a generator, decided in one place.

Today this reads the loaded module itself (as `pipelines.generate.is_style_based` does); once every
recipe declares its capabilities in `model.json`, this is the one function to point at them.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ganforge.pipelines.generate import is_style_based


@dataclass(frozen=True)
class GeneratorFacts:
    style_based: bool  # edits act on w (per layer); otherwise on z
    space: str  # "w" or "z": the space directions live in
    latent_dim: int  # length of a direction
    num_classes: int  # 0 for unconditional generators
    num_ws: int  # ws per image of a style-based generator (0 otherwise)
    layer_groups: tuple[str, ...]  # ("coarse", "middle", "fine") for style-based generators
    # z's first `codes` entries carry a categorical code (InfoGAN: only their argmax counts), so a
    # step along them jumps between modes instead of sliding: directions leave them at 0
    codes: int = 0


def generator_facts(G: nn.Module) -> GeneratorFacts:
    """The latent space that directions of `G` live in, its size, classes and layer groups."""
    style = is_style_based(G) and hasattr(G, "num_ws") and hasattr(G, "w_dim")
    k = int(getattr(G, "num_classes", 0) or 0)
    if style:
        groups = tuple(getattr(G, "layer_groups", ()) or ())
        return GeneratorFacts(True, "w", int(G.w_dim), k, int(G.num_ws), groups)
    return GeneratorFacts(False, "z", int(G.z_dim), k, 0, (), int(getattr(G, "codes", 0) or 0))


def without_codes(latents: torch.Tensor, facts: GeneratorFacts) -> torch.Tensor:
    """`latents` (N, D) or weights (out, D) with the columns of z's code entries set to 0."""
    if not facts.codes:
        return latents
    out = latents.clone()
    out[:, : facts.codes] = 0
    return out


def class_embedding(G: nn.Module) -> nn.Embedding | None:
    """The label embedding of a conditional generator: the one `nn.Embedding` with a row per class.

    Class genes mix its rows; this does not depend on how (or whether) z is combined with it."""
    k = int(getattr(G, "num_classes", 0) or 0)
    found = [m for m in G.modules() if isinstance(m, nn.Embedding) and m.num_embeddings == k]
    return found[0] if k and len(found) == 1 else None


def execution_order(G: nn.Module, *inputs: torch.Tensor) -> list[tuple[nn.Module, torch.Tensor | None]]:
    """The leaf modules of G in the order a forward pass on `inputs` runs them, with their outputs."""
    order: list[tuple[nn.Module, torch.Tensor | None]] = []

    def record(module: nn.Module, args: tuple, out: object) -> None:
        order.append((module, out.detach().clone() if isinstance(out, torch.Tensor) else None))

    hooks = [m.register_forward_hook(record) for m in G.modules() if not list(m.children())]
    try:
        with torch.no_grad():
            G(*inputs)
    finally:
        for h in hooks:
            h.remove()
    return order
