"""py-gil-workarounds: remove the Python side's GIL workarounds once the modules claim free-threading support.

What it does
    While an extension module has not declared free-threading support, importing it into
    free-threaded CPython turns the GIL back on with a RuntimeWarning ("The global interpreter
    lock (GIL) has been enabled to load module ..."), so projects work around it in Python. Once
    the Rust side claims support (after the Rust codemods: `gil_used = false`, or PyO3 >= 0.28
    with no `gil_used = true`), this codemod removes, in the project's Python side (its package,
    tests, conftest.py and noxfile.py files, pytest settings):

        os.environ["PYTHON_GIL"] = "0"                       (and .setdefault, putenv, monkeypatch.setenv,
                                                             nox's session.env[..] and env={"PYTHON_GIL": "0"})
        warnings.filterwarnings("ignore", message=".*GIL has been enabled.*", category=RuntimeWarning)
        @pytest.mark.filterwarnings("ignore:The global interpreter lock:RuntimeWarning")
        pytestmark = [pytest.mark.filterwarnings(..GIL..), ...]          (the element; the line if alone)
        @pytest.mark.skipif(sysconfig.get_config_var("Py_GIL_DISABLED"), reason="... GIL ...")
        filterwarnings / env entries in [tool.pytest.ini_options], pytest.ini, tox.ini, setup.cfg,
        and `PYTHON_GIL = 0` in the `setenv` of tox's test environments

    The comment block directly above a removed line goes with it when it talks about the GIL or
    free-threading; imports that only the removed code used go too; another statement sharing
    the line stays. A workaround that names one of this project's modules goes when that module
    claims support; one that names no module goes when every module of the project does.

What it will not do
    - Touch a workaround that names another project's module (numpy's, say), or one of ours that
      still needs the GIL, or anything while no module claims support.
    - Change behaviour: a branch on `sys._is_gil_enabled()` or `Py_GIL_DISABLED` that stays is a
      finding (it may still be needed, or may now be dead code); a skip whose condition is not
      plainly "running free-threaded" stays.
    - Edit a settings entry it cannot remove as a whole line (a one-line array): a finding.
    - Read files outside the Python side, or parse one that spells none of what a workaround is
      made of (`PYTHON_GIL`, `Py_GIL_DISABLED`, `_is_gil_enabled`, the warning's words). A file that
      does not parse as Python 3 is a finding for that file only.

Fix safety
    Safe: each removed line only papered over a module that, after this run, declares that it
    runs without the GIL; the tests then run the way free-threaded users import the package.
"""

from __future__ import annotations

import ast
import configparser
import re
import tomllib

from pyo3_migrate.analysis.pyside import (
    SideCodemod,
    side_info,
    SideFacts,
    absorb_doubled_blanks,
    drop_explaining_comments,
    explains_workaround,
    gil_off_setting,
    ignores_gil_warning,
    is_gil_warning,
)
from pyo3_migrate.core import pysyntax
from pyo3_migrate.core.codemod import Context
from pyo3_migrate.core.lines import offset_of_line

INFO = side_info(__doc__, id="py-gil-workarounds", language="python",
                 summary="remove PYTHON_GIL=0, GIL-warning filters and free-threaded skips once the modules claim support")

# Every workaround spells one of these: a setting `PYTHON_GIL` or `gil=0`, a skip's condition
# `Py_GIL_DISABLED` or `_is_gil_enabled`, a filter the warning's words (see pyside.is_gil_warning).
_WORDS = (b"PYTHON_GIL", b"Py_GIL_DISABLED", b"_is_gil_enabled", b"gil=0", b"interpreter lock", b"load module",
          b"safely without")


def _may_matter(source: bytes) -> bool:
    """Whether a file can hold a workaround; one that cannot is never parsed (a test that only
    talks about the GIL, say)."""
    return any(word in source for word in _WORDS) or (b"GIL" in source and b"enabled" in source)


# ------------------------------------------------------------------ the closer look, before libcst


def _may_hold(source: bytes) -> bool:
    """Whether the libcst pass can find anything in a file that spells a workaround's words: a
    cheaper look with the standard library's parser (libcst's import and trees cost far more), a
    superset of what pyidioms recognises: a warning filter or mark naming the GIL warning, an
    environment setting or dict key `PYTHON_GIL`, a skip or branch whose condition asks whether
    the GIL is on (a call of `_is_gil_enabled`, `get_config_var`, `getattr(..)()`, or a module
    name bound to one). A file it cannot parse goes to libcst, which says why."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return True
    asking = {t.id for node in tree.body if isinstance(node, ast.Assign) and _asks(node.value, set())
              for t in node.targets if isinstance(t, ast.Name)}
    for node in ast.walk(tree):
        if isinstance(node, (ast.If, ast.IfExp)) and _asks(node.test, asking):
            return True
        if isinstance(node, ast.Call) and _workaround_call(node, asking):
            return True
        if isinstance(node, ast.Subscript) and _is_gil_key(node.slice):
            return True
        if isinstance(node, ast.Dict) and any(_is_gil_key(k) for k in node.keys if k is not None):
            return True
    return False


def _last_name(node: ast.AST) -> str:
    return node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else ""


def _asks(node: ast.AST, names: set[str]) -> bool:
    """Whether an expression may ask whether the GIL is on."""
    for inner in ast.walk(node):
        if isinstance(inner, ast.Name) and inner.id in names:
            return True
        if isinstance(inner, ast.Call) and (isinstance(inner.func, ast.Call) or _last_name(inner.func).endswith(
                ("_is_gil_enabled", "get_config_var"))):
            return True
    return False


def _workaround_call(call: ast.Call, asking: set[str]) -> bool:
    name = _last_name(call.func)
    values = [*call.args, *(k.value for k in call.keywords)]
    if name == "filterwarnings":
        return any(isinstance(v, ast.Constant) and isinstance(v.value, str)
                   and (is_gil_warning(v.value) or ignores_gil_warning(v.value)) for v in values)
    if name == "skipif":
        return any(_asks(v, asking) for v in values)
    if name.endswith(("setdefault", "putenv", "setenv")):
        return any(_is_gil_key(v) for v in values)
    return False


def _is_gil_key(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.strip() == "PYTHON_GIL"


def _goes(facts: SideFacts, kind: str, text: str) -> bool:
    """Whether a workaround goes: `PYTHON_GIL=0` names no module (every module must claim support);
    a filter's message or a skip's reason may name one (see SideFacts.acts_on); a skip goes only
    when its reason is about the GIL."""
    if kind == "env":
        return facts.all_claim
    if kind == "skip" and not explains_workaround(text):
        return False
    return facts.acts_on(text)


# ------------------------------------------------------------------ pytest settings files


def _settings_entries(path_name: str, source: bytes) -> dict[str, list[str]] | None:
    """{"filterwarnings": [...], "env": [...], "setenv": [...]} of the file's pytest settings and tox
    test environments (None: none there)."""
    text = source.decode("utf-8-sig")
    if path_name == "pyproject.toml":
        table = tomllib.loads(text).get("tool", {}).get("pytest", {}).get("ini_options")
        if not isinstance(table, dict):
            return None
        return {key: [v for v in table.get(key, []) if isinstance(v, str)] if isinstance(table.get(key), list) else []
                for key in ("filterwarnings", "env")}
    parser = configparser.RawConfigParser(strict=False)
    parser.read_string(text)
    section = "tool:pytest" if path_name == "setup.cfg" else "pytest"

    def lines(section: str, key: str) -> list[str]:
        return [v.strip() for v in parser.get(section, key, fallback="").splitlines() if v.strip()]

    entries = {key: lines(section, key) if parser.has_section(section) else [] for key in ("filterwarnings", "env")}
    # tox's test environments set the environment their commands (pytest among them) run in
    testenvs = [s for s in parser.sections() if s == "testenv" or s.startswith("testenv:")] if path_name == "tox.ini" else []
    entries["setenv"] = [v for s in testenvs for v in lines(s, "setenv")]
    return entries if parser.has_section(section) or testenvs else None


def _entry_of_line(path_name: str, line: str) -> str | None:
    """The settings entry a whole line holds (a TOML array string, or an ini continuation line)."""
    body = line.strip()
    if path_name == "pyproject.toml":
        body = re.sub(r",?\s*(#.*)?$", "", body)
        if not body[:1] in ("'", '"'):
            return None
        try:
            value = tomllib.loads(f"v = {body}")["v"]
        except tomllib.TOMLDecodeError:
            return None
        return value if isinstance(value, str) else None
    return body if body and line[:1] in (" ", "\t") and not body.startswith(("#", ";")) else None


def _drops(facts: SideFacts, entries: dict[str, list[str]]) -> dict[str, set[str]]:
    drop = {"filterwarnings": {e for e in entries["filterwarnings"] if ignores_gil_warning(e) and facts.acts_on(e)}}
    drop["env"] = {e for key in ("env", "setenv") for e in entries.get(key, []) if facts.all_claim and "=" in e
                   and gil_off_setting(e.split("=", 1)[0].split(":")[-1], e.split("=", 1)[1])}
    return drop


def _without_lines(source: bytes, path_name: str, drop: set[str]) -> tuple[bytes, set[str]]:
    """source without the whole lines that hold a dropped entry (with the comment block that
    explains one, and the key itself when no entry is left); the entries removed."""
    bom = b"\xef\xbb\xbf" if source.startswith(b"\xef\xbb\xbf") else b""
    lines = source.decode("utf-8-sig").splitlines(keepends=True)
    keep = [True] * len(lines)
    removed = set()
    for i, line in enumerate(lines):
        entry = _entry_of_line(path_name, line)
        if entry is not None and entry in drop:
            keep[i] = False
            removed.add(entry)
            drop_explaining_comments(lines, keep, i, ("#", ";"))
    if removed:
        _drop_emptied_keys(lines, keep, path_name)
        absorb_doubled_blanks(lines, keep)
    return bom + "".join(line for line, kept in zip(lines, keep) if kept).encode(), removed


_KEY = re.compile(r"^\s*(filterwarnings|env|setenv)\s*=\s*(\[)?\s*([#;].*)?$")


def _drop_emptied_keys(lines: list[str], keep: list[bool], path_name: str) -> None:
    """A `filterwarnings`/`env` key whose entries all went goes too (its `[` .. `]` lines in TOML)."""
    for i, line in enumerate(lines):
        match = _KEY.match(line)
        if not keep[i] or match is None or (path_name == "pyproject.toml") != bool(match.group(2)):
            continue
        body, j = [], i + 1
        while j < len(lines):
            text = lines[j].strip()
            if path_name == "pyproject.toml" and keep[j] and text.startswith("]"):
                break
            if path_name != "pyproject.toml" and text and lines[j][:1] not in (" ", "\t"):
                break
            body.append(j)
            j += 1
        while body and keep[body[-1]] and not lines[body[-1]].strip():
            body.pop()  # blank lines after the entries belong to what follows
        closing = [j] if path_name == "pyproject.toml" and j < len(lines) and re.match(r"^\s*\]\s*(#.*)?$", lines[j]) else []
        if path_name == "pyproject.toml" and not closing:
            continue
        if any(not keep[k] for k in body) and all(not keep[k] or not lines[k].strip() for k in body):
            for k in [i, *body, *closing]:
                keep[k] = False


# ------------------------------------------------------------------ the codemod


class PyGilWorkaroundsCodemod(SideCodemod):
    info = INFO

    def transform(self, ctx: Context) -> None:
        facts: SideFacts = ctx.facts
        if not facts.modules or not _may_matter(ctx.source):
            return
        if ctx.path.suffix == ".py":
            self._python(ctx, facts)
        else:
            self._settings(ctx, facts)

    def _python(self, ctx: Context, facts: SideFacts) -> None:
        if not _may_hold(ctx.source):
            return
        from pyo3_migrate.analysis import pyedit, pyidioms  # libcst: imported by runs that parse Python

        try:
            module = pysyntax.parse(ctx.source)
        except pysyntax.NotPython as exc:
            ctx.finding(0, f"not read as Python 3 ({exc}): its GIL workarounds, if any, are left for a person")
            return
        names = pyidioms.free_threaded_names(module)

        def decide(node):
            found = pyidioms.workaround_of(node, names)
            return pyedit.REMOVE if found is not None and _goes(facts, found.kind, found.text) else None

        new, removal = pyedit.remove(module, decide, explains_workaround)
        if removal.nodes:
            new, _gone = pyedit.drop_unused_imports(new, removal.names, explains_workaround)
            what = ", ".join(sorted({_KINDS[pyidioms.workaround_of(n, names).kind] for n in removal.nodes}))
            ctx.fix(f"GIL workarounds removed ({what}): {_claimants(facts)} free-threading support",
                    pysyntax.edits_between(ctx.source, new.bytes))
        if facts.claiming:
            for line in pyidioms.gil_branch_lines(module, names):
                ctx.finding(offset_of_line(ctx.source, line), "behaviour depends on whether the GIL is on: now that "
                            f"{_claimants(facts)} free-threading support, check whether this branch is still needed")

    def _settings(self, ctx: Context, facts: SideFacts) -> None:
        name = ctx.path.name
        try:
            entries = _settings_entries(name, ctx.source)
        except (tomllib.TOMLDecodeError, configparser.Error, UnicodeDecodeError):
            return  # not readable settings: the TOML gate or the user's tools say so
        if entries is None:
            return
        drop = _drops(facts, entries)
        wanted = drop["filterwarnings"] | drop["env"]
        if not wanted:
            return
        new, removed = _without_lines(ctx.source, name, wanted)
        after = _settings_entries(name, new) if removed else None
        expected = {key: [e for e in entries[key] if e not in removed] for key in entries}
        for entry in sorted(wanted - removed if after == expected else wanted):
            ctx.finding(_offset_of_text(ctx.source, entry), f"pytest setting `{entry}` is a GIL workaround that "
                        "is no longer needed: remove it by hand (it does not sit on a line of its own)")
        if removed and after == expected:
            ctx.fix(f"GIL workarounds removed from the pytest settings: {', '.join(sorted(removed))}",
                    pysyntax.edits_between(ctx.source, new))


_KINDS = {"env": "PYTHON_GIL=0", "filter": "warning filter", "skip": "free-threaded skip"}


def _claimants(facts: SideFacts) -> str:
    names = [f"`{m}`" for m in facts.claiming]
    return f"{', '.join(names)} {'claims' if len(names) == 1 else 'claim'}"


def _offset_of_text(source: bytes, text: str) -> int:
    at = source.find(text.encode())
    return max(at, 0)


CODEMOD = PyGilWorkaroundsCodemod()
