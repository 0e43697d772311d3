"""Env wrappers (registry group `wrapper`), applied from the ordered list `env.wrappers`.

Each entry of `env.wrappers` is a registered wrapper name with its arguments, e.g.

    env.wrappers: [{name: TimeLimit, duration: 200}, {name: RunStats}]

The first entry wraps the Python environment first (innermost), as TF-Agents'
`suite_gym.load(env_wrappers=...)` does. Names are TF-Agents' class names. A wrapper's
builder is `build(cfg, context)` where `context.env` is the `PyEnvironment` to wrap; a
plugin adds its own wrapper with `@register("wrapper", "MyWrapper", schema=..., doc=...)`.
A wrapper schema subclasses `rlexp.schemas.WrapperConfig` and may declare its facts
`needs_action_kind` (the inner env must take that kind of action) and `gives_action_kind`
(the kind the wrapped env takes), which validation uses to know an env's actions without
building it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from omegaconf import MISSING, DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from rlexp import registry
from rlexp.bounds import value_takes
from rlexp.context import BuildContext, BuildError
from rlexp.registry import register
from rlexp.schemas import ActionKind, WrapperConfig, bounded, documented


@dataclass
class TimeLimitConfig(WrapperConfig):
    duration: int = bounded(
        MISSING,
        gt=0,
        doc="env steps after which an episode ends (LAST), never beyond the env's own limit",
    )


@dataclass
class ActionDiscretizeConfig(WrapperConfig):
    num_actions: int = bounded(5, ge=2, doc="evenly spaced actions per continuous action dim")

    needs_action_kind: ClassVar[ActionKind | None] = ActionKind.continuous
    gives_action_kind: ClassVar[ActionKind | None] = ActionKind.discrete


@dataclass
class ActionClipConfig(WrapperConfig):
    needs_action_kind: ClassVar[ActionKind | None] = ActionKind.continuous


@dataclass
class FlattenObservationsConfig(WrapperConfig):
    observations_allowlist: list[str] | None = documented(
        None, "keys of a dict observation to keep; null = all"
    )


@dataclass
class HistoryConfig(WrapperConfig):
    history_length: int = bounded(3, gt=0, doc="most recent observations stacked")
    include_actions: bool = documented(False, "also stack the actions (a dict observation)")
    tile_first_step_obs: bool = documented(False, "fill the history with the first observation")


@register("wrapper", "TimeLimit", schema=TimeLimitConfig, doc="End episodes after N steps.")
def build_time_limit(cfg: TimeLimitConfig, context: BuildContext):
    from tf_agents.environments import wrappers

    return wrappers.TimeLimit(context.env, duration=cfg.duration)


@register(
    "wrapper",
    "ActionDiscretizeWrapper",
    schema=ActionDiscretizeConfig,
    doc="Continuous actions -> num_actions discrete ones.",
)
def build_action_discretize(cfg: ActionDiscretizeConfig, context: BuildContext):
    from tf_agents.environments import wrappers

    env = _scalar_bounds(context.env)
    return wrappers.ActionDiscretizeWrapper(env, num_actions=cfg.num_actions)


def _scalar_bounds(env: Any) -> Any:
    """`env`, a one-element action's array bounds (DeepMind Control's) made scalars:
    TF-Agents' wrapper turns a (1,) action into a scalar one and cannot broadcast array
    bounds to that shape."""
    import numpy as np
    from tf_agents.environments import wrappers
    from tf_agents.specs import array_spec

    spec = env.action_spec()
    if not isinstance(spec, array_spec.BoundedArraySpec) or spec.shape != (1,):
        return env
    if np.ndim(spec.minimum) == 0 and np.ndim(spec.maximum) == 0:
        return env  # scalar bounds (gym's): the wrapper takes them as they are
    scalar = array_spec.BoundedArraySpec(
        spec.shape, spec.dtype, np.ravel(spec.minimum)[0], np.ravel(spec.maximum)[0], spec.name
    )

    class ScalarBounds(wrappers.PyEnvironmentBaseWrapper):
        def action_spec(self) -> Any:
            return scalar

    return ScalarBounds(env)


@register("wrapper", "RunStats", schema=WrapperConfig, doc="Count episodes, resets and steps.")
def build_run_stats(cfg: WrapperConfig, context: BuildContext):
    from tf_agents.environments import wrappers

    return wrappers.RunStats(context.env)


@register("wrapper", "ActionClipWrapper", schema=ActionClipConfig, doc="Clip actions to the spec.")
def build_action_clip(cfg: ActionClipConfig, context: BuildContext):
    from tf_agents.environments import wrappers

    return wrappers.ActionClipWrapper(context.env)


@register(
    "wrapper",
    "FlattenObservationsWrapper",
    schema=FlattenObservationsConfig,
    doc="Dict observation -> one flat array.",
)
def build_flatten_observations(cfg: FlattenObservationsConfig, context: BuildContext):
    from tf_agents.environments import wrappers

    allowlist = None if cfg.observations_allowlist is None else list(cfg.observations_allowlist)
    problem = flatten_problem(context.env.observation_spec())
    if problem:
        raise BuildError(problem)
    return wrappers.FlattenObservationsWrapper(context.env, observations_allowlist=allowlist)


def observation_dtypes(observations: Any) -> dict[str, list[str]]:
    """The dtypes of each array of a dict observation, by key."""
    import tensorflow as tf

    return {
        str(key): sorted({spec.dtype.name for spec in tf.nest.flatten(value)})
        for key, value in observations.items()
    }


def flatten_problem(observations: Any) -> str | None:
    """Why FlattenObservationsWrapper cannot flatten `observations` (an env's observation
    spec) into one array, and what to change; None if it can. Its dtype check covers every
    key, those its `observations_allowlist` leaves out too."""
    import tensorflow as tf

    if not isinstance(observations, Mapping):
        nested = tf.nest.is_nested(observations)
        kind = f"a {type(observations).__name__} of arrays" if nested else "one array"
        return (
            f"FlattenObservationsWrapper flattens a dict observation, and the env observes "
            f"{kind}; remove the wrapper"
        )
    dtypes = observation_dtypes(observations)
    if len({kind for kinds in dtypes.values() for kind in kinds}) <= 1:
        return None
    shown = ", ".join(f"{key}: {'/'.join(kinds)}" for key, kinds in dtypes.items())
    return (
        f"the env's observation arrays have different dtypes ({shown}): "
        f"FlattenObservationsWrapper joins arrays of one dtype only, so no wrapper makes them "
        f"one array; make the env observe arrays of one dtype (HistoryWrapper with "
        f"include_actions=false stacks the observations alone)"
    )


@register("wrapper", "HistoryWrapper", schema=HistoryConfig, doc="Stack the last N observations.")
def build_history(cfg: HistoryConfig, context: BuildContext):
    from tf_agents.environments import wrappers

    return wrappers.HistoryWrapper(
        context.env,
        history_length=cfg.history_length,
        include_actions=cfg.include_actions,
        tile_first_step_obs=cfg.tile_first_step_obs,
    )


def parse(entry: Any, where: str) -> tuple[WrapperConfig | None, list[str]]:
    """The typed config of one `env.wrappers` entry, or the problems that prevent it."""
    if isinstance(entry, DictConfig):
        entry = OmegaConf.to_container(entry, resolve=True)
    wrapper_names = ", ".join(registry.names("wrapper"))
    if not isinstance(entry, Mapping) or "name" not in entry:
        return None, [
            f"{where}={entry}: an entry is a mapping with a wrapper `name` and its arguments, "
            f"e.g. {{name: TimeLimit, duration: 200}}; wrappers: {wrapper_names}"
        ]
    name = entry["name"]
    try:
        component = registry.get("wrapper", name)
    except registry.RegistryError as exc:
        return None, [f"{where}.name={name}: {exc}"]
    fields = {f.name for f in dataclasses.fields(component.schema)}
    unknown = [key for key in entry if key not in fields]
    if unknown:
        valid = ", ".join(sorted(k for k in fields if k != "name")) or "(none)"
        return None, [
            f"{where}.{key}: {name} has no argument {key!r}; its arguments: {valid}"
            for key in unknown
        ]
    try:
        node = OmegaConf.merge(OmegaConf.structured(component.schema), entry)
    except OmegaConfBaseException as exc:
        takes = value_takes(str(exc), f"{where}.{exc.key}")
        if takes and exc.key in entry:
            value = entry.get(exc.key)
            return None, [f"{where}.{exc.key}={value}: {name}'s {exc.key} {takes}"]
        message = str(exc).splitlines()[0]
        return None, [f"{where} ({name}): {message}"]
    missing = sorted(OmegaConf.missing_keys(node))
    if missing:
        return None, [f"{where}.{key}: {name} needs a value for {key!r}" for key in missing]
    from rlexp.bounds import bound_problems

    problems = bound_problems(node, where)
    return (None if problems else OmegaConf.to_object(node)), problems


def problems(entries: Iterable[Any], inner_kind: ActionKind) -> list[str]:
    """Every problem of an `env.wrappers` list over an env taking `inner_kind` actions."""
    found: list[str] = []
    kind = inner_kind
    for index, entry in enumerate(entries):
        where = f"wrappers[{index}]"
        cfg, entry_problems = parse(entry, where)
        found += entry_problems
        if cfg is None:
            continue
        needed = cfg.needs_action_kind
        if needed is not None and kind not in (needed, ActionKind.unknown):
            found.append(
                f"{where}.name={cfg.name}: needs an env with {needed} actions, but it wraps "
                f"one with {kind} actions; remove it or choose an env with {needed} actions"
            )
        kind = cfg.gives_action_kind or kind
    return found


def action_kind(entries: Iterable[Any], inner_kind: ActionKind) -> ActionKind:
    """The action kind of an env taking `inner_kind` actions after `entries` wrap it."""
    kind = inner_kind
    for entry in entries:
        component = _component(entry)
        if component is not None:
            kind = component.schema.gives_action_kind or kind
    return kind


def apply(py_env: Any, entries: Iterable[Any], context: BuildContext) -> Any:
    """`py_env` wrapped by every entry in order (the first innermost)."""
    from dataclasses import replace

    for index, entry in enumerate(entries):
        where = f"env.wrappers[{index}]"
        cfg, entry_problems = parse(entry, where)
        if cfg is None:
            raise ValueError("; ".join(entry_problems))
        builder = registry.get("wrapper", cfg.name).builder
        try:
            py_env = builder(cfg, replace(context, env=py_env))
        except BuildError as exc:
            raise BuildError(f"{where} ({cfg.name}): {exc}") from exc
    return py_env


def _component(entry: Any) -> registry.Component | None:
    name = entry.get("name") if isinstance(entry, Mapping | DictConfig) else None
    try:
        return registry.get("wrapper", name) if name is not None else None
    except registry.RegistryError:
        return None
