"""Interval triggers on the env-step count: TF-Agents' `IntervalTrigger`, named, and able
to say where it fires next, so the runner can run the loop up to exactly that point."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from tf_agents.train.interval_trigger import IntervalTrigger


class Trigger(IntervalTrigger):
    """Calls `fn` once the env-step count has advanced `interval` past its last firing."""

    def __init__(self, name: str, interval: int, fn: Callable[[], None], start: int = 0):
        super().__init__(interval, fn, start=start)
        self.name = name

    @property
    def interval(self) -> int:
        return self._interval

    @property
    def position(self) -> int:
        """The env step at which it last fired (its start, before the first firing)."""
        return self._last_trigger_value

    def next_point(self) -> int:
        return self._last_trigger_value + self._interval


def positions(triggers: Sequence[Trigger]) -> dict[str, int]:
    return {t.name: t.position for t in triggers}


def restore(triggers: Sequence[Trigger], saved: dict[str, int]) -> None:
    """Put each trigger back where a checkpoint recorded it (`set_start`)."""
    for trigger in triggers:
        trigger.set_start(saved.get(trigger.name, 0))
