"""One strict registry type for models, recipes, datasets and presets.

Names are unique: registering a name twice raises, so that two modules cannot silently shadow
each other. Looking up an unknown name raises with the closest known names.
"""

from __future__ import annotations

import difflib
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

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, Entry[T]] = {}

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
            close = difflib.get_close_matches(name, list(self._entries), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            known = ", ".join(sorted(self._entries))
            raise ConfigError(f"unknown {self.kind} {name!r}{hint} (known: {known})")
        return self._entries[name]

    def get(self, name: str) -> T:
        return self.entry(name).obj

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[Entry[T]]:
        return iter(self._entries[n] for n in self.names())

    def __len__(self) -> int:
        return len(self._entries)


MODELS: Registry[Callable[..., Any]] = Registry("model")
RECIPES: Registry[type] = Registry("recipe")
DATASETS: Registry[Any] = Registry("dataset")
PRESETS: Registry[Callable[[], Any]] = Registry("preset")


def create_model(name: str, **kwargs: Any) -> Any:
    """Build a registered model by name, e.g. ``create_model("dcgan.G", img_size=32)``."""
    return MODELS.get(name)(**kwargs)


def load_all() -> None:
    """Import every module that registers something, so that the registries are complete."""
    import ganforge.data.builtin  # noqa: F401
    import ganforge.models  # noqa: F401
    import ganforge.presets  # noqa: F401
    import ganforge.recipes  # noqa: F401
