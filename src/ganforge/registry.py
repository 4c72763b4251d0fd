"""One strict registry type for models, recipes, datasets and presets.

Names are unique: registering a name twice raises, so that two modules cannot silently shadow
each other. Looking up an unknown name raises with the closest known names.

Registration happens where a thing is defined (a recipe file registers its recipe and presets, a
model file its models); this floor imports none of them. Each registry names the packages where
its entries are defined (`homes`, the one list, like a plugin entry point) and imports them by name
the first time it is asked for something it does not hold, so a lookup works however the caller
started. `recipes/` and `models/` import each of their modules in turn, so a new family's files are
found without an import line anywhere.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from ganforge.errors import ConfigError

T = TypeVar("T")


@dataclass
class Entry(Generic[T]):
    name: str
    obj: T
    meta: dict[str, Any] = field(default_factory=dict)


class Registry(Generic[T]):
    """A name -> object table. `register` is a decorator; `get` raises a clear error on a miss."""

    def __init__(self, kind: str, homes: tuple[str, ...] = ()):
        self.kind = kind
        self.homes = homes  # packages whose modules register the entries, imported on demand
        self._entries: dict[str, Entry[T]] = {}
        self._discovered = False

    def discover(self) -> None:
        """Import the packages that register this registry's entries (once)."""
        if self._discovered:
            return
        self._discovered = True  # first: a home that looks something up while it loads does not recurse
        for home in self.homes:
            importlib.import_module(home)

    def register(self, name: str, **meta: Any) -> Callable[[T], T]:
        def add(obj: T) -> T:
            self.add(name, obj, **meta)
            return obj

        return add

    def add(self, name: str, obj: T, **meta: Any) -> None:
        if name in self._entries:
            raise KeyError(f"{self.kind} {name!r} is already registered")
        self._entries[name] = Entry(name, obj, meta)

    def entry(self, name: str) -> Entry[T]:
        if name not in self._entries:
            self.discover()
        if name not in self._entries:
            close = difflib.get_close_matches(name, list(self._entries), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            known = ", ".join(sorted(self._entries))
            raise ConfigError(f"unknown {self.kind} {name!r}{hint} (known: {known})")
        return self._entries[name]

    def get(self, name: str) -> T:
        return self.entry(name).obj

    def names(self) -> list[str]:
        self.discover()
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        if name not in self._entries:
            self.discover()
        return name in self._entries

    def __iter__(self) -> Iterator[Entry[T]]:
        return iter(self._entries[n] for n in self.names())

    def __len__(self) -> int:
        self.discover()
        return len(self._entries)


MODELS: Registry[Callable[..., Any]] = Registry("model", homes=("ganforge.models",))
RECIPES: Registry[type] = Registry("recipe", homes=("ganforge.recipes",))
DATASETS: Registry[Any] = Registry("dataset", homes=("ganforge.data.builtin", "ganforge.data.printed_digits"))
PRESETS: Registry[Callable[[], Any]] = Registry("preset", homes=("ganforge.recipes", "ganforge.presets"))
REGISTRIES = (MODELS, RECIPES, DATASETS, PRESETS)


def create_model(name: str, **kwargs: Any) -> Any:
    """Build a registered model by name, e.g. ``create_model("dcgan.G", img_size=32)``."""
    return MODELS.get(name)(**kwargs)


@dataclass
class ModelSpec:
    """How to rebuild a model from the registry: the config is the constructor. Here, below both
    the recipes that write specs and the bundles that read them."""

    registry_name: str
    kwargs: dict[str, Any]

    def build(self) -> Any:
        return create_model(self.registry_name, **self.kwargs)

    def to_dict(self) -> dict[str, Any]:
        return {"registry_name": self.registry_name, "kwargs": dict(self.kwargs)}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ModelSpec:
        return cls(raw["registry_name"], dict(raw["kwargs"]))


def load_all() -> None:
    """Make every registry complete: import the packages that register entries (see `homes`)."""
    for registry in REGISTRIES:
        registry.discover()
