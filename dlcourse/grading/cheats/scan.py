"""Static scan of a submission's code cells for constructs that can defeat grading.

Part of :mod:`dlcourse.grading.cheats`. Works on the AST (so ``import builtins as b; b.x = ...`` and
``getattr(__builtins__, ...)`` are seen through aliases, and comments or strings do not
trigger), with a few text rules for IPython magics that are not Python.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

__all__ = ["Finding", "scan_source", "RULES"]

RULES = {
    "ipython-hook": "changes how IPython runs later cells (transformers, magics, handlers, events)",
    "exit-hook": "registers code to run later (atexit, sys.settrace/setprofile/excepthook)",
    "builtins": "replaces a builtin (assert helpers, print, open, ...)",
    "test-patch": "replaces a testing function (numpy.testing, torch.testing, unittest, assert*)",
    "always-equal": "defines __eq__ (or __ne__/__bool__) that ignores its argument",
    "grader-detect": "inspects the grading environment (variables, working folder, user)",
    "dynamic-code": "runs code built at run time (exec, eval, compile, __import__, importlib)",
    "introspection": "reaches into the interpreter (ctypes, gc referrers, frames, sys.modules)",
    "file-outside": "opens a file by absolute or parent path (outside the working copy)",
    "process": "starts processes or sockets (subprocess, os.system, fork, socket)",
    "tamper": "reaches the grader's checks in the student's process (torch function modes, the runner)",
}
_TAMPER_PREFIXES = (
    "torch._C._set_torch_function_mode",
    "torch._C._push_on_torch_function_stack",
    "torch._C._pop_torch_function_stack",
    "torch._C._len_torch_function_stack",
    "torch._C._get_function_stack_at",
    "torch._C.DisableTorchFunction",
    "torch._C._disabled_torch_function_impl",
    "torch.overrides._pop_mode",
    "torch.utils._python_dispatch",
    "signal.pthread_sigmask",
)
_RUNNER_MODULES = ("runner", "rules", "wire", "capture", "zygote", "linux")
_HARMLESS_MAGICS = ("%matplotlib", "%time", "%%time", "%timeit", "%%timeit", "%precision", "%pprint", "%who")
_HOOK_ATTRS = {
    "input_transformers_cleanup",
    "input_transformers_post",
    "input_transformer_manager",
    "ast_transformers",
    "register_magic_function",
    "register_magics",
    "register_cell_magic",
    "register_line_magic",
    "set_custom_exc",
    "run_cell",
    "run_cell_async",
    "transform_cell",
    "showtraceback",
    "set_hook",
    "register",
    "events",
    "prefilter_manager",
    "displayhook",
    "display_pub",
}
_EXIT_CALLS = {
    "atexit.register",
    "sys.settrace",
    "sys.setprofile",
    "threading.settrace",
    "threading.setprofile",
    "sys.excepthook",
    "sys.addaudithook",
    "signal.signal",
}
_DETECT = {
    "os.getcwd",
    "os.getcwdb",
    "os.environ",
    "os.getenv",
    "os.getuid",
    "os.geteuid",
    "os.getlogin",
    "getpass.getuser",
    "pathlib.Path.cwd",
    "Path.cwd",
    "socket.gethostname",
    "os.uname",
    "platform.node",
    "sys.argv",
    "os.getppid",
    "os.listdir",
    "os.scandir",
    "glob.glob",
    "os.walk",
}
_DYNAMIC = {
    "exec",
    "eval",
    "compile",
    "__import__",
    "importlib.import_module",
    "importlib.reload",
    "types.FunctionType",
    "types.CodeType",
    "marshal.loads",
    "pickle.loads",
    "runpy.run_path",
    "runpy.run_module",
}
_INTROSPECT = {
    "gc.get_referrers",
    "gc.get_objects",
    "inspect.currentframe",
    "sys._getframe",
    "inspect.stack",
    "sys.modules",
    "inspect.getsource",
}
_PROCESS = {
    "os.system",
    "os.fork",
    "os.forkpty",
    "os.setsid",
    "os.popen",
    "os.kill",
    "subprocess.Popen",
    "subprocess.run",
    "subprocess.call",
    "subprocess.check_output",
    "socket.socket",
    "socket.create_connection",
    "multiprocessing.Process",
    "pty.spawn",
}
_TEST_MODULES = ("numpy.testing", "torch.testing", "unittest", "pytest", "np.testing")
_MAGIC_TEXT = ("%%", "!", "%system", "%run", "%load", "%env", "%sx", "%%bash", "%%script")


@dataclass(frozen=True)
class Finding:
    """One suspicious construct: where it is and which rule it breaks."""

    cell: str  # the cell's grade_id, or "cell <index>"
    line: int
    rule: str
    detail: str

    def __str__(self) -> str:
        return f"{self.cell}:{self.line}: {self.rule}: {self.detail}"


def _dotted(node: ast.AST, aliases: dict[str, str]) -> str:
    """``a.b.c`` for a Name/Attribute chain, with import aliases resolved ('' otherwise)."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Call):  # get_ipython().events -> get_ipython.events
        return _dotted(node.func, aliases) + ("." + ".".join(reversed(parts)) if parts else "")
    if not isinstance(node, ast.Name):
        return ""
    parts.append(aliases.get(node.id, node.id))
    return ".".join(reversed(parts))


def _always_true(func: ast.FunctionDef) -> bool:
    """Every return of ``func`` is a truthy constant (or the function returns nothing at all for
    ``__ne__``'s counterpart check) - the body ignores the value it is compared with."""
    returns = [n for n in ast.walk(func) if isinstance(n, ast.Return)]
    if not returns:
        return False
    return all(isinstance(r.value, ast.Constant) and bool(r.value.value) for r in returns)


def _never_true(func: ast.FunctionDef) -> bool:
    returns = [n for n in ast.walk(func) if isinstance(n, ast.Return)]
    return bool(returns) and all(isinstance(r.value, ast.Constant) and not r.value.value for r in returns)


def _scan_tree(tree: ast.AST, cell: str, out: list[Finding]) -> None:
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):  # first pass: import aliases (np -> numpy, b -> builtins)
        if isinstance(node, ast.Import):
            for a in node.names:
                aliases[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module:
            for a in node.names:
                aliases[a.asname or a.name] = f"{node.module}.{a.name}"

    def add(node: ast.AST, rule: str, detail: str) -> None:
        out.append(Finding(cell, getattr(node, "lineno", 0), rule, detail))

    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
            for name in names:
                if name.split(".")[0] in _RUNNER_MODULES or name.startswith("torch.overrides"):
                    add(node, "tamper", f"imports {name}")
                if name.split(".")[0] in ("ctypes", "cffi", "gc", "inspect"):
                    add(node, "introspection", f"imports {name}")
                if name.split(".")[0] == "atexit":
                    add(node, "exit-hook", "imports atexit")
        elif isinstance(node, ast.Attribute):
            full = _dotted(node, aliases)
            if node.attr in _HOOK_ATTRS and (
                "ipython" in full.lower()
                or "shell" in full.lower()
                or node.attr.startswith(("input_transformer", "ast_"))
            ):
                add(node, "ipython-hook", full)
            if full in _EXIT_CALLS:
                add(node, "exit-hook", full)
            if full in _DETECT or full.startswith("os.environ"):
                add(node, "grader-detect", full)
            if full in _INTROSPECT or full.startswith("sys.modules"):
                add(node, "introspection", full)
            if full in _DYNAMIC:
                add(node, "dynamic-code", full)
            if full in _PROCESS:
                add(node, "process", full)
            if full.startswith(_TAMPER_PREFIXES):
                add(node, "tamper", full)
        elif isinstance(node, ast.Name):
            full = aliases.get(node.id, node.id)
            if node.id in ("exec", "eval", "compile", "__import__") or full in _DYNAMIC:
                add(node, "dynamic-code", node.id)
            elif full in _INTROSPECT:
                add(node, "introspection", full)
            elif full in _DETECT:
                add(node, "grader-detect", full)
            elif node.id == "__builtins__":
                add(node, "builtins", "__builtins__")
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            for t in targets:
                full = _dotted(t.value if isinstance(t, ast.Subscript) else t, aliases)
                root = full.split(".")[0]
                if root in ("builtins", "__builtins__") or full.startswith("__builtins__"):
                    add(node, "builtins", f"assigns {full}")
                elif full.startswith(_TEST_MODULES) or full.split(".")[-1].startswith("assert"):
                    add(node, "test-patch", f"assigns {full}")
                elif isinstance(t, ast.Name) and t.id.startswith("assert"):
                    add(node, "test-patch", f"rebinds {t.id}")
                elif (
                    isinstance(t, ast.Attribute)
                    and full.split(".")[0] in ("numpy", "torch", "math", "IPython", "sys", "os")
                    and "." in full
                ):
                    add(node, "test-patch", f"monkeypatches {full}")
        if isinstance(node, ast.Call):
            func = _dotted(node.func, aliases)
            if func in ("setattr", "delattr") and node.args:
                target = _dotted(node.args[0], aliases)
                if (
                    target.split(".")[0]
                    in ("builtins", "__builtins__", "numpy", "torch", "np", "math", "sys", "IPython")
                    or "testing" in target
                ):
                    add(node, "test-patch", f"{func}({target}, ...)")
            if (
                func == "open"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
                and node.args[0].value.startswith(("/", "..", "~"))
            ):
                add(node, "file-outside", f"open({node.args[0].value!r})")
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if (
                    isinstance(item, ast.FunctionDef)
                    and item.name in ("__eq__", "__bool__")
                    and _always_true(item)
                ):
                    add(item, "always-equal", f"{node.name}.{item.name} always returns True")
                if isinstance(item, ast.FunctionDef) and item.name == "__ne__" and _never_true(item):
                    add(item, "always-equal", f"{node.name}.__ne__ always returns False")


def scan_source(source: str, cell: str = "cell") -> list[Finding]:
    """Findings for one cell's source (IPython magics are checked as text, then dropped)."""
    found: list[Finding] = []
    lines = []
    for i, line in enumerate(source.splitlines(), 1):
        stripped = line.lstrip()
        if stripped.startswith(_HARMLESS_MAGICS):
            lines.append("")
        elif stripped.startswith(_MAGIC_TEXT) or stripped.startswith("%"):
            found.append(
                Finding(
                    cell,
                    i,
                    "process" if stripped.startswith("!") else "ipython-hook",
                    f"IPython magic {stripped.split()[0]!r}",
                )
            )
            lines.append("")
        else:
            lines.append(line)
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError as err:
        found.append(Finding(cell, err.lineno or 0, "dynamic-code", f"not Python: {err.msg}"))
        return found
    _scan_tree(tree, cell, found)
    unique = {(f.line, f.rule, f.detail): f for f in found}
    return sorted(unique.values(), key=lambda f: (f.line, f.rule))
