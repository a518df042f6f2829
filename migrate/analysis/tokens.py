"""Where a `Python` token is in scope, and the small type facts that decide it.

Shared by the codemods that must write `clone_ref(py)` or `get_or_init_py_attached(py, ..)`:
a token is a `py: Python` parameter or binding, a `with_gil`/`attach` closure's parameter, or
`x.py()` on a bound object; shadowing by patterns, closures and `let`s is followed.
"""

from __future__ import annotations

from tree_sitter import Node

from migrate.analysis import rust

COMMENTS = ("line_comment", "block_comment")

TOKEN_SCOPES = {"with_gil", "attach"}  # Python::with_gil(|py| ..) / Python::attach(|py| ..)
DETACHING = {"allow_threads", "detach", "spawn", "spawn_blocking"}  # closures that may not use a token
BOUND_LIKE = {"Bound", "Borrowed", "PyRef", "PyRefMut"}  # `x.py()` gives a token


def last_segment(source: bytes, node: Node) -> str:
    if node.type in ("scoped_type_identifier", "scoped_identifier"):
        name = node.child_by_field_name("name")
        return rust.text(source, name) if name is not None else ""
    return rust.text(source, node)


def python_type(source: bytes, node: Node | None) -> bool:
    if node is None:
        return False
    if node.type == "generic_type":
        node = node.child_by_field_name("type")
    return node is not None and node.type in ("type_identifier", "scoped_type_identifier") and last_segment(
        source, node
    ) == "Python"


def bound_like(source: bytes, node: Node | None) -> bool:
    if node is not None and node.type == "reference_type":
        node = node.child_by_field_name("type")
    if node is None or node.type != "generic_type":
        return False
    head = node.child_by_field_name("type")
    return head is not None and last_segment(source, head) in BOUND_LIKE


def is_py_call(source: bytes, value: Node | None) -> bool:
    """`x.py()`: a token taken from a bound object."""
    if value is None or value.type != "call_expression":
        return False
    function = value.child_by_field_name("function")
    args = value.child_by_field_name("arguments")
    return (
        function is not None
        and function.type == "field_expression"
        and rust.text(source, function.child_by_field_name("field")) == "py"
        and args is not None
        and not args.named_children
    )


def simple_name(pattern: Node | None) -> Node | None:
    if pattern is not None and pattern.type == "mut_pattern" and pattern.named_children:
        pattern = pattern.named_children[-1]
    return pattern if pattern is not None and pattern.type == "identifier" else None


def pattern_names(source: bytes, pattern: Node | None) -> set[str]:
    if pattern is None:
        return set()
    names = set()
    for node in rust.walk(pattern):
        if node.type in ("identifier", "shorthand_field_identifier") and not (
            node.parent is not None and node.parent.type in ("scoped_identifier", "tuple_struct_pattern")
            and node.parent.child_by_field_name("type") is not None
            and node.parent.child_by_field_name("type").id == node.id
        ):
            names.add(rust.text(source, node))
    return names


def closure_params(closure: Node) -> list[Node]:
    params = closure.child_by_field_name("parameters")
    return [c for c in params.named_children if c.type not in COMMENTS] if params is not None else []


def call_name(source: bytes, call: Node) -> tuple[str, str | None]:
    """(function or method name, path head) of a call: `Python::with_gil` -> ("with_gil", "Python")."""
    function = call.child_by_field_name("function")
    if function is None:
        return "", None
    if function.type == "scoped_identifier":
        path = function.child_by_field_name("path")
        return last_segment(source, function), (last_segment(source, path) if path is not None else None)
    if function.type == "field_expression":
        return rust.text(source, function.child_by_field_name("field")), None
    if function.type == "identifier":
        return rust.text(source, function), None
    return "", None


def enclosing_call(closure: Node) -> Node | None:
    parent = closure.parent
    if parent is not None and parent.type == "arguments" and parent.parent is not None:
        return parent.parent
    return None


def python_token(source: bytes, use: Node) -> str | None:
    """A `Python` token usable at `use`: `py`, or `slf.py()`; None when none is certain."""
    shadowed: set[str] = set()
    prev = use
    for a in rust.ancestors(use):
        kind = a.type
        if kind == "block":
            lets = [c for c in a.named_children if c.type == "let_declaration" and c.end_byte <= use.start_byte]
            for let in reversed(lets):
                pattern = let.child_by_field_name("pattern")
                simple = simple_name(pattern)
                if simple is not None and rust.text(source, simple) not in shadowed:
                    value = let.child_by_field_name("value")
                    if python_type(source, let.child_by_field_name("type")) or is_py_call(source, value):
                        return rust.text(source, simple)
                shadowed |= pattern_names(source, pattern)
        elif kind == "closure_expression":
            call = enclosing_call(a)
            params = closure_params(a)
            if call is not None:
                name, head = call_name(source, call)
                if name in TOKEN_SCOPES and head == "Python" and len(params) == 1:
                    param = params[0]
                    pattern = param.child_by_field_name("pattern") if param.type == "parameter" else param
                    simple = simple_name(pattern)
                    if simple is not None and rust.text(source, simple) not in shadowed:
                        return rust.text(source, simple)
                    return None
                if name in DETACHING:
                    return None
            for param in params:
                pattern = param.child_by_field_name("pattern") if param.type == "parameter" else param
                shadowed |= pattern_names(source, pattern)
        elif kind == "function_item":
            params = a.child_by_field_name("parameters")
            candidates = [p for p in params.named_children if p.type == "parameter"] if params is not None else []
            for param in candidates:
                simple = simple_name(param.child_by_field_name("pattern"))
                if simple is not None and python_type(source, param.child_by_field_name("type")):
                    written = rust.text(source, simple)
                    return written if written not in shadowed else None
            for param in candidates:
                simple = simple_name(param.child_by_field_name("pattern"))
                if simple is not None and bound_like(source, param.child_by_field_name("type")):
                    written = rust.text(source, simple)
                    if written not in shadowed:
                        return f"{written}.py()"
            return None
        elif kind == "match_arm":
            shadowed |= pattern_names(source, a.child_by_field_name("pattern"))
        elif kind == "for_expression":
            shadowed |= pattern_names(source, a.child_by_field_name("pattern"))
        elif kind in ("if_expression", "while_expression"):
            condition = a.child_by_field_name("condition")
            if condition is not None and prev.id != condition.id:
                for let in [d for d in rust.walk(condition) if d.type == "let_condition"]:
                    shadowed |= pattern_names(source, let.child_by_field_name("pattern"))
        elif kind in ("impl_item", "trait_item", "mod_item", "source_file"):
            return None
        prev = a
    return None
