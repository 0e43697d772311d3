"""The trainer's own state: what a checkpoint's JSON sidecar holds beside TensorFlow's."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from rlexp.rundir import Metrics


@dataclass
class TrainerState:
    env_steps: int = 0
    segment_start: int = 0  # env step of the segment's start (rlexp.training.loops)
    wall_time_s: float = 0.0  # training + evaluation, summed over the run's segments
    eval_time_s: float = 0.0
    triggers: dict[str, int] = field(default_factory=dict)  # trigger name -> last position
    loss: float | None = None  # the last loop call's, for the summary a resume may write first
    metrics: Metrics = field(default_factory=Metrics)

    def to_json(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "metrics": self.metrics.to_json()}

    @classmethod
    def from_json(cls, data: Any) -> TrainerState:
        """Raises ValueError naming what is missing or malformed."""
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        optional = {"segment_start", "loss"}  # older sidecars have neither
        missing = [f.name for f in dataclasses.fields(cls) if f.name not in {*data, *optional}]
        if missing:
            raise ValueError(f"missing {', '.join(missing)}")
        try:
            return cls(
                env_steps=int(data["env_steps"]),
                segment_start=int(data.get("segment_start", data["env_steps"])),
                wall_time_s=float(data["wall_time_s"]),
                eval_time_s=float(data["eval_time_s"]),
                triggers={str(k): int(v) for k, v in dict(data["triggers"]).items()},
                metrics=Metrics.from_json(dict(data["metrics"])),
                loss=None if data.get("loss") is None else float(data["loss"]),
            )
        except (TypeError, ValueError) as exc:
            raise ValueError(f"malformed ({exc})") from exc
