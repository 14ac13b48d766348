"""The layout's promises, checked on the source: no two modules depend on each other (at run
time, directly or around a loop), and a trial's attributes are named only by the trial record."""

from __future__ import annotations

import ast
from pathlib import Path

from automl.trial_record import Attr

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {  # import name -> folder (search_spaces/ and dashboard/ install under automl)
    "automl": ROOT / "automl",
    "automl.search_spaces": ROOT / "search_spaces",
    "automl.dashboard": ROOT / "dashboard",
}


def modules() -> dict[str, Path]:
    found = {}
    for package, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join([package, *parts])] = path
    return found


def run_time_imports(path: Path, known: dict[str, Path]) -> set[str]:
    """The project modules a module imports when it runs (anywhere in it, functions included;
    `if TYPE_CHECKING:` blocks are not run)."""
    tree = ast.parse(path.read_text())
    typing_only = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for node in ast.walk(block)
    }
    imported = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            submodules = [f"{node.module}.{alias.name}" for alias in node.names]
            names = [name for name in submodules if name in known]
            if len(names) < len(submodules):
                names.append(node.module)
        else:
            continue
        for name in names:
            while name and name not in known:  # automl.x.y where y is a class: automl.x
                name = name.rpartition(".")[0]
            if name:
                imported.add(name)
    return imported


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for other in graph[module]:
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in graph:
        if module not in index:
            visit(module)
    return found


def test_no_two_modules_depend_on_each_other():
    known = modules()
    graph = {name: run_time_imports(path, known) - {name} for name, path in known.items()}
    assert len(graph) > 60 and "automl.engine.ray_executor" in graph
    assert "automl.task_info" in graph["automl.search_spaces.mlp"]  # the check sees imports
    assert cycles(graph) == []


def test_a_trial_attribute_is_named_only_by_the_trial_record():
    """Everywhere else writes Attr.FAMILY, never "family": one schema for every reader."""
    keys = {value for name, value in vars(Attr).items() if not name.startswith("_")}
    where = []
    for name, path in modules().items():
        if name == "automl.trial_record":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and ast.unparse(node.func).endswith(
                ("set_user_attr", "user_attrs.get", ".get", "set_trial_user_attr")
            ):
                literal = [a.value for a in node.args[:1] if isinstance(a, ast.Constant)]
                if literal and literal[0] in keys and "attr" in ast.unparse(node.func).lower():
                    where.append(f"{name}:{node.lineno} {ast.unparse(node)}")
            if isinstance(node, ast.Subscript) and "attr" in ast.unparse(node.value).lower():
                key = node.slice
                if isinstance(key, ast.Constant) and key.value in keys:
                    where.append(f"{name}:{node.lineno} {ast.unparse(node)}")
    assert where == []
