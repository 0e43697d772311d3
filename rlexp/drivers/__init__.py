"""Driver builders (config group `driver`) and the trainer's collect call."""

from typing import Any

from rlexp.drivers import dynamic, fused, py  # noqa: F401  (registers their options)


def collect_fn(driver: Any):
    """`collect(time_step, policy_state) -> (time_step, policy_state)` for the trainer.

    A TF driver runs compiled (`common.function(driver.run)`). A `PyDriver` runs in Python
    on its `PyEnvironment`, from that env's own current time step (the trainer's time steps
    are the TF env's tensors).

    Each call makes a new compiled function, so its random ops (the exploration) start
    from the seeds set for the segment, as in a resumed run's new process; a `PyDriver`'s
    compiled policy action is made anew for the same reason.
    """
    from tf_agents.drivers import py_driver
    from tf_agents.utils import common

    if not isinstance(driver, py_driver.PyDriver):
        return common.function(driver.run)
    policy = driver.policy
    if getattr(policy, "_use_tf_function", False):  # PyTFEagerPolicy(use_tf_function=True)
        policy._policy_action_fn = common.function(policy._policy.action)

    def run(time_step, policy_state):
        del time_step  # the same step, as tensors of the TFPyEnvironment
        current = driver.env.current_time_step()
        return driver.run(current if current is not None else driver.env.reset(), policy_state)

    return run
