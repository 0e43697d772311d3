"""`PyDriver`: collection in Python, the collect policy run through `PyTFEagerPolicy`.

For Python environments (every env option but `cartpole_tf`): the driver steps the
`PyEnvironment` inside the built `TFPyEnvironment` directly, and calls the observers with
NumPy trajectories (rlexp's buffer observers and TF metrics accept those too).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rlexp.context import BuildContext, BuildError
from rlexp.registry import register
from rlexp.schemas import DriverConfig, bounded, documented


@dataclass
class PyDriverConfig(DriverConfig):
    num_steps: int = bounded(512, gt=0, doc="env steps per collect iteration (max_steps)")
    num_episodes: int = bounded(0, ge=0, doc="also stop after N episodes; 0 = no limit")
    use_tf_function: bool = documented(True, "compile the policy's action (PyTFEagerPolicy)")

    needs_python_env: ClassVar[bool] = True


@register(
    "driver",
    "py",
    schema=PyDriverConfig,
    doc="PyDriver + PyTFEagerPolicy: collection in Python, for Python envs.",
)
def build_py_driver(cfg: PyDriverConfig, context: BuildContext):
    import numpy as np
    import tensorflow as tf
    from tf_agents.drivers import py_driver
    from tf_agents.policies import py_tf_eager_policy

    py_env = getattr(context.env, "pyenv", None)
    if py_env is None:
        raise BuildError(
            f"driver=py needs a TFPyEnvironment with a Python environment inside; the env "
            f"is a {type(context.env).__name__}; use driver=step or driver=episode"
        )

    class NumpyActionsPolicy(py_tf_eager_policy.PyTFEagerPolicy):
        """With batched time steps (batch_time_steps=False) PyTFEagerPolicy returns
        tensors; Python envs and observers want NumPy arrays."""

        def _action(self, time_step, policy_state, seed=None):
            step = super()._action(time_step, policy_state, seed=seed)
            return step._replace(
                action=tf.nest.map_structure(np.asarray, step.action),
                info=tf.nest.map_structure(np.asarray, step.info),
            )

    policy = NumpyActionsPolicy(
        context.policy, use_tf_function=cfg.use_tf_function, batch_time_steps=False
    )
    return py_driver.PyDriver(
        py_env,
        policy,
        observers=context.observers,
        max_steps=cfg.num_steps,
        max_episodes=cfg.num_episodes or None,
    )
