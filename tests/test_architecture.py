"""The code keeps the shape docs/architecture.md draws: each package imports only the packages
below it, no module imports another in a cycle, only output/ writes the site's files and only
state/ opens the cache, and modules and functions stay small enough to read."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "hubgen"

# Lowest first, as in docs/architecture.md: a unit may import only from units before it (and
# from itself). A unit is a top-level module or a package.
LAYERS = [
    {"errors", "digests", "model", "__init__"},
    {"sources", "parallel"},
    {"config"},
    {"gating"},
    {"content"},
    {"hub"},
    {"output"},
    {"render"},
    {"state"},
    {"build", "audit", "report", "scaffold"},
    {"check"},
    {"collector"},
    {"collect"},
    {"serve"},
    {"cli"},
]
# collector/ sits above the pipeline in the list but must not use it (it gets HubState).
COLLECTOR_MAY_USE = {"errors", "digests", "model", "sources", "parallel", "__init__", "config",
                     "gating", "collector"}
MAX_MODULE_LINES = 420
MAX_FUNCTION_LINES = 60


def unit_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def modules() -> dict[str, Path]:
    found = {}
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC.parent).with_suffix("")
        name = ".".join(p for p in rel.parts if p != "__init__") if rel.name == "__init__" \
            else ".".join(rel.parts)
        found[name] = path
    return found


def imports(path: Path) -> set[str]:
    """The hubgen modules a file imports (at any depth of the file, lazy imports included; those
    for type checking only left out)."""
    found = set()
    tree = ast.parse(path.read_text("utf-8"))
    for node in ast.walk(tree):  # `if TYPE_CHECKING:` blocks: annotations, not imports
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and \
                node.test.id == "TYPE_CHECKING":
            node.body = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("hubgen"):
            found.add(node.module)
            for alias in node.names:  # `from hubgen.render import search` names a module
                found.add(f"{node.module}.{alias.name}")
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("hubgen"))
    return found & set(modules())


def level(unit: str) -> int:
    return next(n for n, layer in enumerate(LAYERS) if unit in layer)


def test_every_unit_is_placed_in_a_layer() -> None:
    units = {unit_of(name) for name in modules()}
    assert units <= set().union(*LAYERS)


def test_each_package_imports_only_the_packages_below_it() -> None:
    wrong = []
    for name, path in modules().items():
        mine = unit_of(name)
        for target in imports(path):
            theirs = unit_of(target)
            if theirs == mine:
                continue
            if level(theirs) >= level(mine) or (mine == "collector" and theirs not in
                                                  COLLECTOR_MAY_USE):
                wrong.append(f"{name} imports {target}")
    assert wrong == []


def test_no_import_cycles() -> None:
    graph = {name: imports(path) - {name} for name, path in modules().items()}
    cycles: list[list[str]] = []
    done: set[str] = set()

    def visit(node: str, trail: list[str]) -> None:
        if node in trail:
            cycles.append([*trail[trail.index(node):], node])
            return
        if node in done:
            return
        for target in sorted(graph.get(node, ())):
            visit(target, [*trail, node])
        done.add(node)

    for start in sorted(graph):
        visit(start, [])
    assert cycles == []


@pytest.mark.parametrize(("what", "unit", "words"), [
    ("stages and commits the site's files", "output", ("Staging(", "Placer(", "Journal(")),
    ("opens the cache", "state", ("open_cache(", "Cache(")),
])
def test_one_unit_does_each_job(what: str, unit: str, words: tuple[str, ...]) -> None:
    # build.py runs the staging and opens the cache it hands to state/; collect.py opens the
    # cache to read the hub for the collector: named here, so a new user has to be argued for.
    allowed = {"output": {"output", "build"}, "state": {"state", "build", "collect"}}[unit]
    users = sorted({unit_of(name) for name, path in modules().items()
                    if any(w in path.read_text("utf-8") for w in words)})
    assert set(users) <= allowed, f"only {unit}/ {what}: {users}"


def test_modules_and_functions_stay_small() -> None:
    long_modules, long_functions = [], []
    for name, path in modules().items():
        text = path.read_text("utf-8")
        if text.count("\n") > MAX_MODULE_LINES:
            long_modules.append(name)
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long_functions.append(f"{name}.{node.name} ({length})")
    assert long_modules == []
    assert long_functions == []
