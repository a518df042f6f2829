"""utf8-error: `?` on a UTF-8/UTF-16 decoding error where it becomes a `PyErr` (0.29 removed the `From`).

What it does
    Up to PyO3 0.28, `PyErr` implemented `From<Utf8Error>` and `From<FromUtf16Error>`, so a `?` on
    `std::str::from_utf8(..)` or `String::from_utf16(..)` in a function returning `PyResult` raised
    a Python `UnicodeDecodeError` carrying the error's message. PyO3 0.29 removed those
    conversions. Where the `?` hands its error to a `PyErr`, the conversion is written out, with
    the same exception and message as before:

        std::str::from_utf8(bytes)?
        ->
        std::str::from_utf8(bytes).map_err(|e| pyo3::exceptions::PyUnicodeDecodeError::new_err(e.to_string()))?

    The behaviour is PyO3's to the letter, quirk included: Python cannot build a
    `UnicodeDecodeError` from one message, so the caller sees a `TypeError`, before and after.
    `PyUnicodeDecodeError::new_utf8(py, bytes, err)` raises a proper one: a person's choice, as it
    changes what callers catch.

    The `?` hands its error to a `PyErr` when the function around
    it returns `PyResult`, or the closure around it is declared `-> PyResult<..>` or is mapped
    over and collected `::<PyResult<..>>`.

What it will not do
    - A `?` whose error goes anywhere else (an `anyhow::Result`, a closure of unknown type) is
      left alone: it never needed PyO3's conversion.
    - `String::from_utf8` (its `FromUtf8Error` conversion was not removed) is left alone.

Fix safety
    Safe: the same exception type and arguments as PyO3's removed conversion, so the same outcome.
"""

from __future__ import annotations

from tree_sitter import Node

from pyo3_migrate.analysis import rust
from pyo3_migrate.analysis.errors import reaches_pyerr
from pyo3_migrate.core.codemod import GUIDE, Codemod, CodemodInfo, Context
from pyo3_migrate.core.model import Edit, Safety
from pyo3_migrate.core.version import V0_28, V0_29

INFO = CodemodInfo(
    id="utf8-error",
    summary="`?` on `str::from_utf8`/`String::from_utf16` into a PyErr -> an explicit UnicodeDecodeError (>= 0.28)",
    language="rust",
    safety=Safety.SAFE,
    min_target=V0_28,
    max_target=None,
    guide=f"{GUIDE}#from-028-to-029",
    docs=__doc__.strip(),
    triggers=("from_utf8", "from_utf16"),
    removes_at=V0_29,
)

# The decoding functions whose error type lost its `From` impl for `PyErr` (written paths' tails).
DECODERS = {("str", "from_utf8"), ("str", "from_utf8_mut"), ("String", "from_utf16")}
CONVERSION = ".map_err(|e| pyo3::exceptions::PyUnicodeDecodeError::new_err(e.to_string()))"
def _decoder_call(ctx: Context, name: Node) -> Node | None:
    """`std::str::from_utf8(..)` -> the call node, when name is the last segment of such a path."""
    path = name.parent
    if path is None or path.type != "scoped_identifier" or not rust.is_child(path, "name", name):
        return None
    segments = rust.path_segments(ctx.source, path)
    call = path.parent
    if len(segments) < 2 or tuple(segments[-2:]) not in DECODERS:
        return None
    if call is None or call.type != "call_expression" or not rust.is_child(call, "function", path):
        return None
    return call


class Utf8ErrorCodemod(Codemod):
    info = INFO

    def transform(self, ctx: Context) -> None:
        edits = []
        for name in rust.spelled(ctx.source, ctx.tree.root_node, ["from_utf8", "from_utf8_mut", "from_utf16"]):
            call = _decoder_call(ctx, name)
            question = call.parent if call is not None else None
            if question is None or question.type != "try_expression" or rust.in_macro(call) is not None:
                continue
            if reaches_pyerr(ctx.source, question):
                edits.append(Edit(call.end_byte, call.end_byte, CONVERSION.encode()))
        ctx.fix("`?` on a decoding error -> an explicit UnicodeDecodeError", edits)


CODEMOD = Utf8ErrorCodemod()
