"""Shared fixtures: the test data folder and the bundled public benchmark sets."""

from __future__ import annotations

from pathlib import Path

from schedforge.benchsets import unpacked

DATA = Path(__file__).resolve().parent / "data"


def bundled_path(archive: str, *parts: str) -> Path:
    """A file of a bundled benchmark archive (``orlib-wt``, ``smtt``, ``psplib``, ``fjsp``).

    Tests that need a table or a raw file use this; tests that need instances
    read them by dataset name (``sf.read("psplib:j30/j301_1")``).
    """
    return unpacked(archive).joinpath(*parts)
