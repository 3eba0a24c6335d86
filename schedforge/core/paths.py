"""Checks of output paths, made before any work starts.

A run that computes for minutes and then fails to write its chart or table
because the folder is missing or the extension unknown wastes the run; these
checks move that failure to the start, in the words of the option.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from schedforge.core.errors import InvalidOption


def check_output_file(
    path: str | Path, option: str, suffixes: Iterable[str], *, create: bool = False
) -> Path:
    """``path`` as a file that can be written: known suffix, existing folder, not a folder.

    With ``create=True`` a missing folder is fine (the writer creates it), as
    long as no part of it is a file.

    Parameters
    ----------
    path
        The file to be written.
    option
        The option that named it, for the message (``"--gantt"``).
    suffixes
        Accepted lower-case suffixes with the dot (``(".png", ".svg")``).

    Raises
    ------
    InvalidOption
        When the file could not be written at the end.
    """
    path = Path(path)
    allowed = sorted(suffixes)
    if path.suffix.lower() not in allowed:
        raise InvalidOption(
            f"{option} {path}: unknown extension {path.suffix or '(none)'!r}; "
            f"use one of {', '.join(allowed)}"
        )
    if path.is_dir():
        raise InvalidOption(f"{option} {path}: is a folder; give a file name")
    folder = path.parent
    if create:
        check_output_folder(folder, option)
    elif not folder.is_dir():
        for part in (folder, *folder.parents):
            if part.exists() and not part.is_dir():
                raise InvalidOption(f"{option} {path}: {part} is a file, not a folder")
        raise InvalidOption(f"{option} {path}: the folder {folder} does not exist; create it first")
    return path


def check_output_folder(path: str | Path, option: str) -> Path:
    """``path`` as a folder to write into: an existing folder, or none yet (it is created).

    Raises
    ------
    InvalidOption
        When ``path`` (or one of its parents) is an existing file.
    """
    path = Path(path)
    for part in (path, *path.parents):
        if part.exists() and not part.is_dir():
            raise InvalidOption(
                f"{option} {path}: {part} is a file, not a folder; give a folder "
                "(it is created when missing)"
            )
    return path
