"""Safe output (ohq.io): --force replaces only what ohq wrote, never a user's files."""

from __future__ import annotations

import json

import pytest

from ohq.errors import OhqError
from ohq.io import check_dir_writable, foreign_files, marker_name, write_dir_atomic


def _fill(tmp):
    (tmp / "a.txt").write_text("a")
    (tmp / "sub").mkdir()
    (tmp / "sub" / "b.txt").write_text("b")
    return {"ok": True}


def test_marker_lists_what_ohq_wrote(tmp_path):
    out = tmp_path / "out"
    assert write_dir_atomic(out, _fill, kind="export") == {"ok": True}
    doc = json.loads((out / marker_name("export")).read_text())
    assert doc["type"] == "ohq.export" and doc["version"] == 1
    assert doc["files"] == ["a.txt", "sub/b.txt"]
    assert foreign_files(out, "export") == []


def test_force_replaces_own_folder_only(tmp_path):
    out = tmp_path / "out"
    write_dir_atomic(out, _fill, kind="run")
    with pytest.raises(OhqError, match="exists; pass --force"):
        write_dir_atomic(out, _fill, kind="run")
    write_dir_atomic(out, _fill, kind="run", force=True)
    (out / "keep.txt").write_text("mine")
    with pytest.raises(OhqError, match=r"holds files ohq did not write \(keep.txt\)"):
        write_dir_atomic(out, _fill, kind="run", force=True)
    assert (out / "keep.txt").read_text() == "mine"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp folder left


def test_unmarked_or_other_kind_folder_is_refused(tmp_path):
    user = tmp_path / "user"
    user.mkdir()
    (user / "notes.md").write_text("x")
    with pytest.raises(OhqError, match="notes.md"):
        check_dir_writable(user, True, "export")
    run = tmp_path / "run"
    write_dir_atomic(run, _fill, kind="run")
    with pytest.raises(OhqError, match="did not write"):  # a run folder is not an export folder
        check_dir_writable(run, True, "export")


def test_empty_folder_and_file_in_the_way(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    write_dir_atomic(empty, _fill)  # an empty folder needs no --force
    assert (empty / "a.txt").exists()
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(OhqError, match="not a folder"):
        check_dir_writable(f, True, "export")
    assert f.read_text() == "x"


def test_failed_fill_leaves_old_folder(tmp_path):
    out = tmp_path / "out"
    write_dir_atomic(out, _fill)

    def boom(tmp):
        (tmp / "half").write_text("x")
        raise RuntimeError("crash")

    with pytest.raises(RuntimeError):
        write_dir_atomic(out, boom, force=True)
    assert (out / "a.txt").exists() and not (out / "half").exists()
