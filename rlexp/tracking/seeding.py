"""Seeds: one run seed for Python, NumPy and TensorFlow, and seeds derived from it.

Derived seeds make every phase boundary (a checkpoint, an evaluation) start from RNG
states that depend only on (run seed, env step), which is what lets a resumed run
continue exactly as the uninterrupted one would have.
"""

from __future__ import annotations

import hashlib
from typing import Any

from rlexp.context import BuildError

EVAL_SEED_OFFSET = 10_000


def derive_seed(seed: int, *keys: Any) -> int:
    """A 31-bit seed that depends only on `seed` and `keys`."""
    digest = hashlib.sha256(repr((seed, *keys)).encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF


def seed_everything(seed: int) -> None:
    """Seed Python's `random`, NumPy's global RNG and TensorFlow's global seed."""
    import tensorflow as tf

    tf.keras.utils.set_random_seed(seed)


def reseed_env(env: Any, seed: int) -> bool:
    """Seed every Python env copy behind a TF env (copy i gets seed + i); whether the env
    could be seeded.

    A native TF env has no Python RNG: one with a `reseed(seed)` method restarts its
    TF generator; others follow TensorFlow's seeds. Envs that do not implement `seed`
    are left to the global NumPy seed (False: their random draws depend on their history,
    so a resumed run is not the one never stopped).
    """
    from tf_agents.environments import parallel_py_environment

    pyenv = getattr(env, "pyenv", None)
    if pyenv is None:
        if callable(getattr(env, "reseed", None)):
            env.reseed(seed)
        return True
    core = pyenv  # inside rlexp's env guard (a wrapper): is it a process pool?
    while callable(getattr(core, "wrapped_env", None)):
        core = core.wrapped_env()
    copies = getattr(pyenv, "envs", None)
    if isinstance(core, parallel_py_environment.ParallelPyEnvironment):
        _seed_processes(pyenv, seed)
        return True
    try:
        if copies is None:
            pyenv.seed([seed + i for i in range(pyenv.batch_size)])
        else:
            for i, copy in enumerate(copies):
                copy.seed(seed + i)
    except NotImplementedError:
        return False
    return True


def _seed_processes(pyenv: Any, seed: int) -> None:
    """Seed the copies in `env.batching=parallel`'s worker processes, which report an env
    without `seed` as an exception carrying the worker's traceback."""
    try:
        pyenv.seed([seed + i for i in range(pyenv.batch_size)])
    except Exception as exc:
        if "NotImplementedError" not in str(exc):
            raise
        raise BuildError(
            "the env has no seed(seed) method, which env.batching=parallel needs to seed "
            "its worker processes; give the env one (docs/how-to/own-components.md) or use "
            "env.batching=batched"
        ) from None
