"""Folders and files written whole or not at all, readable like any new file."""

import os
import stat

import pytest

from tfcreative.files import folder_written_whole


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_folder_appears_whole_with_the_umasks_permissions(tmp_path):
    target = tmp_path / "out" / "1"
    previous = os.umask(0o022)
    try:
        with folder_written_whole(str(target)) as scratch:
            assert not target.exists()  # nothing at the final name while writing
            (tmp_path / "out" / "seen").write_text(",".join(os.listdir(tmp_path / "out")))
            with open(os.path.join(scratch, "a.txt"), "w") as f:
                f.write("a")
    finally:
        os.umask(previous)
    assert os.listdir(target) == ["a.txt"]
    assert _mode(target) == 0o755  # not mkdtemp's 0o700: servers run as other users
    assert sorted(os.listdir(tmp_path / "out")) == ["1", "seen"]


def test_an_error_leaves_nothing_and_replace_swaps_the_old_folder(tmp_path):
    target = tmp_path / "preset"
    with pytest.raises(RuntimeError):
        with folder_written_whole(str(target)) as scratch:
            open(os.path.join(scratch, "half"), "w").close()
            raise RuntimeError("killed")
    assert os.listdir(tmp_path) == []
    target.mkdir()
    (target / "old.txt").write_text("old")
    with folder_written_whole(str(target), replace=True) as scratch:
        open(os.path.join(scratch, "new.txt"), "w").close()
    assert os.listdir(target) == ["new.txt"]
    assert os.listdir(tmp_path) == ["preset"]  # no scratch or old copy left behind
