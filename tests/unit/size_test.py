"""Product code stays small enough to read: no module over 400 lines, no function over 50."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PRODUCT = ("smstate", "providers")
MODULE_LINES = 400
FUNCTION_LINES = 50


def _modules() -> list[Path]:
    return sorted(path for root in PRODUCT for path in REPO.joinpath(root).rglob("*.py"))


def _long_functions(path: Path) -> list[str]:
    rel = path.relative_to(REPO)
    return [
        f"{rel}:{node.lineno}: {node.name} has {length} lines"
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and (length := (node.end_lineno or node.lineno) - node.lineno + 1) > FUNCTION_LINES
    ]


def test_the_product_code_is_found() -> None:
    found = {str(path.relative_to(REPO)) for path in _modules()}
    assert {"smstate/resources.py", "smstate/cli.py", "providers/aws/provider.py"} <= found


def test_no_module_is_over_400_lines() -> None:
    long = [
        f"{path.relative_to(REPO)} has {count} lines"
        for path in _modules()
        if (count := len(path.read_text().splitlines())) > MODULE_LINES
    ]
    assert long == [], "split these modules by concept:\n" + "\n".join(long)


def test_no_function_is_over_50_lines() -> None:
    long = [line for path in _modules() for line in _long_functions(path)]
    assert long == [], "split these functions:\n" + "\n".join(long)
