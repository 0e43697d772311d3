"""The trainer: build env -> network -> agent -> buffer -> driver, then run the phases.

Phases: random-policy prefill, then [collect -> train]* until the env-step budget is
spent. Evaluation, TensorBoard scalars and checkpoints are TF-Agents `IntervalTrigger`s on
the env-step count, so the loop stays a few lines. The step axis is env steps everywhere.

Resuming is exact because every checkpoint starts a new *segment* in the uninterrupted
run too: RNGs are re-seeded from (seed, env step), the collect env is reset, and the
compiled functions and the dataset iterator are rebuilt. TF-Agents keeps random-op state
inside compiled kernels where no checkpoint can reach it; restarting those kernels at
the same points in both runs is what makes a resumed run equal an uninterrupted one.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from rlexp import buffers, drivers, registry
from rlexp.context import BuildContext
from rlexp.envs.gym_suite import reward_threshold
from rlexp.tracking import provenance
from rlexp.tracking.quiet import quiet_tensorflow
from rlexp.tracking.seeding import (
    EVAL_SEED_OFFSET,
    derive_seed,
    reseed_env,
    seed_everything,
)
from rlexp.training import checkpoints, fused
from rlexp.training.evaluation import eval_env_config, make_evaluator
from rlexp.training.run_files import METRICS_FILE, record_failure, write_json_atomic


class TrainingError(RuntimeError):
    """Training cannot go on (for example a non-finite loss)."""


def build(group: str, node: DictConfig, context: BuildContext) -> Any:
    """Build the registered component `node.name` of `group` from its typed config."""
    component = registry.get(group, node.name)
    return component.builder(OmegaConf.to_object(node), context)


def build_components(
    cfg: DictConfig, observers: Callable[[Any], list] = lambda env: []
) -> tuple[BuildContext, Any]:
    """Build every component in order.

    `observers(env)` gives the extra observers (metrics) the driver feeds with every
    collected trajectory; it receives the env because metrics need its batch size.
    """
    import tensorflow as tf

    ctx = BuildContext(seed=cfg.seed)
    ctx.env = build("env", cfg.env, ctx)
    ctx.agent_config = OmegaConf.to_object(cfg.agent)
    ctx.network = build("network", cfg.network, ctx)
    ctx.train_step_counter = tf.Variable(0, dtype=tf.int64, name="train_step", trainable=False)
    ctx.agent = build("agent", cfg.agent, ctx)
    ctx.buffer = build("buffer", cfg.buffer, ctx)
    ctx.policy = ctx.agent.collect_policy
    ctx.observers = [buffers.observer(ctx.buffer), *observers(ctx.env)]
    driver = build("driver", cfg.driver, ctx)
    return ctx, driver


def train(cfg: DictConfig, run_dir: Path, resume: bool = False) -> dict[str, Any]:
    """Train one run into `run_dir`, or continue it from its latest checkpoint.

    Returns the contents of metrics.json. Provenance and a failure record are written
    whatever happens.
    """
    run_dir = Path(run_dir)
    record = provenance.start_record(run_dir, resume=resume)
    try:
        metrics = _train(cfg, run_dir, resume, record)
    except BaseException as exc:
        if not isinstance(exc, checkpoints.CheckpointError):  # the run itself did not fail
            record_failure(run_dir, exc)
        provenance.finish_record(run_dir, record, f"failed: {type(exc).__name__}: {exc}")
        raise
    provenance.finish_record(run_dir, record, "completed")
    return metrics


def _train(cfg: DictConfig, run_dir: Path, resume: bool, record: dict) -> dict[str, Any]:
    quiet_tensorflow()
    import tensorflow as tf
    from tf_agents.drivers import dynamic_step_driver
    from tf_agents.eval import metric_utils
    from tf_agents.metrics import tf_metrics
    from tf_agents.policies import policy_saver, random_tf_policy
    from tf_agents.train.interval_trigger import IntervalTrigger
    from tf_agents.utils import common
    from tqdm import tqdm

    t = cfg.train
    if cfg.deterministic:
        tf.config.experimental.enable_op_determinism()
    else:  # TF has no public switch back; one process may run both kinds (tests, sweeps)
        from tensorflow.python.framework import config as tf_config

        tf_config.disable_op_determinism()
    seed_everything(cfg.seed)

    def make_train_metrics(env) -> list:
        return [
            tf_metrics.EnvironmentSteps(),
            tf_metrics.NumberOfEpisodes(),
            tf_metrics.AverageReturnMetric(batch_size=env.batch_size),
            tf_metrics.AverageEpisodeLengthMetric(batch_size=env.batch_size),
        ]

    ctx, driver = build_components(cfg, make_train_metrics)
    env, agent, buffer = ctx.env, ctx.agent, ctx.buffer
    train_metrics = ctx.observers[1:]  # after the buffer observer
    env_steps, episodes, train_return, train_length = train_metrics
    eval_env = build(
        "env",
        eval_env_config(cfg.env, t.eval_episodes),
        dataclasses.replace(ctx, seed=cfg.seed + EVAL_SEED_OFFSET),
    )
    evaluate_policy = make_evaluator(eval_env, ctx.eval_policy or agent.policy, t.eval_episodes)
    # On-policy agents train on the episodes just collected, then empty the buffer; they
    # have no random prefill and no replay sampling (see rlexp.agents.policy_gradient).
    on_policy = getattr(ctx.agent_config, "on_policy", False)
    threshold = reward_threshold(OmegaConf.to_object(cfg.env))

    checkpoint = tf.train.Checkpoint(
        agent=agent,
        replay_buffer=buffer,
        train_step=ctx.train_step_counter,
        metrics=metric_utils.MetricsGroup(train_metrics, "train_metrics"),
        metric_windows=checkpoints.metric_windows(train_metrics),
    )
    manager = tf.train.CheckpointManager(
        checkpoint, str(run_dir / checkpoints.CHECKPOINT_DIR), max_to_keep=t.checkpoints_to_keep
    )
    if resume:
        state = checkpoints.restore(checkpoint, manager, run_dir)
        checkpoints.trim_events(run_dir, state["env_steps"])  # before a new event file exists
    writer = tf.summary.create_file_writer(str(run_dir))
    if not resume:
        state = _fresh_state(threshold)
        with writer.as_default(step=0):
            tf.summary.text("config", "```yaml\n" + OmegaConf.to_yaml(cfg, resolve=True) + "```")
        # Phase 1: fill the buffer with a random policy.
        if t.prefill_steps and not on_policy:
            random_policy = random_tf_policy.RandomTFPolicy(env.time_step_spec(), env.action_spec())
            prefill = dynamic_step_driver.DynamicStepDriver(
                env,
                random_policy,
                observers=[buffers.observer(buffer), env_steps],
                num_steps=t.prefill_steps,
            )
            began = time.perf_counter()
            common.function(prefill.run)()
            state["wall_time_s"] += time.perf_counter() - began  # training time too
    metrics = state["metrics"]
    with writer.as_default(step=int(env_steps.result())):
        tf.summary.text("provenance", provenance.as_markdown(record))

    def current_env_steps() -> int:
        return int(env_steps.result())

    def current_train_steps() -> int:
        return int(ctx.train_step_counter.numpy())

    segment_start = time.perf_counter()

    def wall_time() -> float:
        return state["wall_time_s"] + time.perf_counter() - segment_start

    def train_wall_time() -> float:
        return wall_time() - state["eval_time_s"]

    loop: dict[str, Any] = {"loss": float("nan")}
    buffer_cfg = OmegaConf.to_object(cfg.buffer)
    is_fused = drivers.fused.runs_fused(
        OmegaConf.to_object(cfg.env), buffer_cfg, OmegaConf.to_object(cfg.driver)
    )
    # A recurrent DQN has no fixed sequence length of its own; its config gives one.
    sequence_length = agent.train_sequence_length or getattr(
        ctx.agent_config, "train_sequence_length", None
    )

    def train_iteration():
        if on_policy:
            loss = agent.train(buffer.gather_all()).loss
            buffer.clear()
            return loss
        loss = tf.constant(0.0)
        for _ in tf.range(t.train_steps_per_iteration):
            loss = buffers.train(buffer, agent, next(loop["iterator"])).loss
        return loss

    def begin_segment(step: int) -> None:
        """Collect from RNG states that depend only on (seed, step): see the module doc."""
        seed = derive_seed(cfg.seed, "segment", step)
        seed_everything(seed)
        reseed_env(env, seed)
        loop["time_step"] = env.reset()
        loop["policy_state"] = ctx.policy.get_initial_state(env.batch_size)
        if is_fused:
            loop["fused"] = fused.make_fused_loop(
                driver,
                buffer,
                agent,
                env_steps,
                buffer_cfg.sample_batch_size,
                sequence_length,
                t.train_steps_per_iteration,
            )
            return
        if not on_policy:
            loop["iterator"] = iter(buffers.dataset(buffer, buffer_cfg, sequence_length))
        loop["collect"] = drivers.collect_fn(driver)
        loop["train"] = common.function(train_iteration, autograph=True)

    def run_iterations() -> float:
        """Collect and train up to the next trigger point (fused) or once; the loss."""
        if is_fused:
            ahead = [positions[k] + intervals[k] for k in intervals] + [t.env_steps]
            loop["time_step"], loop["policy_state"], loss = loop["fused"](
                loop["time_step"], loop["policy_state"], tf.constant(min(ahead), tf.int64)
            )
            return float(loss)
        loop["time_step"], loop["policy_state"] = loop["collect"](
            loop["time_step"], loop["policy_state"]
        )
        return float(loop["train"]())

    def write_metrics() -> None:
        metrics.update(
            env_steps=current_env_steps(),
            train_steps=current_train_steps(),
            episodes=int(episodes.result()),
            wall_time_s=round(wall_time(), 3),
            train_wall_time_s=round(train_wall_time(), 3),
        )
        write_json_atomic(run_dir / METRICS_FILE, metrics)

    def evaluate() -> None:
        began = time.perf_counter()
        step = current_env_steps()
        reseed_env(eval_env, derive_seed(cfg.seed, "eval", step))
        result = evaluate_policy()
        state["eval_time_s"] += time.perf_counter() - began
        state["triggers"]["eval"] = step
        metrics["evaluations"].append(
            {
                "env_steps": step,
                "train_steps": current_train_steps(),
                "average_return": result.average_return,
                "average_episode_length": result.average_episode_length,
                "train_wall_time_s": round(train_wall_time(), 3),
            }
        )
        with writer.as_default(step=step):
            tf.summary.scalar("eval/average_return", result.average_return)
            tf.summary.scalar("eval/average_episode_length", result.average_episode_length)
        best = metrics["best_eval_return"]
        metrics["final_eval_return"] = result.average_return
        metrics["best_eval_return"] = max(
            result.average_return, -math.inf if best is None else best
        )
        solved = threshold is not None and result.average_return >= threshold
        if solved and metrics["solved_at_env_steps"] is None:
            metrics["solved_at_env_steps"] = step
            metrics["solved_at_wall_time_s"] = round(train_wall_time(), 3)
        write_metrics()

    perf = {
        "time": time.perf_counter(),
        "env_steps": current_env_steps(),
        "train_steps": current_train_steps(),
    }

    def summarize() -> None:
        now, step, train_steps = time.perf_counter(), current_env_steps(), current_train_steps()
        state["triggers"]["summary"] = step
        elapsed = max(now - perf["time"], 1e-9)
        with writer.as_default(step=step):
            tf.summary.scalar("train/loss", loop["loss"])
            tf.summary.scalar("train/average_return", train_return.result())
            tf.summary.scalar("train/average_episode_length", train_length.result())
            tf.summary.scalar("perf/env_steps_per_sec", (step - perf["env_steps"]) / elapsed)
            tf.summary.scalar(
                "perf/train_steps_per_sec", (train_steps - perf["train_steps"]) / elapsed
            )
            for tag, value in ctx.scalars.items():
                tf.summary.scalar(tag, value())
        perf.update(time=now, env_steps=step, train_steps=train_steps)

    def save_checkpoint() -> None:
        step = current_env_steps()
        state["triggers"]["checkpoint"] = step
        writer.flush()
        snapshot = {
            **state,
            "env_steps": step,
            "wall_time_s": wall_time(),
            "metrics": metrics,
        }
        checkpoints.save(manager, run_dir, step, snapshot)
        if step < t.env_steps:
            begin_segment(step)

    positions = state["triggers"]
    intervals = {
        "summary": t.summary_interval,
        "eval": t.eval_interval,
        "checkpoint": t.checkpoint_interval,
    }
    triggers = [
        IntervalTrigger(t.summary_interval, summarize, start=positions["summary"]),
        IntervalTrigger(t.eval_interval, evaluate, start=positions["eval"]),
        IntervalTrigger(t.checkpoint_interval, save_checkpoint, start=positions["checkpoint"]),
    ]

    # Phase 2: collect -> train, with the triggers on the env-step count.
    begin_segment(current_env_steps())
    show_progress = sys.stderr.isatty() if t.progress is None else t.progress
    with tqdm(
        total=t.env_steps,
        initial=current_env_steps(),
        unit="step",
        disable=not show_progress,
        dynamic_ncols=True,
    ) as bar:
        while current_env_steps() < t.env_steps:
            try:
                loop["loss"] = run_iterations()
            except tf.errors.InvalidArgumentError as exc:  # agents' own check_numerics
                if "inf or nan" not in str(exc).lower():
                    raise
                loop["loss"] = math.nan
            if not math.isfinite(loop["loss"]):
                raise TrainingError(
                    f"loss is {loop['loss']} at train step {current_train_steps()} "
                    f"(env step {current_env_steps()}); the last good checkpoint is kept. "
                    f"Lower agent.learning_rate or set agent.gradient_clipping"
                )
            step = current_env_steps()
            for trigger in triggers:
                trigger(step)
            bar.update(step - bar.n)
            latest = metrics["final_eval_return"]
            eval_text = "-" if latest is None else f"{latest:.1f}"
            bar.set_postfix_str(f"eval={eval_text} loss={loop['loss']:.3g}", refresh=False)

    # Phase 3: final evaluation, summaries, checkpoint and policy export.
    for trigger in triggers:
        trigger(current_env_steps(), force_trigger=True)
    writer.flush()
    policy_saver.PolicySaver(agent.policy, batch_size=None, train_step=ctx.train_step_counter).save(
        str(run_dir / "policy")
    )
    metrics["status"] = "completed"
    write_metrics()
    return metrics


def _fresh_state(threshold: float | None) -> dict[str, Any]:
    """Trainer state at step 0; checkpoints carry it in their JSON sidecar."""
    return {
        "env_steps": 0,
        "wall_time_s": 0.0,
        "eval_time_s": 0.0,
        "triggers": {"summary": 0, "eval": 0, "checkpoint": 0},
        "metrics": {
            "status": "running",
            "final_eval_return": None,
            "best_eval_return": None,
            "reward_threshold": threshold,
            "solved_at_env_steps": None,
            "solved_at_wall_time_s": None,
            "evaluations": [],
        },
    }
