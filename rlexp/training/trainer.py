"""The trainer: build env -> network -> agent -> buffer -> driver, then run the phases.

Phases: random-policy prefill, then [collect -> train]* until the env-step budget is
spent. Evaluation, TensorBoard scalars and checkpoints are TF-Agents `IntervalTrigger`s on
the env-step count, so the loop stays a few lines. The step axis is env steps everywhere.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import time
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from rlexp import buffers, drivers, registry
from rlexp.context import BuildContext
from rlexp.envs.gym_suite import reward_threshold
from rlexp.tracking.quiet import quiet_tensorflow
from rlexp.tracking.seeding import EVAL_SEED_OFFSET, seed_everything
from rlexp.training.evaluation import make_evaluator
from rlexp.training.run_files import METRICS_FILE, write_json_atomic


class TrainingError(RuntimeError):
    """Training cannot go on (for example a non-finite loss)."""


def build(group: str, node: DictConfig, context: BuildContext) -> Any:
    """Build the registered component `node.name` of `group` from its typed config."""
    component = registry.get(group, node.name)
    return component.builder(OmegaConf.to_object(node), context)


def build_components(cfg: DictConfig, observers: list) -> tuple[BuildContext, Any]:
    """Build every component in order; `observers` see each collected trajectory."""
    import tensorflow as tf

    ctx = BuildContext(seed=cfg.seed)
    ctx.env = build("env", cfg.env, ctx)
    ctx.network = build("network", cfg.network, ctx)
    ctx.train_step_counter = tf.Variable(0, dtype=tf.int64, name="train_step", trainable=False)
    ctx.agent = build("agent", cfg.agent, ctx)
    ctx.buffer = build("buffer", cfg.buffer, ctx)
    ctx.policy = ctx.agent.collect_policy
    ctx.observers = [buffers.observer(ctx.buffer), *observers]
    driver = build("driver", cfg.driver, ctx)
    return ctx, driver


def train(cfg: DictConfig, run_dir: Path) -> dict[str, Any]:
    """Train one run into `run_dir` and return the contents of its metrics.json."""
    quiet_tensorflow()
    import tensorflow as tf
    from tf_agents.drivers import dynamic_step_driver
    from tf_agents.eval import metric_utils
    from tf_agents.metrics import tf_metrics
    from tf_agents.policies import policy_saver, random_tf_policy
    from tf_agents.train.interval_trigger import IntervalTrigger
    from tf_agents.utils import common
    from tqdm import tqdm

    run_dir = Path(run_dir)
    t = cfg.train
    seed_everything(cfg.seed)
    env_steps = tf_metrics.EnvironmentSteps()
    episodes = tf_metrics.NumberOfEpisodes()
    ctx, driver = build_components(cfg, [])
    env, agent, buffer = ctx.env, ctx.agent, ctx.buffer
    train_return = tf_metrics.AverageReturnMetric(batch_size=env.batch_size)
    train_length = tf_metrics.AverageEpisodeLengthMetric(batch_size=env.batch_size)
    ctx.observers += [env_steps, episodes, train_return, train_length]
    eval_env = build("env", cfg.env, dataclasses.replace(ctx, seed=cfg.seed + EVAL_SEED_OFFSET))
    evaluate_policy = make_evaluator(eval_env, agent.policy, t.eval_episodes)
    threshold = reward_threshold(OmegaConf.to_object(cfg.env))

    writer = tf.summary.create_file_writer(str(run_dir))
    with writer.as_default(step=0):
        tf.summary.text("config", "```yaml\n" + OmegaConf.to_yaml(cfg, resolve=True) + "```")
    checkpointer = common.Checkpointer(
        ckpt_dir=str(run_dir / "checkpoints"),
        max_to_keep=t.checkpoints_to_keep,
        agent=agent,
        policy=agent.policy,
        replay_buffer=buffer,
        train_step=ctx.train_step_counter,
        metrics=metric_utils.MetricsGroup(
            [env_steps, episodes, train_return, train_length], "train_metrics"
        ),
    )

    # Phase 1: fill the buffer with a random policy.
    if t.prefill_steps:
        random_policy = random_tf_policy.RandomTFPolicy(env.time_step_spec(), env.action_spec())
        prefill = dynamic_step_driver.DynamicStepDriver(
            env,
            random_policy,
            observers=[buffers.observer(buffer), env_steps],
            num_steps=t.prefill_steps,
        )
        common.function(prefill.run)()

    dataset = buffers.dataset(buffer, OmegaConf.to_object(cfg.buffer), agent.train_sequence_length)
    iterator = iter(dataset)

    def train_iteration():
        loss = tf.constant(0.0)
        for _ in tf.range(t.train_steps_per_iteration):
            loss = buffers.train(buffer, agent, next(iterator)).loss
        return loss

    collect = drivers.collect_fn(driver)
    train_step = common.function(train_iteration, autograph=True)

    # Bookkeeping the triggers share.
    state = {"loss": float("nan"), "eval_time": 0.0, "evaluations": []}
    start = time.perf_counter()
    last = {"time": start, "env_steps": 0, "train_steps": 0}
    metrics: dict[str, Any] = {
        "status": "running",
        "final_eval_return": None,
        "best_eval_return": None,
        "reward_threshold": threshold,
        "solved_at_env_steps": None,
        "solved_at_wall_time_s": None,
    }

    def current_env_steps() -> int:
        return int(env_steps.result())

    def train_wall_time() -> float:
        return time.perf_counter() - start - state["eval_time"]

    def evaluate() -> None:
        began = time.perf_counter()
        result = evaluate_policy()
        state["eval_time"] += time.perf_counter() - began
        step = current_env_steps()
        state["evaluations"].append(
            {
                "env_steps": step,
                "train_steps": int(ctx.train_step_counter.numpy()),
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
            result.average_return, best if best is not None else -math.inf
        )
        solved = threshold is not None and result.average_return >= threshold
        if solved and metrics["solved_at_env_steps"] is None:
            metrics["solved_at_env_steps"] = step
            metrics["solved_at_wall_time_s"] = round(train_wall_time(), 3)
        write_metrics()

    def summarize() -> None:
        now, step, train_steps = (
            time.perf_counter(),
            current_env_steps(),
            int(ctx.train_step_counter.numpy()),
        )
        elapsed = max(now - last["time"], 1e-9)
        with writer.as_default(step=step):
            tf.summary.scalar("train/loss", state["loss"])
            tf.summary.scalar("train/average_return", train_return.result())
            tf.summary.scalar("train/average_episode_length", train_length.result())
            tf.summary.scalar("perf/env_steps_per_sec", (step - last["env_steps"]) / elapsed)
            tf.summary.scalar(
                "perf/train_steps_per_sec", (train_steps - last["train_steps"]) / elapsed
            )
            for tag, value in ctx.scalars.items():
                tf.summary.scalar(tag, value())
        last.update(time=now, env_steps=step, train_steps=train_steps)

    def checkpoint() -> None:
        checkpointer.save(global_step=current_env_steps())

    def write_metrics() -> None:
        metrics.update(
            env_steps=current_env_steps(),
            train_steps=int(ctx.train_step_counter.numpy()),
            episodes=int(episodes.result()),
            wall_time_s=round(time.perf_counter() - start, 3),
            train_wall_time_s=round(train_wall_time(), 3),
            evaluations=state["evaluations"],
        )
        write_json_atomic(run_dir / METRICS_FILE, metrics)

    triggers = [
        IntervalTrigger(t.summary_interval, summarize),
        IntervalTrigger(t.eval_interval, evaluate),
        IntervalTrigger(t.checkpoint_interval, checkpoint),
    ]

    # Phase 2: collect -> train, with the triggers on the env-step count.
    time_step = env.current_time_step()
    policy_state = ctx.policy.get_initial_state(env.batch_size)
    show_progress = sys.stderr.isatty() if t.progress is None else t.progress
    with tqdm(total=t.env_steps, unit="step", disable=not show_progress, dynamic_ncols=True) as bar:
        while (step := current_env_steps()) < t.env_steps:
            time_step, policy_state = collect(time_step, policy_state)
            state["loss"] = float(train_step())
            if not math.isfinite(state["loss"]):
                raise TrainingError(
                    f"loss is {state['loss']} at train step {int(ctx.train_step_counter.numpy())} "
                    f"(env step {current_env_steps()}); lower agent.learning_rate or set "
                    f"agent.gradient_clipping"
                )
            step = current_env_steps()
            for trigger in triggers:
                trigger(step)
            bar.update(step - bar.n)
            latest = metrics["final_eval_return"]
            eval_text = "-" if latest is None else f"{latest:.1f}"
            bar.set_postfix_str(f"eval={eval_text} loss={state['loss']:.3g}", refresh=False)

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
