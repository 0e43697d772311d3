"""The Runner: one run of one config, as named phases.

    prefill -> until the budget: loop.run_until(next trigger point) -> finite-loss check
    -> triggers (summaries, evaluation, checkpoint) -> final phase (evaluate, checkpoint,
    export the final and the best policy)

Beside the loop's first call, background threads compile what the loop compiles ahead (the
XLA loop's train steps) and the evaluation, and trace the policy export (`start_warm_ups`):
work the run would otherwise do later on its main thread.
The loop is a strategy (`rlexp.training.loops`) chosen once from declared facts. Triggers
own their positions; a checkpoint records them and resume puts them back with `set_start`.
The step axis is env steps everywhere. A stop request (SIGTERM/SIGINT, see
`rlexp.training.trainer`) ends the run after the current loop call with a checkpoint;
resuming it replays the loop from its segment's start (`Runner.replay`), so the resumed
run equals an uninterrupted one. A stop that comes once the budget is trained changes
nothing: the run finishes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from rlexp import buffers, rundir
from rlexp.drivers.fused import runs_fused
from rlexp.envs.guard import take_failure
from rlexp.envs.gym_suite import reward_threshold
from rlexp.loggers import build_logger
from rlexp.rundir import Metrics
from rlexp.tracking import provenance
from rlexp.tracking.seeding import EVAL_SEED_OFFSET, derive_seed, reseed_env, seed_everything
from rlexp.training import background, checkpoints, triggers, xla
from rlexp.training.build import build, build_components
from rlexp.training.evaluation import EvalResult, eval_env_config, make_evaluator
from rlexp.training.export import BestPolicy
from rlexp.training.loops import LoopParts, choose_loop
from rlexp.training.progress import Progress, closing_lines
from rlexp.training.state import TrainerState

EPISODES_IN_WINDOW = "episodes in the train metrics' window"  # read with them, not written


class TrainingError(RuntimeError):
    """Training cannot go on (for example a non-finite loss)."""


class Runner:
    def __init__(
        self,
        cfg: DictConfig,
        run_dir: Path,
        resume: bool,
        should_stop: Callable[[], bool] = lambda: False,
        label: str = "",
    ):
        import tensorflow as tf

        self.cfg, self.run_dir, self.should_stop = cfg, Path(run_dir), should_stop
        self.label = label  # `[job 3 seed 1] ` before a sweep job's lines
        self.t = OmegaConf.to_object(cfg.train)
        _set_determinism(cfg.deterministic)
        seed_everything(cfg.seed)
        self.ctx, driver = build_components(cfg, _train_metrics)
        self.env_steps_metric, self.episodes, self.train_return, self.train_length = (
            self.ctx.observers[1:]  # after the buffer observer
        )
        self.eval_policy = _greedy(self.ctx.agent.policy)
        self.evaluate_policy, self.eval_env = self._build_evaluator()
        self.best = BestPolicy(self.eval_policy, self.ctx.train_step_counter)
        self.triggers = self._build_triggers()
        self.loop = self._build_loop(driver)
        self.checkpoint, self.manager = self._build_checkpoint()
        self.resumed = resume
        self.state = (
            self._restore()
            if resume
            else TrainerState(
                metrics=Metrics(reward_threshold=reward_threshold(OmegaConf.to_object(cfg.env)))
            )
        )
        self.writer = tf.summary.create_file_writer(str(self.run_dir))
        self._write_summaries = _summary_writes(self.writer)
        self._train_scalars = _compiled_reads(
            {
                EPISODES_IN_WINDOW: self.train_return.size,
                "train/average_return": self.train_return.result,
                "train/average_episode_length": self.train_length.result,
                **self.ctx.scalars,
            }
        )
        triggers.restore(self.triggers, self.state.triggers)
        self.progress = Progress(
            self.t.env_steps,
            initial=self.env_steps(),
            bar=self.t.progress,
            log_file=self.run_dir / rundir.TRAIN_LOG,
            prefix=label,
        )
        self.logger = build_logger(
            cfg.get("logger"), self.run_dir, OmegaConf.to_container(cfg, resolve=True), resume
        )
        self.clock_start = time.perf_counter()
        self.loss = math.nan if self.state.loss is None else self.state.loss
        self.warm_ups: list[threading.Thread] = []
        self._last_summary = (time.perf_counter(), self.env_steps(), self.train_steps())

    # The phases

    def run(self, record: dict[str, Any]) -> Metrics:
        """Train to the budget (or a stop request, or solving with `stop_when_solved`)."""
        error = None
        try:
            with _env_failures_named():  # the prefill and the first reset step the env too
                return self.phases(record)
        except BaseException as exc:
            error = f"{type(exc).__name__}: {exc}"  # as metrics.json records it
            raise
        finally:
            self.wait_for_warm_ups()  # before the process can tear TensorFlow down
            self.progress.close()
            status = self.state.metrics.status
            self.logger.close("failed" if status == "running" else status, error)

    def phases(self, record: dict[str, Any]) -> Metrics:
        if not self.resumed:
            self.write_config_text()
            self.prefill()
        self.write_provenance(record)
        self.begin()
        self.warm_ups = self.start_warm_ups()
        while not self.done():
            self.loss = self.run_loop_until(self.next_point())
            self.wait_for_warm_ups()  # the triggers use what they warm up
            self.check_finite()
            step = self.env_steps()  # no trigger steps the env
            for trigger in self.triggers:
                trigger(step)
            self.progress.update(step, self.state.metrics.final_eval_return, self.loss)
        # A stop that comes once the budget is trained (during the last iteration's
        # triggers) leaves nothing to resume but the final phase: the run finishes.
        return self.finish() if self.trained() else self.interrupt()

    def prefill(self) -> None:
        """Fill the replay buffer with a random policy (replay agents only)."""
        from tf_agents.drivers import dynamic_step_driver
        from tf_agents.policies import random_tf_policy
        from tf_agents.utils import common

        if not self.t.prefill_steps or self.ctx.agent_config.on_policy:
            return
        env = self.ctx.env
        random_policy = random_tf_policy.RandomTFPolicy(env.time_step_spec(), env.action_spec())
        prefill = dynamic_step_driver.DynamicStepDriver(
            env,
            random_policy,
            observers=[buffers.observer(self.ctx.buffer), self.env_steps_metric],
            num_steps=self.t.prefill_steps,
        )
        common.function(prefill.run)()  # in the training wall time, as the clock runs

    def begin(self) -> None:
        """Start the loop's segment where the run stands. A new run checkpoints its start
        (every segment starts at a checkpoint); a run a signal stopped mid-segment replays
        it first."""
        step = self.env_steps()
        if not self.resumed:
            self.write_checkpoint(segment_start=step)
        buffer = OmegaConf.to_object(self.cfg.buffer)
        if self.resumed and not buffer.checkpointed:  # no replay could match: say why
            self.note(
                f"note: buffer={buffer.name} keeps its items in a Reverb table, which rlexp's "
                f"checkpoints do not hold (an in-process server's table starts empty again): "
                f"this resumed run's results differ from an uninterrupted one's"
            )
            self.state.segment_start = step
        if self.resumed and self.state.segment_start != step:
            self.replay(self.state.segment_start)
        else:
            self.loop.begin_segment(step)
        if self.resumed and not self.loop.env_seeded:
            self.progress.write(
                f"{self.label}rlexp resume: note: the env has no seed(seed) method, so it "
                f"goes on from other random states than the run that was never stopped: this "
                f"resumed run's results differ from an uninterrupted one's. Give the env a "
                f"seed method for exact resumes (docs/how-to/own-components.md)"
            )

    def start_warm_ups(self) -> list[threading.Thread]:
        """Trace the loop's next call now, then, beside that call (TF releases the GIL while
        it compiles and runs), compile what the loop compiles ahead in one background thread
        and, in another, compile the evaluation and trace the export
        (`rlexp.training.background`). The evaluation is warmed up only where a play leaves
        nothing behind for later ones: a native TF env whose random draws `reseed_env`
        restarts, as it does before every evaluation."""
        if self.done() or not self.loop.trace(self.next_point()):
            return []
        tasks = [self.best.warm_up]
        if _is_native(self.cfg.env) and callable(getattr(self.eval_env, "reseed", None)):
            tasks.insert(0, self.evaluate_policy)
        ahead = self.loop.compile_ahead()
        return [background.start(tasks)] + ([background.start([ahead])] if ahead else [])

    def wait_for_warm_ups(self) -> None:
        for thread in self.warm_ups:
            thread.join()

    def replay(self, start: int) -> None:
        """Run the segment again from its checkpoint at `start` to the stop, writing
        nothing, so the compiled functions' random state is the uninterrupted run's (see
        `rlexp.training.loops`); then restore the stop's checkpoint, which must match."""
        stop, began = self.env_steps(), time.perf_counter()
        if checkpoints.restore_at(self.checkpoint, self.run_dir, start):
            self.note(f"replaying env steps {start}-{stop}, the segment the stop interrupted")
            self.loop.begin_segment(start)
            self.run_loop_until(stop)
            replayed = (self.env_steps(), _digest(self.ctx.agent.variables))
            why = f"the checkpoint at env step {stop} does not match the replay"
        else:
            replayed, why = None, f"the checkpoint at env step {start} is missing or damaged"
        checkpoints.restore_at(self.checkpoint, self.run_dir, stop)
        if self.should_stop():
            return  # stopped again while replaying; the run stays as it was
        if replayed == (stop, _digest(self.ctx.agent.variables)):
            self.clock_start = time.perf_counter()  # as if never stopped
            return self.note(
                f"replayed env steps {start}-{stop} ({self.clock_start - began:.1f} s): the "
                f"run goes on exactly as if it had not stopped"
            )
        self.note(
            f"{why}; going on from env step {stop} with new random streams: repeatable, but "
            f"not equal to a run that was never stopped"
        )
        self.state.segment_start = stop
        self.loop.begin_segment(stop)

    def finish(self) -> Metrics:
        """Final evaluation, summaries and checkpoint; export the final and best policies."""
        for trigger in self.triggers:
            trigger(self.env_steps(), force_trigger=True)
        self.progress.update(self.env_steps(), self.state.metrics.final_eval_return, self.loss)
        self.writer.flush()
        self.best.export(self.run_dir, self.best_train_step())
        self.state.metrics.status = "completed"
        self.write_metrics()
        self.logger.log_artifacts(
            self.run_dir / name
            for name in (rundir.METRICS_FILE, rundir.POLICY_DIR, rundir.BEST_POLICY_DIR)
        )
        self.progress.close()
        for line in closing_lines(self.state.metrics.to_json(), self.run_dir, self.label):
            self.progress.write(line)
        return self.state.metrics

    def interrupt(self) -> Metrics:
        """Checkpoint where the run stopped and mark it interrupted (resumable). The
        checkpoint keeps its segment's start and the one there, for `replay`."""
        if self.state.env_steps != self.env_steps():
            self.write_checkpoint(self.state.segment_start, prune=False)
        self.state.metrics.status = "interrupted"
        self.write_metrics()
        return self.state.metrics

    # The loop

    def done(self) -> bool:
        return self.trained() or self.should_stop()

    def trained(self) -> bool:
        """Whether training is over: the budget is reached (or the env solved, with
        `stop_when_solved`)."""
        solved = self.t.stop_when_solved and self.state.metrics.solved_at_env_steps is not None
        return self.env_steps() >= self.t.env_steps or solved

    def next_point(self) -> int:
        return min([t.next_point() for t in self.triggers] + [self.t.env_steps])

    def run_loop_until(self, stop_at: int) -> float:
        import tensorflow as tf

        try:
            with _env_failures_named():
                return self.loop.run_until(stop_at)
        except tf.errors.InvalidArgumentError as exc:  # agents' own check_numerics
            refused = xla.unsupported(exc)
            if refused:
                raise TrainingError(
                    f"XLA cannot compile the {refused} of the fused training loop "
                    f"(train.jit_compile=true, the default for a native TF env). Set "
                    f"train.jit_compile=false to run that loop in TF's graph mode"
                ) from None
            if "inf or nan" not in str(exc).lower():
                raise
            return math.nan

    def check_finite(self) -> None:
        if math.isfinite(self.loss):
            return
        kept = self.manager.latest_checkpoint
        keep = f"the checkpoint at {kept} is kept" if kept else "no checkpoint was written yet"
        raise TrainingError(
            f"loss is {self.loss} at train step {self.train_steps()} (env step "
            f"{self.env_steps()}); {keep}. Lower agent.learning_rate or set "
            f"agent.gradient_clipping"
        )

    # Triggers

    def summarize(self) -> None:
        now, step, train_steps = time.perf_counter(), self.env_steps(), self.train_steps()
        then, last_step, last_train_steps = self._last_summary
        elapsed = max(now - then, 1e-9)
        train_scalars = self._train_scalars()
        if not train_scalars.pop(EPISODES_IN_WINDOW):  # no collect episode has ended yet
            for tag in ("train/average_return", "train/average_episode_length"):
                del train_scalars[tag]  # their 0 would be a point of no episode
        self.write_scalars(
            step,
            {
                "train/loss": self.loss,
                "perf/env_steps_per_sec": (step - last_step) / elapsed,
                "perf/train_steps_per_sec": (train_steps - last_train_steps) / elapsed,
                **train_scalars,
            },
        )
        self._last_summary = (now, step, train_steps)
        self.progress.update(step, self.state.metrics.final_eval_return, self.loss)
        self.progress.report()

    def best_train_step(self) -> int:
        """The train step of the best evaluation (policy_best/'s), else the current one."""
        m = self.state.metrics
        steps = [e["train_steps"] for e in m.evaluations if e["env_steps"] == m.best_eval_env_steps]
        return steps[-1] if steps else self.train_steps()

    def evaluate(self) -> None:

        began, step = time.perf_counter(), self.env_steps()
        with _env_failures_named():
            result = self.play_evaluation(derive_seed(self.cfg.seed, "eval", step))
        self.state.eval_time_s += time.perf_counter() - began
        m = self.state.metrics
        m.evaluations.append(
            {
                "env_steps": step,
                "train_steps": self.train_steps(),
                "average_return": result.average_return,
                "average_episode_length": result.average_episode_length,
                "train_wall_time_s": round(self.train_wall_time(), 3),
            }
        )
        self.write_scalars(
            step,
            {
                "eval/average_return": result.average_return,
                "eval/average_episode_length": result.average_episode_length,
            },
        )
        m.final_eval_return = result.average_return
        if m.best_eval_return is None or result.average_return > m.best_eval_return:
            m.best_eval_return, m.best_eval_env_steps = result.average_return, step
            self.best.keep()
        threshold = m.reward_threshold
        if threshold is not None and result.average_return >= threshold:
            if m.solved_at_env_steps is None:
                m.solved_at_env_steps = step
                m.solved_at_wall_time_s = round(self.train_wall_time(), 3)
        self.write_metrics()

    def play_evaluation(self, seed: int) -> EvalResult:
        """The greedy episodes from `seed`. Where XLA cannot compile the policy, they are
        played again in TF's graph mode, from the same seed: the same returns, slower."""
        import tensorflow as tf

        reseed_env(self.eval_env, seed)
        try:
            return self.evaluate_policy()
        except tf.errors.InvalidArgumentError as exc:
            refused = xla.unsupported(exc)
            if not refused:
                raise
        self.progress.write(
            f"{self.label}rlexp: note: XLA cannot compile the {refused} of the greedy "
            f"policy; evaluations run in TF's graph mode (the same returns, slower)"
        )
        self.evaluate_policy = make_evaluator(
            self.eval_env, self.eval_policy, self.t.eval_episodes, jit_compile=False
        )
        reseed_env(self.eval_env, seed)
        return self.evaluate_policy()

    def record_video(self) -> None:
        """One greedy episode to videos/<env step>.mp4 and TensorBoard (evaluation time)."""
        from rlexp.training.video import EpisodeVideo

        began, step = time.perf_counter(), self.env_steps()
        reseed_env(self.eval_env, derive_seed(self.cfg.seed, "video", step))
        with self.writer.as_default(step=step), _env_failures_named():
            EpisodeVideo(self.eval_env, self.eval_policy, self.run_dir)(step)
        self.state.eval_time_s += time.perf_counter() - began

    def save_checkpoint(self) -> None:
        """The checkpoint trigger's action: a checkpoint that starts a new segment."""
        step = self.env_steps()
        self.write_checkpoint(segment_start=step)
        if step < self.t.env_steps and not self.should_stop():
            self.loop.begin_segment(step)

    def write_checkpoint(self, segment_start: int, prune: bool = True) -> None:
        step = self.env_steps()
        self.writer.flush()
        self.state.env_steps, self.state.segment_start = step, segment_start
        self.state.triggers = triggers.positions(self.triggers)
        self.state.loss = self.loss if math.isfinite(self.loss) else None
        snapshot = dataclasses.replace(self.state, wall_time_s=self.wall_time())
        checkpoints.save(self.manager, self.run_dir, step, snapshot.to_json(), prune)

    # Building and restoring

    def _build_checkpoint(self):
        """What a checkpoint holds (the JSON sidecar adds TrainerState), and its manager."""
        import tensorflow as tf

        train_metrics = self.ctx.observers[1:]
        checkpoint = tf.train.Checkpoint(
            agent=self.ctx.agent,
            replay_buffer=self.ctx.buffer,
            train_step=self.ctx.train_step_counter,
            metrics=_metrics_group(train_metrics),
            metric_windows=checkpoints.metric_windows(train_metrics),
            best_policy=self.best.variables,
        )
        manager = checkpoints.manager(checkpoint, self.run_dir, self.t.checkpoints_to_keep)
        return checkpoint, manager

    def _build_triggers(self):
        """Every trigger in firing order, from step 0 (`triggers.restore` moves them)."""
        checkpoint = triggers.Trigger(
            "checkpoint", self.t.checkpoint_interval, self.save_checkpoint
        )
        video = triggers.Trigger("video", self.t.video_interval, self.record_video)
        every = [  # an evaluation before the summary at its step, whose line shows it
            triggers.Trigger("eval", self.t.eval_interval, self.evaluate),
            triggers.Trigger("summary", self.t.summary_interval, self.summarize),
            *([video] if self.t.video_interval else []),
            checkpoint,
        ]
        return every

    def _build_evaluator(self):
        eval_env = build(
            "env",
            eval_env_config(self.cfg.env, self.t.eval_episodes),
            dataclasses.replace(self.ctx, seed=self.cfg.seed + EVAL_SEED_OFFSET),
        )
        # XLA compiles a native TF env's steps (same returns), not a Python env's.
        native = _is_native(self.cfg.env)
        return make_evaluator(eval_env, self.eval_policy, self.t.eval_episodes, native), eval_env

    def _build_loop(self, driver: Any):
        ctx = self.ctx
        typed = {g: OmegaConf.to_object(self.cfg[g]) for g in ("env", "buffer", "driver")}
        # A recurrent DQN has no fixed sequence length of its own; its config gives one.
        sequence_length = ctx.agent.train_sequence_length or getattr(
            ctx.agent_config, "train_sequence_length", None
        )
        parts = LoopParts(
            env=ctx.env,
            agent=ctx.agent,
            buffer=ctx.buffer,
            buffer_cfg=typed["buffer"],
            driver=driver,
            policy=ctx.policy,
            env_steps=self.env_steps_metric,
            seed=self.cfg.seed,
            train_steps_per_iteration=self.t.train_steps_per_iteration,
            sequence_length=sequence_length,
            jit_compile=self.t.jit_compile,
            trigger_interval=min(trigger.interval for trigger in self.triggers),
        )
        strategy = choose_loop(typed["env"], ctx.agent_config, typed["buffer"], typed["driver"])
        return strategy(parts, self.should_stop)

    def _restore(self) -> TrainerState:
        state = checkpoints.restore(self.checkpoint, self.manager, self.run_dir)
        checkpoints.trim_events(self.run_dir, state.env_steps)  # before a new event file exists
        return state

    # Small facts and writers

    def env_steps(self) -> int:
        return self.loop.env_steps()

    def train_steps(self) -> int:
        return int(self.ctx.train_step_counter.value())

    def wall_time(self) -> float:
        return self.state.wall_time_s + time.perf_counter() - self.clock_start

    def train_wall_time(self) -> float:
        return self.wall_time() - self.state.eval_time_s

    def write_metrics(self) -> None:
        m = self.state.metrics
        m.env_steps, m.train_steps = self.env_steps(), self.train_steps()
        m.episodes = int(self.episodes.result())
        m.wall_time_s = round(self.wall_time(), 3)
        m.train_wall_time_s = round(self.train_wall_time(), 3)
        rundir.write_metrics(self.run_dir, m)

    def write_scalars(self, step: int, values: dict[str, float]) -> None:
        """To TensorBoard, and to the configured logger (the same tags on the same axis)."""
        import tensorflow as tf

        scalars = tf.constant(list(values.values()), tf.float32)
        self._write_summaries(tf.constant(step, tf.int64), tuple(values), scalars)
        self.logger.log_scalars(step, values)

    def write_config_text(self) -> None:
        self.write_text("config", "```yaml\n" + OmegaConf.to_yaml(self.cfg, resolve=True) + "```")

    def note(self, text: str) -> None:
        """A resume's note: to stderr, past the bar, and to train.log."""
        self.progress.write(f"{self.label}rlexp resume: {text}", stream=sys.stderr)

    def write_provenance(self, record: dict[str, Any]) -> None:
        """The provenance record in the Text tab, at the current env step: at each start,
        and once more when its exit status is known."""
        self.write_text("provenance", provenance.as_markdown(record))
        self.writer.flush()

    def write_text(self, tag: str, text: str) -> None:
        import tensorflow as tf

        with self.writer.as_default(step=self.env_steps()):
            tf.summary.text(tag, text)


@contextmanager
def _env_failures_named() -> Iterator[None]:
    """An error a Python env raised while TensorFlow stepped it, as a TrainingError naming
    the env, the step and the exception, instead of TensorFlow's graph trace."""
    import tensorflow as tf

    try:
        yield
    except tf.errors.OpError:
        failure = take_failure()
        if failure is not None:
            raise TrainingError(str(failure)) from None
        raise


def _compiled_reads(reads: dict[str, Callable[[], Any]]) -> Callable[[], dict[str, float]]:
    """`reads`' values, each as float32, from one compiled call (eagerly, each read is a
    few ops of ~0.3 ms each in a run's training time)."""
    import tensorflow as tf

    read_all = tf.function(
        lambda: tf.stack([tf.cast(read(), tf.float32) for read in reads.values()]),
        autograph=False,
    )
    return lambda: dict(zip(reads, read_all().numpy().tolist(), strict=True))


def _summary_writes(writer: Any) -> Callable:
    """`write(step, tags, values)`: TensorBoard scalars in one compiled call, traced once per
    tuple of tags (eagerly, each scalar is ~1 ms of a run's training time)."""
    import tensorflow as tf

    @tf.function(autograph=False)
    def write(step: Any, tags: tuple[str, ...], values: Any) -> None:
        with writer.as_default(step=step):
            for i, tag in enumerate(tags):
                tf.summary.scalar(tag, values[i])

    return write


def uses_xla(cfg: DictConfig) -> bool:
    """Whether a run of `cfg` has XLA compile anything: its fused loop (`train.jit_compile`)
    or its evaluation, which XLA compiles for a native TF env (`_build_evaluator`)."""
    groups = (OmegaConf.to_object(cfg[group]) for group in ("env", "buffer", "driver"))
    return _is_native(cfg.env) or (bool(cfg.train.jit_compile) and runs_fused(*groups))


def _is_native(env_cfg: DictConfig) -> bool:
    """A native TF env (its steps are TF ops), as opposed to a Python env behind TF."""
    return getattr(OmegaConf.to_object(env_cfg), "python_env", None) is False


def _set_determinism(deterministic: bool) -> None:
    import tensorflow as tf

    if deterministic:
        tf.config.experimental.enable_op_determinism()
    else:  # TF has no public switch back; one process may run both kinds (tests, sweeps)
        from tensorflow.python.framework import config as tf_config

        tf_config.disable_op_determinism()


def _digest(variables: list) -> str:
    return hashlib.sha256(b"".join(v.numpy().tobytes() for v in variables)).hexdigest()


def _greedy(policy: Any) -> Any:
    """The policy evaluated and exported: the mode of the agent's policy's distribution."""
    from tf_agents.policies import greedy_policy

    return (
        policy
        if isinstance(policy, greedy_policy.GreedyPolicy)
        else (greedy_policy.GreedyPolicy(policy))
    )


def _train_metrics(env: Any) -> list:
    from rlexp.training.metrics import train_metrics

    return train_metrics(env)


def _metrics_group(metrics: list):
    from tf_agents.eval import metric_utils

    return metric_utils.MetricsGroup(metrics, "train_metrics")
