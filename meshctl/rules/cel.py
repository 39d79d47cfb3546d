"""CEL conditions with bounds: compile once at load, evaluate over plain data within a budget.

A policy file is input, and may be hostile or simply wrong. What must stay true:
- the source is at most ``MAX_SOURCE_CHARS`` and its parse tree at most ``MAX_TREE_DEPTH`` deep,
  so neither parsing nor evaluating can exhaust Python's stack (celpy evaluates recursively);
- one evaluation visits at most ``MAX_STEPS`` nodes of the tree (comprehensions included), so a
  nested ``all``/``map`` over lists ends with an error instead of running for hours, and no
  value outgrows what that many steps can build (celpy's ``reduce``, whose accumulator can
  double at each step, is refused);
- every failure is a ``CelError`` carrying a message for people (and, for syntax errors, the
  line and column inside the expression), never a celpy or lark exception.
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import celpy
import lark
from celpy import celtypes
from celpy.adapter import json_to_cel
from celpy.celparser import CELParseError
from celpy.evaluation import Activation, CELEvalError, Evaluator, Result

_Tree = lark.Tree[Any]

MAX_SOURCE_CHARS = 4096
MAX_TREE_DEPTH = 250  # about 30 levels of nesting in the source; real conditions need under 10
MAX_STEPS = 50_000  # tree nodes visited in one evaluation: about a third of a second


class CelError(Exception):
    """A condition that cannot be compiled or evaluated; ``column`` is 1-based, 0 if unknown."""

    def __init__(self, message: str, *, line: int = 0, column: int = 0) -> None:
        super().__init__(message)
        self.line = line
        self.column = column


@dataclass
class _Budget:
    remaining: int = MAX_STEPS

    def spend(self, steps: int = 1) -> None:
        self.remaining -= steps
        if self.remaining < 0:
            raise _OverBudget


class _OverBudget(Exception):
    """Raised through celpy (which only catches its own and a few builtin exceptions)."""


class _BudgetedEvaluator(Evaluator):
    """celpy's tree-walking evaluator, counting every node it visits against one budget.

    Comprehensions (``all``, ``exists``, ``map``, ``filter``) evaluate their body with a
    sub-evaluator per element; ``sub_evaluator`` hands each the same budget.
    """

    def __init__(self, ast: _Tree, activation: Activation, budget: _Budget) -> None:
        super().__init__(ast, activation)
        self._budget = budget

    def sub_evaluator(self, ast: _Tree) -> Evaluator:
        return _BudgetedEvaluator(ast, self.activation, self._budget)

    def visit(self, tree: _Tree) -> Result:
        self._budget.spend()
        return cast(Result, super().visit(tree))

    def visit_children(self, tree: _Tree) -> list[Result]:
        self._budget.spend(len(tree.children))
        return super().visit_children(tree)


@dataclass(frozen=True)
class Condition:
    """A compiled CEL expression; evaluate it with ``evaluate``."""

    source: str
    ast: _Tree = field(repr=False, compare=False)
    # Top-level names used as ``name.field`` (``subscription.permissions``): checked at load.
    references: tuple[tuple[str, str], ...] = ()


def _environment() -> celpy.Environment:
    # celpy's Environment sets the recursion limit to 2500 (CEL's minimum nesting); it must
    # never lower a limit the program runs with.
    before = sys.getrecursionlimit()
    env = celpy.Environment()
    sys.setrecursionlimit(max(before, sys.getrecursionlimit()))
    return env


def compile_condition(source: str) -> Condition:
    if len(source) > MAX_SOURCE_CHARS:
        raise CelError(
            f"the expression is {len(source)} characters; at most {MAX_SOURCE_CHARS} are allowed "
            "(split the rule into several policies)"
        )
    if not source.strip():
        raise CelError("the expression is empty")
    try:
        ast = _environment().compile(source)
    except CELParseError as exc:
        line, column = exc.line or 0, exc.column or 0
        raise CelError(
            f"CEL syntax error at line {line}, column {column}{_near(source, line, column)}",
            line=line,
            column=column,
        ) from None
    except RecursionError:
        raise CelError("the expression is nested too deeply") from None
    if _depth_exceeds(ast, MAX_TREE_DEPTH):
        raise CelError("the expression is nested too deeply")
    if any(_method(node) in _REFUSED_METHODS for node in ast.iter_subtrees()):
        raise CelError(
            "reduce() is not CEL (an extension of the celpy library) and is not allowed: its "
            "accumulator can double at every step; use all, exists, filter, map or size"
        )
    return Condition(source, ast, tuple(sorted(set(_references(ast)))))


def to_cel(value: Any) -> celtypes.Value:
    """Plain JSON-like data as celpy values: convert a subject once, evaluate it many times."""
    return json_to_cel(value)


def evaluate_cel(condition: Condition, variables: Mapping[str, celtypes.Value]) -> bool:
    """The condition's value over ``variables`` (plain data converted by ``to_cel``); it must be
    a boolean."""
    # A layer over one shared base activation (celpy's own way for comprehensions), rather than
    # celpy's per-evaluation parser, runner and deep copy of every name it knows.
    activation = _base_activation().nested_activation(vars=variables)
    evaluator = _BudgetedEvaluator(condition.ast, activation, _Budget())
    try:
        value = evaluator.evaluate()
    except CELEvalError as exc:
        raise CelError(_eval_message(exc)) from None
    except _OverBudget:
        raise CelError(
            f"evaluation took more than {MAX_STEPS} steps (a comprehension over too much data?)"
        ) from None
    except RecursionError:
        raise CelError("evaluation nested too deeply") from None
    if not isinstance(value, celtypes.BoolType):
        raise CelError(f"the condition must be true or false, not {_type_name(value)}")
    return bool(value)


@functools.cache
def _base_activation() -> Activation:
    """celpy's default names and functions; never changed (evaluations add a nested layer)."""
    return _environment().program(lark.Tree("expr", [])).new_activation()


def fields_read(condition: Condition, name: str) -> tuple[str, ...] | None:
    """The fields of variable ``name`` the condition reads, when it reads ``name`` only as
    ``name.field``: its value is then a function of those fields' values alone (CEL is pure).
    None when ``name`` appears any other way: whole (``size(name)``, ``name['f']``), as a field
    or function name, or rebound as a comprehension's variable."""
    uses = sum(
        1
        for node in condition.ast.iter_subtrees()
        for token in node.children
        if isinstance(token, lark.Token) and str(token) == name
    )
    fields = [field for left, field in _references(condition.ast) if left == name]
    if uses != len(fields):
        return None
    return tuple(sorted(set(fields)))


def _eval_message(exc: CELEvalError) -> str:
    text = str(exc.args[0]) if exc.args else "evaluation failed"
    # "undeclared reference to 'x' (in activation '…every function celpy has…')"
    text = text.split(" (in activation", 1)[0]
    overload = _OVERLOAD.match(text)
    if overload:  # "found no matching overload for Token('RULE', 'relation_ne') applied to …"
        operator = _OPERATORS.get(overload.group(1), overload.group(1))
        types = " and ".join(_short_type(t) for t in _TYPE.findall(overload.group(2)))
        text = f"{operator} does not apply to {types or 'these values'}"
        if "null" in types:
            text += " (test the field against null first, e.g. `subscription.expires != null`)"
    if text.startswith("no such member"):
        text += " (a field this kind of policy does not have; see docs/policies.md)"
    return text


_OVERLOAD = re.compile(r"found no matching overload for Token\('RULE', '(\w+)'\) applied to (.*)")
_TYPE = re.compile(r"<class '([\w.]+)'>")
_OPERATORS = {
    "relation_eq": "==",
    "relation_ne": "!=",
    "relation_lt": "<",
    "relation_le": "<=",
    "relation_gt": ">",
    "relation_ge": ">=",
    "relation_in": "in",
    "addition_add": "+",
    "addition_sub": "-",
    "multiplication_mul": "*",
    "multiplication_div": "/",
    "multiplication_mod": "%",
}


def _short_type(name: str) -> str:
    short = name.rsplit(".", 1)[-1].removesuffix("Type").lower()
    return {"none": "null", "map": "a map", "list": "a list"}.get(short, short)


def _type_name(value: Any) -> str:
    names = {
        celtypes.StringType: "a string",
        celtypes.IntType: "a number",
        celtypes.UintType: "a number",
        celtypes.DoubleType: "a number",
        celtypes.ListType: "a list",
        celtypes.MapType: "a map",
    }
    if value is None:
        return "null"
    return next((n for t, n in names.items() if isinstance(value, t)), type(value).__name__)


def _near(source: str, line: int, column: int) -> str:
    lines = source.splitlines() or [""]
    if not 1 <= line <= len(lines):
        return ""
    text = lines[line - 1]
    start = max(0, column - 20)
    snippet = text[start : column + 20].strip()
    return f": near `{snippet}`" if snippet else ""


# celpy's ``reduce`` macro (not in the CEL spec): ``xs.reduce(r, x, [1], r + r)`` grows 2**len(xs),
# memory the step budget cannot see.
_REFUSED_METHODS = frozenset({"reduce"})


def _method(node: _Tree) -> str:
    """``reduce`` for ``xs.reduce(…)``; "" for any other node."""
    if node.data != "member_dot_arg" or len(node.children) < 2:
        return ""
    token = node.children[1]
    return str(token) if isinstance(token, lark.Token) else ""


def _depth_exceeds(tree: _Tree, limit: int) -> bool:
    stack: list[tuple[Any, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(node, lark.Tree):
            stack.extend((child, depth + 1) for child in node.children)
    return False


def _references(tree: _Tree) -> Iterator[tuple[str, str]]:
    """``(name, field)`` for every ``name.field`` whose left side is a bare identifier."""
    for node in tree.iter_subtrees():
        if node.data != "member_dot" or len(node.children) != 2:
            continue
        left, right = node.children
        name = _bare_ident(left)
        if name is not None and isinstance(right, lark.Token):
            yield name, str(right)


def _bare_ident(node: Any) -> str | None:
    # member → primary → ident → Token
    while isinstance(node, lark.Tree) and node.data in ("member", "primary") and node.children:
        if len(node.children) != 1:
            return None
        node = node.children[0]
    if isinstance(node, lark.Tree) and node.data == "ident" and node.children:
        token = node.children[0]
        return str(token) if isinstance(token, lark.Token) else None
    return None
