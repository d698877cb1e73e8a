"""inrkit.io: atomic writing and user-named files, and the old import paths that still reach them."""
from __future__ import annotations

import doctest
import json
import subprocess
import sys
import tempfile

import numpy as np
import pytest

import inrkit.io
from inrkit.errors import InrkitError
from inrkit.io import atomic_path, input_file, output_folder, output_folder_exists, read_json, write_json


def test_examples_in_the_docstrings_run(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # their temporary folders land here
    result = doctest.testmod(inrkit.io, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted >= 10


@pytest.mark.parametrize("name", ["atomic_path", "read_json", "input_file", "output_folder", "output_folder_exists"])
def test_the_helpers_moved_out_of_errors_are_still_importable_from_there(name):
    import inrkit.errors

    assert getattr(inrkit.errors, name) is getattr(inrkit.io, name)
    namespace: dict = {}
    exec(f"from inrkit.errors import {name}", namespace)  # the form cli.py and train.py use
    assert namespace[name] is getattr(inrkit.io, name)
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        inrkit.errors.nothing_here  # noqa: B018


def test_checkpoint_write_json_is_the_io_one():
    import inrkit.checkpoint

    assert inrkit.checkpoint.write_json is write_json and "write_json" in inrkit.checkpoint.__all__


@pytest.mark.parametrize("first", ["inrkit.io", "inrkit.errors", "inrkit.checkpoint"])
def test_no_import_cycle_whichever_module_comes_first(first):
    code = f"import {first}; from inrkit.errors import atomic_path; from inrkit.io import InrkitError"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_atomic_path_keeps_the_earlier_file_and_leaves_no_temporary_on_failure(tmp_path):
    target = tmp_path / "render.png"
    target.write_text("earlier")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            assert tmp.parent == tmp_path and tmp.name.endswith(".png")  # writers pick formats by it
            tmp.write_text("half")
            raise RuntimeError
    assert target.read_text() == "earlier" and [p.name for p in tmp_path.iterdir()] == ["render.png"]


def test_write_json_round_trips_numpy_numbers(tmp_path):
    path = tmp_path / "m.json"
    write_json(path, {"psnr": np.float32(31.25), "curve": [np.float64(1.5)], "steps": 3})
    assert path.read_text().endswith("\n") and json.loads(path.read_text()) == {"psnr": 31.25, "curve": [1.5],
                                                                                  "steps": 3}
    assert read_json(path, "metrics") == {"psnr": 31.25, "curve": [1.5], "steps": 3}


def test_each_bad_input_is_one_inrkit_error_naming_it(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(InrkitError, match="camera path .*bad.json' is not valid JSON"):
        read_json(bad, "camera path")
    with pytest.raises(InrkitError, match="cannot read scene file"):
        read_json(tmp_path, "scene file")  # a folder
    with pytest.raises(InrkitError, match="volume file .*none.npy' does not exist"):
        input_file(tmp_path / "none.npy", "volume file", "a .npy file")
    assert input_file(bad, "x", "y") == bad
    with pytest.raises(InrkitError, match="does not exist"):
        output_folder_exists(tmp_path / "no" / "out.png")
    assert output_folder_exists(tmp_path / "out.png") == tmp_path / "out.png"
    with pytest.raises(InrkitError, match="output folder .* is a file"):
        output_folder(bad)
