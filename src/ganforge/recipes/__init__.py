"""One file per family. Importing this package registers every recipe."""

from ganforge.recipes import gan  # noqa: F401
