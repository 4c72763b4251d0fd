"""Finding directions in a generator's latent space: one function per method, deterministic for a seed.

- `pca`: GANSpace (Härkönen et al. 2020, "GANSpace: Discovering Interpretable GAN Controls").
  Style-based generators: principal components of sampled w. Other generators: principal
  components of an early layer's activations over sampled z, carried back to z by a linear
  regression of z on the component coordinates (the paper's recipe for BigGAN), then made
  orthonormal in order (Gram-Schmidt), so that direction i is the part of the regression that is
  new after directions 0..i-1.
- `sefa`: closed-form factorization (Shen & Zhou 2021, "Closed-Form Factorization of Latent
  Semantics in GANs"): eigenvectors of W^T W, W the first weight that reads the latent (the style
  affines of the chosen layers for style-based generators).
- `classes`: class genes of a conditional generator (one per class; as Ganbreeder mixed BigGAN's
  class vector): the class input becomes a soft mixture of the label embedding's rows.
- `labels_boundary`: InterFaceGAN (Shen et al. 2020, "Interpreting the Latent Space of GANs for
  Semantic Face Editing"): the unit normal of a linear boundary separating latents whose images a
  classifier scores high from those it scores low.

Every direction is a unit vector with a `scale`: the standard deviation of sampled latents along
it, so that strength 1 moves an image by one typical spread.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import torch
from torch import nn

from ganforge.editing.model import class_embedding, execution_order, generator_facts, without_codes
from ganforge.errors import ConfigError
from ganforge.pipelines.generate import latents

NAME = re.compile(r"^[A-Za-z0-9_.-]+(:[A-Za-z0-9_.-]+)?$")
ACTIVATIONS = (nn.ReLU, nn.LeakyReLU, nn.GELU, nn.SiLU, nn.ELU, nn.Tanh, nn.Softplus)


@dataclass
class Direction:
    name: str  # "pca:0", "sefa:2", "class:7", or an attribute name such as "thick"
    method: str  # "pca", "sefa", "classes" or "labels"
    vector: torch.Tensor  # (D,) unit length; for class genes a one-hot over the classes
    scale: float  # latent spread along the direction: strength s moves the latent by s * scale
    space: str  # "z", "w" or "class"
    layers: str = "all"  # style-based: the layer group(s) it applies to by default
    label: str = ""  # what a person sees in a slider's caption
    variance: float | None = None  # the variance this direction explains (pca), or its eigenvalue (sefa)


# ---------------------------------------------------------------- pure linear algebra


def principal_directions(samples: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The top-k principal axes (k, D) of samples (N, D), orthonormal, and their variances (k,),
    in decreasing order. Each axis's sign is chosen so its largest entry is positive."""
    if samples.dim() != 2 or samples.shape[0] < 2:
        raise ConfigError(f"PCA needs at least 2 samples of shape (N, D), got {tuple(samples.shape)}")
    x = samples.double() - samples.double().mean(0)
    _, s, vh = torch.linalg.svd(x, full_matrices=False)
    k = min(k, vh.shape[0])
    axes = _fix_signs(vh[:k])
    return axes.float(), (s[:k].square() / (x.shape[0] - 1)).float()


def top_eigenvectors(weight: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """SeFa: the top-k eigenvectors (k, D) of W^T W for a weight W (out, D), and their eigenvalues."""
    w = weight.double()
    values, vectors = torch.linalg.eigh(w.T @ w)  # ascending
    order = torch.argsort(values, descending=True)[: min(k, w.shape[1])]
    return _fix_signs(vectors[:, order].T).float(), values[order].float()


def labels_boundary(latents: torch.Tensor, scores: torch.Tensor, fraction: float = 0.3) -> torch.Tensor:
    """InterFaceGAN: the unit normal (D,) of a linear boundary (logistic regression) between the
    latents with the top and the bottom `fraction` of classifier scores, pointing toward high scores."""
    from sklearn.linear_model import LogisticRegression

    n = latents.shape[0]
    take = int(n * fraction)
    if not 0 < fraction <= 0.5 or take < 2:
        raise ConfigError(f"need at least 2 samples on each side of the boundary; got {n} with {fraction}")
    order = torch.argsort(scores, stable=True)
    chosen = torch.cat([order[:take], order[-take:]])
    x = latents[chosen].double().numpy()
    y = [0] * take + [1] * take
    head = LogisticRegression(C=1.0, max_iter=2000).fit(x, y)
    normal = torch.tensor(head.coef_[0], dtype=torch.float64)
    return (normal / normal.norm().clamp_min(1e-12)).float()


def _fix_signs(vectors: torch.Tensor) -> torch.Tensor:
    """Flip each row so its largest-magnitude entry is positive (eigen solvers choose signs freely)."""
    index = vectors.abs().argmax(dim=1)
    signs = torch.sign(vectors.gather(1, index[:, None]))
    return vectors * torch.where(signs == 0, torch.ones_like(signs), signs)


def _orthonormalize(rows: torch.Tensor) -> torch.Tensor:
    """Gram-Schmidt on rows (k, D) in order, each keeping the sign of its original row."""
    q, _ = torch.linalg.qr(rows.double().T)  # columns of q span rows[:i + 1] for every i
    q = q.T[: rows.shape[0]]
    signs = torch.sign((q * rows.double()).sum(1, keepdim=True))
    return (q * torch.where(signs == 0, torch.ones_like(signs), signs)).float()


# ---------------------------------------------------------------- sampling a generator


def _labels(G: nn.Module, n: int) -> torch.Tensor | None:
    k = int(getattr(G, "num_classes", 0) or 0)
    return torch.arange(n) % k if k else None


def _device(G: nn.Module) -> torch.device:
    return next(G.parameters()).device


@torch.no_grad()
def sample_w(G: nn.Module, n: int, seed: int, batch_size: int = 256) -> torch.Tensor:
    """n sampled w (n, w_dim) of a style-based generator, from the latents of `seed`."""
    z = latents(n, G.z_dim, seed)
    out = [
        G.mapping(z[i : i + batch_size].to(_device(G)))[:, 0].float().cpu() for i in range(0, n, batch_size)
    ]
    return torch.cat(out)


def latent_layer(G: nn.Module) -> tuple[nn.Module, nn.Module]:
    """(the first layer that reads z, the early layer whose activations GANSpace uses) of a
    z-space generator: the first weighted leaf module whose output changes with z (so a layer that
    only transforms the label is passed over), and the first activation module after it (else the
    next weighted module)."""
    device = _device(G)
    labels = _labels(G, 2)
    extra = [labels.to(device)] if labels is not None else []
    zero = torch.zeros(2, G.z_dim, device=device)
    other = torch.randn(2, G.z_dim, generator=torch.Generator().manual_seed(0)).to(device)
    runs = execution_order(G, zero, *extra), execution_order(G, other, *extra)
    order = [m for m, _ in runs[0]]

    def reads_z(i: int) -> bool:
        a, b = runs[0][i][1], runs[1][i][1]
        return a is not None and b is not None and a.shape == b.shape and not torch.equal(a, b)

    weighted = [
        i
        for i, m in enumerate(order)
        if not isinstance(m, nn.Embedding) and any(True for _ in m.parameters(recurse=False))
    ]
    readers = [i for i in weighted if reads_z(i)]
    if not readers:
        raise ConfigError("this generator has no layer with weights that reads the latent")
    first = readers[0]
    after = [m for m in order[first + 1 :] if isinstance(m, ACTIVATIONS)]
    if after:
        return order[first], after[0]
    later = [order[i] for i in weighted if i > first]
    return order[first], (later[0] if later else order[first])


@torch.no_grad()
def _activations(G: nn.Module, module: nn.Module, z: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """The outputs of `module` (N, F) while G renders latents z (N, z_dim), labels in turn."""
    captured: list[torch.Tensor] = []
    hook = module.register_forward_hook(lambda m, args, out: captured.append(out.detach().float().flatten(1)))
    labels = _labels(G, z.shape[0])
    try:
        for i in range(0, z.shape[0], batch_size):
            lb = labels[i : i + batch_size].to(_device(G)) if labels is not None else None
            G(z[i : i + batch_size].to(_device(G)), *([lb] if lb is not None else []))
    finally:
        hook.remove()
    return torch.cat([c.cpu() for c in captured])


# ---------------------------------------------------------------- the methods


def pca(G: nn.Module, k: int = 10, n: int = 2000, seed: int = 0) -> list[Direction]:
    """GANSpace directions `pca:0..k-1` of G, in decreasing order of explained variance."""
    _check_counts(k, n)
    facts = generator_facts(G)
    if facts.style_based:
        w = sample_w(G, n, seed)
        axes, variances = principal_directions(w, k)
        return [
            Direction(
                f"pca:{i}",
                "pca",
                axes[i],
                float(variances[i].sqrt()),
                "w",
                "all",
                f"PCA {i} of w",
                float(variances[i]),
            )
            for i in range(axes.shape[0])
        ]
    _, early = latent_layer(G)
    z = latents(n, G.z_dim, seed)
    acts = _activations(G, early, z)
    axes, variances = principal_directions(acts, min(k, facts.latent_dim - facts.codes))
    coords = (acts.double() - acts.double().mean(0)) @ axes.double().T  # (N, k)
    regression = torch.linalg.lstsq(coords, z.double()).solution  # (k, z_dim): coords @ U ~ z
    vectors = _orthonormalize(without_codes(regression, facts))
    spread = (z @ vectors.T).std(0)  # about 1: z is isotropic
    return [
        Direction(
            f"pca:{i}",
            "pca",
            vectors[i],
            float(spread[i]),
            "z",
            "all",
            f"PCA {i} of early activations",
            float(variances[i]),
        )
        for i in range(vectors.shape[0])
    ]


def sefa(G: nn.Module, k: int = 10, layers: str = "all", n: int = 2000, seed: int = 0) -> list[Direction]:
    """SeFa directions `sefa:0..k-1`: eigenvectors of W^T W of the weight that reads the latent
    (style-based: the style affines of the layers in `layers`, "all" or a group such as "coarse")."""
    _check_counts(k, n)
    facts = generator_facts(G)
    if facts.style_based:
        weight = _style_weight(G, layers)
        vectors, values = top_eigenvectors(weight, k)
        spread = (sample_w(G, n, seed) @ vectors.T).std(0)
        space = "w"
    else:
        if layers != "all":
            raise ConfigError("--layers needs a style-based generator (stylegan); this one has one latent")
        first, _ = latent_layer(G)
        weight = without_codes(_linear_map(G, first), facts)
        vectors, values = top_eigenvectors(weight, min(k, facts.latent_dim - facts.codes))
        spread = (latents(n, G.z_dim, seed) @ vectors.T).std(0)
        space = "z"
    return [
        Direction(
            f"sefa:{i}",
            "sefa",
            vectors[i],
            float(spread[i]),
            space,
            layers,
            f"SeFa {i}" + ("" if layers == "all" else f" ({layers})"),
            float(values[i]),
        )
        for i in range(vectors.shape[0])
    ]


def classes(G: nn.Module, class_names: list[str] | None = None) -> list[Direction]:
    """Class genes `class:0..K-1` of a conditional generator: gene k is the share of class k in the
    mixture of label embeddings that replaces the one-hot class input."""
    k = int(getattr(G, "num_classes", 0) or 0)
    if not k:
        raise ConfigError(
            "--method classes needs a class-conditional model (e.g. --preset cdcgan-mnist); this one is not"
        )
    if class_embedding(G) is None:
        raise ConfigError("class genes need a generator that embeds its label with one nn.Embedding")
    names = class_names if class_names and len(class_names) == k else [str(i) for i in range(k)]
    return [
        Direction(f"class:{i}", "classes", torch.eye(k)[i], 1.0, "class", "all", f"class {names[i]}")
        for i in range(k)
    ]


def attribute_directions(
    latent_samples: torch.Tensor, scores: torch.Tensor, names: list[str], space: str, fraction: float = 0.3
) -> list[Direction]:
    """One InterFaceGAN direction per column of `scores` (N, C) (e.g. each class's log-odds), named
    `names[c]`, in the space of `latent_samples` (N, D)."""
    out = []
    for c, name in enumerate(names):
        normal = labels_boundary(latent_samples, scores[:, c], fraction)
        spread = float((latent_samples @ normal).std())
        out.append(Direction(name, "labels", normal, spread, space, "all", f"more {name}"))
    return out


def _check_counts(k: int, n: int) -> None:
    if k < 1:
        raise ConfigError(f"--k {k}: ask for at least one direction")
    if n < 2 * k or n < 10:
        raise ConfigError(f"--n {n}: sample at least 10 latents and twice as many as directions")


@torch.no_grad()
def _linear_map(G: nn.Module, layer: nn.Module, step: float = 1.0) -> torch.Tensor:
    """The weight (out, z_dim) by which `layer` reads z, measured by finite differences at z = 0
    (exact for a linear layer; independent of how the generator arranges z and the label)."""
    d = G.z_dim
    z = torch.cat([torch.zeros(1, d), step * torch.eye(d)]).to(_device(G))
    out = _activations_of(G, layer, z)
    return ((out[1:] - out[:1]) / step).T  # (out, z_dim)


def _activations_of(G: nn.Module, layer: nn.Module, z: torch.Tensor) -> torch.Tensor:
    k = int(getattr(G, "num_classes", 0) or 0)
    captured: list[torch.Tensor] = []
    hook = layer.register_forward_hook(lambda m, args, out: captured.append(out.detach().double().flatten(1)))
    try:
        labels = torch.zeros(z.shape[0], dtype=torch.long, device=z.device) if k else None
        G(z, *([labels] if labels is not None else []))
    finally:
        hook.remove()
    return captured[0].cpu()


@torch.no_grad()
def _style_weight(G: nn.Module, layers: str) -> torch.Tensor:
    """The style affines (out, w_dim) of the ws in `layers`, stacked: which affine reads which w is
    found by moving only those ws and seeing whose output changes."""
    affines = [m.affine for m in G.modules() if isinstance(getattr(m, "affine", None), nn.Module)]
    if not affines:
        raise ConfigError("SeFa on a style-based generator needs its style affines (modulated convs)")
    w_dim, device = G.w_dim, _device(G)
    if layers == "all":
        chosen = affines
    else:
        from ganforge.pipelines.mix import parse_layers

        index = parse_layers(G, layers)
        outputs: dict[int, list[torch.Tensor]] = {}
        hooks = [
            a.register_forward_hook(lambda m, args, out, i=i: outputs.setdefault(i, []).append(out.clone()))
            for i, a in enumerate(affines)
        ]
        try:
            ws = torch.zeros(1, G.num_ws, w_dim, device=device)
            G.synthesis(ws)
            ws[:, index] = 1.0
            G.synthesis(ws)
        finally:
            for h in hooks:
                h.remove()
        chosen = [a for i, a in enumerate(affines) if not torch.equal(outputs[i][0], outputs[i][1])]
    eye = torch.eye(w_dim, device=device)
    zero = torch.zeros(1, w_dim, device=device)
    return torch.cat([(a(eye) - a(zero)).double().cpu().T for a in chosen])  # (sum of outs, w_dim)
