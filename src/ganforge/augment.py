"""Differentiable augmentation for data-efficient GAN training.

D sees only augmented images, real and fake alike, and G's gradient flows back through the
augmentation, so G is not taught to produce augmented-looking images. Two kinds:

- DiffAugment (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN Training"):
  color (brightness, saturation, contrast), translation by up to 1/8 of the side with zero padding,
  and cutout of a square half the side. Applied to every image (p = 1), as in the paper.
- ADA (Karras et al. 2020, "Training Generative Adversarial Networks with Limited Data"): a pipeline
  of geometric (x-flip, 90-degree rotations, integer translation, isotropic and anisotropic scaling,
  rotation, fractional translation) and color (brightness, contrast, luma flip, hue rotation,
  saturation) transforms, each applied with probability p. p adapts: every `interval` D steps,
  ``r_t = E[sign(D(real))]`` is compared with a target (0.6) and p moves by
  ``sign(r_t - target) * images / (speed_kimg * 1000)``, so an overfitting D (confident on reals)
  raises p. p, and the running sums, are recipe state saved in checkpoints.

Every transform draws its randomness from a `torch.Generator`, is a no-op for the images it skips
(exactly: they are not resampled), and is the identity for all images at p = 0.

Use in a recipe: ``self.augment = Augmenter(cfg.augment)``; pass ``self.augment(images, self.generator)``
to D for real and fake images alike; call ``self.augment.observe(real_logits)`` once per D step;
return ``self.augment.state_dict()`` from the recipe's `state_dict`.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import torch
import torch.nn.functional as F

from ganforge.errors import ConfigError

AugmentKind = Literal["none", "diffaugment", "ada"]
AUGMENT_KINDS = ("none", "diffaugment", "ada")


def _rand(n: int, generator: torch.Generator | None, device: torch.device) -> torch.Tensor:
    """n uniform draws on the generator's device, moved to `device`."""
    where = generator.device if generator is not None else device
    return torch.rand(n, generator=generator, device=where).to(device)


def _randn(n: int, generator: torch.Generator | None, device: torch.device) -> torch.Tensor:
    where = generator.device if generator is not None else device
    return torch.randn(n, generator=generator, device=where).to(device)


def _chosen(n: int, p: float, generator: torch.Generator | None, device: torch.device) -> torch.Tensor:
    """(n,) bool: which images get a transform applied with probability p."""
    return _rand(n, generator, device) < p


def _where(mask: torch.Tensor, new: torch.Tensor, old: torch.Tensor) -> torch.Tensor:
    return torch.where(mask.view(-1, *[1] * (old.dim() - 1)), new, old)


# ---------------------------------------------------------------------------- DiffAugment


def translate(x: torch.Tensor, shift_x: torch.Tensor, shift_y: torch.Tensor) -> torch.Tensor:
    """Shift each image (B, C, H, W) by integer pixels (B,), filling with zeros; differentiable in x."""
    b, _, h, w = x.shape
    pad = int(max(shift_x.abs().max(), shift_y.abs().max(), 0))
    padded = F.pad(x, [pad, pad, pad, pad])
    rows = torch.arange(h, device=x.device)[None, :] - shift_y[:, None] + pad  # (B, H) source rows
    cols = torch.arange(w, device=x.device)[None, :] - shift_x[:, None] + pad  # (B, W) source columns
    batch = torch.arange(b, device=x.device)[:, None, None]
    out = padded[batch, :, rows[:, :, None], cols[:, None, :]]  # (B, H, W, C)
    return out.permute(0, 3, 1, 2)  # (B, C, H, W)


def diff_augment(
    x: torch.Tensor,
    generator: torch.Generator | None = None,
    p: float = 1.0,
    policy: tuple[str, ...] = ("color", "translation", "cutout"),
) -> torch.Tensor:
    """DiffAugment (Zhao et al. 2020) of images x (B, C, H, W) in [-1, 1]; each op hits each image with
    probability p (1 in the paper)."""
    if p <= 0 or not policy:
        return x
    b, _, h, w = x.shape
    dev = x.device
    for op in policy:
        if op == "color":
            hit = _chosen(b, p, generator, dev)
            bright = (_rand(b, generator, dev) - 0.5).view(b, 1, 1, 1)
            y = x + bright
            mean = y.mean(dim=1, keepdim=True)
            y = (y - mean) * (_rand(b, generator, dev) * 2).view(b, 1, 1, 1) + mean  # saturation
            mean = y.mean(dim=(1, 2, 3), keepdim=True)
            y = (y - mean) * (_rand(b, generator, dev) + 0.5).view(b, 1, 1, 1) + mean  # contrast
            x = _where(hit, y, x)
        elif op == "translation":
            hit = _chosen(b, p, generator, dev)
            sy, sx = int(h * 0.125 + 0.5), int(w * 0.125 + 0.5)
            ty = torch.floor(_rand(b, generator, dev) * (2 * sy + 1)).long() - sy
            tx = torch.floor(_rand(b, generator, dev) * (2 * sx + 1)).long() - sx
            x = _where(hit, translate(x, tx * hit, ty * hit), x)
        elif op == "cutout":
            hit = _chosen(b, p, generator, dev)
            ch, cw = int(h * 0.5 + 0.5), int(w * 0.5 + 0.5)
            # the square's top-left corner; it may hang over the border by up to half its side
            y0 = torch.floor(_rand(b, generator, dev) * (h + 1 - ch % 2)).long() - ch // 2
            x0 = torch.floor(_rand(b, generator, dev) * (w + 1 - cw % 2)).long() - cw // 2
            rows = torch.arange(h, device=dev)[None, :]
            cols = torch.arange(w, device=dev)[None, :]
            in_rows = (rows >= y0[:, None]) & (rows < (y0 + ch)[:, None])  # (B, H)
            in_cols = (cols >= x0[:, None]) & (cols < (x0 + cw)[:, None])  # (B, W)
            cut = (in_rows[:, :, None] & in_cols[:, None, :]) & hit[:, None, None]  # (B, H, W)
            x = x * (~cut).to(x.dtype)[:, None]
        else:
            raise ConfigError(f"unknown DiffAugment op {op!r}; use color, translation, cutout")
    return x


# ---------------------------------------------------------------------------- ADA


def _eye(b: int, n: int, device: torch.device) -> torch.Tensor:
    return torch.eye(n, device=device).repeat(b, 1, 1)  # (B, n, n)


def _translate2d(tx: torch.Tensor, ty: torch.Tensor) -> torch.Tensor:
    m = _eye(tx.shape[0], 3, tx.device)
    m[:, 0, 2], m[:, 1, 2] = tx, ty
    return m


def _scale2d(sx: torch.Tensor, sy: torch.Tensor) -> torch.Tensor:
    m = _eye(sx.shape[0], 3, sx.device)
    m[:, 0, 0], m[:, 1, 1] = sx, sy
    return m


def _rotate2d(theta: torch.Tensor) -> torch.Tensor:
    m = _eye(theta.shape[0], 3, theta.device)
    c, s = torch.cos(theta), torch.sin(theta)
    m[:, 0, 0], m[:, 0, 1], m[:, 1, 0], m[:, 1, 1] = c, -s, s, c
    return m


def ada_geometry(
    b: int, size: int, p: float, generator: torch.Generator | None, device: torch.device
) -> torch.Tensor:
    """Random (B, 3, 3) maps from output to input coordinates (normalized to [-1, 1], images of side
    `size`) of ADA's geometric transforms, each applied with probability p (the two rotations with
    1 - sqrt(1 - p), so that some rotation happens with probability p). Images that drew no transform
    get the identity. The distributions are symmetric, so drawing the inverse maps directly is the same."""
    m = _eye(b, 3, device)
    one = torch.ones(b, device=device)

    def draw(prob: float) -> torch.Tensor:
        return _chosen(b, prob, generator, device).float()

    flip = torch.floor(_rand(b, generator, device) * 2) * draw(p)
    m = m @ _scale2d(1 - 2 * flip, one)
    quarter = torch.floor(_rand(b, generator, device) * 4) * draw(p)
    m = m @ _rotate2d(quarter * (math.pi / 2))
    shift = torch.round((_rand(2 * b, generator, device) * 2 - 1) * 0.125 * size) * (2 / size)  # whole pixels
    on = draw(p)
    m = m @ _translate2d(shift[:b] * on, shift[b:] * on)
    s = torch.exp2(_randn(b, generator, device) * 0.2 * draw(p))
    m = m @ _scale2d(s, s)
    p_rot = 1 - math.sqrt(max(0.0, 1 - p))
    m = m @ _rotate2d((_rand(b, generator, device) * 2 - 1) * math.pi * draw(p_rot))
    a = torch.exp2(_randn(b, generator, device) * 0.2 * draw(p))
    m = m @ _scale2d(a, 1 / a)
    m = m @ _rotate2d((_rand(b, generator, device) * 2 - 1) * math.pi * draw(p_rot))
    frac = _randn(2 * b, generator, device) * 0.125 * 2  # std 1/8 of the side; [-1, 1] spans 2
    on = draw(p)
    return m @ _translate2d(frac[:b] * on, frac[b:] * on)


def ada_color(b: int, p: float, generator: torch.Generator | None, device: torch.device) -> torch.Tensor:
    """Random (B, 3, 4) affine color maps of ADA (brightness, contrast, luma flip, hue rotation,
    saturation), each applied with probability p; exactly the identity for images that drew none."""
    v = torch.tensor([1.0, 1.0, 1.0], device=device) / math.sqrt(3)  # the gray axis
    vv = torch.outer(v, v)  # projection onto it
    eye3 = torch.eye(3, device=device)
    cross = torch.tensor([[0.0, -v[2], v[1]], [v[2], 0.0, -v[0]], [-v[1], v[0], 0.0]], device=device)

    def draw(prob: float) -> torch.Tensor:
        return _chosen(b, prob, generator, device).view(b, 1, 1)

    lin = eye3.repeat(b, 1, 1)  # (B, 3, 3) linear part
    off = (_randn(b, generator, device) * 0.2)[:, None, None] * draw(p)  # brightness: (B, 1, 1)
    off = off.expand(b, 3, 1)  # (B, 3, 1) the same shift on every channel
    c = torch.exp2(_randn(b, generator, device) * 0.5).view(b, 1, 1)
    steps = [torch.where(draw(p), c * eye3, eye3)]  # contrast
    flip = torch.floor(_rand(b, generator, device) * 2).view(b, 1, 1)
    steps.append(torch.where(draw(p), eye3 - 2 * vv * flip, eye3))  # luma flip through the gray plane
    theta = ((_rand(b, generator, device) * 2 - 1) * math.pi).view(b, 1, 1)
    hue = torch.cos(theta) * eye3 + torch.sin(theta) * cross + (1 - torch.cos(theta)) * vv  # Rodrigues
    steps.append(torch.where(draw(p), hue, eye3))  # hue: rotate about the gray axis
    sat = torch.exp2(_randn(b, generator, device) * 1.0).view(b, 1, 1)
    steps.append(torch.where(draw(p), vv + (eye3 - vv) * sat, eye3))  # saturation: scale the chroma
    for step in steps:
        lin, off = step @ lin, step @ off
    return torch.cat([lin, off], dim=2)  # (B, 3, 4)


def apply_geometry(x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """Resample x (B, C, H, W) at ``m @ (output coordinates)`` (m: (B, 3, 3), normalized coordinates),
    bilinear with reflection at the borders; images whose m is the identity are returned untouched."""
    b, c, h, w = x.shape
    still = (m == _eye(b, 3, x.device)).flatten(1).all(dim=1)
    if bool(still.all()):
        return x
    grid = F.affine_grid(m[:, :2, :].to(x.dtype), [b, c, h, w], align_corners=False)  # (B, H, W, 2)
    moved = F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    return _where(still, x, moved)


def apply_color(x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """Apply affine color maps m (B, 3, 4) to RGB x (B, 3, H, W); for gray x (B, 1, H, W) the maps'
    mean gain and offset (brightness and contrast survive). Identity maps leave images untouched."""
    b, c = x.shape[:2]
    identity = torch.cat([torch.eye(3, device=x.device), torch.zeros(3, 1, device=x.device)], dim=1)
    still = (m == identity).flatten(1).all(dim=1)
    if bool(still.all()):
        return x
    m = m.to(x.dtype)
    if c == 3:
        y = torch.einsum("bij,bjhw->bihw", m[:, :, :3], x) + m[:, :, 3, None, None]
    elif c == 1:
        gain = m[:, :, :3].sum(dim=2).mean(dim=1)  # the gain on a gray pixel (B,)
        y = x * gain.view(b, 1, 1, 1) + m[:, :, 3].mean(dim=1).view(b, 1, 1, 1)
    else:
        raise ConfigError(f"ADA's color transforms need 1 or 3 channels, got {c}")
    return _where(still, x, y)


def ada_augment(x: torch.Tensor, p: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """ADA's geometric + color augmentation (Karras et al. 2020) of x (B, C, H, W) in [-1, 1]."""
    if p <= 0:
        return x
    b, _, h, w = x.shape
    x = apply_geometry(x, ada_geometry(b, min(h, w), p, generator, x.device))
    return apply_color(x, ada_color(b, p, generator, x.device))


# ---------------------------------------------------------------------------- the recipe-facing object


class Augmenter:
    """What a recipe holds: ``augment(images, generator)`` before every D call, real and fake alike.

    Args:
        kind: "none", "diffaugment" (p fixed at 1) or "ada" (p starts at `p` and adapts).
        p: the starting probability (ADA) or the fixed one (DiffAugment; 1 in the paper).
        target: ADA's target for r_t = E[sign(D(real))] (0.6 in the paper).
        interval: D steps between adjustments of p (4 in the paper).
        speed_kimg: thousands of images over which p can go from 0 to 1 (500 in the paper; the default
            100 reacts faster, which short CPU runs need).
    """

    def __init__(
        self,
        kind: str = "none",
        p: float | None = None,
        target: float = 0.6,
        interval: int = 4,
        speed_kimg: float = 100.0,
    ):
        if kind not in AUGMENT_KINDS:
            raise ConfigError(f"augment={kind!r} is unknown; use one of {', '.join(AUGMENT_KINDS)}")
        if interval < 1 or speed_kimg <= 0 or not 0.0 < target < 1.0:
            raise ConfigError("ADA needs interval >= 1, speed_kimg > 0 and a target in (0, 1)")
        start = {"none": 0.0, "diffaugment": 1.0, "ada": 0.0}[kind] if p is None else float(p)
        if not 0.0 <= start <= 1.0:
            raise ConfigError(f"augmentation probability {start} must lie in [0, 1]")
        self.kind, self.p, self.target = kind, start, target
        self.interval, self.speed_kimg = interval, speed_kimg
        self.rt = 0.0  # the last r_t measured
        self._sign_sum, self._count, self._calls = 0.0, 0, 0

    @property
    def enabled(self) -> bool:
        return self.kind != "none"

    def __call__(self, images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        if self.kind == "diffaugment":
            return diff_augment(images, generator, self.p)
        if self.kind == "ada":
            return ada_augment(images, self.p, generator)
        return images

    def observe(self, real_logits: torch.Tensor) -> None:
        """Feed D's logits on (augmented) real images, once per D step; ADA adjusts p every `interval`."""
        if self.kind != "ada":
            return
        self._sign_sum += float(real_logits.detach().sign().sum())
        self._count += real_logits.numel()
        self._calls += 1
        if self._calls % self.interval == 0:
            self._adjust(real_logits.device)

    def _adjust(self, device: torch.device) -> None:
        stats = torch.tensor([self._sign_sum, float(self._count)], dtype=torch.float64, device=device)
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.all_reduce(stats)  # every process moves p the same way
        sign_sum, count = float(stats[0]), float(stats[1])
        self.rt = sign_sum / max(count, 1.0)
        step = math.copysign(count / (self.speed_kimg * 1000.0), self.rt - self.target)
        if self.rt == self.target:
            step = 0.0
        self.p = min(1.0, max(0.0, self.p + step))
        self._sign_sum, self._count = 0.0, 0

    def logs(self) -> dict[str, torch.Tensor]:
        """Scalars for the training log: p, and r_t for ADA."""
        if self.kind == "none":
            return {}
        out = {"aug_p": torch.tensor(self.p)}
        if self.kind == "ada":
            out["ada_rt"] = torch.tensor(self.rt)
        return out

    def state_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "p": self.p,
            "rt": self.rt,
            "sign_sum": self._sign_sum,
            "count": self._count,
            "calls": self._calls,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("kind", self.kind) != self.kind:
            raise ConfigError(f"the checkpoint used augment={state['kind']!r}, this run uses {self.kind!r}")
        self.p, self.rt = float(state["p"]), float(state["rt"])
        self._sign_sum, self._count, self._calls = (
            float(state["sign_sum"]),
            int(state["count"]),
            int(state["calls"]),
        )
