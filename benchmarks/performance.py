"""Performance harness: rlexp's training loop side by side with the seed notebook's.

One invocation measures, on this machine:

a) the seed notebook's loop as the baseline, written here with plain TF-Agents as the
   notebook does it: `TFPyEnvironment(suite_gym.load("CartPole-v1"))`, default QNetwork
   (75, 40), DqnAgent (Adam 1e-3, MSE, gamma 0.95, target period 50), TFUniformReplayBuffer
   of 10000, 1000 random pre-fill steps, `DynamicStepDriver` and `agent.train` wrapped in
   `common.function`, a Python loop of 4 collect steps then 1 train step on a batch of 128
   from `as_dataset(sample_batch_size=128, num_steps=2)`;
b) rlexp at the same hyperparameters and update ratio (4 env steps : 1 train step, counted
   across all carts of a batched env), on the gym path (`env=cartpole driver=step`, the
   default before the fast path) and on the fastest path (`env=cartpole_tf driver=fused`,
   compiled by XLA, which the default experiment uses), also in TF's graph mode
   (`train.jit_compile=false`): env steps/s, train steps/s and the ratio to the baseline,
   from the trainer's own perf summaries after warm-up;
c) the default experiment (`rlexp train seed=S`) over 5 seeds: median
   `solved_at_wall_time_s` (training wall time at the first greedy evaluation >= 475 over
   32 episodes, evaluation excluded) and how many seeds solved; its env steps per second
   of training wall time against the baseline's, measured again before each run (their
   median: the machine's speed drifts within minutes), and its process wall time (start to
   exit) against `python -c "import tensorflow, tf_agents.agents"` timed before each run;
   and `rlexp eval` of each run's policy_best/ over 100 episodes (`--eval-episodes`);
   the same in the graph mode (`train.jit_compile=false`: the fused loop not compiled by XLA);
   the same for the presets `cartpole_tf_dqn`, `ddqn_cartpole` and `c51_cartpole` over 3
   seeds each (`--preset-seeds`);
d) the peak resident memory of a default run (the first seed of c);
e) the latency of `rlexp --help` (median of several runs);
f) a sweep of short runs: `rlexp -m repeat=8` of the default experiment on the default
   launcher, its wall time against one default run's process wall time (the median of c),
   with runs forked from each worker's fork server (the default) and, side by side, each
   run a new Python process (`sweep.fork_server=false`), and in the graph mode against one
   graph-mode run;
g) where one default run's wall and CPU time go (`run_breakdown.py`), in each mode, and with
   `--before REV` the same for the rlexp of that git revision.

Each measurement runs in its own process; the throughput rounds interleave baseline and
rlexp so that the machine's load affects them alike, and the load average is recorded.
Writes `performance.json` and `performance.md` (default: outputs/benchmarks/performance/)
and prints the table. Not part of the test suite; takes a few minutes:

    .venv/bin/python benchmarks/performance.py
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RLEXP = str(Path(sys.executable).with_name("rlexp"))

# The notebook's hyperparameters, as rlexp overrides (4 env steps : 1 train step; replay
# of 10000 transitions in all).
NOTEBOOK = [
    "network.fc_layer_params=[75,40]",
    "agent.learning_rate=1e-3",
    "agent.learning_rate_final=null",
    "agent.gamma=0.95",
    "agent.td_errors_loss_fn=mse",
    "agent.epsilon_greedy.final=0.0",
    "agent.epsilon_greedy.decay_steps=1600",
    "agent.target_update_period=50",
    "agent.gradient_clipping=null",
    "agent.n_step_update=1",
    "buffer.sample_batch_size=128",
    "train.prefill_steps=1000",
]
PATHS = {
    "rlexp gym path (env=cartpole, driver=step)": [
        "env=cartpole",
        "driver=step",
        "buffer.max_length=10000",
        "driver.num_steps=4",
        "train.train_steps_per_iteration=1",
    ],
    "rlexp fastest path (cartpole_tf x16, driver=fused)": [
        "env=cartpole_tf",
        "env.num_parallel_envs=16",
        "driver=fused",
        "buffer.max_length=625",  # per cart: 10000 in all
        "driver.num_steps=16",
        "train.train_steps_per_iteration=4",
    ],
    "rlexp fused path, graph mode (train.jit_compile=false)": [
        "env=cartpole_tf",
        "env.num_parallel_envs=16",
        "driver=fused",
        "train.jit_compile=false",
        "buffer.max_length=625",
        "driver.num_steps=16",
        "train.train_steps_per_iteration=4",
    ],
}
BASELINE = "seed notebook loop (TFPyEnvironment, Python loop)"
PRESETS = ("cartpole_tf_dqn", "ddqn_cartpole", "c51_cartpole")
# The fused loop in TF's graph mode, not compiled by XLA: the default experiment measured
# in that mode too.
GRAPH_MODE = ["train.jit_compile=false"]
SWEEP_MODES = {
    "fork server (default)": [],
    "new process per run": ["sweep.fork_server=false"],
    "fork server, graph mode (train.jit_compile=false)": GRAPH_MODE,
}


def baseline(iterations: int, warmup: int) -> dict:
    """The notebook's loop; env and train steps per second over `iterations` after warm-up."""
    import tensorflow as tf
    from tf_agents.agents.dqn.dqn_agent import DqnAgent
    from tf_agents.drivers.dynamic_step_driver import DynamicStepDriver
    from tf_agents.environments import suite_gym
    from tf_agents.environments.tf_py_environment import TFPyEnvironment
    from tf_agents.networks.q_network import QNetwork
    from tf_agents.policies.random_tf_policy import RandomTFPolicy
    from tf_agents.replay_buffers.tf_uniform_replay_buffer import TFUniformReplayBuffer
    from tf_agents.utils.common import function

    env = TFPyEnvironment(suite_gym.load("CartPole-v1"))
    q_net = QNetwork(env.observation_spec(), env.action_spec())
    train_step = tf.Variable(0)
    epsilon_fn = tf.keras.optimizers.schedules.PolynomialDecay(
        initial_learning_rate=1.0, decay_steps=1600, end_learning_rate=0.0, power=1
    )
    agent = DqnAgent(
        env.time_step_spec(),
        env.action_spec(),
        q_network=q_net,
        optimizer=tf.keras.optimizers.Adam(learning_rate=0.001),
        gamma=0.95,
        td_errors_loss_fn=tf.keras.losses.MeanSquaredError("none").call,
        epsilon_greedy=lambda: epsilon_fn(train_step),
        train_step_counter=train_step,
        target_update_period=50,
    )
    replay_buffer = TFUniformReplayBuffer(
        data_spec=agent.collect_data_spec, batch_size=env.batch_size, max_length=10000
    )
    collect_driver = DynamicStepDriver(
        env, agent.collect_policy, observers=[replay_buffer.add_batch], num_steps=4
    )
    initial_policy = RandomTFPolicy(env.time_step_spec(), env.action_spec())
    DynamicStepDriver(env, initial_policy, [replay_buffer.add_batch], num_steps=1000).run()
    iterator = iter(replay_buffer.as_dataset(sample_batch_size=128, num_steps=2))
    collect_driver.run = function(collect_driver.run)
    agent.train = function(agent.train)

    time_step, policy_state = None, ()

    def iteration():
        nonlocal time_step, policy_state
        time_step, policy_state = collect_driver.run(time_step, policy_state)
        trajectories, _ = next(iterator)
        return agent.train(trajectories).loss

    for _ in range(warmup):
        iteration()
    began = time.perf_counter()
    for _ in range(iterations):
        loss = iteration()
    float(loss)
    elapsed = time.perf_counter() - began
    return {"env_steps_per_s": 4 * iterations / elapsed, "train_steps_per_s": iterations / elapsed}


def run_measured(args: list[str]) -> tuple[int, str, int]:
    """Run a command; its exit code, its stderr and its own peak resident memory (bytes)."""
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        return proc.returncode, err.read(), usage.ru_maxrss * 1024  # KiB on Linux


def measure_baseline(iterations: int, warmup: int) -> dict:
    result = subprocess.run(
        [sys.executable, __file__, "--only-baseline", str(iterations), str(warmup)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"baseline failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def measure_rlexp(overrides: list[str], env_steps: int, summary_interval: int) -> dict:
    """Train with the trainer's own loop; rates between its perf summaries after the first
    (which includes tracing and compiling), from the summaries' wall times."""
    with tempfile.TemporaryDirectory(prefix="rlexp_perf_") as run_dir:
        args = [
            RLEXP,
            "train",
            *NOTEBOOK,
            *overrides,
            f"train.env_steps={env_steps}",
            f"train.summary_interval={summary_interval}",
            f"train.eval_interval={10 * env_steps}",
            f"train.checkpoint_interval={10 * env_steps}",
            "train.eval_episodes=1",
            "train.progress=false",
            f"hydra.run.dir={run_dir}",
        ]
        result = subprocess.run(args, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed:\n{result.stderr[-3000:]}")
        points = perf_points(Path(run_dir), "perf/train_steps_per_sec")  # (wall, step, /s)
    points.sort(key=lambda p: p[1])
    window = points[1:-1]  # after warm-up; the last one is the forced final summary
    if len(window) < 2:
        raise RuntimeError(f"too few perf summaries to measure ({len(points)})")
    elapsed = window[-1][0] - window[0][0]
    trained = sum(
        rate * (b[0] - a[0]) for a, b in zip(window, window[1:], strict=False) for rate in [b[2]]
    )
    return {
        "env_steps_per_s": (window[-1][1] - window[0][1]) / elapsed,
        "train_steps_per_s": trained / elapsed,
    }


def perf_points(run_dir: Path, tag: str) -> list[tuple[float, int, float]]:
    """(wall time, step, value) of each `tag` scalar in the run's event files."""
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
    from tensorboard.util import tensor_util

    points = []
    for path in sorted(run_dir.glob("events.out.tfevents.*")):
        for event in EventFileLoader(str(path)).Load():
            for value in event.summary.value:
                if value.tag == tag:
                    number = float(tensor_util.make_ndarray(value.tensor))
                    points.append((event.wall_time, event.step, number))
    return points


def exported_return(run_dir: str, episodes: int) -> float:
    """`rlexp eval RUN episodes=N`: the mean return of the policy it evaluates by default."""
    args = [RLEXP, "eval", run_dir, f"episodes={episodes}"]
    result = subprocess.run(args, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{result.stderr[-3000:]}")
    line = next(x for x in result.stdout.splitlines() if x.startswith("return over"))
    return float(line.split("mean ")[1].split(",")[0])


def import_time() -> float:
    """Wall time of `python -c "import tensorflow, tf_agents.agents"`."""
    began = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", "import tensorflow, tf_agents.agents"],
        capture_output=True,
        check=True,
    )
    return time.perf_counter() - began


def breakdown(rlexp_source: str | None = None, overrides: tuple[str, ...] = ()) -> dict:
    """benchmarks/run_breakdown.py in a fresh process (`rlexp_source`: another rlexp tree)."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    if rlexp_source:
        env["PYTHONPATH"] = rlexp_source
    script = str(Path(__file__).with_name("run_breakdown.py"))
    result = subprocess.run(
        [sys.executable, script, *overrides], capture_output=True, text=True, check=False, env=env
    )
    if result.returncode != 0:
        raise RuntimeError(f"breakdown failed:\n{result.stderr[-3000:]}")
    report = json.loads(result.stdout.strip().splitlines()[-1])
    report["load"] = os.getloadavg()[0]
    return report


def rlexp_env(source: Path) -> dict[str, str]:
    """The environment that makes a new process import the rlexp package in `source`
    (checked): PYTHONPATH, and PYTHONSAFEPATH, without which `python -c`/`-m` (and every
    process they start) put the working directory first on sys.path, where a checkout of
    another rlexp (the repository root, where these scripts are run) would win."""
    env = dict(os.environ, PYTHONPATH=str(source), PYTHONSAFEPATH="1")
    where = subprocess.run(
        [sys.executable, "-c", "import rlexp; print(rlexp.__file__)"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout.strip()
    if not Path(where).resolve().is_relative_to(Path(source).resolve()):
        sys.exit(f"PYTHONPATH={source} does not select its rlexp (imports {where})")
    return env


def source_at(revision: str, into: str) -> str:
    """rlexp's package as of a git revision, extracted into `into` (for PYTHONPATH)."""
    root = Path(__file__).resolve().parents[1]
    archive = subprocess.run(
        ["git", "archive", revision, "rlexp"], cwd=root, capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", into], input=archive, check=True)
    return into


def solve_times(
    seeds: list[int], extra: list[str], eval_episodes: int = 0, baseline_iterations: int = 0
) -> tuple[list[dict], int]:
    """The default experiment per seed: its metrics, with the baseline's env steps/s and
    the import's wall time measured just before it when `baseline_iterations`; and the
    largest peak RSS of a run."""
    runs, peak_rss = [], 0
    for seed in seeds:
        beside = measure_baseline(baseline_iterations, 100) if baseline_iterations else None
        imports = import_time() if baseline_iterations else None
        with tempfile.TemporaryDirectory(prefix="rlexp_solve_") as run_dir:
            args = [RLEXP, "train", f"seed={seed}", "train.progress=false", *extra]
            args.append(f"hydra.run.dir={run_dir}")
            began = time.perf_counter()
            code, err, rss = run_measured(args)
            wall = time.perf_counter() - began
            if code != 0:
                raise RuntimeError(f"{' '.join(args)} failed:\n{err[-3000:]}")
            peak_rss = max(peak_rss, rss)
            metrics = json.loads((Path(run_dir) / "metrics.json").read_text())
            exported = exported_return(run_dir, eval_episodes) if eval_episodes else None
        runs.append(
            {
                "seed": seed,
                "best_eval_return": metrics["best_eval_return"],
                "rlexp_eval_return": exported,
                "solved_at_wall_time_s": metrics["solved_at_wall_time_s"],
                "solved_at_env_steps": metrics["solved_at_env_steps"],
                "final_eval_return": metrics["final_eval_return"],
                "env_steps": metrics["env_steps"],
                "train_wall_time_s": metrics["train_wall_time_s"],
                "process_wall_time_s": round(wall, 2),
                "baseline_env_steps_per_s": beside and round(beside["env_steps_per_s"], 1),
                "import_time_s": imports and round(imports, 2),
            }
        )
        print(f"  seed {seed}: {json.dumps(runs[-1])}", flush=True)
    return runs, peak_rss


def solve_summary(runs: list[dict], eval_episodes: int) -> dict:
    solved = [r["solved_at_wall_time_s"] for r in runs if r["solved_at_wall_time_s"] is not None]
    return {
        "runs": runs,
        "solved": len(solved),
        "median_solved_at_wall_time_s": statistics.median(solved) if solved else None,
        "eval_episodes": eval_episodes,
        "exported_solved": sum(1 for r in runs if (r["rlexp_eval_return"] or 0) >= 475),
    }


def default_experiment(
    seeds: int, extra: list[str], eval_episodes: int, baseline_iterations: int
) -> tuple[dict, int]:
    """The default experiment (with `extra` overrides) over `seeds` seeds: its solve
    summary, whole-run throughput against the baseline's measured beside its runs (the
    median of one measure before each run: the machine's speed drifts within minutes), and
    the peak RSS of a run."""
    runs, peak_rss = solve_times(list(range(seeds)), extra, eval_episodes, baseline_iterations)
    solve = solve_summary(runs, eval_episodes)
    whole_run = sum(r["env_steps"] for r in runs) / sum(r["train_wall_time_s"] for r in runs)
    base = statistics.median(r["baseline_env_steps_per_s"] for r in runs)
    solve["whole_run_env_steps_per_s"] = whole_run
    solve["whole_run_baseline_env_steps_per_s"] = base
    solve["whole_run_ratio"] = whole_run / base
    solve["median_process_wall_time_s"] = statistics.median(r["process_wall_time_s"] for r in runs)
    solve["median_import_time_s"] = statistics.median(r["import_time_s"] for r in runs)
    return solve, peak_rss


def sweep_time(runs: int) -> dict:
    """Wall time of `rlexp -m repeat=<runs>` of the default experiment, per SWEEP_MODES."""
    times = {}
    for mode, extra in SWEEP_MODES.items():
        with tempfile.TemporaryDirectory(prefix="rlexp_sweep_") as root:
            sweep_dir = Path(root) / "multirun"
            args = [RLEXP, "-m", f"repeat={runs}", "train.progress=false", *extra]
            args.append(f"hydra.sweep.dir={sweep_dir}")
            began = time.perf_counter()
            code, err, _ = run_measured(args)
            times[mode] = round(time.perf_counter() - began, 2)
            statuses = [
                json.loads(m.read_text())["status"] for m in sweep_dir.glob("*/metrics.json")
            ]
            if code != 0 or statuses != ["completed"] * runs:
                raise RuntimeError(f"{' '.join(args)}: {statuses}\n{err[-3000:]}")
        print(f"  sweep of {runs} runs, {mode}: {times[mode]} s", flush=True)
    return times


def help_latency(repeats: int) -> float:
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        subprocess.run([RLEXP, "--help"], capture_output=True, check=True)
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def cpu_model() -> str:
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def breakdown_table(b: dict) -> str:
    """Phase | wall s | CPU s for each measured side (the slowest phases of "after" first)."""
    sides = [("after", b["after"])]
    if b.get("graph"):
        sides.append(("after, graph mode", b["graph"]))
    if b.get("before"):
        sides.append((f"before ({b['before_revision']})", b["before"]))
    names = list(b["after"]["phases_s"])
    for _, side in sides:
        names += [n for n in side["phases_s"] if n not in names]
    names.sort(key=lambda n: -b["after"]["phases_cpu_s"].get(n, 0.0))
    head = "| phase of one default run |" + "".join(
        f" {n}: wall s | {n}: CPU s |" for n, _ in sides
    )
    rows = [head, "|---|" + "---|---|" * len(sides)]
    for name in names + ["process total"]:
        cells = []
        for _, side in sides:
            if name == "process total":
                cells += [f"{side['process_wall_s']:.2f}", f"{side['process_cpu_s']:.2f}"]
            else:
                wall, cpu = side["phases_s"].get(name), side["phases_cpu_s"].get(name)
                cells += [
                    "-" if wall is None else f"{wall:.2f}",
                    "-" if cpu is None else f"{cpu:.2f}",
                ]
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    loads = " / ".join(f"{side['load']:.1f}" for _, side in sides)
    return "\n".join(rows) + f"\n\n(1-minute load average after each: {loads})\n"


def _fmt(value) -> str:
    return "-" if value is None else f"{value:.1f}"


def solve_rows(label: str, s: dict, targets: bool) -> list[str]:
    """The table rows of a `default_experiment` summary."""
    median = s["median_solved_at_wall_time_s"]
    target = (lambda t: t) if targets else (lambda t: "")
    return [
        f"| {label}: median time to solve CartPole-v1 (training wall time) | "
        f"{'n/a' if median is None else f'{median:.2f} s'} | {target('<= 2 s')} |",
        f"| {label}: seeds reaching greedy eval >= 475 | "
        f"{s['solved']}/{len(s['runs'])} | {target('5/5')} |",
        f"| {label}: `rlexp eval` (policy_best/, {s['eval_episodes']} episodes) "
        f">= 475 | {s['exported_solved']}/{len(s['runs'])} "
        f"({', '.join(_fmt(r['rlexp_eval_return']) for r in s['runs'])}) | {target('5/5')} |",
        f"| {label}: env_steps / train_wall_time_s (compile included) | "
        f"{s['whole_run_env_steps_per_s']:.0f} ({s['whole_run_ratio']:.1f}x the baseline "
        f"measured beside these runs, {s['whole_run_baseline_env_steps_per_s']:.0f}) | "
        f"{target('>= 10x')} |",
    ]


def markdown(report: dict) -> str:
    t = report["throughput"]
    lines = [
        "| Measure | Result | Target |",
        "|---|---|---|",
    ]
    for name, rates in t.items():
        ratio = "" if name == BASELINE else f" ({rates['env_steps_ratio']:.1f}x baseline)"
        target = ">= 30x" if "fused" in name else ""
        lines.append(
            f"| {name}: env steps/s, train steps/s | {rates['env_steps_per_s']:.0f}, "
            f"{rates['train_steps_per_s']:.0f}{ratio} | {target} |"
        )
    lines += solve_rows("Default experiment", report["solve"], targets=True)
    lines += solve_rows("Default experiment, graph mode", report["solve_graph"], targets=False)
    for preset, p in report["presets"].items():
        returns = ", ".join(_fmt(r["rlexp_eval_return"]) for r in p["runs"])
        lines.append(
            f"| `experiment={preset}`: seeds reaching greedy eval >= 475; `rlexp eval` "
            f"({p['eval_episodes']} episodes) >= 475 | {p['solved']}/{len(p['runs'])}; "
            f"{p['exported_solved']}/{len(p['runs'])} ({returns}) | all; all |"
        )
    for mode, wall in report["sweep"]["wall_time_s"].items():
        solve = report["solve_graph" if "graph mode" in mode else "solve"]
        one_run = solve["median_process_wall_time_s"]
        lines.append(
            f"| Sweep `rlexp -m repeat={report['sweep']['runs']}`, {mode}: wall time; "
            f"one such run's process wall time | {wall:.1f} s; {one_run:.1f} s "
            f"({wall / one_run:.1f}x) | <= 2.5x |"
        )
    lines += [
        f"| Peak RSS of a default run | {report['peak_rss_mib']:.0f} MiB | <= 1024 MiB |",
        f"| `rlexp --help` latency (median of {report['help_repeats']}) | "
        f"{report['help_latency_s']:.2f} s | <= 1 s |",
    ]
    one_run = report["solve"]["median_process_wall_time_s"]
    imports = report["solve"]["median_import_time_s"]
    lines += [
        f"| Default run: process wall time; `import tensorflow, tf_agents.agents` alone "
        f"(medians over the default experiment's runs, the import timed before each) | "
        f"{one_run:.1f} s; {imports:.1f} s ({one_run / imports:.1f}x) | <= 2x |",
        "",
    ]
    b = report.get("breakdown")
    if b:
        lines.append(breakdown_table(b))
    lines.append(
        f"Machine: {report['machine']['cpu']}, {report['machine']['cores']} cores; "
        f"load average (1 min) before {report['load_before'][0]:.2f}, "
        f"after {report['load_after'][0]:.2f}."
    )
    return "\n".join(lines) + "\n"


def solve_presets(seeds: int, eval_episodes: int) -> dict:
    presets = {}
    for preset in PRESETS if seeds else ():
        print(f"experiment={preset} over {seeds} seeds", flush=True)
        runs, _ = solve_times(list(range(seeds)), [f"experiment={preset}"], eval_episodes)
        presets[preset] = solve_summary(runs, eval_episodes)
    return presets


def presets_only(args: argparse.Namespace) -> None:
    """The presets' solve checks alone (they take most of a full invocation's time)."""
    load_before = os.getloadavg()
    presets = solve_presets(args.preset_seeds, args.eval_episodes)
    report = {"load_before": load_before, "load_after": os.getloadavg(), "presets": presets}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "presets.json").write_text(json.dumps(report, indent=2) + "\n")
    for preset, p in presets.items():
        returns = ", ".join(_fmt(r["rlexp_eval_return"]) for r in p["runs"])
        print(
            f"{preset}: reached 475 {p['solved']}/{len(p['runs'])}; rlexp eval >= 475 "
            f"{p['exported_solved']}/{len(p['runs'])} ({returns})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("outputs/benchmarks/performance"))
    parser.add_argument("--rounds", type=int, default=2, help="interleaved throughput rounds")
    parser.add_argument("--baseline-iterations", type=int, default=1500)
    parser.add_argument("--seeds", type=int, default=5, help="seeds of the default experiment")
    parser.add_argument("--help-repeats", type=int, default=5)
    parser.add_argument("--eval-episodes", type=int, default=100, help="rlexp eval per seed")
    parser.add_argument("--preset-seeds", type=int, default=3, help="seeds of each preset")
    parser.add_argument("--sweep-runs", type=int, default=8, help="repeat= of the sweep")
    parser.add_argument(
        "--presets-only", action="store_true", help="only the presets' solve checks (c)"
    )
    parser.add_argument(
        "--before", default=None, help="git revision whose run breakdown to show beside"
    )
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--only-baseline", nargs=2, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.only_baseline:
        from rlexp.tracking.quiet import quiet_tensorflow

        quiet_tensorflow()
        print(json.dumps(baseline(*args.only_baseline)))
        return

    if args.presets_only:
        return presets_only(args)
    load_before = os.getloadavg()
    print(f"cpu: {cpu_model()}, cores: {os.cpu_count()}, load average: {load_before}", flush=True)
    samples: dict[str, list[dict]] = {BASELINE: [], **{name: [] for name in PATHS}}
    for round_ in range(0 if args.skip_throughput else args.rounds):
        print(f"throughput round {round_ + 1}/{args.rounds}", flush=True)
        samples[BASELINE].append(measure_baseline(args.baseline_iterations, warmup=100))
        print(f"  {BASELINE}: {samples[BASELINE][-1]}", flush=True)
        for name, overrides in PATHS.items():
            fused = "driver=fused" in overrides
            env_steps = 60_000 if fused else 1000 + 4 * args.baseline_iterations + 2000
            interval = 5000 if fused else 1000
            samples[name].append(measure_rlexp(overrides, env_steps, interval))
            print(f"  {name}: {samples[name][-1]}  load {os.getloadavg()[0]:.2f}", flush=True)
    throughput = {}
    for name, runs in samples.items() if not args.skip_throughput else ():
        throughput[name] = {
            key: statistics.median(r[key] for r in runs)
            for key in ("env_steps_per_s", "train_steps_per_s")
        }
        throughput[name]["samples"] = runs
    if args.skip_throughput:
        throughput[BASELINE] = measure_baseline(args.baseline_iterations, warmup=100)
    base = throughput[BASELINE]
    for rates in throughput.values():
        rates["env_steps_ratio"] = rates["env_steps_per_s"] / base["env_steps_per_s"]
        rates["train_steps_ratio"] = rates["train_steps_per_s"] / base["train_steps_per_s"]

    print(f"default experiment over {args.seeds} seeds", flush=True)
    iterations = args.baseline_iterations
    solve, peak_rss = default_experiment(args.seeds, [], args.eval_episodes, iterations)
    print(f"default experiment, graph mode, over {args.seeds} seeds", flush=True)
    solve_graph, _ = default_experiment(args.seeds, GRAPH_MODE, args.eval_episodes, iterations)
    presets = solve_presets(args.preset_seeds, args.eval_episodes)
    print(f"sweep of {args.sweep_runs} default runs", flush=True)
    sweep = {"runs": args.sweep_runs, "wall_time_s": sweep_time(args.sweep_runs)}
    print("rlexp --help latency; import time; run breakdown", flush=True)
    latency = help_latency(args.help_repeats)
    phases = {"after": breakdown(), "graph": breakdown(overrides=tuple(GRAPH_MODE))}
    if args.before:
        with tempfile.TemporaryDirectory(prefix="rlexp_before_") as tree:
            phases["before"] = breakdown(source_at(args.before, tree))
            phases["before_revision"] = args.before

    report = {
        "machine": {
            "cpu": cpu_model(),
            "cores": os.cpu_count(),
            "python": platform.python_version(),
        },
        "load_before": load_before,
        "load_after": os.getloadavg(),
        "throughput": throughput,
        "solve": solve,
        "solve_graph": solve_graph,
        "presets": presets,
        "sweep": sweep,
        "breakdown": phases,
        "peak_rss_mib": peak_rss / 2**20,
        "help_latency_s": latency,
        "help_repeats": args.help_repeats,
        "command": "python benchmarks/performance.py " + " ".join(sys.argv[1:]),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "performance.json").write_text(json.dumps(report, indent=2) + "\n")
    table = markdown(report)
    (args.out / "performance.md").write_text(table)
    print(table)
    print(f"written: {args.out / 'performance.json'}, {args.out / 'performance.md'}")


if __name__ == "__main__":
    main()
