"""Bounds a schema field declares (`rlexp.schemas.bounded`): unknown keys, out-of-range,
non-finite and beyond-int64 values of a typed config node. The ground floor of validation,
used by the components that check their own parts (env wrappers) and by `rlexp eval`."""

from __future__ import annotations

import dataclasses
import difflib
import math
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

INT64 = (-(2**63), 2**63 - 1)


def unknown_key(key: str, path: str, schema: type, how: str = "") -> str:
    """Why `path.key` is refused when `schema` (a dataclass) lacks it: the nearest valid key,
    if one is close (a typo), and all of them."""
    fields = sorted(f.name for f in dataclasses.fields(schema))
    prefix = f"{path}." if path else ""
    settable = [f for f in fields if f != "name"]  # `name` is the group's choice
    close = difflib.get_close_matches(key, settable, n=1) or [
        f for f in settable if key in f.split("_")
    ][:1]
    guess = f"did you mean {prefix}{close[0]}? " if close else ""
    return f"unknown key{how}; {guess}valid keys: {', '.join(fields)}"


def bound_problems(node: DictConfig, path: str, recurse: bool = True) -> list[str]:
    """Unknown keys and out-of-range values of a typed node (and its typed children)."""
    schema = OmegaConf.get_type(node)
    if schema is None or not dataclasses.is_dataclass(schema):
        return []
    fields = {f.name for f in dataclasses.fields(schema)}
    problems = [
        f"{path + '.' if path else ''}{key}: "
        + unknown_key(str(key), path, schema, " (added with '+'?)")
        for key in node.keys()
        if key not in fields
    ]
    for f in dataclasses.fields(schema):
        key = f"{path}.{f.name}" if path else f.name
        value = node.get(f.name)
        if isinstance(value, DictConfig):
            if recurse:
                problems += bound_problems(value, key)
            continue
        values = list(value) if isinstance(value, ListConfig) else [value]
        for item in values:
            problem = out_of_bounds(item, f.metadata or {})
            if problem:
                problems.append(f"{key}={show(value)}: {problem}")
                break
    return problems


def out_of_bounds(value: Any, rule: dict) -> str | None:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    if isinstance(value, float) and not math.isfinite(value) and rule.get("finite", True):
        return "must be a finite number (not inf or nan)"
    if isinstance(value, int) and not INT64[0] <= value <= INT64[1]:
        return f"does not fit a 64-bit integer (at most {INT64[1]})"
    checks = (
        ("ge", lambda b: value >= b, ">="),
        ("gt", lambda b: value > b, ">"),
        ("le", lambda b: value <= b, "<="),
        ("lt", lambda b: value < b, "<"),
    )
    active = [(k, ok, sign) for k, ok, sign in checks if rule.get(k) is not None]
    if all(ok(rule[k]) for k, ok, _ in active):
        return None
    return "must be " + " and ".join(f"{sign} {rule[k]}" for k, _, sign in active)


def show(value: Any) -> str:
    if isinstance(value, ListConfig):
        return str(OmegaConf.to_container(value))
    return str(value)


def value_problem(schema: type, name: str, value: Any) -> str | None:
    """Why `value` is out of the bounds field `name` of `schema` declares (None if in)."""
    field = next(f for f in dataclasses.fields(schema) if f.name == name)
    return out_of_bounds(value, field.metadata or {})


# OmegaConf's reason a value is refused -> what the key takes.
_TAKES = (
    ("could not be converted to Integer", "must be an integer"),
    ("could not be converted to Float", "must be a number"),
    ("is not a valid bool", "must be true or false"),
    ("is not Optional", "must have a value (null is not allowed)"),
    ("to string", "must be a string"),
    ("is not a ListConfig, list or tuple", "must be a list: {key}=[...]"),
)


def value_takes(reason: str, key: str) -> str | None:
    """What `key` takes ("must be an integer"), from OmegaConf's reason for refusing a value
    ("... could not be converted to Integer"); None for another reason."""
    takes = next((t for phrase, t in _TAKES if phrase in reason), None)
    return takes.format(key=key) if takes else None
