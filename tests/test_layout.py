"""The layout is the architecture: imports run one way, and Redis keys are spelled in one place
per layer (docs/design.md, "Shape" and invariant 8). Read from the code's own imports, so an arrow
that runs back up fails here before it confuses anyone."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from .support.servers import REPO_ROOT

#: What each layer may not import (prefixes of absolute module names).
FORBIDDEN = {
    "actors.jobs": ("actors.contracts", "service", "quart"),
    "actors.contracts": ("service", "quart"),
    "extraction": ("actors", "service", "quart", "redis", "dramatiq"),
}
#: The modules that may spell Redis key names.
KEY_MODULES = {"actors/jobs/keys.py", "actors/contracts/keys.py", "service/auth/credentials.py"}


def modules(package: str) -> Iterator[tuple[str, Path]]:
    folder = REPO_ROOT / package.replace(".", "/")
    for path in sorted(folder.rglob("*.py")):
        relative = path.relative_to(REPO_ROOT).with_suffix("")
        parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
        yield ".".join(parts), path


def imports(module: str, path: Path) -> Iterator[tuple[str, bool]]:
    """Each module ``path`` imports, as an absolute name, and whether the import is inside a function."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text())
    nested = {
        id(node)
        for function in ast.walk(tree)
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef)
        for node in ast.walk(function)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, id(node) in nested
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:  # `from . import keys` imports the module, not the package
                submodule = f"{base}.{alias.name}"
                yield (submodule if _is_module(submodule) else base), id(node) in nested


def _is_module(name: str) -> bool:
    path = REPO_ROOT / name.replace(".", "/")
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_imports_run_downwards_only(layer: str) -> None:
    wrong = [
        (module, imported)
        for module, path in modules(layer)
        for imported, _ in imports(module, path)
        if imported.startswith(FORBIDDEN[layer]) or imported == "actors"
    ]
    assert wrong == [], "an arrow runs back up"


def test_no_module_reaches_a_package_root_lazily_or_its_own_root_at_all() -> None:
    wrong = []
    for layer in ("actors", "service"):
        for module, path in modules(layer):
            for imported, lazily in imports(module, path):
                own_root = module.rpartition(".")[0] if path.name != "__init__.py" else None
                if (lazily and imported == "actors") or (own_root and imported == own_root):
                    wrong.append((module, imported))
    assert wrong == []


def test_only_the_key_modules_spell_redis_keys() -> None:
    key_literal = re.compile(r"""f?["'](?:jobs|auth):|\{PREFIX\}:""")
    spelled = [
        str(path.relative_to(REPO_ROOT))
        for layer in ("actors", "service")
        for _, path in modules(layer)
        if key_literal.search(path.read_text())
    ]
    assert set(spelled) <= KEY_MODULES, spelled
