"""py-clone: stop relying on `Clone for Py<T>` (PyO3's `py-clone` feature); clone with `clone_ref(py)`.

What it does
    Since PyO3 0.22, `impl Clone for Py<T>` exists only with the `py-clone` cargo feature, and it
    panics when called while the thread is not attached to the interpreter. Two shapes move off it:

    - `#[derive(Clone)]` on a struct (or `#[pyclass]`) holding `Py<_>`/`PyObject` fields, an
      `Option<Py<_>>`/`Vec<Py<_>>`, a `GILOnceCell<Py<_>>`/`PyOnceLock<Py<_>>` cache or a std
      `OnceLock<Py<_>>`/`OnceCell<Py<_>>` cache: `Clone` leaves the derive list (the whole
      `#[derive()]` goes when it empties) and a hand-written `impl Clone` follows the struct. It
      attaches (`Python::attach` for targets >= 0.26, `Python::with_gil` below), `clone_ref(py)`s
      each `Py` and PyO3 cell field, clones the content of std cells, `Option`s and `Vec`s with
      `clone_ref(py)`, copies primitives and shared references, and `.clone()`s every other
      field. `#[cfg(..)]` attributes of fields move
      to their initialisers (and those of the struct to the impl); generics, lifetimes and the
      `where` clause carry over, with the `T: Clone` bounds `derive` would have added. Tuple
      structs get `Self(self.0.clone_ref(py), self.1.clone())`.
    - `x.clone()` where the declarations say `x` is a `Py<_>`/`PyObject` (a parameter, a typed
      local, a closure parameter, `self.field`, `other.field` of a known struct; `&Py<_>` too, and
      each item of a declared `Vec<Py<_>>` in `xs.iter().map(|x| ..)` (also `for_each`, `any`,
      `all`, `filter_map`, `flat_map`, `find_map`) or `for x in xs.iter()`):
      it becomes `x.clone_ref(py)` when a `Python` token is in scope: a `py: Python<'_>`
      parameter, the parameter of a `Python::with_gil(|py| ..)`/`Python::attach(|py| ..)`
      closure, a `let py = obj.py();`, or else `slf.py()` for a `Bound`/`Borrowed`/`PyRef`/
      `PyRefMut` parameter `slf`. An `Option<Py<_>>` becomes `x.as_ref().map(|v| v.clone_ref(py))`,
      a `Vec<Py<_>>` `x.iter().map(|v| v.clone_ref(py)).collect::<Vec<_>>()`, and `.cloned()` of
      an `Option<&Py<_>>` (`cell.get(py)`, `vec.first()`) or of `vec.iter()` becomes
      `.map(|v| v.clone_ref(py))`. `.to_owned()` of a `Py` is a clone too.

    A companion codemod, `py-clone-feature`, then drops the feature from the manifests once no
    `Py::clone` is left in the project.

Example
    #[pyclass]                                #[pyclass]
    #[derive(Clone)]                          struct Point {
    struct Point {                                label: Py<PyAny>,
        label: Py<PyAny>,             ->          x: f64,
        x: f64,                               }
    }
                                              impl Clone for Point {
    fn label(&self, py: Python<'_>)               fn clone(&self) -> Self {
        -> Py<PyAny> {                                Python::attach(|py| Self {
        self.label.clone()                                label: self.label.clone_ref(py),
    }                                                     x: self.x,
                                                      })
                                                  }
                                              }

                                              fn label(&self, py: Python<'_>) -> Py<PyAny> {
                                                  self.label.clone_ref(py)
                                              }

What it will not do
    - A `.clone()` whose receiver's type the declarations do not give (`points.first().unwrap()
      .label.clone()`, an untyped `let`, a `for` binding) is left alone; when it names a field
      that some struct of the crate declares as `Py<_>` it is reported, and counts as a remaining
      `Py::clone` (the feature stays).
    - A `Py` clone with no `Python` token in scope is reported, not rewritten (a method of
      `#[pymethods]` can take a `py: Python<'_>` parameter without changing its Python signature).
      No token is borrowed across a `detach`/`allow_threads`/`spawn` closure.
    - `Arc<Py<_>>`, `Rc<Py<_>>` and references to `Py` are not `Py` clones: untouched.
    - A derive over other containers of `Py` (`HashMap<_, Py<_>>`, tuples, arrays, `Box<Py<_>>`),
      a tuple struct with `#[cfg]`-gated fields, `derive(Clone)` on an enum, inside
      `cfg_attr(..)` or inside a macro: reported, not rewritten. A hand-written `impl Clone` is
      never replaced (one that leaves a cache empty on purpose stays so).
    - A crate that defines a type of its own named `Py` or `PyObject` is not trusted with those
      names anywhere: nothing is rewritten for them.
    - Mentions inside macro invocations are token trees: a `name.clone()` there whose `name` is
      declared `Py` somewhere is reported, never edited.
    - A crate that already builds with the `py-clone` feature keeps it without a word for each
      clone this codemod cannot rewrite (they compile; the feature is its author's choice): name
      the codemod (`--codemod py-clone`) to list them.

Fix safety
    The derive replacement is unsafe (applied with `--unsafe`, listed otherwise): a change in
    behaviour, cloning such a struct now attaches to the interpreter (and may block while
    another thread holds the GIL on GIL-enabled builds) where it used to panic when detached.
    The `.clone()` -> `.clone_ref(py)` rewrite is safe: with a token in scope the thread is
    attached, and both increment the reference count at once.
"""

from __future__ import annotations

from pathlib import Path

from tree_sitter import Node

from pyo3_migrate.analysis import rust
from pyo3_migrate.analysis.attributes import attributes_before
from pyo3_migrate.analysis.names import glob_provides
from pyo3_migrate.analysis.pytypes import (
    CELL,
    CLONE_WORDS,
    CLONED,
    NESTED,
    OPTION,
    PY,
    PY_ISH,
    STD_CELL,
    VEC,
    CloneSite,
    DeriveSite,
    Field,
    FileSurvey,
    Site,
    Survey,
    attribute_parts,
    survey,
    survey_file,
)
from pyo3_migrate.analysis.rust import FileIndex
from pyo3_migrate.analysis.tokens import last_segment
from pyo3_migrate.core.codemod import GUIDE, Codemod, CodemodInfo, Context, Snapshot
from pyo3_migrate.core.model import Edit, Safety
from pyo3_migrate.core.project import Crate, Project
from pyo3_migrate.core.version import V0_22, V0_22_3, V0_26

_COMMENTS = ("line_comment", "block_comment")

INFO = CodemodInfo(
    id="py-clone",
    summary="derive(Clone) over Py fields -> impl Clone with clone_ref(py); Py .clone() -> .clone_ref(py)",
    language="rust",
    safety=Safety.UNSAFE,
    min_target=V0_22,
    max_target=None,
    guide=f"{GUIDE}#pyclone-is-now-gated-behind-the-py-clone-feature",
    docs=__doc__.strip(),
    triggers=tuple(word.decode() for word in CLONE_WORDS),
    # a clone site in a file that does not spell `Py` goes through an alias or a field the survey
    # finds elsewhere: such a file is parsed only then
    parses=lambda source: b"Py" in source and any(word in source for word in CLONE_WORDS),
)

# ----------------------------------------------------------------------------------------- fixes


def _remove_derive_item(source: bytes, d: DeriveSite) -> Edit:
    items = d.items
    if len(items) == 1:
        start, end = rust.whole_lines(source, d.attribute.start_byte, d.attribute.end_byte)
        if (start, end) == (d.attribute.start_byte, d.attribute.end_byte):
            # shares its line: the spaces after it go too (`#[derive(Clone)] pub struct` -> `pub struct`,
            # `#[derive(Clone)] // why` -> `// why`)
            end = len(source) - len(source[end:].lstrip(b" \t"))
        return Edit(start, end, b"")
    own_line = _own_line(source, d.clone_item)
    if own_line is not None:  # `Clone, // why` alone on its line: the line goes, its comment with it
        return Edit(own_line[0], own_line[1], b"")
    index = next(i for i, item in enumerate(items) if item is d.clone_item)
    first, last = d.clone_item[0], d.clone_item[-1]
    if index + 1 < len(items):  # `Clone, Debug` -> `Debug`
        return Edit(first.start_byte, items[index + 1][0].start_byte, b"")
    # the last item: from the end of the previous one (`Debug, Clone` -> `Debug`; a trailing comma stays)
    return Edit(items[index - 1][-1].end_byte, last.end_byte, b"")


def _own_line(source: bytes, tokens: list[Node]) -> tuple[int, int] | None:
    """The whole line of a derive item written alone on it (with its comma and comments), else None."""
    start = rust.line_start(source, tokens[0].start_byte)
    line_end = source.find(b"\n", tokens[-1].end_byte)
    if line_end == -1 or source[start : tokens[0].start_byte].strip():
        return None
    end = tokens[-1].end_byte
    node = tokens[-1].next_sibling
    while node is not None and node.start_byte < line_end:
        if node.type != "," and node.type not in _COMMENTS:
            return None  # another item (or the closing parenthesis) shares the line
        end = max(end, node.end_byte)
        node = node.next_sibling
    if end <= line_end and source[end:line_end].strip():
        return None
    return start, max(end, line_end + 1)


def _has_clone_bound(source: bytes, bounds: Node | None) -> bool:
    return bounds is not None and any(
        c.type in ("type_identifier", "scoped_type_identifier") and last_segment(source, c) == "Clone"
        for c in bounds.named_children
    )


def _impl_generics(source: bytes, struct: Node) -> tuple[str, str]:
    """(`<'a, T: Bound + Clone>`, `<'a, T>`) for the impl of a struct's generics."""
    params = struct.child_by_field_name("type_parameters")
    if params is None:
        return "", ""
    declared, used = [], []
    for p in params.named_children:
        if p.type in ("lifetime_parameter", "lifetime"):
            declared.append(rust.text(source, p))
            name = p.child_by_field_name("name") if p.type == "lifetime_parameter" else p
            used.append(rust.text(source, name if name is not None else p))
        elif p.type == "type_parameter":
            name = rust.text(source, p.child_by_field_name("name"))
            bounds = p.child_by_field_name("bounds")
            written = rust.text(source, bounds).lstrip(":").strip() if bounds is not None else ""
            if _has_clone_bound(source, bounds):
                declared.append(f"{name}: {written}")
            else:
                declared.append(f"{name}: {written} + Clone" if written else f"{name}: Clone")
            used.append(name)
        elif p.type == "const_parameter":
            name = rust.text(source, p.child_by_field_name("name"))
            declared.append(f"const {name}: {rust.text(source, p.child_by_field_name('type'))}")
            used.append(name)
        elif p.type not in _COMMENTS:
            raise ValueError(f"generic parameter {p.type}")
    return f"<{', '.join(declared)}>", f"<{', '.join(used)}>"


def _initialiser(f: Field, attach_token: str) -> str:
    this = f"self.{f.name}"
    py = attach_token
    if f.kind in (PY, CELL):
        return f"{this}.clone_ref({py})"
    if f.kind == STD_CELL:
        return f"{this}.get().map(|v| v.clone_ref({py}).into()).unwrap_or_default()"
    if f.kind == OPTION:
        return f"{this}.as_ref().map(|v| v.clone_ref({py}))"
    if f.kind == VEC:
        return f"{this}.iter().map(|v| v.clone_ref({py})).collect()"
    if f.type_node.type == "primitive_type" or (
        f.type_node.type == "reference_type" and not any(c.type == "mutable_specifier" for c in f.type_node.children)
    ):
        return this  # a shared reference or a primitive: a copy (what its `clone` does)
    return f"{this}.clone()"


def _derive_fix(ctx: Context, sv: Survey, fs: FileSurvey, d: DeriveSite) -> None:
    source = ctx.source
    struct = d.struct
    name = rust.text(source, struct.child_by_field_name("name"))
    if ctx.target < V0_22_3 and any(f.kind == CELL for f in d.fields):
        ctx.finding(d.attribute, f"`derive(Clone)` on `{name}`: cell `clone_ref` needs PyO3 >= 0.22.3")
        return
    try:
        generics, args = _impl_generics(source, struct)
    except ValueError:
        ctx.finding(d.attribute, f"`derive(Clone)` on `{name}` over `Py` fields: generics not understood, port by hand")
        return
    eol = rust.line_ending(source).decode()
    indent = rust.indent_at(source, struct.start_byte).decode()
    body = struct.child_by_field_name("body")
    unit = "    "
    first_field = next((c for c in body.named_children if c.type == "field_declaration"), None) if body else None
    if first_field is not None and b"\n" in source[body.start_byte : first_field.start_byte]:
        field_indent = rust.indent_at(source, first_field.start_byte).decode()
        if field_indent.startswith(indent) and len(field_indent) > len(indent):
            unit = field_indent[len(indent):]
    python = _python_path(fs.index, struct)
    attach = "attach" if ctx.target >= V0_26 else "with_gil"
    i1, i2, i3 = indent + unit, indent + unit * 2, indent + unit * 3
    lines = [f"{indent}{cfg}" for cfg in _struct_cfgs(source, struct)]
    where = struct.child_by_field_name("where_clause") or next(
        (c for c in struct.named_children if c.type == "where_clause"), None
    )
    head = f"{indent}impl{generics} Clone for {name}{args}"
    if where is None:
        lines.append(head + " {")
    else:
        written = rust.text(source, where).rstrip()
        if "\n" in written:
            lines += [head, f"{indent}{eol.join(written.splitlines())}", f"{indent}{{"]
        else:
            lines.append(f"{head} {written} {{")
    # a token only cfg-gated fields use would be unused in some builds: `_py` then
    py = "_py" if all(f.cfgs for f in d.fields if f.kind in PY_ISH) else "py"
    lines.append(f"{i1}fn clone(&self) -> Self {{")
    if body.type == "field_declaration_list":
        lines.append(f"{i2}{python}::{attach}(|{py}| Self {{")
        for f in d.fields:
            lines += [f"{i3}{cfg}" for cfg in f.cfgs]
            lines.append(f"{i3}{f.name}: {_initialiser(f, py)},")
        lines.append(f"{i2}}})")
    else:
        values = ", ".join(_initialiser(f, py) for f in d.fields)
        one_line = f"{i2}{python}::{attach}(|{py}| Self({values}))"
        if len(one_line) <= 100:
            lines.append(one_line)
        else:
            lines.append(f"{i2}{python}::{attach}(|{py}| {{")
            lines.append(f"{i3}Self(")
            lines += [f"{i3}{unit}{_initialiser(f, py)}," for f in d.fields]
            lines.append(f"{i3})")
            lines.append(f"{i2}}})")
    lines += [f"{i1}}}", f"{indent}}}"]
    impl = eol.join(lines)
    line_end = source.find(b"\n", struct.end_byte)
    rest = source[struct.end_byte : line_end if line_end != -1 else len(source)].strip()
    if (not rest or rest.startswith((b"//", b"/*"))) and line_end != -1:
        insert = Edit(line_end + 1, line_end + 1, (eol + impl + eol).encode())
    elif not rest or rest.startswith((b"//", b"/*")):  # the last line of a file without a final newline
        insert = Edit(len(source), len(source), (eol + eol + impl).encode())
    else:
        insert = Edit(struct.end_byte, struct.end_byte, (eol + eol + impl).encode())
    verb = "attaches" if attach == "attach" else "takes the GIL"
    ctx.fix(
        f"`derive(Clone)` on `{name}` over `Py` fields -> `impl Clone` that {verb} and uses `clone_ref(py)`",
        [_remove_derive_item(source, d), insert],
        Safety.UNSAFE,
    )


def _struct_cfgs(source: bytes, struct: Node) -> list[str]:
    return [rust.text(source, a) for a in attributes_before(struct) if attribute_parts(source, a)[0] == "cfg"]


def _python_path(index: FileIndex, node: Node) -> str:
    resolved = index.resolve(node, "Python", glob_provides)
    if resolved is not None and resolved[0] in ("pyo3", "::pyo3") and resolved[-1] == "Python":
        return "Python"
    return "pyo3::Python"


def _clone_fix(ctx: Context, c: CloneSite, call: Node) -> None:
    source = ctx.source
    written = f"{ctx.text(c.receiver)}.{ctx.text(c.clone_name)}()"
    if c.kind in (STD_CELL, NESTED, CELL) or c.token is None:
        what = {
            PY: "a `Py`",
            OPTION: "the `Py` in an `Option`",
            VEC: "the `Py`s of a `Vec`",
            CLONED: "`Py`s",
        }.get(c.kind, "the `Py`s inside it")
        hint = ""
        if c.kind in (PY, OPTION, VEC, CLONED):
            hint = " with a `Python` token (none is usable here"
            if _in_pymethods(source, call):
                hint += "; a `py: Python<'_>` parameter does not change the Python signature"
            hint += ")"
        ctx.finding(
            call,
            f"`{written}` clones {what} (needs PyO3's `py-clone` feature, panics when detached): "
            f"clone with `clone_ref(py)`{hint}",
        )
        return
    token = c.token
    taken = token.split(".")[0]  # `py`, or the `slf` of `slf.py()`
    var = next(v for v in ("v", "o", "item", "obj") if v != taken)
    if c.kind == PY:
        new = f"clone_ref({token})"
    elif c.kind == OPTION:
        new = f"as_ref().map(|{var}| {var}.clone_ref({token}))"
    elif c.kind == CLONED:
        new = f"map(|{var}| {var}.clone_ref({token}))"
    else:
        new = f"iter().map(|{var}| {var}.clone_ref({token})).collect::<Vec<_>>()"
    ctx.fix(
        f"`{written}` -> `{ctx.text(c.receiver)}.{new}`",
        [Edit(c.clone_name.start_byte, c.args.end_byte, new.encode())],
        Safety.SAFE,
    )


def _in_pymethods(source: bytes, node: Node) -> bool:
    for a in rust.ancestors(node):
        if a.type == "impl_item":
            return any("pymethods" in rust.text(source, attr) for attr in attributes_before(a))
    return False


def _maybe_finding(ctx: Context, site: Site) -> None:
    detail = site.detail
    if isinstance(detail, tuple):
        name, owners = detail
        structs = ", ".join(f"`{o}`" for o in owners)
        ctx.finding(
            site.node,
            f"this `.clone()` may clone a `Py` (`{name}` is a `Py` field of {structs}; the receiver's type is not "
            "declared here): if it does, use `.clone_ref(py)` (the `py-clone` feature stays while it is there)",
        )
    else:
        ctx.finding(site.node, f"{detail} (the `py-clone` feature stays while it is there)")


class PyCloneCodemod(Codemod):
    info = INFO

    def reads_crate(self, crate: Crate, project: Project, contents: dict[Path, bytes]) -> bool:
        """From 0.22 a `Py` clone compiles only with the `py-clone` feature (one member's enables it
        for the whole workspace): without it, and above 0.21, the crate has none to move."""
        version = crate.pyo3_version
        return version is None or version < V0_22 or any("py-clone" in c.features for c in project.crates)

    def scan(self, snapshot: Snapshot) -> dict[Path, Survey]:
        return survey(snapshot)

    def transform(self, ctx: Context) -> None:
        sv: Survey | None = ctx.facts.get(ctx.crate.manifest) if ctx.crate is not None else None
        if sv is None:
            return
        fs = sv.files.get(ctx.path)
        if fs is None:
            return
        if fs.source != ctx.source:  # changed since the scan: look again
            fs = survey_file(sv, ctx.source, FileIndex.build(ctx.source))
        for site in fs.sites:
            if site.kind == "derive":
                d: DeriveSite = site.detail
                if d.problem is not None:
                    ctx.finding(site.node, d.problem)
                else:
                    _derive_fix(ctx, sv, fs, d)
            elif site.kind == "clone":
                _clone_fix(ctx, site.detail, site.node)
            else:
                _maybe_finding(ctx, site)
        if _chose_py_clone(ctx):
            ctx.findings.clear()  # what it could not rewrite compiles, as its author chose


def _chose_py_clone(ctx: Context) -> bool:
    """A crate already built with `py-clone` keeps it quietly unless this codemod was named."""
    crate = ctx.crate
    return crate is not None and "py-clone" in crate.features and crate.pyo3_version is not None \
        and crate.pyo3_version >= V0_22 and INFO.id not in ctx.snapshot.options.named


CODEMOD = PyCloneCodemod()
