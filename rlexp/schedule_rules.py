"""The rules of a run's schedule of env steps: the budget must outlast the random-policy
prefill and hold a collect iteration, and the first replayed sample must find enough steps
in each env copy. Each message offers only fixes that clear its problem without making a
new one (`Schedule.fixes`).

Part of `rlexp.validation`, which calls `budget_rules` and `first_sample_rules`.
"""

from __future__ import annotations

import dataclasses
from typing import Any


@dataclasses.dataclass(frozen=True)
class Schedule:
    """How a run spends its env steps, as the trainer orders them: a random-policy prefill
    of `prefill` env steps (off-policy agents only), then iterations of one collect (the
    driver's) and `train.train_steps_per_iteration` train steps, the first of which samples
    the buffer right after the first collect. A driver steps all `copies` env copies at
    once until its count reaches its number, so each phase takes whole batches."""

    env_steps: int
    prefill: int  # 0 for on-policy agents, which skip it
    copies: int
    num_steps: int | None  # env steps per collect iteration; None = counted in episodes
    ends_at_episodes: bool  # an iteration may stop at an episode end
    sampled: int | None  # steps in one replayed sample; None = nothing sampled
    capacity: int | None  # buffer.max_length

    @classmethod
    def of(cls, train: Any, env: Any, agent: Any, buffer: Any, driver: Any) -> Schedule:
        num_steps = getattr(driver, "num_steps", None)
        samples = not agent.on_policy and train.train_steps_per_iteration > 0
        return cls(
            env_steps=train.env_steps,
            prefill=0 if agent.on_policy else train.prefill_steps,
            copies=getattr(env, "num_parallel_envs", 1),
            num_steps=num_steps if isinstance(num_steps, int) else None,
            ends_at_episodes=driver.whole_episodes or bool(getattr(driver, "num_episodes", 0)),
            sampled=agent.replay_steps() if samples else None,
            capacity=getattr(buffer, "max_length", None),
        )

    def batched(self, steps: int) -> int:
        """The env steps a driver takes to count `steps`: whole batches of every copy."""
        return -(-steps // self.copies) * self.copies

    def collect_frames(self) -> int:
        """Steps each copy surely takes in one collect iteration: one where the iteration
        can stop at an episode end (which can come on the first step)."""
        if self.ends_at_episodes or self.num_steps is None:
            return 1
        return self.batched(self.num_steps) // self.copies

    def first_sample_frames(self) -> int:
        """Steps each env copy holds when the first train step samples the buffer."""
        return self.batched(self.prefill) // self.copies + self.collect_frames()

    def faults(self) -> set[str]:
        """Which of the rules below this schedule breaks."""
        found = set()
        if self.batched(self.prefill) >= self.env_steps:
            found.add("prefill")
        if self.num_steps is not None and self.batched(self.num_steps) > self.env_steps:
            found.add("collect")
        fits = self.capacity is None or (self.sampled or 0) <= self.capacity
        if self.sampled and fits and self.sampled > self.first_sample_frames():
            found.add("first_sample")
        return found

    def fixes(self, fault: str, candidates: list[tuple[str, dict[str, int]]]) -> list[str]:
        """The candidates (text, changed fields) that clear `fault` and break nothing new."""
        before, passing = self.faults(), []
        for text, changes in candidates:
            after = dataclasses.replace(self, **changes).faults()
            if fault not in after and after <= before and text not in dict(passing):
                passing.append((text, len(after)))
        return [text for text, _ in sorted(passing, key=lambda p: p[1])]  # clears all first

    def budget_fix(self) -> int:
        """The lowest train.env_steps that holds the prefill and one collect iteration."""
        return max(self.batched(self.prefill) + 1, self.batched(self.num_steps or 1))

    def fewer_copies(self) -> list[tuple[str, dict[str, int]]]:
        """Halvings of env.num_parallel_envs, as candidate fixes (the first that passes is
        the largest)."""
        counts = [self.copies >> k for k in range(1, self.copies.bit_length())]
        return [(f"lower env.num_parallel_envs to {n}", {"copies": n}) for n in counts]


def _first_of(fixes: list[str], *, keep: int = 1) -> list[str]:
    """`fixes` with only the first `keep` of the env.num_parallel_envs candidates."""
    copies = [f for f in fixes if f.startswith("lower env.num_parallel_envs")]
    return [f for f in fixes if f not in copies[keep:]]


def budget_rules(schedule: Schedule) -> list[str]:
    """An off-policy run's budget must outlast its random-policy prefill, or it ends
    "completed" without a single train step; and one collect iteration must fit in the
    budget, or the run overshoots it by up to that iteration. Both count whole batches of
    env.num_parallel_envs steps, as the drivers take them."""
    s = schedule
    if s.env_steps <= 0:
        return []  # (a budget out of its own range is reported as such)
    problems, faults = [], s.faults()
    raise_budget = (f"raise train.env_steps to {s.budget_fix()}", {"env_steps": s.budget_fix()})
    if "prefill" in faults:
        lower = (s.env_steps - 1) // s.copies * s.copies
        fixes = s.fixes(
            "prefill",
            [raise_budget, (f"lower train.prefill_steps to {lower}", {"prefill": lower})]
            + s.fewer_copies(),
        )
        problems.append(
            f"train.env_steps={s.env_steps} is not above train.prefill_steps={s.prefill}"
            f"{_in_batches(s, s.prefill)}: the run would end after the random-policy prefill "
            f"without training; {_or(_first_of(fixes))}"
        )
    if "collect" in faults:
        lower = s.env_steps // s.copies * s.copies
        fewer = [(f"lower driver.num_steps to {lower}", {"num_steps": lower})] if lower else []
        fixes = s.fixes("collect", fewer + [raise_budget] + s.fewer_copies())
        problems.append(
            f"driver.num_steps={s.num_steps}{_in_batches(s, s.num_steps)} is above "
            f"train.env_steps={s.env_steps}: one collect iteration would take more env steps "
            f"than the whole budget; {_or(_first_of(fixes))}"
        )
    return problems


def _in_batches(s: Schedule, steps: int) -> str:
    """How `steps` grows to whole batches of the env copies, where it does."""
    if s.batched(steps) == steps:
        return ""
    return (
        f" (in whole batches of env.num_parallel_envs={s.copies} env copies: "
        f"{s.batched(steps)} env steps)"
    )


def first_sample_rules(schedule: Schedule, agent: Any) -> list[str]:
    """The first train step samples sequences of `sampled` steps from each env copy's
    replay; a copy must hold that many by then, or TF-Agents samples an empty id range
    (XLA drops its assert: the run trains on invalid samples) or fails."""
    s = schedule
    if "first_sample" not in s.faults():
        return []
    frames, prefill_frames = s.first_sample_frames(), s.batched(s.prefill) // s.copies
    length = getattr(agent, "train_sequence_length", None)
    key = "train_sequence_length" if length else "n_step_update"
    value = getattr(agent, key, None)
    what = (
        f"agent.{key}={value} samples sequences of {s.sampled} steps"
        if value
        else f"agent={agent.name} samples sequences of {s.sampled} steps"
    )
    need_prefill = (s.sampled - s.collect_frames()) * s.copies
    candidates = [(f"raise train.prefill_steps to {need_prefill}", {"prefill": need_prefill})]
    if need_prefill >= s.env_steps:  # and the budget past it
        budget = dataclasses.replace(s, prefill=need_prefill).budget_fix()
        candidates = [
            (
                f"{candidates[0][0]} and train.env_steps to {budget}",
                {"prefill": need_prefill, "env_steps": budget},
            )
        ]
    need_steps = (s.sampled - prefill_frames) * s.copies
    if s.num_steps is not None and not s.ends_at_episodes and need_steps <= s.env_steps:
        candidates.append((f"raise driver.num_steps to {need_steps}", {"num_steps": need_steps}))
    fixes = _first_of(s.fixes("first_sample", candidates + s.fewer_copies()))
    shorter = frames - 1 if key == "n_step_update" else frames
    if value and shorter >= (1 if key == "n_step_update" else 2):
        fixes.append(f"lower agent.{key} to {shorter}")
    collect = (
        f"one collect iteration of driver.num_steps={s.num_steps}: {s.collect_frames()}"
        if s.num_steps is not None and not s.ends_at_episodes
        else "one collect iteration, which can stop at an episode end: at least 1"
    )
    return [
        f"{what}, but each env copy may hold as few as {_steps(frames)} when the first "
        f"train step samples it (train.prefill_steps={s.prefill}: {prefill_frames}, then "
        f"{collect}, over env.num_parallel_envs={s.copies} copies); {_or(fixes)}"
    ]


def _steps(count: int) -> str:
    return f"{count} step" if count == 1 else f"{count} steps"


def _or(fixes: list[str]) -> str:
    return ", or ".join(fixes) if fixes else "no single setting fixes it; see the other problems"
