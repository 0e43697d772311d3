"""Nested configs as dotted keys (`agent.learning_rate`): MLflow's parameters, and the keys
`rlexp report` groups runs by. Imports nothing of rlexp, so the report stays light."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def flatten(node: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(node, Mapping):
        flat: dict[str, Any] = {}
        for key, value in node.items():
            flat.update(flatten(value, f"{prefix}{key}."))
        return flat
    return {prefix[:-1]: node}
