"""The package's layout (issue 19): no import cycle between dlcourse's modules, and no private
(``_name``) module used from outside its own subpackage."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "dlcourse"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def imported(name: str, tree: ast.Module, top_level_only: bool) -> set[str]:
    """The dlcourse modules that ``name`` imports (at module level when ``top_level_only``)."""
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    if top_level_only:  # imports inside try/if at module level run at import time as well
        nodes = [
            n
            for stmt in tree.body
            for n in ast.walk(stmt)
            if not isinstance(stmt, (ast.FunctionDef, ast.ClassDef))
        ]
    package = name if _is_package(name) else name.rpartition(".")[0]
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            found.add(base)
            found |= {f"{base}.{a.name}" for a in node.names}
    return {m for m in found if m in MODULES and m != name}


def test_no_import_cycle():
    graph = {
        name: imported(name, ast.parse(path.read_text(encoding="utf-8")), top_level_only=True)
        for name, path in MODULES.items()
    }
    # a module importing its own package's __init__ (or a parent's) is how Python reaches it, not a loop
    graph = {n: {m for m in deps if not n.startswith(m + ".")} for n, deps in graph.items()}
    done, stack, cycles = set(), [], []

    def visit(n):
        if n in stack:
            cycles.append(stack[stack.index(n) :] + [n])
            return
        if n in done:
            return
        stack.append(n)
        for m in sorted(graph[n]):
            visit(m)
        stack.pop()
        done.add(n)

    for n in sorted(graph):
        visit(n)
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def _private_part(name: str) -> int | None:
    parts = name.split(".")
    return next((i for i, p in enumerate(parts) if p.startswith("_") and not p.startswith("__")), None)


def test_private_modules_stay_in_their_subpackage():
    sources = [*PACKAGE.rglob("*.py"), *(ROOT / "tests").rglob("*.py"), *(ROOT / "bench").glob("*.py")]
    sources += [*(ROOT / "book").rglob("*.py"), *(ROOT / "hub").rglob("*.py")]
    wrong = []
    for path in sources:
        if ".venv" in path.parts:
            continue
        name = module_name(path) if path.is_relative_to(PACKAGE) else "<outside>"
        tree = ast.parse(path.read_text(encoding="utf-8"))
        deps = imported(name, tree, top_level_only=False) if name != "<outside>" else set()
        if name == "<outside>":
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("dlcourse"):
                    deps |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
                elif isinstance(node, ast.Import):
                    deps |= {a.name for a in node.names if a.name.startswith("dlcourse")}
            deps = {d for d in deps if d in MODULES}
        for dep in deps:
            i = _private_part(dep)
            if i is None:
                continue
            owner = ".".join(dep.split(".")[:i])  # the subpackage that holds the private module
            if not (name == owner or name.startswith(owner + ".")):
                wrong.append(f"{path.relative_to(ROOT)} imports {dep}")
    assert not wrong, wrong
