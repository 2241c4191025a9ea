"""The benchmarks run as scripts (`python benchmarks/x.py`), where the project is not on the path
until the script puts it there (`common.py`, or `sys.path.insert`): an import of the app above
that line fails before the benchmark measures anything (one did, after a module moved)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BENCHMARKS = sorted((Path(__file__).resolve().parents[1] / "benchmarks").glob("*.py"))


def _puts_the_project_on_the_path(node: ast.stmt) -> bool:
    if isinstance(node, ast.ImportFrom) and node.module == "common":
        return True
    return any(
        isinstance(call, ast.Call)
        and isinstance(call.func, ast.Attribute)
        and call.func.attr == "insert"
        and isinstance(call.func.value, ast.Attribute)
        and call.func.value.attr == "path"
        for call in ast.walk(node)
    )


def _imports_the_app(node: ast.stmt) -> bool:
    if isinstance(node, ast.ImportFrom):
        return (node.module or "").split(".")[0] in {"negotiations", "trustcoder"}
    if isinstance(node, ast.Import):
        return any(
            alias.name.split(".")[0] in {"negotiations", "trustcoder"} for alias in node.names
        )
    return False


@pytest.mark.parametrize("script", BENCHMARKS, ids=lambda path: path.name)
def test_no_benchmark_imports_the_app_before_putting_it_on_the_path(script):
    on_path = False
    for node in ast.parse(script.read_text()).body:
        if _puts_the_project_on_the_path(node):
            on_path = True
        assert on_path or not _imports_the_app(node), f"{script.name}:{node.lineno}"


def test_the_check_sees_a_misplaced_import(tmp_path):
    tree = ast.parse("import sys\nfrom negotiations import models\nsys.path.insert(0, '.')\n")
    assert [_imports_the_app(node) for node in tree.body] == [False, True, False]
    assert [_puts_the_project_on_the_path(node) for node in tree.body] == [False, False, True]
