"""Build a run's components in order: env -> network -> agent -> buffer -> driver.

Each is the registered builder of the option its config group selects, called with the
option's typed config and the `BuildContext` of what the earlier stages made.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from omegaconf import DictConfig, OmegaConf

from rlexp import buffers, registry
from rlexp.context import BuildContext, BuildError
from rlexp.envs.guard import guard_tf_env
from rlexp.envs.wrappers import flatten_problem


def build(group: str, node: DictConfig, context: BuildContext) -> Any:
    """Build the registered component `node.name` of `group` from its typed config.

    An exception of its builder (a setting its library refuses, a plugin's bug) becomes a
    BuildError naming the option and the builder, so the user learns which part failed."""
    import tensorflow as tf

    component = registry.get(group, node.name)
    builder = component.builder
    try:
        return builder(OmegaConf.to_object(node), context)
    except (BuildError, tf.errors.ResourceExhaustedError):
        raise  # named already, or out of memory (the trainer names the settings that size it)
    except Exception as exc:  # noqa: BLE001 (any library's error, re-raised with its origin)
        raise BuildError(
            f"building {group}={node.name} ({component.module}.{builder.__qualname__}) failed: "
            f"{type(exc).__name__}: {exc}; {_fix_hint(group, node.name, context, exc)}"
        ) from exc


def _fix_hint(group: str, name: str, context: BuildContext, exc: Exception) -> str:
    """Where to look after a builder failed: its settings; for a network or agent given a
    dict of observations (which no setting of theirs combines), the env's wrappers; for
    convolutions that leave nothing of the observation, the network's conv layers."""
    import tensorflow as tf

    observations = context.env.observation_spec() if context.env is not None else None
    if group in ("network", "agent") and "due to downsampling in conv" in str(exc):
        shape = getattr(observations, "shape", None)
        seen = f"the env's {tuple(shape)} observation" if shape is not None else "the observation"
        return (
            f"the network's convolutions shrink {seen} to nothing: use smaller kernels or "
            f"strides, or fewer layers, in network.conv_layer_params ([filters, kernel, stride])"
        )
    if group in ("network", "agent") and tf.nest.is_nested(observations):
        parts = f" ({', '.join(observations)})" if isinstance(observations, dict) else ""
        several = f"the env observes several arrays{parts} but {group}={name} takes one"
        problem = flatten_problem(observations)
        if problem:
            return f"{several}; {problem}"
        return (
            f"{several}: flatten them with 'env.wrappers=[{{name: FlattenObservationsWrapper}}]'"
            f" (a Python env's wrapper: rlexp list wrapper)"
        )
    return f"check its settings ({group}.*: rlexp list {group})"


def _tf_env(env: Any, name: str) -> Any:
    """`env`, which the trainer drives in TensorFlow: a builder's other return is refused."""
    from tf_agents.environments.tf_environment import TFEnvironment

    if not isinstance(env, TFEnvironment):
        raise BuildError(
            f"env={name}'s builder returned {type(env).__name__}, not a TF-Agents "
            f"TFEnvironment; return rlexp.envs.pipeline.build_tf_env(...) (or wrap a "
            f"PyEnvironment in a TFPyEnvironment)"
        )
    return env


def build_components(
    cfg: DictConfig, observers: Callable[[Any], list] = lambda env: []
) -> tuple[BuildContext, Any]:
    """Build every component in order; returns the context and the driver.

    `observers(env)` gives the extra observers (metrics) the driver feeds with every
    collected trajectory; it receives the env because metrics need its batch size.
    """
    import tensorflow as tf

    ctx = BuildContext(seed=cfg.seed)
    ctx.env = guard_tf_env(_tf_env(build("env", cfg.env, ctx), cfg.env.name), cfg.env.name)
    ctx.agent_config = OmegaConf.to_object(cfg.agent)
    ctx.network = build("network", cfg.network, ctx)
    ctx.train_step_counter = tf.Variable(0, dtype=tf.int64, name="train_step", trainable=False)
    ctx.agent = build("agent", cfg.agent, ctx)
    ctx.buffer = build("buffer", cfg.buffer, ctx)
    ctx.policy = ctx.agent.collect_policy
    ctx.observers = [buffers.observer(ctx.buffer), *observers(ctx.env)]
    driver = build("driver", cfg.driver, ctx)
    return ctx, driver
