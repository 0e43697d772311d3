"""One job of a sweep: its runs train in child processes, so no run can take the sweep down.

Hydra's launcher (joblib, Ray, submitit) calls `run_sweep_job(cfg)` once per sweep point.
The job validates the config, then trains each of its seeds (`repeat=N`: seed, seed+1, ...)
in a process of its own (`rlexp.sweeps.child`), which

- starts without paying the TensorFlow import again (`sweep.fork_server`, on by default:
  a fork of a process that imported it once per launcher worker, `rlexp.sweeps.forkserver`),
- sets the TF intra-op/inter-op thread limits before TensorFlow initialises
  (`sweep.intra_op_threads`, `sweep.inter_op_threads`; 1 by default, so parallel jobs do
  not fight for the cores), and
- can raise, hit a non-finite loss or be killed (even by SIGKILL) without touching the
  launcher's worker: the job sees the exit status, records the reason in the run's
  metrics.json and job.json, and returns NaN, which the basic sweeper ignores; in an Optuna
  study it raises `TrialFailed` instead, which Optuna records as a failed trial.

After each run the job writes the run's HParams session (hyperparameters and real metrics)
and returns the objective, `sweep.objective` of metrics.json (mean over the seeds).
"""

from __future__ import annotations

import copy
import math
import os
import pickle
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf, open_dict

from rlexp import rundir
from rlexp.rundir import (
    JOB_FILE,
    METRICS_FILE,
    OUTPUT_LOG,
    REPEAT_FILE,
    SWEEP_FILE,
    write_json_atomic,
)
from rlexp.sweeps import signals
from rlexp.sweeps.resume import is_resumed
from rlexp.training.checkpoints import newest_on_disk


def is_multirun() -> bool:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def seeds_of(cfg: DictConfig) -> list[int]:
    """The seeds a job trains: `repeat` seeds counted up from the base `seed`."""
    return [int(cfg.seed) + i for i in range(int(cfg.get("repeat", 1)))]


class TrialFailed(RuntimeError):
    """A job of an Optuna study that has no objective value: the study records a FAIL trial
    (its sweeper takes an exception, not the NaN the basic sweeper ignores)."""


def run_sweep_job(cfg: DictConfig) -> float:
    """Hydra's task function for one sweep job; returns the objective (NaN on failure, or
    `TrialFailed` in an Optuna study)."""
    from hydra.core.hydra_config import HydraConfig

    from rlexp.sweeps.sweepers import OPTUNA_SWEEPER

    value = _run_sweep_job(cfg)
    if math.isnan(value) and HydraConfig.get().sweeper.get("_target_") == OPTUNA_SWEEPER:
        raise TrialFailed(
            f"no {cfg.sweep.objective}: the trial's runs failed or were skipped (their "
            f"reasons are above and in their metrics.json)"
        )
    return value


def _run_sweep_job(cfg: DictConfig) -> float:
    from hydra.core.hydra_config import HydraConfig

    from rlexp.validation import ConfigError, validate

    hydra_cfg = HydraConfig.get()
    job_dir, sweep_dir = Path(hydra_cfg.runtime.output_dir), Path(hydra_cfg.sweep.dir)
    overrides = list(hydra_cfg.overrides.task)
    objective = cfg.sweep.objective
    label = f"job {hydra_cfg.job.num}"
    if signals.stop_requested(sweep_dir):
        return _not_started(job_dir, sweep_dir, [f"{label} seed {s}" for s in seeds_of(cfg)])
    try:
        validate(cfg)
    except ConfigError as exc:
        _finish_failed(job_dir, cfg, overrides, f"ConfigError: {exc}", time.time(), {})
        print(f"[{label}] invalid config, skipped: {exc}", file=sys.stderr)
        return math.nan

    seeds = seeds_of(cfg)
    resolved = copy.deepcopy(cfg)
    OmegaConf.resolve(resolved)  # interpolations (some need Hydra) resolved here, once
    in_place = is_resumed(rundir.read_json(sweep_dir / SWEEP_FILE))  # `rlexp resume <sweep>`
    values = []
    for seed in seeds:
        run_dir = job_dir if len(seeds) == 1 else job_dir / f"seed_{seed}"
        where = run_dir if run_dir == job_dir else f"{job_dir.name}/{run_dir.name}"
        if signals.stop_requested(sweep_dir):
            print(f"[{label} seed {seed}] not started: the sweep was stopped", file=sys.stderr)
            values.append(math.nan)
            continue
        earlier = rundir.read_metrics(run_dir) if in_place else {}
        if earlier.get("status") == "completed":
            values.append(objective_value(earlier, objective))
            print(f"[{label} seed {seed}] completed before: {objective}={values[-1]} ({where})")
            continue
        run_cfg = copy.deepcopy(resolved)
        with open_dict(run_cfg):
            run_cfg.seed = seed
            run_cfg.repeat = 1
        resume = in_place and newest_on_disk(run_dir) is not None
        own_hydra_dir = run_dir != job_dir and not resume
        metrics = run_isolated(run_cfg, run_dir, overrides, sweep_dir, own_hydra_dir, resume)
        values.append(objective_value(metrics, objective))
        _say_how_it_ended(f"[{label} seed {seed}]", metrics, objective, values[-1], where, run_dir)
    result = math.nan if any(map(math.isnan, values)) else sum(values) / len(values)
    if len(seeds) > 1:
        write_json_atomic(
            job_dir / REPEAT_FILE,
            {
                "seeds": seeds,
                "runs": [f"seed_{s}" for s in seeds],
                "objective": objective,
                "values": [v if math.isfinite(v) else None for v in values],
                "mean": result if math.isfinite(result) else None,
            },
        )
    return result


def _not_started(job_dir: Path, sweep_dir: Path, labels: list[str]) -> float:
    """A job the sweep's stop keeps from starting: the folder Hydra just made for it goes
    again (so `rlexp resume` later starts the job afresh), and in the sweep's parent no
    later job starts either (`signals.SweepStopped`)."""
    if not is_resumed(rundir.read_json(sweep_dir / SWEEP_FILE)):
        _remove_if_hydra_only(job_dir)
    for label in labels:
        print(f"[{label}] not started: the sweep was stopped", file=sys.stderr)
    if signals.is_sweep_parent():
        raise signals.SweepStopped(labels[0])
    return math.nan


def _remove_if_hydra_only(job_dir: Path) -> None:
    """Remove `job_dir` if it holds only what Hydra writes before a job runs (`.hydra/`, an
    empty train.log): a new sweep's job folders are new (`check_job_folders`)."""
    hydra_dir, log = job_dir / rundir.HYDRA_DIR, job_dir / rundir.TRAIN_LOG
    hydra_files = {rundir.CONFIG_FILE, rundir.OVERRIDES_FILE, rundir.HYDRA_SETTINGS_FILE}
    try:
        if {p.name for p in job_dir.iterdir()} - {hydra_dir.name, log.name}:
            return
        if hydra_dir.is_dir() and {p.name for p in hydra_dir.iterdir()} - hydra_files:
            return
        if log.is_file() and log.stat().st_size:
            return
    except OSError:
        return
    shutil.rmtree(job_dir, ignore_errors=True)


def _say_how_it_ended(
    prefix: str, metrics: dict[str, Any], objective: str, value: float, where: Any, run_dir: Path
) -> None:
    """One line on a run's end; an interrupted run's is the command that resumes it, with
    the run's full path (`where` may be relative to the sweep folder)."""
    from rlexp.sweeps.runs import short_reason

    if metrics.get("status") == "completed":
        print(f"{prefix} completed: {objective}={value} ({where})")
    elif metrics.get("status") == "interrupted":
        print(f"{prefix} interrupted: rlexp resume {shlex.quote(str(run_dir))}", file=sys.stderr)
    else:
        print(f"{prefix} FAILED: {short_reason(metrics.get('error'))} ({where})", file=sys.stderr)


def objective_value(metrics: dict[str, Any], objective: str) -> float:
    """What a run gives the sweep: its `objective` once completed, NaN otherwise (a failed
    trial); +inf for a solve that never came (`rundir.never_solved`), the worst value a
    study minimising it can see, not a failure it would ignore."""
    if metrics.get("status") != "completed":
        return math.nan
    if rundir.never_solved(metrics, objective):
        return math.inf
    value = metrics.get(objective)
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return math.nan


def run_isolated(
    cfg: DictConfig,
    run_dir: Path,
    overrides: list[str],
    sweep_dir: Path,
    own_hydra_dir: bool = False,
    resume: bool = False,
) -> dict[str, Any]:
    """Train `cfg` into `run_dir` in a child process; return the run's final metrics.json.
    A stop of the sweep in `sweep_dir` reaches the child (`rlexp.sweeps.signals`).

    `own_hydra_dir`: write the run's `.hydra/config.yaml` and `overrides.yaml`, and copy the
    job's `hydra.yaml` (a seed folder of a repeated job; Hydra wrote them itself for the job
    folder). `resume`: go on from the run's latest checkpoint, as `rlexp resume` does.
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    run_overrides = [o for o in overrides if not o.startswith(("seed=", "repeat="))]
    run_overrides.append(f"seed={cfg.seed}")
    if own_hydra_dir:
        _write_hydra_dir(cfg, run_dir, run_overrides)
    payload = _payload(cfg, run_dir, resume)

    threads = {
        "intra_op": int(cfg.sweep.intra_op_threads),
        "inter_op": int(cfg.sweep.inter_op_threads),
    }
    started = time.time()
    job = {
        "status": "running",
        "pid": None,
        "host": socket.gethostname(),
        "seed": int(cfg.seed),
        "overrides": run_overrides,
        "tf_threads": threads,
        "start_time": started,
        "end_time": None,
        "exit_code": None,
        "error": None,
    }
    with open(run_dir / OUTPUT_LOG, "ab") as log:
        child = _start_training_process(cfg, _child_env(threads))
        job["pid"] = child.pid
        write_json_atomic(run_dir / JOB_FILE, job)
        with signals.forwarded_to(child, sweep_dir):
            try:
                child.stdin.write(payload)
                child.stdin.close()
            except BrokenPipeError:
                pass
            _relay(child.stdout, log)
            code = child.wait()

    metrics, error = _outcome(run_dir, code)
    job.update(status=metrics["status"], end_time=time.time(), exit_code=code, error=error)
    write_json_atomic(run_dir / JOB_FILE, job)
    _write_hparams(run_dir, cfg, run_overrides, metrics, started)
    return metrics


def _write_hydra_dir(cfg: DictConfig, run_dir: Path, overrides: list[str]) -> None:
    """A seed folder's `.hydra/`: its config and overrides, and its job's Hydra settings
    (the config directories and working directory its resume needs)."""
    rundir.config_path(run_dir).parent.mkdir(exist_ok=True)
    OmegaConf.save(cfg, rundir.config_path(run_dir))
    OmegaConf.save(OmegaConf.create(overrides), rundir.overrides_path(run_dir))
    settings = Path(rundir.HYDRA_DIR) / rundir.HYDRA_SETTINGS_FILE
    if (run_dir.parent / settings).is_file():
        shutil.copyfile(run_dir.parent / settings, run_dir / settings)


def _start_training_process(cfg: DictConfig, env: dict[str, str]) -> Any:
    """The run's own process: a fork of the worker's fork server (`sweep.fork_server`), or
    a new Python process. Stop signals reach it through the job, not the terminal."""
    plugins = [str(p) for p in cfg.plugins]
    new_session = signals.in_main_thread()
    if cfg.sweep.fork_server:
        from rlexp.sweeps.forkserver import fork_run

        try:
            return fork_run(plugins, env, new_session)
        except OSError as exc:
            print(f"rlexp: {exc}; this run starts as a new process", file=sys.stderr)
    return subprocess.Popen(
        # -P: the working directory is not put first on sys.path (as `-m` would), so no file
        # there stands in for rlexp or a dependency; listed plugins are still found there,
        # searched last (`registry.load_plugins`).
        [sys.executable, "-P", "-m", "rlexp.sweeps.child", *plugins],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=new_session,
    )


def _payload(cfg: DictConfig, run_dir: Path, resume: bool) -> bytes:
    """What the training process reads on stdin: the run's config and the job's Hydra
    settings as plain data (Hydra's plugin config classes do not pickle)."""
    from hydra.core.hydra_config import HydraConfig

    hydra_node = OmegaConf.to_container(HydraConfig.get(), resolve=False)
    hydra_node["runtime"]["output_dir"] = str(run_dir.resolve())
    return pickle.dumps({"cfg": cfg, "hydra": hydra_node, "resume": resume})


def _relay(output, log) -> None:
    """Everything the training process prints goes to its output.log; its progress lines
    (`[job N seed S] ...`) also to the sweep's terminal, so a sweep is never silent. A
    terminal that is gone (EIO, until the hang-up reaches this process) loses them."""
    for line in iter(output.readline, b""):
        log.write(line)
        log.flush()
        if line.startswith(b"[job "):
            try:
                sys.stdout.write(line.decode(errors="replace"))
                sys.stdout.flush()
            except OSError:
                pass


def _child_env(threads: dict[str, int]) -> dict[str, str]:
    """The training process's environment: TF's thread pools limited before TF starts."""
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if threads["intra_op"] > 0:
        env["TF_NUM_INTRAOP_THREADS"] = env["OMP_NUM_THREADS"] = str(threads["intra_op"])
    if threads["inter_op"] > 0:
        env["TF_NUM_INTEROP_THREADS"] = str(threads["inter_op"])
    return env


def _outcome(run_dir: Path, code: int) -> tuple[dict[str, Any], str | None]:
    """The run's metrics.json after its process ended, and why it failed (None: it did not).

    A run that did not complete nor stop cleanly (interrupted) is marked failed with the
    reason its process gave, or its exit status."""
    metrics = rundir.read_metrics(run_dir)
    status = metrics.get("status")
    if status == "interrupted" or (code == 0 and status == "completed"):
        return metrics, None
    error = metrics.get("error") if status == "failed" else None
    error = error or _exit_reason(code, run_dir / OUTPUT_LOG)
    metrics.update(status="failed", error=error)
    write_json_atomic(run_dir / METRICS_FILE, metrics)
    return metrics, error


def _exit_reason(code: int, log: Path) -> str:
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"killed by {name} (the training process ended without a result)"
    tail = ""
    try:
        lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        lines = []
    # The exception line of the last traceback, else the last line printed.
    errors = [line for line in lines if re.match(r"^[\w.]+(Error|Exception|Exit)\b.*", line)]
    tail = errors[-1] if errors else (lines[-1] if lines else "")
    return f"training process exited with code {code}" + (f": {tail}" if tail else "")


def _finish_failed(
    run_dir: Path,
    cfg: DictConfig,
    overrides: list[str],
    error: str,
    started: float,
    metrics: dict[str, Any],
) -> None:
    """Record a run that never started training (e.g. an invalid sweep point)."""
    metrics = {**metrics, "status": "failed", "error": error}
    write_json_atomic(run_dir / METRICS_FILE, metrics)
    write_json_atomic(
        run_dir / JOB_FILE,
        {
            "status": "failed",
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "overrides": overrides,
            "start_time": started,
            "end_time": time.time(),
            "exit_code": None,
            "error": error,
        },
    )
    _write_hparams(run_dir, cfg, overrides, metrics, started)


def record_resumed_run(run_dir: Path, cfg: DictConfig) -> None:
    """A sweep's run resumed on its own (`rlexp resume <run dir>`): its job.json and HParams
    session end as the run now has, as its job would have written them."""
    run_dir = Path(run_dir).absolute()
    job = rundir.read_json(run_dir / JOB_FILE)
    sweep_dir = rundir.sweep_of(run_dir)
    if not job or sweep_dir is None:
        return  # a single run's, or a sweep's run without its records
    metrics = rundir.read_metrics(run_dir)
    job.update(status=metrics.get("status"), pid=os.getpid(), end_time=time.time())
    job.update(exit_code=0, error=None)
    write_json_atomic(run_dir / JOB_FILE, job)
    started = job.get("start_time") or time.time()
    _write_hparams(run_dir, cfg, job.get("overrides") or [], metrics, started, sweep_dir)


def _write_hparams(
    run_dir: Path,
    cfg: DictConfig,
    overrides: list[str],
    metrics: dict[str, Any],
    started: float,
    sweep_dir: Path | None = None,
) -> None:
    """The run's HParams records, with the experiment from sweep.json of `sweep_dir`
    (default: this job's sweep)."""
    from hydra.core.hydra_config import HydraConfig

    from rlexp.sweeps.hparams import experiment_summary, key_values, run_hparams, write_session

    sweep_dir = sweep_dir or Path(HydraConfig.get().sweep.dir)
    sweep = rundir.read_json(sweep_dir / SWEEP_FILE)
    domains = sweep.get("hparam_domains") or {}
    objective = cfg.sweep.objective
    hparams = run_hparams(cfg, overrides, domains)
    experiment = experiment_summary(domains, objective, key_values(cfg)) if sweep else None
    write_session(run_dir, hparams, metrics, objective, started, experiment)
