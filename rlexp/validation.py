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
from rlexp.schemas import ActionKind


class ConfigError(ValueError):
    """A config that cannot produce a run; the message lists every problem found."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid config:\n" + "\n".join(f"  - {p}" for p in problems))


def validate(cfg: DictConfig) -> None:
    """Raise ConfigError listing every problem in `cfg`; return quietly when it is sound."""
    problems: list[str] = []
    for group in registry.CONFIG_GROUPS:
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
        missing = sorted(OmegaConf.missing_keys(node))
        if missing:
            problems += [
                f"{key}: {group}={node.name} needs a value (it is ???); set it with {key}=..."
                for key in (k if k.startswith(f"{group}.") else f"{group}.{k}" for k in missing)
            ]
            continue
        problems += _bounds(node, group)
        problems += _extra_problems(group, node)
        own_rules = getattr(OmegaConf.to_object(node), "problems", None)
        problems += [f"{group}.{p}" for p in own_rules()] if own_rules else []
    problems += _bounds(cfg.train, "train")
    problems += _bounds(cfg.sweep, "sweep")
    problems += _bounds(cfg, "", recurse=False)
    problems += _combinations(cfg)
    if problems:
        raise ConfigError(problems)


def bound_problems(node: DictConfig, path: str) -> list[str]:
    """Unknown keys and out-of-range values of a typed node (and its typed children)."""
    return _bounds(node, path)


def _extra_problems(group: str, node: DictConfig) -> list[str]:
    """An option whose optional extra is not installed, with the command that installs it."""
    from rlexp.extras import EXTRAS

    schema = registry.get(group, node.name).schema
    extra = EXTRAS.get(getattr(schema, "requires_extra", None) or "")
    if extra is None or extra.installed():
        return []
    alternatives = [
        name
        for name in registry.names(group)
        if not getattr(registry.get(group, name).schema, "requires_extra", None)
    ]
    return [
        f"{group}={node.name} needs the optional '{extra.name}' extra ({extra.requirement}), "
        f"which is not installed; install it with: {extra.install_command()}; or choose "
        f"an option that needs no extra: {', '.join(f'{group}={n}' for n in alternatives)}"
    ]


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

    problems = _fact_rules(cfg)
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


def _fact_rules(cfg: DictConfig) -> list[str]:
    """Rules on the static facts options declare (see `rlexp.schemas.ComponentConfig`)."""
    try:
        env, agent, buffer, driver = (
            OmegaConf.to_object(cfg[group]) for group in ("env", "agent", "buffer", "driver")
        )
    except Exception:  # a group already reported as broken; its facts are unknown
        return []
    problems = []

    kind, kinds = _action_kind(env), getattr(agent, "action_kinds", None)
    if kind not in (None, ActionKind.unknown) and kinds and kind not in kinds:
        wanted = " or ".join(str(k) for k in kinds)
        envs = [n for n in registry.names("env") if _action_kind(_option("env", n)) in kinds]
        agents = [
            n
            for n in registry.names("agent")
            if kind in getattr(registry.get("agent", n).schema, "action_kinds", ())
        ]
        fix = f"choose an env with {wanted} actions ({_choices('env', envs)})"
        if kind == ActionKind.continuous and ActionKind.discrete in kinds:
            fix += ", add {name: ActionDiscretizeWrapper, num_actions: 5} to env.wrappers"
        fix += f", or an agent for {kind} actions ({_choices('agent', agents)})"
        problems.append(
            f"env={env.name} takes {kind} actions but agent={agent.name} needs {wanted} "
            f"actions; {fix}"
        )

    if getattr(driver, "needs_python_env", False) and getattr(env, "python_env", None) is False:
        drivers = [
            n
            for n in registry.names("driver")
            if not getattr(registry.get("driver", n).schema, "needs_python_env", False)
        ]
        envs = [
            n
            for n in registry.names("env")
            if getattr(registry.get("env", n).schema, "python_env", None)
        ]
        problems.append(
            f"driver={driver.name} steps a Python environment (PyDriver) but env={env.name} is "
            f"a native TF environment with no Python environment inside; use "
            f"{_choices('driver', drivers, ' or ')} with env={env.name}, or keep "
            f"driver={driver.name} with a Python env ({_choices('env', envs)})"
        )

    problems += _fused_rules(env, buffer, driver)

    limit = getattr(buffer, "max_env_batch_size", None)
    copies = getattr(env, "num_parallel_envs", 1)
    if limit is not None and copies > limit:
        buffers = [
            n
            for n in registry.names("buffer")
            if getattr(registry.get("buffer", n).schema, "max_env_batch_size", None) is None
        ]
        problems.append(
            f"buffer={buffer.name} takes batches from {limit} env copy but "
            f"env.num_parallel_envs={copies}; use env.num_parallel_envs={limit} with "
            f"buffer={buffer.name}, or a buffer for batched envs ({_choices('buffer', buffers)})"
        )
    return problems


def _fused_rules(env: Any, buffer: Any, driver: Any) -> list[str]:
    """A driver running everything in one graph needs a native TF env and a TF buffer."""
    problems = []
    if getattr(driver, "needs_native_tf_env", False) and getattr(env, "python_env", None):
        envs = [
            n
            for n in registry.names("env")
            if getattr(registry.get("env", n).schema, "python_env", None) is False
        ]
        problems.append(
            f"driver={driver.name} runs collection inside one TF graph but env={env.name} is "
            f"a Python environment (each step would leave the graph); use "
            f"driver={driver.name} with a native TF env ({_choices('env', envs)}), or keep "
            f"env={env.name} with driver=step"
        )
    if getattr(driver, "needs_in_graph_replay", False) and not getattr(
        buffer, "in_graph_replay", False
    ):
        buffers = [
            n
            for n in registry.names("buffer")
            if getattr(registry.get("buffer", n).schema, "in_graph_replay", False)
        ]
        problems.append(
            f"driver={driver.name} samples the replay buffer inside one TF graph but "
            f"buffer={buffer.name} is not sampled in-graph; use driver={driver.name} with "
            f"{_choices('buffer', buffers, ' or ')}, or keep buffer={buffer.name} with "
            f"driver=step"
        )
    return problems


def _action_kind(env_cfg: Any) -> ActionKind | None:
    method = getattr(env_cfg, "action_kind", None)
    return method() if callable(method) else None


def _option(group: str, name: str) -> Any:
    """Option `name` of `group` as configured by its YAML preset (its schema's defaults if it
    has none), for naming the options that would fit; None if it cannot be read alone."""
    component = registry.get(group, name)
    node = OmegaConf.structured(component.schema)
    preset = registry.CONF_DIR / group / f"{name}.yaml"
    try:
        if preset.exists():
            values = OmegaConf.load(preset)
            values.pop("defaults", None)
            node = OmegaConf.merge(node, values)
        node.name = name
        return OmegaConf.to_object(node)
    except Exception:  # interpolations into the rest of the config, missing values
        return None


def _choices(group: str, names: list[str], joiner: str = ", ") -> str:
    return joiner.join(f"{group}={n}" for n in names) if names else "none is registered"
