"""Fixtures of the benchmark tests: the fake-method plugin and tiny instance files."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import schedforge as sf
from schedforge.bench.worker import import_plugins
from schedforge.core import registry

PLUGIN = str(Path(__file__).with_name("plugin_methods.py"))


@pytest.fixture(scope="module")
def plugin():
    """The path of the fake-method plugin, registered here for the module's tests.

    The fake methods are removed afterwards, so that tests elsewhere that
    iterate over every registered method never meet a method that hangs.
    """
    import_plugins([PLUGIN])
    yield PLUGIN
    for key in [k for k in registry._methods if k[1].startswith("bench-")]:
        del registry._methods[key]
    sys.modules.pop("schedforge_plugin_plugin_methods", None)


@pytest.fixture(scope="module")
def instance_dir(tmp_path_factory) -> Path:
    """A folder with three small SMTT instances (JSON)."""
    folder = tmp_path_factory.mktemp("instances")
    for seed in range(3):
        sf.write(sf.generate("smtt", jobs=8, tf=0.6, rdd=0.4, seed=seed), folder / f"i{seed}.json")
    return folder
