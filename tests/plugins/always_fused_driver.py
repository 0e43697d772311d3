"""A plugin driver that declares `fuses = True`: the runner runs it in the fused loop, as
the built-in `fused`, though its name says nothing of that (facts, not names)."""

from dataclasses import dataclass
from typing import ClassVar

from rlexp.drivers.dynamic import StepDriverConfig, build_step_driver
from rlexp.registry import register


@dataclass
class AlwaysFusedConfig(StepDriverConfig):
    fuses: ClassVar[bool | None] = True
    needs_native_tf_env: ClassVar[bool] = True
    needs_in_graph_replay: ClassVar[bool] = True


register(
    "driver", "always_fused", schema=AlwaysFusedConfig, doc="A plugin's fused step driver."
)(build_step_driver)
