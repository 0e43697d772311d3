"""Python env -> wrappers -> (validation) -> batched / parallel copies -> `TFPyEnvironment`.

Every env option built from Python environments (the gym suite, the card game, Gymnasium,
and a plugin's own `PyEnvironment`) goes through `build_tf_env`, so `env.wrappers`,
`env.num_parallel_envs`, `env.batching` and `env.validate_py_environment` mean the same for
all of them. A plugin env uses it in one line:

    @register("env", "my_env", schema=MyEnvConfig, doc="...")   # MyEnvConfig(PyEnvConfig)
    def build_my_env(cfg, context):
        return build_tf_env(cfg, context, lambda seed: MyPyEnv(seed=seed))
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np

from rlexp.context import BuildContext
from rlexp.envs import wrappers
from rlexp.schemas import ActionKind, EnvConfig, bounded, documented


class Batching(StrEnum):
    batched = "batched"
    parallel = "parallel"


@dataclass
class PyEnvConfig(EnvConfig):
    """Base of env schemas built from Python environments (validation on by default)."""

    wrappers: list[Any] = documented(
        [], "ordered wrappers, innermost first: [{name: TimeLimit, duration: 200}, ...]"
    )
    num_parallel_envs: int = bounded(1, gt=0, le=4096, doc="env copies stepped as one batch")
    batching: Batching = documented(
        Batching.batched,
        "batched = BatchedPyEnvironment (in process), parallel = ParallelPyEnvironment",
    )
    validate_py_environment: bool = documented(
        True, "check the env against its specs (utils.validate_py_environment) first"
    )
    validate_episodes: int = bounded(3, gt=0, doc="random-policy episodes of that check")

    def base_action_kind(self) -> ActionKind:
        """The action kind of the option's own env, before `wrappers`."""
        return ActionKind.unknown

    def action_kind(self) -> ActionKind:
        return wrappers.action_kind(self.wrappers, self.base_action_kind())

    def problems(self) -> list[str]:
        return wrappers.problems(self.wrappers, self.base_action_kind())


def copy_seeds(seed: int, copies: int) -> list[int]:
    """The seed of each env copy: the run seed for the first (so one copy is seeded as a
    single env is), and independent seeds derived from (run seed, index) for the others."""
    return [seed] + [
        int(np.random.SeedSequence([seed, index]).generate_state(1)[0])
        for index in range(1, copies)
    ]


def build_tf_env(
    cfg: PyEnvConfig,
    context: BuildContext,
    make_py_env: Callable[[int], Any],
    own_wrappers: list[dict] | None = None,
):
    """A `TFPyEnvironment` over `cfg.num_parallel_envs` copies of `make_py_env(seed)`.

    Each copy is seeded from the run seed (`copy_seeds`), then wrapped by `own_wrappers`
    (the option's built-in ones) and `cfg.wrappers`, in order. With
    `validate_py_environment`, one extra copy is built and checked against its specs first.
    The env TF steps is guarded (`rlexp.envs.guard`): its failures are named.
    """
    from tf_agents.environments import batched_py_environment, tf_py_environment

    entries = [*(own_wrappers or []), *cfg.wrappers]
    seeds = copy_seeds(context.seed, cfg.num_parallel_envs)
    constructors = [functools.partial(_make_copy, make_py_env, entries, seed) for seed in seeds]
    if cfg.validate_py_environment:
        from rlexp.envs.spec_check import check_py_environment

        check_py_environment(constructors[0](), cfg.name, cfg.validate_episodes)
    if cfg.num_parallel_envs == 1:
        py_env = constructors[0]()
    elif cfg.batching == Batching.parallel:
        from tf_agents.environments import parallel_py_environment
        from tf_agents.system import system_multiprocessing
        from tf_agents.system.default import multiprocessing_core

        if not multiprocessing_core.initialized():  # TF-Agents asks a program to opt in
            system_multiprocessing.enable_interactive_mode()
        py_env = parallel_py_environment.ParallelPyEnvironment(constructors)
    else:
        py_env = batched_py_environment.BatchedPyEnvironment(
            [make() for make in constructors], multithreading=False
        )
    from rlexp.envs.guard import GuardedPyEnvironment

    return tf_py_environment.TFPyEnvironment(GuardedPyEnvironment(py_env, cfg.name))


def _make_copy(make_py_env: Callable[[int], Any], entries: list, seed: int):
    """One seeded, wrapped copy (module-level so ParallelPyEnvironment can pickle it)."""
    return wrappers.apply(make_py_env(seed), entries, BuildContext(seed=seed))
