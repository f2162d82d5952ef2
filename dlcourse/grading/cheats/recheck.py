"""The trusted re-check: the instructor's tests run against the student's definitions only.

Part of :mod:`dlcourse.grading.cheats`. A fresh kernel (the sandbox kernel when one is given) runs a
notebook built here, never the submission itself:

- the instructor's own code cells and test cells (hidden tests included) from the *source*
  notebook, in its order;
- in place of each solution cell, only the student's definitions: imports, ``def`` and
  ``class`` statements, and assignments of constants. Anything that would run student code
  while loading (a decorator other than a few known ones, a computed default argument, a class
  body statement) is left out and reported, so transformers, patches and hooks set up at the
  top level of a cell never exist in the re-check;
- test cells are rewritten so that every ``assert`` compares through a helper that refuses
  objects whose class the student defined with its own comparison methods (an ``__eq__`` that
  is always true passes the student's kernel but not the re-check).
"""

from __future__ import annotations

import ast
import copy

import nbformat

__all__ = ["extract_definitions", "harden_test", "recheck_notebook", "PRELUDE"]

_OK_DECORATORS = {
    "staticmethod",
    "classmethod",
    "property",
    "torch.no_grad",
    "no_grad",
    "functools.wraps",
    "dataclass",
    "dataclasses.dataclass",
    "abstractmethod",
    "functools.lru_cache",
    "functools.cache",
    "torch.jit.script",
    "setter",
}
_HELPER = "_dlc_trusted_"

PRELUDE = f"""
def {_HELPER}suspect(value):
    kind = type(value)
    if getattr(kind, "__module__", "") != "__main__":
        return False
    own = ("__eq__", "__ne__", "__bool__", "__lt__", "__le__", "__gt__", "__ge__", "__len__",
           "__array__", "__float__", "__index__", "__int__", "__abs__", "__sub__")
    return any(name in vars(base) for base in kind.__mro__ if base.__module__ == "__main__"
               for name in own)

def {_HELPER}value(value):
    if {_HELPER}suspect(value):
        raise AssertionError(f"object of the student's class {{type(value).__name__}} with its "
                             "own comparison methods: not accepted by the trusted re-check")
    return value

def {_HELPER}compare(op, left, right):
    import operator
    {_HELPER}value(left); {_HELPER}value(right)
    return {_HELPER}value(getattr(operator, op)(left, right))
"""
_OPS = {
    ast.Eq: "eq",
    ast.NotEq: "ne",
    ast.Lt: "lt",
    ast.LtE: "le",
    ast.Gt: "gt",
    ast.GtE: "ge",
    ast.Is: "is_",
    ast.IsNot: "is_not",
    ast.In: "contains",
    ast.NotIn: None,
}


def _simple_value(node: ast.AST) -> bool:
    """A value that runs no student code when evaluated: constants, names, attribute chains."""
    if isinstance(node, (ast.Constant, ast.Name)):
        return True
    if isinstance(node, ast.Attribute):
        return _simple_value(node.value)
    if isinstance(node, ast.UnaryOp):
        return _simple_value(node.operand)
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return all(_simple_value(e) for e in node.elts)
    if isinstance(node, ast.Dict):
        return all(k is None or _simple_value(k) for k in node.keys) and all(
            _simple_value(v) for v in node.values
        )
    return False


def _decorator_ok(node: ast.AST) -> bool:
    target = node.func if isinstance(node, ast.Call) else node
    name = ast.unparse(target)
    args_ok = not isinstance(node, ast.Call) or all(_simple_value(a) for a in node.args)
    return args_ok and (name in _OK_DECORATORS or name.split(".")[-1] in _OK_DECORATORS)


def _function_ok(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    """'' if defining ``node`` runs no student code, else why it does."""
    if not all(_decorator_ok(d) for d in node.decorator_list):
        return f"decorator on {node.name}"
    defaults = node.args.defaults + [d for d in node.args.kw_defaults if d is not None]
    if not all(_simple_value(d) for d in defaults):
        return f"computed default argument of {node.name}"
    return ""


def _class_ok(node: ast.ClassDef) -> str:
    if not all(_decorator_ok(d) for d in node.decorator_list):
        return f"decorator on class {node.name}"
    if not all(_simple_value(b) for b in node.bases) or node.keywords:
        return f"computed base or metaclass of {node.name}"
    for item in node.body:
        why = _statement_ok(item)
        if why:
            return f"in class {node.name}: {why}"
    return ""


def _statement_ok(node: ast.stmt) -> str:
    if isinstance(node, (ast.Import, ast.ImportFrom, ast.Pass)):
        return ""
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
        return ""  # a docstring
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return _function_ok(node)
    if isinstance(node, ast.ClassDef):
        return _class_ok(node)
    if (
        isinstance(node, ast.Assign)
        and all(isinstance(t, ast.Name) for t in node.targets)
        and _simple_value(node.value)
    ):
        return ""
    if (
        isinstance(node, ast.AnnAssign)
        and isinstance(node.target, ast.Name)
        and (node.value is None or _simple_value(node.value))
    ):
        return ""
    return f"line {node.lineno}: {type(node).__name__} statement"


def extract_definitions(source: str) -> tuple[str, list[str]]:
    """The student's definitions from one cell (as source), and what was left out and why."""
    lines = [ln if not ln.lstrip().startswith(("%", "!")) else "" for ln in source.splitlines()]
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError as err:
        return "", [f"syntax error line {err.lineno}: {err.msg}"]
    kept, dropped = [], []
    for node in tree.body:
        names = [getattr(node, "name", "")] + [
            t.id for t in getattr(node, "targets", []) if isinstance(t, ast.Name)
        ]
        why = _statement_ok(node)
        if not why and any(n.startswith(_HELPER) for n in names):
            why = f"line {node.lineno}: redefines a re-check helper"
        (dropped.append(why) if why else kept.append(node))
    return ast.unparse(ast.Module(body=kept, type_ignores=[])), dropped


class _HardenAsserts(ast.NodeTransformer):
    """``assert a == b`` -> ``assert compare('eq', a, b)``; ``assert x`` -> ``assert value(x)``."""

    def visit_Assert(self, node: ast.Assert) -> ast.Assert:
        test = node.test
        if isinstance(test, ast.Compare) and len(test.ops) == 1 and _OPS.get(type(test.ops[0])):
            left, right = test.left, test.comparators[0]
            if isinstance(test.ops[0], ast.In):  # operator.contains(container, item)
                left, right = right, left
            call = ast.Call(
                ast.Name(f"{_HELPER}compare", ast.Load()),
                [ast.Constant(_OPS[type(test.ops[0])]), left, right],
                [],
            )
        else:
            call = ast.Call(ast.Name(f"{_HELPER}value", ast.Load()), [test], [])
        return ast.copy_location(ast.Assert(call, node.msg), node)

    def visit_Call(self, node: ast.Call) -> ast.Call:
        self.generic_visit(node)
        name = ast.unparse(node.func).split(".")[-1]
        if name.startswith("assert"):  # numpy.testing / torch.testing / unittest style
            wrap = lambda a: ast.Call(ast.Name(f"{_HELPER}value", ast.Load()), [a], [])
            node.args = [a if isinstance(a, ast.Starred) else wrap(a) for a in node.args]
        return node


def harden_test(source: str) -> str:
    """A test cell's source with its assertions routed through the re-check's helpers."""
    lines = [ln if not ln.lstrip().startswith(("%", "!")) else "" for ln in source.splitlines()]
    tree = _HardenAsserts().visit(ast.parse("\n".join(lines)))
    return ast.unparse(ast.fix_missing_locations(tree))


def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def recheck_notebook(submission, source) -> tuple[nbformat.NotebookNode, dict[str, int], list[str]]:
    """The notebook the trusted kernel runs, test cell indices by grade_id, and notes."""
    student: dict[str, str] = {}
    extras: dict[str | None, list[str]] = {}  # student-added cells, after which graded cell
    previous = None
    for cell in submission.cells:
        gid = _meta(cell).get("grade_id")
        if cell.cell_type != "code":
            previous = gid or previous
            continue
        if gid:
            student[gid] = cell.source
            previous = gid
        else:
            extras.setdefault(previous, []).append(cell.source)
    cells = [nbformat.v4.new_code_cell(PRELUDE)]
    tests: dict[str, int] = {}
    notes: list[str] = []

    def add_student(text: str, where: str) -> None:
        code, dropped = extract_definitions(text)
        notes.extend(f"{where}: not loaded ({why})" for why in dropped)
        cells.append(nbformat.v4.new_code_cell(code))

    for text in extras.get(None, []):
        add_student(text, "added cell")
    for cell in source.cells:
        meta, gid = _meta(cell), _meta(cell).get("grade_id")
        if cell.cell_type == "code":
            if meta.get("solution"):
                add_student(student.get(gid, ""), gid)
            elif meta.get("grade"):
                tests[gid] = len(cells)
                cells.append(nbformat.v4.new_code_cell(harden_test(cell.source)))
            else:
                cells.append(nbformat.v4.new_code_cell(cell.source))
        for text in extras.get(gid, []) if gid else []:
            add_student(text, f"cell added after {gid}")
    nb = copy.deepcopy(source)
    nb.cells = cells
    return nb, tests, notes
