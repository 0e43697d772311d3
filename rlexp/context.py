"""What earlier build stages hand to later ones (the `context` of `build(cfg, context)`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class BuildContext:
    """Filled in order by the trainer: env, then network, agent, buffer, driver.

    `scalars` lets a builder expose extra values for TensorBoard (for example DQN's
    epsilon as `train/epsilon`) without the trainer knowing the algorithm: no-argument
    callables of TF ops, read together in one compiled call at every summary.
    """

    seed: int
    env: Any = None
    network: Any = None
    agent_config: Any = None  # the agent's typed config, for networks sized by it (C51 atoms)
    train_step_counter: Any = None
    agent: Any = None
    buffer: Any = None
    policy: Any = None
    observers: list[Callable[[Any], Any]] = field(default_factory=list)
    scalars: dict[str, Callable[[], Any]] = field(default_factory=dict)


class BuildError(RuntimeError):
    """A component that composed and validated, but cannot be built as configured (for
    example an env whose time steps do not match its own specs)."""
