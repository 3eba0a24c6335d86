"""The registry: lazy per-family loading, the method contract, the stopping-rule table."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

from schedforge.core.registry import METHOD_MODULES, stopping_rules_markdown

ROOT = Path(__file__).resolve().parents[2]


def test_every_method_module_is_listed_for_its_problem():
    """A module with @method(...) must be in METHOD_MODULES of each problem it registers."""
    for path in sorted((ROOT / "schedforge").rglob("*.py")):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", None) == "method"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                problem = node.args[0].value
                assert module in METHOD_MODULES.get(problem, ()), (module, problem)


def test_import_is_cheap_and_lazy():
    code = (
        "import sys, schedforge as sf\n"
        "assert not [m for m in sys.modules if m.startswith(('schedforge.problems', "
        "'schedforge.heuristics', 'schedforge.solvers', 'schedforge.discovery'))]\n"
        "assert 'numba' not in sys.modules and 'ortools' not in sys.modules\n"
        "sf.generate('smtt', jobs=5, seed=0)\n"
        "assert not [m for m in sys.modules if m.startswith(('schedforge.heuristics', "
        "'schedforge.solvers'))], 'reading or generating imported solver code'\n"
        "sf.methods('smtt')\n"
        "assert 'schedforge.heuristics.smtt' in sys.modules\n"
        "assert 'schedforge.solvers.cp.rcpsp' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_readme_carries_the_stopping_rule_table():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(
        r"<!-- stopping-rules:begin -->\n(.*?)<!-- stopping-rules:end -->", readme, re.S
    )
    assert found, "README lacks the stopping-rules block"
    assert found.group(1) == stopping_rules_markdown(), (
        "README table out of date: paste `schedforge methods --stopping-rules`"
    )
