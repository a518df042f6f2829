from __future__ import annotations

import pytest

from pyo3_migrate.shell.apply import ApplyError, write_atomic


def test_write_atomic_refuses_a_file_changed_since_read(tmp_path):
    target = tmp_path / "lib.rs"
    target.write_bytes(b"changed by someone else\n")
    with pytest.raises(ApplyError, match="lib.rs: changed on disk"):
        write_atomic(target, b"what we read\n", b"what we made\n")
    assert target.read_bytes() == b"changed by someone else\n"


def test_write_atomic_keeps_mode_and_leaves_no_temp_file(tmp_path):
    target = tmp_path / "lib.rs"
    target.write_bytes(b"old\r\n")
    target.chmod(0o751)
    write_atomic(target, b"old\r\n", b"new\r\n")
    assert target.read_bytes() == b"new\r\n"
    assert target.stat().st_mode & 0o777 == 0o751
    assert [p.name for p in tmp_path.iterdir()] == ["lib.rs"]
