"""A stand-in for AWS's policy evaluation: whether a role's trust policy lets a web-identity
token assume it. AWS IAM itself cannot run here, so this evaluates the few things the
synthesized trust policies use, by the rules of the IAM documentation
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
and .../reference_policies_condition-logic-multiple-context-keys-or-values.html):

- `StringEquals`: exact, case-sensitive; `StringLike`: case-sensitive, `*` matches any run of
  characters (none included) and `?` exactly one, anywhere in the value;
- a key absent from the request makes its condition false;
- several values of one key: any may match (OR); several keys, several operators: all must
  hold (AND);
- an explicit Deny wins over any Allow; nothing allowed is denied.

Any other operator, or a set operator (`ForAnyValue:`, `ForAllValues:`), raises
`Unsupported` instead of guessing: a policy that starts using one needs this stand-in to learn
it first, with tests against the documentation's examples (tests/unit/test_iam_policy.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

Context = Mapping[str, str]
"""The request's single-valued context keys, e.g. `token.actions.githubusercontent.com:sub`."""


def _values(value: Any) -> list[Any]:
    """A policy element's values: IAM allows one value or a list of them."""
    return value if isinstance(value, list) else [value]


class Unsupported(ValueError):
    """The policy uses something this stand-in does not evaluate."""


def like(pattern: str, value: str) -> bool:
    """`StringLike`: `*` any run of characters, `?` one character, the rest literal."""
    parts = ("." if c == "?" else ".*" if c == "*" else re.escape(c) for c in pattern)
    return re.fullmatch("".join(parts), value, flags=re.DOTALL) is not None


OPERATORS: dict[str, Callable[[str, str], bool]] = {
    "StringEquals": lambda expected, value: expected == value,
    "StringLike": like,
}


def condition_holds(condition: Mapping[str, Mapping[str, Any]], context: Context) -> bool:
    """Every operator's every key holds (AND); a key holds when any value matches (OR)."""
    for operator, keys in condition.items():
        if operator not in OPERATORS:
            raise Unsupported(f"condition operator {operator!r}")
        matches = OPERATORS[operator]
        for key, expected in keys.items():
            value = context.get(key)
            if value is None or not any(matches(e, value) for e in _values(expected)):
                return False
    return True


def _applies(statement: Mapping[str, Any], action: str, principal: Any, context: Context) -> bool:
    actions = _values(statement["Action"])
    federated = _values(statement.get("Principal", {}).get("Federated"))
    return (
        action in actions
        and principal in federated
        and condition_holds(statement.get("Condition", {}), context)
    )


def allowed(document: Mapping[str, Any], action: str, principal: Any, context: Context) -> bool:
    """Whether `principal` (the Federated value, as the template writes it) may perform
    `action` with `context` under the policy `document`: an applying Deny wins, else an
    applying Allow, else no."""
    applying = [s for s in document["Statement"] if _applies(s, action, principal, context)]
    if any(s["Effect"] == "Deny" for s in applying):
        return False
    return any(s["Effect"] == "Allow" for s in applying)
