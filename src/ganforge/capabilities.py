"""What a trained bundle can do, declared once by its recipe and written into the bundle's model.json.

Every consumer (CLI verbs, pipelines, studio, model card, hub) reads a `Capabilities` and never names
a recipe, so a new family is offered everywhere by declaring its capabilities in its recipe file.
This module sits on the bottom floor: it imports nothing of ganforge but `errors`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from ganforge.errors import CheckpointError, ConfigError

TASKS = ("generate", "translate", "upscale", "classify")
# the CLI verb that runs each task's bundles
TASK_VERBS = {"generate": "sample", "translate": "translate", "upscale": "upscale", "classify": "classify"}
# verbs that draw from a generator's latent space, and the task each needs
VERB_TASKS = {
    "sample": "generate",
    "interpolate": "generate",
    "project": "generate",
    "mix": "generate",
    "eval": "generate",
    "translate": "translate",
    "upscale": "upscale",
    "classify": "classify",
}
LATENT_SPACES = ("z", "w", "w+")
# image kinds a model reads or writes; "noise" is a generator's input, "class" a classifier's output
IMAGE_KINDS = ("noise", "image", "photo", "gray", "color", "edges", "masked", "low-res", "high-res", "class")


class WrongModelError(ConfigError):
    """A verb was given a bundle that cannot do what the verb does; the message names the verb that fits."""

    def __init__(self, message: str, capabilities: Capabilities | None = None):
        super().__init__(message)
        self.capabilities = capabilities  # what the model can do, for callers that add advice


@dataclass(frozen=True)
class Capabilities:
    """What a bundle can do. A recipe declares one as its `capabilities` class attribute and refines it
    for a run in `Recipe.describe` (conditional or not, the number of classes, the pix2pix task...).

    Fields:
        task: the main task: generate (noise -> image), translate (image -> image), upscale, classify.
        also: further tasks the bundle offers (a semi-supervised GAN's generator also generates).
        conditional: whether the generator takes a class label.
        num_classes: classes the models take or predict (0 for none).
        latent_spaces: for generators: "z" and, style-based, "w" and "w+" (per-layer w).
        style_mixing: whether styles of two latents can be mixed by layer (`ganforge mix`).
        directions: translation directions the bundle offers ("AtoB", "BtoA"); () for one way only.
        input_kind, output_kind: what the model reads and writes (see IMAGE_KINDS).
        scale: output pixels per input pixel along a side (super-resolution), else 1.
        label: what a person calls this model ("colorize", "x4 super-resolution").
    """

    task: str = "generate"
    also: tuple[str, ...] = ()
    conditional: bool = False
    num_classes: int = 0
    latent_spaces: tuple[str, ...] = ("z",)
    style_mixing: bool = False
    directions: tuple[str, ...] = ()
    input_kind: str = "noise"
    output_kind: str = "image"
    scale: int = 1
    label: str = "image generator"

    def __post_init__(self) -> None:
        bad = [t for t in self.tasks if t not in TASKS]
        if bad:
            raise ConfigError(f"unknown capability task {bad[0]!r}; known: {', '.join(TASKS)}")
        bad = [s for s in self.latent_spaces if s not in LATENT_SPACES]
        if bad:
            raise ConfigError(f"unknown latent space {bad[0]!r}; known: {', '.join(LATENT_SPACES)}")
        for kind in (self.input_kind, self.output_kind):
            if kind not in IMAGE_KINDS:
                raise ConfigError(f"unknown image kind {kind!r}; known: {', '.join(IMAGE_KINDS)}")
        if self.num_classes < 0 or self.scale < 1:
            raise ConfigError("capabilities need num_classes >= 0 and scale >= 1")

    # ---- reading
    @property
    def tasks(self) -> tuple[str, ...]:
        return (self.task, *self.also)

    @property
    def verb(self) -> str:
        """The CLI verb that runs this bundle's main task."""
        return TASK_VERBS[self.task]

    @property
    def style_based(self) -> bool:
        """A style-based generator (W space: truncation, per-layer styles)."""
        return "w" in self.latent_spaces

    @property
    def a_label(self) -> str:
        """The label with its article: "a colorize", "an x4 super-resolution"."""
        return f"{'an' if self.label[:1].lower() in 'aeiox' else 'a'} {self.label}"

    def can(self, task: str) -> bool:
        return task in self.tasks

    def refine(self, **changes: Any) -> Capabilities:
        """A copy with some fields changed (what a run's config decides)."""
        return replace(self, **changes)

    def wrong_verb(self, verb: str, source: object = "this model") -> str:
        """One line for a verb given a bundle that cannot serve it, naming the verb that fits."""
        need = VERB_TASKS.get(verb, verb)
        return (
            f"{source} is {self.a_label} model, not one that can {need}: "
            f"use ganforge {self.verb} {source} ..."
        )

    def require(self, verb: str, source: object = "this model") -> None:
        """Raise WrongModelError unless this bundle can do what `verb` does."""
        if not self.can(VERB_TASKS.get(verb, verb)):
            raise WrongModelError(self.wrong_verb(verb, source), self)

    # ---- JSON (model.json)
    def to_dict(self) -> dict[str, Any]:
        raw = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in raw.items()}

    @classmethod
    def from_dict(cls, raw: Any, where: object = "model.json") -> Capabilities:
        """Rebuild from model.json; unknown keys (from a newer ganforge) are ignored, wrong types refused."""
        if not isinstance(raw, dict):
            raise CheckpointError(f"{where}: capabilities must be an object")
        kwargs: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in raw:
                continue
            value = raw[f.name]
            default = f.default
            if isinstance(default, tuple):
                ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
                value = tuple(value) if ok else value
            elif isinstance(default, bool):
                ok = isinstance(value, bool)
            elif isinstance(default, int):
                ok = isinstance(value, int) and not isinstance(value, bool)
            else:
                ok = isinstance(value, str)
            if not ok:
                raise CheckpointError(f"{where}: capabilities.{f.name} has the wrong type ({value!r})")
            kwargs[f.name] = value
        try:
            return cls(**kwargs)
        except ConfigError as err:
            raise CheckpointError(f"{where}: {err}") from None
