"""read/write/generate dispatch and their errors."""

from __future__ import annotations

import pytest

import schedforge as sf


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(sf.SchedforgeError, match="no such file"):
        sf.read(tmp_path / "nope.txt")


def test_unknown_extension(tmp_path):
    path = tmp_path / "x.weird"
    path.write_text("hello\n")
    with pytest.raises(sf.UnknownFormat, match="cannot tell the format"):
        sf.read(path)


def test_generate_rejects_unknown_parameters():
    with pytest.raises(sf.InvalidOption, match="bogus"):
        sf.generate("smtt", bogus=1)
    with pytest.raises(sf.UnknownProblem, match="available"):
        sf.generate("nope")


def test_write_unknown_extension(tmp_path):
    inst = sf.generate("smtt", jobs=3, seed=0)
    with pytest.raises(sf.UnknownFormat, match="writable"):
        sf.write(inst, tmp_path / "x.sm")
