"""Removing Python statements and decorators the way a person would, on libcst trees.

`remove(module, decide)` drops the small statements, list elements and decorators `decide`
picks. The comment block directly above a removed line goes with it when it explains it
(`explains`); other comments and blank lines stay, and a blank line is never doubled. Imports
that only the removed code used go too (`drop_unused_imports`). libcst prints every other byte
back as it was read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import libcst as cst

REMOVE = object()  # what `decide` returns for a node that goes


@dataclass
class Removal:
    """What went: the original nodes, and the names they used."""

    nodes: list[cst.CSTNode] = field(default_factory=list)

    @property
    def names(self) -> set[str]:
        return {n.value for node in self.nodes for n in _names(node)}


def _names(node: cst.CSTNode) -> list[cst.Name]:
    found: list[cst.Name] = []

    class Collect(cst.CSTVisitor):
        def visit_Name(self, name: cst.Name) -> None:
            found.append(name)

    node.visit(Collect())
    return found


def dotted(node: cst.BaseExpression) -> str | None:
    """`a.b.c` for a Name/Attribute chain (None for anything else)."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr.value}" if base else None
    return None


def string_value(node: cst.BaseExpression | None) -> str | None:
    """The value of a plain string literal (None for f-strings, bytes and anything else)."""
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


def argument(call: cst.Call, index: int, keyword: str) -> cst.BaseExpression | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == keyword:
            return arg.value
    positional = [a for a in call.args if a.keyword is None and not a.star]
    return positional[index].value if index < len(positional) else None


def _is_blank(line: cst.EmptyLine) -> bool:
    return line.comment is None


def _split_leading(lines: Sequence[cst.EmptyLine], explains: Callable[[str], bool]) -> list[cst.EmptyLine]:
    """The leading lines that stay when the line below them goes: all but the comment block
    directly above it, when that block explains it."""
    lines = list(lines)
    start = len(lines)
    while start > 0 and not _is_blank(lines[start - 1]):
        start -= 1
    block = lines[start:]
    if block and any(explains(line.comment.value) for line in block):
        return lines[:start]
    return lines


def _join(kept: list[cst.EmptyLine], following: Sequence[cst.EmptyLine]) -> list[cst.EmptyLine]:
    following = list(following)
    if kept and following and _is_blank(kept[-1]) and _is_blank(following[0]):
        following = following[1:]
    return kept + following


class _Remover(cst.CSTTransformer):
    def __init__(self, decide: Callable[[cst.CSTNode], object], explains: Callable[[str], bool]):
        super().__init__()
        self.decide = decide
        self.explains = explains
        self.removal = Removal()

    # -- statements in a body
    def _small(self, line: cst.SimpleStatementLine) -> list[cst.BaseSmallStatement]:
        kept = []
        for small in line.body:
            decision = self.decide(small)
            if decision is REMOVE:
                self.removal.nodes.append(small)
            elif isinstance(decision, cst.BaseSmallStatement):
                kept.append(decision)
            else:
                kept.append(small)
        if kept and len(kept) < len(line.body):
            kept[-1] = kept[-1].with_changes(semicolon=cst.MaybeSentinel.DEFAULT)
        return kept

    def _body(self, body: Sequence[cst.BaseStatement], at_module_start: bool) -> tuple[list, list[cst.EmptyLine]]:
        """The body without removed lines, and the lines carried past its end (for the footer)."""
        out: list[cst.BaseStatement] = []
        carried: list[cst.EmptyLine] | None = None
        for statement in body:
            if isinstance(statement, cst.SimpleStatementLine):
                small = self._small(statement)
                if not small:
                    kept = _split_leading(statement.leading_lines, self.explains)
                    carried = kept if carried is None else _join(carried, kept)
                    continue
                if len(small) != len(statement.body) or any(a is not b for a, b in zip(small, statement.body)):
                    trailing = statement.trailing_whitespace
                    if len(small) < len(statement.body) and trailing.comment and self.explains(trailing.comment.value):
                        trailing = trailing.with_changes(whitespace=cst.SimpleWhitespace(""), comment=None)
                    statement = statement.with_changes(body=small, trailing_whitespace=trailing)
            if carried is not None:
                leading = _join(carried, statement.leading_lines)
                if at_module_start and not out:
                    while leading and _is_blank(leading[0]):
                        leading = leading[1:]
                statement = statement.with_changes(leading_lines=leading)
                carried = None
            out.append(statement)
        return out, carried or []

    def leave_Module(self, original: cst.Module, updated: cst.Module) -> cst.Module:
        body, carried = self._body(updated.body, at_module_start=True)
        if len(body) == len(updated.body) and not carried:
            return updated.with_changes(body=body)
        footer = [line for line in carried if not _is_blank(line)] + list(updated.footer)
        if not (body or footer or updated.header):
            return updated.with_changes(body=body, footer=footer, has_trailing_newline=False)  # nothing left
        return updated.with_changes(body=body, footer=footer)

    def leave_IndentedBlock(self, original: cst.IndentedBlock, updated: cst.IndentedBlock) -> cst.IndentedBlock:
        body, carried = self._body(updated.body, at_module_start=False)
        if not body:
            body = [cst.SimpleStatementLine([cst.Pass()])]  # a block must keep a statement
        footer = [line for line in carried if not _is_blank(line)] + list(updated.footer)
        return updated.with_changes(body=body, footer=footer)

    # -- decorators
    def _decorated(self, updated):
        if not updated.decorators:
            return updated
        decorators = list(updated.decorators)
        out: list[cst.Decorator] = []
        carried: list[cst.EmptyLine] | None = None
        for decorator in decorators:
            if self.decide(decorator) is REMOVE:
                self.removal.nodes.append(decorator)
                kept = _split_leading(decorator.leading_lines, self.explains)
                carried = kept if carried is None else _join(carried, kept)
                continue
            if carried is not None:
                decorator = decorator.with_changes(leading_lines=_join(carried, decorator.leading_lines))
                carried = None
            out.append(decorator)
        if len(out) == len(decorators):
            return updated
        changes: dict = {"decorators": out}
        if carried is not None:
            changes["lines_after_decorators"] = _join(carried, updated.lines_after_decorators)
        if not out:  # the first decorator's comments were the definition's leading lines
            changes["leading_lines"] = _split_leading(updated.leading_lines, self.explains)
        return updated.with_changes(**changes)

    def leave_FunctionDef(self, original, updated):
        return self._decorated(updated)

    def leave_ClassDef(self, original, updated):
        return self._decorated(updated)

    # -- elements of a dict (`env={..}`) or a list (`pytestmark = [..]`)
    def _kept(self, elements, decided) -> list:
        """The elements `decide` keeps; an element before a removed one takes its comma, so the
        layout after it stays."""
        kept = []
        for element in elements:
            if self.decide(decided(element)) is not REMOVE:
                kept.append(element)
                continue
            self.removal.nodes.append(decided(element))
            if kept:
                kept[-1] = kept[-1].with_changes(comma=element.comma)
        return kept

    def leave_Dict(self, original: cst.Dict, updated: cst.Dict) -> cst.Dict:
        kept = self._kept(updated.elements, lambda element: element)
        return updated if len(kept) == len(updated.elements) else updated.with_changes(elements=kept)

    def leave_List(self, original: cst.List, updated: cst.List) -> cst.List:
        kept = self._kept(updated.elements, lambda element: element.value)
        return updated if len(kept) == len(updated.elements) else updated.with_changes(elements=kept)


def remove(module: cst.Module, decide: Callable[[cst.CSTNode], object],
           explains: Callable[[str], bool]) -> tuple[cst.Module, Removal]:
    """The module without what `decide` returns REMOVE for (a small statement, a decorator or a
    list element; a small statement may also be replaced by returning a new one)."""
    remover = _Remover(decide, explains)
    return module.visit(remover), remover.removal


def drop_unused_imports(module: cst.Module, candidates: set[str],
                        explains: Callable[[str], bool]) -> tuple[cst.Module, list[str]]:
    """Imports of `candidates` names that nothing uses any more go (one name of a several-name
    import goes alone; an import inside a function counts as a use). Returns the module and the names whose import went."""
    used: set[str] = set()
    for statement in module.body:
        if not (isinstance(statement, cst.SimpleStatementLine)
                and all(isinstance(s, (cst.Import, cst.ImportFrom)) for s in statement.body)):
            used |= {n.value for n in _names(statement)}
    unused = candidates - used
    gone: list[str] = []

    def bound(alias: cst.ImportAlias) -> str | None:
        if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
            return alias.asname.name.value
        name = dotted(alias.name)
        return name.split(".")[0] if name else None

    def decide(node: cst.CSTNode) -> object:
        if not isinstance(node, (cst.Import, cst.ImportFrom)) or isinstance(node.names, cst.ImportStar):
            return None
        kept = [a for a in node.names if bound(a) not in unused]
        if len(kept) == len(node.names):
            return None
        gone.extend(bound(a) for a in node.names if bound(a) in unused)
        if not kept:
            return REMOVE
        kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        return node.with_changes(names=kept)

    new, _ = remove(module, decide, explains)
    return new, gone
