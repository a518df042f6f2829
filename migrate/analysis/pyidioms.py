"""Python idioms around the GIL and PyO3's conversions, recognised on libcst trees.

Recognition only (what a piece of Python is); the codemods decide what to do with it. Imported
only by runs that parse a Python file: libcst's import is not paid otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from pyo3_migrate.analysis.pyedit import argument, dotted, string_value
from pyo3_migrate.analysis.pyside import gil_off_setting, ignores_gil_warning, is_gil_warning

_ENV_CALLS = ("environ.setdefault", "putenv", "setenv")  # (name, value) calls that set the environment
_LIST_METHODS = {"append", "extend", "insert", "pop", "remove", "sort", "reverse", "clear"}


@dataclass(frozen=True)
class Workaround:
    """A GIL workaround: `env` (PYTHON_GIL=0 set), `filter` (a warning filter or mark for the
    GIL RuntimeWarning) or `skip` (a skip when running free-threaded); `text` is the filter's
    message or the skip's reason ("" for `env`)."""

    kind: str
    text: str = ""


def workaround_of(node: cst.CSTNode, free_threaded_names: set[str]) -> Workaround | None:
    """What workaround a small statement, decorator or list element is (None: none)."""
    if isinstance(node, cst.Decorator):
        return _mark(node.decorator, free_threaded_names)
    if isinstance(node, cst.Expr) and isinstance(node.value, cst.Call):
        return _env_call(node.value) or _filter_call(node.value)
    if isinstance(node, cst.Assign) and len(node.targets) == 1:
        target = node.targets[0].target
        if isinstance(target, cst.Name) and target.value == "pytestmark":
            return _mark(node.value, free_threaded_names)
        if isinstance(target, cst.Subscript) and (dotted(target.value) or "").endswith(("environ", ".env")) \
                and len(target.slice) == 1 and isinstance(target.slice[0].slice, cst.Index):
            name, value = string_value(target.slice[0].slice.value), string_value(node.value)
            return Workaround("env") if name is not None and value is not None and gil_off_setting(name, value) else None
    if isinstance(node, cst.Call):
        return _mark(node, free_threaded_names)
    if isinstance(node, cst.DictElement):  # `env={"PYTHON_GIL": "0"}` (nox's session.run, subprocess)
        key, value = string_value(node.key), string_value(node.value)
        return Workaround("env") if key is not None and value is not None and gil_off_setting(key, value) else None
    return None


def _env_call(call: cst.Call) -> Workaround | None:
    if not (dotted(call.func) or "").endswith(_ENV_CALLS):
        return None
    key, value = string_value(argument(call, 0, "key")), string_value(argument(call, 1, "value"))
    return Workaround("env") if key is not None and value is not None and gil_off_setting(key, value) else None


def _filter_call(call: cst.Call) -> Workaround | None:
    if (dotted(call.func) or "").rsplit(".", 1)[-1] != "filterwarnings":
        return None
    action, message = string_value(argument(call, 0, "action")), string_value(argument(call, 1, "message"))
    category = argument(call, 2, "category")
    if action != "ignore" or message is None or not is_gil_warning(message):
        return None
    if category is not None and (dotted(category) or "").rsplit(".", 1)[-1] != "RuntimeWarning":
        return None
    return Workaround("filter", message)


def _mark(node: cst.BaseExpression, free_threaded_names: set[str]) -> Workaround | None:
    if not isinstance(node, cst.Call):
        return None
    name = dotted(node.func) or ""
    if name.endswith("mark.filterwarnings"):
        spec = string_value(argument(node, 0, "arg"))
        return Workaround("filter", spec) if spec is not None and ignores_gil_warning(spec) else None
    if name.endswith("mark.skipif"):
        condition, reason = argument(node, 0, "condition"), string_value(argument(node, 1, "reason"))
        if condition is not None and reason is not None and is_free_threaded_test(condition, free_threaded_names):
            return Workaround("skip", reason)
    return None


def gil_enabled_call(node: cst.CSTNode) -> bool:
    """`sys._is_gil_enabled()` or `getattr(sys, "_is_gil_enabled", ..)()`."""
    if not isinstance(node, cst.Call):
        return False
    if (dotted(node.func) or "").endswith("_is_gil_enabled"):
        return True
    inner = node.func
    return (isinstance(inner, cst.Call) and dotted(inner.func) == "getattr"
            and string_value(argument(inner, 1, "name")) == "_is_gil_enabled")


def config_gil_disabled(node: cst.CSTNode) -> bool:
    """`sysconfig.get_config_var("Py_GIL_DISABLED")` (also inside `bool(..)`)."""
    if isinstance(node, cst.Call) and dotted(node.func) == "bool" and len(node.args) == 1:
        return config_gil_disabled(node.args[0].value)
    return (isinstance(node, cst.Call) and (dotted(node.func) or "").endswith("get_config_var")
            and string_value(argument(node, 0, "name")) == "Py_GIL_DISABLED")


def is_free_threaded_test(node: cst.BaseExpression, names: set[str] = frozenset()) -> bool:
    """Whether an expression is plainly "this is a free-threaded build / the GIL is off"."""
    if isinstance(node, cst.Name):
        return node.value in names
    if config_gil_disabled(node):
        return True
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Not):
        return gil_enabled_call(node.expression)
    if isinstance(node, cst.Comparison) and len(node.comparisons) == 1 and gil_enabled_call(node.left):
        only = node.comparisons[0]
        return isinstance(only.operator, (cst.Is, cst.Equal)) and dotted(only.comparator) == "False"
    return False


def free_threaded_names(module: cst.Module) -> set[str]:
    """Module-level names bound to a free-threaded test (`FREE_THREADED = bool(get_config_var(..))`)."""
    names = set()
    for statement in module.body:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, cst.Assign) and len(small.targets) == 1 \
                        and isinstance(small.targets[0].target, cst.Name) and is_free_threaded_test(small.value):
                    names.add(small.targets[0].target.value)
    return names


class _AsksForTheGil(cst.CSTVisitor):
    """Whether an expression asks if the GIL is on (a call, the config var, or a name bound to one)."""

    def __init__(self, names: set[str]):
        super().__init__()
        self.names = names
        self.hit = False

    def on_visit(self, node: cst.CSTNode) -> bool:
        self.hit = self.hit or gil_enabled_call(node) or config_gil_disabled(node) or (
            isinstance(node, cst.Name) and node.value in self.names)
        return not self.hit


class _Branches(cst.CSTVisitor):
    """Branches whose test asks whether the GIL is on."""

    def __init__(self, names: set[str]):
        super().__init__()
        self.names = names
        self.found: list[cst.CSTNode] = []

    def _test(self, test: cst.BaseExpression, node: cst.CSTNode) -> None:
        asks = _AsksForTheGil(self.names)
        test.visit(asks)
        if asks.hit:
            self.found.append(node)

    def visit_If(self, node: cst.If) -> None:
        self._test(node.test, node)

    def visit_IfExp(self, node: cst.IfExp) -> None:
        self._test(node.test, node)


def _is_int_list(node: cst.BaseExpression) -> bool:
    """`list[int]`, `List[int]`, `typing.List[int]`."""
    return (isinstance(node, cst.Subscript) and (dotted(node.value) or "").rsplit(".", 1)[-1] in ("list", "List")
            and len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index)
            and dotted(node.slice[0].slice.value) == "int")


class _Returns(cst.CSTTransformer):
    """`-> list[int]` becomes `-> bytes` on the stubs of the given functions and methods."""

    def __init__(self, functions: set[str], methods: dict[str, set[str]]):
        super().__init__()
        self.functions, self.methods = functions, methods
        self.classes: list[str] = []
        self.changed: list[str] = []

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.classes.append(node.name.value)

    def leave_ClassDef(self, original, updated):
        self.classes.pop()
        return updated

    def _ours(self, name: str) -> bool:
        if self.classes:
            return name in self.methods.get(self.classes[-1], set())
        return name in self.functions

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        if updated.returns is None or not self._ours(updated.name.value):
            return updated
        new = updated.returns.annotation.visit(_IntListToBytes())
        if new is updated.returns.annotation or new.deep_equals(updated.returns.annotation):
            return updated
        self.changed.append(".".join([*self.classes, updated.name.value]))
        return updated.with_changes(returns=updated.returns.with_changes(annotation=new))


class _IntListToBytes(cst.CSTTransformer):
    def leave_Subscript(self, original, updated):
        return cst.Name("bytes") if _is_int_list(updated) else updated


class _ListUses(cst.CSTVisitor):
    """Where a result of one of `names` is used as a list (see the module docstring)."""

    METADATA_DEPENDENCIES = (cst.metadata.PositionProvider,)

    def __init__(self, names: set[str]):
        super().__init__()
        self.names = names
        self.bound: list[set[str]] = [set()]  # names bound to such a call, per function
        self.found: list[tuple[int, str]] = []

    def _is_call(self, node: cst.CSTNode) -> bool:
        return isinstance(node, cst.Call) and (dotted(node.func) or "").rsplit(".", 1)[-1] in self.names

    def _is_result(self, node: cst.CSTNode) -> bool:
        return self._is_call(node) or (isinstance(node, cst.Name) and node.value in self.bound[-1])

    def _report(self, node: cst.CSTNode, what: str) -> None:
        self.found.append((self.get_metadata(cst.metadata.PositionProvider, node).start.line, what))

    def visit_FunctionDef(self, node) -> None:
        self.bound.append(set())

    def leave_FunctionDef(self, node) -> None:
        self.bound.pop()

    def visit_Assign(self, node: cst.Assign) -> None:
        if self._is_call(node.value):
            for target in node.targets:
                if isinstance(target.target, cst.Name):
                    self.bound[-1].add(target.target.value)
        for target in node.targets:
            if isinstance(target.target, cst.Subscript) and self._is_result(target.target.value):
                self._report(node, "item assignment")

    def visit_Del(self, node: cst.Del) -> None:
        if isinstance(node.target, cst.Subscript) and self._is_result(node.target.value):
            self._report(node, "item deletion")

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in _LIST_METHODS and self._is_result(func.value):
            self._report(node, f"`.{func.attr.value}()`")

    def visit_Comparison(self, node: cst.Comparison) -> None:
        left = node.left
        for target in node.comparisons:
            if isinstance(target.operator, (cst.Equal, cst.NotEqual)) and (
                    (self._is_result(left) and isinstance(target.comparator, cst.List))
                    or (isinstance(left, cst.List) and self._is_result(target.comparator))):
                self._report(node, "a comparison with a list")
            left = target.comparator


def gil_branch_lines(module: cst.Module, free_threaded_names_: set[str]) -> list[int]:
    """Lines of `if`s and conditional expressions whose test asks whether the GIL is on."""
    branches = _Branches(free_threaded_names_)
    module.visit(branches)
    if not branches.found:
        return []  # positions cost a pass of their own over the whole module: only when needed
    positions = cst.metadata.MetadataWrapper(module, unsafe_skip_copy=True).resolve(cst.metadata.PositionProvider)
    return [positions[node].start.line for node in branches.found]


def retype_int_lists(module: cst.Module, functions: set[str], methods: dict[str, set[str]]) -> tuple[cst.Module, list[str]]:
    """The stub module with `-> list[int]` made `-> bytes` on those functions and methods (by
    class), and the dotted names it changed."""
    returns = _Returns(functions, methods)
    return module.visit(returns), returns.changed


def list_uses(module: cst.Module, names: set[str]) -> list[tuple[int, str]]:
    """(line, what) of each use of a result of a call to one of `names` as a list."""
    uses = _ListUses(names)
    cst.metadata.MetadataWrapper(module, unsafe_skip_copy=True).visit(uses)
    return uses.found
