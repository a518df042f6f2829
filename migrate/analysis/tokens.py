"""Where a `Python` token is in scope, and the small type facts that decide it.

Shared by the codemods that must write `clone_ref(py)` or `get_or_init_py_attached(py, ..)`:
a token is a `py: Python` parameter or binding, a `with_gil`/`attach` closure's parameter, or
`x.py()` on a bound object; shadowing by patterns, closures and `let`s is followed.
"""

from __future__ import annotations

from tree_sitter import Node

from pyo3_migrate.analysis import rust
from pyo3_migrate.analysis.cells import arguments
from pyo3_migrate.core.model import Edit

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



# ------------------------------------------------------------------------------ token edits


_ATTACHING = {"with_gil", "attach"}


def insert_token(source: bytes, args: Node, values: list[Node], token: str) -> Edit:
    """`f(a)` -> `f(py, a)`; `f()` -> `f(py)`; a first argument on a line of its own gets a line too."""
    if not values:
        return Edit(args.start_byte + 1, args.start_byte + 1, token.encode())
    first = values[0]
    if b"\n" in source[args.start_byte + 1 : first.start_byte]:
        indent = rust.indent_at(source, first.start_byte)
        return Edit(first.start_byte, first.start_byte, token.encode() + b"," + rust.line_ending(source) + indent)
    return Edit(first.start_byte, first.start_byte, token.encode() + b", ")


def _closure_param_nodes(closure: Node) -> list[Node]:
    params = closure.child_by_field_name("parameters")
    if params is None:
        return []
    return [c for c in params.children if c.type not in ("|", ",") + COMMENTS]


def _param_name(source: bytes, param: Node) -> str | None:
    if param.type == "_":
        return "_"
    if param.type == "parameter":
        param = param.child_by_field_name("pattern")
    if param is not None and param.type == "identifier":
        return rust.text(source, param)
    return None


def attaching_call(source: bytes, node: Node) -> Node | None:
    """`Python::with_gil(|py| ..)` / `Python::attach(|py| ..)` (also `pyo3::Python::..`): its closure."""
    if node.type != "call_expression":
        return None
    function = node.child_by_field_name("function")
    args = node.child_by_field_name("arguments")
    if function is None or function.type != "scoped_identifier" or args is None:
        return None
    segments = rust.path_segments(source, function)
    if len(segments) < 2 or segments[-1] not in _ATTACHING or segments[-2] != "Python":
        return None
    values = arguments(args)
    if len(values) != 1 or len(args.named_children) != 1 or values[0].type != "closure_expression":
        return None
    return values[0]


def unwrap_attach(source: bytes, closure: Node, token: str) -> Edit | None:
    """`|| Python::with_gil(|py| body)` -> `|| body` when `py` is the token (or unused in body).

    A block around the wrapper stays unless the wrapper's own body is a block (no `{ { .. } }`).
    """
    if closure.type != "closure_expression" or _closure_param_nodes(closure):
        return None
    body = closure.child_by_field_name("body")
    if body is None:
        return None
    call = body
    if body.type == "block":
        inner = body.named_children
        if len(inner) != 1:
            return None  # more statements, or a comment that would be lost
        call = inner[0]
    inner_closure = attaching_call(source, call)
    if inner_closure is None or inner_closure.child_by_field_name("return_type") is not None:
        return None
    if any(c.type == "move" for c in inner_closure.children) and not any(c.type == "move" for c in closure.children):
        return None
    params = _closure_param_nodes(inner_closure)
    name = _param_name(source, params[0]) if len(params) == 1 else None
    inner_body = inner_closure.child_by_field_name("body")
    if name is None or inner_body is None:
        return None
    if name not in ("_", token) and any(
        n.type == "identifier" and rust.text(source, n) == name for n in rust.walk(inner_body)
    ):
        return None  # the body names the attach closure's own token: keep the wrapper
    text = source[inner_body.start_byte : inner_body.end_byte]
    if body.type == "block" and inner_body.type != "block":
        return Edit(call.start_byte, call.end_byte, text)  # `{ Python::attach(|py| e) }` -> `{ e }`
    return Edit(body.start_byte, body.end_byte, _dedent(source, body, call, inner_body, text))


def _dedent(source: bytes, body: Node, call: Node, inner_body: Node, text: bytes) -> bytes:
    """Move a body that sat one level deeper (its wrapper had a line of its own) back out."""
    if rust.line_start(source, call.start_byte) == rust.line_start(source, body.start_byte):
        return text
    outer = rust.indent_at(source, body.start_byte)
    inner = rust.indent_at(source, call.start_byte)
    if not inner.startswith(outer) or len(inner) == len(outer):
        return text
    if any(n.type in ("string_literal", "raw_string_literal") and b"\n" in source[n.start_byte : n.end_byte]
           for n in rust.walk(inner_body)):
        return text  # a string across lines: its content must not move
    delta = inner[len(outer):]
    lines = text.split(b"\n")
    if not all(line.startswith(delta) or not line.strip() for line in lines[1:]):
        return text
    return b"\n".join([lines[0]] + [line[len(delta):] if line.startswith(delta) else line for line in lines[1:]])


def _token_binding(source: bytes, token: Node) -> tuple[Node, Node, int] | None:
    """What binds token's name: (the identifier a `let`, fn or closure parameter binds, the node
    it is seen in, and the byte from which on), or None for any other binding."""
    name = rust.text(source, token)
    for a in rust.ancestors(token):
        if a.type == "block":
            lets = [c for c in a.named_children if c.type == "let_declaration" and c.end_byte <= token.start_byte]
            for let in reversed(lets):
                pattern = let.child_by_field_name("pattern")
                if pattern is not None and pattern.type == "identifier" and rust.text(source, pattern) == name:
                    return pattern, a, let.end_byte
            continue
        if a.type not in ("closure_expression", "function_item"):
            continue
        params = a.child_by_field_name("parameters")
        for param in params.named_children if params is not None else []:
            pattern = param.child_by_field_name("pattern") if param.type == "parameter" else param
            if pattern is not None and pattern.type == "identifier" and rust.text(source, pattern) == name:
                body = a.child_by_field_name("body")
                return (pattern, body, body.start_byte) if body is not None else None
        if a.type == "function_item":
            return None
    return None


def unused_token_renames(source: bytes, dropped: list[Node]) -> list[Edit]:
    """A `py` (parameter or `let`) whose every mention was an argument std's `OnceLock` does not
    take becomes `_py`: the crate then builds without an unused-variable warning. Any other mention
    of the name where it is seen (a shadowing `let`, a macro, another call) keeps it as it is."""
    dropped_per_binding: dict[int, tuple[Node, Node, int, int]] = {}
    for token in dropped:
        found = _token_binding(source, token) if token.type == "identifier" else None
        if found is not None:
            ident, scope, start = found
            count = dropped_per_binding.get(ident.id, (ident, scope, start, 0))[3]
            dropped_per_binding[ident.id] = (ident, scope, start, count + 1)
    edits = []
    for ident, scope, start, count in dropped_per_binding.values():
        name = rust.text(source, ident)
        mentions = sum(
            1 for n in rust.walk(scope) if n.type == "identifier" and n.start_byte >= start and rust.text(source, n) == name
        )
        if mentions == count and not name.startswith("_"):
            edits.append(Edit(ident.start_byte, ident.end_byte, f"_{name}".encode()))
    return edits
