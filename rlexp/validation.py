"""Validation of a composed config before anything is built.

Hydra has already rejected unknown keys, wrong types and unknown options at compose time;
this adds what types cannot say: value ranges, registered builders and combination rules.
Every problem names the key, the value and what would be valid. No TensorFlow here.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

from rlexp import registry


class ConfigError(ValueError):
    """A config that cannot produce a run; the message lists every problem found."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid config:\n" + "\n".join(f"  - {p}" for p in problems))


def validate(cfg: DictConfig) -> None:
    """Raise ConfigError listing every problem in `cfg`; return quietly when it is sound."""
    problems: list[str] = []
    for group in registry.GROUPS:
        node = cfg.get(group)
        if not isinstance(node, DictConfig) or "name" not in node:
            problems.append(
                f"{group}: no option selected; choose one of: {', '.join(registry.names(group))}"
            )
            continue
        try:
            registry.get(group, node.name)
        except registry.RegistryError as exc:
            problems.append(f"{group}.name={node.name}: {exc}")
            continue
        problems += _bounds(node, group)
        own_rules = getattr(OmegaConf.to_object(node), "problems", None)
        problems += [f"{group}.{p}" for p in own_rules()] if own_rules else []
    problems += _bounds(cfg.train, "train")
    problems += _bounds(cfg.sweep, "sweep")
    problems += _bounds(cfg, "", recurse=False)
    problems += _combinations(cfg)
    if problems:
        raise ConfigError(problems)


def _bounds(node: DictConfig, path: str, recurse: bool = True) -> list[str]:
    schema = OmegaConf.get_type(node)
    if schema is None or not dataclasses.is_dataclass(schema):
        return []
    fields = {f.name for f in dataclasses.fields(schema)}
    problems = [
        f"{path + '.' if path else ''}{key}: unknown key (added with '+'?); "
        f"valid keys: {', '.join(sorted(fields))}"
        for key in node.keys()
        if key not in fields
    ]
    for f in dataclasses.fields(schema):
        key = f"{path}.{f.name}" if path else f.name
        value = node.get(f.name)
        if isinstance(value, DictConfig):
            if recurse:
                problems += _bounds(value, key)
            continue
        values = list(value) if isinstance(value, ListConfig) else [value]
        for item in values:
            problem = _out_of_bounds(item, f.metadata or {})
            if problem:
                problems.append(f"{key}={_show(value)}: {problem}")
                break
    return problems


def _out_of_bounds(value: Any, rule: dict) -> str | None:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
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


def _show(value: Any) -> str:
    if isinstance(value, ListConfig):
        return str(OmegaConf.to_container(value))
    return str(value)


def _combinations(cfg: DictConfig) -> list[str]:
    """Rules across groups: choices that are each valid but do not fit together."""
    from rlexp.training.run_files import NUMERIC_METRICS

    problems = []
    if cfg.sweep.objective not in NUMERIC_METRICS:
        problems.append(
            f"sweep.objective={cfg.sweep.objective}: not a numeric metrics.json key; "
            f"choose one of: {', '.join(NUMERIC_METRICS)}"
        )
    buffer = cfg.buffer
    if "max_length" in buffer and "sample_batch_size" in buffer:
        if buffer.max_length < buffer.sample_batch_size:
            problems.append(
                f"buffer.max_length={buffer.max_length} is smaller than "
                f"buffer.sample_batch_size={buffer.sample_batch_size}: a batch cannot be sampled; "
                f"raise buffer.max_length or lower buffer.sample_batch_size"
            )
    return problems
