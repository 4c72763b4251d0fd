"""The floors of ARCHITECTURE.md, held by a test: every module under src/ganforge is parsed with `ast`
and each `ganforge` import, including the lazy ones inside functions, must point to its own floor or
one below it. The allowed arrows are the one table below; the README's Design section shows the same."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "ganforge"

# floor -> the floors its modules may import from (its own included). Kept in step with README.md.
# metrics sits below nn and models: its feature extractors (networks with pinned weights) are also
# DTN's encoder f and the perceptual loss's network, and metrics itself needs no layer of nn.
ALLOWED: dict[str, set[str]] = {
    "base": {"base"},
    "data": {"base", "data"},
    "metrics": {"base", "data", "metrics"},
    "nn": {"base", "data", "metrics", "nn"},
    "models": {"base", "data", "metrics", "nn", "models"},
    "recipes": {"base", "data", "nn", "metrics", "models", "recipes"},
    "training": {"base", "data", "nn", "metrics", "models", "recipes", "training"},
    "pipelines": {"base", "data", "nn", "metrics", "models", "recipes", "training", "pipelines"},
    "cli": {"base", "data", "nn", "metrics", "models", "recipes", "training", "pipelines", "cli"},
}

# where each module lives: the first matching prefix of its dotted name below ganforge
FLOORS: list[tuple[str, str]] = [
    ("cli", "cli"),
    ("studio", "cli"),
    ("__main__", "cli"),
    ("pipelines", "pipelines"),
    ("editing", "pipelines"),
    ("hub", "pipelines"),
    ("export", "pipelines"),
    ("report", "pipelines"),
    ("training", "training"),
    ("recipes", "recipes"),
    ("presets", "recipes"),  # the dcgan/gan presets: recipes/gan.py's presets
    ("models", "models"),
    ("losses", "models"),
    ("augment", "models"),
    ("image_pool", "models"),
    ("nn", "nn"),
    ("metrics.names", "base"),  # metric and extractor names only (config checks them); imports errors
    ("metrics.store", "base"),  # the metrics.json / metrics.jsonl formats (the model card reads them)
    ("metrics", "metrics"),
    ("data", "data"),
    ("config", "base"),
    ("registry", "base"),
    ("bundle", "base"),
    ("errors", "base"),
    ("fileio", "base"),
    ("imaging", "base"),
    ("capabilities", "base"),
    ("console", "base"),
    ("sampling", "base"),
    ("", "base"),  # ganforge/__init__.py
]


def floor_of(module: str) -> str:
    """'ganforge.recipes.gan' -> 'recipes'."""
    rest = module.removeprefix("ganforge").removeprefix(".")
    for prefix, floor in FLOORS:
        if rest == prefix or rest.startswith(prefix + ".") or prefix == "":
            return floor
    raise AssertionError(f"no floor for {module}")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def ganforge_imports(path: Path) -> list[tuple[int, str]]:
    """(line, imported module) for every import of ganforge in the file, at any depth."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "ganforge"]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] == "ganforge":
                # `from ganforge import recipes` imports the subpackage; `from ganforge.x import y` imports x
                subs = [f"{node.module}.{a.name}" for a in node.names] if node.module == "ganforge" else []
                found += [(node.lineno, m) for m in subs or [node.module]]
    return found


def upward_imports() -> list[str]:
    bad = []
    for path in sorted(SRC.rglob("*.py")):
        here = floor_of(module_name(path))
        for line, target in ganforge_imports(path):
            there = floor_of(target)
            if there not in ALLOWED[here]:
                bad.append(f"{path.relative_to(SRC.parent)}:{line} ({here}) imports {target} ({there})")
    return bad


def test_no_import_points_up_a_floor():
    bad = upward_imports()
    assert not bad, "imports that point up a floor (see ALLOWED):\n" + "\n".join(bad)


def test_the_checker_sees_lazy_imports(tmp_path):
    """The test itself can fail: a lazy import inside a function is found and placed on its floor."""
    source = tmp_path / "x.py"
    source.write_text(
        "def f():\n    from ganforge.recipes.gan import DCGANConfig\n    import ganforge.cli.app\n"
    )
    assert ganforge_imports(source) == [(2, "ganforge.recipes.gan"), (3, "ganforge.cli.app")]
    assert [floor_of(m) for _, m in ganforge_imports(source)] == ["recipes", "cli"]
    assert "recipes" not in ALLOWED[floor_of("ganforge.config")]


@pytest.mark.parametrize("module", ["ganforge.metrics.fid", "ganforge.nn.ema", "ganforge.bundle"])
def test_every_module_has_a_floor(module):
    assert floor_of(module) in ALLOWED


def test_cli_and_studio_name_no_recipe():
    """Verbs and the studio read a bundle's capabilities; they import no family's recipe (issue #20)."""
    named = [
        f"{path.relative_to(SRC.parent)}:{line} imports {target}"
        for folder in ("cli", "studio")
        for path in sorted((SRC / folder).rglob("*.py"))
        for line, target in ganforge_imports(path)
        if target.startswith("ganforge.recipes") and target not in ("ganforge.recipes.base",)
    ]
    assert not named, "\n".join(named)
