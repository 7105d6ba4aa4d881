"""Layering rules of issue #10, checked on the source: every import of every module in
`api/` and `matcher/` (function-local and relative imports included), parsed with `ast`.

- no route module imports another route module;
- no import cycle anywhere in `api/`;
- services import nothing from FastAPI/Starlette (they raise domain errors, api/errors.py);
- the engine imports nothing from the web layer or the database.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("api", "matcher")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[_module_name(path)] = path
    return found


MODULES = _modules()


def _resolve(module: str, is_package: bool, level: int, target: str | None) -> str:
    """The absolute name of `from <level dots><target> import ...` inside `module`."""
    if level == 0:
        return target or ""
    base = module.split(".")
    # A package's relative imports start from the package itself, a module's from its parent.
    base = base if is_package else base[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join([*base, target] if target else base)


def imported_names(module: str) -> set[str]:
    """Every module `module` imports: `import a.b`, `from a import b` (a.b when that is a
    module of ours, else a), relative imports resolved; nested in functions too."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    out: set[str] = set()
    # importlib.import_module(name) over a table of our module names (api/cli.py, api/app.py)
    # imports every module named in that table.
    dynamic = any(isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                  and node.func.attr == "import_module" for node in ast.walk(tree))
    for node in ast.walk(tree):
        if dynamic and isinstance(node, ast.Constant) and node.value in MODULES:
            out.add(str(node.value))
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, is_package, node.level, node.module)
            for alias in node.names:
                candidate = f"{base}.{alias.name}" if base else alias.name
                out.add(candidate if candidate in MODULES else base)
    out.discard("")
    return out


def _internal(names: Iterable[str]) -> set[str]:
    """The modules of ours among `names` (`api.x.y` for a name imported from it too)."""
    found = set()
    for name in names:
        while name and name not in MODULES:
            name = name.rpartition(".")[0]
        if name:
            found.add(name)
    return found


def import_graph(prefix: str) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module in MODULES:
        if module == prefix or module.startswith(prefix + "."):
            graph[module] = {m for m in _internal(imported_names(module))
                             if (m == prefix or m.startswith(prefix + ".")) and m != module}
    return graph


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm; components of more than one module, each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def _is_route(module: str) -> bool:
    return module.startswith("api.routes.")


def route_to_route_edges() -> list[tuple[str, str]]:
    graph = import_graph("api")
    return sorted((src, dst) for src, targets in graph.items() if _is_route(src)
                  for dst in targets if _is_route(dst))


def _forbidden(module: str, banned: tuple[str, ...]) -> list[str]:
    return sorted(name for name in imported_names(module)
                  if any(name == b or name.startswith(b + ".") for b in banned))


# --- the checker itself catches what it should ------------------------------------------


def test_resolves_relative_and_nested_imports() -> None:
    assert _resolve("api.routes.tenders", False, 1, "enterprises") == "api.routes.enterprises"
    assert _resolve("api.routes.tenders", False, 2, "services") == "api.services"
    assert _resolve("api.routes", True, 1, None) == "api.routes"
    # api/app.py imports the route modules by name through importlib, inside a function.
    assert {"api.deps", "api.routes.tenders"} <= imported_names("api.app")
    assert "api.commands.match" in imported_names("api.cli")


def test_finds_a_cycle_and_only_real_ones() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert strongly_connected(graph) == [["a", "b", "c"]]
    assert strongly_connected({"a": {"b"}, "b": set()}) == []


def test_every_module_parses() -> None:
    assert "api.app" in MODULES and "matcher.rank" in MODULES
    for module in MODULES:
        imported_names(module)


# --- the rules ------------------------------------------------------------------------


def test_no_route_module_imports_another_route_module() -> None:
    assert route_to_route_edges() == []


def test_no_import_cycle_in_api() -> None:
    assert strongly_connected(import_graph("api")) == []


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m.startswith("api.services.")))
def test_services_do_not_import_the_web_framework(module: str) -> None:
    assert _forbidden(module, ("fastapi", "starlette")) == []


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m.split(".")[0] == "matcher"))
def test_engine_imports_no_web_or_database(module: str) -> None:
    assert _forbidden(module, ("api", "fastapi", "starlette", "sqlmodel", "sqlalchemy")) == []
