"""Fixtures for the discovery tests: a private SCHEDFORGE_HOME and quick SMTT sets."""

from __future__ import annotations

import pytest

from schedforge.discovery.templates import get_template


@pytest.fixture(autouse=True)
def private_home(tmp_path, monkeypatch):
    """Exported heuristics go to a temporary user directory, never to ~/.schedforge."""
    home = tmp_path / "sfhome"
    monkeypatch.setenv("SCHEDFORGE_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def smtt_template():
    """The SMTT template."""
    return get_template("smtt")


@pytest.fixture(scope="session")
def quick_sets(smtt_template):
    """The small generated SMTT sets (DP optima)."""
    return smtt_template.sets("quick")
