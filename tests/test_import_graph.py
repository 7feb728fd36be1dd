"""The package's import graph: compatibility stays outside the core, and no module imports
itself through others.

Every ``import`` and ``from … import`` of a module counts, at its top or inside a function, since
either runs the imported module (and its package's ``__init__``) first; those under
``if TYPE_CHECKING:`` never run and do not count.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import animal_spot

PACKAGE = Path(animal_spot.__file__).parent
NAME = "animal_spot"


def _modules() -> dict[str, tuple[Path, bool]]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        found[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return found


def _imported(module: str, is_package: bool, node: ast.AST, known: set[str]) -> list[str]:
    """The package's modules one import statement names."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names if alias.name.split(".")[0] == NAME]
    assert isinstance(node, ast.ImportFrom)
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        target = ".".join([*base, *([node.module] if node.module else [])])
    else:
        target = node.module or ""
        if target.split(".")[0] != NAME:
            return []
    return [f"{target}.{a.name}" if f"{target}.{a.name}" in known else target for a in node.names]


def _is_type_checking(node: ast.AST) -> bool:
    test = getattr(node, "test", None) if isinstance(node, ast.If) else None
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement that can run: all but those under ``if TYPE_CHECKING:``."""
    found: list[ast.Import | ast.ImportFrom] = []
    pending = [tree]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        elif _is_type_checking(node):
            pending.extend(getattr(node, "orelse", []))
            continue
        pending.extend(ast.iter_child_nodes(node))
    return found


def import_graph() -> dict[str, set[str]]:
    """Module → the package modules it imports (the nearest existing module of each name)."""
    modules = _modules()
    known = set(modules)
    graph: dict[str, set[str]] = {}
    for module, (path, is_package) in modules.items():
        edges = set()
        for node in _imports(ast.parse(path.read_text(encoding="utf-8"))):
            for target in _imported(module, is_package, node, known):
                while target not in known and "." in target:
                    target = target.rsplit(".", 1)[0]
                if target != module:
                    edges.add(target)
        graph[module] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return groups


def _is_outside(module: str) -> bool:
    """Modules allowed to import ``legacy``: itself and the command line."""
    parts = module.split(".")
    return "legacy" in parts or parts[-1].startswith("cli")


def test_the_graph_sees_imports_at_the_top_and_inside_functions() -> None:
    graph = import_graph()
    assert "animal_spot.config" in graph["animal_spot.bundle"]  # at the top
    assert "animal_spot.legacy" in graph["animal_spot.cli"]  # inside main()
    assert "animal_spot.prediction.steps" in graph["animal_spot.prediction.sharded"]
    assert "animal_spot.bundle" not in graph["animal_spot.extensions"]  # under TYPE_CHECKING


def test_cycle_finder_finds_a_cycle_and_passes_a_chain() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_only_legacy_and_the_command_line_import_legacy() -> None:
    graph = import_graph()
    upward = {
        module: sorted(t for t in targets if t.split(".")[:2] == [NAME, "legacy"])
        for module, targets in graph.items()
        if not _is_outside(module)
    }
    assert {m: t for m, t in upward.items() if t} == {}


def test_no_module_imports_itself_through_others() -> None:
    assert cycles(import_graph()) == []


def test_the_core_runs_without_loading_legacy() -> None:
    """Training, prediction, evaluation and preparation import no compatibility code."""
    code = (
        "import sys\n"
        "import animal_spot, animal_spot.bundle, animal_spot.config\n"
        "import animal_spot.prediction.api, animal_spot.training.fit\n"
        "import animal_spot.evaluation.run, animal_spot.data.prepare, animal_spot.export\n"
        "print(sorted(m for m in sys.modules if m.startswith('animal_spot.legacy')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
