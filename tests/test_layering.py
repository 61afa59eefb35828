"""Imports point down the pipeline only: source -> frontend -> model -> graph -> checks -> CLI."""
from __future__ import annotations

import ast
from pathlib import Path

import journeylang

PACKAGE = Path(journeylang.__file__).parent
# lower layers first; a module may import only from its own layer or layers before it
LAYERS = [
    {"diagnostics", "units", "limits", "semantics", "stats", "experiments", "sms",
     "collector", "records"},
    {"source", "ast", "resources", "config", "cache_folder", "compiled_methods"},
    {"expressions", "migration"},
    {"frontend"},
    {"expand", "ladders"},
    {"graph", "templates", "sandbox", "template_limits"},
    {"views", "printer", "schema"},
    {"lint"},
    {"compile"},
    {"runtime"},
    {"sim"},
    {"api"},
    {"live"},
    {"cli", "lsp"},
]


def _layer(module: str) -> int:
    top = module.split(".")[0]
    for index, names in enumerate(LAYERS):
        if top in names:
            return index
    raise AssertionError(f"module {module} is not placed in a layer of test_layering.py")


def _is_module(dotted: str) -> bool:
    path = PACKAGE.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _internal_imports(path: Path):
    """Modules of ours that a file imports, as dotted names below the package."""
    package = list(path.relative_to(PACKAGE).parent.parts)
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[: len(package) - (node.level - 1)] + (node.module.split(".") if node.module else [])
            for alias in node.names:  # `from . import x` may name a submodule
                candidate = ".".join(base + [alias.name])
                if _is_module(candidate):
                    yield candidate
                elif base:
                    yield ".".join(base)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("journeylang."):
            yield node.module.removeprefix("journeylang.")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("journeylang."):
                    yield alias.name.removeprefix("journeylang.")


def test_imports_point_down_the_pipeline():
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
        if module == "__init__":
            continue
        own = _layer(module)
        for imported in _internal_imports(path):
            if _layer(imported) > own:
                wrong.append(f"{module} imports {imported}")
    assert wrong == []
