"""The package's layering, checked on the source: every ``roughml`` import (module-level and
function-level alike) points to the same or a lower layer, and modules import no cycle.

Why a test: the layering is what lets a newcomer find each concern from the folder tree, and a
single convenient upward import (serving code reaching into the pipeline, physics reaching into
image handling) quietly undoes it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "roughml"

#: Lowest first; a module may import its own layer's siblings' *modules* only where listed as the
#: same layer below (``data`` and ``learning`` share a rank but must not import each other).
LAYERS = ("core", "physics", "imaging", ("data", "learning"), "serving", "pipeline", "cli")


def _rank(layer: str) -> int:
    for rank, entry in enumerate(LAYERS):
        if layer == entry or (isinstance(entry, tuple) and layer in entry):
            return rank
    raise AssertionError(f"roughml.{layer} belongs to no layer; add it to LAYERS")


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every roughml module imported anywhere in ``path`` (``from roughml.x import y`` counts
    ``roughml.x.y`` when that is a module, else ``roughml.x``)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("roughml"))
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("roughml"):
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                found.add(candidate if _exists(candidate) else node.module)
    return found


def _exists(module: str) -> bool:
    relative = Path(*module.split(".")[1:])
    return (PACKAGE / relative).with_suffix(".py").is_file() or (PACKAGE / relative / "__init__.py").is_file()


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "core"


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
GRAPH = {name: {m for m in _imports(path) if m != name} for name, path in MODULES.items()}


def test_every_roughml_import_names_an_existing_module():
    missing = {(name, m) for name, targets in GRAPH.items() for m in targets if not _exists(m)}
    assert not missing


@pytest.mark.parametrize("module", sorted(n for n in MODULES if n.count(".") >= 1))
def test_imports_point_down_the_layers(module):
    own = _layer(module)
    for target in GRAPH[module]:
        other = _layer(target)
        if other == own or target == "roughml":
            continue
        assert _rank(other) < _rank(own), f"{module} imports {target}: {other} is not below {own}"


def test_no_import_cycle():
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for target in sorted(GRAPH.get(node, ())):
            if state.get(target) == 1:
                cycle = trail[trail.index(target):] + [target] if target in trail else [node, target]
                raise AssertionError(" -> ".join(cycle))
            if state.get(target) is None:
                visit(target, trail + [target])
        state[node] = 2

    for name in sorted(GRAPH):
        if name not in state:
            visit(name, [name])


def test_every_subpackage_states_its_public_surface():
    for init in sorted(PACKAGE.glob("*/__init__.py")):
        tree = ast.parse(init.read_text(encoding="utf-8"))
        names = [t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets
                 if isinstance(t, ast.Name)]
        assert "__all__" in names, f"{init.parent.name}/__init__.py has no __all__"


def test_size_limits():
    too_long_modules = {n: len(p.read_text().splitlines()) for n, p in MODULES.items()
                        if len(p.read_text().splitlines()) > 500}
    assert not too_long_modules
    long_functions = []
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > 80:
                    long_functions.append(f"{name}.{node.name} ({length} lines)")
    assert not long_functions
