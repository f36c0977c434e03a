"""The experiments' results files: two processes of one experiment (`--only` other variants,
one per core) write into one results.json."""

import json

from experiments._machine import write_json_merged


def test_a_process_writes_its_own_rows_and_keeps_the_others_as_the_file_has_them(tmp_path):
    file = tmp_path / "results.json"
    path = str(file)
    first = {"variants": {"a": {"bits": 1.9}}}  # process 1 measured a
    write_json_merged(path, first, "variants", ["a"])
    second = json.loads(file.read_text())  # process 2 starts: it reads a's row
    write_json_merged(path, {"variants": {"a": {"bits": 1.8, "whole": 1.7}}}, "variants",
                      ["a"])  # process 1 re-scores a
    second["variants"]["b"] = {"bits": 1.6}
    write_json_merged(path, second, "variants", ["b"])  # process 2 measured b
    assert json.loads(file.read_text())["variants"] == {
        "a": {"bits": 1.8, "whole": 1.7}, "b": {"bits": 1.6}}  # not the older copy of a
    assert second["variants"] == {"a": {"bits": 1.8, "whole": 1.7}, "b": {"bits": 1.6}}
