"""Metric math: arithmetic over the other queries of a request, by their ids. Pure.

Supported: numbers, query ids, `+ - * /`, unary minus and parentheses (enough
for `m1/m2*100`). A missing operand, or a division by zero, gives no value for
that time, as CloudWatch leaves a gap. Anything else is refused when the alarm
or query is made, never half-evaluated later.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping

from providers.local.errors import ApiError

_BINARY: dict[type, Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}


def parse(expression: str) -> ast.expr:
    """The expression's tree; `ValidationError` if it is outside the supported subset."""
    try:
        tree = ast.parse(expression, mode="eval").body
    except SyntaxError:
        raise _unsupported(expression) from None
    for node in ast.walk(tree):
        allowed = (ast.BinOp, ast.UnaryOp, ast.Name, ast.Constant, ast.Load, ast.USub, ast.UAdd, *_BINARY)
        if not isinstance(node, allowed) or (isinstance(node, ast.Constant) and not _number(node.value)):
            raise _unsupported(expression)
    return tree


def names(tree: ast.expr) -> set[str]:
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}


def evaluate(tree: ast.expr, values: Mapping[str, float | None]) -> float | None:
    """The expression's value given each id's value (None: missing)."""
    if isinstance(tree, ast.Constant):
        assert isinstance(tree.value, (int, float))  # `parse` admits numbers only
        return float(tree.value)
    if isinstance(tree, ast.Name):
        return values.get(tree.id)
    if isinstance(tree, ast.UnaryOp):
        inner = evaluate(tree.operand, values)
        return None if inner is None else (-inner if isinstance(tree.op, ast.USub) else inner)
    assert isinstance(tree, ast.BinOp)
    left, right = evaluate(tree.left, values), evaluate(tree.right, values)
    if left is None or right is None or (isinstance(tree.op, ast.Div) and right == 0):
        return None
    return _BINARY[type(tree.op)](left, right)


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _unsupported(expression: str) -> ApiError:
    return ApiError(
        "ValidationException",
        f"Invalid metrics math expression: {expression!r}. The local server evaluates numbers, "
        "query ids, + - * / and parentheses.",
    )
