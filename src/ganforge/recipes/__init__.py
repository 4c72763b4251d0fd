"""One file per family. Importing this package imports every module in it, and so registers every
recipe and preset: a new family is its own file here, with no import line to add."""

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
