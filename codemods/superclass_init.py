"""superclass-init: a `#[new]` returning `(Self, Base)` -> `PyClassInitializer::from(base).add_subclass(this)` (0.29).

What it does
    A subclass's constructor could return a tuple of itself and its base class; PyO3 0.29
    deprecated that form. The tuple becomes the initializer PyO3 built from it:

        #[new]                                  #[new]
        fn new() -> (Self, PyDecoder) {   ->    fn new() -> PyClassInitializer<Self> {
            (PyFuse {}, Fuse::new().into())               PyClassInitializer::from(PyDecoder::from(Fuse::new())).add_subclass(PyFuse {})
        }                                             }

    A subclass value that runs code (a call) is bound first, `{ let subclass = ..; .. }`, so that
    it still runs before the base's, as in the tuple. `-> PyResult<(Self, Base)>` with
    `Ok((this, base))` likewise, at each return of the function. A base written `x.into()` (the
    tuple's type told it what to become) is written `Base::from(x)`. `PyClassInitializer` is written with a
    `pyo3::` path when the file does not import it.

What it will not do
    - A constructor whose tuple is not written where it is returned (`let pair = (..); pair`, a
      helper's result) is reported.

Fix safety
    Safe: the same initializer PyO3 made from the tuple (`From<(S, B)> for PyClassInitializer<S>`).
"""

from __future__ import annotations

from tree_sitter import Node

from pyo3_migrate.analysis import rust
from pyo3_migrate.analysis.attributes import attributes_before
from pyo3_migrate.analysis.names import pyo3_spelling
from pyo3_migrate.analysis.rust import FileIndex
from pyo3_migrate.core.codemod import GUIDE, Codemod, CodemodInfo, Context
from pyo3_migrate.core.model import Edit, Safety
from pyo3_migrate.core.version import V0_29

INFO = CodemodInfo(
    id="superclass-init",
    summary="a `#[new]` returning `(Self, Base)` -> `PyClassInitializer::from(base).add_subclass(..)` (>= 0.29)",
    language="rust",
    safety=Safety.SAFE,
    min_target=V0_29,
    max_target=None,
    guide=f"{GUIDE}#from-028-to-029",
    docs=__doc__.strip(),
    triggers=("#[new]",),
)



def _pair_type(source: bytes, written: Node | None) -> tuple[Node, bool] | None:
    """`(Self, Base)` or `PyResult<(Self, Base)>` -> (the tuple type node, wrapped in a Result)."""
    if written is None:
        return None
    if written.type == "tuple_type":
        types = written.named_children
        return (written, False) if len(types) == 2 and rust.text(source, types[0]) == "Self" else None
    if written.type == "generic_type" and rust.text(source, written.child_by_field_name("type")).endswith("PyResult"):
        args = written.child_by_field_name("type_arguments")
        inner = args.named_children if args is not None else []
        if len(inner) == 1 and _pair_type(source, inner[0]) is not None:
            return inner[0], True
    return None


def _returned_values(body: Node) -> list[Node]:
    """The expressions the function hands back: its tail and each `return x` (not inside closures)."""
    values = []
    named = [c for c in body.named_children if c.type not in ("line_comment", "block_comment")]
    if named and named[-1].type != "expression_statement":
        values.append(named[-1])
    for node in rust.walk(body):
        if node.type == "return_expression" and not any(a.type == "closure_expression" for a in rust.ancestors(node)
                                                        if a.start_byte >= body.start_byte):
            if node.named_children:
                values.append(node.named_children[0])
    return values


def _tails(value: Node) -> list[Node]:
    """Where an expression's value comes from: `if`/`match` arms and blocks lead to their tails."""
    if value.type == "block":
        named = [c for c in value.named_children if c.type not in ("line_comment", "block_comment")]
        return _tails(named[-1]) if named and named[-1].type != "expression_statement" else [value]
    if value.type == "if_expression":
        out = _tails(value.child_by_field_name("consequence"))
        alternative = value.child_by_field_name("alternative")
        return out + (_tails(alternative.named_children[0]) if alternative is not None and alternative.named_children else [])
    if value.type == "match_expression":
        arms = value.child_by_field_name("body")
        return [t for arm in (arms.named_children if arms is not None else []) if arm.type == "match_arm"
                for t in _tails(arm.child_by_field_name("value"))]
    return [value]


def _pair_in(source: bytes, value: Node, wrapped: bool) -> Node | None:
    """`(a, b)`, or `Ok((a, b))` when wrapped: the tuple expression."""
    if wrapped:
        if value.type != "call_expression" or rust.text(source, value.child_by_field_name("function")) != "Ok":
            return None
        args = value.child_by_field_name("arguments").named_children
        if len(args) != 1:
            return None
        value = args[0]
    return value if value.type == "tuple_expression" and len(value.named_children) == 2 else None


def _typed(ctx: Context, base: Node, base_type: str) -> str:
    """The base value, its type written where the tuple's type was what `.into()` converted to:
    `x.into()` -> `Base::from(x)`."""
    function = base.child_by_field_name("function") if base.type == "call_expression" else None
    args = base.child_by_field_name("arguments")
    if function is not None and function.type == "field_expression" and ctx.text(function.child_by_field_name("field")) \
            == "into" and args is not None and not args.named_children:
        return f"{base_type}::from({ctx.text(function.child_by_field_name('value'))})"
    return ctx.text(base)


_PLAIN = {"identifier", "scoped_identifier", "self", "integer_literal", "float_literal", "string_literal",
          "boolean_literal", "char_literal", "unit_expression"}


def _plain(expr: Node) -> bool:
    """An expression that runs nothing: a name, a literal, a struct of those (`Self {}`, `Foo { a: 1 }`)."""
    if expr.type in _PLAIN:
        return True
    if expr.type == "field_expression":
        return _plain(expr.child_by_field_name("value"))
    if expr.type == "struct_expression":
        body = expr.child_by_field_name("body")
        fields = [f for f in body.named_children if f.type not in ("line_comment", "block_comment")] if body else []
        return all(f.type == "shorthand_field_initializer" or (
            f.type == "field_initializer" and _plain(f.child_by_field_name("value"))) for f in fields)
    return False


class SuperclassInitCodemod(Codemod):
    info = INFO

    def transform(self, ctx: Context) -> None:
        if b"#[new]" not in ctx.source:
            return
        index = FileIndex.build(ctx.source)
        edits: list[Edit] = []
        for fn in rust.tree_nodes(ctx.tree, ("function_item",)):
            if not any(ctx.text(a).replace(" ", "") == "#[new]" for a in attributes_before(fn)):
                continue
            found = _pair_type(ctx.source, fn.child_by_field_name("return_type"))
            body = fn.child_by_field_name("body")
            if found is None or body is None:
                continue
            pair_type, wrapped = found
            pairs = [_pair_in(ctx.source, t, wrapped) for v in _returned_values(body) for t in _tails(v)]
            if not pairs or any(p is None for p in pairs):
                ctx.finding(fn, "a `#[new]` returning `(Self, Base)` whose tuple is not written where it is returned: "
                            "return `PyClassInitializer::from(base).add_subclass(this)` by hand (0.29 deprecated "
                            "the tuple)")
                continue
            init = pyo3_spelling(index, fn, "PyClassInitializer")
            edits.append(Edit(pair_type.start_byte, pair_type.end_byte, f"{init}<Self>".encode()))
            base_type = ctx.text(pair_type.named_children[1])
            for pair in pairs:
                this, base = pair.named_children
                made = f"{init}::from({_typed(ctx, base, base_type)}).add_subclass"
                if _plain(this):  # nothing to run: the base may go first
                    text = f"{made}({ctx.text(this)})"
                else:  # the subclass's value first, as the tuple evaluated it
                    text = f"{{ let subclass = {ctx.text(this)}; {made}(subclass) }}"
                edits.append(Edit(pair.start_byte, pair.end_byte, text.encode()))
        ctx.fix("`(Self, Base)` -> `PyClassInitializer::from(base).add_subclass(..)`", edits)


CODEMOD = SuperclassInitCodemod()
