"""Validation of a composed config before anything is built.

Hydra has already rejected unknown keys, wrong types and unknown options at compose time;
this adds what types cannot say: value ranges, registered builders and combination rules.
Every problem names the key, the value and what would be valid. No TensorFlow here.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from omegaconf import MISSING, DictConfig, OmegaConf

from rlexp import registry
from rlexp.bounds import bound_problems
from rlexp.override_errors import deletion_refused
from rlexp.schedule_rules import Schedule, budget_rules, first_sample_rules
from rlexp.schemas import ActionKind, NetworkConfig, NetworkRole, RlexpConfig


class ConfigError(ValueError):
    """A config that cannot produce a run; the message lists every problem found."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid config:\n" + "\n".join(f"  - {p}" for p in problems))


def validate(cfg: DictConfig, hydra: DictConfig | None = None) -> None:
    """Raise ConfigError listing every problem in `cfg`; return quietly when it is sound.

    `hydra`: Hydra's node of the command that composed `cfg` (its overrides and the options
    it chose), so that a problem the command line made is said as such; by default the
    running job's (HydraConfig), none outside a job."""
    problems = _deleted_problems(cfg) + _interpolation_problems(cfg)
    if problems:
        raise ConfigError(problems)  # every other check reads the values
    command = _Command.of(hydra)
    problems += _bool_problems(cfg, command.overrides)
    for group in registry.CONFIG_GROUPS:
        problems += _group_problems(group, cfg.get(group), command)
    if isinstance(cfg.get("logger"), DictConfig):
        problems += _own_problems("logger", cfg.logger)
    problems += bound_problems(cfg.train, "train")
    problems += bound_problems(cfg.sweep, "sweep")
    problems += bound_problems(cfg, "", recurse=False)
    problems += _combinations(cfg)
    if problems:
        raise ConfigError(problems)


@dataclasses.dataclass(frozen=True)
class _Command:
    """What the command line did: its overrides (parsed) and the option chosen per group."""

    overrides: list[Any]
    choices: dict[str, str]

    @classmethod
    def of(cls, hydra: DictConfig | None) -> _Command:
        from hydra.core.hydra_config import HydraConfig
        from hydra.core.override_parser.overrides_parser import OverridesParser

        if hydra is None and HydraConfig.initialized():
            hydra = HydraConfig.get()
        if hydra is None:
            return cls([], {})
        # Unresolved: an override is text as written (`agent.gamma=${nope}` is the sweep's
        # own problem to report, not an interpolation to resolve here).
        task = _unresolved(hydra, "overrides.task") or []
        choices = _unresolved(hydra, "runtime.choices") or {}
        parsed = OverridesParser.create().parse_overrides(task)
        return cls(parsed, {str(k): str(v) for k, v in choices.items()})

    def sets(self, key: str) -> bool:
        """Whether an override sets `key` (not a sweep of it, not its deletion)."""
        return any(o.key_or_group == key and not o.is_delete() for o in self.overrides)


def _unresolved(node: DictConfig, key: str) -> Any:
    """`node`'s value at `key` as plain Python, interpolations left as written."""
    value = OmegaConf.select(node, key, default=None, throw_on_resolution_failure=False)
    return OmegaConf.to_container(value, resolve=False) if OmegaConf.is_config(value) else value


def _group_problems(group: str, node: Any, command: _Command) -> list[str]:
    """The problems of the option the config group selects."""
    if isinstance(node, DictConfig) and OmegaConf.is_missing(node, "name"):
        return [_unnamed_problem(group, node, command.choices.get(group))]
    if not isinstance(node, DictConfig) or "name" not in node:
        return [f"{group}: no option selected; choose one of: {', '.join(registry.names(group))}"]
    on_command_line = command.sets(f"{group}.name")
    try:
        component = registry.get(group, node.name)
    except registry.RegistryError as exc:
        hint = _name_hint(group, node, None if on_command_line else command.choices.get(group))
        return [f"{group}.name={node.name}: {exc}{hint}"]
    if not _typed(node, component.schema):
        if on_command_line:
            return [_renamed_problem(group, node.name, command.choices.get(group))]
        return [_untyped_problem(group, node.name)]
    missing = sorted(OmegaConf.missing_keys(node))
    if missing:
        return [
            f"{key}: {group}={node.name} needs a value (it is ???); set it with {key}=..."
            for key in (k if k.startswith(f"{group}.") else f"{group}.{k}" for k in missing)
        ]
    return bound_problems(node, group) + _extra_problems(group, node) + _own_problems(group, node)


def _deleted_problems(cfg: DictConfig) -> list[str]:
    """A value of rlexp's root config deleted on the command line (`~seed`): every run reads
    it. (Hydra refuses deleting a key inside one: `override_errors` says so.)"""
    return [
        deletion_refused(f.name)
        for f in dataclasses.fields(RlexpConfig)
        if f.default != MISSING and f.name not in cfg
    ]


def _bool_problems(cfg: DictConfig, overrides: list[Any]) -> list[str]:
    """An integer other than 0 or 1 given to a true/false key: OmegaConf reads any non-zero
    integer as true, which hides a mistyped value (`train.progress=3`)."""
    from omegaconf.nodes import BooleanNode

    problems = []
    for override in overrides:
        if override.is_delete() or override.is_sweep_override():
            continue
        key, value = override.key_or_group, override.value()
        parent, _, leaf = key.rpartition(".")
        node = OmegaConf.select(cfg, parent, default=None) if parent else cfg
        if not (isinstance(node, DictConfig) and leaf in node):
            continue  # a group's choice (`experiment=...`), a key Hydra added
        if not isinstance(node._get_node(leaf), BooleanNode):
            continue
        text = str(value).strip()
        if not isinstance(value, bool) and text.lstrip("+-").isdigit() and int(text) not in (0, 1):
            problems.append(f"{key}={value}: {key} must be true or false")
    return problems


def _typed(node: DictConfig, schema: type) -> bool:
    """Whether the option's node is its schema's (its YAML file extends the schema)."""
    return issubclass(OmegaConf.get_type(node) or dict, schema)


def _untyped_problem(group: str, name: str) -> str:
    """An option YAML file of the user's that does not extend its option's schema: nothing
    would check its keys and types, and builders get a dict."""
    return (
        f"{group}: the YAML file selected for {group} sets name: {name} but does not extend "
        f"that option's schema, so its keys and types go unchecked; make its first lines "
        f"`defaults: [/schema/{group}/{name}@_here_, _self_]`, as rlexp's own option files do"
    )


def _renamed_problem(group: str, name: str, chosen: str | None) -> str:
    """`env.name=cartpole` on the command line: that renames the option chosen, it does not
    choose another."""
    selected = f" (the option chosen is {group}={chosen})" if chosen else ""
    return (
        f"{group}.name={name}: an option is chosen with {group}={name}, not by setting "
        f"{group}.name{selected}; drop {group}.name={name} and give {group}={name}"
    )


def _unnamed_problem(group: str, node: DictConfig, chosen: str | None) -> str:
    """An option file of the user's without `name:` (it is ??? from the schema it extends):
    name is the registered builder the file configures, one registered with that schema."""
    schema = OmegaConf.get_type(node)
    builders = [c.name for c in registry.components(group) if c.schema is schema]
    builders = builders or registry.names(group)  # its schema is no option's own
    which = f"the option chosen ({group}={chosen})" if chosen else f"the {group} option chosen"
    example = (
        f"name: {builders[0]}" if len(builders) == 1 else f"name: <one of {', '.join(builders)}>"
    )
    return (
        f"{group}.name: {which} has no name (it is ???); its YAML file must set the "
        f"registered {group} builder it configures: `{example}`"
    )


def _name_hint(group: str, node: DictConfig, chosen: str | None = None) -> str:
    """`name` selects the option's builder; a gym id set there by mistake belongs in
    `gym_id`. `chosen`: the option whose YAML file set the name, when the command line did
    not: there `name:` is the registered builder the file configures."""
    if chosen is not None and chosen != node.name:
        hint = (
            f" (the YAML file of {group}={chosen} sets name: {node.name}; its name: must be "
            f"the registered {group} builder it configures, one of those above"
        )
    else:
        hint = f" ({group}.name is the option `{group}=<option>` selects"
    if "gym_id" in node:
        hint += f"; the gym or ALE id goes in {group}.gym_id={node.name}"
    return hint + ")"


def _interpolation_problems(cfg: DictConfig) -> list[str]:
    """An interpolation that cannot be resolved (`${nope}`, `${train.nope}`), by key."""
    from omegaconf.errors import InterpolationResolutionError

    try:
        OmegaConf.to_container(cfg, resolve=True)
    except InterpolationResolutionError as exc:
        return [f"{exc.full_key}: {str(exc.msg).splitlines()[0]}"]
    return []


def _own_problems(group: str, node: DictConfig) -> list[str]:
    """What the option's schema says is wrong with its values (its `problems()`)."""
    own_rules = getattr(OmegaConf.to_object(node), "problems", None)
    return [f"{group}.{p}" for p in own_rules()] if own_rules else []


def _extra_problems(group: str, node: DictConfig) -> list[str]:
    """An option whose optional extra is not installed, with the command that installs it."""
    from rlexp.extras import missing_problem

    alternatives = [
        f"{group}={name}"
        for name in registry.names(group)
        if not registry.get(group, name).schema.requires_extra
    ]
    schema = registry.get(group, node.name).schema
    problem = missing_problem(
        schema.requires_extra,
        f"{group}={node.name}",
        f"choose an option that needs no extra: {', '.join(alternatives)}",
    )
    return [problem] if problem else []


def _combinations(cfg: DictConfig) -> list[str]:
    """Rules across groups: choices that are each valid but do not fit together."""
    from rlexp.rundir import RESULT_METRICS, result_choices
    from rlexp.schemas import SEED_MAX

    problems = _fact_rules(cfg)
    last_seed = cfg.seed + cfg.repeat - 1
    if cfg.repeat > 1 and last_seed > SEED_MAX:
        problems.append(
            f"seed={cfg.seed} repeat={cfg.repeat}: the last seed, {last_seed}, is above "
            f"{SEED_MAX}; lower seed or repeat"
        )
    if cfg.sweep.objective not in RESULT_METRICS:
        problems.append(
            f"sweep.objective={cfg.sweep.objective}: not a metrics.json result; choose one "
            f"of: {result_choices()}"
        )
    return problems


def _fact_rules(cfg: DictConfig) -> list[str]:
    """Rules on the facts options declare (the group bases in `rlexp.schemas`)."""
    if any(
        not isinstance(cfg.get(g), DictConfig)
        or cfg[g].get("name") not in registry.names(g)
        or not _typed(cfg[g], registry.get(g, cfg[g].name).schema)
        for g in registry.CONFIG_GROUPS
    ):
        return []  # an option not registered or untyped: reported, its facts unknown
    try:
        env, network, agent, buffer, driver = (
            OmegaConf.to_object(cfg[group])
            for group in ("env", "network", "agent", "buffer", "driver")
        )
    except Exception:  # a group already reported as broken; its facts are unknown
        return []
    kind = _action_kind(env)
    problems = _action_rules(env, network, agent, kind)
    if driver.needs_python_env and not env.python_env:
        drivers = _options("driver", lambda schema: not schema.needs_python_env)
        envs = _options("env", lambda schema: schema.python_env)
        problems.append(
            f"driver={driver.name} steps a Python environment (PyDriver) but env={env.name} is "
            f"a native TF environment with no Python environment inside; use "
            f"{_choices('driver', drivers, ' or ')} with env={env.name}, or keep "
            f"driver={driver.name} with a Python env ({_choices('env', envs)})"
        )

    problems += _fused_rules(env, buffer, driver)
    problems += _priority_rules(env, network, agent, buffer, driver)
    problems += _network_rules(env, network, agent, buffer, driver, kind)
    problems += _image_rules(env, network, agent)
    problems += _video_rules(cfg.train, env)
    schedule = Schedule.of(cfg.train, env, agent, buffer, driver)
    problems += budget_rules(schedule)
    problems += first_sample_rules(schedule, agent)

    limit = buffer.max_env_batch_size
    copies = getattr(env, "num_parallel_envs", 1)
    if limit is not None and copies > limit:
        buffers = _options("buffer", lambda schema: schema.max_env_batch_size is None)
        problems.append(
            f"buffer={buffer.name} takes batches from {limit} env copy but "
            f"env.num_parallel_envs={copies}; use env.num_parallel_envs={limit} with "
            f"buffer={buffer.name}, or a buffer for batched envs ({_choices('buffer', buffers)})"
        )
    return problems


def _action_rules(env: Any, network: Any, agent: Any, kind: ActionKind | None) -> list[str]:
    """The agent acts in the kind of actions the env takes."""
    kinds = agent.action_kinds
    if kind in (None, ActionKind.unknown) or kind in kinds:
        return []
    wanted = " or ".join(str(k) for k in kinds)
    envs = [n for n in registry.names("env") if _action_kind(_option("env", n)) in kinds]
    agents = _agent_choices(env, network, lambda other: True)
    fix = f"choose an env with {wanted} actions ({_choices('env', envs)})"
    why = ""
    if kind == ActionKind.continuous and ActionKind.discrete in kinds:
        # The wrapper discretizes each action dimension; a discrete agent's networks take
        # one action (shape () or (1,)), so it fits a one-dimensional action only.
        shape = env.base_action_shape()
        size = None if shape is None else math.prod(shape)
        if size == 1:
            fix += ", add {name: ActionDiscretizeWrapper, num_actions: 5} to env.wrappers"
        elif size is not None:
            why = (
                f" (its actions have {size} dimensions; ActionDiscretizeWrapper would make "
                f"them {size} discrete actions at once, and discrete-action agents take one)"
            )
    fix += f", or an agent for {kind} actions ({', '.join(agents) or 'none is registered'})"
    return [
        f"env={env.name} takes {kind} actions but agent={agent.name} needs {wanted} "
        f"actions{why}; {fix}"
    ]


def _fused_rules(env: Any, buffer: Any, driver: Any) -> list[str]:
    """A driver running everything in one graph needs a native TF env and a TF buffer.
    (An on-policy agent with it fails the whole-episodes rule of `_network_rules`.)"""
    problems = []
    if driver.needs_native_tf_env and env.python_env:
        envs = _options("env", lambda schema: not schema.python_env)
        problems.append(
            f"driver={driver.name} runs collection inside one TF graph but env={env.name} is "
            f"a Python environment (each step would leave the graph); use "
            f"driver={driver.name} with a native TF env ({_choices('env', envs)}), or keep "
            f"env={env.name} with driver=step"
        )
    if driver.needs_in_graph_replay and not buffer.in_graph_replay:
        buffers = _options("buffer", lambda schema: schema.in_graph_replay)
        problems.append(
            f"driver={driver.name} samples the replay buffer inside one TF graph but "
            f"buffer={buffer.name} is not sampled in-graph; use driver={driver.name} with "
            f"{_choices('buffer', buffers, ' or ')}, or keep buffer={buffer.name} with "
            f"driver=step"
        )
    return problems


def _priority_rules(env: Any, network: Any, agent: Any, buffer: Any, driver: Any) -> list[str]:
    """A buffer prioritized by TD errors needs an agent that reports one per sample."""
    if not buffer.needs_td_errors or agent.reports_td_errors():
        return []
    copies = getattr(env, "num_parallel_envs", 1)

    def fits(b: Any) -> bool:
        return (
            b is not None
            and not b.needs_td_errors
            and (b.max_env_batch_size is None or copies <= b.max_env_batch_size)
            and (b.in_graph_replay or not driver.needs_in_graph_replay)
            and (b.gathers_all or not agent.on_policy)
        )

    buffers = [n for n in registry.names("buffer") if fits(_option("buffer", n))]
    reporting = [] if network.recurrent else _agent_choices(env, network, _reports_td_errors)
    fix = f"use {_choices('buffer', buffers, ' or ')} with agent={agent.name}"
    if reporting:
        fix += f", or an agent that reports them ({', '.join(reporting)})"
    return [
        f"buffer={buffer.name} sets its priorities from the agent's TD error of each sample, "
        f"but agent={agent.name} reports none; {fix}"
    ]


def _reports_td_errors(agent: Any) -> bool:
    return agent.reports_td_errors()


def _agent_choices(env: Any, network: Any, test) -> list[str]:
    """The agent options whose preset passes `test` and acts in the env's action kind, as
    `agent=X` where network fits it, else `agent=X network=Y` with a network that does."""
    kind, choices = _action_kind(env), []
    for name in registry.names("agent"):
        other = _option("agent", name)
        if other is None or not test(other):
            continue
        if kind not in (None, ActionKind.unknown) and kind not in other.action_kinds:
            continue
        fits = network.role in other.network_roles and _acts(network, kind)
        if fits and (other.on_policy or not network.recurrent):
            choices.append(f"agent={name}")
        elif nets := _plain_networks(other.network_roles, env.image_observations, kind):
            choices.append(f"agent={name} network={nets[0]}")
    return choices


def _acts(network: Any, kind: ActionKind | None) -> bool:
    """Whether `network` (a config or a schema) outputs `kind` actions (None: unknown)."""
    return kind in (None, ActionKind.unknown) or kind in network.action_kinds


def _plain_networks(roles: Any, images: bool, kind: ActionKind | None) -> list[str]:
    """Feed-forward network options of `roles` for `kind` actions whose presets fit the
    observations: conv layers for images, none for vectors."""
    return [
        n
        for n in _networks(roles)
        if not _recurrent(n)
        and _acts(registry.get("network", n).schema, kind)
        and _has_conv_layers(_option("network", n)) == images
    ]


def _network_rules(env, network, agent, buffer, driver, kind) -> list[str]:
    """Agent/network fit, recurrent networks' training data, on-policy collection."""
    return (
        _fit_rules(env, network, agent, kind)
        + _sequence_rules(network, agent, buffer)
        + (_on_policy_rules(env, network, agent, buffer, driver) if agent.on_policy else [])
    )


def _fit_rules(env, network, agent, kind) -> list[str]:
    """The network computes what the agent needs, for the actions the env takes."""
    problems = []
    role, roles, on_policy = network.role, agent.network_roles, agent.on_policy
    fits = [
        n
        for n in _networks(roles)
        if (on_policy or not _recurrent(n)) and _acts(registry.get("network", n).schema, kind)
    ]
    if role is not None and role not in roles:
        wanted = " or ".join(_ROLE_TEXT[r] for r in roles)
        problems.append(
            f"agent={agent.name} needs a network computing {wanted} but network={network.name} "
            f"computes {_ROLE_TEXT[role]}; use {_choices('network', fits, ' or ')} with "
            f"agent={agent.name}, or an agent for network={network.name} "
            f"({_choices('agent', _agents_for_role(role))})"
        )
    elif kind not in (None, ActionKind.unknown) and kind in agent.action_kinds:
        net_kinds = network.action_kinds
        if kind not in net_kinds:
            fits = [
                n
                for n in _networks(roles)
                if kind in registry.get("network", n).schema.action_kinds
            ]
            problems.append(
                f"network={network.name} outputs {' or '.join(map(str, net_kinds))} actions but "
                f"env={env.name} takes {kind} actions; use {_choices('network', fits, ' or ')} "
                f"with agent={agent.name} and env={env.name}"
            )
    return problems


def _sequence_rules(network, agent, buffer) -> list[str]:
    """A recurrent network trains on sequences; sequences are for recurrent networks."""
    problems = []
    roles, on_policy = agent.network_roles, agent.on_policy
    length = getattr(agent, "train_sequence_length", None)
    if network.recurrent and not on_policy and length is None:
        sequence_agents = _options(
            "agent", lambda schema: "train_sequence_length" in _field_names(schema)
        )
        fix = (
            f"set agent.train_sequence_length (e.g. 10, with agent.n_step_update=1) so that "
            f"buffer={buffer.name} samples sequences, or "
            if agent.name in sequence_agents
            else ""
        )
        problems.append(
            f"network={network.name} is recurrent and trains on sequences, but agent={agent.name} "
            f"samples single transitions from buffer={buffer.name} (no sequence sampler); "
            f"{fix}use a feed-forward network "
            f"({_choices('network', [n for n in _networks(roles) if not _recurrent(n)])}) "
            f"with agent={agent.name}, or a recurrent network with an on-policy agent, which "
            f"trains on whole episodes ({_choices('agent', _on_policy_agents())} with "
            f"{_choices('network', [n for n in _networks(_on_policy_roles()) if _recurrent(n)])})"
        )
    if length is not None and not network.recurrent:
        problems.append(
            f"agent.train_sequence_length={length} is for recurrent networks, but "
            f"network={network.name} is feed-forward; set agent.train_sequence_length=null, or "
            f"use network=q_rnn_network"
        )
    n_step = getattr(agent, "n_step_update", None)
    key, steps = ("train_sequence_length", length) if length else ("n_step_update", n_step)
    sampled = steps + 1 if key == "n_step_update" and steps else steps
    capacity = getattr(buffer, "max_length", None)
    if sampled and capacity and sampled > capacity:
        problems.append(
            f"agent.{key}={steps} samples sequences of {sampled} steps, more than "
            f"buffer.max_length={capacity} holds per env copy; lower agent.{key} or raise "
            f"buffer.max_length"
        )
    return problems


def _on_policy_rules(env, network, agent, buffer, driver) -> list[str]:
    """An on-policy agent collects whole episodes and trains on all of them at once."""
    problems = []
    episodes, copies = getattr(driver, "num_episodes", None), getattr(env, "num_parallel_envs", 1)
    if driver.whole_episodes and episodes is not None and episodes < copies:
        # The driver stops at the Nth episode end over all copies; with fewer than one per
        # copy, an iteration can end on its first step, holding no whole episode.
        nullable = any(
            f.name == "num_episodes" and "None" in str(f.type) for f in dataclasses.fields(driver)
        )
        problems.append(
            f"driver.num_episodes={episodes} is fewer than env.num_parallel_envs={copies}: "
            f"an iteration of agent={agent.name} could end before any episode in it does; "
            f"set driver.num_episodes to at least {copies}"
            + (", or null (one per env copy)" if nullable else "")
        )
    drivers = _options("driver", lambda schema: schema.whole_episodes)
    if not driver.whole_episodes:
        off_policy = _agent_choices(env, network, lambda a: not a.on_policy)
        problems.append(
            f"agent={agent.name} is on-policy and trains on whole episodes, but "
            f"driver={driver.name} collects a fixed number of steps that cut episodes; "
            f"use {_choices('driver', drivers, ' or ')} with agent={agent.name}, or an "
            f"off-policy agent with driver={driver.name} "
            f"({', '.join(off_policy) or 'none is registered'})"
        )
    if not buffer.gathers_all:
        buffers = _options("buffer", lambda schema: schema.gathers_all)
        problems.append(
            f"agent={agent.name} is on-policy and trains on all collected episodes at "
            f"once (gather_all), which buffer={buffer.name} cannot give; use "
            f"{_choices('buffer', buffers, ' or ')} with agent={agent.name}"
        )
    return problems


def _image_rules(env: Any, network: Any, agent: Any) -> list[str]:
    """An env observing images needs conv layers in every network that sees them."""
    if not env.image_observations:
        return []
    problems = []
    seers = [("network", network)] + [
        (f"agent.{f.name}", getattr(agent, f.name))
        for f in dataclasses.fields(agent)
        if isinstance(getattr(agent, f.name), NetworkConfig)  # a second network (critic, value)
    ]
    for key, net in seers:
        if _has_conv_layers(net):
            continue
        conv_nets = _conv_networks(net.role)
        fix = (
            f"set {key}.conv_layer_params (each layer [filters, kernel, stride], e.g. "
            f"[[32,8,4],[64,4,2],[64,3,1]], Nature DQN's)"
            if "conv_layer_params" in _field_names(type(net))
            else f"use a network with conv layers ({_choices('network', conv_nets)})"
        )
        presets = [n for n in conv_nets if _has_conv_layers(_option("network", n))]
        if key == "network" and presets:
            fix += f", or use a network with conv layers preset ({_choices('network', presets)})"
        problems.append(
            f"env={env.name} observes images but {key}={net.name} has no conv layers (it "
            f"would flatten the pixels into dense layers); {fix}; or choose an env with "
            f"vector observations"
        )
    return problems


def _has_conv_layers(net: Any) -> bool:
    return net is not None and net.has_conv_layers()


def _conv_networks(role: Any) -> list[str]:
    """The network options of `role` that have conv layers to configure."""
    return _options(
        "network",
        lambda schema: schema.role == role and "conv_layer_params" in _field_names(schema),
    )


def _video_rules(train: Any, env: Any) -> list[str]:
    """Videos need an env that draws frames."""
    if not train.video_interval or env.can_render:
        return []
    renderers = _options("env", lambda schema: schema.can_render)
    return [
        f"train.video_interval={train.video_interval}: env={env.name} cannot render frames, "
        f"so no video can be recorded; set train.video_interval=0, or choose an env that "
        f"renders ({_choices('env', renderers)})"
    ]


_ROLE_TEXT = {
    NetworkRole.q_values: "Q-values",
    NetworkRole.q_distributions: "Q-value distributions",
    NetworkRole.actor: "an action distribution",
    NetworkRole.value: "state values (a second network: agent.value_network)",
    NetworkRole.critic: "Q(observation, action) (a second network: agent.critic_network)",
}


def _networks(roles) -> list[str]:
    return _options("network", lambda schema: schema.role in roles)


def _agents_for_role(role) -> list[str]:
    return _options("agent", lambda schema: role in schema.network_roles)


def _on_policy_agents() -> list[str]:
    return _options("agent", lambda schema: schema.on_policy)


def _on_policy_roles() -> set:
    return {r for n in _on_policy_agents() for r in registry.get("agent", n).schema.network_roles}


def _field_names(schema) -> set[str]:
    return {f.name for f in dataclasses.fields(schema)}


def _recurrent(network: str) -> bool:
    return registry.get("network", network).schema.recurrent


def _options(group: str, test) -> list[str]:
    """The options of `group` whose schema passes `test` (a fact check)."""
    return [n for n in registry.names(group) if test(registry.get(group, n).schema)]


def _action_kind(env_cfg: Any) -> ActionKind | None:
    return None if env_cfg is None else env_cfg.action_kind()


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
