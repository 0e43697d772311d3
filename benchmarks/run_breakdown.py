"""Where the wall time of one `rlexp train` goes: a phase-by-phase breakdown.

Runs `rlexp.cli.main(["train", ...])` in this process (call it in a fresh process: the
imports are part of what it measures) with timers wrapped around the run's phases:
imports, Hydra compose and the CLI, validation, provenance (git), building the
components, the evaluator and the loop, the TensorBoard writer, the prefill, the first
call of the training loop (tracing and compiling, plus the iterations it runs), the rest of
the loop, evaluations (the first one includes its compile), summaries, checkpoints, the
policy export and metrics.json. Times are exclusive (a phase's nested phases are
subtracted from it) so they add up to the process's wall time.

    .venv/bin/python benchmarks/run_breakdown.py [overrides...]    # prints JSON

`benchmarks/performance.py` calls it and prints the table.
"""

from __future__ import annotations

import functools
import json
import sys
import tempfile
import time

STARTED = time.perf_counter()
TIMES: dict[str, float] = {}  # wall time
CPU: dict[str, float] = {}  # CPU time of the process (all threads): less sensitive to load
COUNTS: dict[str, int] = {}
_stack: list[list[float]] = []  # [wall, cpu] spent in nested timed phases, per open phase


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _add(name: str, wall: float, cpu: float) -> None:
    TIMES[name] = TIMES.get(name, 0.0) + wall
    CPU[name] = CPU.get(name, 0.0) + cpu
    COUNTS[name] = COUNTS.get(name, 0) + 1


def timed(owner, attr: str, name: str | None = None, first: str | None = None) -> None:
    """Wrap `owner.attr` so that its exclusive time adds to `name` (`first`: the first
    call's time goes there instead)."""
    original = getattr(owner, attr)
    label = name or attr

    @functools.wraps(original)
    def wrapper(*args, **kwargs):
        _stack.append([0.0, 0.0])
        wall, cpu = _clock()
        try:
            return original(*args, **kwargs)
        finally:
            now_wall, now_cpu = _clock()
            wall, cpu = now_wall - wall, now_cpu - cpu
            nested = _stack.pop()
            key = first if first and first not in TIMES else label
            _add(key, wall - nested[0], cpu - nested[1])
            if _stack:
                _stack[-1][0] += wall
                _stack[-1][1] += cpu

    setattr(owner, attr, wrapper)


def instrument() -> None:
    import tensorflow as tf

    from rlexp import composition, rundir, validation
    from rlexp.tracking import provenance
    from rlexp.training import export, job, loops, runner, trainer

    timed(composition, "prepare_registry", "registry and ConfigStore")
    timed(validation, "validate", "validation")
    timed(provenance, "start_record", "provenance (git, versions)")
    timed(provenance, "finish_record", "provenance (git, versions)")
    timed(runner, "build_components", "build env, network, agent, buffer, driver")
    R = runner.Runner
    timed(R, "_build_evaluator", "build evaluator (eval env)")
    timed(R, "_build_loop", "build loop")
    timed(export.BestPolicy, "__init__", "best-policy copy")
    timed(runner.checkpoints, "manager", "checkpoint manager")
    timed(tf.summary, "create_file_writer", "TensorBoard writer")
    timed(R, "write_config_text", "TensorBoard text (config, provenance)")
    timed(R, "write_text", "TensorBoard text (config, provenance)")
    timed(R, "prefill", "prefill (trace + run)")
    timed(loops._Loop, "begin_segment", "segment start (reseed, make functions)")
    for cls in (loops.FusedLoop, loops.StepLoop, loops._Loop):
        if "run_until" in vars(cls):
            timed(cls, "run_until", "training loop (steady)", first="training loop: 1st call")
    if hasattr(R, "start_warm_ups"):  # absent from older revisions (`--before`)
        timed(R, "start_warm_ups", "training loop: trace ahead")
        timed(R, "wait_for_warm_ups", "waiting for the warm-ups (evaluation, export)")
    timed(R, "evaluate", "evaluations (rest)", first="evaluation: 1st (compile)")
    timed(R, "summarize", "summaries")
    timed(R, "save_checkpoint", "checkpoints")
    timed(export.BestPolicy, "export", "policy export (policy/, policy_best/)")
    timed(rundir, "write_metrics", "metrics.json")
    if hasattr(trainer, "_run"):  # older revisions (`--before`): building and running in one
        timed(trainer, "_run", "runner: other")
    else:
        timed(trainer, "_build_runner", "runner: other")
        timed(R, "run", "runner: other")
    timed(job, "run_job", "job: other")


def main(overrides: list[str]) -> dict:
    from rlexp.tracking.quiet import quiet_tensorflow

    quiet_tensorflow()
    wall, cpu = _clock()
    import tensorflow  # noqa: F401
    import tf_agents.agents  # noqa: F401

    _add("import tensorflow, tf_agents.agents", *_since(wall, cpu))
    wall, cpu = _clock()
    import hydra  # noqa: F401

    from rlexp import cli, registry

    registry.load_builtins()
    _add("import hydra, rlexp (components)", *_since(wall, cpu))
    instrument()
    with tempfile.TemporaryDirectory(prefix="rlexp_breakdown_") as run_dir:
        wall, cpu = _clock()
        code = cli.main(["train", "train.progress=false", f"hydra.run.dir={run_dir}", *overrides])
        total_wall, total_cpu = _since(wall, cpu)
        metrics = json.loads(open(f"{run_dir}/metrics.json").read())
    if code:
        raise SystemExit(f"rlexp train failed with exit code {code}")
    inside = [k for k in TIMES if not k.startswith("import")]
    _add(
        "CLI, Hydra compose and job setup",
        total_wall - sum(TIMES[k] for k in inside),
        total_cpu - sum(CPU[k] for k in inside),
    )
    _add("python start-up", STARTED - _process_start(), 0.0)
    return {
        "phases_s": {k: round(v, 3) for k, v in TIMES.items()},
        "phases_cpu_s": {k: round(v, 3) for k, v in CPU.items()},
        "calls": COUNTS,
        "process_wall_s": round(time.perf_counter() - _process_start(), 3),
        "process_cpu_s": round(time.process_time(), 3),
        "env_steps": metrics["env_steps"],
        "train_wall_time_s": metrics["train_wall_time_s"],
        "solved_at_wall_time_s": metrics["solved_at_wall_time_s"],
        "eval_returns": [e["average_return"] for e in metrics["evaluations"]],
    }


def _since(wall: float, cpu: float) -> tuple[float, float]:
    now_wall, now_cpu = _clock()
    return now_wall - wall, now_cpu - cpu


def _process_start() -> float:
    """This process's start on the perf_counter clock (Linux: /proc), else the script's."""
    import os

    try:
        ticks = int(open("/proc/self/stat").read().rsplit(")", 1)[1].split()[19])
        uptime = float(open("/proc/uptime").read().split()[0])
        age = uptime - ticks / os.sysconf("SC_CLK_TCK")
        return time.perf_counter() - age
    except (OSError, ValueError, IndexError):
        return STARTED


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:])))
